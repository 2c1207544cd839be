package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/replay"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/wire"
)

const anchorSiteJSON = `{"site":"tx","timezone":"UTC","bounds":[[-2,-8],[22,17]],
 "radio":{"rssi_1m":-45,"exponent":2.5,"offset_5ghz":-6},
 "sensors":[{"id":"s1","x":0,"y":0,"z":2.5},{"id":"s2","x":20,"y":0,"z":2.5},
            {"id":"s3","x":20,"y":15,"z":2.5},{"id":"s4","x":0,"y":15,"z":2.5}],
 "zones":[{"id":"street","kind":"outside","polygon":[[-2,-8],[22,-8],[22,0],[-2,0]]},
          {"id":"store","kind":"store","polygon":[[0,0],[20,0],[20,15],[0,15]]}]}`

// txWorld is a shop whose four sensors transmit probe requests every 30 s
// and hear each other and a printer (a fixed anchor from --anchors), a
// device nobody declared (it stands still all day, like a neighbour's TV),
// and a few phones. RSSI follows the path-loss model with true per-sensor
// gains, a static shadowing per link and 1.5 dB of fading per frame; s3
// loses 4 dB of receive gain at lossAt, and of transmit gain too with
// lossTx (its antenna knocked askew).
type txWorld struct {
	lossTx bool
	site   *wire.Site
	key    []byte
	rng    *rand.Rand
	gain   []float64
	shadow map[[2]int]float64 // (receiver, transmitter index) -> dB
	lossAt int64
	seq    map[string]int
}

type txDevice struct {
	name    string
	dev     func(t int64) wire.Dev
	x, y, z float64
	from    int64 // present in [from, to)
	to      int64
	burst   int
	sensor  int // the transmitting sensor's index, else -1
}

func (w *txWorld) rssi(i int, d *txDevice, k int, t int64) (float64, bool) {
	se := w.site.Sensors[i]
	dist := math.Sqrt((d.x-se.X)*(d.x-se.X) + (d.y-se.Y)*(d.y-se.Y) + (d.z-se.Z)*(d.z-se.Z))
	r := -45 + w.gain[i] - 25*math.Log10(dist) + w.shadow[[2]int{i, k}] + 1.5*w.rng.NormFloat64()
	if (i == 2 || w.lossTx && d.sensor == 2) && t >= w.lossAt {
		r -= 4
	}
	return math.Round(r), r > -95
}

// batches returns each sensor's batch for the 30 s from t.
func (w *txWorld) batches(devs []*txDevice, t int64, ids []int64) []*wire.Batch {
	var out []*wire.Batch
	for i, se := range w.site.Sensors {
		ids[i]++
		b := &wire.Batch{V: 1, Sensor: se.ID, Boot: 1, ID: ids[i], Sent: t + 30_000}
		for k, d := range devs {
			if t < d.from || t >= d.to || d.sensor == i {
				continue // absent, or the sensor's own transmissions (it drops them)
			}
			for f := range d.burst {
				ft := t + int64(k)*731 + int64(f)*20
				r, heard := w.rssi(i, d, k, ft)
				if heard {
					b.Obs = append(b.Obs, wire.Observation{T: ft, Dev: d.dev(ft), RSSI: r, Ch: 6,
						Kind: wire.KindProbe, Seq: (w.seq[d.name] + f) % 4096, FP: sensor.ProbeFP()})
				}
			}
		}
		out = append(out, b)
	}
	for _, d := range devs {
		w.seq[d.name] += d.burst
	}
	return out
}

// TestSelfCalibrationFromTransmittingSensors runs six hours of a shop
// whose sensors transmit (status "tx") through the embedded MQTT broker
// and a real server: the drift endpoint reports s3's 4 dB loss and the
// others near 0, and no anchor becomes a track, while the undeclared
// device does. s3 loses 4 dB of receive gain only, or of both receive and
// transmit gain (then its hearers must not drift).
func TestSelfCalibrationFromTransmittingSensors(t *testing.T) {
	t.Run("receive", func(t *testing.T) { txShop(t, false) })
	t.Run("antenna", func(t *testing.T) { txShop(t, true) })
}

