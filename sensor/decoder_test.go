package sensor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// goldenRow is one probe request as tshark saw it (testdata/golden.py).
type goldenRow struct {
	frame  int
	ms     int64 // time_epoch in ms, rounded down
	sa     MAC
	dbm    []int // combined first; empty without a dBm field
	seq    int
	freq   int
	badFCS bool
	fp     string
}

func captures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/captures/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/captures: %v", err)
	}
	return files
}

func goldenFor(t *testing.T, capture string) []goldenRow {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(capture), filepath.Ext(capture))
	f, err := os.Open(filepath.Join("testdata", "golden", name+".tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 8 {
			t.Fatalf("%s: bad golden line %q", name, line)
		}
		var r goldenRow
		r.frame, _ = strconv.Atoi(c[0])
		sec, frac, _ := strings.Cut(c[1], ".")
		s, _ := strconv.ParseInt(sec, 10, 64)
		ms, _ := strconv.ParseInt((frac + "000")[:3], 10, 64)
		r.ms = s*1000 + ms
		if r.sa, err = ParseMAC(c[2]); err != nil {
			t.Fatalf("%s frame %d: %v", name, r.frame, err)
		}
		for _, v := range strings.Split(c[3], ",") {
			if v != "" {
				n, _ := strconv.Atoi(v)
				r.dbm = append(r.dbm, n)
			}
		}
		r.seq, _ = strconv.Atoi(c[4])
		r.freq, _ = strconv.Atoi(strings.Split(c[5], ",")[0])
		r.badFCS = c[6] == "1"
		r.fp = c[7]
		rows = append(rows, r)
	}
	return rows
}

// decoded is one probe request as the Decoder saw it.
type decoded struct {
	frame int
	res   Result
	f     Frame
}

func decodeFile(t *testing.T, name string) (probes []decoded, stats DecodeStats) {
	t.Helper()
	src, err := OpenFiles([]string{name}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := NewDecoder(DecoderOptions{})
	for n := 1; ; n++ {
		data, ci, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var f Frame
		switch r := d.Decode(data, ci, &f); r {
		case OK, NoRSSI, BadFCS:
			if r != BadFCS || f.Kind != "" {
				probes = append(probes, decoded{n, r, f})
			}
		}
	}
	return probes, d.Stats()
}

// TestDecoderAgreesWithTshark checks every probe request of every bundled
// capture against tshark's reading of it: which frames are probe requests,
// time, transmitter, RSSI (the combined dBm value), sequence number,
// frequency, and the fingerprint computed independently in golden.py.
func TestDecoderAgreesWithTshark(t *testing.T) {
	for _, name := range captures(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			want := goldenFor(t, name)
			got, stats := decodeFile(t, name)
			if len(got) != len(want) {
				t.Fatalf("decoder found %d probe requests, tshark %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.frame != w.frame {
					t.Fatalf("probe request %d: frame %d, tshark says frame %d", i, g.frame, w.frame)
				}
				f := g.f
				if f.T != w.ms || f.Addr != w.sa || f.Seq != w.seq || f.Freq != w.freq || f.FP != w.fp {
					t.Errorf("frame %d: t=%d seq=%d freq=%d fp=%q sameAddr=%v; tshark t=%d seq=%d freq=%d fp=%q",
						w.frame, f.T, f.Seq, f.Freq, f.FP, f.Addr == w.sa, w.ms, w.seq, w.freq, w.fp)
				}
				switch {
				case len(w.dbm) == 0 && g.res != NoRSSI:
					t.Errorf("frame %d: result %d with RSSI %d, but tshark finds no dBm signal", w.frame, g.res, f.RSSI)
				case len(w.dbm) > 0 && (g.res != OK || f.RSSI != w.dbm[0]):
					t.Errorf("frame %d: result %d RSSI %d, tshark %v", w.frame, g.res, f.RSSI, w.dbm)
				}
			}
			if stats.Probes+stats.NoRSSI+stats.BadFCS != uint64(len(want)) {
				t.Errorf("stats %+v do not add up to %d probe requests", stats, len(want))
			}
		})
	}
}

func TestWPA3CaptureHasNoRSSI(t *testing.T) {
	got, stats := decodeFile(t, "testdata/captures/aircrack-wpa3-psk.pcap")
	if len(got) != 1 || got[0].res != NoRSSI || stats.Probes != 0 || stats.NoRSSI != 1 {
		t.Fatalf("got %+v, stats %+v; want one probe request counted as NoRSSI", got, stats)
	}
}

