package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimMQTTSaysWhatItCouldNotSend: passant sim --mqtt against a broker
// that never answers ends with an error naming the batches not sent
// (they were dropped without a word before).
func TestSimMQTTSaysWhatItCouldNotSend(t *testing.T) {
	defer func(d time.Duration) { simDrain = d }(simDrain)
	simDrain = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background()) // as Ctrl-C does
	defer cancel()
	time.AfterFunc(2*time.Second, cancel)
	var out, errb bytes.Buffer
	err := run(ctx, []string{"sim", "--mqtt", "tcp://127.0.0.1:9", "--speed", "500", "--out", filepath.Join(t.TempDir(), "obs.jsonl")}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("got %v, want an error naming the batches not sent\n%s", err, errb.String())
	}
}
