package broker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/wire"
)

// TestHugePacketRefusedBeforeLogin: a client that has not logged in sends
// the fixed header of a CONNECT packet that claims the largest remaining
// length MQTT allows (256 MB). mochi-mqtt allocates a packet's whole
// claimed length before reading it, so without a packet size limit five
// bytes from anyone who can reach the port cost the server 256 MB each, and
// a few connections exhaust its memory. With the limit the broker refuses
// the packet at its header and closes the connection, having allocated
// nothing of the kind.
func TestHugePacketRefusedBeforeLogin(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0", Authenticate: func(string, []byte) (Identity, bool) {
		return Identity{}, false
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// CONNECT, remaining length 268,435,455 (0xFF 0xFF 0xFF 0x7F).
	if _, err := c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}); err != nil {
		t.Fatal(err)
	}
	// The broker closes the connection; a broker waiting for the rest of
	// the packet leaves it open.
	if err := closedByPeer(c); err != nil {
		t.Errorf("after a 256 MB header: %v", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("a 5-byte header from a client not logged in made the process allocate %d MB", grew>>20)
	}
}

// closedByPeer reads c until the broker closes it, waiting 10 s at most (a
// generous wait: a failure, not a speed), and says what else happened.
func closedByPeer(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 16))
	var ne net.Error
	var se *os.SyscallError
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("still open after 10 s")
	case err == io.EOF || errors.As(err, &se):
		return nil
	case err == nil:
		return errors.New("read bytes, want the connection closed")
	}
	return fmt.Errorf("read: %w, want the connection closed", err)
}

// TestLargestBatchPasses: the packet size limit lets the contract's largest
// batch through.
func TestLargestBatchPasses(t *testing.T) {
	b, err := Start(Config{Addr: "127.0.0.1:0", Authenticate: func(user string, pass []byte) (Identity, bool) {
		return Identity{Server: user == "server"}, user == "server" || user == "s1"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv, err := connect(t, b.URL(), "srv", "server", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Disconnect(50)
	got := make(chan int, 1)
	srv.Subscribe("passant/#", 1, func(_ paho.Client, m paho.Message) { got <- len(m.Payload()) }).Wait()
	pub, err := connect(t, b.URL(), "pub", "server", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(50)
	payload := bytes.Repeat([]byte{' '}, wire.MaxBatchLen)
	pub.Publish("passant/shop/s1/obs", 1, false, payload).Wait()
	select {
	case n := <-got:
		if n != wire.MaxBatchLen {
			t.Fatalf("received %d bytes, sent %d", n, wire.MaxBatchLen)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("a batch of %d bytes (the contract's largest) did not pass", wire.MaxBatchLen)
	}
}

// TestSilentConnectionClosed: a client that connects and sends nothing is
// cut off once connectWait has passed; mochi waited for its CONNECT packet
// for ever, so idle connections from anyone who could reach the port used
// up the process's file descriptors. A client that logs in in time keeps its
// connection past connectWait (its keep-alive takes over).
func TestSilentConnectionClosed(t *testing.T) {
	defer func(d time.Duration) { connectWait = d }(connectWait)
	connectWait = 300 * time.Millisecond
	b, err := Start(Config{Addr: "127.0.0.1:0", Authenticate: func(user string, _ []byte) (Identity, bool) {
		return Identity{Server: true}, user == "server"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := closedByPeer(c); err != nil {
		t.Errorf("a connection that sent nothing (connectWait %v): %v", connectWait, err)
	}
	srv, err := connect(t, b.URL(), "srv", "server", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Disconnect(50)
	time.Sleep(3 * connectWait)
	if tok := srv.Publish("passant/shop/s1/obs", 1, false, []byte("{}")); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Errorf("a logged-in client after connectWait: publish %v", tok.Error())
	}
	if !srv.IsConnectionOpen() {
		t.Error("a logged-in client was cut off after connectWait")
	}
}