func txShop(t *testing.T, lossTx bool) {
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.json")
	os.WriteFile(sitePath, []byte(anchorSiteJSON), 0o644)
	site, err := wire.ParseSite([]byte(anchorSiteJSON), false)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("self-calibration test key")
	const period = sensor.DefaultRotation
	hour := int64(3600_000)
	// The six hours start a minute before a whole hour (self-calibration
	// refits on the hour), the case that once made the first fit stand on
	// one minute of links.
	end := time.Now().Truncate(time.Hour).Add(-time.Minute).UnixMilli()
	start := end - 6*hour
	w := &txWorld{lossTx: lossTx, site: site, key: key, rng: rand.New(rand.NewPCG(6, 6)), gain: []float64{0, -2, 1.5, -1},
		shadow: map[[2]int]float64{}, lossAt: start + 3*hour, seq: map[string]int{}}

	// The transmitters: the sensors (announced in their status), a printer
	// (an anchors file), an undeclared fixed device, and three phones.
	var devs []*txDevice
	var trs []*sensor.Transmitter
	for i, se := range site.Sensors {
		mac := sensor.TxMAC(se.ID)
		tr, err := sensor.NewTransmitter(sensor.TransmitConfig{MAC: mac, Pseudo: sensor.NewPseudonymizer(key, period)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, tr)
		devs = append(devs, &txDevice{name: se.ID, x: se.X, y: se.Y, z: se.Z, to: math.MaxInt64, burst: 1, sensor: i,
			dev: func(t int64) wire.Dev { return sensor.DevOf(key, period, [6]byte(mac), t) }})
	}
	fixed := func(d wire.Dev) func(int64) wire.Dev { return func(int64) wire.Dev { return d } }
	const printer, tv = wire.Dev(0x5052494e54455221), wire.Dev(0x7476000000000001)
	devs = append(devs, &txDevice{name: "printer", dev: fixed(printer), x: 10, y: 7.5, z: 1, to: math.MaxInt64, burst: 1, sensor: -1},
		&txDevice{name: "tv", dev: fixed(tv), x: 4, y: 11, z: 1, to: math.MaxInt64, burst: 3, sensor: -1})
	var phones []wire.Dev
	for k := range 3 {
		d := wire.Dev(0x1000 + k)
		phones = append(phones, d)
		from := start + int64(k+1)*hour + int64(k)*600_000
		devs = append(devs, &txDevice{name: d.String(), dev: fixed(d), x: 5 + 5*float64(k), y: 4 + 3*float64(k), z: 1.2,
			from: from, to: from + 25*60_000, burst: 3, sensor: -1})
	}
	for i := range site.Sensors {
		for k := range devs {
			w.shadow[[2]int{i, k}] = 2 * w.rng.NormFloat64()
		}
	}

	cfg := Config{SiteFiles: []string{sitePath}, DataDir: dir, SelfWindow: time.Hour,
		Anchors: map[string][]calibration.Anchor{"tx": {{Dev: printer, ID: "printer", X: 10, Y: 7.5, Z: 1}}}}
	srv, stop := startServer(t, cfg)
	defer func() { stop() }()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(srv.BrokerURL()).SetClientID("test-sensors"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	publish := func(topic string, retained bool, payload []byte) {
		t.Helper()
		tok := pub.Publish(topic, 1, retained, payload)
		if tok.Wait(); tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	announce := func(now int64) {
		for i, se := range site.Sensors {
			st, _ := json.Marshal(sensor.Status{V: 1, State: "online", Version: "test", Started: start, Tx: trs[i].Status(now)})
			publish(wire.Topic("passant", "tx", se.ID, "status"), true, st)
		}
	}
	announce(start)
	r := srv.runner("tx")
	eventually(t, "the sensors' transmissions registered as anchors", func() bool {
		for _, d := range devs[:4] {
			if !r.anchors.has(d.dev(start)) {
				return false
			}
		}
		return true
	})
	ids := make([]int64, len(site.Sensors))
	sent := 0
	for tm := start; tm < end; tm += 30_000 {
		if (tm-start)%hour == 0 && tm > start {
			announce(tm) // a sensor refreshes its status every 30 s; once an hour is enough here
		}
		for _, b := range w.batches(devs, tm, ids) {
			publish(wire.Topic("passant", "tx", b.Sensor, "obs"), false, wire.AppendBatch(nil, b))
			sent++
		}
	}
	eventually(t, "every batch processed", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		var n int64
		for _, st := range r.pipe.Stats() {
			n += st.Batches + st.Dupes
		}
		return n == int64(sent)
	})

	// The drift, as the calibration page reads it.
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/api/sites/tx/calibration/drift")
	if err != nil {
		t.Fatal(err)
	}
	var drift struct {
		Enabled bool                   `json:"enabled"`
		History []calibration.Snapshot `json:"history"`
		Drift   map[string]float64     `json:"drift"`
	}
	err = json.NewDecoder(resp.Body).Decode(&drift)
	resp.Body.Close()
	if err != nil || !drift.Enabled {
		t.Fatalf("drift: %v %+v", err, drift)
	}
	t.Logf("drift after six hours, s3 losing 4 dB after three: %v (%d refits)", drift.Drift, len(drift.History))
	if len(drift.History) < 5 {
		t.Fatalf("%d refits in six hours", len(drift.History))
	}
	for _, se := range site.Sensors {
		d, ok := drift.Drift[se.ID]
		want := 0.0
		if se.ID == "s3" {
			want = -4
		}
		if !ok || math.Abs(d-want) > 0.7 {
			t.Errorf("%s: drift %.2f dB (reported: %v), want %.0f ± 0.7", se.ID, d, ok, want)
		}
	}
	last := drift.History[len(drift.History)-1]
	for _, s := range last.Sensors {
		if s.N != 4 { // three other sensors and the printer
			t.Errorf("%s fitted on %d links, want 4", s.ID, s.N)
		}
	}

	// The sensors' health says what they transmit, and counts the anchor
	// frames they heard among their observations.
	hs, err := srv.Sensors(context.Background(), "tx")
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		if h.Tx == nil || h.Tx.Dev != trs[i].Status(start+5*hour).Dev || h.Tx.EveryMS != 30_000 || h.Observations < 4*720 {
			t.Errorf("health of %s: tx %+v, %d observations", h.ID, h.Tx, h.Observations)
		}
	}

	// Anchors are not people: no fix, no track, no footfall; the undeclared
	// device and the phones are located.
	checkLocated := func(r *siteRunner) int64 {
		t.Helper()
		r.mu.Lock()
		defer r.mu.Unlock()
		var skipped int64
		for _, st := range r.pipe.Stats() {
			skipped += st.Skipped
		}
		for _, d := range devs[:5] {
			for _, tm := range []int64{start, end} {
				if tr, ok := r.devTrack[d.dev(tm)]; ok {
					t.Errorf("anchor %s was located (track %s)", d.name, tr)
				}
			}
		}
		for _, d := range append([]wire.Dev{tv}, phones...) {
			if _, ok := r.devTrack[d]; !ok {
				t.Errorf("%s was never located", d)
			}
		}
		if skipped == 0 {
			t.Error("no anchor frame skipped")
		}
		return skipped
	}
	skipped := checkLocated(r)
	rep, err := srv.Report(context.Background(), "tx", start, end)
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	t.Logf("footfall: %d visitors, %d passers-by, %d staff; %d anchor frames kept out", tot.Visitors, tot.Passersby, tot.Staff, skipped)
	if n := tot.Visitors + tot.Passersby + tot.Staff; n > len(phones)+2 { // the tv, perhaps split at midnight
		t.Errorf("%d tracks counted; the five anchors among them?", n)
	}

	// The announcements are kept for a restart, by pseudonym only.
	kept, err := os.ReadFile(anchorsPath(dir, "tx"))
	if err != nil {
		t.Fatal(err)
	}
	mac := sensor.TxMAC("s1")
	if !strings.Contains(string(kept), devs[0].dev(end).String()) || strings.Contains(string(kept), hex.EncodeToString(mac[:])) {
		t.Errorf("kept anchors: %s", kept)
	}
	if lossTx {
		selfApplyOverHTTP(t, srv, site)
		return // the replay and the restart once are enough
	}
	// The kept file is an anchors file: replaying the journal with it skips
	// the anchors as the live server did, and gives its positions.
	as, err := calibration.LoadAnchors(anchorsPath(dir, "tx"))
	if err != nil || len(as) != 5 {
		t.Fatalf("kept anchors: %v, %d anchors", err, len(as))
	}
	if err := srv.journal.Sync(); err != nil { // the last lines may still be buffered
		t.Fatal(err)
	}
	files, err := srv.journal.Files("tx", "", "")
	if err != nil || len(files) == 0 {
		t.Fatalf("journal: %v %v", files, err)
	}
	replayed := func(skip func(wire.Dev) bool) (int64, map[wire.Dev]bool) {
		located := map[wire.Dev]bool{}
		res, err := replay.Run(context.Background(), replay.Config{Site: site, Input: journalInput(t, files),
			Skip: skip, OnPosition: func(p wire.Position) { located[p.Dev] = true }})
		if err != nil {
			t.Fatal(err)
		}
		return res.Positions, located
	}
	n, located := replayed(calibration.AnchorDevs(as))
	r.mu.Lock()
	live := r.positions
	r.mu.Unlock()
	if n != live || located[printer] || located[devs[0].dev(end)] || !located[tv] {
		t.Errorf("replay with the kept anchors: %d positions (live %d), printer located %v, s1 %v, tv %v",
			n, live, located[printer], located[devs[0].dev(end)], located[tv])
	}
	if n, located := replayed(nil); !located[printer] || n <= live {
		t.Errorf("replay without anchors: %d positions, printer located %v", n, located[printer])
	}
	// Applying the self-calibration rebuilds the live pipeline (so it
	// comes after the comparison of live and replayed positions).
	selfApplyOverHTTP(t, srv, site)
	t.Run("page", func(t *testing.T) { selfApplyInBrowser(t, srv) })

	// After a restart (a new embedded broker: no retained status), the
	// site recovers from the journal, still without the anchors.
	stop()
	srv, stop = startServer(t, cfg)
	if again := checkLocated(srv.runner("tx")); again != skipped {
		t.Errorf("recovery skipped %d anchor frames, the live server %d", again, skipped)
	}
}

// TestAnchorsForgetOldPseudonyms: a sensor's announced pseudonyms stay
// anchors for the keep time after they were last announced, newest first.
func TestAnchorsForgetOldPseudonyms(t *testing.T) {
	site, err := wire.ParseSite([]byte(anchorSiteJSON), false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.json")
	a, err := newAnchors(path, []calibration.Anchor{{Dev: 0xf1, ID: "printer"}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	next := wire.Dev(0xb2)
	if changed, err := a.announce(site, "s2", &wire.Tx{Dev: 0xb1, Next: &next}, 0); !changed || err != nil {
		t.Fatalf("first announcement: changed %v, %v", changed, err)
	}
	if changed, _ := a.announce(site, "s2", &wire.Tx{Dev: 0xb1, Next: &next}, 500); changed {
		t.Fatal("the same announcement changed the anchors")
	}
	next2 := wire.Dev(0xb3)
	a.announce(site, "s2", &wire.Tx{Dev: 0xb2, Next: &next2}, 1600) // the epoch moved on
	if !a.has(0xf1) || a.has(0xb1) || !a.has(0xb2) || !a.has(0xb3) {
		t.Fatalf("after 1.6 s: f1 %v b1 %v b2 %v b3 %v", a.has(0xf1), a.has(0xb1), a.has(0xb2), a.has(0xb3))
	}
	as := a.list(site)
	if len(as) != 2 || as[1].ID != "s2" || as[1].X != 20 || as[1].Z != 2.5 || len(as[1].Devs) != 1 {
		t.Fatalf("anchors %+v", as)
	}
	// A restart reads them back.
	b, err := newAnchors(path, nil, 1000)
	if err != nil || !b.has(0xb2) || !b.has(0xb3) || b.has(0xb1) {
		t.Fatalf("read back: %v", err)
	}
}
