package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Passant builds the passant binary once per test process and returns its
// path (removed when the process ends is up to the OS's temp cleaning; the
// directory is named passant-e2e-*).
func Passant(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "passant-e2e-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "passant")
		build.out, build.err = exec.Command("go", "build", "-o", build.path, "github.com/passant/passant/cmd/passant").CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build passant: %v\n%s", build.err, build.out)
	}
	return build.path
}

// Process is the passant binary running as a child process.
type Process struct {
	t    testing.TB
	bin  string
	args []string
	Log  string // stderr and stdout go here
	cmd  *exec.Cmd
	done chan struct{}
}

// StartPassant runs `passant args...`, logging to a file in dir.
func StartPassant(t testing.TB, dir string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, bin: Passant(t), args: args, Log: filepath.Join(dir, "passant.log")}
	p.Start()
	t.Cleanup(func() { p.Signal(syscall.SIGKILL) })
	return p
}

// Start starts the process (again).
func (p *Process) Start() {
	p.t.Helper()
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); f.Close(); close(done) }(p.cmd, p.done)
}

// Signal sends sig and waits for the process to end.
func (p *Process) Signal(sig syscall.Signal) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// WaitHealthy waits until GET url/healthz answers 200.
func WaitHealthy(t testing.TB, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz not ready after %s: %v", base, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
