//! The write path: runs, batches, checkpoints.
//!
//! A batch is one `BEGIN IMMEDIATE` transaction, validated before anything is written.
//!
//! Findings, the bulk of the data, are written in `id` order. Each is looked up by its natural
//! key `(source, id)` (the UNIQUE index), then
//! * inserted when new — the table takes the next rowid, so the big rows append to the table
//!   B-tree instead of splitting pages all over it;
//! * updated in place by rowid when known — with a statement that leaves the severity, state,
//!   plugin and asset indexes alone when those values did not change (the common case when a
//!   sync sees a finding again), so only the row and its `run_id` entry are rewritten.
//!
//! The raw JSON of findings is LZ4-compressed against a per-`(source, plugin)` dictionary (see
//! `raw_dicts` in the schema) on a helper thread while the main thread writes the rows.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, mpsc};

use chrono::Utc;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};
use tenax_model::{FindingState, SourceKind};

use super::codec::{self, list_value, map_value, opt_ts_value, ts_value};
use crate::{
    AssetRow, Batch, BatchOutcome, Change, Error, EventRow, FindingRow, Result, RunId, RunMode,
    RunReport, RunStatus,
};

/// Columns written for a finding, in bind order (`?1` …). `first_run_id` takes `run_id`'s value
/// on insert and is never updated.
const FINDING_COLUMNS: &[&str] = &[
    "source",
    "id",
    "kind",
    "asset_id",
    "unified_asset_id",
    "plugin_id",
    "severity",
    "state",
    "port",
    "protocol",
    "cves",
    "cvss3_base_score",
    "cvss2_base_score",
    "vpr_score",
    "first_found",
    "last_found",
    "last_fixed",
    "run_id",
    "updated_at",
    "plugin_name",
    "plugin_family",
    "service",
    "hostname",
    "ipv4",
    "synopsis",
    "solution",
    "output",
    "raw",
    "raw_dict",
];

/// Finding columns with an index of their own (besides `(source, id)` and `run_id`). An update
/// that leaves them unchanged does not set them, so SQLite skips those indexes.
const FINDING_INDEXED: &[&str] = &[
    "severity",
    "state",
    "plugin_id",
    "asset_id",
    // in the covering (source, severity, state, first_found, last_fixed) index (0005)
    "first_found",
    "last_fixed",
];

/// Columns written for an asset, in bind order.
const ASSET_COLUMNS: &[&str] = &[
    "source",
    "id",
    "kind",
    "unified_id",
    "name",
    "hostnames",
    "fqdns",
    "ipv4s",
    "ipv6s",
    "macs",
    "operating_systems",
    "asset_type",
    "vendor",
    "model",
    "firmware",
    "first_seen",
    "last_seen",
    "tags",
    "risk",
    "deleted_at",
    "search",
    "raw",
    "run_id",
    "updated_at",
];

/// Batches smaller than this compress on the writing thread.
const PIPELINE_MIN_ROWS: usize = 64;

/// Dictionaries kept in memory, at most (bytes); the cache is emptied when it grows past this.
const DICT_CACHE_BYTES: usize = 64 << 20;

/// The SQL of the finding write path, built once.
struct FindingSql {
    lookup: &'static str,
    insert: String,
    update_all: String,
    update_same_keys: String,
}

fn finding_sql() -> &'static FindingSql {
    static SQL: OnceLock<FindingSql> = OnceLock::new();
    SQL.get_or_init(|| {
        let cols = FINDING_COLUMNS;
        let run = position(cols, "run_id");
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let update = |skip: &[&str]| {
            let sets: Vec<String> = cols
                .iter()
                .enumerate()
                .filter(|(_, c)| !matches!(**c, "source" | "id") && !skip.contains(c))
                .map(|(i, c)| format!("{c} = ?{}", i + 1))
                .collect();
            format!(
                "UPDATE findings SET {} WHERE rowid = ?{}",
                sets.join(", "),
                cols.len() + 1
            )
        };
        FindingSql {
            lookup: "SELECT rowid, severity, state, plugin_id, asset_id, first_found, last_fixed \
                     FROM findings WHERE source = ?1 AND id = ?2",
            insert: format!(
                "INSERT INTO findings ({}, first_run_id) VALUES ({}, ?{run})",
                cols.join(", "),
                marks.join(", ")
            ),
            update_all: update(&[]),
            update_same_keys: update(FINDING_INDEXED),
        }
    })
}

/// `INSERT … ON CONFLICT (source, id) DO UPDATE` of every asset column but the key.
fn asset_upsert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| upsert_sql("assets", ASSET_COLUMNS))
}

