//go:build linux

package sensor

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestOpenLiveWantsMonitorMode(t *testing.T) {
	_, err := OpenLive("lo")
	if err == nil || !strings.Contains(err.Error(), "monitor mode") {
		t.Fatalf("OpenLive(lo): %v; want an error about monitor mode", err)
	}
	if _, err := OpenLive("no-such-if0"); err == nil {
		t.Fatal("OpenLive of a missing interface succeeded")
	}
}

// TestLiveSourceCaptures reads real frames through the pure-Go AF_PACKET
// capture (on the loopback interface, the only one a test can drive; it
// needs CAP_NET_RAW).
func TestLiveSourceCaptures(t *testing.T) {
	src, err := openLive("lo", false)
	if err != nil {
		t.Skipf("no AF_PACKET capture here (needs root or CAP_NET_RAW): %v", err)
	}
	defer src.Close()
	conn, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	marker := []byte("passant-live-capture-test")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			conn.Write(marker)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	before := time.Now().Add(-time.Second)
	for {
		data, ci, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("never saw the test's packet: %v", err)
		}
		if bytes.Contains(data, marker) {
			if ci.Timestamp.Before(before) || ci.CaptureLength != len(data) {
				t.Fatalf("capture info %+v", ci)
			}
			return
		}
	}
}
