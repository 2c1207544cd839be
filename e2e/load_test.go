package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/passant/passant/locate"
	"github.com/passant/passant/server"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/store/storetest"
	"github.com/passant/passant/wire"
)

// loadGen makes a steady stream of locatable observations for several
// small shops: phones spread over each shop's bounds probe in bursts of
// three frames that each of its four sensors hears, with the path-loss
// model's RSSI and noise, stamped with the wall clock.
type loadGen struct {
	prefix string
	sites  []*wire.Site
	models []*locate.Model
	devs   [][]loadDev
	ids    [][]int64
	boot   int64
	rng    *rand.Rand
	pend   [][][]wire.Observation // site, sensor
	ticks  int
}

type loadDev struct {
	dev  wire.Dev
	x, y float64
	seq  int
}

// startLoadServer starts a server for gen's sites on broker under prefix,
// with PostgreSQL when PASSANT_TEST_POSTGRES is set (else the embedded
// store). PASSANT_COMPARE_QUEUE sets the site runners' queue (batches): a
// small one shows ingest not waiting for them (the backlog is read from the
// journal); PASSANT_COMPARE_QUEUE_BYTES their bound on payloads
// (server.Config.QueueBytes).
func startLoadServer(t *testing.T, broker, prefix string, gen *loadGen) (*Running, server.Config) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for _, s := range gen.sites {
		files = append(files, (&Recording{Site: s}).WriteSite(t, dir))
	}
	cfg := server.Config{MQTT: broker, Prefix: prefix, ClientID: prefix, SiteFiles: files,
		QueueBatches: envInt("PASSANT_COMPARE_QUEUE", 0), QueueBytes: int64(envInt("PASSANT_COMPARE_QUEUE_BYTES", 0))}
	if os.Getenv("PASSANT_TEST_POSTGRES") != "" {
		cfg.DB, cfg.Migrate = storetest.PostgresURL(t), true
	}
	t.Cleanup(func() { dropSession(broker, prefix) }) // after the server stopped
	return StartServer(t, cfg), cfg
}

func newLoadGen(t testing.TB, prefix string, sites, devsPerSite int) *loadGen {
	g := &loadGen{prefix: prefix, boot: time.Now().UnixMilli(), rng: rand.New(rand.NewPCG(7, 8))}
	for i := range sites {
		l, err := sim.LayoutNamed("small")
		if err != nil {
			t.Fatal(err)
		}
		s := l.Site
		s.Site = fmt.Sprintf("load-%02d", i)
		m, err := locate.NewModel(&s)
		if err != nil {
			t.Fatal(err)
		}
		devs := make([]loadDev, devsPerSite)
		for k := range devs {
			devs[k] = loadDev{dev: wire.Dev(g.rng.Uint64()), x: s.Bounds[0][0] + g.rng.Float64()*(s.Bounds[1][0]-s.Bounds[0][0]),
				y: s.Bounds[0][1] + g.rng.Float64()*(s.Bounds[1][1]-s.Bounds[0][1]), seq: g.rng.IntN(4096)}
		}
		g.sites, g.models, g.devs = append(g.sites, &s), append(g.models, m), append(g.devs, devs)
		g.ids = append(g.ids, make([]int64, len(s.Sensors)))
		g.pend = append(g.pend, make([][]wire.Observation, len(s.Sensors)))
	}
	return g
}

// tick makes about n observations at time now and returns the batches of
// the sensors whose turn it is: each sensor publishes every tenth tick (a
// batch a second at 100 ms ticks, as sensors do), staggered.
func (g *loadGen) tick(now int64, n int) (topics []string, payloads [][]byte, obs int) {
	g.ticks++
	bursts := n / (12 * len(g.sites))
	if n > 0 {
		bursts = max(1, bursts)
	}
	for si, site := range g.sites {
		for range bursts {
			d := &g.devs[si][g.rng.IntN(len(g.devs[si]))]
			d.x += g.rng.NormFloat64() * 0.5
			d.y += g.rng.NormFloat64() * 0.5
			for f := range 3 {
				d.seq = (d.seq + 1) % 4096
				for s := range site.Sensors {
					rssi := math.Round(g.models[si].Expected(s, d.x, d.y) + 3*g.rng.NormFloat64())
					if rssi < -95 || rssi > 0 {
						continue
					}
					g.pend[si][s] = append(g.pend[si][s], wire.Observation{T: now + int64(f*20+s), Dev: d.dev, RSSI: rssi,
						Ch: 6, Kind: "probe", Rand: true, Seq: d.seq})
				}
			}
		}
		for s, sen := range site.Sensors {
			if (si*len(site.Sensors)+s)%10 != g.ticks%10 {
				continue
			}
			g.ids[si][s]++
			b := wire.Batch{V: wire.Version, Sensor: sen.ID, Boot: g.boot, ID: g.ids[si][s], Sent: now + 100, Obs: g.pend[si][s]}
			topics = append(topics, wire.Topic(g.prefix, site.Site, sen.ID, "obs"))
			payloads = append(payloads, wire.AppendBatch(nil, &b))
			obs += len(b.Obs)
			g.pend[si][s] = g.pend[si][s][:0]
		}
	}
	return topics, payloads, obs
}