/// `INSERT INTO table (cols…, first_run_id) … ON CONFLICT (source, id) DO UPDATE` of every
/// column but the key; `first_run_id` takes `run_id`'s value on insert and is never updated.
fn upsert_sql(table: &str, cols: &[&str]) -> String {
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| !matches!(**c, "source" | "id"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}, first_run_id) VALUES ({}, ?{}) \
         ON CONFLICT (source, id) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        position(cols, "run_id"),
        updates.join(", ")
    )
}

/// 1-based position of `name` in `cols` (0 if absent, which no caller passes).
fn position(cols: &[&str], name: &str) -> usize {
    cols.iter().position(|c| *c == name).map_or(0, |i| i + 1)
}

/// A compression dictionary: a row of `raw_dicts`.
#[derive(Debug)]
pub(crate) struct Dict {
    pub(crate) id: i64,
    pub(crate) data: Vec<u8>,
}

/// The dictionaries a writer has used, per source and plugin. Dictionaries are immutable, so a
/// cached one never goes stale; only dictionaries that are committed enter the cache.
#[derive(Debug, Default)]
pub(crate) struct DictCache {
    by_source: HashMap<String, HashMap<i64, Arc<Dict>>>,
    bytes: usize,
}

impl DictCache {
    pub(crate) fn get(&self, source: &str, plugin: i64) -> Option<Arc<Dict>> {
        self.by_source.get(source)?.get(&plugin).cloned()
    }

    pub(crate) fn insert(&mut self, source: &str, plugin: i64, dict: Arc<Dict>) {
        if self.bytes > DICT_CACHE_BYTES {
            self.by_source.clear();
            self.bytes = 0;
        }
        self.bytes += dict.data.len();
        self.by_source
            .entry(source.to_owned())
            .or_default()
            .insert(plugin, dict);
    }
}

pub(super) fn begin_run(
    conn: &Connection,
    source: &str,
    kind: SourceKind,
    mode: RunMode,
) -> Result<RunId> {
    let now = ts_value(&Utc::now());
    let mut stmt = conn.prepare_cached(
        "INSERT INTO runs (source, kind, mode, status, started_at, details) \
         VALUES (?1, ?2, ?3, 'running', ?4, 'null') RETURNING id",
    )?;
    let id = stmt.query_row(params![source, kind.as_str(), mode.as_str(), now], |r| {
        r.get(0)
    })?;
    Ok(RunId(id))
}

pub(super) fn finish_run(conn: &Connection, run: RunId, report: &RunReport) -> Result<()> {
    let status = match report.status {
        None | Some(RunStatus::Running) => {
            return Err(Error::Config(format!(
                "run {run} must finish with a final status (succeeded, partial or failed), not {}",
                report.status.map_or("none", RunStatus::as_str)
            )));
        }
        Some(s) => s,
    };
    let details = serde_json::to_string(&report.details)
        .map_err(|e| Error::Config(format!("run {run}: cannot encode details: {e}")))?;
    let n = conn
        .prepare_cached(
            "UPDATE runs SET status = ?2, finished_at = ?3, assets_expected = ?4, \
             assets_stored = ?5, findings_expected = ?6, findings_stored = ?7, \
             deleted_assets = ?8, message = ?9, details = ?10, events_expected = ?11, \
             events_stored = ?12 WHERE id = ?1",
        )?
        .execute(params![
            run.0,
            status.as_str(),
            ts_value(&Utc::now()),
            report
                .assets
                .expected
                .map(|n| count(n, "assets expected"))
                .transpose()?,
            count(report.assets.stored, "assets stored")?,
            report
                .findings
                .expected
                .map(|n| count(n, "findings expected"))
                .transpose()?,
            count(report.findings.stored, "findings stored")?,
            count(report.deleted_assets, "deleted assets")?,
            report.message,
            details,
            report
                .events
                .expected
                .map(|n| count(n, "events expected"))
                .transpose()?,
            count(report.events.stored, "events stored")?,
        ])?;
    if n == 0 {
        return Err(Error::NotFound(format!("run {run}")));
    }
    Ok(())
}

pub(super) fn close_stale_runs(conn: &Connection, source: &str, message: &str) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE runs SET status = 'failed', finished_at = ?3, message = ?2 \
             WHERE source = ?1 AND status = 'running'",
        )?
        .execute(params![source, message, ts_value(&Utc::now())])?;
    Ok(n as u64)
}

/// Moves `store_meta.generation` on (see migration 0005 and `Store::data_version`).
pub(super) fn bump_generation(conn: &Connection) -> Result<()> {
    conn.prepare_cached("UPDATE store_meta SET value = value + 1 WHERE key = 'generation'")?
        .execute([])?;
    Ok(())
}

