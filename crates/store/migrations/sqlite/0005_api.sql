-- 0005: the read side of the REST API (crates/server): a data generation for caching, and
-- indexes that answer its listings and aggregates without reading table rows.
--
-- store_meta.generation: bumped in the same transaction as every batch and correlation, and
-- after every run begins, finishes or is closed; `Store::data_version` reads it. Readers
-- cache aggregates under it.

CREATE TABLE store_meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta (key, value) VALUES ('generation', 0);

-- Counts by source × severity × state, remediation figures and the daily trend read only
-- these columns: the index covers them (same number of entries as the index it replaces).
DROP INDEX findings_source_severity;
CREATE INDEX findings_source_severity
    ON findings (source, severity, state, first_found, last_fixed);

-- A unified asset's open findings and the score of every asset: (asset, source) → state,
-- severity without a table read.
DROP INDEX findings_asset;
CREATE INDEX findings_asset ON findings (asset_id, source, state, severity);

-- Unified assets in id order with their live records; live assets per source.
DROP INDEX assets_unified;
CREATE INDEX assets_unified ON assets (unified_id, deleted_at, source);
CREATE INDEX assets_live ON assets (source, deleted_at);
