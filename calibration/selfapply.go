package calibration

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/passant/passant/wire"
)

// Applying the self-calibration. A self-fit's rssi_1m is relative to the
// anchors' transmit power, which nobody measured (a transmitting sensor is
// no phone), so its absolute value is not written. What the links measure
// well is change: each link's shadowing is fixed, so a change of its mean
// is the receiver's (and transmitter's) change. Each sensor therefore has
// a reference, a refit at which the site's values for it were right (its
// first refit with links, or the refit a self-calibration was applied
// from). With c_l the change of link l's mean since the reference (less
// its transmitter's change; see txChanges), applying writes
//
//	A' = A_site + mean_l c_l,  n' = n_site
//
// for the sensors that pass the walk's rules: enough data (MinSelfLinks
// links in common with the reference), and held out, the change must
// predict better than keeping the site's values. The self-fit's own
// change, Â_now − Â_ref (the drift shown), moves with its robust
// reweighting of a few links (by half a dB from one quiet hour to the
// next), and fixed links do not tell a change of exponent from one of
// gain (its prior holds it), so the links' mean change is written, the
// quantity the held-out test validates. Leaving each link out in turn:
//
//	keep:   √(Σ c_l² / L)
//	change: √(Σ (c_l − mean_{k≠l} c_k)² / L)
//
// A gain change is common to a sensor's links and passes; link noise
// alone makes the second larger than the first by √(L/(L−1)) on average
// and mostly fails. A change under MinSelfChange is not written either.
// When the site's values for a sensor changed otherwise since its
// reference (a walk applied, an edit), the latest refit becomes its
// reference: the new values are taken as right from then on.

// MinSelfLinks is the fewest links (anchor and band) in common with its
// reference a sensor's change must stand on to be applied.
const MinSelfLinks = 3

// MinSelfChange is the smallest change of rssi_1m, dB, worth writing.
const MinSelfChange = 0.5

// SourceSelfCal is the source of a site version the self-calibration wrote.
const SourceSelfCal = "selfcal"

// SourceSites is implemented by a Sites that records where a version came
// from: the self-calibration's versions then say SourceSelfCal (else they
// are stored as PutSite stores them).
type SourceSites interface {
	PutSiteFrom(ctx context.Context, s *wire.Site, source, note string) (int, error)
}

// ErrSelfOff is returned when a site has no self-calibration (no anchors).
var ErrSelfOff = errors.New("calibration: self-calibration is off for this site: it has no anchors")

type linkID struct {
	anchor string
	band5  bool
}

// selfRef is a sensor's state at one refit with links.
type selfRef struct {
	T     int64
	Site  Params // the site's values it is measured against
	links map[linkID]float64
}

// track records a sensor's state at a refit; its first becomes its
// reference. Under f.mu.
func (f *SelfFitter) track(id string, cur *selfRef) {
	if f.latest == nil {
		f.latest, f.refs = map[string]*selfRef{}, map[string]*selfRef{}
	}
	f.latest[id] = cur
	if f.refs[id] == nil {
		f.refs[id] = cur
	}
}

// SelfProposed is what applying the self-calibration would do to a sensor.
type SelfProposed struct {
	ID       string  `json:"id"`
	Site     Params  `json:"site"`         // the site's values now
	Proposed Params  `json:"proposed"`     // the site's values plus the change since the reference
	Change   float64 `json:"change_db"`    // the mean change of its links since the reference, dB
	Links    int     `json:"links"`        // links in common with the reference
	Since    int64   `json:"since"`        // the reference refit's time, Unix ms (0: none)
	HeldKeep float64 `json:"held_keep_db"` // held-out link residual keeping the site's values, dB
	HeldFit  float64 `json:"held_fit_db"`  // and with the change
	Apply    bool    `json:"apply"`
	Reason   string  `json:"reason,omitempty"` // why not
}

// SelfProposal is what applying the self-calibration would write.
type SelfProposal struct {
	T          int64          `json:"t"` // the latest refit, Unix ms (0: none yet)
	Sensors    []SelfProposed `json:"sensors"`
	Applicable int            `json:"applicable"`
}

// Propose returns what applying the latest refit to site would write,
// sensor by sensor, or why not.
func (f *SelfFitter) Propose(site *wire.Site) SelfProposal {
	p, _ := f.propose(site)
	return p
}

