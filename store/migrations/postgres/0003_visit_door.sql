-- Passant schema 3 (PostgreSQL): a store visit keeps the fixes beside the
-- door (footfall.Visit's Before, Enter and After), for the report's dwell
-- estimate door to door (footfall.Build). Rows from before keep 0: their
-- estimate takes half the visit's own mean interval at either end, as
-- before.
ALTER TABLE visits ADD COLUMN out_before BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN enter BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN out_after BIGINT NOT NULL DEFAULT 0;
