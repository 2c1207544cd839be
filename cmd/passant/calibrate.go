//go:build !sensoronly

package main

import (
	"bufio"
	"image"
	_ "image/jpeg" // floor plans
	_ "image/png"
	"log/slog"
	"sort"
	"strings"
	"time"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/heatmap"
	"github.com/passant/passant/wire"
)

func init() {
	register(command{name: "calibrate", summary: "fit the sensors' radio model to a calibration walk", run: runCalibrate})
}

func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", stderr)
	sitePath := fs.String("site", "", "site file (JSON or YAML)")
	in := fs.String("in", "", "observations recorded during the walk (obs.jsonl: batches or journal lines)")
	walkPath := fs.String("walk", "", "walk marks (walk.jsonl)")
	out := fs.String("out", "", "where to write the calibrated site (JSON)")
	positions := fs.String("positions", "", "positions.jsonl mapping devs to tracks, when walk marks name tracks")
	folds := fs.Int("folds", calibration.DefaultFolds, "segments for leave-one-segment-out validation")
	reportPath := fs.String("report", "", "also write the fit report as JSON here")
	anchorsPath := fs.String("anchors", "", "self-calibration: anchors file (fixed transmitters at known positions); without --walk, fits from their links in --in")
	every := fs.Duration("every", time.Hour, "self-calibration: refit every this much event time")
	window := fs.Duration("window", 24*time.Hour, "self-calibration: the links each fit uses")
	accPNG := fs.String("accuracy", "", "write the predicted accuracy map (PNG) of the resulting site here")
	accJSON := fs.String("accuracy-json", "", "write the predicted accuracy map as JSON here")
	planPath := fs.String("plan", "", "floor-plan image (PNG or JPEG) to draw the accuracy map over")
	logLevel := fs.String("log-level", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := setupLog(stderr, *logLevel, false)
	if *sitePath == "" {
		fs.Usage()
		return errors.New("calibrate: --site is required")
	}
	site, err := wire.LoadSite(*sitePath)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if len(site.Ignored) > 0 {
		log.Warn("calibrate: site file: ignored fields it does not know (a typo?)", "fields", site.Ignored)
	}
	switch {
	case *walkPath != "":
		if *in == "" || *out == "" {
			fs.Usage()
			return errors.New("calibrate: --site, --in, --walk and --out are required")
		}
		if site, err = calibrateWalk(ctx, site, *in, *walkPath, *positions, *out, *reportPath, *folds, stdout, stderr, log); err != nil {
			return err
		}
	case *anchorsPath != "":
		if *in == "" {
			return errors.New("calibrate: --anchors needs --in with the observations")
		}
		if site, err = calibrateSelf(ctx, site, *in, *anchorsPath, *every, *window, *out, stdout, log); err != nil {
			return err
		}
	case *accPNG == "" && *accJSON == "":
		fs.Usage()
		return errors.New("calibrate: give --walk (a calibration walk), --anchors (self-calibration) or --accuracy (a predicted accuracy map)")
	}
	if *accPNG != "" || *accJSON != "" {
		return calibrateAccuracy(site, *accPNG, *accJSON, *planPath, stdout)
	}
	return nil
}

