// Package demo is `passant demo`: the whole system in one process on
// embedded defaults — the embedded broker, the embedded store, a simulated
// shop whose sensors publish over MQTT like real ones, and the dashboard.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/server"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

// Config configures the demo.
type Config struct {
	HTTP       string        // dashboard address (default :8080)
	BrokerAddr string        // embedded broker; a free port when taken (default :1883)
	Layout     string        // simulated shop layout (default "small")
	Seed       uint64        // simulation seed
	Warmup     time.Duration // simulated time before now, played at once so the shop is busy at start (default 10 min)
	DataDir    string        // default: a fresh temporary directory
	Busy       float64       // footfall multiplier (default 3: a busy afternoon)
	// History is how many days before today the shop's sensors send first,
	// before the live shop starts (history.go); then the live shop plays
	// today's opening hours before its warm-up (today.go); 0: none.
	History int
	// HistoryHours, when positive, cuts each day of the history to its
	// last that many hours before closing, and today's part to its last
	// that many hours before the warm-up (for tests); 0: the whole
	// opening hours.
	HistoryHours float64
	// AlwaysOpen plays the live shop at its full rates at any hour, as a
	// busy afternoon, instead of following the site's opening hours
	// (hours.go): for a demo shown at night, and tests that need shoppers
	// whenever they run.
	AlwaysOpen bool
	Log        *slog.Logger
	// Ready, when set, is called with the dashboard URL once it serves.
	Ready func(url string)
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTP == "" {
		cfg.HTTP = ":8080"
	}
	if cfg.BrokerAddr == "" {
		cfg.BrokerAddr = ":1883"
	}
	if cfg.Layout == "" {
		cfg.Layout = defaultLayout()
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 10 * time.Minute
	}
	if cfg.Busy <= 0 {
		cfg.Busy = 3
	}
	withRegulars := cfg.History > 0
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "passant-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if !free(cfg.BrokerAddr) {
		cfg.Log.Info("broker port taken; the demo's broker takes a free one", "wanted", cfg.BrokerAddr)
		cfg.BrokerAddr = ":0"
	}
	layout, err := sim.LayoutNamed(cfg.Layout)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	site := &layout.Site
	// A data directory that holds a journal of the site has its history
	// (and perhaps more) already: the same batches again would only be
	// late duplicates.
	again := hasJournal(cfg.DataDir, site.Site)
	if cfg.History > 0 && again {
		cfg.Log.Info("history: the data directory holds data already; no history sent", "data", cfg.DataDir)
		cfg.History = 0
	}
	sitePath := filepath.Join(cfg.DataDir, site.Site+".json")
	data, err := wire.MarshalSite(site)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(sitePath, data, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	ready := make(chan [2]string, 1)
	srv, err := server.New(server.Config{
		HTTP: cfg.HTTP, BrokerAddr: cfg.BrokerAddr, SiteFiles: []string{sitePath}, DataDir: cfg.DataDir,
		Log: cfg.Log, Version: "demo",
		Ready: func(httpAddr, brokerURL string) { ready <- [2]string{httpAddr, brokerURL} },
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The server has a context of its own: at the end the simulated
	// sensors leave first (their offline status and a clean disconnect),
	// then the server and its embedded broker stop.
	srvCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServer()
	served := make(chan error, 1)
	go func() { served <- srv.Run(srvCtx) }()
	var addrs [2]string
	select {
	case addrs = <-ready:
	case err := <-served:
		return err
	case <-ctx.Done():
		stopServer()
		return <-served
	}
	url := "http://" + dashboardHost(addrs[0])
	cfg.Log.Info("demo running: open the dashboard", "url", url, "site", site.Site, "layout", cfg.Layout, "broker", addrs[1])
	if cfg.Ready != nil {
		cfg.Ready(url)
	}

	// Each simulated sensor publishes through its own MQTT connection, with
	// its status and last will, exactly as `passant sensor` does.
	pubs := map[string]*sensor.Publisher{}
	for _, se := range site.Sensors {
		p, err := sensor.NewPublisher(sensor.PublisherConfig{Broker: addrs[1], Site: site.Site, Sensor: se.ID,
			ClientID: "passant-demo-" + se.ID, Version: "sim", Log: cfg.Log})
		if err != nil {
			return fmt.Errorf("demo: sensor %s: %w", se.ID, err)
		}
		pubs[se.ID] = p
	}
	var closeOnce sync.Once
	closeSensors := func() {
		closeOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			for _, p := range pubs {
				p.Close(ctx)
			}
		})
	}
	defer closeSensors()
	shutdown := func() error {
		closeSensors()
		stopServer()
		return <-served
	}
	// Let the sensors' connections settle before the first batch, so that
	// they start in step.
	select {
	case <-ctx.Done():
		return shutdown()
	case <-time.After(1500 * time.Millisecond):
	}
	if cfg.History > 0 {
		days := historyDays(site, time.Now(), cfg.History, cfg.HistoryHours)
		if err := playHistory(ctx, cfg, days, throughSensors(ctx, pubs)); err != nil {
			if errors.Is(err, context.Canceled) {
				return shutdown()
			}
			shutdown()
			return err
		}
	}
	now := time.Now()
	from := warmupFrom(now, cfg.Warmup, srv.EventTime(site.Site))
	// With the history, the live shop starts at today's opening (today.go).
	start := from
	today, withToday := todaySpan(site, now, from, cfg.HistoryHours)
	withToday = withToday && cfg.History > 0
	if withToday {
		start = today.from
		cfg.Log.Info(fmt.Sprintf("history: today (%s, %s–%s), then the warm-up", today.date,
			today.from.Format("15:04"), today.to.Format("15:04")))
	} else {
		today = shopDay{}
	}
	shop, err := liveShop(cfg, site, withRegulars, again, today, from)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var wallStart time.Time
	var sp *spool
	publish := func(sensorID string, b *wire.Batch) error {
		if wallStart.IsZero() {
			wallStart = time.Now()
			if sp != nil {
				cfg.Log.Info("history: today sent; the live shop plays its warm-up", "from", from.Format(time.RFC3339Nano),
					"batches", sp.batches, "observations", sp.obs, "took", wallStart.Sub(now).Round(time.Millisecond))
			}
		}
		if d := time.Until(publishAt(wallStart, from, time.UnixMilli(b.Sent))); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		if err := pubs[sensorID].Publish(b); err != nil {
			cfg.Log.Warn("demo sensor publish failed", "sensor", sensorID, "err", err)
		}
		return nil
	}
	emit := publish
	if withToday {
		sp = newSpool(from, throughSensors(ctx, pubs), publish)
		emit = sp.emit
	}
	simDone := make(chan error, 1)
	go func() {
		simDone <- shop.Run(ctx, start, from.Add(365*24*time.Hour), emit, nil)
	}()
	select {
	case err := <-served:
		cancel()
		<-simDone
		return err
	case err := <-simDone:
		if err != nil && !errors.Is(err, context.Canceled) {
			shutdown()
			return fmt.Errorf("demo: simulation: %w", err)
		}
		return shutdown()
	}
}

