//go:build linux

package sensor

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

func TestOpenInjectorWantsMonitorMode(t *testing.T) {
	if _, err := OpenInjector("lo"); err == nil || !strings.Contains(err.Error(), "monitor mode") {
		t.Fatalf("OpenInjector(lo): %v; want an error about monitor mode", err)
	}
	if _, err := OpenInjector("no-such-if0"); err == nil {
		t.Fatal("OpenInjector of a missing interface succeeded")
	}
}

// TestTransmitOnLoopback injects the Transmitter's probe requests through a
// real AF_PACKET socket on the loopback interface (the only interface a
// test can drive), captures them with LiveSource, and decodes them as a
// receiving sensor would: the radiotap header its radio writes in place of
// the transmit one, then the node's Decoder and Pseudonymizer.
func TestTransmitOnLoopback(t *testing.T) {
	src, err := openLive("lo", false)
	if err != nil {
		t.Skipf("no AF_PACKET capture here (needs root or CAP_NET_RAW): %v", err)
	}
	defer src.Close()
	inj, err := openInjector("lo", false)
	if err != nil {
		t.Skipf("no AF_PACKET injection here (needs root or CAP_NET_RAW): %v", err)
	}
	defer inj.Close()
	key := []byte("loopback site key")
	mac := TxMAC("loop-test")
	pseudo := NewPseudonymizer(key, DefaultRotation)
	tr, err := NewTransmitter(TransmitConfig{MAC: mac, Every: 30 * time.Millisecond, Pseudo: pseudo}, inj)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	txErr := make(chan error, 1)
	go func() { txErr <- tr.Run(ctx) }()

	dec := NewDecoder(DecoderOptions{})
	var f Frame
	var seqs []int
	for len(seqs) < 5 {
		data, ci, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("captured %d of our frames, then: %v", len(seqs), err)
		}
		// Only our frames: they begin with the transmit radiotap header.
		if !bytes.HasPrefix(data, txRadiotap) || !bytes.Contains(data, mac[:]) {
			continue
		}
		rx := rxRadiotap(data, 2412, -61)
		ci.CaptureLength, ci.Length = len(rx), len(rx)
		if r := dec.Decode(rx, ci, &f); r != OK {
			t.Fatalf("injected frame decodes as %v", r)
		}
		if len(seqs) > 0 && f.Seq == seqs[len(seqs)-1] {
			continue // the same frame seen going out and coming in
		}
		dev, err := pseudo.Dev(f.Addr, f.T)
		if err != nil {
			t.Fatal(err)
		}
		st := tr.Status(f.T)
		if f.Kind != wire.KindProbe || f.FP != ProbeFP() || f.RSSI != -61 || f.Ch != 1 || st == nil || dev != st.Dev {
			t.Fatalf("frame %+v, dev %s, status %+v", f, dev, st)
		}
		if len(seqs) > 0 && f.Seq != (seqs[len(seqs)-1]+1)%4096 {
			t.Fatalf("sequence numbers %v then %d", seqs, f.Seq)
		}
		seqs = append(seqs, f.Seq)
	}
	cancel()
	if err := <-txErr; err != nil {
		t.Fatal(err)
	}
	if sent, failed := tr.Sent(); sent < 5 || failed != 0 {
		t.Fatalf("sent %d, failed %d", sent, failed)
	}
	t.Logf("captured and decoded sequence numbers %v", seqs)
}
