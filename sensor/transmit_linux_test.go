//go:build linux

package sensor

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"

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
// the transmit one, then the node's Decoder and Pseudonymizer. Every frame
// sent is captured, in order: the capture socket's filter (ourFrames) keeps
// only our frames coming in, so that the loopback's other traffic (the
// tests' databases and brokers) cannot fill its buffer.
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
	marker := mac
	marker[5] ^= 0xff
	if err := src.h.SetBPF(ourFrames(t, mac, marker)); err != nil {
		t.Fatalf("capture filter: %v", err)
	}
	pseudo := NewPseudonymizer(key, DefaultRotation)
	tr, err := NewTransmitter(TransmitConfig{MAC: mac, Every: 30 * time.Millisecond, Pseudo: pseudo}, inj)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The filtered capture hears nothing but our frames, so its blocking
	// read would wait forever if they stopped coming: after 20 s the
	// watchdog stops the test and sends one more frame to wake the read.
	woken := make(chan struct{})
	watchdog := time.AfterFunc(20*time.Second, func() {
		defer close(woken)
		cancel()
		inj.Inject(NewProber(mac, 0).Next())
	})
	defer func() {
		if !watchdog.Stop() {
			<-woken
		}
	}()
	drainTo(ctx, t, src, inj, marker)
	src.h.Stats() // from here on
	txErr := make(chan error, 1)
	go func() { txErr <- tr.Run(ctx) }()

	dec := NewDecoder(DecoderOptions{})
	var f Frame
	var seqs []int
	for len(seqs) < 5 {
		data, ci, err := src.Next(ctx)
		if err == nil && ctx.Err() != nil {
			err = errors.New("none in 20 s")
		}
		if err != nil {
			t.Fatalf("captured %d of our frames, then: %v", len(seqs), err)
		}
		if !bytes.HasPrefix(data, txRadiotap) {
			t.Fatalf("the filter let through a frame that is not ours: % x", data)
		}
		if !bytes.Contains(data, mac[:]) {
			continue // a marker sent before the drain saw the first
		}
		rx := rxRadiotap(data, 2412, -61)
		ci.CaptureLength, ci.Length = len(rx), len(rx)
		if r := dec.Decode(rx, ci, &f); r != OK {
			t.Fatalf("injected frame decodes as %v", r)
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
			drops := "unknown"
			if s, err := src.h.Stats(); err == nil {
				drops = fmt.Sprint(s.Drops)
			}
			t.Fatalf("sequence numbers %v then %d (capture drops: %s)", seqs, f.Seq, drops)
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

// ourFrames is a capture filter (classic BPF) that keeps the frames sent
// from mac or marker (which differ in the last byte only) coming in on the
// loopback interface: their transmitter address (the 802.11 header's second
// address, after txRadiotap's 12 bytes) is one of them, and they are not
// the copy of the frame going out (PACKET_OUTGOING). Without it the capture
// socket queued all of the loopback's traffic (the tests' PostgreSQL and
// MQTT), and on a busy machine its receive buffer overflowed and dropped
// some of our frames (sequence numbers [1872 1873] then 1875).
func ourFrames(t *testing.T, mac, marker MAC) []bpf.RawInstruction {
	t.Helper()
	const addr2 = 12 + 10 // txRadiotap, frame control and duration
	const packetOutgoing = 4
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: addr2, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: binary.BigEndian.Uint32(mac[:4]), SkipTrue: 6},
		bpf.LoadAbsolute{Off: addr2 + 4, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(binary.BigEndian.Uint16(mac[4:])), SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(binary.BigEndian.Uint16(marker[4:])), SkipTrue: 3},
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: packetOutgoing, SkipFalse: 1},
		bpf.RetConstant{Val: 1 << 16},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// drainTo reads away what the capture socket queued between its opening
// and its filter: the loopback's traffic, which kept the socket's buffer
// full, so that the first of our frames were dropped (capture drops: 869).
// It sends frames from marker until it reads one: what comes after passed
// the filter.
func drainTo(ctx context.Context, t *testing.T, src *LiveSource, inj Injector, marker MAC) {
	t.Helper()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		p := NewProber(marker, 0)
		for {
			inj.Inject(p.Next())
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	for {
		data, _, err := src.Next(ctx)
		if err == nil && ctx.Err() != nil {
			err = errors.New("none in 20 s")
		}
		if err != nil {
			t.Fatalf("the capture's marker frame: %v", err)
		}
		if bytes.Contains(data, marker[:]) {
			return
		}
	}
}
