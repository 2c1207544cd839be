package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// simulate writes an hour and a half of a simulated shop as obs.jsonl and
// its site file, as `passant sim` would.
func simulate(t *testing.T, dir string, journal bool) (site, in string) {
	t.Helper()
	shop := simtest.Shop(t, "small", sim.Config{Seed: 11})
	site = simtest.WriteSite(t, dir, shop.Site())
	from := time.Date(2026, 12, 1, 9, 40, 0, 0, time.UTC)
	var buf []byte
	if journal {
		for _, b := range simtest.Batches(t, shop, from, from.Add(90*time.Minute), nil) {
			buf = append(wire.AppendJournalLine(buf, b.Sent+40, b), '\n')
		}
	} else {
		buf = simtest.Input(t, shop, from, from.Add(90*time.Minute), nil)
	}
	in = filepath.Join(dir, "obs.jsonl")
	if err := os.WriteFile(in, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return site, in
}

func replayFiles(t *testing.T, site, in, dir string) (pos, rep []byte) {
	pos, rep, _ = replayHeat(t, site, in, dir)
	return pos, rep
}

func replayHeat(t *testing.T, site, in, dir string) (pos, rep, heat []byte) {
	t.Helper()
	cfg := Config{SitePath: site, In: in, Positions: filepath.Join(dir, "positions.jsonl"),
		Report: filepath.Join(dir, "report.json"), Heatmap: filepath.Join(dir, "heat.png")}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	pos, _ = os.ReadFile(cfg.Positions)
	rep, _ = os.ReadFile(cfg.Report)
	heat, err := os.ReadFile(cfg.Heatmap)
	if err != nil || len(heat) < 1000 {
		t.Fatalf("heatmap: %v", err)
	}
	return pos, rep, heat
}

// TestReplayIsDeterministicAndFollowsTheContract replays the same input
// twice (once as plain batches, once as journal lines): the outputs are
// byte for byte the same, positions come in order of t, and the report
// spans whole local hours with every hour listed.
func TestReplayIsDeterministicAndFollowsTheContract(t *testing.T) {
	dir := t.TempDir()
	site, in := simulate(t, dir, false)
	pos1, rep1, heat1 := replayHeat(t, site, in, t.TempDir())
	pos2, rep2, heat2 := replayHeat(t, site, in, t.TempDir())
	if len(pos1) == 0 || !bytes.Equal(pos1, pos2) || !bytes.Equal(rep1, rep2) || !bytes.Equal(heat1, heat2) {
		t.Fatal("two replays of the same input differ")
	}
	jdir := t.TempDir()
	_, jin := simulate(t, jdir, true)
	pos3, rep3 := replayFiles(t, site, jin, t.TempDir())
	if !bytes.Equal(pos1, pos3) || !bytes.Equal(rep1, rep3) {
		t.Fatal("the journal form of the input gives other output")
	}

	var last int64
	lines := strings.Split(strings.TrimSpace(string(pos1)), "\n")
	for i, l := range lines {
		p, err := wire.ParsePosition([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if p.T < last || p.Track == "" || p.N < 1 || p.Err <= 0 {
			t.Fatalf("line %d: %s", i+1, l)
		}
		last = p.T
	}
	var rep wire.Report
	if err := json.Unmarshal(rep1, &rep); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	if f := time.UnixMilli(rep.From).In(loc); f.Minute() != 0 || f.Second() != 0 || f.Hour() != 10 {
		t.Fatalf("from %v is not the start of the first local hour (10:00)", f)
	}
	if n := int((rep.To - rep.From) / 3_600_000); n != len(rep.Hours) || n != 3 { // 10:40 to 12:10 local
		t.Fatalf("%d hours listed for [%d, %d)", len(rep.Hours), rep.From, rep.To)
	}
	if rep.Totals.Visitors == 0 || rep.Totals.Passersby == 0 || rep.Totals.CaptureRate == nil {
		t.Fatalf("totals %+v", rep.Totals)
	}
	if rep.Totals.Transactions != nil {
		t.Fatal("transactions reported without till data")
	}
}

// TestHourFloor checks local hour starts on the days the clocks change.
func TestHourFloor(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range []struct{ at, want string }{
		{"2026-03-29T01:30:00Z", "2026-03-29T01:00:00Z"}, // 03:30 CEST, the hour after the gap
		{"2026-10-25T00:30:00Z", "2026-10-25T00:00:00Z"}, // the first 02:xx (CEST)
		{"2026-10-25T01:30:00Z", "2026-10-25T01:00:00Z"}, // the second 02:xx (CET)
		{"2026-12-01T10:59:59Z", "2026-12-01T10:00:00Z"},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := HourFloor(at.UnixMilli(), loc); got != want.UnixMilli() {
			t.Errorf("%s: %v, want %v", c.at, time.UnixMilli(got).UTC(), want)
		}
	}
	india, _ := time.LoadLocation("Asia/Kolkata")
	at, _ := time.Parse(time.RFC3339, "2026-12-01T10:10:00Z") // 15:40 IST
	if got := time.UnixMilli(HourFloor(at.UnixMilli(), india)).In(india); got.Hour() != 15 || got.Minute() != 0 {
		t.Errorf("Kolkata: %v", got)
	}
}

// TestReplayMappedFile: a file replayed by name (its whole lines mapped
// into memory, the rest read after them) gives what the same bytes give
// through a reader, with and without a line break at the end.
func TestReplayMappedFile(t *testing.T) {
	dir := t.TempDir()
	site, in := simulate(t, dir, false)
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, trim := range []bool{false, true} {
		b := data
		if trim {
			b = bytes.TrimSuffix(b, []byte("\n")) // the last line read from the file after the mapped ones
		}
		name := filepath.Join(dir, "in.jsonl")
		os.WriteFile(name, b, 0o644)
		var out [2][2][]byte
		for i, cfg := range []Config{{SitePath: site, In: name}, {SitePath: site, Input: bytes.NewReader(b)}} {
			odir := t.TempDir()
			cfg.Positions, cfg.Report = filepath.Join(odir, "p.jsonl"), filepath.Join(odir, "r.json")
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Lines == 0 || res.Rejected != 0 {
				t.Fatalf("%d lines, %d rejected", res.Lines, res.Rejected)
			}
			out[i][0], _ = os.ReadFile(cfg.Positions)
			out[i][1], _ = os.ReadFile(cfg.Report)
		}
		if len(out[0][0]) == 0 || !bytes.Equal(out[0][0], out[1][0]) || !bytes.Equal(out[0][1], out[1][1]) {
			t.Fatalf("trimmed %v: the mapped file and the reader give other output", trim)
		}
	}
}

// TestReplayFileCutShort: a mapped input file cut short while it is read
// is an error of the replay, not a crash.
func TestReplayFileCutShort(t *testing.T) {
	dir := t.TempDir()
	_, in := simulate(t, dir, false)
	src, mem, _, closeIn, err := openInput(Config{In: in})
	if err != nil {
		t.Fatal(err)
	}
	defer closeIn()
	if mem == nil {
		t.Skip("input not mapped on this platform")
	}
	if err := os.Truncate(in, 0); err != nil {
		t.Fatal(err)
	}
	lines := wire.NewLinesAfter(mem, src)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var l wire.Line
	var rerr error
	n := 0
	for next(lines, &l, &rerr) {
		n++
	}
	if rerr == nil {
		t.Fatalf("%d lines read from a file cut to nothing, no error", n)
	}
	t.Logf("%d lines, then: %v", n, rerr)
}
