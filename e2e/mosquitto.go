package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a private mosquitto broker with on-disk persistence on a free
// port of 127.0.0.1, stopped and started by the test that owns it.
type Mosquitto struct {
	t    testing.TB
	bin  string
	Port int
	Dir  string
	conf string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartMosquitto starts a private broker. It skips the test when the
// mosquitto binary is missing or PASSANT_TEST_MQTT is unset (the suite's
// switch for tests that need a real broker).
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	return StartMosquittoInflight(t, mosquittoInflight)
}

// mosquittoInflight is StartMosquitto's max_inflight_messages.
const mosquittoInflight = 1000

// StartMosquittoInflight is StartMosquitto with max_inflight_messages n
// (how many QoS 1 messages the broker sends a subscriber before it has
// acknowledged them; Mosquitto's default is 20, StartMosquitto's 1000).
func StartMosquittoInflight(t testing.TB, n int) *Mosquitto {
	t.Helper()
	return startMosquitto(t, n, 1)
}

// startMosquitto starts a private broker with max_inflight_messages n that
// saves its persistent sessions every autosave seconds: 1 for the tests
// that stop and start it (its store is then at most a second old), 1800
// (Mosquitto's default) for TestIngestVsSubscriber, where a save in a
// burst wrote the server's queued messages to disk while the broker sent
// nothing, which mosquitto_sub's clean session never pays
// (docs/reliability.md, "2026-12-05 night: the burst's pause").
func startMosquitto(t testing.TB, n, autosave int) *Mosquitto {
	t.Helper()
	if os.Getenv("PASSANT_TEST_MQTT") == "" {
		t.Skip("set PASSANT_TEST_MQTT to run (e.g. tcp://127.0.0.1:1883); this test starts its own mosquitto")
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("mosquitto not installed")
	}
	dir := t.TempDir()
	// mosquitto started as root drops to the mosquitto user; the
	// persistence directory must be writable whoever it runs as.
	os.Chmod(dir, 0o777)
	m := &Mosquitto{t: t, bin: bin, Port: FreePort(t), Dir: dir, conf: filepath.Join(dir, "mosquitto.conf")}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"+
		"autosave_interval %d\nmax_queued_messages 0\nmax_inflight_messages %d\nlog_dest stderr\nlog_type error\nlog_type warning\n",
		m.Port, dir, autosave, n)
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		conf += "user root\n"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// CPU is the broker process's CPU time so far (user and system, in the
// kernel's ticks of 10 ms); 0 when it is not running.
func (m *Mosquitto) CPU() time.Duration {
	if m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// the fields after the command's name, which is in parentheses
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// URL is the broker's tcp:// URL.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.Port) }

// Start starts the broker (again) and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	// Its log (errors and warnings) goes to a file beside its data.
	if f, err := os.OpenFile(filepath.Join(m.Dir, "mosquitto.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		m.cmd.Stdout, m.cmd.Stderr = f, f
		defer f.Close()
	}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("mosquitto: %v", err)
	}
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(m.cmd, m.done)
	WaitTCP(m.t, fmt.Sprintf("127.0.0.1:%d", m.Port), 10*time.Second)
}

// Stop stops the broker with SIGTERM, so it saves its persistent sessions
// and queued messages, and waits for it to exit.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitTCP waits until addr accepts TCP connections.
func WaitTCP(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after %s: %v", addr, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
