package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/passant/passant/calibration"
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
	logLevel := fs.String("log-level", "info", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := setupLog(stderr, *logLevel, false)
	if *sitePath == "" || *in == "" || *walkPath == "" || *out == "" {
		fs.Usage()
		return errors.New("calibrate: --site, --in, --walk and --out are required")
	}
	site, err := wire.LoadSite(*sitePath)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	wf, err := os.Open(*walkPath)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	marks, err := calibration.ReadWalk(wf)
	wf.Close()
	if err != nil {
		return fmt.Errorf("calibrate: %s: %w", *walkPath, err)
	}
	walk, err := calibration.NewWalk(marks, *folds)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	var trackOf func(wire.Dev) string
	if walk.UsesTracks() {
		if *positions == "" {
			return errors.New("calibrate: the walk names tracks: give --positions positions.jsonl to map devs to tracks")
		}
		m, err := calibrateTracks(*positions)
		if err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
		trackOf = func(d wire.Dev) string { return m[d] }
	}
	of, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	data, rejected, err := calibration.Collect(site, walk, bufio.NewReaderSize(of, 1<<20), trackOf)
	of.Close()
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if rejected > 0 {
		log.Warn("calibrate: rejected lines of the observations", "file", *in, "lines", rejected)
	}
	log.Info("calibrate: walk collected", "frames", data.Frames, "bursts", len(data.Bursts), "off_walk", data.Skipped, "unknown_sensor", data.Unknown)
	rep, err := calibration.Calibrate(data, *folds, calibration.Options{Progress: stderr})
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.WriteText(stdout)
	js, err := json.MarshalIndent(rep.Calibrated, "", "  ")
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if err := calibrateWrite(*out, append(js, '\n')); err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	if *reportPath != "" {
		rj, _ := json.MarshalIndent(rep, "", "  ")
		if err := calibrateWrite(*reportPath, append(rj, '\n')); err != nil {
			return fmt.Errorf("calibrate: %w", err)
		}
	}
	fmt.Fprintf(stdout, "\nwrote %s\n", *out)
	return nil
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
