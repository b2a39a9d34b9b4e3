-- 0002: events (OT Security policy hits) and their per-run tallies.
--
-- Same conventions as 0001 (timestamps, lists as JSON text, `raw` LZ4 without dictionary).
-- Events are keyed by their source-native id; a later sync may update one (e.g. `resolved`).

CREATE TABLE events (
    source       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    time,
    event_type   TEXT,
    category     TEXT,
    -- 0 info … 4 critical; NULL when the source gives none
    severity     INTEGER,
    description  TEXT,
    policy       TEXT,
    src_ip       TEXT,
    dst_ip       TEXT,
    src_mac      TEXT,
    dst_mac      TEXT,
    protocol     TEXT,
    port         INTEGER,
    -- JSON array of source-native asset ids
    asset_ids    TEXT,
    resolved     INTEGER NOT NULL DEFAULT 0,
    raw          BLOB,
    run_id       INTEGER NOT NULL,
    first_run_id INTEGER NOT NULL,
    updated_at           NOT NULL
);
CREATE UNIQUE INDEX events_key ON events (source, id);
CREATE INDEX events_time ON events (source, time);
CREATE INDEX events_run ON events (run_id);

ALTER TABLE runs ADD COLUMN events_expected INTEGER;
ALTER TABLE runs ADD COLUMN events_stored INTEGER NOT NULL DEFAULT 0;
