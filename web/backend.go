package web

import (
	"context"
	"errors"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// Backend is what the web server needs from the rest of Passant: the
// pipeline's live state and the store's history. The server (passant serve)
// implements it; tests use a small in-memory one.
//
// Errors: wrap ErrNotFound for an unknown site, version or plan (404) and
// ErrInvalid for a request the backend refuses as malformed (400); anything
// else is a 500 and is logged.
type Backend interface {
	// Ready reports whether the server takes observations (GET /healthz).
	Ready() bool
	// Unhealthy reports what keeps a ready server from taking observations
	// now (the journal cannot write), nil when nothing does; GET /healthz
	// answers 503 with it.
	Unhealthy() error

	// Sites returns the current version of every site, ordered by id.
	Sites(ctx context.Context) ([]*wire.Site, error)
	// Site returns the current version of one site.
	Site(ctx context.Context, site string) (*wire.Site, SiteVersion, error)
	// PutSite stores s (already validated) as the site's next version
	// (source "api"), applies it to the live pipeline, and returns
	// the version. A site that does not exist yet is created.
	PutSite(ctx context.Context, s *wire.Site, note string) (SiteVersion, error)
	// RevertSite stores an earlier version as the next one and applies it.
	RevertSite(ctx context.Context, site string, version int, note string) (SiteVersion, error)
	// SiteVersions lists the stored versions of a site, newest first.
	SiteVersions(ctx context.Context, site string) ([]SiteVersion, error)
	// SiteVersion returns one stored version of a site.
	SiteVersion(ctx context.Context, site string, version int) (*wire.Site, SiteVersion, error)

	// PutPlan stores the floor-plan image of a site (PNG, JPEG, WebP or SVG).
	PutPlan(ctx context.Context, site string, img PlanImage) error
	// Plan returns the floor-plan image of a site (ErrNotFound when none).
	Plan(ctx context.Context, site string) (PlanImage, error)

	// Sensors returns the health of each sensor of a site, in the site's
	// sensor order, plus any sensor heard that the site does not know.
	Sensors(ctx context.Context, site string) ([]SensorHealth, error)

	// Live returns what the live floor map shows now: the latest fix of each
	// live track and the zone occupancy.
	Live(ctx context.Context, site string) (*Snapshot, error)
	// Subscribe returns live events of a site until ctx is done, then closes
	// the channel. The backend must never block on it: it sends without
	// waiting and drops (and counts) events a full channel cannot take. Feed
	// implements exactly this.
	Subscribe(ctx context.Context, site string) (<-chan Event, error)

	// Report returns the footfall report of a site over [from, to), Unix ms.
	Report(ctx context.Context, site string, from, to int64) (*wire.Report, error)
	// Hours returns a site's stored hourly figures over [from, to), Unix ms,
	// oldest first: each past day's final hours, the hours of today as last
	// saved; days without data have none (what the forecast reads).
	Hours(ctx context.Context, site string, from, to int64) ([]wire.Hour, error)
	// Heatmap returns the occupancy-time grid for q.
	Heatmap(ctx context.Context, q HeatmapQuery) (*Heatmap, error)
	// HeatmapPNG renders the heatmap for q over the floor plan, with legend.
	HeatmapPNG(ctx context.Context, q HeatmapQuery) ([]byte, error)

	// ImportPOS stores till receipts (receipts with an ID already stored are
	// replaced, not added) and returns how many it stored.
	ImportPOS(ctx context.Context, site string, tx []footfall.Transaction) (int, error)
	// Reprocess recomputes a site's figures over [from, to) from the stored
	// observations (after a site change or late data). Before the passers-by
	// retention's cut only the visitors' remain: there it rebuilds their
	// tracks and keeps the stored figures of the others (Reprocessed).
	Reprocess(ctx context.Context, site string, from, to int64) (Reprocessed, error)
	// Forget erases a person from a site given their pseudonyms: raw
	// observations, fixes, visits and track days of their tracks, in
	// memory, in the store and in the journal; the hourly aggregates stay.
	Forget(ctx context.Context, site string, devs []wire.Dev) (Forgotten, error)

	// Metrics returns the backend's counters and gauges for GET /metrics.
	Metrics() []Metric
}

// Errors a Backend wraps so that the server answers with the right status
// (a backend over the store maps store.ErrNotFound to ErrNotFound).
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	// ErrLastAdmin: Accounts refuses a change that would leave no admin (409).
	ErrLastAdmin = errors.New("the last admin")
)

// SiteVersion describes one stored version of a site (the store's
// SiteVersion, field for field).
type SiteVersion struct {
	Site    string `json:"site"`
	Version int    `json:"version"`
	Source  string `json:"source"` // "file", "api", "calibration", "selfcal", "revert"
	Note    string `json:"note,omitempty"`
	Hash    string `json:"hash"`
	Created int64  `json:"created"` // Unix ms
}

// PlanImage is a site's floor-plan image.
type PlanImage struct {
	ContentType string
	Data        []byte
	Updated     int64 // Unix ms
}

