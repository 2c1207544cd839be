package calibration

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// sourceSites is memSites recording each version's source.
type sourceSites struct {
	memSites
	sources []string
}

func (m *sourceSites) PutSiteFrom(ctx context.Context, s *wire.Site, source, note string) (int, error) {
	v, err := m.PutSite(ctx, s, note)
	m.mu.Lock()
	m.sources = append(m.sources, source)
	m.mu.Unlock()
	return v, err
}

// selfShop plays hours of six sensors hearing each other's probes (every
// 30 s; 2 dB static shadowing per link, the world's fading) into svc, from
// hour h0 to h1 after t0; lose(i, j) is what the link of sensor i hearing
// anchor j lost, dB.
func selfShop(w *world, svc *Service, rng *rand.Rand, anchors []Anchor, ls [][]float64, t0 int64, h0, h1 int, lose func(i, j int) float64) {
	for t := t0 + int64(h0)*3600_000; t < t0+int64(h1)*3600_000; t += 30_000 {
		for i, s := range w.site.Sensors {
			b := wire.Batch{V: 1, Sensor: s.ID}
			for j, a := range anchors {
				d := math.Sqrt((a.X-s.X)*(a.X-s.X) + (a.Y-s.Y)*(a.Y-s.Y) + (a.Z-s.Z)*(a.Z-s.Z))
				if d < 1 {
					continue
				}
				r := w.true_[i].RSSI1m - 10*w.true_[i].Exponent*math.Log10(d) + ls[i][j] - lose(i, j) + w.fading*rng.NormFloat64()
				b.Obs = append(b.Obs, wire.Observation{T: t + int64(j*37), Dev: a.Dev, RSSI: math.Round(r), Ch: 6, Seq: -1})
			}
			svc.Observe("sim", &b)
		}
	}
}

// TestSelfApply applies the self-calibration: s2 loses 4 dB, a shelf
// weakens the link between s4 and s5; only s2 is written (as the site's value less its change), the others are refused
// with their reasons; applying again finds nothing; revert restores the
// site and the proposal; a walk's values written meanwhile re-reference.
func TestSelfApply(t *testing.T) {
	w := newWorld()
	site := cloneSite(w.site)
	for i := range site.Sensors { // a walk calibrated the site, 1 dB off here and there
		a, n := w.true_[i].RSSI1m+float64(i%3)-1, w.true_[i].Exponent
		site.Sensors[i].RSSI1m, site.Sensors[i].Exponent = &a, &n
	}
	sites := &sourceSites{memSites: memSites{versions: []*wire.Site{site}}}
	svc := NewService(sites)
	svc.SelfWindow = 3600_000
	ctx := context.Background()
	if _, _, err := svc.SelfApply(ctx, "sim"); err != ErrSelfOff {
		t.Fatalf("apply without anchors: %v", err)
	}
	anchors := sensorAnchors(w.site, 0xa0)
	svc.SetAnchors("sim", anchors)
	rng := rand.New(rand.NewPCG(8, 9))
	ls := linkShadows(rng, len(anchors), 2)
	const t0 = 1764806400000
	selfShop(w, svc, rng, anchors, ls, t0, 0, 3, func(int, int) float64 { return 0 })
	if _, _, err := svc.SelfApply(ctx, "sim"); err != ErrSelfNothing {
		t.Fatalf("apply with nothing changed: %v", err)
	}
	// s2 loses 4 dB; a shelf comes between s4 and s5 (the link of s4
	// hearing s5 loses 8 dB, s5 hearing s4 3 dB).
	selfShop(w, svc, rng, anchors, ls, t0, 3, 6, func(i, j int) float64 {
		switch {
		case i == 1:
			return 4
		case i == 3 && j == 4:
			return 8
		case i == 4 && j == 3:
			return 3
		}
		return 0
	})
	p, _, err := svc.SelfProposal(ctx, "sim")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range p.Sensors {
		t.Logf("%s: n %.3f -> %.3f; %.2f -> %.2f dB (%+.2f), %d links, held-out %.2f / %.2f dB, apply %v %s", sp.ID, sp.Site.Exponent, sp.Proposed.Exponent, sp.Site.RSSI1m, sp.Proposed.RSSI1m,
			sp.Change, sp.Links, sp.HeldKeep, sp.HeldFit, sp.Apply, sp.Reason)
		if sp.ID == "s2" {
			if !sp.Apply || math.Abs(sp.Change+4) > 0.5 || sp.Links != 5 {
				t.Errorf("s2: %+v, want applied, -4 ± 0.5 dB", sp)
			}
		} else if sp.Apply || sp.Reason == "" {
			t.Errorf("%s: %+v, want refused with a reason", sp.ID, sp)
		}
		if sp.ID == "s4" && !strings.Contains(sp.Reason, "links disagree") {
			t.Errorf("s4 (one link behind a shelf): %q, want refused by the held-out links", sp.Reason)
		}
	}
	a, _, err := svc.SelfApply(ctx, "sim")
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 || a.Previous != 1 || len(a.Sensors) != 1 || a.Sensors[0] != "s2" || len(a.Refused) != 5 ||
		sites.sources[0] != SourceSelfCal || !strings.Contains(sites.notes[0], "s2 -") {
		t.Fatalf("applied %+v, sources %v, notes %q", a, sites.sources, sites.notes)
	}
	now, _, _ := sites.Site(ctx, "sim")
	if got, want := *now.Sensors[1].RSSI1m, *site.Sensors[1].RSSI1m; math.Abs(got-want+4) > 0.7 || *now.Sensors[0].RSSI1m != *site.Sensors[0].RSSI1m {
		t.Errorf("s2 written %.2f dB (was %.2f), s1 %.2f (was %.2f)", got, want, *now.Sensors[0].RSSI1m, *site.Sensors[0].RSSI1m)
	}
	// Measured from what was written, nothing is left to apply.
	if _, _, err := svc.SelfApply(ctx, "sim"); err != ErrSelfNothing {
		t.Errorf("second apply: %v", err)
	}
	v, err := svc.SelfRevert(ctx, "sim")
	if err != nil || v != 3 {
		t.Fatalf("revert: %d %v", v, err)
	}
	if _, err := svc.SelfRevert(ctx, "sim"); err != ErrNothingToRevert {
		t.Errorf("second revert: %v", err)
	}
	p, _, _ = svc.SelfProposal(ctx, "sim")
	if p.Applicable != 1 || !p.Sensors[1].Apply {
		t.Errorf("after revert: %+v", p)
	}
	// A walk writes s2's values: its change is measured from then on.
	walked := cloneSite(site)
	a2 := *site.Sensors[1].RSSI1m - 3.5
	walked.Sensors[1].RSSI1m = &a2
	sites.PutSite(ctx, walked, "walk")
	p, _, _ = svc.SelfProposal(ctx, "sim")
	if p.Sensors[1].Apply || !strings.Contains(p.Sensors[1].Reason, "changed since the reference") {
		t.Errorf("after a walk: %+v", p.Sensors[1])
	}
	p, _, _ = svc.SelfProposal(ctx, "sim")
	if p.Sensors[1].Apply || !strings.Contains(p.Sensors[1].Reason, "under 0.5 dB") {
		t.Errorf("after a walk, asked again: %+v", p.Sensors[1])
	}
}
