package locate_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/locate"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
	"github.com/passant/passant/zones"
)

// captureBatch reads the probe requests of a pcap into one batch of a
// single sensor s1, pseudonymised under a test key. forceRand marks every
// frame randomised (the dataset replaced the phones' addresses with random
// ones, so the locally administered bit is not the phone's own).
func captureBatch(t *testing.T, name string, forceRand bool) *wire.Batch {
	t.Helper()
	src, err := sensor.OpenFiles([]string{name}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := sensor.NewDecoder(sensor.DecoderOptions{})
	p := sensor.NewPseudonymizer([]byte("capture-test"), sensor.DefaultRotation)
	b := &wire.Batch{V: 1, Sensor: "s1"}
	for {
		data, ci, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var f sensor.Frame
		if d.Decode(data, ci, &f) != sensor.OK || f.Kind != wire.KindProbe || f.RSSI > 0 {
			continue
		}
		dev, err := p.Dev(f.Addr, f.T)
		if err != nil {
			t.Fatal(err)
		}
		o := f.Observation(dev)
		if forceRand {
			o.Rand = true
		}
		b.Obs = append(b.Obs, o)
	}
	return b
}

// TestLinkRealCaptures runs the linker on each real ProbingPatterns capture
// (one phone per file) and reports the tracks found per file: ideally one.
func TestLinkRealCaptures(t *testing.T) {
	files, _ := filepath.Glob("../sensor/testdata/captures/probing-*.pcap")
	if len(files) == 0 {
		files, _ = filepath.Glob("/work/shared/testdata/captures/probing-*.pcap")
	}
	if len(files) == 0 {
		t.Skip("no ProbingPatterns captures found")
	}
	site := &wire.Site{Site: "cap", Bounds: wire.Rect{{-10, -10}, {10, 10}},
		Radio:   wire.Radio{RSSI1m: -45, Exponent: 2.5, PhoneZ: 1.2},
		Sensors: []wire.Sensor{{ID: "s1", X: 0, Y: 0, Z: 2.5}},
		Zones: []wire.Zone{{ID: "store", Kind: wire.ZoneStore, Polygon: []wire.Point{{-10, 0}, {10, 0}, {10, 10}, {-10, 10}}},
			{ID: "street", Kind: wire.ZoneOutside, Polygon: []wire.Point{{-10, -10}, {10, -10}, {10, 0}, {-10, 0}}}}}
	m, err := locate.NewModel(site)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b := captureBatch(t, name, true)
		bursts := sim.Bursts(m, site, []*wire.Batch{b})
		devs := map[wire.Dev]bool{}
		for i := range b.Obs {
			devs[b.Obs[i].Dev] = true
		}
		var est float64
		count := func(opt locate.TrackerOptions) int {
			tr := locate.NewTracker(m, opt)
			c := footfall.NewCounter(site, zones.NewPlan(site))
			tracks := map[string]bool{}
			for _, bu := range bursts {
				p := tr.Add(bu)
				tracks[p.Track] = true
				c.Add(p)
				tr.Expire(bu.T)
				for _, m := range tr.Merges() {
					delete(tracks, m.From) // its bursts are m.Into's
					c.Merge(m.From, m.Into)
				}
			}
			c.Flush()
			if !opt.NoLink {
				a, b := tr.Fading()
				t.Logf("%s: fading learned from a scan's addresses: channels %.1f dB, %.1f dB per frame", name, a, b)
			}
			if len(bursts) > 0 && !opt.NoLink {
				// The passers-by estimate of footfall (every track is a passer-by
				// or visitor here; nobody stays for hours).
				from, to := footfall.HourSpan(bursts[0].T, bursts[len(bursts)-1].T, site.Location())
				rep := footfall.Build(site, from, to, c.TrackDays(), c.Visits(), nil, footfall.History{})
				est = rep.Totals.PassersbyEst + float64(rep.Totals.Visitors)
			}
			return len(tracks)
		}
		linked, alone := count(locate.TrackerOptions{}), count(locate.TrackerOptions{NoLink: true})
		var span time.Duration
		if len(bursts) > 0 {
			span = time.Duration(bursts[len(bursts)-1].T-bursts[0].T) * time.Millisecond
		}
		t.Logf("%-32s %5d frames %3d pseudonyms %4d bursts over %-9v: %3d tracks linked (%d without linking); footfall's estimate %.1f people",
			filepath.Base(name), len(b.Obs), len(devs), len(bursts), span.Round(time.Second), linked, alone, est)
		if linked > alone || linked < 1 {
			t.Errorf("%s: %d tracks linked, %d without", name, linked, alone)
		}
		// One phone per file: at most this many tracks (today 11, 3, 2, 5,
		// 5; a grid fix's point of most mass for one-sensor bursts made the
		// iPhone12-M 8).
		if most, ok := capturesMostTracks[filepath.Base(name)]; ok && linked > most {
			t.Errorf("%s: %d tracks for one phone, at most %d expected", filepath.Base(name), linked, most)
		}
	}
	if os.Getenv("PASSANT_CAPTURES_STRICT") != "" {
		t.Log("strict")
	}
}

// capturesMostTracks bounds the tracks linked per real capture, each one
// phone (the Oppo's fingerprint changes with nearly every burst, and the
// linker keeps different fingerprints apart).
var capturesMostTracks = map[string]int{
	"probing-OppoFindX3Neo-A.pcap": 12,
	"probing-S21Ultra-M.pcap":      4,
	"probing-iPhone11-B.pcap":      3,
	"probing-iPhone11-C.pcap":      6,
	"probing-iPhone12-M.pcap":      6,
}
