package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/passant/passant/ingest"
	"github.com/passant/passant/store"
)

// unstoredAlerts keeps the alerts whose raise the store refused (the
// database away), so that housekeeping's next rounds store them: raised
// at their first time, and cleared when their condition ended meanwhile.
// It holds at most one alert per site, sensor and kind. It also says once
// per outage, in the log, that alerts cannot be written (clears fail at
// every round for every sensor; a line each would flood the log).
// Housekeeping writes the alerts; tests call checkAlerts too: mu guards
// it.
//
// The alerts kept are also on disk (keptAlertsFile in the data directory,
// written after each housekeeping round that changed them): a server
// restarted before the database is back stores them then, whether or not
// their condition still holds.
type unstoredAlerts struct {
	mu      sync.Mutex
	m       map[alertKey]*unstoredAlert
	failing int // writes failed since the last that did not
	path    string
	saved   []byte // the file's content as last written or read (nil: none)
}

// keptAlertsFile holds the alerts kept, in the data directory.
const keptAlertsFile = "alerts-kept.json"

// keptAlert is a kept alert as keptAlertsFile holds it.
type keptAlert struct {
	Site    string `json:"site"`
	Sensor  string `json:"sensor"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Raised  int64  `json:"raised"`
	Cleared int64  `json:"cleared,omitempty"`
}

// load reads the alerts a server before kept (path: keptAlertsFile) and
// keeps them; it returns how many.
func (u *unstoredAlerts) load(path string) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.path = path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("server: kept alerts: %w", err)
	}
	var ks []keptAlert
	if err := json.Unmarshal(data, &ks); err != nil {
		return 0, fmt.Errorf("server: kept alerts: %s: %w", path, err)
	}
	if u.m == nil {
		u.m = map[alertKey]*unstoredAlert{}
	}
	for _, k := range ks {
		u.m[alertKey{k.Site, k.Sensor, k.Kind}] = &unstoredAlert{
			a:       store.Alert{Site: k.Site, Sensor: k.Sensor, Kind: k.Kind, Message: k.Message, Raised: k.Raised},
			cleared: k.Cleared, tries: 1, // refused before the restart
		}
	}
	u.saved = data
	return len(ks), nil
}

// save writes the kept alerts to the file load read when they changed since
// (removes it when none is kept).
func (u *unstoredAlerts) save() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.path == "" {
		return nil
	}
	ks := make([]keptAlert, 0, len(u.m))
	for k, a := range u.m {
		ks = append(ks, keptAlert{Site: k.site, Sensor: k.sensor, Kind: k.kind, Message: a.a.Message,
			Raised: a.a.Raised, Cleared: a.cleared})
	}
	if len(ks) == 0 {
		if u.saved == nil {
			return nil
		}
		if err := os.Remove(u.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("server: kept alerts: %w", err)
		}
		u.saved = nil
		return nil
	}
	slices.SortFunc(ks, func(a, b keptAlert) int {
		return cmpKeys(alertKey{a.Site, a.Sensor, a.Kind}, alertKey{b.Site, b.Sensor, b.Kind})
	})
	data, err := json.Marshal(ks)
	if err != nil {
		return fmt.Errorf("server: kept alerts: %w", err)
	}
	if bytes.Equal(data, u.saved) {
		return nil
	}
	if err := ingest.WriteFileAtomic(u.path, data); err != nil {
		return fmt.Errorf("server: kept alerts: %w", err)
	}
	u.saved = data
	return nil
}

// cmpKeys orders alert keys by site, sensor and kind.
func cmpKeys(a, b alertKey) int {
	return cmp.Or(cmp.Compare(a.site, b.site), cmp.Compare(a.sensor, b.sensor), cmp.Compare(a.kind, b.kind))
}

// keys returns the keys of the alerts kept.
func (u *unstoredAlerts) keys() []alertKey {
	u.mu.Lock()
	defer u.mu.Unlock()
	ks := make([]alertKey, 0, len(u.m))
	for k := range u.m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, cmpKeys)
	return ks
}

type alertKey struct{ site, sensor, kind string }

// unstoredAlert is an alert raised while the store could not take it.
type unstoredAlert struct {
	a       store.Alert
	cleared int64 // when its condition ended (0: it holds)
	tries   int   // failed raises
}

// take removes and returns the alert kept for k, nil when none is.
func (u *unstoredAlerts) take(k alertKey) *unstoredAlert {
	u.mu.Lock()
	defer u.mu.Unlock()
	a := u.m[k]
	delete(u.m, k)
	return a
}

// keep keeps a for k until the store takes it.
func (u *unstoredAlerts) keep(k alertKey, a *unstoredAlert) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[alertKey]*unstoredAlert{}
	}
	u.m[k] = a
}

// failed counts a write of k's alert that failed, and logs the first of an
// outage unless the caller said it (logged).
func (u *unstoredAlerts) failed(log *slog.Logger, k alertKey, err error, logged bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failing == 0 && !logged {
		log.Warn("alerts cannot be stored", "site", k.site, "sensor", k.sensor, "kind", k.kind, "err", err)
	}
	u.failing++
}

// stored notes a write that did not fail, and logs the end of an outage.
func (u *unstoredAlerts) stored(log *slog.Logger) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failing > 0 {
		log.Info("alerts stored again", "failed_writes", u.failing, "kept", len(u.m))
		u.failing = 0
	}
}
