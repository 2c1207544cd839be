//go:build !sensoronly

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/sensor"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// TestForgetJournalOnly: passant forget with a store that holds nothing of
// the site (its writes behind, or a new database) still erases the person
// from the journal, whose files date the key epochs to look at. It used to
// stop at "nothing to forget".
func TestForgetJournalOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must(t, st.Migrate(ctx))
	if _, err := st.SaveSite(ctx, storetest.Site(t, "demo"), store.SourceFile, ""); err != nil {
		t.Fatal(err)
	}
	key := []byte("the site key")
	keyFile := filepath.Join(t.TempDir(), "site.key")
	must(t, os.WriteFile(keyFile, append(key, '\n'), 0o600))
	t0 := time.Now().Add(-40 * 24 * time.Hour).UnixMilli() // an epoch before this one
	d := sensor.DevOf(key, sensor.DefaultRotation, [6]byte{0xa4, 0x5e, 0x60, 0xc1, 0x22, 0x33}, t0)
	do := sensor.DevOf(key, sensor.DefaultRotation, [6]byte{0xa4, 0x5e, 0x60, 0xc1, 0x22, 0x34}, t0)
	b := wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: t0, Sent: t0, Obs: []wire.Observation{
		{T: t0, Dev: d, RSSI: -60, Kind: wire.KindProbe, Seq: -1}, {T: t0 + 1, Dev: do, RSSI: -60, Kind: wire.KindProbe, Seq: -1}}}
	jdir := filepath.Join(dir, "journal", "demo")
	must(t, os.MkdirAll(jdir, 0o750))
	past := filepath.Join(jdir, time.UnixMilli(t0).UTC().Format(time.DateOnly)+".jsonl")
	must(t, os.WriteFile(past, append(wire.AppendJournalLine(nil, t0+500, &b), '\n'), 0o640))

	var out bytes.Buffer
	must(t, runForget(ctx, []string{"--site", "demo", "--key-file", keyFile, "--data", dir, "a4:5e:60:c1:22:33"}, &out, &out))
	t.Logf("%s", out.Bytes())
	if b, _ := os.ReadFile(past); bytes.Contains(b, []byte(d.String())) || !bytes.Contains(b, []byte(do.String())) {
		t.Errorf("the journal file after the erasure: %s", b)
	}
}
