-- Passant schema 2 (PostgreSQL): a track-day keeps the capability
-- fingerprint and the randomised-MAC flag of its first address, for the
-- report's passers-by estimate (footfall.Build). Rows from before keep ''
-- and false: they count as tracks, as before.
ALTER TABLE track_days ADD COLUMN fp TEXT NOT NULL DEFAULT '';
ALTER TABLE track_days ADD COLUMN rand BOOLEAN NOT NULL DEFAULT FALSE;
