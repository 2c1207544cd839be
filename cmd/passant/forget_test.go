//go:build !sensoronly

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/store"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/web"
	"github.com/passant/passant/wire"
)

// TestForgetSQLite and TestForgetPostgres erase a person given their MAC
// address with passant forget: their rows under two key epochs go from the
// store and the journal's closed files, someone else's stay, and the
// output names no address.
func TestForgetSQLite(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testForgetCommand(t, st, dir, "--data", dir)
}

func TestForgetPostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	st, err := store.Open(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	testForgetCommand(t, st, dir, "--db", url, "--data", dir)
}

func testForgetCommand(t *testing.T, st *store.DB, dir string, storeArgs ...string) {
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveSite(ctx, storetest.Site(t, "demo"), store.SourceFile, ""); err != nil {
		t.Fatal(err)
	}
	key := []byte("the site key")
	keyFile := filepath.Join(t.TempDir(), "site.key")
	os.WriteFile(keyFile, append(key, '\n'), 0o600)
	mac := [6]byte{0xa4, 0x5e, 0x60, 0xc1, 0x22, 0x33}
	other := [6]byte{0xa4, 0x5e, 0x60, 0xc1, 0x22, 0x34}
	now := time.Now().UnixMilli()
	t1, t2 := now-40*24*3600_000, now-36*3600_000 // two key epochs apart
	d1, d2 := sensor.DevOf(key, sensor.DefaultRotation, mac, t1), sensor.DevOf(key, sensor.DefaultRotation, mac, t2)
	do := sensor.DevOf(key, sensor.DefaultRotation, other, t2)
	if d1 == d2 {
		t.Fatal("one epoch only")
	}
	obs := func(t0 int64, devs ...wire.Dev) store.RawBatch {
		b := store.RawBatch{Site: "demo", Recv: t0 + 500, Batch: wire.Batch{V: 1, Sensor: "s1", Boot: 1, ID: t0, Sent: t0}}
		for i, d := range devs {
			b.Batch.Obs = append(b.Batch.Obs, wire.Observation{T: t0 + int64(i), Dev: d, RSSI: -60, Kind: wire.KindProbe, Seq: -1})
		}
		return b
	}
	bs := []store.RawBatch{obs(t1, d1, d1), obs(t2, d2, do, d2)}
	must(t, st.WriteBatches(ctx, bs))
	must(t, st.WritePositions(ctx, "demo", []wire.Position{
		{T: t1, Track: store.TrackOf(d1), Dev: d1}, {T: t2, Track: store.TrackOf(d2), Dev: d2}, {T: t2, Track: store.TrackOf(do), Dev: do}}))
	var vs []footfall.Visit
	var ds []footfall.TrackDay
	for _, x := range []struct {
		d wire.Dev
		t int64
	}{{d1, t1}, {d2, t2}, {do, t2}} {
		vs = append(vs, footfall.Visit{Site: "demo", Track: store.TrackOf(x.d), Zone: "store", Start: x.t, End: x.t + 60_000, Fixes: 2})
		ds = append(ds, footfall.TrackDay{Site: "demo", Day: "d", Track: store.TrackOf(x.d), First: x.t, Last: x.t + 60_000, Fixes: 2})
	}
	must(t, st.WriteVisits(ctx, vs))
	must(t, st.WriteTrackDays(ctx, ds))
	// The journal: a past day's file and today's.
	jdir := filepath.Join(dir, "journal", "demo")
	os.MkdirAll(jdir, 0o750)
	past := filepath.Join(jdir, time.UnixMilli(t2).UTC().Format(time.DateOnly)+".jsonl")
	today := filepath.Join(jdir, time.Now().UTC().Format(time.DateOnly)+".jsonl")
	line := append(wire.AppendJournalLine(nil, bs[1].Recv, &bs[1].Batch), '\n')
	os.WriteFile(past, line, 0o640)
	os.WriteFile(today, line, 0o640)
	ck := filepath.Join(jdir, "checkpoint") // the server's checkpoint of the site: it holds the person too
	os.WriteFile(ck, []byte("state"), 0o640)

	// The pseudonyms for the API, as the command prints them.
	var out bytes.Buffer
	args := []string{"--site", "demo", "--key-file", keyFile}
	must(t, runForget(ctx, append(append([]string{}, args...), "--print-devs", "--since",
		time.UnixMilli(t1).UTC().Format(time.DateOnly), "a4:5e:60:c1:22:33"), &out, &out))
	var req web.ForgetRequest
	if err := json.Unmarshal(out.Bytes(), &req); err != nil {
		t.Fatalf("--print-devs: %v: %s", err, out.Bytes())
	}
	has := map[wire.Dev]bool{}
	for _, d := range req.Devs {
		has[d] = true
	}
	if !has[d1] || !has[d2] || has[do] {
		t.Fatalf("--print-devs gave %v; want %s and %s, not %s", req.Devs, d1, d2, do)
	}

	out.Reset()
	must(t, runForget(ctx, append(append(args, storeArgs...), "A4-5E-60-C1-22-33"), &out, &out))
	t.Logf("%s", out.Bytes())
	for _, want := range []string{"observations  4 deleted", "positions     2 deleted", "visits        2 deleted",
		"track_days    2 deleted", "tracks        2 erased", "journal       2 observations deleted in 1 files", "checkpoint    removed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if s := strings.ToLower(out.String()); strings.Contains(s, "a4:5e") || strings.Contains(s, "a4-5e") || strings.Contains(s, "a45e60") {
		t.Errorf("the output names the address:\n%s", out.Bytes())
	}
	if n, _ := st.CountObservations(ctx, "demo", 0, now); n != 1 {
		t.Errorf("%d observations left, want the other person's 1", n)
	}
	if ps, _ := st.Positions(ctx, "demo", 0, now); len(ps) != 1 || ps[0].Dev != do {
		t.Errorf("fixes left: %+v", ps)
	}
	if vs, _ := st.Visits(ctx, "demo", 0, now); len(vs) != 1 || vs[0].Track != store.TrackOf(do) {
		t.Errorf("visits left: %+v", vs)
	}
	if b, _ := os.ReadFile(past); bytes.Contains(b, []byte(d2.String())) || !bytes.Contains(b, []byte(do.String())) {
		t.Errorf("the past journal file: %s", b)
	}
	if _, err := os.Stat(ck); err == nil {
		t.Error("the checkpoint is still there")
	}
	if b, _ := os.ReadFile(today); !bytes.Equal(b, line) {
		t.Errorf("today's journal file changed without --journal-today: %s", b)
	}
	out.Reset()
	must(t, runForget(ctx, append(append(args, storeArgs...), "--journal-today", "a45e60c12233"), &out, &out))
	if b, _ := os.ReadFile(today); bytes.Contains(b, []byte(d2.String())) {
		t.Errorf("today's journal file kept the pseudonym with --journal-today: %s", b)
	}

	// Refused: an epoch key, no address, a malformed one (not repeated).
	ek := filepath.Join(t.TempDir(), "epoch.key")
	must(t, sensor.WriteEpochKeyFile(ek, sensor.EpochKeyAt(key, sensor.DefaultRotation, now)))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--site", "demo", "--key-file", ek, "a45e60c12233"}, "epoch key"},
		{append([]string{"--site", "demo", "--key-file", keyFile}, storeArgs...), "at least one MAC"},
		{[]string{"--site", "demo", "--key-file", keyFile, "a4:5e:60:c1:22"}, "argument 1"},
		{[]string{"--site", "demo", "--key-file", keyFile, "--print-devs", "a45e60c12233"}, "--since"},
	} {
		err := runForget(ctx, c.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "a4:5e") {
			t.Errorf("%v: err %v, want %q", c.args, err, c.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
