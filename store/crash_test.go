package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
)

// TestCrashSQLite kills a process that writes to the embedded database
// (kill -9, mid-write) and reopens the database: it is intact and holds
// every write the process saw committed.
func TestCrashSQLite(t *testing.T) {
	if dir := os.Getenv("PASSANT_STORE_CRASH_DIR"); dir != "" {
		crashWriter(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSQLite$")
	cmd.Env = append(os.Environ(), "PASSANT_STORE_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read the committed counts; kill after 20 commits, while it writes.
	sc := bufio.NewScanner(out)
	committed := 0
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // the test framework's own output
		}
		committed = n
		if n >= 20 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	cmd.Wait()
	if committed < 20 {
		t.Fatalf("the writer committed %d batches before it ended", committed)
	}

	ctx := context.Background()
	s, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := s.CountObservations(ctx, "demo", 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	// Each commit writes 10 batches of 100 observations; one more may
	// have committed after the last line was read.
	if n < int64(committed)*1000 || n%1000 != 0 {
		t.Fatalf("%d observations after the crash; %d commits were seen", n, committed)
	}
	if err := s.WriteBatches(ctx, storetest.Batches(99, "demo", 1, 10, 5, storetest.Day0)); err != nil {
		t.Fatalf("writing after the crash: %v", err)
	}
}

// crashWriter writes until killed, printing the number of commits.
func crashWriter(dir string) {
	ctx := context.Background()
	s, err := store.Open(ctx, "", dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if err := s.Migrate(ctx); err != nil {
		fmt.Println("migrate:", err)
		os.Exit(1)
	}
	for i := 1; ; i++ {
		bs := storetest.Batches(uint64(i), "demo", 10, 100, 50, storetest.Day0+int64(i)*20_000)
		if err := s.WriteBatches(ctx, bs); err != nil {
			fmt.Println("write:", err)
			os.Exit(1)
		}
		fmt.Println(i)
	}
}