pub(crate) fn count(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Config(format!("{what} count {n} is too large to store")))
}

/// Checks the batch against the rules of [`crate::Store::apply_batch`] that need no database.
pub(crate) fn validate(source: &str, batch: &Batch) -> Result<()> {
    let rows = batch
        .findings
        .iter()
        .map(|r| ("finding", &r.finding.source, &r.finding.id))
        .chain(
            batch
                .assets
                .iter()
                .map(|r| ("asset", &r.asset.source, &r.asset.id)),
        )
        .chain(
            batch
                .events
                .iter()
                .map(|r| ("event", &r.event.source, &r.event.id)),
        );
    for (what, row_source, id) in rows {
        if row_source != source {
            return Err(Error::Config(format!(
                "batch for source `{source}`: {what} `{id}` belongs to source `{row_source}`"
            )));
        }
        if id.is_empty() {
            return Err(Error::Config(format!(
                "batch for source `{source}`: a {what} has an empty id"
            )));
        }
    }
    if batch.deleted_assets.iter().any(|(id, _)| id.is_empty()) {
        return Err(Error::Config(format!(
            "batch for source `{source}`: a deleted asset has an empty id"
        )));
    }
    if batch.checkpoint.iter().any(|(key, _)| key.is_empty()) {
        return Err(Error::Config(format!(
            "batch for source `{source}`: a checkpoint update has an empty key"
        )));
    }
    Ok(())
}

/// The kind of the run a batch is written by, which must exist, belong to the batch's source and
/// be running; and every row must be of that kind.
fn run_kind(conn: &Connection, run: RunId, source: &str, batch: &Batch) -> Result<SourceKind> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT source, kind, status FROM runs WHERE id = ?1")?
        .query_row([run.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(|e| codec::corrupt("runs", format!("run {run}: {e}")))?;
    let Some((run_source, kind, status)) = row else {
        return Err(Error::NotFound(format!("run {run}")));
    };
    if run_source != source {
        return Err(Error::Config(format!(
            "run {run} belongs to source `{run_source}`, not `{source}`"
        )));
    }
    if status != RunStatus::Running.as_str() {
        return Err(Error::Config(format!(
            "run {run} of source `{source}` is {status}, not running: it takes no more batches"
        )));
    }
    let kind: SourceKind = kind
        .parse()
        .map_err(|e| codec::corrupt("runs", format!("kind of run {run}: {e}")))?;
    check_kinds(kind, source, batch)?;
    Ok(kind)
}

/// Every row of a batch must be of the run's kind (an asset's kind may be `None`).
pub(crate) fn check_kinds(kind: SourceKind, source: &str, batch: &Batch) -> Result<()> {
    let kinds = batch
        .findings
        .iter()
        .map(|r| ("finding", &r.finding.id, Some(r.finding.kind)))
        .chain(
            batch
                .assets
                .iter()
                .map(|r| ("asset", &r.asset.id, r.asset.kind)),
        )
        .chain(
            batch
                .events
                .iter()
                .map(|r| ("event", &r.event.id, Some(r.event.kind))),
        );
    for (what, id, row_kind) in kinds {
        if let Some(k) = row_kind.filter(|k| *k != kind) {
            return Err(Error::Config(format!(
                "batch for {kind} source `{source}`: {what} `{id}` is of kind {k}"
            )));
        }
    }
    Ok(())
}

pub(super) fn apply_batch(
    conn: &mut Connection,
    dicts: &mut DictCache,
    run: RunId,
    source: &str,
    batch: &Batch,
) -> Result<BatchOutcome> {
    validate(source, batch)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let kind = run_kind(&tx, run, source, batch)?;
    let now = ts_value(&Utc::now());
    let mut new_dicts = HashMap::new();
    if !batch.findings.is_empty() {
        write_findings(
            &tx,
            dicts,
            &mut new_dicts,
            source,
            run,
            &now,
            &batch.findings,
        )?;
    }
    if !batch.assets.is_empty() {
        write_assets(&tx, run, &now, &batch.assets)?;
    }
    if !batch.events.is_empty() {
        write_events(&tx, run, &now, &batch.events)?;
    }
    if !batch.deleted_assets.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO assets (source, id, kind, deleted_at, run_id, first_run_id, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) \
             ON CONFLICT (source, id) DO UPDATE SET deleted_at = excluded.deleted_at, \
             run_id = excluded.run_id, updated_at = excluded.updated_at",
        )?;
        let mut was_live = tx.prepare_cached(
            "SELECT deleted_at IS NULL FROM assets WHERE source = ?1 AND id = ?2",
        )?;
        let mut gone = tx.prepare_cached(
            "INSERT INTO finding_history \
             (source, finding_id, run_id, at, change, from_state, to_state) \
             SELECT source, id, ?3, ?4, 'gone', state, state FROM findings \
             WHERE source = ?1 AND asset_id = ?2",
        )?;
        for (id, when) in &batch.deleted_assets {
            // Only the deletion of a live (or unknown) asset is news for its findings.
            let live: Option<bool> = was_live
                .query_row(params![source, id], |r| r.get(0))
                .optional()?;
            if live != Some(false) {
                gone.execute(params![source, id, run.0, ts_value(when)])?;
            }
            stmt.execute(params![
                source,
                id,
                kind.as_str(),
                ts_value(when),
                run.0,
                now
            ])?;
        }
    }
    for (key, value) in &batch.checkpoint {
        match value {
            Some(v) => {
                let text = serde_json::to_string(v).map_err(|e| {
                    Error::Config(format!(
                        "checkpoint `{key}` of `{source}`: cannot encode: {e}"
                    ))
                })?;
                tx.prepare_cached(
                    "INSERT INTO checkpoints (source, key, value, updated_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, \
                     updated_at = excluded.updated_at",
                )?
                .execute(params![source, key, text, now])?;
            }
            None => {
                tx.prepare_cached("DELETE FROM checkpoints WHERE source = ?1 AND key = ?2")?
                    .execute(params![source, key])?;
            }
        }
    }
    bump_generation(&tx)?;
    tx.commit()?;
    for (plugin, dict) in new_dicts {
        dicts.insert(source, plugin, dict);
    }
    Ok(BatchOutcome {
        assets: batch.assets.len() as u64,
        findings: batch.findings.len() as u64,
        deleted_assets: batch.deleted_assets.len() as u64,
        events: batch.events.len() as u64,
    })
}

