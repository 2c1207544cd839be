package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestIdleHTTPConnectionClosed: a keep-alive connection that made a request
// and then waits is closed after httpIdle. The HTTP server had no idle
// timeout (and no read timeout), so idle connections from anyone who could
// reach the port were held for ever, each a file descriptor.
func TestIdleHTTPConnectionClosed(t *testing.T) {
	defer func(d time.Duration) { httpIdle = d }(httpIdle)
	httpIdle = 300 * time.Millisecond
	dir := t.TempDir()
	in := startInstance(t, Config{HTTP: "127.0.0.1:0", BrokerAddr: "127.0.0.1:0", SiteFiles: []string{testSiteFile(t, dir, "shop")},
		DataDir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.stop()
	c, err := net.Dial("tcp", in.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("an idle keep-alive connection was still open after 10 s (httpIdle %v)", httpIdle)
	} else if err != io.EOF {
		t.Errorf("read on an idle connection: %v, want EOF", err)
	}
}
