-- 0001: the initial tenax schema. Never edit a released migration: add 0002_….sql instead.
--
-- Conventions (see crates/store/README.md):
--   * timestamps: INTEGER nanoseconds since the Unix epoch (UTC); a value outside the i64
--     nanosecond range (before 1677-09-21 or after 2262-04-11) or a leap second is stored as
--     TEXT '<seconds>:<nanoseconds>'. Columns are declared without a type so that SQLite never
--     converts between the two.
--   * lists and maps: JSON text; an empty list or map is NULL.
--   * `raw`: the source record's JSON text, LZ4 block-compressed, prefixed with its
--     uncompressed length as a little-endian u32; NULL when no raw record was given (empty
--     text, or an asset stub written by a deletion).
--   * assets and findings are rowid tables: new rows get the next rowid, so inserts append to
--     the table B-tree (random row keys cost 3-7x for rows of a few KB). The natural key
--     (source, id) is a UNIQUE index, which also serves the (source, id) ordering of reads.

CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    source            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    started_at                NOT NULL,
    finished_at,
    assets_expected   INTEGER,
    assets_stored     INTEGER NOT NULL DEFAULT 0,
    findings_expected INTEGER,
    findings_stored   INTEGER NOT NULL DEFAULT 0,
    deleted_assets    INTEGER NOT NULL DEFAULT 0,
    message           TEXT,
    details           TEXT    NOT NULL DEFAULT 'null'
);
CREATE INDEX runs_source ON runs (source, id);

-- LZ4 dictionaries for the raw JSON of findings: the first raw record stored for a plugin of a
-- source. Findings of one plugin repeat its whole description, solution, CVSS and VPR blocks,
-- so compressing each against such a record stores mostly what differs. Rows are immutable and
-- never deleted while a finding refers to them. `data` is in the `raw` format without a
-- dictionary.
CREATE TABLE raw_dicts (
    id         INTEGER PRIMARY KEY,
    source     TEXT    NOT NULL,
    plugin_id  INTEGER NOT NULL,
    data       BLOB    NOT NULL,
    created_at         NOT NULL
);
CREATE INDEX raw_dicts_plugin ON raw_dicts (source, plugin_id);

CREATE TABLE checkpoints (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at      NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;

CREATE TABLE assets (
    source            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    kind              TEXT,
    unified_id        TEXT,
    name              TEXT,
    hostnames         TEXT,
    fqdns             TEXT,
    ipv4s             TEXT,
    ipv6s             TEXT,
    macs              TEXT,
    operating_systems TEXT,
    asset_type        TEXT,
    vendor            TEXT,
    model             TEXT,
    firmware          TEXT,
    first_seen,
    last_seen,
    tags              TEXT,
    risk              REAL,
    deleted_at,
    -- lowercase name, host names, FQDNs, IPv4s and MACs, one per line: the `search` filter
    search            TEXT,
    raw               BLOB,
    run_id            INTEGER NOT NULL,
    first_run_id      INTEGER NOT NULL,
    updated_at                NOT NULL
);
CREATE UNIQUE INDEX assets_key ON assets (source, id);
CREATE INDEX assets_run ON assets (run_id);

CREATE TABLE findings (
    source            TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    asset_id          TEXT    NOT NULL,
    unified_asset_id  TEXT,
    plugin_id         INTEGER NOT NULL,
    -- 0 info … 4 critical
    severity          INTEGER NOT NULL,
    state             TEXT    NOT NULL,
    port              INTEGER NOT NULL,
    protocol          TEXT    NOT NULL,
    -- JSON array of the CVE ids as given; the `cve` filter matches a JSON-encoded element
    cves              TEXT,
    cvss3_base_score  REAL,
    cvss2_base_score  REAL,
    vpr_score         REAL,
    first_found,
    last_found,
    last_fixed,
    run_id            INTEGER NOT NULL,
    first_run_id      INTEGER NOT NULL,
    updated_at                NOT NULL,
    plugin_name       TEXT,
    plugin_family     TEXT,
    service           TEXT,
    hostname          TEXT,
    ipv4              TEXT,
    synopsis          TEXT,
    solution          TEXT,
    output            TEXT,
    raw               BLOB,
    -- the raw_dicts row `raw` was compressed against; NULL: compressed on its own
    raw_dict          INTEGER
);
CREATE UNIQUE INDEX findings_key ON findings (source, id);
-- severity and state in one index: state has three values, an index of its own costs a write
-- per row for little selectivity
CREATE INDEX findings_source_severity ON findings (source, severity, state);
CREATE INDEX findings_plugin ON findings (plugin_id);
CREATE INDEX findings_asset ON findings (asset_id);
CREATE INDEX findings_run ON findings (run_id);