// propose is Propose, also returning the refits the applicable sensors'
// values come from. A sensor whose site values changed since its
// reference is referenced to its latest refit from now on.
func (f *SelfFitter) propose(site *wire.Site) (SelfProposal, map[string]*selfRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out SelfProposal
	from := map[string]*selfRef{}
	for i, se := range site.Sensors {
		r := site.SensorRadio(i)
		sp := SelfProposed{ID: se.ID, Site: Params{r.RSSI1m, r.Exponent}}
		sp.Proposed = sp.Site
		cur, ref := f.latest[se.ID], f.refs[se.ID]
		if cur != nil && cur.T > out.T {
			out.T = cur.T
		}
		switch {
		case cur == nil || ref == nil:
			sp.Reason = "no refit with links yet"
		case math.Abs(ref.Site.RSSI1m-r.RSSI1m) > 0.005 || math.Abs(ref.Site.Exponent-r.Exponent) > 0.0005:
			nr := *cur
			nr.Site = sp.Site
			f.refs[se.ID] = &nr
			sp.Since = cur.T
			sp.Reason = fmt.Sprintf("the site's values changed since the reference (%s): changes are measured from the latest refit on",
				time.UnixMilli(ref.T).UTC().Format("2006-01-02 15:04"))
		default:
			sp.Since = ref.T
			f.judge(&sp, cur, ref)
		}
		if sp.Apply {
			out.Applicable++
			from[se.ID] = cur
		}
		out.Sensors = append(out.Sensors, sp)
	}
	return out, from
}

// judge fills in a sensor's proposed values from its change since ref and
// decides by the rules above.
func (f *SelfFitter) judge(sp *SelfProposed, cur, ref *selfRef) {
	var ids []linkID
	for l := range cur.links {
		if _, ok := ref.links[l]; ok {
			ids = append(ids, l)
		}
	}
	sort.Slice(ids, func(a, b int) bool {
		if ids[a].anchor != ids[b].anchor {
			return ids[a].anchor < ids[b].anchor
		}
		return !ids[a].band5 && ids[b].band5
	})
	sp.Links = len(ids)
	c := make([]float64, len(ids))
	var sum float64
	for k, l := range ids {
		c[k] = cur.links[l] - ref.links[l]
		sum += c[k]
	}
	if len(ids) > 0 {
		sp.Change = round(sum/float64(len(ids)), 2)
	}
	sp.Proposed = Params{round(sp.Site.RSSI1m+sp.Change, 2), sp.Site.Exponent}
	if len(ids) < MinSelfLinks {
		sp.Reason = fmt.Sprintf("%d links in common with the reference; needs %d", len(ids), MinSelfLinks)
		return
	}
	var keep, fit float64
	n := float64(len(c))
	for _, v := range c {
		keep += v * v
		loo := (sum - v) / (n - 1)
		fit += (v - loo) * (v - loo)
	}
	sp.HeldKeep, sp.HeldFit = round(math.Sqrt(keep/n), 2), round(math.Sqrt(fit/n), 2)
	switch {
	case math.Abs(sp.Change) < MinSelfChange:
		sp.Reason = fmt.Sprintf("a change of %+.2f dB is under %.1f dB: nothing worth a new version", sp.Change, MinSelfChange)
	case !(math.Sqrt(fit/n) < math.Sqrt(keep/n)):
		sp.Reason = fmt.Sprintf("held-out link residual %.2f dB with the change against %.2f dB without: its links disagree (noise, or one link changed on its own)",
			sp.HeldFit, sp.HeldKeep)
	case sp.Proposed.RSSI1m < -120 || sp.Proposed.RSSI1m > 20 || sp.Proposed.Exponent < 1 || sp.Proposed.Exponent > 6:
		sp.Reason = fmt.Sprintf("%.1f dBm / %.2f lies outside a site's ranges", sp.Proposed.RSSI1m, sp.Proposed.Exponent)
	default:
		sp.Apply = true
	}
}

// rebase makes the refits values were applied from the references of
// their sensors, measured against the values written; it returns the
// references before, for restore.
func (f *SelfFitter) rebase(from map[string]*selfRef, written map[string]Params) map[string]*selfRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := map[string]*selfRef{}
	for id, cur := range from {
		prev[id] = f.refs[id]
		nr := *cur
		nr.Site = written[id]
		f.refs[id] = &nr
	}
	return prev
}

