-- Passant schema 4 (PostgreSQL): the heatmap's tiles of the hours that are
-- over, one row per site, hour (the site's clock hour: its start, Unix ms)
-- and kind (everyone's occupancy, or the staff's taken out of it), the
-- tile's cells in the heatmap package's encoding. A server keeps only the
-- day under way in memory and reads the past from here. About nobody
-- (person-seconds per cell); kept as long as the position fixes.
CREATE TABLE heat_tiles (
	site  TEXT NOT NULL,
	start BIGINT NOT NULL,
	staff BOOLEAN NOT NULL,
	data  BYTEA NOT NULL,
	PRIMARY KEY (site, start, staff)
);
CREATE INDEX heat_tiles_start ON heat_tiles (start);
