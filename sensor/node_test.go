package sensor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/passant/passant/wire"
)

// allAddresses returns every address in every 802.11 header of a capture.
func allAddresses(t *testing.T, name string) map[MAC]bool {
	t.Helper()
	src, err := OpenFiles([]string{name}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	macs := map[MAC]bool{}
	for {
		data, _, err := src.Next(context.Background())
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeRadioTap, gopacket.NoCopy)
		if d, ok := p.Layer(layers.LayerTypeDot11).(*layers.Dot11); ok {
			for _, a := range [][]byte{d.Address1, d.Address2, d.Address3, d.Address4} {
				if len(a) == 6 {
					var m MAC
					copy(m[:], a)
					macs[m] = true
				}
			}
		}
	}
	return macs
}

// macForms are the ways a MAC address could be written out.
func macForms(m MAC) []string {
	h := fmt.Sprintf("%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5])
	c := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
	d := strings.ReplaceAll(c, ":", "-")
	return []string{h, c, d, strings.ToUpper(h), strings.ToUpper(c), strings.ToUpper(d), string(m[:])}
}

func testPseudo() *Pseudonymizer {
	return NewPseudonymizer([]byte("correct horse battery staple"), DefaultRotation)
}

// runNode runs a node over files (fast) into JSONL, logging at debug level.
func runNode(t *testing.T, files []string, opt NodeConfig) (out, logs []byte, st NodeStats, runErr error) {
	t.Helper()
	var outBuf, logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src, err := OpenFiles(files, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sink := NewJSONLWriter(&outBuf, nil, false)
	opt.Sensor, opt.Boot, opt.Log, opt.Progress = "s1", 1764849000000, log, time.Millisecond
	if opt.Pseudo == nil {
		opt.Pseudo = testPseudo()
	}
	n, err := NewNode(opt, src, sink)
	if err != nil {
		t.Fatal(err)
	}
	runErr = n.Run(context.Background())
	if err := sink.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		log.Error("sensor: run", "err", runErr) // what the command would log
	}
	return outBuf.Bytes(), logBuf.Bytes(), n.Stats(), runErr
}

// TestNoRawMACInOutput runs the whole node over every bundled capture,
// data frames included, and looks for every address of every frame, in
// every usual spelling, in the batches, the log and the status.
func TestNoRawMACInOutput(t *testing.T) {
	for _, name := range captures(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			out, logs, st, err := runNode(t, []string{name}, NodeConfig{Decoder: DecoderOptions{Data: true}})
			if err != nil {
				t.Fatal(err)
			}
			status := fmt.Sprintf("%+v %v", st, Status{V: 1})
			macs := allAddresses(t, name)
			if len(macs) == 0 {
				t.Fatal("no addresses in the capture")
			}
			for m := range macs {
				if m == (MAC{}) || m == (MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
					continue
				}
				for _, form := range macForms(m) {
					for what, text := range map[string][]byte{"batches": out, "log": logs, "status": []byte(status)} {
						if bytes.Contains(text, []byte(form)) {
							t.Fatalf("an address of the capture appears in the %s", what)
						}
					}
				}
			}
			if st.Frames == 0 {
				t.Fatal("no frames read")
			}
		})
	}
}

func TestMACNeverPrints(t *testing.T) {
	m := MAC{0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "mac", m, "any", any(m))
	fmt.Fprintf(&buf, "%v %x %X %s %q %+v %#v %d", m, m, m, m, m, m, m, m)
	fmt.Fprint(&buf, errors.New(fmt.Sprint("frame from ", m)))
	for _, form := range macForms(m) {
		if bytes.Contains(buf.Bytes(), []byte(form)) {
			t.Fatalf("MAC printed: %s", buf.String())
		}
	}
	if _, err := ParseMAC("3c:22:fb:12:34:zz"); err == nil || strings.Contains(err.Error(), "3c") {
		t.Fatalf("ParseMAC error %v", err)
	}
}

