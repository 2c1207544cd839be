package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

const testCapture = "../../sensor/testdata/captures/probing-iPhone11-C.pcap"

// sensorJSONL runs `passant sensor --pcap ... --fast --jsonl FILE` and
// returns the batches written, without boot (which is the wall clock).
func sensorJSONL(t *testing.T, extra ...string) ([]wire.Batch, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "obs.jsonl")
	var stdout, stderr bytes.Buffer
	args := append([]string{"sensor", "--pcap", testCapture, "--fast", "--jsonl", out, "--sensor", "s1"}, extra...)
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var batches []wire.Batch
	lines := wire.NewLines(f)
	var l wire.Line
	for lines.Next(&l) {
		if l.Err != nil || l.Drops.Total() != 0 {
			t.Fatalf("line %d: %v %+v", l.No, l.Err, l.Drops)
		}
		b := l.Batch
		b.Obs = append([]wire.Observation(nil), b.Obs...)
		b.Boot = 0
		batches = append(batches, b)
	}
	return batches, stderr.String()
}

func TestSensorCommandWritesBatches(t *testing.T) {
	t.Setenv(sensor.EnvSiteKey, "correct horse battery staple")
	batches, logs := sensorJSONL(t)
	n := 0
	for _, b := range batches {
		n += len(b.Obs)
	}
	if len(batches) == 0 || n != 531 {
		t.Fatalf("%d batches, %d observations; want the capture's 531 probe requests", len(batches), n)
	}
	if strings.Contains(logs, "correct horse") {
		t.Fatal("the key appears in the log")
	}
}

// TestSensorWithEpochKey: a node given only `passant key`'s epoch key
// writes the same pseudonyms as one given the site key.
func TestSensorWithEpochKey(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.key")
	os.WriteFile(site, []byte("correct horse battery staple\n"), 0o600)
	epoch := filepath.Join(dir, "epoch.key")
	var stdout, stderr bytes.Buffer
	// The capture is from October 2023: derive that epoch's key.
	if err := run(context.Background(), []string{"key", "--key-file", site, "--at", "2023-10-12T12:00:00Z", "--out", epoch}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	withSite, _ := sensorJSONL(t, "--key-file", site)
	withEpoch, _ := sensorJSONL(t, "--key-file", epoch)
	if len(withSite) != len(withEpoch) {
		t.Fatalf("%d batches with the site key, %d with the epoch key", len(withSite), len(withEpoch))
	}
	for i := range withSite {
		a, b := wire.AppendBatch(nil, &withSite[i]), wire.AppendBatch(nil, &withEpoch[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("batch %d differs:\n%s\n%s", i, a, b)
		}
	}
}

func TestSensorCommandErrors(t *testing.T) {
	t.Setenv(sensor.EnvSiteKey, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sensor", "--pcap", testCapture, "--jsonl", "-"}, sensor.EnvSiteKey},
		{[]string{"sensor", "--jsonl", "-"}, "--pcap"},
		{[]string{"sensor", "--pcap", "nonexistent.pcap", "--jsonl", "-", "--key-file", testCapture}, "nonexistent.pcap"},
		{[]string{"sensor", "--pcap", testCapture, "--key-file", testCapture, "--rotate", "soon"}, "never"},
		{[]string{"key"}, sensor.EnvSiteKey},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), c.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one that mentions %q", c.args, err, c.want)
		}
	}
}

func TestSensorCommandTransmitFlags(t *testing.T) {
	t.Setenv(sensor.EnvSiteKey, "correct horse battery staple")
	var stdout, stderr bytes.Buffer
	base := []string{"sensor", "--pcap", testCapture, "--fast", "--jsonl", filepath.Join(t.TempDir(), "o.jsonl")}
	err := run(context.Background(), append(base, "--tx-mac", "02:00:00:00:00:01"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--transmit") {
		t.Fatalf("--tx-mac without --transmit: %v", err)
	}
	err = run(context.Background(), append(base, "--transmit", "lo", "--tx-mac", "02:00:00:00:00:01"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "monitor mode") {
		t.Fatalf("--transmit lo: %v; want an error about monitor mode", err)
	}
	err = run(context.Background(), append(base, "--transmit", "lo", "--tx-mac", "not-a-mac-02:00"), &stdout, &stderr)
	if err == nil || strings.Contains(err.Error(), "not-a-mac") {
		t.Fatalf("bad --tx-mac: %v (the error must not repeat the input)", err)
	}
}
