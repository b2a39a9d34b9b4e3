-- 0004: cross-product correlation results.
--
-- `assets.unified_id` and `findings.unified_asset_id` (from 0001) hold each record's unified
-- asset; this table holds the evidence that linked two records of one unified asset, replaced
-- as a whole by every correlation. `evidence` is a JSON array of evidence objects, strongest
-- first (see crates/correlate).

CREATE TABLE unified_links (
    unified_id TEXT NOT NULL,
    a_source   TEXT NOT NULL,
    a_id       TEXT NOT NULL,
    b_source   TEXT NOT NULL,
    b_id       TEXT NOT NULL,
    evidence   TEXT NOT NULL
);
CREATE INDEX unified_links_id ON unified_links (unified_id);
CREATE INDEX assets_unified ON assets (unified_id);
