// Package store keeps everything Passant persists: versioned sites and their
// floor plans, sensor health, raw observations (for re-processing), position
// fixes, visits, track days, hourly aggregates, the heatmap's hourly tiles,
// till transactions,
// calibration results, and for running a server: users, tokens, site leases
// and alerts.
//
// All SQL lives here, one file per entity. Two backends sit behind the one
// Store interface: PostgreSQL through pgx (pgxpool; COPY for bulk writes,
// observations partitioned by day) and an embedded SQLite database (the pure
// Go modernc.org/sqlite driver; WAL mode, one writer) in a data directory for
// a one-box shop. Both run the same conformance suite (store/storetest).
//
// The schema is created and upgraded by Migrate; a server calls CheckSchema
// at start and refuses to run on a stale schema. Nothing here ever holds a
// raw MAC address: devices are the sensors' keyed pseudonyms (wire.Dev).
//
// Times are Unix milliseconds (UTC) everywhere, ranges are half-open
// [from, to).
package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/passant/passant/footfall"
	"github.com/passant/passant/wire"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound: the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrStaleSchema: the database's schema is older (or newer) than this
	// binary's; run `passant migrate`.
	ErrStaleSchema = errors.New("stale schema")
	// ErrConflict: a unique name is taken (a user name).
	ErrConflict = errors.New("already exists")
	// ErrLastAdmin: a change of users would leave none with the admin role.
	ErrLastAdmin = errors.New("the last admin")
)

