-- 0007: planner statistics for the indexes 0005 and 0006 replaced. Without them SQLite may
-- pick findings_source_severity (source = ?) over findings_asset (asset_id = ? AND source = ?)
-- and scan a whole source per asset. Sampled (`PRAGMA analysis_limit`, set before migrating):
-- quick on large stores; `PRAGMA optimize` after every run keeps them current.
ANALYZE;
