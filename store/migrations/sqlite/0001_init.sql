-- Passant schema 1 (SQLite). Times are Unix milliseconds (UTC).

-- Sites, versioned: site_versions keeps every version; sites points at the
-- latest and remembers the hash of the site file last applied at start.
CREATE TABLE sites (
	site      TEXT PRIMARY KEY,
	version   INTEGER NOT NULL,
	file_hash TEXT NOT NULL DEFAULT ''
);

CREATE TABLE site_versions (
	site    TEXT NOT NULL,
	version INTEGER NOT NULL,
	source  TEXT NOT NULL,
	note    TEXT NOT NULL DEFAULT '',
	hash    TEXT NOT NULL,
	created BIGINT NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (site, version)
);

CREATE TABLE plan_images (
	site         TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	data         BLOB NOT NULL,
	updated      BIGINT NOT NULL
);

CREATE TABLE sensor_health (
	site            TEXT NOT NULL,
	sensor          TEXT NOT NULL,
	last_seen       BIGINT NOT NULL,
	batches         BIGINT NOT NULL,
	observations    BIGINT NOT NULL,
	rejected        BIGINT NOT NULL,
	lost            BIGINT NOT NULL,
	clock_offset_ms BIGINT NOT NULL,
	state           TEXT NOT NULL,
	version         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (site, sensor)
);

-- Raw observations of accepted batches, one row per observation with its
-- batch's header.
-- dev is the keyed pseudonym as a signed 64-bit integer.
CREATE TABLE observations (
	site   TEXT NOT NULL,
	t      BIGINT NOT NULL,
	dev    BIGINT NOT NULL,
	rssi   REAL NOT NULL,
	ch     SMALLINT NOT NULL,
	kind   TEXT NOT NULL,
	rand   INTEGER NOT NULL,
	seq    SMALLINT NOT NULL,
	fp     TEXT NOT NULL,
	sensor TEXT NOT NULL,
	boot   BIGINT NOT NULL,
	batch  BIGINT NOT NULL,
	sent   BIGINT NOT NULL,
	recv   BIGINT NOT NULL,
	ord    INTEGER NOT NULL
);

CREATE INDEX observations_site_t ON observations (site, t);

-- Position fixes.
CREATE TABLE positions (
	site  TEXT NOT NULL,
	t     BIGINT NOT NULL,
	track TEXT NOT NULL,
	dev   BIGINT NOT NULL,
	x     REAL NOT NULL,
	y     REAL NOT NULL,
	err   REAL NOT NULL,
	zone  TEXT NOT NULL,
	n     INTEGER NOT NULL
);

CREATE INDEX positions_site_t ON positions (site, t);

CREATE TABLE visits (
	site   TEXT NOT NULL,
	track  TEXT NOT NULL,
	zone   TEXT NOT NULL,
	start  BIGINT NOT NULL,
	stop   BIGINT NOT NULL,
	fixes  INTEGER NOT NULL,
	PRIMARY KEY (site, start, track, zone)
) WITHOUT ROWID; -- range reads by (site, start) scan the table in order

CREATE TABLE track_days (
	site  TEXT NOT NULL,
	day   TEXT NOT NULL,
	track TEXT NOT NULL,
	first BIGINT NOT NULL,
	last  BIGINT NOT NULL,
	fixes INTEGER NOT NULL,
	PRIMARY KEY (site, day, track)
);

-- Covering: range reads by first detection never visit the table.
CREATE INDEX track_days_site_first ON track_days (site, first, day, track, last, fixes);

CREATE TABLE hours (
	site  TEXT NOT NULL,
	start BIGINT NOT NULL,
	body  TEXT NOT NULL,
	PRIMARY KEY (site, start)
) WITHOUT ROWID;

CREATE TABLE transactions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	site       TEXT NOT NULL,
	t          BIGINT NOT NULL,
	amount     REAL NOT NULL,
	has_amount INTEGER NOT NULL,
	receipt    TEXT NOT NULL DEFAULT ''
);

CREATE INDEX transactions_site_t ON transactions (site, t);
CREATE UNIQUE INDEX transactions_receipt ON transactions (site, receipt) WHERE receipt <> '';

CREATE TABLE calibrations (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	site         TEXT NOT NULL,
	t            BIGINT NOT NULL,
	site_version INTEGER NOT NULL,
	sensors      TEXT NOT NULL,
	report       TEXT NOT NULL
);

CREATE INDEX calibrations_site ON calibrations (site, t);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created       BIGINT NOT NULL
);

CREATE TABLE tokens (
	hash      TEXT PRIMARY KEY,
	user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	name      TEXT NOT NULL DEFAULT '',
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	last_used BIGINT NOT NULL
);

CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE leases (
	site     TEXT PRIMARY KEY,
	owner    TEXT NOT NULL,
	acquired BIGINT NOT NULL,
	expires  BIGINT NOT NULL
);

CREATE TABLE alerts (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	site    TEXT NOT NULL,
	sensor  TEXT NOT NULL,
	kind    TEXT NOT NULL,
	message TEXT NOT NULL,
	raised  BIGINT NOT NULL,
	cleared BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX alerts_site_raised ON alerts (site, raised);
CREATE UNIQUE INDEX alerts_open ON alerts (site, sensor, kind) WHERE cleared = 0;