// Store is everything the server persists. Both backends implement it.
type Store interface {
	Schema
	Sites
	Sensors
	Observations
	Derived
	Heat
	Transactions
	Calibrations
	Auth
	Leases
	Alerts
	// Backend names the backend: "postgres" or "sqlite".
	Backend() string
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Inventory counts the rows of every table (a full count: slow on a
	// big database), for the data inventory and the privacy checks.
	Inventory(ctx context.Context) ([]TableCount, error)
	// Close releases the database.
	Close() error
}

// TableCount is the number of rows of one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// Schema creates and checks the database schema.
type Schema interface {
	// Migrate applies every migration the database lacks, each in its own
	// transaction, and records it in schema_version.
	Migrate(ctx context.Context) error
	// CheckSchema returns an error wrapping ErrStaleSchema unless the
	// database is at this binary's schema version.
	CheckSchema(ctx context.Context) error
	// SchemaVersion returns the database's version and the binary's.
	SchemaVersion(ctx context.Context) (have, want int, err error)
}

// Site version sources.
const (
	SourceFile        = "file"        // a site file given at start
	SourceAPI         = "api"         // an edit through the API or web UI
	SourceCalibration = "calibration" // a calibration applied
	SourceSelfCal     = "selfcal"     // a self-calibration (from anchors) applied
	SourceRevert      = "revert"      // a revert to an earlier version
)

// SiteVersion describes one stored version of a site.
type SiteVersion struct {
	Site    string `json:"site"`
	Version int    `json:"version"` // 1, 2, ...
	Source  string `json:"source"`  // SourceFile, SourceAPI, ...
	Note    string `json:"note,omitempty"`
	Hash    string `json:"hash"`    // SHA-256 (hex) of the site's canonical JSON
	Created int64  `json:"created"` // Unix ms
}

// PlanImage is a site's floor-plan image.
type PlanImage struct {
	ContentType string
	Data        []byte
	Updated     int64
}

// Sites keeps sites, versioned: every change is a new version.
type Sites interface {
	// SaveSite stores s as the site's next version. When s equals the latest
	// version (same hash) nothing is stored and the latest is returned.
	SaveSite(ctx context.Context, s *wire.Site, source, note string) (SiteVersion, error)
	// ApplySiteFile stores a site file given at start: a new version only
	// when the file's bytes differ from the file last applied for that site
	// (so a calibration applied in the UI survives a restart). It returns the
	// latest version and whether the file changed anything.
	ApplySiteFile(ctx context.Context, s *wire.Site, file []byte) (SiteVersion, bool, error)
	// Site loads the latest version of a site.
	Site(ctx context.Context, site string) (*wire.Site, SiteVersion, error)
	// SiteAt loads one version of a site.
	SiteAt(ctx context.Context, site string, version int) (*wire.Site, SiteVersion, error)
	// SiteHistory lists a site's versions, newest first.
	SiteHistory(ctx context.Context, site string) ([]SiteVersion, error)
	// ListSites lists the latest version of every site, by id.
	ListSites(ctx context.Context) ([]SiteVersion, error)
	// RevertSite stores a new version equal to an earlier one.
	RevertSite(ctx context.Context, site string, version int, note string) (SiteVersion, error)
	// DeleteSite removes a site, its versions and plan image (not its data).
	DeleteSite(ctx context.Context, site string) error
	// PutPlanImage stores a site's floor-plan image.
	PutPlanImage(ctx context.Context, site string, img PlanImage) error
	// PlanImage loads a site's floor-plan image (ErrNotFound when none).
	PlanImage(ctx context.Context, site string) (PlanImage, error)
}

// Sensor states.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// SensorHealth is what the server knows of a sensor's state. The caller keeps
// the counters; storage keeps their last values.
type SensorHealth struct {
	Site          string `json:"site"`
	Sensor        string `json:"sensor"`
	LastSeen      int64  `json:"last_seen"` // Unix ms, server clock
	Batches       int64  `json:"batches"`
	Observations  int64  `json:"observations"`
	Rejected      int64  `json:"rejected"`
	Lost          int64  `json:"lost"`
	ClockOffsetMs int64  `json:"clock_offset_ms"`
	State         string `json:"state"` // StateOnline or StateOffline
	Version       string `json:"version,omitempty"`
}

// Sensors keeps sensor health.
type Sensors interface {
	// UpsertSensorHealth stores the given sensors' health, replacing what
	// was stored for each (site, sensor).
	UpsertSensorHealth(ctx context.Context, hs []SensorHealth) error
	// SensorHealth lists a site's sensors by id.
	SensorHealth(ctx context.Context, site string) ([]SensorHealth, error)
}

// RawBatch is one accepted batch as the server received it.
type RawBatch struct {
	Site  string
	Recv  int64 // server clock at receipt, Unix ms
	Batch wire.Batch
}

// Observations keeps the raw observations of accepted batches, so that any
// range can be re-processed. A batch without observations is not stored.
type Observations interface {
	// WriteBatches stores the observations of the batches.
	WriteBatches(ctx context.Context, bs []RawBatch) error
	// ReplaceBatches stores the observations of the batches in place of
	// those stored before of each site with receive times and times
	// within the site's batches' (all in one transaction): a write that
	// may have reached the database already (its answer lost with the
	// connection) is written again without a duplicate. bs must hold all
	// of a site's batches received within its receive times.
	ReplaceBatches(ctx context.Context, bs []RawBatch) error
	// ScanBatches calls fn with the site's batches holding observations
	// with t in [from, to), rebuilt in receive order (recv, then sensor,
	// boot, id, sent); only the observations in range are included. The
	// batch passed to fn is reused after fn returns.
	ScanBatches(ctx context.Context, site string, from, to int64, fn func(*RawBatch) error) error
	// CountObservations counts the site's observations with t in [from, to).
	CountObservations(ctx context.Context, site string, from, to int64) (int64, error)
	// DeleteObservationsBefore deletes every observation with t < before
	// (all sites), returning how many went.
	DeleteObservationsBefore(ctx context.Context, before int64) (int64, error)
	// DeleteObservationsExcept deletes the site's observations with
	// t < before whose dev is not in keep (the retention of passers-by).
	DeleteObservationsExcept(ctx context.Context, site string, before int64, keep []wire.Dev) (int64, error)
	// ForgetDevs erases a person (GDPR art. 17, an opt-out) from the
	// site: every observation and fix that carries one of the pseudonyms,
	// and the fixes, visits and track days of every track named after one
	// of them, holding a fix of one of them, or named in tracks; with the
	// observations and fixes of the other pseudonyms linked into those
	// tracks (the same phone under a randomised address). The hourly
	// aggregates stay. It returns what went, per table.
	ForgetDevs(ctx context.Context, site string, devs []wire.Dev, tracks []string) (Forgotten, error)
	// DataSince returns the earliest time (Unix ms) of the site's stored
	// observations, fixes, visits and track days; ok is false when there
	// are none. The key epochs from then on are those whose pseudonyms
	// may still be stored.
	DataSince(ctx context.Context, site string) (since int64, ok bool, err error)
}

// Derived keeps what the pipeline computes from observations. Writes of
// visits, track days and hours are upserts, so a growing open visit or a
// provisional hour can be written again.
type Derived interface {
	// WritePositions stores position fixes of a site (downsampled by the
	// caller).
	WritePositions(ctx context.Context, site string, ps []wire.Position) error
	// Positions lists the site's fixes with t in [from, to), by t.
	Positions(ctx context.Context, site string, from, to int64) ([]wire.Position, error)
	// ScanPositions calls fn with each of the site's fixes with t in
	// [from, to), by t, without holding them all (a month for a heatmap).
	// The fix passed to fn is reused after fn returns.
	ScanPositions(ctx context.Context, site string, from, to int64, fn func(*wire.Position) error) error
	// VisitorDevs returns the pseudonyms of the fixes with t in [from, to)
	// whose track has a visit to zone (the store zone) starting in [from,
	// to) and lasting at least minDwellMs: the devices that became
	// visitors, whose raw observations retention keeps. Only stored
	// (downsampled) fixes count, so a pseudonym that left no fix is not
	// found.
	VisitorDevs(ctx context.Context, site string, from, to int64, zone string, minDwellMs int64) ([]wire.Dev, error)
	// DeletePositionsBefore deletes every site's fixes with t < before (the
	// retention of fixes, which carry pseudonyms).
	DeletePositionsBefore(ctx context.Context, before int64) (int64, error)
	// WriteVisits upserts visits, keyed by (site, track, zone, start).
	WriteVisits(ctx context.Context, vs []footfall.Visit) error
	// Visits lists the site's visits (store and zone visits) with start in
	// [from, to), by start.
	Visits(ctx context.Context, site string, from, to int64) ([]footfall.Visit, error)
	// WriteTrackDays upserts track days, keyed by (site, day, track).
	WriteTrackDays(ctx context.Context, ds []footfall.TrackDay) error
	// TrackDays lists the site's track days whose first detection lies in
	// [from, to), by day then track.
	TrackDays(ctx context.Context, site string, from, to int64) ([]footfall.TrackDay, error)
	// WriteHours upserts hourly aggregates of a site, keyed by start.
	WriteHours(ctx context.Context, site string, hs []wire.Hour) error
	// Hours lists the site's hours with start in [from, to), by start.
	Hours(ctx context.Context, site string, from, to int64) ([]wire.Hour, error)
	// DeleteSummariesBefore deletes every site's visits, track days and
	// hours that start before before (the retention of summaries; the
	// visits' and track days' track ids are pseudonymous).
	DeleteSummariesBefore(ctx context.Context, before int64) (int64, error)
	// DeleteDerived deletes the site's positions, visits, track days,
	// hours and heat tiles in [from, to) (by t, start, first detection and
	// start), before a re-processing of the range writes them anew.
	DeleteDerived(ctx context.Context, site string, from, to int64) error
	// DeleteDerivedTracks deletes the positions (by t), visits (by start)
	// and track days (by first detection) in [from, to) of the named
	// tracks of a site, and nothing else: a re-processing of a range the
	// passers-by retention has thinned rebuilds the tracks whose raw
	// observations remain and keeps the others' rows.
	DeleteDerivedTracks(ctx context.Context, site string, from, to int64, tracks []string) error
	// DeleteTrack deletes the site's track days (by first detection) and
	// visits (by start) of one track within [from, to]: a track that the
	// tracker later merged into another (footfall.Counter.Merge) is no
	// track of its own.
	DeleteTrack(ctx context.Context, site, track string, from, to int64) error
	// RenameTrack names the site's positions of track from with t within
	// [since, until] after track to instead: the stored fixes of a track
	// that the tracker later merged into another (footfall.Counter.Merge)
	// are the surviving track's, as in a replay's positions.jsonl. The
	// time bounds keep a later track of the same name (a track is named
	// after the pseudonym that started it) as it is.
	RenameTrack(ctx context.Context, site, from, to string, since, until int64) error
}

// Transactions keeps till receipts.
type Transactions interface {
	// WriteTransactions stores receipts; one whose ID (when not empty) is
	// already stored for the site is skipped. It returns how many were new.
	WriteTransactions(ctx context.Context, ts []footfall.Transaction) (int, error)
	// ListTransactions lists the site's receipts with t in [from, to), by t.
	ListTransactions(ctx context.Context, site string, from, to int64) ([]footfall.Transaction, error)
	// DeleteTransactions deletes the site's receipts in [from, to).
	DeleteTransactions(ctx context.Context, site string, from, to int64) (int64, error)
}

// CalibratedSensor is one sensor's fitted radio model.
type CalibratedSensor struct {
	Sensor     string  `json:"sensor"`
	RSSI1m     float64 `json:"rssi_1m"`
	Exponent   float64 `json:"exponent"`
	Offset5GHz float64 `json:"offset_5ghz,omitempty"`
	Samples    int     `json:"samples"`
	RMSdB      float64 `json:"rms_db"`
}

// Calibration is the result of one calibration walk.
type Calibration struct {
	ID          int64              `json:"id"`
	Site        string             `json:"site"`
	T           int64              `json:"t"`            // when it ran, Unix ms
	SiteVersion int                `json:"site_version"` // the version it produced; 0 when not applied
	Sensors     []CalibratedSensor `json:"sensors"`
	Report      json.RawMessage    `json:"report,omitempty"` // the fit report, as the calibration package writes it
}

// Calibrations keeps calibration results.
type Calibrations interface {
	// SaveCalibration stores c and returns its id.
	SaveCalibration(ctx context.Context, c *Calibration) (int64, error)
	// ListCalibrations lists a site's calibrations, newest first.
	ListCalibrations(ctx context.Context, site string) ([]Calibration, error)
	// Calibration loads one calibration by id.
	Calibration(ctx context.Context, id int64) (*Calibration, error)
}

// Roles of users.
const (
	RoleViewer    = "viewer"
	RoleInstaller = "installer"
	RoleAdmin     = "admin"
)

// User is someone who may log in. PasswordHash is made by the caller (e.g.
// bcrypt or argon2); storage never sees a password.
type User struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	PasswordHash string `json:"-"`
	Created      int64  `json:"created"`
}

