package ingest

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// TestSessionSubscribeUnansweredDisconnects: a broker that accepts the
// connect and never answers the SUBSCRIBE leaves the session connected
// and not subscribed, where the broker queues nothing for it and the
// reconnect loop could not connect again; the session disconnects, so
// the next try starts afresh.
func TestSessionSubscribeUnansweredDisconnects(t *testing.T) {
	defer func(d time.Duration) { sessionWait = d }(sessionWait)
	sessionWait = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan error, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil { // CONNECT
					return
				}
				c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK, accepted
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for { // SUBSCRIBE and PINGREQ go unanswered
					if _, err := c.Read(buf); err != nil {
						closed <- err
						return
					}
				}
			}()
		}
	}()
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sub, err := NewSubscriber(Config{
		Broker: "tcp://" + ln.Addr().String(), ClientID: "passant-test-nosub", Prefix: "passant-test-nosub", Journal: j,
		Sites: []string{"shop"}, Only: true, Exclusive: func() bool { return true },
		Known:   func(site, sensor string) bool { return true },
		Deliver: func(string, int64, *wire.Batch, wire.Drops, At) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(100 * time.Millisecond)
	if err := sub.Start(); !errors.Is(err, errNoAnswer) {
		t.Fatalf("Start: %v, want the subscribe's no answer", err)
	}
	if err := <-closed; !errors.Is(err, io.EOF) {
		t.Fatalf("the unanswered session's connection: %v, want it closed by the client (EOF)", err)
	}
}
