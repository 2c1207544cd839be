//go:build !sensoronly

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"time"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/sensor"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

func init() {
	register(command{name: "sim", summary: "simulate a shop: observation batches plus ground truth", run: runSim})
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", stderr)
	layout := fs.String("layout", "small", "shop layout (see --list)")
	list := fs.Bool("list", false, "list the layouts and exit")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same output")
	fromS := fs.String("from", "", "start, RFC 3339 (default: today 09:00 UTC)")
	hours := fs.Float64("hours", 2, "how many hours to simulate")
	out := fs.String("out", "obs.jsonl", "observation batches, one per line, in arrival order (- for stdout)")
	truthP := fs.String("truth", "", "where devices were at each burst (JSON lines)")
	peopleP := fs.String("people", "", "the simulated people: class, visits (JSON lines)")
	siteOut := fs.String("site-out", "", "write the shop's site file here")
	passers := fs.Float64("passers", 0, "passers-by per hour (default 240)")
	shoppers := fs.Float64("shoppers", 0, "shoppers per hour (default 30)")
	staff := fs.Int("staff", 0, "staff present all day (default 2; -1 for none)")
	speed := fs.Float64("speed", 0, "pace output at this multiple of real time (0: as fast as possible)")
	mqttURL := fs.String("mqtt", "", "publish live to this broker (tcp://host:1883), each sensor as `passant sensor` would; with --speed (default 1) it runs until stopped")
	prefix := fs.String("prefix", "passant", "MQTT topic prefix, with --mqtt")
	walkP := fs.String("walk", "", "add an installer's calibration walk (one phone following the calibration page's route) and write its marks here (walk.jsonl, the contract's format)")
	walkMin := fs.Float64("walk-minutes", 10, "with --walk: how long the walk lasts, from --from")
	worldP := fs.String("world-out", "", "write the simulated world's true radio here (JSON: per-sensor rssi_1m and exponent, the walker's transmit offset)")
	expSD := fs.Float64("exponent-sd", 0, "spread of the true path-loss exponent per sensor (σ; default 0: one exponent for all)")
	logLevel := fs.String("log", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := setupLog(stderr, *logLevel, false)
	if *list {
		for _, n := range sim.Layouts() {
			l, _ := sim.LayoutNamed(n)
			fmt.Fprintf(stdout, "%-8s %s\n", n, l.Summary)
		}
		return nil
	}
	from := time.Now().UTC().Truncate(24 * time.Hour).Add(9 * time.Hour)
	if *fromS != "" {
		t, err := time.Parse(time.RFC3339, *fromS)
		if err != nil {
			return fmt.Errorf("sim: --from: %w", err)
		}
		from = t
	}
	if !(*hours > 0) {
		return errors.New("sim: --hours must be positive")
	}
	to := from.Add(time.Duration(*hours * float64(time.Hour)))
	shop, err := sim.NewShop(*layout, sim.Config{Seed: *seed, PassersPerHour: *passers,
		ShoppersPerHour: *shoppers, Staff: *staff, ExponentSD: *expSD})
	if err != nil {
		return err
	}
	var walker *sim.WalkerTruth
	if *walkP != "" {
		if !(*walkMin > 0) {
			return errors.New("sim: --walk-minutes must be positive")
		}
		walker, err = shop.AddWalker(sim.Walker{Route: calibration.Waypoints(shop.Site()), Start: from,
			Duration: time.Duration(*walkMin * float64(time.Minute))})
		if err != nil {
			return err
		}
		if err := writeWalk(*walkP, walker.Marks); err != nil {
			return err
		}
		if walker.End.After(to) {
			log.Warn("sim: the walk outlasts the run", "walk_end", walker.End, "run_end", to)
		}
	}
	if *worldP != "" {
		if err := writeWorld(*worldP, shop, walker); err != nil {
			return err
		}
	}
	if *siteOut != "" {
		b, err := wire.MarshalSite(shop.Site())
		if err != nil {
			return fmt.Errorf("sim: site: %w", err)
		}
		if err := os.WriteFile(*siteOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	if *mqttURL != "" && *speed <= 0 {
		*speed = 1
	}
	var w io.Writer = stdout
	switch {
	case *mqttURL != "" && !outSet:
		w = io.Discard
	case *out != "-":
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var closers []*os.File
	open := func(p string) (io.Writer, error) {
		if p == "" {
			return nil, nil
		}
		f, err := os.Create(p)
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		closers = append(closers, f)
		return f, nil
	}
	tw, err := open(*truthP)
	if err != nil {
		return err
	}
	pw, err := open(*peopleP)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	truth := sim.NewJSONTruth(tw, pw)
	var buf []byte
	batches, obs := 0, 0
	pubs := map[string]*sensor.Publisher{}
	if *mqttURL != "" {
		site := shop.Site()
		for _, se := range site.Sensors {
			p, err := sensor.NewPublisher(sensor.PublisherConfig{Broker: *mqttURL, Prefix: *prefix, Site: site.Site,
				Sensor: se.ID, ClientID: "passant-sim-" + site.Site + "-" + se.ID, Version: "sim", Log: log})
			if err != nil {
				return fmt.Errorf("sim: sensor %s: %w", se.ID, err)
			}
			pubs[se.ID] = p
		}
		// On an error the publishers are closed here; on success below,
		// where what they could not send is an error of the run.
		defer closePublishers(pubs, log)
		log.Info("sim publishing live", "broker", *mqttURL, "site", site.Site, "speed", *speed)
	}
	emit := func(sensorID string, b *wire.Batch) error {
		if p := pubs[sensorID]; p != nil {
			if err := p.Publish(b); err != nil {
				return err
			}
		}
		buf = wire.AppendBatch(buf[:0], b)
		buf = append(buf, '\n')
		batches++
		obs += len(b.Obs)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		if *speed > 0 {
			return bw.Flush()
		}
		return nil
	}
	start := time.Now()
	if *speed > 0 {
		err = shop.Live(ctx, from, *speed, emit, truth)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
	} else {
		err = shop.Run(ctx, from, to, emit, truth)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := truth.Flush(); err != nil {
		return fmt.Errorf("sim: truth: %w", err)
	}
	if err := closePublishers(pubs, log); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	log.Info("sim done", "layout", *layout, "batches", batches, "observations", obs,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// simDrain is how long the simulated sensors may take to send what they
// hold when the run ends (tests shorten it).
var simDrain = 30 * time.Second

// closePublishers lets each simulated sensor send what it still holds
// (up to 30 s in all) and closes it; it logs and returns what was not
// sent, which used to be dropped without a word. Closing twice is a no-op.
func closePublishers(pubs map[string]*sensor.Publisher, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), simDrain)
	defer cancel()
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(pubs)) {
		if err := pubs[id].Close(ctx); err != nil {
			log.Error("sim: a sensor's publisher did not send everything", "sensor", id, "err", err)
			errs = append(errs, fmt.Errorf("sensor %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// writeWalk writes walk marks, one JSON line each.
func writeWalk(path string, marks []wire.WalkMark) error {
	var b []byte
	for _, m := range marks {
		line, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("sim: walk: %w", err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("sim: walk: %w", err)
	}
	return nil
}

// writeWorld writes the world's true radio: what a calibration should find.
// With a walker, rssi_1m_walker is the sensors' rssi_1m relative to the
// walking phone's transmit power, as `passant calibrate` fits it.
func writeWorld(path string, shop *sim.Shop, w *sim.WalkerTruth) error {
	type sensorOut struct {
		sim.SensorTruth
		Walker *float64 `json:"rssi_1m_walker,omitempty"`
	}
	out := struct {
		Site    string           `json:"site"`
		Sensors []sensorOut      `json:"sensors"`
		Walker  *sim.WalkerTruth `json:"walker,omitempty"`
	}{Site: shop.Site().Site, Walker: w}
	r2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	for _, s := range shop.Radio() {
		s.RSSI1m, s.GainDB = r2(s.RSSI1m), r2(s.GainDB)
		s.Exponent, s.Offset5GHz = r2(s.Exponent), r2(s.Offset5GHz)
		o := sensorOut{SensorTruth: s}
		if w != nil {
			v := r2(s.RSSI1m + w.TxDB)
			o.Walker = &v
		}
		out.Sensors = append(out.Sensors, o)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: world: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("sim: world: %w", err)
	}
	return nil
}