/// Row indexes sorted by id; equal ids keep their batch order, so the last version wins.
pub(crate) fn id_order<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| id(&rows[a]).cmp(id(&rows[b])));
    order
}

/// The dictionary to compress a finding's raw JSON against: the cached or stored one of its
/// plugin, or a new one made from this very record (recorded in `new_dicts` until commit).
fn dict_for(
    tx: &Connection,
    dicts: &mut DictCache,
    new_dicts: &mut HashMap<i64, Arc<Dict>>,
    source: &str,
    row: &FindingRow,
    scratch: &mut Vec<u8>,
) -> Result<Arc<Dict>> {
    let plugin = row.finding.plugin_id;
    if let Some(d) = new_dicts
        .get(&plugin)
        .cloned()
        .or_else(|| dicts.get(source, plugin))
    {
        return Ok(d);
    }
    let stored: Option<(i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT id, data FROM raw_dicts WHERE source = ?1 AND plugin_id = ?2 \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![source, plugin], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((id, blob)) = stored {
        let data = codec::decompress(&blob, None).map_err(|reason| {
            codec::corrupt(
                "raw_dicts",
                format!("dictionary {id} of plugin {plugin}: {reason}"),
            )
        })?;
        let dict = Arc::new(Dict { id, data });
        // Committed by an earlier transaction: safe to cache even if this batch rolls back.
        dicts.insert(source, plugin, dict.clone());
        return Ok(dict);
    }
    let data = row.raw.as_bytes().to_vec();
    codec::compress_raw(&data, None, scratch)?;
    tx.prepare_cached(
        "INSERT INTO raw_dicts (source, plugin_id, data, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        source,
        plugin,
        scratch.as_slice(),
        ts_value(&Utc::now())
    ])?;
    let dict = Arc::new(Dict {
        id: tx.last_insert_rowid(),
        data,
    });
    new_dicts.insert(plugin, dict.clone());
    Ok(dict)
}

/// A finding's raw JSON, compressed, with the dictionary used; `None` when there is no raw text.
type Compressed = Option<(Vec<u8>, i64)>;

fn compress_one(raw: &str, dict: Option<&Dict>, scratch: &mut Vec<u8>) -> Result<Compressed> {
    let Some(dict) = dict else {
        return Ok(None);
    };
    let blob = codec::compress_raw_into(raw.as_bytes(), Some(&dict.data), scratch)?;
    Ok(Some((blob.to_vec(), dict.id)))
}

