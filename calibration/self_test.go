package calibration

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/passant/passant/wire"
)

// anchorDay simulates the sensors of w sending a probe every period ms from
// t0 for a day, heard by the other sensors: true path loss, a static
// shadowing per link (the positions do not move) and per-frame fading.
func anchorDay(w *world, rng *rand.Rand, anchors []Anchor, linkShadow [][]float64, tx float64, t0, period int64, f *SelfFitter) {
	for t := t0; t < t0+86400_000; t += period {
		for j, a := range anchors {
			for i, s := range w.site.Sensors {
				d := math.Sqrt((a.X-s.X)*(a.X-s.X) + (a.Y-s.Y)*(a.Y-s.Y) + (a.Z-s.Z)*(a.Z-s.Z))
				if d < 1 {
					continue
				}
				r := w.true_[i].RSSI1m + tx - 10*w.true_[i].Exponent*math.Log10(d) + linkShadow[i][j] + w.fading*rng.NormFloat64()
				if r < w.floor {
					continue
				}
				b := wire.Batch{V: 1, Sensor: s.ID, Obs: []wire.Observation{{T: t + int64(j*37), Dev: a.Dev, RSSI: math.Round(r), Ch: 6, Seq: -1}}}
				f.Add(&b)
			}
		}
	}
}

func TestSelfFitterDrift(t *testing.T) {
	w := newWorld()
	rng := rand.New(rand.NewPCG(21, 22))
	anchors := sensorAnchors(w.site, 0xa0)
	ls := linkShadows(rng, len(anchors), 2)
	const tx = 5.0 // the sensors transmit 5 dB above the reference phone
	const day0 = 1764806400000
	// A walk calibrated the site (to the truth, here, within rounding).
	truth := cloneSite(w.site)
	for i := range truth.Sensors {
		a, n := w.true_[i].RSSI1m, w.true_[i].Exponent
		truth.Sensors[i].RSSI1m, truth.Sensors[i].Exponent = &a, &n
	}
	f := NewSelfFitter(truth, anchors, 0)
	anchorDay(w, rng, anchors, ls, tx, day0, 30_000, f)
	// Learn the anchors' power against the calibrated site.
	txs := f.LearnTx(truth, day0+86400_000)
	for d, v := range txs {
		if math.Abs(v-tx) > 2.5 { // five links with 2 dB static shadowing each
			t.Errorf("anchor %s: tx %.2f dB, truth %.1f", d, v, tx)
		}
	}
	s1 := f.Refit(day0 + 86400_000)
	for i, s := range s1.Sensors {
		if s.N == 0 || math.Abs(s.RSSI1m-w.true_[i].RSSI1m) > 2.5 {
			t.Errorf("day 1 %s: %.1f dB from %d links, truth %.1f", s.ID, s.RSSI1m, s.N, w.true_[i].RSSI1m)
		}
	}
	// Day 2: s2's antenna is knocked, 4 dB less.
	w.true_[1].RSSI1m -= 4
	anchorDay(w, rng, anchors, ls, tx, day0+86400_000, 30_000, f)
	f.Refit(day0 + 2*86400_000)
	drift := f.Drift()
	t.Logf("drift after a day: %v", drift)
	for id, d := range drift {
		want := 0.0
		if id == "s2" {
			want = -4
		}
		if math.Abs(d-want) > 1 {
			t.Errorf("%s drifted %.2f dB, want %.0f", id, d, want)
		}
	}
	if len(f.History()) != 2 {
		t.Errorf("history of %d", len(f.History()))
	}
}

func TestParseAnchors(t *testing.T) {
	as, err := ParseAnchors([]byte(`{"anchors":[{"dev":"00000000000000a1","id":"printer","x":3,"y":4,"z":1}]}`))
	if err != nil || len(as) != 1 || as[0].ID != "printer" || as[0].Dev != 0xa1 {
		t.Fatalf("%v %+v", err, as)
	}
	if _, err := ParseAnchors([]byte(`[{"dev":"00000000000000a1"},{"dev":"00000000000000a1"}]`)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ParseAnchors([]byte(`[{"dev":"00000000000000a1"},{"dev":"00000000000000a2","devs":["00000000000000a1"]}]`)); err == nil {
		t.Error("a pseudonym of two anchors accepted")
	}
	// An anchor's next pseudonym counts as the same anchor.
	two, err := ParseAnchors([]byte(`[{"dev":"00000000000000b1","devs":["00000000000000b2"],"x":10,"y":0,"z":2.5}]`))
	if err != nil {
		t.Fatal(err)
	}
	site := newWorld().site
	f := NewSelfFitter(site, two, 0)
	for k, d := range []wire.Dev{0xb1, 0xb2} {
		f.Add(&wire.Batch{Sensor: "s1", Obs: []wire.Observation{{T: int64(1000 + k), Dev: d, RSSI: -70, Seq: -1}}})
	}
	if snap := f.Refit(5000); snap.Sensors[0].N != 1 {
		t.Errorf("two pseudonyms of one anchor gave %d links, want 1", snap.Sensors[0].N)
	}
	if _, err := ParseAnchors([]byte(`[{"dev":"xyz"}]`)); err == nil {
		t.Error("bad dev accepted")
	}
}

// The service runs self-calibration on the batches it observes and shows
// the drift over its API.
func TestServiceDrift(t *testing.T) {
	w := newWorld()
	svc := NewService(&memSites{versions: []*wire.Site{cloneSite(w.site)}})
	var anchors []Anchor
	for i, s := range w.site.Sensors {
		anchors = append(anchors, Anchor{Dev: wire.Dev(0xa0 + i), ID: s.ID, X: s.X, Y: s.Y, Z: s.Z})
	}
	svc.SetAnchors("sim", anchors)
	rng := rand.New(rand.NewPCG(4, 4))
	const t0 = 1764806400000
	for t := int64(t0); t < t0+3*3600_000; t += 60_000 {
		for i, s := range w.site.Sensors {
			b := wire.Batch{V: 1, Sensor: s.ID}
			for j, a := range anchors {
				d := math.Sqrt((a.X-s.X)*(a.X-s.X) + (a.Y-s.Y)*(a.Y-s.Y))
				if d < 1 {
					continue
				}
				r := w.true_[i].RSSI1m - 10*w.true_[i].Exponent*math.Log10(d) + w.fading*rng.NormFloat64()
				if i == 2 && t >= t0+2*3600_000 {
					r += 5 // s3 gains 5 dB in the third hour
				}
				b.Obs = append(b.Obs, wire.Observation{T: t + int64(j), Dev: a.Dev, RSSI: math.Round(r), Seq: -1})
			}
			svc.Observe("sim", &b)
		}
	}
	var v struct {
		Enabled bool
		History []Snapshot
		Drift   map[string]float64
	}
	if c := call(t, svc.Handler(), "GET", "/api/sites/sim/calibration/drift", nil, &v); c != 200 || !v.Enabled || len(v.History) != 2 {
		t.Fatalf("drift: %d %+v", c, v)
	}
	// Two refits (at 1 h and 2 h): the second still sees no change.
	if math.Abs(v.Drift["s3"]) > 0.5 {
		t.Errorf("drift before the change: %v", v.Drift)
	}
	svc.SelfFitter("sim").Refit(t0 + 3*3600_000)
	if d := svc.SelfFitter("sim").Drift()["s3"]; d < 1 {
		t.Errorf("s3 drift %.2f dB after gaining 5 dB for an hour of a 24 h window, want > 1", d)
	}
}