// restore puts back references that rebase replaced.
func (f *SelfFitter) restore(prev map[string]*selfRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, r := range prev {
		f.refs[id] = r
	}
}

// SelfApplied records an applied self-calibration, for one-click revert.
type SelfApplied struct {
	Version  int               `json:"version"`
	Previous int               `json:"previous"`
	Sensors  []string          `json:"sensors"` // the sensors written
	Refused  map[string]string `json:"refused"` // the others, and why
	prev     map[string]*selfRef
}

// ErrNothingToRevert is returned by SelfRevert when nothing was applied.
var ErrNothingToRevert = errors.New("calibration: no self-calibration applied to revert")

// ErrSelfNothing is returned by SelfApply when no sensor passes.
var ErrSelfNothing = errors.New("calibration: nothing to apply: no sensor's self-fitted change passes")

// SelfProposal returns what applying the site's self-calibration would
// write, and the last applied one (nil: none to revert).
func (s *Service) SelfProposal(ctx context.Context, site string) (*SelfProposal, *SelfApplied, error) {
	st := s.selfState(site)
	if st == nil {
		return nil, nil, ErrSelfOff
	}
	cur, _, err := s.Sites.Site(ctx, site)
	if err != nil {
		return nil, nil, err
	}
	p := st.fitter.Propose(cur)
	st.amu.Lock()
	defer st.amu.Unlock()
	return &p, st.applied, nil
}

// SelfApply writes the self-calibration's proposal for the sensors that
// pass onto the site's current version, as a new version (SourceSelfCal),
// applied live by the Sites.
func (s *Service) SelfApply(ctx context.Context, site string) (*SelfApplied, *SelfProposal, error) {
	st := s.selfState(site)
	if st == nil {
		return nil, nil, ErrSelfOff
	}
	st.amu.Lock()
	defer st.amu.Unlock()
	cur, ver, err := s.Sites.Site(ctx, site)
	if err != nil {
		return nil, nil, err
	}
	p, from := st.fitter.propose(cur)
	if p.Applicable == 0 {
		return nil, &p, ErrSelfNothing
	}
	out := cloneSite(cur)
	a := &SelfApplied{Previous: ver, Refused: map[string]string{}}
	written := map[string]Params{}
	var notes []string
	for _, sp := range p.Sensors {
		i := out.SensorIndex(sp.ID)
		if !sp.Apply || i < 0 {
			a.Refused[sp.ID] = sp.Reason
			continue
		}
		v := sp.Proposed
		out.Sensors[i].RSSI1m, out.Sensors[i].Exponent = &v.RSSI1m, &v.Exponent
		written[sp.ID] = v
		a.Sensors = append(a.Sensors, sp.ID)
		notes = append(notes, fmt.Sprintf("%s %+.1f dB", sp.ID, sp.Change))
	}
	if err := out.Validate(); err != nil {
		return nil, &p, fmt.Errorf("calibration: the self-calibrated site is invalid: %w", err)
	}
	note := "self-calibration: " + strings.Join(notes, ", ")
	if ss, ok := s.Sites.(SourceSites); ok {
		a.Version, err = ss.PutSiteFrom(ctx, out, SourceSelfCal, note)
	} else {
		a.Version, err = s.Sites.PutSite(ctx, out, note)
	}
	if err != nil {
		return nil, &p, err
	}
	a.prev = st.fitter.rebase(from, written)
	st.applied = a
	return a, &p, nil
}

// SelfRevert restores the version before the last SelfApply, as a new
// version, and measures changes from the references before it again.
func (s *Service) SelfRevert(ctx context.Context, site string) (int, error) {
	st := s.selfState(site)
	if st == nil {
		return 0, ErrSelfOff
	}
	st.amu.Lock()
	defer st.amu.Unlock()
	a := st.applied
	if a == nil {
		return 0, ErrNothingToRevert
	}
	if _, cur, err := s.Sites.Site(ctx, site); err != nil {
		return 0, err
	} else if cur != a.Version {
		return 0, fmt.Errorf("%w (applied as version %d, now %d)", ErrSiteChanged, a.Version, cur)
	}
	v, err := s.Sites.RevertSite(ctx, site, a.Previous, fmt.Sprintf("self-calibration of version %d reverted", a.Version))
	if err != nil {
		return 0, err
	}
	st.fitter.restore(a.prev)
	st.applied = nil
	return v, nil
}