// flush returns every sensor's pending observations as batches.
func (g *loadGen) flush(now int64) (topics []string, payloads [][]byte, obs int) {
	for k := 0; k < 10; k++ {
		tp, pl, n := g.tick(now, 0)
		topics, payloads, obs = append(topics, tp...), append(payloads, pl...), obs+n
	}
	return topics, payloads, obs
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// TestLoad publishes a steady stream through the machine's Mosquitto
// (PASSANT_TEST_MQTT) to a server storing in PostgreSQL when
// PASSANT_TEST_POSTGRES is set: 5,000 observations/s for 20 s here;
// scripts/load.sh runs 50,000/s for 10 minutes (PASSANT_LOAD_RATE,
// PASSANT_LOAD_SECONDS, PASSANT_LOAD_SITES). The server keeps up: every
// observation is taken and stored, the lag stays bounded, the heap flat.
func TestLoad(t *testing.T) {
	broker := os.Getenv("PASSANT_TEST_MQTT")
	if broker == "" {
		t.Skip("set PASSANT_TEST_MQTT to run (e.g. tcp://127.0.0.1:1883)")
	}
	if testing.Short() {
		t.Skip("load test skipped in -short")
	}
	rate, seconds, nsites := envInt("PASSANT_LOAD_RATE", 5000), envInt("PASSANT_LOAD_SECONDS", 20), envInt("PASSANT_LOAD_SITES", 10)
	prefix := fmt.Sprintf("passant-load-%d", time.Now().UnixNano())
	gen := newLoadGen(t, prefix, nsites, 3000)
	srv, _ := startLoadServer(t, broker, prefix, gen)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(prefix + "-pub").SetMaxResumePubInFlight(512))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)

	const tick = 100 * time.Millisecond
	perTick := rate / 10
	var sent int64
	var lagMax float64
	var heap []uint64
	start := time.Now()
	next := start
	var inflight []paho.Token
	lastReport := start
	for time.Since(start) < time.Duration(seconds)*time.Second {
		topics, payloads, n := gen.tick(time.Now().UnixMilli(), perTick)
		for i := range topics {
			inflight = append(inflight, pub.Publish(topics[i], 1, false, payloads[i]))
		}
		sent += int64(n)
		for len(inflight) > 256 {
			if !inflight[0].WaitTimeout(30*time.Second) || inflight[0].Error() != nil {
				t.Fatalf("publish: %v", inflight[0].Error())
			}
			inflight = inflight[1:]
		}
		lagMax = max(lagMax, metricMax(srv, "passant_lag_seconds"))
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = append(heap, ms.HeapInuse)
			t.Logf("%3.0f s: sent %d obs, taken %.0f, stored %.0f, pending %.0f, lag max %.1f s, heap %d MiB",
				time.Since(start).Seconds(), sent, srv.Metric("passant_observations_total"),
				srv.Metric("passant_store_observations_written_total"), srv.Metric("passant_store_pending_observations"),
				lagMax, ms.HeapInuse>>20)
		}
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	topics, payloads, n := gen.flush(time.Now().UnixMilli())
	for i := range topics {
		inflight = append(inflight, pub.Publish(topics[i], 1, false, payloads[i]))
	}
	sent += int64(n)
	for _, tok := range inflight {
		tok.WaitTimeout(30 * time.Second)
	}
	elapsed := time.Since(start)
	deadline := time.Now().Add(2 * time.Minute)
	for srv.Metric("passant_observations_total") < float64(sent) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if taken := srv.Metric("passant_observations_total"); taken < float64(sent) {
		// The sensors' batch ids show the gap: counted as lost, not silent.
		t.Fatalf("%.0f of %d observations taken; %g batches counted lost (a broker's queue limit drops QoS 1 messages for a subscriber that falls behind: see docs/reliability.md)",
			taken, sent, srv.Metric("passant_batches_lost_total"))
	}
	caught := time.Since(start)
	srv.WaitMetric(t, "passant_store_observations_written_total", float64(sent), 5*time.Minute)
	if d := srv.Metric("passant_store_observations_dropped_total"); d != 0 {
		t.Errorf("%g observations dropped by the write buffer", d)
	}
	if r := srv.Metric("passant_batches_rejected_total"); r != 0 {
		t.Errorf("%g batches rejected", r)
	}
	fixes := srv.Metric("passant_fixes_total")
	if fixes == 0 {
		t.Error("no positions computed")
	}
	t.Logf("LOAD: %d sites, %d obs in %.0f s = %.0f obs/s offered; all taken after %.1f s; stored; lag max %.1f s; %.0f fixes; heap samples MiB %v",
		nsites, sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), caught.Seconds(), lagMax, fixes, mib(heap))
	if len(heap) >= 3 && heap[len(heap)-1] > 2*heap[1]+64<<20 {
		t.Errorf("heap grew from %d to %d MiB", heap[1]>>20, heap[len(heap)-1]>>20)
	}
}

func mib(v []uint64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = x >> 20
	}
	return out
}

func metricMax(r *Running, name string) float64 {
	v := math.Inf(-1)
	for _, m := range r.Metrics() {
		if m.Name == name {
			v = max(v, m.Value)
		}
	}
	if math.IsInf(v, -1) {
		return 0
	}
	return v
}

// dropSession removes a persistent session from a shared broker.
func dropSession(broker, clientID string) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}