// SensorHealth is what the sensors view shows of one sensor.
type SensorHealth struct {
	ID    string  `json:"id"`
	Label string  `json:"label,omitempty"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Known bool    `json:"known"` // in the site file

	// State is the last status message's state ("online", "offline"), or
	// "unknown" when none came. Online is true when the sensor is online and
	// a batch came recently.
	State    string `json:"state"`
	Online   bool   `json:"online"`
	LastSeen int64  `json:"last_seen"` // receive time of the last batch, Unix ms; 0 never
	Version  string `json:"version,omitempty"`
	Started  int64  `json:"started,omitempty"` // from status, Unix ms

	Rate         float64 `json:"rate"`         // observations per second, last minute
	Batches      int64   `json:"batches"`      // accepted since the server started
	Observations int64   `json:"observations"` // accepted
	Rejected     int64   `json:"rejected"`     // observations and batches refused by the server
	Lost         int64   `json:"lost"`         // batches missing (gaps in batch ids)
	Dropped      int64   `json:"dropped"`      // frames the sensor itself dropped (status)

	// ClockOffsetMs is the sensor clock minus the site's reference clock.
	ClockOffsetMs float64 `json:"clock_offset_ms"`
	// Clock is "ok", "corrected" or "quarantined".
	Clock string `json:"clock,omitempty"`
	// Tx is what the sensor transmits for self-calibration (its status
	// "tx"): pseudonyms, interval, frames sent; nil when it does not.
	Tx *wire.Tx `json:"tx,omitempty"`
	// BeyondKey counts the frames a sensor holding only an epoch key
	// dropped because they lay past the key's epoch and could not move it
	// (its status's "beyond_key": an unsynchronised clock, or frames
	// stamped in an epoch the clock has not reached); ClockTrusted is its
	// status's "clock_trusted",
	// nil when it does not say.
	BeyondKey    uint64 `json:"beyond_key,omitempty"`
	ClockTrusted *bool  `json:"clock_trusted,omitempty"`
}

// Snapshot is the live state of a site.
type Snapshot struct {
	Site      string          `json:"site"`
	T         int64           `json:"t"`      // event time of the latest fix, Unix ms
	Tracks    []wire.Position `json:"tracks"` // latest fix of each live track
	Occupancy map[string]int  `json:"occupancy"`
}

// Event is one live event of a site: a new fix, a track that went away, or
// the zone occupancy after a change. Exactly one of the three is set.
type Event struct {
	Position  *wire.Position
	Gone      string         // track id
	Occupancy map[string]int // zone id -> non-staff tracks in it now
}

// HeatmapQuery selects the fixes a heatmap sums.
type HeatmapQuery struct {
	Site string
	From int64 // Unix ms, inclusive
	To   int64 // Unix ms, exclusive
	// Zone, when set, keeps only fixes whose innermost zone is Zone or lies
	// inside it.
	Zone string
	// Cell is the cell size in metres (default 0.5).
	Cell float64
	// HourFrom and HourTo keep only fixes in local clock hours
	// [HourFrom, HourTo); 0 and 24 keep all.
	HourFrom, HourTo int
	// Staff includes the occupancy of the tracks each day's
	// classification makes staff (the contract's staff_min_dwell_s: staff
	// phones, printers, a neighbour's TV), which the heatmap leaves out by
	// default: it shows people.
	Staff bool
}

// Heatmap is an occupancy-time grid over a site's bounds.
type Heatmap struct {
	Site   string    `json:"site"`
	From   int64     `json:"from"`
	To     int64     `json:"to"`
	Bounds wire.Rect `json:"bounds"` // the grid's extent, metres
	Cell   float64   `json:"cell"`
	W      int       `json:"w"` // columns, along x
	H      int       `json:"h"` // rows, along y
	// Values holds W*H seconds of occupancy, row by row from the bottom
	// (ymin) row up, each row from xmin to the right.
	Values []float64 `json:"values"`
	Max    float64   `json:"max"`
	// Staff is true when the staff's occupancy is included (staff=1).
	Staff bool `json:"staff"`
}

// Metric is one Prometheus sample. Kind is "counter" or "gauge".
type Metric struct {
	Name   string
	Help   string
	Kind   string
	Labels map[string]string
	Value  float64
}

// Reprocessed says what a re-processing did with the part of its range
// that the retention of passers-by's raw observations had thinned.
type Reprocessed struct {
	// ThinnedBefore is the retention's cut when the range began before it
	// (0 otherwise): before it only the raw observations of the devices
	// that became visitors remained.
	ThinnedBefore int64 `json:"thinned_before,omitempty"`
	// Days are the local days before the cut.
	Days []KeptDay `json:"thinned_days,omitempty"`
}

// KeptDay is one local day before the retention's cut: how many of its
// track days (one a device a day) kept their stored figures (passers-by,
// staff whose observations went, visitors that left no stored fix) and
// how many were rebuilt from the observations that remain.
type KeptDay struct {
	Date    string `json:"date"`
	Kept    int    `json:"kept"`
	Rebuilt int    `json:"rebuilt"`
}