// Token kinds.
const (
	TokenSession = "session"
	TokenAPI     = "api"
)

// Token is a login session or an API token. Hash is the caller's hash of the
// secret (e.g. hex SHA-256); the secret itself is never stored.
type Token struct {
	Hash     string `json:"-"`
	UserID   int64  `json:"user_id"`
	Kind     string `json:"kind"`
	Name     string `json:"name,omitempty"`
	Created  int64  `json:"created"`
	Expires  int64  `json:"expires"` // 0: never
	LastUsed int64  `json:"last_used"`
}

// Auth keeps users and their tokens.
type Auth interface {
	// CreateUser stores u (ErrConflict when the name is taken) and sets
	// u.ID.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser stores u's role and password hash; it refuses to take the
	// admin role from the last admin (ErrLastAdmin), atomically (two
	// admins demoting each other at once: one of them is refused).
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser deletes a user and its tokens; not the last admin
	// (ErrLastAdmin).
	DeleteUser(ctx context.Context, id int64) error
	// UserByName loads a user (ErrNotFound when none).
	UserByName(ctx context.Context, name string) (*User, error)
	// UserByID loads a user (ErrNotFound when none).
	UserByID(ctx context.Context, id int64) (*User, error)
	// ListUsers lists users by name.
	ListUsers(ctx context.Context) ([]User, error)
	// CountUsers counts users (the first start creates an admin when 0).
	CountUsers(ctx context.Context) (int, error)
	// CreateToken stores a token.
	CreateToken(ctx context.Context, t *Token) error
	// TokenUser finds the live token with the given hash and its user, and
	// marks the token used at now (ErrNotFound when none or expired).
	TokenUser(ctx context.Context, hash string, now int64) (*User, *Token, error)
	// ListTokens lists a user's tokens, newest first.
	ListTokens(ctx context.Context, userID int64) ([]Token, error)
	// DeleteToken deletes a token (logout, revoke).
	DeleteToken(ctx context.Context, hash string) error
	// DeleteExpiredTokens deletes tokens expired at now.
	DeleteExpiredTokens(ctx context.Context, now int64) (int64, error)
}

