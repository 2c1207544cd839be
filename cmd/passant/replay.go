//go:build !sensoronly

package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/passant/passant/calibration"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/passant/passant/replay"
)

// replayGOGC is the replay's GOGC (runReplay).
const replayGOGC = 400

func init() {
	register(command{
		name:    "replay",
		summary: "run the pipeline offline over recorded batches: positions.jsonl and report.json",
		run:     runReplay,
	})
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", stderr)
	var cfg replay.Config
	fs.StringVar(&cfg.SitePath, "site", "", "site file (JSON or YAML)")
	fs.StringVar(&cfg.In, "in", "", "observation batches, one per line, or journal lines (- for stdin)")
	fs.StringVar(&cfg.Positions, "positions", "", "write position fixes here (JSON lines)")
	fs.StringVar(&cfg.Report, "report", "", "write the footfall report here (JSON)")
	fs.StringVar(&cfg.Heatmap, "heatmap", "", "write a heatmap PNG here")
	fs.StringVar(&cfg.POS, "pos", "", "till receipts (CSV: a timestamp column and an optional amount)")
	fs.DurationVar(&cfg.Lateness, "lateness", 0, "how long observations wait to be put in order (default 2s)")
	anchorsPath := fs.String("anchors", "", "anchors `file` whose pseudonyms are not people (as the live server skips them; "+
		"the server keeps its own in DATA/anchors/SITE.json)")
	progress := fs.Bool("progress", true, "show progress on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the replay here (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.SitePath == "" || cfg.In == "" {
		fs.Usage()
		return errors.New("replay: --site and --in are required")
	}
	if cfg.Positions == "" && cfg.Report == "" && cfg.Heatmap == "" {
		return errors.New("replay: nothing to write: give --positions, --report or --heatmap")
	}
	if *progress {
		cfg.Progress = stderr
	}
	// A replay's heap is small (the model's grids, about 4 MB live; a 10 h
	// replay allocates about 10 MB in all), so the collector's first goal
	// (4 MB at GOGC 100) costs a full collection of it and the 5 MB of
	// globals at the start, about 2% of a 10 h replay's CPU. GOGC 400 puts
	// the goal at 5× the live heap (none in a 10 h replay). GOGC set in
	// the environment stands.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(replayGOGC)
	}
	if *anchorsPath != "" {
		as, err := calibration.LoadAnchors(*anchorsPath)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		cfg.Skip = calibration.AnchorDevs(as)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("replay: cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("replay: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := replay.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintf(stderr, "replay: site file: ignored fields it does not know (a typo?): %s\n", strings.Join(res.Ignored, ", "))
	}
	fmt.Fprintf(stderr, "replay: %d lines (%d rejected), %d observations (%d dropped, %d late, %d duplicate batches), %d positions, %d tracks\n",
		res.Lines, res.Rejected, res.Observations, res.Dropped, res.Late, res.Dupes, res.Positions, res.Tracks)
	return nil
}
