#!/usr/bin/env python3
"""Writes the golden files the sensor's tests compare with, from tshark.

    python3 sensor/testdata/golden.py      # needs tshark (Debian package tshark)

For each captures/NAME.pcap it writes golden/NAME.tsv: one line per probe
request that tshark finds (display filter wlan.fc.type_subtype==4), with

    frame  time_epoch  sa  dbm_antsignal  seq  freq  badfcs  fp

taken from

    tshark -r FILE -Y wlan.fc.type_subtype==4 -T fields -E occurrence=a \
        -e frame.number -e frame.time_epoch -e wlan.sa \
        -e radiotap.dbm_antsignal -e wlan.seq -e radiotap.channel.freq \
        -e radiotap.flags.badfcs

and, for the element bytes (wlan.tagged.all_raw),

    tshark -r FILE -Y wlan.fc.type_subtype==4 -T json -x

dbm_antsignal lists every dBm signal in the radiotap header, the combined
one first; fp is the contract's fingerprint, computed here in Python from the
element bytes tshark shows (wlan.tagged.all), independently of the Go code.
"""
import glob
import hashlib
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = ["frame.number", "frame.time_epoch", "wlan.sa", "radiotap.dbm_antsignal",
          "wlan.seq", "radiotap.channel.freq", "radiotap.flags.badfcs"]


def fingerprint(ies: bytes) -> str:
    """The contract's fp: SHA-256 over the elements in order, id+len+body,
    SSID (0) and DS Parameter Set (3) left out, vendor elements (221) as
    id + OUI + type only; first 4 bytes in hex. "" without elements."""
    msg, n = b"", 0
    while len(ies) >= 2:
        eid, ln = ies[0], ies[1]
        if len(ies) < 2 + ln:
            break
        body, ies = ies[2:2 + ln], ies[2 + ln:]
        n += 1
        if eid in (0, 3):
            continue
        if eid == 221:
            msg += bytes([eid]) + body[:4]
        else:
            msg += bytes([eid, ln]) + body
    return hashlib.sha256(msg).hexdigest()[:8] if n else ""


def find(obj, key):
    """The first value of key anywhere in tshark's JSON tree."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


def tshark(*args):
    return subprocess.run(["tshark", *args], check=True, capture_output=True).stdout


def main():
    os.makedirs(os.path.join(HERE, "golden"), exist_ok=True)
    for path in sorted(glob.glob(os.path.join(HERE, "captures", "*.pcap*"))):
        filt = ["-r", path, "-Y", "wlan.fc.type_subtype==4"]
        fields = ["-T", "fields", "-E", "occurrence=a"]
        for f in FIELDS:
            fields += ["-e", f]
        lines = tshark(*filt, *fields).decode().splitlines()
        pkts = json.loads(tshark(*filt, "-T", "json", "-x") or b"[]")
        assert len(lines) == len(pkts), path
        rows = []
        for line, pkt in zip(lines, pkts):
            raw = find(pkt, "wlan.tagged.all_raw")
            ies = bytes.fromhex(raw[0]) if raw else b""
            rows.append(line + "\t" + fingerprint(ies))
        name = os.path.basename(path).rsplit(".", 1)[0]
        with open(os.path.join(HERE, "golden", name + ".tsv"), "w") as fh:
            fh.write("# frame\ttime_epoch\tsa\tdbm_antsignal\tseq\tfreq\tbadfcs\tfp"
                     "  (made by golden.py from tshark)\n")
            for r in rows:
                fh.write(r + "\n")
        print(f"{name}: {len(rows)} probe requests")


if __name__ == "__main__":
    main()
