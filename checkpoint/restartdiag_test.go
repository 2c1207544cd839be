package checkpoint_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/passant/passant/checkpoint"
	"github.com/passant/passant/footfall"
	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/sim/simtest"
	"github.com/passant/passant/wire"
)

// TestRestartDiag (PASSANT_CHECKPOINT_DIAG=1) measures what a restart that
// replays only yesterday and today loses: three identical simulated 11 h
// days (the same shop and seed each morning), day 3's visitors and
// passers-by straight through, from a fresh pipeline over days 2 and 3 (the
// restart without a checkpoint), and from the state after day 1 with one
// part of it made fresh (which part of the learned state moves day 3).
func TestRestartDiag(t *testing.T) {
	if os.Getenv("PASSANT_CHECKPOINT_DIAG") == "" {
		t.Skip("set PASSANT_CHECKPOINT_DIAG=1")
	}
	parts := []struct {
		name  string
		paths []string
	}{
		{"gains", []string{"tracker.gains", "tracker.solver.gain"}},
		{"level and exponent", []string{"tracker.levelN", "tracker.levelRecent", "tracker.solver.level", "tracker.solver.sideOff", "tracker.solver.dn"}},
		{"side priors", []string{"tracker.global", "tracker.fresh"}},
		{"fading", []string{"tracker.fadeFit", "tracker.fadeA", "tracker.fadeB"}},
		{"rhythms", []string{"tracker.rhythm"}},
		{"pseudonyms", []string{"tracker.devs", "tracker.devList"}},
		{"clocks", []string{"clock"}},
		{"quarantine", []string{"quar"}},
	}
	for _, c := range []struct {
		layout string
		seed   uint64
	}{{"small", 7}, {"large", 8}} {
		var days [3][]*wire.Batch
		var site *wire.Site
		for d := range days {
			shop := simtest.Shop(t, c.layout, sim.Config{Seed: c.seed})
			site = shop.Site()
			from := time.Date(2026, 11, 10+d, 8, 0, 0, 0, time.UTC)
			days[d] = simtest.Batches(t, shop, from, from.Add(11*time.Hour), nil)
		}
		loc := site.Location()
		from3 := time.Date(2026, 11, 12, 0, 0, 0, 0, loc).UnixMilli()
		to3 := time.Date(2026, 11, 13, 0, 0, 0, 0, loc).UnixMilli()
		day3 := func(r *run) wire.Totals {
			r.pipe.Flush()
			r.counter.Flush()
			rep := footfall.Build(site, from3, to3, r.counter.TrackDays(), r.counter.Visits(), nil, footfall.History{})
			return rep.Totals
		}
		straight := newRun(t, site)
		straight.accept(days[0])
		var ck bytes.Buffer
		start := time.Now()
		if err := checkpoint.Write(&ck, pipeline.CheckpointKeep, straight.pipe, straight.counter); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		straight.accept(days[1])
		straight.accept(days[2])
		want := day3(straight)
		var ck3 bytes.Buffer
		if err := checkpoint.Write(&ck3, pipeline.CheckpointKeep, straight.pipe, straight.counter); err != nil {
			t.Fatal(err)
		}
		var pipeOnly bytes.Buffer
		if err := checkpoint.Write(&pipeOnly, pipeline.CheckpointKeep, straight.pipe); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s seed %d: the checkpoint after day 3 %d bytes, %d of them the pipeline's", c.layout, c.seed, ck3.Len(), pipeOnly.Len())

		fresh := newRun(t, site)
		fresh.accept(days[1])
		fresh.accept(days[2])
		got := day3(fresh)
		t.Logf("%s seed %d: day 3 straight %d visitors, %d passers-by; restarted %d, %d; the checkpoint after day 1 %d bytes (written in %v)",
			c.layout, c.seed, want.Visitors, want.Passersby, got.Visitors, got.Passersby, ck.Len(), took.Round(time.Millisecond))
		for _, p := range parts {
			r, clean := newRun(t, site), newRun(t, site)
			if err := checkpoint.Read(bytes.NewReader(ck.Bytes()), pipeline.CheckpointKeep, r.pipe, r.counter); err != nil {
				t.Fatal(err)
			}
			for _, path := range p.paths {
				setField(r.pipe, clean.pipe, path)
			}
			r.accept(days[1])
			r.accept(days[2])
			got := day3(r)
			t.Logf("  %s made fresh: %d visitors (%+d), %d passers-by (%+d)", p.name, got.Visitors, got.Visitors-want.Visitors,
				got.Passersby, got.Passersby-want.Passersby)
		}
	}
}

// setField sets the field at path (field names through pointers) of dst
// to src's.
func setField(dst, src any, path string) {
	a, b := reflect.ValueOf(dst), reflect.ValueOf(src)
	for name := range strings.SplitSeq(path, ".") {
		for a.Kind() == reflect.Pointer {
			a, b = a.Elem(), b.Elem()
		}
		a, b = a.FieldByName(name), b.FieldByName(name)
		a = reflect.NewAt(a.Type(), unsafe.Pointer(a.UnsafeAddr())).Elem()
		b = reflect.NewAt(b.Type(), unsafe.Pointer(b.UnsafeAddr())).Elem()
	}
	a.Set(b)
}