// TestRadiotapAgreesWithGopacket decodes every frame of every capture with
// both this package's radiotap layer and gopacket's layers.RadioTap.
func TestRadiotapAgreesWithGopacket(t *testing.T) {
	for _, name := range captures(t) {
		src, err := OpenFiles([]string{name}, true)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			data, _, err := src.Next(context.Background())
			if err != nil {
				break
			}
			n++
			var mine radiotap
			if err := mine.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("%s frame %d: %v", name, n, err)
			}
			var ref layers.RadioTap
			if err := ref.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("%s frame %d: gopacket: %v", name, n, err)
			}
			if mine.Flags != ref.Flags || mine.Freq != uint16(ref.ChannelFrequency) ||
				mine.HasSignal != ref.Present.DBMAntennaSignal() ||
				mine.HasSignal && mine.Signal != ref.DBMAntennaSignal ||
				string(mine.payload[:len(mine.payload)-4]) != string(ref.Payload[:len(ref.Payload)-4]) {
				t.Fatalf("%s frame %d: mine %+v, gopacket flags=%v freq=%d signal=%d present=%v",
					name, n, mine, ref.Flags, ref.ChannelFrequency, ref.DBMAntennaSignal, ref.Present)
			}
		}
		src.Close()
	}
}

// TestFingerprintsPerPhone counts the distinct fingerprints and addresses
// in each ProbingPatterns capture (one phone each). The fingerprint stays
// put while the address changes, except where the phone's elements change
// (docs/sensor.md explains each count): the Oppo's FILS Request Parameters
// element carries a max channel time that changes from scan to scan.
func TestFingerprintsPerPhone(t *testing.T) {
	want := map[string][2]int{ // fingerprints, addresses
		"probing-OppoFindX3Neo-A.pcap": {91, 15},
		"probing-S21Ultra-M.pcap":      {3, 28},
		"probing-iPhone11-B.pcap":      {2, 465},
		"probing-iPhone11-C.pcap":      {1, 334},
		"probing-iPhone12-M.pcap":      {2, 325},
	}
	for name, w := range want {
		got, _ := decodeFile(t, filepath.Join("testdata", "captures", name))
		fps, addrs := map[string]bool{}, map[MAC]bool{}
		for _, g := range got {
			fps[g.f.FP] = true
			addrs[g.f.Addr] = true
		}
		if len(fps) != w[0] || len(addrs) != w[1] {
			t.Errorf("%s: %d fingerprints, %d addresses; want %d, %d", name, len(fps), len(addrs), w[0], w[1])
		}
	}
}

// TestDecoderDataFrames checks --data against tshark's count of frames that
// client stations send, other than probe requests:
//
//	tshark -r FILE -Y '((wlan.fc.type == 2 && wlan.fc.tods == 1 && wlan.fc.fromds == 0) ||
//	  (wlan.fc.type == 0 && wlan.fc.type_subtype != 4 && wlan.fc.type_subtype != 5 &&
//	   wlan.fc.type_subtype != 6 && wlan.fc.type_subtype != 8 && wlan.fc.type_subtype != 9 &&
//	   wlan.ta != wlan.bssid))'          (and with "&& radiotap.dbm_antsignal": those with RSSI)
func TestDecoderDataFrames(t *testing.T) {
	for name, want := range map[string][2]uint64{ // with RSSI, all
		"aircrack-test1.pcap":            {48, 48},
		"aircrack-wpa3-psk.pcap":         {0, 5},
		"tcpdump-ieee802.11_exthdr.pcap": {4, 4},
		"probing-iPhone11-B.pcap":        {0, 0},
	} {
		src, err := OpenFiles([]string{filepath.Join("testdata", "captures", name)}, true)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(DecoderOptions{Data: true})
		noRSSIData := uint64(0)
		for {
			data, ci, err := src.Next(context.Background())
			if err != nil {
				break
			}
			var f Frame
			if d.Decode(data, ci, &f) == NoRSSI && f.Kind == "data" {
				noRSSIData++
			}
		}
		src.Close()
		if s := d.Stats(); s.Data != want[0] || s.Data+noRSSIData != want[1] {
			t.Errorf("%s: %d data frames with RSSI, %d without; tshark %d of %d", name, s.Data, noRSSIData, want[0], want[1])
		}
	}
}

func TestDecoderNoFingerprintWhenTruncated(t *testing.T) {
	fr := benchFrames(t, true)[0]
	d := NewDecoder(DecoderOptions{})
	var f Frame
	if d.Decode(fr.data, fr.ci, &f) != OK || f.FP == "" {
		t.Fatalf("whole frame: fp %q", f.FP)
	}
	ci := fr.ci
	ci.Length = ci.CaptureLength + 100 // the capture kept only the start
	if d.Decode(fr.data, ci, &f) != OK || f.FP != "" {
		t.Fatalf("truncated frame: fp %q, want none", f.FP)
	}
}
