#!/usr/bin/env python3
"""Writes vectors.json: test vectors of the contract's pseudonyms and
fingerprints, for node firmware written elsewhere (ESP32, OpenWrt scripts)
to check itself against. Plain Python hmac/hashlib, independent of the Go
code, which the Go tests check against this file.

    python3 sensor/testdata/vectors.py
"""
import hashlib
import hmac
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HOUR_MS = 3600 * 1000


def site_key(file_bytes: bytes) -> bytes:
    return file_bytes.rstrip(b" \t\r\n\v\f")


def epoch_key(site: bytes, e: int) -> bytes:
    k = hmac.new(site, b"passant-epoch-0", hashlib.sha256).digest()
    for _ in range(e):
        k = hmac.new(k, b"passant-next", hashlib.sha256).digest()
    return k


def dev(k: bytes, mac: bytes) -> str:
    return hmac.new(k, mac, hashlib.sha256).digest()[:8].hex()


def fingerprint(ies: bytes) -> str:
    msg, n = b"", 0
    while len(ies) >= 2:
        eid, ln = ies[0], ies[1]
        if len(ies) < 2 + ln:
            break
        body, ies = ies[2:2 + ln], ies[2 + ln:]
        n += 1
        if eid in (0, 3):
            continue
        msg += bytes([eid]) + body[:4] if eid == 221 else bytes([eid, ln]) + body
    return hashlib.sha256(msg).hexdigest()[:8] if n else ""


MACS = ["3c:22:fb:12:34:56", "da:a1:19:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"]


def pseudonym_vectors():
    cases = [
        (b"correct horse battery staple\n", "720h", 1764850000001),
        (b"correct horse battery staple", "720h", 1764850000001),  # same key: same pseudonyms
        (b"correct horse battery staple", "720h", 1765151999999),  # last ms of epoch 680
        (b"correct horse battery staple", "720h", 1765152000000),  # first ms of epoch 681
        (b"correct horse battery staple", "never", 1764850000001),
        (b"correct horse battery staple", "1h", 3 * HOUR_MS + 5),
        (bytes(range(32)) + b" \t\r\n", "24h", 0),
    ]
    out = []
    for file_bytes, rot, t in cases:
        key = site_key(file_bytes)
        period = {"never": 0, "720h": 720 * HOUR_MS, "24h": 24 * HOUR_MS, "1h": HOUR_MS}[rot]
        e = t // period if period else 0
        k = epoch_key(key, e)
        out.append({
            "key_file_hex": file_bytes.hex(),
            "site_key_hex": key.hex(),
            "rotation": rot,
            "t": t,
            "epoch": e,
            "epoch_key_hex": k.hex(),
            "devs": [{"mac": m, "dev": dev(k, bytes.fromhex(m.replace(":", "")))} for m in MACS],
        })
    return out


def fingerprint_vectors():
    ssid = bytes([0, 4]) + b"shop"
    rates = bytes([1, 4, 0x02, 0x04, 0x0B, 0x16])
    ds = bytes([3, 1, 6])
    ht = bytes([45, 26]) + bytes(range(26))
    ext = bytes([127, 8, 0, 0, 8, 4, 0, 0, 0, 0x40])
    wps = bytes([221, 9, 0x00, 0x50, 0xF2, 0x04, 0x10, 0x4A, 0x00, 0x01, 0x10])
    wps2 = bytes([221, 9, 0x00, 0x50, 0xF2, 0x04, 0x10, 0x4A, 0x00, 0x01, 0x20])
    short_vendor = bytes([221, 2, 0x00, 0x50])
    cases = [
        ("no elements", b""),
        ("SSID only (an element, nothing hashed)", ssid),
        ("rates", rates),
        ("SSID and DS set do not count", ssid + rates + ds + ht),
        ("same without SSID and DS set", rates + ht),
        ("another SSID, another channel: same fp", bytes([0, 0]) + rates + bytes([3, 1, 11]) + ht),
        ("order matters", ht + rates),
        ("vendor element: id, OUI, type only", rates + wps + ext),
        ("vendor body beyond the type does not count", rates + wps2 + ext),
        ("vendor element shorter than 4 bytes", rates + short_vendor),
        ("truncated last element is left out", rates + bytes([45, 26, 1, 2])),
    ]
    return [{"name": n, "ies_hex": ies.hex(), "fp": fingerprint(ies)} for n, ies in cases]


def main():
    doc = {
        "about": "Passant contract v1 test vectors: pseudonyms (dev) and fingerprints (fp). "
                 "Made by sensor/testdata/vectors.py.",
        "pseudonyms": pseudonym_vectors(),
        "fingerprints": fingerprint_vectors(),
    }
    with open(os.path.join(HERE, "vectors.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
