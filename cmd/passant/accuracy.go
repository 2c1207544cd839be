//go:build !sensoronly

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/passant/passant/pipeline"
	"github.com/passant/passant/sim"
	"github.com/passant/passant/wire"
)

func init() {
	register(command{name: "accuracy", summary: "benchmark locating on simulated shops against baselines", run: runAccuracy})
}

func runAccuracy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("accuracy", stderr)
	layouts := fs.String("layouts", strings.Join(sim.Layouts(), ","), "comma-separated layouts")
	seed := fs.Uint64("seed", 1, "random seed")
	hours := fs.Float64("hours", 4, "hours simulated per shop")
	passers := fs.Float64("passers", 0, "passers-by per hour (default: the simulator's, 240)")
	detail := fs.Bool("detail", false, "also print errors split by the truth's side of the front")
	noReplay := fs.Bool("no-replay", false, "skip the server pipeline's row")
	oracle := fs.Bool("oracle", false, "also the Bayes oracle's position and inside/outside: one burst at a time under the simulator's true world, no track memory (about 2 s per shop-hour)")
	leaveOut := fs.Duration("oracle-leave-out", sim.DefaultLeaveOut*time.Millisecond, "the oracle's prior leaves out the burst's own person's truth within this time of it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var replay sim.ReplayFunc
	if !*noReplay {
		replay = replayPositions
	}
	var rs []*sim.Accuracy
	for _, l := range strings.Split(*layouts, ",") {
		r, err := sim.RunAccuracyWith(ctx, strings.TrimSpace(l), sim.Config{Seed: *seed, PassersPerHour: *passers}, *hours,
			sim.AccuracyOptions{Replay: replay, Oracle: *oracle, OracleLeaveOut: *leaveOut})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d bursts, %d matched to the truth, %d replayed positions\n", r.Layout, r.Bursts, r.Matched, r.Replayed)
		rs = append(rs, r)
	}
	sim.WriteTable(stdout, rs)
	if *detail {
		fmt.Fprintln(stdout)
		sim.WriteBreakdown(stdout, rs)
	}
	if *oracle {
		fmt.Fprintln(stdout)
		sim.WriteOracle(stdout, rs)
	}
	fmt.Fprintln(stdout)
	sim.WriteLinking(stdout, rs)
	return nil
}

// collect is a pipeline handler that keeps the positions.
type collect struct{ ps []wire.Position }

func (c *collect) Position(p wire.Position) { c.ps = append(c.ps, p) }
func (c *collect) Advance(int64)            {}

// replayPositions runs the server's pipeline over the batches as passant
// replay does.
func replayPositions(site *wire.Site, batches []*wire.Batch) ([]wire.Position, error) {
	c := &collect{}
	p, err := pipeline.New(pipeline.Config{Site: site}, c)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		if err := p.Accept(0, b, wire.Drops{}); err != nil {
			return nil, err
		}
	}
	p.Flush()
	return c.ps, nil
}
