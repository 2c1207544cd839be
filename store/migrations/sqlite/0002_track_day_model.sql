-- Passant schema 2 (SQLite): a track-day keeps the capability fingerprint
-- and the randomised-MAC flag of its first address, for the report's
-- passers-by estimate (footfall.Build). Rows from before keep '' and 0:
-- they count as tracks, as before.
ALTER TABLE track_days ADD COLUMN fp TEXT NOT NULL DEFAULT '';
ALTER TABLE track_days ADD COLUMN rand INTEGER NOT NULL DEFAULT 0;

-- Covering, with the new columns.
DROP INDEX track_days_site_first;
CREATE INDEX track_days_site_first ON track_days (site, first, day, track, last, fixes, fp, rand);
