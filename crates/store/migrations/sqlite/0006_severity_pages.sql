-- 0006: findings pages filtered by severity and state. With `id` after (source, severity,
-- state), each (source, severity, state) combination is an index range in id order: a page
-- of a filter that matches few findings no longer walks the whole (source, id) index (see
-- `combo_walk` in src/sqlite/read.rs). The aggregates of 0005 still read only this index.

DROP INDEX findings_source_severity;
CREATE INDEX findings_source_severity
    ON findings (source, severity, state, id, first_found, last_fixed);