fn write_findings(
    tx: &Connection,
    dicts: &mut DictCache,
    new_dicts: &mut HashMap<i64, Arc<Dict>>,
    source: &str,
    run: RunId,
    now: &Value,
    rows: &[FindingRow],
) -> Result<()> {
    let order = id_order(rows, |r| &r.finding.id);
    let mut scratch = Vec::new();
    let mut jobs: Vec<(&str, Option<Arc<Dict>>)> = Vec::with_capacity(order.len());
    for &i in &order {
        let row = &rows[i];
        let dict = if row.raw.trim().is_empty() {
            None
        } else {
            Some(dict_for(tx, dicts, new_dicts, source, row, &mut scratch)?)
        };
        jobs.push((&row.raw, dict));
    }

    let sql = finding_sql();
    let mut stmts = FindingStatements {
        history: tx.prepare_cached(
            "INSERT INTO finding_history \
             (source, finding_id, run_id, at, change, from_state, to_state) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?,
        lookup: tx.prepare_cached(sql.lookup)?,
        insert: tx.prepare_cached(&sql.insert)?,
        update_all: tx.prepare_cached(&sql.update_all)?,
        update_same_keys: tx.prepare_cached(&sql.update_same_keys)?,
    };
    if order.len() < PIPELINE_MIN_ROWS {
        for (&i, (raw, dict)) in order.iter().zip(&jobs) {
            let blob = compress_one(raw, dict.as_deref(), &mut scratch)?;
            write_finding(&mut stmts, &rows[i], run, now, blob)?;
        }
        return Ok(());
    }
    // Compress on a helper thread, in order, while this thread writes.
    std::thread::scope(|scope| {
        let (send, receive) = mpsc::sync_channel::<Result<Compressed>>(512);
        let compress = move || {
            let mut scratch = Vec::new();
            for (raw, dict) in jobs {
                if send
                    .send(compress_one(raw, dict.as_deref(), &mut scratch))
                    .is_err()
                {
                    break; // the writer stopped on an error
                }
            }
        };
        std::thread::Builder::new()
            .name("tenax-compress".to_owned())
            .spawn_scoped(scope, compress)
            .map_err(|e| Error::Config(format!("cannot start the compression thread: {e}")))?;
        for &i in &order {
            let blob = receive.recv().map_err(|_| {
                Error::Config("the raw compression thread stopped early".to_owned())
            })??;
            write_finding(&mut stmts, &rows[i], run, now, blob)?;
        }
        Ok(())
    })
}

struct FindingStatements<'c> {
    history: CachedStatement<'c>,
    lookup: CachedStatement<'c>,
    insert: CachedStatement<'c>,
    update_all: CachedStatement<'c>,
    update_same_keys: CachedStatement<'c>,
}

