package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// simulate writes an hour and a half of a simulated shop as obs.jsonl and
// its site file, as `passant sim` would.
func simulate(t *testing.T, dir string, journal bool) (site, in string) {
	t.Helper()
	shop, err := sim.NewShop("small", sim.Config{Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := wire.MarshalSite(shop.Site())
	site = filepath.Join(dir, "site.json")
	os.WriteFile(site, data, 0o644)
	var buf bytes.Buffer
	from := time.Date(2026, 12, 1, 9, 40, 0, 0, time.UTC)
	err = shop.Run(context.Background(), from, from.Add(90*time.Minute), func(_ string, b *wire.Batch) error {
		if journal {
			buf.Write(wire.AppendJournalLine(nil, b.Sent+40, b))
		} else {
			buf.Write(wire.AppendBatch(nil, b))
		}
		buf.WriteByte('\n')
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in = filepath.Join(dir, "obs.jsonl")
	os.WriteFile(in, buf.Bytes(), 0o644)
	return site, in
}

func replayFiles(t *testing.T, site, in, dir string) (pos, rep []byte) {
	t.Helper()
	cfg := Config{SitePath: site, In: in, Positions: filepath.Join(dir, "positions.jsonl"),
		Report: filepath.Join(dir, "report.json"), Heatmap: filepath.Join(dir, "heat.png")}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	pos, _ = os.ReadFile(cfg.Positions)
	rep, _ = os.ReadFile(cfg.Report)
	if st, err := os.Stat(cfg.Heatmap); err != nil || st.Size() < 1000 {
		t.Fatalf("heatmap: %v", err)
	}
	return pos, rep
}

// TestReplayIsDeterministicAndFollowsTheContract replays the same input
// twice (once as plain batches, once as journal lines): the outputs are
// byte for byte the same, positions come in order of t, and the report
// spans whole local hours with every hour listed.
func TestReplayIsDeterministicAndFollowsTheContract(t *testing.T) {
	dir := t.TempDir()
	site, in := simulate(t, dir, false)
	pos1, rep1 := replayFiles(t, site, in, t.TempDir())
	pos2, rep2 := replayFiles(t, site, in, t.TempDir())
	if len(pos1) == 0 || !bytes.Equal(pos1, pos2) || !bytes.Equal(rep1, rep2) {
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
