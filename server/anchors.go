package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passant/passant/calibration"
	"github.com/passant/passant/wire"
)

// anchors are one site's fixed transmitters: the devices of the anchors
// files (--anchors) and the sensors that announce the probe requests they
// send (status "tx"). Their pseudonyms are not people: the pipeline skips
// them, and the self-calibration fits the sensors from what they hear of
// them. The sensors' announcements are kept in the data directory, so that
// recovery from the journal after a restart skips them too; the file is an
// anchors file (calibration.ParseAnchors), so `passant replay --anchors`
// and `passant calibrate --anchors` take it as it is.
type anchors struct {
	path  string // where announcements are kept; "" for none
	fixed []calibration.Anchor
	// keep is how long (ms, receive clock) a pseudonym a sensor announced
	// stays an anchor after it was last announced: at least the
	// self-calibration window, so the links heard under it count until
	// they expire.
	keep int64

	mu sync.Mutex
	tx map[string]map[wire.Dev]int64 // sensor -> pseudonym -> last announced (Unix ms)

	devs atomic.Pointer[map[wire.Dev]bool] // every anchor pseudonym, read on the pipeline's path
}

func newAnchors(path string, fixed []calibration.Anchor, keep int64) (*anchors, error) {
	a := &anchors{path: path, fixed: fixed, keep: keep, tx: map[string]map[wire.Dev]int64{}}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return a, fmt.Errorf("server: anchors: %w", err)
		default:
			var kept keptAnchors
			if err := json.Unmarshal(data, &kept); err != nil {
				a.publish()
				return a, fmt.Errorf("server: anchors %s: %w", path, err)
			}
			if kept.Announced != nil {
				a.tx = kept.Announced
			}
		}
	}
	a.publish()
	return a, nil
}

// has reports whether d is an anchor's pseudonym. It takes no lock.
func (a *anchors) has(d wire.Dev) bool {
	m := a.devs.Load()
	return m != nil && (*m)[d]
}

// any reports whether the site has anchors.
func (a *anchors) any() bool {
	m := a.devs.Load()
	return m != nil && len(*m) > 0
}

// publish makes the current pseudonyms visible to has; under mu or before
// a is shared.
func (a *anchors) publish() {
	m := map[wire.Dev]bool{}
	for _, f := range a.fixed {
		m[f.Dev] = true
		for _, d := range f.Devs {
			m[d] = true
		}
	}
	for _, devs := range a.tx {
		for d := range devs {
			m[d] = true
		}
	}
	a.devs.Store(&m)
}

// keptAnchors is the file of a site's anchors in the data directory: an
// anchors file, and when each sensor last announced each pseudonym.
type keptAnchors struct {
	Anchors   []calibration.Anchor          `json:"anchors"`
	Announced map[string]map[wire.Dev]int64 `json:"announced"`
}

// announce records a sensor's status "tx" received at now, forgets its
// pseudonyms not announced for a.keep, and reports whether the set of
// pseudonyms changed (then it is saved, with positions from site).
func (a *anchors) announce(site *wire.Site, sensor string, tx *wire.Tx, now int64) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	devs := a.tx[sensor]
	if devs == nil {
		devs = map[wire.Dev]int64{}
		a.tx[sensor] = devs
	}
	changed := false
	add := func(d wire.Dev) {
		if _, ok := devs[d]; !ok {
			changed = true
		}
		devs[d] = now
	}
	add(tx.Dev)
	if tx.Next != nil {
		add(*tx.Next)
	}
	for _, ds := range a.tx {
		for d, last := range ds {
			if now-last > a.keep {
				delete(ds, d)
				changed = true
			}
		}
	}
	if !changed {
		return false, nil
	}
	a.publish()
	return true, a.save(site)
}

// save writes the anchors and announcements; under mu.
func (a *anchors) save(site *wire.Site) error {
	if a.path == "" {
		return nil
	}
	data, _ := json.Marshal(keptAnchors{Anchors: a.listLocked(site), Announced: a.tx})
	tmp := a.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("server: anchors: %w", err)
	}
	if err := os.Rename(tmp, a.path); err != nil {
		return fmt.Errorf("server: anchors: %w", err)
	}
	return nil
}

// list returns the anchors for the self-calibration of site: the fixed
// ones, and each transmitting sensor at its position in the site (its
// pseudonyms newest first), in sensor order.
func (a *anchors) list(site *wire.Site) []calibration.Anchor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listLocked(site)
}

func (a *anchors) listLocked(site *wire.Site) []calibration.Anchor {
	out := slices.Clone(a.fixed)
	for _, se := range site.Sensors {
		devs := a.tx[se.ID]
		if len(devs) == 0 {
			continue
		}
		ds := slices.SortedFunc(maps.Keys(devs), func(x, y wire.Dev) int {
			if c := cmp.Compare(devs[y], devs[x]); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		out = append(out, calibration.Anchor{Dev: ds[0], Devs: ds[1:], ID: se.ID, X: se.X, Y: se.Y, Z: se.Z})
	}
	return out
}

// anchorsPath is where a site's announced anchors are kept.
func anchorsPath(dataDir, site string) string {
	return filepath.Join(dataDir, "anchors", site+".json")
}

// siteAnchors makes a site's anchors: the fixed ones for it and for every
// site, and the announcements kept in the data directory.
func (s *Server) siteAnchors(site string) *anchors {
	fixed := append(slices.Clone(s.cfg.Anchors[""]), s.cfg.Anchors[site]...)
	path := anchorsPath(s.cfg.DataDir, site)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		s.log.Warn("anchors are not kept across restarts", "site", site, "err", err)
		path = ""
	}
	a, err := newAnchors(path, fixed, max(s.cfg.SelfWindow.Milliseconds(), calibration.DefaultSelfWindow))
	if err != nil {
		s.log.Warn("anchors kept from before could not be read", "site", site, "err", err)
	}
	return a
}

// calibrateAgainstAnchors gives the self-calibration the site's anchors at
// their positions in site (none: it stays off).
func (r *siteRunner) calibrateAgainstAnchors(site *wire.Site) {
	if r.srv.cal != nil && r.anchors.any() {
		r.srv.cal.SetAnchors(r.id, r.anchors.list(site))
	}
}

// announced takes a sensor's status "tx": its transmissions become an
// anchor at its position.
func (r *siteRunner) announced(site *wire.Site, sensor string, tx *wire.Tx) {
	changed, err := r.anchors.announce(site, sensor, tx, time.Now().UnixMilli())
	if err != nil {
		r.srv.log.Warn("anchors are not kept across restarts", "site", r.id, "err", err)
	}
	if changed {
		r.srv.log.Info("sensor transmits: an anchor for self-calibration", "site", r.id, "sensor", sensor,
			"dev", tx.Dev, "every_ms", tx.EveryMS)
		r.calibrateAgainstAnchors(site)
	}
}
