package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/passant/passant/sim"
)

func init() {
	register(command{name: "accuracy", summary: "benchmark locating on simulated shops against baselines", run: runAccuracy})
}

func runAccuracy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("accuracy", stderr)
	layouts := fs.String("layouts", strings.Join(sim.Layouts(), ","), "comma-separated layouts")
	seed := fs.Uint64("seed", 1, "random seed")
	hours := fs.Float64("hours", 4, "hours simulated per shop")
	detail := fs.Bool("detail", false, "also print errors split by the truth's side of the front")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rs []*sim.Accuracy
	for _, l := range strings.Split(*layouts, ",") {
		r, err := sim.RunAccuracy(ctx, strings.TrimSpace(l), sim.Config{Seed: *seed}, *hours)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d bursts, %d matched to the truth\n", r.Layout, r.Bursts, r.Matched)
		rs = append(rs, r)
	}
	sim.WriteTable(stdout, rs)
	if *detail {
		fmt.Fprintln(stdout)
		sim.WriteBreakdown(stdout, rs)
	}
	fmt.Fprintln(stdout)
	sim.WriteLinking(stdout, rs)
	return nil
}