/// Inserts a finding, or updates the stored one by rowid (see the module docs).
fn write_finding(
    s: &mut FindingStatements<'_>,
    row: &FindingRow,
    run: RunId,
    now: &Value,
    blob: Compressed,
) -> Result<()> {
    let f = &row.finding;
    s.lookup.raw_bind_parameter(1, f.source.as_str())?;
    s.lookup.raw_bind_parameter(2, f.id.as_str())?;
    let mut old_state = None;
    let existing = {
        let mut rows = s.lookup.raw_query();
        match rows.next()? {
            None => None,
            Some(old) => {
                let rowid = codec::int_from(codec::col(old, 0, "findings")?, "findings", "rowid")?;
                let state = old.get_ref(2)?.as_str().ok();
                let same_keys = old.get_ref(1)? == ValueRef::Integer(f.severity.id())
                    && state == Some(f.state.as_str())
                    && old.get_ref(3)? == ValueRef::Integer(f.plugin_id)
                    && old.get_ref(4)?.as_str().ok() == Some(f.asset_id.as_str())
                    && old.get_ref(5)? == ValueRef::from(&opt_ts_value(f.first_found.as_ref()))
                    && old.get_ref(6)? == ValueRef::from(&opt_ts_value(f.last_fixed.as_ref()));
                if state != Some(f.state.as_str()) {
                    old_state = Some(codec::state_from(
                        codec::col(old, 2, "findings")?,
                        "findings",
                        "state",
                    )?);
                }
                Some((rowid, same_keys))
            }
        }
    };
    if let Some(change) = old_state.and_then(|from| Change::between(from, f.state)) {
        // By the source's clock: a fix when it was fixed, a reopen when it was seen again.
        let at = match change {
            Change::Fixed => f.last_fixed,
            _ => f.last_found,
        };
        s.history.execute(params![
            f.source,
            f.id,
            run.0,
            at.as_ref().map_or_else(|| now.clone(), ts_value),
            change.as_str(),
            old_state.map(FindingState::as_str),
            f.state.as_str(),
        ])?;
    }
    let stmt = match existing {
        None => &mut s.insert,
        Some((_, true)) => &mut s.update_same_keys,
        Some((_, false)) => &mut s.update_all,
    };
    let mut b = Binder::new(stmt);
    b.bind(f.source.as_str())?;
    b.bind(f.id.as_str())?;
    b.bind(f.kind.as_str())?;
    b.bind(f.asset_id.as_str())?;
    b.bind(f.unified_asset_id.as_deref())?;
    b.bind(f.plugin_id)?;
    b.bind(f.severity.id())?;
    b.bind(f.state.as_str())?;
    b.bind(f.port)?;
    b.bind(f.protocol.as_str())?;
    b.bind(list_value(&f.cves)?)?;
    b.bind(f.cvss3_base_score)?;
    b.bind(f.cvss2_base_score)?;
    b.bind(f.vpr_score)?;
    b.bind(opt_ts_value(f.first_found.as_ref()))?;
    b.bind(opt_ts_value(f.last_found.as_ref()))?;
    b.bind(opt_ts_value(f.last_fixed.as_ref()))?;
    b.bind(run.0)?;
    b.bind(now)?;
    b.bind(f.plugin_name.as_deref())?;
    b.bind(f.plugin_family.as_deref())?;
    b.bind(f.service.as_deref())?;
    b.bind(f.hostname.as_deref())?;
    b.bind(f.ipv4.as_deref())?;
    b.bind(f.synopsis.as_deref())?;
    b.bind(f.solution.as_deref())?;
    b.bind(f.output.as_deref())?;
    match &blob {
        Some((data, dict)) => {
            b.bind(data.as_slice())?;
            b.bind(*dict)?;
        }
        None => {
            b.bind(Value::Null)?;
            b.bind(Value::Null)?;
        }
    }
    b.done(FINDING_COLUMNS);
    if let Some((rowid, _)) = existing {
        stmt.raw_bind_parameter(FINDING_COLUMNS.len() + 1, rowid)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

fn write_assets(tx: &Connection, run: RunId, now: &Value, rows: &[AssetRow]) -> Result<()> {
    let mut stmt = tx.prepare_cached(asset_upsert_sql())?;
    let mut scratch = Vec::new();
    for i in id_order(rows, |r| &r.asset.id) {
        let AssetRow { asset: a, raw } = &rows[i];
        let mut b = Binder::new(&mut stmt);
        b.bind(a.source.as_str())?;
        b.bind(a.id.as_str())?;
        b.bind(a.kind.map(SourceKind::as_str))?;
        b.bind(a.unified_id.as_deref())?;
        b.bind(a.name.as_deref())?;
        b.bind(list_value(&a.hostnames)?)?;
        b.bind(list_value(&a.fqdns)?)?;
        b.bind(list_value(&a.ipv4s)?)?;
        b.bind(list_value(&a.ipv6s)?)?;
        b.bind(list_value(&a.macs)?)?;
        b.bind(list_value(&a.operating_systems)?)?;
        b.bind(a.asset_type.as_deref())?;
        b.bind(a.vendor.as_deref())?;
        b.bind(a.model.as_deref())?;
        b.bind(a.firmware.as_deref())?;
        b.bind(opt_ts_value(a.first_seen.as_ref()))?;
        b.bind(opt_ts_value(a.last_seen.as_ref()))?;
        b.bind(map_value(&a.tags)?)?;
        b.bind(a.risk)?;
        b.bind(opt_ts_value(a.deleted_at.as_ref()))?;
        b.bind(search_text(a))?;
        if raw.trim().is_empty() {
            b.bind(Value::Null)?;
        } else {
            codec::compress_raw(raw.as_bytes(), None, &mut scratch)?;
            b.bind(scratch.as_slice())?;
        }
        b.bind(run.0)?;
        b.bind(now)?;
        b.done(ASSET_COLUMNS);
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Columns written for an event, in bind order.
const EVENT_COLUMNS: &[&str] = &[
    "source",
    "id",
    "kind",
    "time",
    "event_type",
    "category",
    "severity",
    "description",
    "policy",
    "src_ip",
    "dst_ip",
    "src_mac",
    "dst_mac",
    "protocol",
    "port",
    "asset_ids",
    "resolved",
    "raw",
    "run_id",
    "updated_at",
];

/// `INSERT … ON CONFLICT (source, id) DO UPDATE` of every event column but the key. Events
/// are few next to findings (a policy hit each), so the plain upsert is fast enough.
fn event_upsert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| upsert_sql("events", EVENT_COLUMNS))
}

fn write_events(tx: &Connection, run: RunId, now: &Value, rows: &[EventRow]) -> Result<()> {
    let mut stmt = tx.prepare_cached(event_upsert_sql())?;
    let mut scratch = Vec::new();
    for i in id_order(rows, |r| &r.event.id) {
        let EventRow { event: e, raw } = &rows[i];
        let mut b = Binder::new(&mut stmt);
        b.bind(e.source.as_str())?;
        b.bind(e.id.as_str())?;
        b.bind(e.kind.as_str())?;
        b.bind(opt_ts_value(e.time.as_ref()))?;
        b.bind(e.event_type.as_deref())?;
        b.bind(e.category.as_deref())?;
        b.bind(e.severity.map(|s| s.id()))?;
        b.bind(e.description.as_deref())?;
        b.bind(e.policy.as_deref())?;
        b.bind(e.src_ip.as_deref())?;
        b.bind(e.dst_ip.as_deref())?;
        b.bind(e.src_mac.as_deref())?;
        b.bind(e.dst_mac.as_deref())?;
        b.bind(e.protocol.as_deref())?;
        b.bind(e.port)?;
        b.bind(list_value(&e.asset_ids)?)?;
        b.bind(e.resolved)?;
        if raw.trim().is_empty() {
            b.bind(Value::Null)?;
        } else {
            codec::compress_raw(raw.as_bytes(), None, &mut scratch)?;
            b.bind(scratch.as_slice())?;
        }
        b.bind(run.0)?;
        b.bind(now)?;
        b.done(EVENT_COLUMNS);
        stmt.raw_execute()?;
    }
    Ok(())
}

pub(super) fn apply_correlation(
    conn: &mut Connection,
    assignments: &[crate::Assignment],
    links: &[crate::UnifiedLink],
) -> Result<crate::CorrelationWrite> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = crate::CorrelationWrite::default();
    {
        let mut asset = tx.prepare_cached(
            "UPDATE assets SET unified_id = ?3 WHERE source = ?1 AND id = ?2 \
             AND unified_id IS NOT ?3",
        )?;
        for a in assignments {
            out.assets_changed += asset.execute(params![a.source, a.id, a.unified_id])? as u64;
        }
        tx.execute("DELETE FROM unified_links", [])?;
        let mut link = tx.prepare_cached(
            "INSERT INTO unified_links (unified_id, a_source, a_id, b_source, b_id, evidence) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for l in links {
            let evidence = l.evidence.get();
            link.execute(params![l.unified_id, l.a.0, l.a.1, l.b.0, l.b.1, evidence])?;
            out.links += 1;
        }
    }
    bump_generation(&tx)?;
    tx.commit()?;
    Ok(out)
}

/// `now + ttl` (saturating far in the future).
pub(crate) fn lease_expiry(
    now: chrono::DateTime<Utc>,
    ttl: std::time::Duration,
) -> chrono::DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

pub(super) fn acquire_lease(
    conn: &mut Connection,
    source: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> Result<crate::LeaseAttempt> {
    if source.is_empty() || holder.is_empty() {
        return Err(Error::Config(
            "a lease needs a source and a holder name".to_owned(),
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = Utc::now();
    let expires = lease_expiry(now, ttl);
    let taken = tx
        .prepare_cached(
            "INSERT INTO leases (source, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, \
             acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at \
             ELSE excluded.acquired_at END, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at",
        )?
        .execute(params![source, holder, ts_value(&now), ts_value(&expires)])?;
    let current = super::read::lease(&tx, source)?
        .ok_or_else(|| Error::NotFound(format!("lease of `{source}` after taking it")))?;
    tx.commit()?;
    Ok(if taken > 0 {
        crate::LeaseAttempt::Acquired(current)
    } else {
        crate::LeaseAttempt::Held(current)
    })
}

pub(super) fn renew_lease(
    conn: &Connection,
    source: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> Result<Option<crate::Lease>> {
    let now = Utc::now();
    let expires = lease_expiry(now, ttl);
    let n = conn
        .prepare_cached("UPDATE leases SET expires_at = ?3 WHERE source = ?1 AND holder = ?2")?
        .execute(params![source, holder, ts_value(&expires)])?;
    Ok((n > 0).then(|| crate::Lease {
        source: source.to_owned(),
        holder: holder.to_owned(),
        expires_at: expires,
    }))
}

pub(super) fn release_lease(conn: &Connection, source: &str, holder: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM leases WHERE source = ?1 AND holder = ?2")?
        .execute(params![source, holder])?;
    Ok(n > 0)
}

/// Binds parameters in column order from `?1`.
struct Binder<'s, 'c> {
    stmt: &'s mut CachedStatement<'c>,
    next: usize,
}

impl<'s, 'c> Binder<'s, 'c> {
    fn new(stmt: &'s mut CachedStatement<'c>) -> Self {
        Self { stmt, next: 1 }
    }

    fn bind<T: rusqlite::ToSql>(&mut self, value: T) -> Result<()> {
        self.stmt.raw_bind_parameter(self.next, value)?;
        self.next += 1;
        Ok(())
    }

    /// Checks (in debug builds) that exactly `columns` were bound.
    fn done(self, columns: &[&str]) {
        debug_assert_eq!(self.next, columns.len() + 1, "bound parameters vs columns");
    }
}

/// The text the asset `search` filter looks in: lowercase name, host names, FQDNs, IPv4s and
/// MACs, one per line. `None` when there is nothing to search.
pub(crate) fn search_text(a: &tenax_model::Asset) -> Option<String> {
    let mut out = String::new();
    let fields = a
        .name
        .iter()
        .chain(&a.hostnames)
        .chain(&a.fqdns)
        .chain(&a.ipv4s)
        .chain(&a.macs);
    for s in fields {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&s.to_lowercase());
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_bind_every_column() {
        let sql = finding_sql();
        let n = FINDING_COLUMNS.len();
        assert!(sql.insert.contains(&format!("?{n},")), "{}", sql.insert);
        assert!(
            sql.update_all
                .ends_with(&format!("WHERE rowid = ?{}", n + 1))
        );
        for c in FINDING_INDEXED {
            assert!(sql.update_all.contains(&format!(" {c} = ")), "{c}");
            assert!(!sql.update_same_keys.contains(&format!(" {c} = ")), "{c}");
        }
        assert!(!sql.update_all.contains("first_run_id"));
        assert!(asset_upsert_sql().contains("first_run_id) VALUES"));
    }

    /// The indexes a statement writes to: the `OpenWrite` cursors of its program, minus the
    /// table's own. Pins the reason for the two update statements.
    fn indexes_written(sql: &str) -> usize {
        let store = crate::SqliteStore::open_in_memory().expect("store");
        let mut stmt = store
            .connection()
            .prepare(&format!("EXPLAIN {sql}"))
            .expect("explain");
        let opcodes: Vec<String> = stmt
            .raw_query()
            .mapped(|r| r.get(1))
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        opcodes.iter().filter(|op| *op == "OpenWrite").count() - 1
    }

    /// A batch that fails inside the database (after new dictionaries were made) leaves
    /// nothing behind: no rows, no checkpoint, and no cached dictionary that would point at a
    /// rolled-back `raw_dicts` row.
    #[test]
    fn a_failing_batch_rolls_back_rows_checkpoint_and_dictionaries() {
        use crate::testsuite::{finding_row, full_finding};
        use crate::{FindingFilter, Store};

        let mut store = crate::SqliteStore::open_in_memory().expect("store");
        store
            .connection()
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON findings WHEN NEW.plugin_id = 666 \
                 BEGIN SELECT RAISE(ABORT, 'boom'); END;",
            )
            .expect("trigger");
        let run = store
            .begin_run("cloud", SourceKind::Vm, RunMode::Full)
            .expect("begin");
        // 100 rows: the compression pipeline runs; ids sort the failing row last.
        let mut rows: Vec<FindingRow> = (0..99)
            .map(|i| {
                finding_row(full_finding(
                    "cloud",
                    SourceKind::Vm,
                    &format!("a{i:03}"),
                    1,
                ))
            })
            .collect();
        rows.push(finding_row(full_finding("cloud", SourceKind::Vm, "z", 666)));
        let batch = Batch {
            findings: rows,
            checkpoint: vec![("vulns".to_owned(), Some(serde_json::json!(1)))],
            ..Batch::default()
        };
        let err = store
            .apply_batch(run, "cloud", &batch)
            .expect_err("the trigger fires");
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(
            store
                .count_findings(&FindingFilter::default())
                .expect("count"),
            0
        );
        assert_eq!(store.checkpoint("cloud", "vulns").expect("cp"), None);
        let dicts: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM raw_dicts", [], |r| r.get(0))
            .expect("count");
        assert_eq!(dicts, 0);

        // Without the failing row the batch goes in, with a fresh dictionary that reads back.
        let mut batch = batch;
        batch.findings.pop();
        store.apply_batch(run, "cloud", &batch).expect("apply");
        let id = &batch.findings[7].finding.id;
        let raw = store.raw_finding("cloud", id).expect("raw").expect("row");
        assert_eq!(raw["record"]["id"], serde_json::json!(id));
        assert_eq!(
            store.checkpoint("cloud", "vulns").expect("cp"),
            Some(serde_json::json!(1))
        );
    }

    #[test]
    fn unchanged_keys_update_only_the_run_index() {
        let sql = finding_sql();
        assert_eq!(
            indexes_written(&sql.update_same_keys),
            1,
            "only findings_run"
        );
        assert_eq!(indexes_written(&sql.update_all), 4, "every secondary index");
    }
}
