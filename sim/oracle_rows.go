package sim

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/passant/passant/wire"
)

// OracleRow is a row of the Bayes oracle: one estimator's errors and
// sides (the side of higher posterior mass, whatever the point), Within
// counted against the posterior's own 1-sigma Err, and what it expects of
// itself.
type OracleRow struct {
	Method
	ExpSide float64 // sum over bursts of its posterior of the side it chose
	// Over all bursts, also those beyond the bounds: the sum of the
	// errors and of what it expected of them; how many were in bounds with
	// the error at most the radius R, and the sum of its posterior mass in
	// bounds within R of its point; how many were in bounds, and the sum of
	// its posterior mass in bounds; the number of bursts.
	SumErr, ExpErr float64
	InR            int
	ExpInR         float64
	InB            int
	ExpInB         float64
	N              int
	knownTx        bool
	est            int // 0: mean, 1: spatial median, 2: most mass within R
}

// oracleJob is a matched burst for the oracle, taken after the run.
type oracleJob struct {
	key      burstKey
	t        *BurstTruth
	inBounds bool
	truthIn  bool
}

// oracle adds the Bayes oracle's rows for the matched bursts in jobs; the
// disc estimator's radius is half the weighted centroid's p90.
func (a *Accuracy) oracle(shop *Shop, truth *Truth, store []wire.Point, batches []*wire.Batch, jobs []oracleJob, leaveOut time.Duration) {
	o := newOracle(shop, truth, store)
	if leaveOut > 0 {
		o.LeaveOut = leaveOut.Milliseconds()
	}
	for _, m := range a.Methods {
		if m.Name == "weighted centroid" {
			a.OracleR = m.Quantile(0.9) / 2
		}
	}
	obursts := o.oracleBursts(batches)
	for _, kt := range []bool{false, true} {
		for est, e := range []string{"posterior mean", "spatial median", fmt.Sprintf("most mass within %.2f m", a.OracleR)} {
			n := "Bayes oracle, one burst"
			if kt {
				n += ", offset known"
			}
			a.Oracle = append(a.Oracle, &OracleRow{Method: Method{Name: n + " (" + e + ")"}, knownTx: kt, est: est})
		}
	}
	for _, j := range jobs {
		ob := obursts[j.key]
		if ob == nil {
			continue
		}
		fs := [2]OracleFix{o.Estimate(ob, j.t, false, a.OracleR), o.Estimate(ob, j.t, true, a.OracleR)}
		for _, r := range a.Oracle {
			f := fs[0]
			if r.knownTx {
				f = fs[1]
			}
			r.add(f, j)
		}
	}
}

// add counts one oracle fix against the truth of job j.
func (r *OracleRow) add(f OracleFix, j oracleJob) {
	r.countSide(f.PStore >= 0.5, j.truthIn)
	r.ExpSide += math.Max(f.PStore, 1-f.PStore)
	es := [...]OracleEstimate{f.Mean, f.Median, f.Disc}[r.est]
	if math.IsNaN(es.X) {
		return
	}
	e := math.Hypot(es.X-j.t.X, es.Y-j.t.Y)
	r.SumErr += e
	r.ExpErr += es.ExpErr
	r.ExpInR += es.MassR
	r.ExpInB += f.PBound
	r.N++
	if !j.inBounds {
		return
	}
	r.InB++
	if e <= f.R {
		r.InR++
	}
	r.Errors = append(r.Errors, e)
	if j.truthIn {
		r.ErrIn = append(r.ErrIn, e)
	} else {
		r.ErrOut = append(r.ErrOut, e)
	}
	if e <= f.Err {
		r.Within++
	}
}

// WriteOracle prints what the oracle's rows expect of themselves against
// what they got: over all bursts (also those beyond the bounds) the mean
// error and the side; of the bursts in bounds the share with the error at
// most R, half the centroid's p90 (the goal "p90 at most half the
// centroid's" asks for 90%), and what it expects of that share: the sum of
// its posterior mass in bounds within R of its points over the sum of its
// posterior mass in bounds.
func WriteOracle(w io.Writer, rs []*Accuracy) {
	fmt.Fprintln(w, "| shop | oracle | bursts | mean error m | it expects m | side right | it expects | R m | in bounds: within R | it expects |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		for _, m := range r.Methods {
			if m.Name != "passant replay" && m.Name != "passant" || len(r.Oracle) == 0 {
				continue
			}
			in := 0
			for _, e := range m.Errors {
				if e <= r.OracleR {
					in++
				}
			}
			fmt.Fprintf(w, "| %s | %s (for scale) | | | | %s | | %.2f | %s | |\n", r.Layout, m.Name,
				pct(m.Side, m.Sides), r.OracleR, pct(in, len(m.Errors)))
		}
		for _, o := range r.Oracle {
			n := float64(max(o.N, 1))
			fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %s | %s | %.2f | %s | %.1f%% |\n", r.Layout, o.Name, o.N,
				o.SumErr/n, o.ExpErr/n, pct(o.Side, o.Sides), pct(int(math.Round(o.ExpSide)), o.Sides),
				r.OracleR, pct(o.InR, o.InB), 100*o.ExpInR/math.Max(o.ExpInB, 1))
		}
	}
}