// Lease says which server instance handles a site until when.
type Lease struct {
	Site     string `json:"site"`
	Owner    string `json:"owner"`
	Acquired int64  `json:"acquired"` // when this owner took it, Unix ms
	Expires  int64  `json:"expires"`
}

// Leases share sites between server instances. Each call is atomic. Times
// are the caller's clock: instances must keep their clocks in step to well
// within a lease's length (NTP does).
type Leases interface {
	// AcquireLease takes (or renews) the site's lease for owner until
	// now+ttlMs when it is free, expired or already owner's. It returns
	// the lease as it stands and whether owner holds it.
	AcquireLease(ctx context.Context, site, owner string, now, ttlMs int64) (Lease, bool, error)
	// ReleaseLease gives up owner's lease on the site (no-op otherwise).
	ReleaseLease(ctx context.Context, site, owner string) error
	// ListLeases lists every lease, expired ones included, by site.
	ListLeases(ctx context.Context) ([]Lease, error)
}

// Alert kinds (callers may use others).
const (
	AlertOffline = "offline" // sensor offline or silent
	AlertClock   = "clock"   // sensor clock out of line
)

// Alert is a condition raised for a site or sensor until cleared.
type Alert struct {
	ID      int64  `json:"id"`
	Site    string `json:"site"`
	Sensor  string `json:"sensor,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
	Raised  int64  `json:"raised"`
	Cleared int64  `json:"cleared,omitempty"` // 0 while open
}

// Alerts keeps alerts.
type Alerts interface {
	// RaiseAlert opens an alert unless one of the same site, sensor and
	// kind is open; it returns the open alert and whether it is new.
	RaiseAlert(ctx context.Context, a Alert) (Alert, bool, error)
	// ClearAlert closes the open alert of that site, sensor and kind at t;
	// it reports whether there was one.
	ClearAlert(ctx context.Context, site, sensor, kind string, t int64) (bool, error)
	// ListAlerts lists a site's alerts (every site's when site is ""),
	// raised in [from, to) or still open when openOnly, newest first.
	ListAlerts(ctx context.Context, site string, openOnly bool, from, to int64) ([]Alert, error)
}