// publishAt is when a live batch sent at sent (event time) goes out, for a
// warm-up from from that began publishing at wallStart: the later of
//
//	wallStart + (sent − from) / warmupSpeed   (the warm-up's pace)
//	sent                                      (real time)
//
// so the warm-up plays at warmupSpeed times real time until it has caught
// up with the clock, at sent = from + (wallStart − from)·k/(k−1), and the
// shop then runs in real time, never ahead of the clock.
func publishAt(wallStart, from, sent time.Time) time.Time {
	warm := wallStart.Add(sent.Sub(from) / warmupSpeed)
	if warm.After(sent) {
		return warm
	}
	return sent
}

// warmupFrom is where the live shop's warm-up begins: warmup before now,
// but not before the event time the server has processed already (a demo
// started again on its data, whose last run went on up to its stop), plus
// restartMargin, and never after now. Observations before that event time
// would come late: not located live, and counted as the sensors' rejected.
func warmupFrom(now time.Time, warmup time.Duration, processed int64) time.Time {
	from := now.Add(-warmup)
	if processed > 0 {
		if last := time.UnixMilli(processed).Add(restartMargin); last.After(from) {
			from = last
		}
	}
	if from.After(now) {
		from = now
	}
	return from
}

// restartMargin keeps the warm-up after the last run's event time by
// more than the simulated sensors' clock offsets (a fraction of a second).
const restartMargin = 2 * time.Second

// warmupSpeed is how much faster than real time the warm-up plays: a
// sensor publishes one batch at a time and the server acknowledges a batch
// once it is journaled, so a few dozen batches a second per sensor is what
// keeps the sensors in step.
const warmupSpeed = 10

// liveShop returns the live shop: at the full rates while the site is open
// (or always, cfg.AlwaysOpen) and the street's at night (hours.go), with the
// history's regulars when withRegulars, and when today is set (today.go)
// following the day's profile in today's part before seam.
//
// A demo started again on its data (again) seeds the shop with the demo's
// seed and the start: the seed's alone would send the last run's phones
// again, their addresses and sequence numbers shifted by the time between
// the starts, which the server takes for sensor clocks that far off (frames
// several sensors heard are matched up to an hour apart). A first run's
// shop is the seed's alone, so --seed gives the same shop.
func liveShop(cfg Config, site *wire.Site, withRegulars, again bool, today shopDay, seam time.Time) (*sim.Shop, error) {
	seed := cfg.Seed
	if again && !seam.IsZero() {
		seed ^= uint64(seam.UnixMilli()) * 0x9e3779b97f4a7c15
	}
	live := busier(sim.Config{Seed: seed}, cfg.Busy)
	if withRegulars {
		// The regulars of the history come today too.
		live.Regulars = regulars(cfg.Seed)
	}
	rates := func(int64) float64 { return 1 }
	if !cfg.AlwaysOpen {
		rates = liveProfile(site)
		live.Open = siteOpen(site)
		live.Profile = rates
	} else {
		// Open at every hour, so the staff work round the clock
		// (sim.Config.Open; without it they work the run's first ten
		// hours only).
		live.Open = func(int64) bool { return true }
	}
	if !today.from.IsZero() {
		live.Profile = todayProfile(site, today, seam, rates)
	}
	return sim.NewShop(cfg.Layout, live)
}

func busier(c sim.Config, k float64) sim.Config {
	c.PassersPerHour = 240 * k
	c.ShoppersPerHour = 30 * k
	return c
}

func defaultLayout() string {
	ls := sim.Layouts()
	for _, l := range ls {
		if l == "small" {
			return l
		}
	}
	return ls[0]
}

// hasJournal reports whether the data directory dir holds a journal file
// of site (the server journals into dir/journal).
func hasJournal(dir, site string) bool {
	files, err := ingest.JournalFiles(filepath.Join(dir, "journal"), site, "", "")
	return err == nil && len(files) > 0
}

func free(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func dashboardHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "::" || host == "0.0.0.0" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}
