package sim

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/passant/passant/wire"
)

var testFrom = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// runShop simulates an hour of a layout and returns the batches' wire form
// and the truth.
func runShop(t *testing.T, layout string, cfg Config, d time.Duration) ([]byte, []*wire.Batch, *Truth) {
	t.Helper()
	s, err := NewShop(layout, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	var batches []*wire.Batch
	truth := &Truth{}
	err = s.Run(context.Background(), testFrom, testFrom.Add(d), func(id string, b *wire.Batch) error {
		if id != b.Sensor {
			t.Fatalf("emit for %s of a batch of %s", id, b.Sensor)
		}
		out = wire.AppendBatch(out, b)
		out = append(out, '\n')
		batches = append(batches, b)
		return nil
	}, truth)
	if err != nil {
		t.Fatal(err)
	}
	return out, batches, truth
}

func TestDeterministic(t *testing.T) {
	a, _, ta := runShop(t, "small", Config{Seed: 7}, 20*time.Minute)
	b, _, tb := runShop(t, "small", Config{Seed: 7}, 20*time.Minute)
	c, _, _ := runShop(t, "small", Config{Seed: 8}, 20*time.Minute)
	if !bytes.Equal(a, b) || len(ta.Bursts) != len(tb.Bursts) || len(ta.People) != len(tb.People) {
		t.Error("the same seed gave different output")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same output")
	}
}

func TestBatchesFollowTheContract(t *testing.T) {
	for _, layout := range Layouts() {
		raw, batches, truth := runShop(t, layout, Config{Seed: 1}, 30*time.Minute)
		shop, _ := NewShop(layout, Config{})
		site := shop.Site()
		lastID := map[string]int64{}
		lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
		if len(lines) != len(batches) || len(batches) < 100 {
			t.Fatalf("%s: %d lines for %d batches", layout, len(lines), len(batches))
		}
		chans := map[bool]int{}
		for i, line := range lines {
			b, drops, err := wire.ParseBatch(line)
			if err != nil || drops.Total() != 0 {
				t.Fatalf("%s: batch %d: %v, drops %+v", layout, i, err, drops)
			}
			if site.SensorIndex(b.Sensor) < 0 {
				t.Fatalf("%s: unknown sensor %q", layout, b.Sensor)
			}
			if b.ID != lastID[b.Sensor]+1 {
				t.Fatalf("%s: sensor %s batch id %d after %d", layout, b.Sensor, b.ID, lastID[b.Sensor])
			}
			lastID[b.Sensor] = b.ID
			for k, o := range b.Obs {
				if k > 0 && o.T < b.Obs[k-1].T {
					t.Fatalf("%s: observations out of order", layout)
				}
				if o.T > b.Sent {
					t.Fatalf("%s: frame at %d in a batch sent at %d", layout, o.T, b.Sent)
				}
				if len(o.FP) != 8 || o.Seq < 0 || o.Seq > 4095 {
					t.Fatalf("%s: observation %+v", layout, o)
				}
				chans[o.Band5GHz()]++
			}
		}
		if chans[true] == 0 || chans[false] < chans[true] {
			t.Errorf("%s: frames by band (5 GHz: true) %v", layout, chans)
		}
		// Every observation's time lies within the clock error of its
		// burst's true time.
		first := map[wire.Dev]int64{}
		for _, bt := range truth.Bursts {
			if _, ok := first[bt.Dev]; !ok {
				first[bt.Dev] = bt.T
			}
		}
		for _, b := range batches {
			for _, o := range b.Obs {
				f, ok := first[o.Dev]
				if !ok {
					t.Fatalf("%s: observation of %v has no truth", layout, o.Dev)
				}
				if o.T < f-301 {
					t.Fatalf("%s: observation at %d before its device's first burst %d", layout, o.T, f)
				}
			}
		}
	}
}

func TestPeople(t *testing.T) {
	_, _, truth := runShop(t, "large", Config{Seed: 3}, 2*time.Hour)
	classes := map[string]int{}
	phones, randomised, many := 0, 0, 0
	for _, p := range truth.People {
		classes[p.Class]++
		switch p.Class {
		case Staff:
			if len(p.Visits) != 1 || p.Visits[0].End-p.Visits[0].Start < int64(90*time.Minute/time.Millisecond) {
				t.Errorf("staff %s visits %v", p.Person, p.Visits)
			}
		case Shopper:
			if len(p.Visits) != 1 || p.Visits[0].End <= p.Visits[0].Start {
				t.Errorf("shopper %s visits %v", p.Person, p.Visits)
			}
		case Passerby:
			if len(p.Visits) != 0 {
				t.Errorf("passer-by %s visits %v", p.Person, p.Visits)
			}
		}
		if p.Phone {
			phones++
			if p.Rand {
				randomised++
				if p.MACs > 1 {
					many++
				}
			} else if p.MACs != 1 {
				t.Errorf("non-randomising phone with %d MACs", p.MACs)
			}
		}
	}
	if classes[Staff] != 2 || classes[Shopper] < 30 || classes[Passerby] < 300 {
		t.Errorf("people by class: %v", classes)
	}
	if share := float64(randomised) / float64(phones); math.Abs(share-0.75) > 0.07 {
		t.Errorf("randomising share %.2f, want about 0.75", share)
	}
	if many < randomised/2 {
		t.Errorf("%d of %d randomising phones used more than one MAC", many, randomised)
	}
	// Bursts are 15–90 s apart per phone.
	last := map[string]int64{}
	for _, b := range truth.Bursts {
		if l, ok := last[b.Person]; ok && b.T-l > 1000 && b.T-l < 15000 {
			t.Fatalf("%s: bursts %d ms apart", b.Person, b.T-l)
		}
		last[b.Person] = b.T
	}
}

func TestLayoutSites(t *testing.T) {
	for _, name := range Layouts() {
		s, err := NewShop(name, Config{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := wire.MarshalSite(s.Site())
		if err != nil {
			t.Fatal(err)
		}
		site, err := wire.ParseSite(data, false)
		if err != nil {
			t.Fatalf("%s: the site file does not load back: %v", name, err)
		}
		if site.Site != s.Site().Site || len(site.Sensors) != len(s.Site().Sensors) {
			t.Errorf("%s: round trip changed the site", name)
		}
	}
	if _, err := NewShop("nope", Config{}); err == nil {
		t.Error("unknown layout accepted")
	}
}

func TestLiveStops(t *testing.T) {
	s, _ := NewShop("small", Config{Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := s.Live(ctx, testFrom, 1000, func(string, *wire.Batch) error {
		n++
		if n == 20 {
			cancel()
		}
		return nil
	}, nil)
	if err != context.Canceled || n < 20 {
		t.Errorf("Live: %v after %d batches", err, n)
	}
}