// TestNodeBatchesAreContractValid: the JSONL output of every capture
// parses with the contract's decoder with nothing dropped, and holds one
// observation per probe request that has a plausible RSSI.
func TestNodeBatchesAreContractValid(t *testing.T) {
	for _, name := range captures(t) {
		out, _, st, err := runNode(t, []string{name}, NodeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		golden := goldenFor(t, name)
		want := 0
		for _, g := range golden {
			if len(g.dbm) > 0 && g.dbm[0] <= 0 && g.dbm[0] >= -120 {
				want++
			}
		}
		lines := wire.NewLines(bytes.NewReader(out))
		var l wire.Line
		obs, id := 0, int64(0)
		for lines.Next(&l) {
			if l.Err != nil || l.Drops.Total() != 0 {
				t.Fatalf("%s: line %d: %v, drops %+v", name, l.No, l.Err, l.Drops)
			}
			id++
			if l.Batch.ID != id || l.Batch.Sensor != "s1" || len(l.Batch.Obs) == 0 {
				t.Fatalf("%s: batch %+v", name, l.Batch)
			}
			obs += len(l.Batch.Obs)
		}
		if obs != want || st.Observations != uint64(want) || st.Batches != uint64(id) {
			t.Errorf("%s: %d observations in %d batches (stats %+v); tshark finds %d usable probe requests", name, obs, id, st, want)
		}
	}
}

func TestNodeDropsOptedOut(t *testing.T) {
	name := "testdata/captures/probing-iPhone11-B.pcap"
	golden := goldenFor(t, name)
	opt := OptOut{golden[0].sa: {}}
	n := 0
	for _, g := range golden {
		if g.sa == golden[0].sa {
			n++
		}
	}
	out, _, st, _ := runNode(t, []string{name}, NodeConfig{OptOut: opt})
	if st.OptedOut != uint64(n) || st.Observations != uint64(len(golden)-n) {
		t.Fatalf("stats %+v; want %d opted out of %d", st, n, len(golden))
	}
	dev, _ := testPseudo().Dev(golden[0].sa, golden[0].ms)
	if bytes.Contains(out, []byte(dev.String())) {
		t.Fatal("the opted-out device's pseudonym is in the output")
	}
	o, err := ReadOptOut(strings.NewReader("# staff phones\n" + strings.ToUpper(macForms(golden[0].sa)[2]) + "\n\n"))
	if err != nil || !o.Has(golden[0].sa) {
		t.Fatalf("ReadOptOut: %v", err)
	}
	if _, err := ReadOptOut(strings.NewReader("12:34:56:78:9a:b\n")); err == nil || !strings.Contains(err.Error(), "line 1") ||
		strings.Contains(err.Error(), "12:34") {
		t.Fatalf("bad opt-out line: %v", err)
	}
}

// TestNodeCorruptCapture: a capture cut off mid-frame gives a clear error,
// and every frame before the cut is still sent on.
func TestNodeCorruptCapture(t *testing.T) {
	name := "testdata/captures/probing-iPhone12-M.pcap"
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	out, logs, st, runErr := runNode(t, []string{cut}, NodeConfig{})
	if runErr == nil || !strings.Contains(runErr.Error(), "cut.pcap") || !errors.Is(runErr, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v; want one naming the file and the truncation", runErr)
	}
	if st.Observations < 200 || bytes.Count(out, []byte("\n")) == 0 {
		t.Fatalf("only %d observations before the cut", st.Observations)
	}
	for m := range allAddresses(t, name) {
		for _, form := range macForms(m) {
			if bytes.Contains(logs, []byte(form)) {
				t.Fatal("an address appears in the log")
			}
		}
	}
}

// TestNodeMergesFiles: two captures given together are merged by time:
// the older capture, given second, comes out first.
func TestNodeMergesFiles(t *testing.T) {
	a, b := "testdata/captures/probing-iPhone11-C.pcap", "testdata/captures/aircrack-test1.pcap"
	out, _, st, err := runNode(t, []string{a, b}, NodeConfig{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, _, sa, _ := runNode(t, []string{a}, NodeConfig{})
	_, _, sb, _ := runNode(t, []string{b}, NodeConfig{})
	if st.Observations != sa.Observations+sb.Observations {
		t.Fatalf("merged %d observations, want %d + %d", st.Observations, sa.Observations, sb.Observations)
	}
	lines := wire.NewLines(bytes.NewReader(out))
	var l wire.Line
	var ts []int64
	for lines.Next(&l) {
		for _, o := range l.Batch.Obs {
			ts = append(ts, o.T)
		}
	}
	const y2020 = 1577836800000
	for i, tt := range ts {
		if (i < int(sb.Observations)) != (tt < y2020) {
			t.Fatalf("observation %d at %d: the 2018 capture does not come first", i, tt)
		}
	}
}
