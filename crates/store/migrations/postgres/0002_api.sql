-- 0002: the read side of the REST API: a data generation for caching (see the SQLite 0005).
--
-- store_meta.generation: bumped at the end of the transaction of every batch and correlation,
-- and when a run begins, finishes or is closed; `Store::data_version` reads it. It is updated
-- last in each transaction, so its row lock is held only until the commit.

CREATE TABLE store_meta (
    key   text   PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('generation', 0);

-- Unified assets in id order with their live records; live assets per source.
DROP INDEX assets_unified;
CREATE INDEX assets_unified ON assets (unified_id, deleted_at, source);