func calibrateWalk(ctx context.Context, site *wire.Site, in, walkPath, positions, out, reportPath string, folds int,
	stdout, stderr io.Writer, log *slog.Logger) (*wire.Site, error) {
	wf, err := os.Open(walkPath)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	marks, err := calibration.ReadWalk(wf)
	wf.Close()
	if err != nil {
		return nil, fmt.Errorf("calibrate: %s: %w", walkPath, err)
	}
	walk, err := calibration.NewWalk(marks, folds)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	var trackOf func(wire.Dev) string
	if walk.UsesTracks() {
		if positions == "" {
			return nil, errors.New("calibrate: the walk names tracks: give --positions positions.jsonl to map devs to tracks")
		}
		m, err := calibrateTracks(positions)
		if err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		trackOf = func(d wire.Dev) string { return m[d] }
	}
	of, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	data, rejected, err := calibration.Collect(site, walk, bufio.NewReaderSize(of, 1<<20), trackOf)
	of.Close()
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if rejected > 0 {
		log.Warn("calibrate: rejected lines of the observations", "file", in, "lines", rejected)
	}
	log.Info("calibrate: walk collected", "frames", data.Frames, "bursts", len(data.Bursts), "off_walk", data.Skipped, "unknown_sensor", data.Unknown)
	rep, err := calibration.Calibrate(data, folds, calibration.Options{Progress: stderr})
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.WriteText(stdout)
	js, err := json.MarshalIndent(rep.Calibrated, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if err := calibrateWrite(out, append(js, '\n')); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if reportPath != "" {
		rj, _ := json.MarshalIndent(rep, "", "  ")
		if err := calibrateWrite(reportPath, append(rj, '\n')); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", out)
	return rep.Calibrated, nil
}

// calibrateTracks reads the dev→track mapping from positions.jsonl.
func calibrateTracks(path string) (map[wire.Dev]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[wire.Dev]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	no := 0
	for sc.Scan() {
		no++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		p, err := wire.ParsePosition(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, no, err)
		}
		if p.Track != "" {
			m[p.Dev] = p.Track
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// calibrateWrite writes data to path through a temporary file and rename.
func calibrateWrite(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// calibrateSelf fits the sensors from their links to anchors, refitting
// every so much event time, and prints the drift.
func calibrateSelf(ctx context.Context, site *wire.Site, in, anchorsPath string, every, window time.Duration, out string,
	stdout io.Writer, log *slog.Logger) (*wire.Site, error) {
	anchors, err := calibration.LoadAnchors(anchorsPath)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer f.Close()
	sf := calibration.NewSelfFitter(site, anchors, window.Milliseconds())
	step := every.Milliseconds()
	if step <= 0 {
		step = time.Hour.Milliseconds()
	}
	var next, last int64
	lines := wire.NewLines(bufio.NewReaderSize(f, 1<<20))
	var l wire.Line
	rejected := 0
	for lines.Next(&l) {
		if l.Err != nil {
			rejected++
			continue
		}
		for _, o := range l.Batch.Obs {
			if next == 0 {
				next = o.T - o.T%step + step
			}
			for o.T >= next {
				sf.Refit(next)
				next += step
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			last = max(last, o.T)
		}
		sf.Add(&l.Batch)
	}
	if err := lines.Err(); err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	if rejected > 0 {
		log.Warn("calibrate: rejected lines of the observations", "file", in, "lines", rejected)
	}
	if last == 0 {
		return nil, errors.New("calibrate: no observations")
	}
	final := sf.Refit(last)
	hist := sf.History()
	fmt.Fprintf(stdout, "self-calibration from %d anchors: %d fits, every %s\n\n", len(anchors), len(hist), every)
	fmt.Fprintf(stdout, "%-20s", "time (UTC)")
	for _, se := range site.Sensors {
		fmt.Fprintf(stdout, " %12s", se.ID)
	}
	fmt.Fprintln(stdout)
	for _, h := range hist {
		fmt.Fprintf(stdout, "%-20s", time.UnixMilli(h.T).UTC().Format("2006-01-02 15:04"))
		for _, x := range h.Sensors {
			if x.N == 0 {
				fmt.Fprintf(stdout, " %12s", "-")
			} else {
				fmt.Fprintf(stdout, " %6.1f/%-5.2f", x.RSSI1m, x.Exponent)
			}
		}
		fmt.Fprintln(stdout)
	}
	drift := sf.Drift()
	ids := make([]string, 0, len(drift))
	for id := range drift {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s %+.1f dB", id, drift[id]))
	}
	fmt.Fprintf(stdout, "\ndrift of rssi_1m since the first fit: %s\n", strings.Join(parts, ", "))
	res := *site
	res.Sensors = append([]wire.Sensor(nil), site.Sensors...)
	for i, x := range final.Sensors {
		if x.N == 0 {
			continue
		}
		a, n := x.RSSI1m, x.Exponent
		res.Sensors[i].RSSI1m, res.Sensors[i].Exponent = &a, &n
	}
	if out != "" {
		js, err := json.MarshalIndent(&res, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		if err := calibrateWrite(out, append(js, '\n')); err != nil {
			return nil, fmt.Errorf("calibrate: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", out)
	}
	return &res, nil
}

// calibrateAccuracy writes the predicted accuracy map of site, with the
// suggested position of one more sensor.
func calibrateAccuracy(site *wire.Site, pngPath, jsonPath, planPath string, stdout io.Writer) error {
	am, err := calibration.Accuracy(site, calibration.AccuracyOptions{})
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	sug, err := am.Suggest()
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	fmt.Fprintf(stdout, "\npredicted accuracy (1 sigma per axis, %.1f dB noise):\n", am.SigmaDB)
	for _, z := range am.Zones {
		fmt.Fprintf(stdout, "  %-16s mean ±%.1f m, p90 ±%.1f m\n", z.Zone, z.Mean, z.P90)
	}
	fmt.Fprintf(stdout, "one more sensor at (%.1f, %.1f) brings %s from ±%.1f m to ±%.1f m\n", sug.X, sug.Y, sug.Zone, sug.Before, sug.After)
	if jsonPath != "" {
		if err := calibrateWrite(jsonPath, append(am.AppendJSON(nil, sug), '\n')); err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
	}
	if pngPath != "" {
		var plan image.Image
		if planPath != "" {
			pf, err := os.Open(planPath)
			if err != nil {
				return fmt.Errorf("calibrate: %w", err)
			}
			plan, _, err = image.Decode(pf)
			pf.Close()
			if err != nil {
				return fmt.Errorf("calibrate: plan %s: %w", planPath, err)
			}
		}
		var buf bytes.Buffer
		if err := heatmap.WritePNG(&buf, am.Image(sug, plan)); err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
		if err := calibrateWrite(pngPath, buf.Bytes()); err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", pngPath)
	}
	return nil
}
