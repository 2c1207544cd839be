package ingest

import (
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

// Closing an exclusive session (a cluster's handover, a shutdown) does not
// wait for a connect in progress to a broker that does not answer (up to
// 10 s for the connect and 10 s for the subscribe): the connect ends with
// the session. The broker here accepts the connection and answers nothing
// (a broker that hangs cannot be had from the test's Mosquitto).
func TestSessionCloseDuringConnect(t *testing.T) {
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	defer func() {
		// The client's goroutines end once the connection is gone: wait,
		// so as not to count them in another test's goroutines.
		ln.Close()
		for range 300 {
			select {
			case c := <-accepted:
				c.Close()
			default:
			}
			if runtime.NumGoroutine() <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	j, err := OpenJournal(filepath.Join(t.TempDir(), "journal"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sub, err := NewSubscriber(Config{
		Broker: "tcp://" + ln.Addr().String(), ClientID: "passant-test-silent", Prefix: "passant-test-silent", Journal: j,
		Sites: []string{"shop"}, Only: true, Exclusive: func() bool { return true },
		Known:   func(site, sensor string) bool { return true },
		Deliver: func(string, int64, *wire.Batch, wire.Drops, At) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- sub.Start() }()
	c := <-accepted // the client waits for the broker's answer now
	accepted <- c
	sub.Close(100 * time.Millisecond)
	if err := <-started; !errors.Is(err, errSessionEnded) {
		t.Fatalf("the connect in progress ended with %v, not with the session's close", err)
	}
}
