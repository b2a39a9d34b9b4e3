//! The write path: runs, batches, checkpoints, correlation, leases.
//!
//! A batch is one transaction, and one writer per source at a time (a transaction-scoped
//! advisory lock). Findings go in with binary `COPY` straight into `findings`:
//!
//! 1. new findings only (a first sync): the batch is copied in under a savepoint; the
//!    (source, id) key refuses any finding already stored, and the batch then takes the
//!    second way (so does every batch of a source whose last batch found stored findings);
//! 2. otherwise the stored version of every id is looked up (state, asset, first run); each
//!    version in the batch is compared with the one before it (the stored row, or the previous
//!    version of the same id in the batch) and every change of state becomes a
//!    `finding_history` row (copied in), exactly as the SQLite writer records it row by row;
//!    the stored rows are deleted and the last version of each id copied in with its first
//!    run kept (also when it moved to another asset).
//!
//! Raw JSON is LZ4-compressed against its plugin's dictionary (`raw_dicts`), on a helper
//! thread while the batch streams to the server. Assets go through a temporary staging table
//! and one `INSERT … ON CONFLICT DO UPDATE`.
//!
//! Measured on this machine (2 cores, 4 KB raw records): row-by-row `INSERT … ON CONFLICT`
//! ≈ 33k rows/s; staging plus a set-based merge ≈ 10k findings/s; COPY straight into the
//! table ≈ 40k findings/s (docs/postgres.md).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use chrono::Utc;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Transaction};
use tenax_model::SourceKind;

use super::codec::{self, Numeric, list, map_text, opt_ts_text, ts_text};
use crate::sqlite::codec::compress_raw_into;
use crate::sqlite::write::{Dict, DictCache, check_kinds, count, id_order, search_text, validate};
use crate::{
    Batch, BatchOutcome, Change, Error, FindingRow, Lease, LeaseAttempt, Result, RunId, RunMode,
    RunReport, RunStatus,
};
use tenax_model::FindingState;

/// The staging tables of this connection. Temporary: invisible to other sessions, emptied at
/// every commit, gone with the connection.
const STAGE_DDL: &str = "
SET temp_buffers = '64MB';
SET work_mem = '64MB';
CREATE TEMP TABLE IF NOT EXISTS tenax_stage_assets (
    ord int4, id text, kind text, unified_id text, name text, hostnames text[], fqdns text[],
    ipv4s text[], ipv6s text[], macs text[], operating_systems text[], asset_type text,
    vendor text, model text, firmware text, first_seen text, last_seen text, tags text,
    risk float8, deleted_at text, search text, raw bytea
) ON COMMIT DELETE ROWS;
ALTER TABLE tenax_stage_assets ALTER COLUMN raw SET STORAGE EXTERNAL;
";

/// The columns of a finding row as written by binary COPY into `findings`, in
/// [`FINDING_COPY_COLUMNS`] order.
const FINDING_COPY_TYPES: &[Type] = &[
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT2,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT_ARRAY,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::INT8,
    Type::INT8,
    Type::NUMERIC,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::INT8,
];

const FINDING_COPY_COLUMNS: &str = "source, id, asset_id, kind, unified_asset_id, plugin_id, \
    severity, state, port, protocol, cves, cvss3_base_score, cvss2_base_score, vpr_score, \
    first_found, last_found, last_fixed, run_id, first_run_id, updated_at, plugin_name, \
    plugin_family, service, hostname, ipv4, synopsis, solution, output, raw, raw_dict";

const STAGE_ASSET_TYPES: &[Type] = &[
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
];

const ASSET_MERGED: &[&str] = &[
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
];

const TIME_COLUMNS: &[&str] = &[
    "first_found",
    "last_found",
    "last_fixed",
    "first_seen",
    "last_seen",
    "deleted_at",
];

/// `INSERT INTO table (…) SELECT … FROM (the last staged version of each id) ON CONFLICT …
/// DO UPDATE` of every merged column. `$1` source, `$2` run, `$3` now (NUMERIC text).
/// `first_run` is the expression giving a new row's `first_run_id`.
fn merge_sql(
    table: &str,
    stage: &str,
    cols: &[&str],
    key: &str,
    from: &str,
    first_run: &str,
) -> String {
    let select: Vec<String> = cols
        .iter()
        .map(|c| {
            if TIME_COLUMNS.contains(c) {
                format!("s.{c}::numeric")
            } else {
                format!("s.{c}")
            }
        })
        .collect();
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| **c != "id")
        .chain(&["run_id", "updated_at"])
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} (source, {}, run_id, first_run_id, updated_at) \
         SELECT $1, {}, $2, {first_run}, ($3::text)::numeric \
         FROM (SELECT DISTINCT ON (id) * FROM {stage} ORDER BY id, ord DESC) s {from} \
         ORDER BY s.id \
         ON CONFLICT ({key}) DO UPDATE SET {}",
        cols.join(", "),
        select.join(", "),
        updates.join(", ")
    )
}

/// Creates this connection's staging tables.
pub(super) fn prepare_session(client: &mut Client) -> Result<()> {
    client.batch_execute(STAGE_DDL)?;
    Ok(())
}

pub(super) fn begin_run(
    client: &mut Client,
    source: &str,
    kind: SourceKind,
    mode: RunMode,
) -> Result<RunId> {
    let now = ts_text(&Utc::now());
    let row = client.query_one(
        "INSERT INTO runs (source, kind, mode, status, started_at, details) \
         VALUES ($1, $2, $3, 'running', ($4::text)::numeric, 'null') RETURNING id",
        &[&source, &kind.as_str(), &mode.as_str(), &now],
    )?;
    Ok(RunId(row.get(0)))
}

pub(super) fn finish_run(client: &mut Client, run: RunId, report: &RunReport) -> Result<()> {
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
    let opt = |n: Option<u64>, what: &str| n.map(|n| count(n, what)).transpose();
    let n = client.execute(
        "UPDATE runs SET status = $2, finished_at = ($3::text)::numeric, assets_expected = $4, \
         assets_stored = $5, findings_expected = $6, findings_stored = $7, \
         deleted_assets = $8, message = $9, details = $10, events_expected = $11, \
         events_stored = $12 WHERE id = $1",
        &[
            &run.0,
            &status.as_str(),
            &ts_text(&Utc::now()),
            &opt(report.assets.expected, "assets expected")?,
            &count(report.assets.stored, "assets stored")?,
            &opt(report.findings.expected, "findings expected")?,
            &count(report.findings.stored, "findings stored")?,
            &count(report.deleted_assets, "deleted assets")?,
            &report.message,
            &details,
            &opt(report.events.expected, "events expected")?,
            &count(report.events.stored, "events stored")?,
        ],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("run {run}")));
    }
    Ok(())
}

pub(super) fn close_stale_runs(client: &mut Client, source: &str, message: &str) -> Result<u64> {
    Ok(client.execute(
        "UPDATE runs SET status = 'failed', finished_at = ($3::text)::numeric, message = $2 \
         WHERE source = $1 AND status = 'running'",
        &[&source, &message, &ts_text(&Utc::now())],
    )?)
}

/// The kind of the run a batch is written by (see the SQLite writer for the rules).
fn run_kind(
    tx: &mut Transaction<'_>,
    run: RunId,
    source: &str,
    batch: &Batch,
) -> Result<SourceKind> {
    let row = tx.query_opt(
        "SELECT source, kind, status FROM runs WHERE id = $1",
        &[&run.0],
    )?;
    let Some(row) = row else {
        return Err(Error::NotFound(format!("run {run}")));
    };
    let c = codec::Cols::new(&row, "runs");
    let run_source = c.text(0, "source")?;
    let status = c.text(2, "status")?;
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
    let kind = c.kind(1, "kind")?;
    check_kinds(kind, source, batch)?;
    Ok(kind)
}

pub(super) fn apply_batch(
    client: &mut Client,
    state: &mut WriterState,
    run: RunId,
    source: &str,
    batch: &Batch,
) -> Result<BatchOutcome> {
    validate(source, batch)?;
    let mut tx = client.transaction()?;
    // The batch's statements look its rows up by key (LATERAL lookups): always index probes.
    // A hash or merge join — or a nested loop over a materialized scan when the table's
    // statistics are stale, as during a first big sync — would read every stored finding for
    // every batch, which makes a sync quadratic in the size of the table.
    tx.batch_execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")?;
    // One writer per source at a time, whatever the leases say: what a batch looks up stays
    // true until it commits.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tenax source ' || current_schema() || ' ' || $1))",
        &[&source],
    )?;
    let kind = run_kind(&mut tx, run, source, batch)?;
    let now = ts_text(&Utc::now());
    let mut new_dicts = Vec::new();
    if !batch.findings.is_empty() {
        write_findings(
            &mut tx,
            state,
            &mut new_dicts,
            source,
            run,
            &now,
            &batch.findings,
        )?;
    }
    if !batch.assets.is_empty() {
        write_assets(&mut tx, source, run, &now, batch)?;
    }
    if !batch.events.is_empty() {
        write_events(&mut tx, run, &now, batch)?;
    }
    if !batch.deleted_assets.is_empty() {
        let was_live =
            tx.prepare("SELECT deleted_at IS NULL FROM assets WHERE source = $1 AND id = $2")?;
        let gone = tx.prepare(
            "INSERT INTO finding_history \
             (source, finding_id, asset_id, run_id, at, change, from_state, to_state) \
             SELECT source, id, asset_id, $3, ($4::text)::numeric, 'gone', state, state \
             FROM findings WHERE source = $1 AND asset_id = $2 ORDER BY id",
        )?;
        let mark = tx.prepare(
            "INSERT INTO assets (source, id, kind, deleted_at, run_id, first_run_id, updated_at) \
             VALUES ($1, $2, $3, ($4::text)::numeric, $5, $5, ($6::text)::numeric) \
             ON CONFLICT (source, id) DO UPDATE SET deleted_at = excluded.deleted_at, \
             run_id = excluded.run_id, updated_at = excluded.updated_at",
        )?;
        for (id, when) in &batch.deleted_assets {
            let when = ts_text(when);
            // Only the deletion of a live (or unknown) asset is news for its findings.
            let live: Option<bool> = tx.query_opt(&was_live, &[&source, id])?.map(|r| r.get(0));
            if live != Some(false) {
                tx.execute(&gone, &[&source, id, &run.0, &when])?;
            }
            tx.execute(&mark, &[&source, id, &kind.as_str(), &when, &run.0, &now])?;
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
                tx.execute(
                    "INSERT INTO checkpoints (source, key, value, updated_at) \
                     VALUES ($1, $2, $3, ($4::text)::numeric) \
                     ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, \
                     updated_at = excluded.updated_at",
                    &[&source, key, &text, &now],
                )?;
            }
            None => {
                tx.execute(
                    "DELETE FROM checkpoints WHERE source = $1 AND key = $2",
                    &[&source, key],
                )?;
            }
        }
    }
    super::api::bump_generation(&mut tx)?;
    tx.commit()?;
    for (plugin, dict) in new_dicts {
        state.dicts.insert(source, plugin, dict);
    }
    Ok(BatchOutcome {
        assets: batch.assets.len() as u64,
        findings: batch.findings.len() as u64,
        deleted_assets: batch.deleted_assets.len() as u64,
        events: batch.events.len() as u64,
    })
}

/// Raw JSON text compressed into `buf`; `None` for blank text.
fn raw_blob<'b>(raw: &str, buf: &'b mut Vec<u8>) -> Result<Option<&'b [u8]>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    compress_raw_into(raw.as_bytes(), None, buf).map(Some)
}

fn ord(i: usize) -> Result<i32> {
    i32::try_from(i).map_err(|_| Error::Config(format!("a batch of {i} rows is too large")))
}

/// What a writer keeps between batches: the dictionaries it has used and, per source, whether
/// the last batch found any of its findings already stored.
#[derive(Debug, Default)]
pub(super) struct WriterState {
    dicts: DictCache,
    /// Sources whose last batch found some of its findings stored: their next batch is looked
    /// up first instead of trying the insert-only path.
    merging: HashSet<String>,
    /// Whether `findings` is keyed by (source, id) (migration 0003), which the insert-only path
    /// relies on; not on a table re-keyed for Citus.
    unique_ids: bool,
}

impl WriterState {
    pub(super) fn new(client: &mut Client) -> Result<Self> {
        let row = client.query_one(
            "SELECT coalesce((SELECT array_length(conkey, 1) = 2 FROM pg_constraint \
             WHERE conrelid = 'findings'::regclass AND contype = 'p'), false)",
            &[],
        )?;
        Ok(Self {
            unique_ids: row.get(0),
            ..Self::default()
        })
    }
}

/// A finding to COPY and the first run to record for it.
struct Out<'a> {
    row: &'a FindingRow,
    first_run: i64,
}

/// One `finding_history` row.
struct HistoryRow<'a> {
    id: &'a str,
    asset_id: &'a str,
    at: Numeric,
    change: Change,
    from: FindingState,
    to: FindingState,
}

fn write_findings(
    tx: &mut Transaction<'_>,
    state: &mut WriterState,
    new_dicts: &mut Vec<(i64, Arc<Dict>)>,
    source: &str,
    run: RunId,
    now: &str,
    rows: &[FindingRow],
) -> Result<()> {
    let order = id_order(rows, |r| &r.finding.id);
    let dicts = dicts_for(tx, &state.dicts, new_dicts, source, rows)?;
    let repeated = order
        .windows(2)
        .any(|w| rows[w[0]].finding.id == rows[w[1]].finding.id);

    // New findings only (a first sync): straight into the table. The key refuses any finding
    // already stored; the batch then goes the careful way below.
    if state.unique_ids && !repeated && !state.merging.contains(source) {
        tx.batch_execute("SAVEPOINT tenax_insert")?;
        let out: Vec<Out<'_>> = order
            .iter()
            .map(|&i| Out {
                row: &rows[i],
                first_run: run.0,
            })
            .collect();
        match copy_findings(tx, "findings", &out, &dicts, run, now) {
            Ok(()) => {
                tx.batch_execute("RELEASE SAVEPOINT tenax_insert")?;
                return Ok(());
            }
            Err(Error::Database(e))
                if e.downcast_ref::<super::PgError>().and_then(|e| e.0.code())
                    == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) =>
            {
                tx.batch_execute("ROLLBACK TO SAVEPOINT tenax_insert")?;
            }
            Err(e) => return Err(e),
        }
    }

    // The stored version of every id in the batch.
    let mut ids: Vec<&str> = order.iter().map(|&i| rows[i].finding.id.as_str()).collect();
    ids.dedup();
    let stored_rows = tx.query(
        "SELECT id, asset_id, state, first_run_id FROM findings \
         WHERE source = $1 AND id = ANY($2::text[])",
        &[&source, &ids],
    )?;
    let mut stored: HashMap<String, (String, FindingState, i64)> =
        HashMap::with_capacity(stored_rows.len());
    for r in &stored_rows {
        let c = codec::Cols::new(r, "findings");
        stored.insert(
            c.text(0, "id")?,
            (
                c.text(1, "asset_id")?,
                c.state(2, "state")?,
                c.get(3, "first_run_id")?,
            ),
        );
    }
    if stored.is_empty() {
        state.merging.remove(source);
    } else if !state.merging.contains(source) {
        state.merging.insert(source.to_owned());
    }

    // Every version against the one before it (stored row or earlier in the batch), in
    // (id, batch order), as the row-by-row SQLite writer records it; the last version of
    // each id replaces the stored one, if any.
    let mut history = Vec::new();
    let mut out = Vec::with_capacity(ids.len());
    let mut gone_ids: Vec<&str> = Vec::new();
    let mut gone_assets: Vec<&str> = Vec::new();
    let mut k = 0;
    while k < order.len() {
        let id = rows[order[k]].finding.id.as_str();
        let mut end = k + 1;
        while end < order.len() && rows[order[end]].finding.id == id {
            end += 1;
        }
        let before = stored.get(id);
        let mut prev = before.map(|b| b.1);
        for &i in &order[k..end] {
            let f = &rows[i].finding;
            if let Some(change) = prev.and_then(|p| Change::between(p, f.state)) {
                let at = match change {
                    Change::Fixed => f.last_fixed.as_ref(),
                    _ => f.last_found.as_ref(),
                };
                history.push(HistoryRow {
                    id,
                    asset_id: &f.asset_id,
                    at: at.map_or_else(|| Numeric(now.to_owned()), codec::ts_numeric),
                    change,
                    from: prev.unwrap_or(f.state),
                    to: f.state,
                });
            }
            prev = Some(f.state);
        }
        let last = &rows[order[end - 1]];
        // A stored finding keeps its first run, also when it moves to another asset.
        let first_run = match before {
            None => run.0,
            Some((asset, _, first_run)) => {
                gone_ids.push(id);
                gone_assets.push(asset);
                *first_run
            }
        };
        out.push(Out {
            row: last,
            first_run,
        });
        k = end;
    }

    if !history.is_empty() {
        let sink = tx.copy_in(
            "COPY finding_history (source, finding_id, asset_id, run_id, at, change, \
             from_state, to_state) FROM STDIN (FORMAT binary)",
        )?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::NUMERIC,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ],
        );
        for h in &history {
            w.write(&[
                &source,
                &h.id,
                &h.asset_id,
                &run.0,
                &h.at,
                &h.change.as_str(),
                &h.from.as_str(),
                &h.to.as_str(),
            ])?;
        }
        w.finish()?;
    }
    // Stored versions go and the last versions come in: one DELETE by key and one COPY
    // (cheaper than an UPDATE, which writes a new row version and index entries all the same,
    // and needs the rows staged first).
    if !gone_ids.is_empty() {
        tx.execute(
            "DELETE FROM findings f USING unnest($2::text[], $3::text[]) AS m(id, asset_id) \
             WHERE f.source = $1 AND f.id = m.id AND f.asset_id = m.asset_id",
            &[&source, &gone_ids, &gone_assets],
        )?;
    }
    copy_findings(tx, "findings", &out, &dicts, run, now)?;
    Ok(())
}

/// The dictionary of every plugin in the batch: cached, stored, or made now from the plugin's
/// first record in the batch (inserted in this transaction, cached after commit).
fn dicts_for(
    tx: &mut Transaction<'_>,
    cache: &DictCache,
    new_dicts: &mut Vec<(i64, Arc<Dict>)>,
    source: &str,
    rows: &[FindingRow],
) -> Result<HashMap<i64, Arc<Dict>>> {
    let mut dicts: HashMap<i64, Arc<Dict>> = HashMap::new();
    // Sets, not lists: a batch may hold thousands of plugins.
    let mut missing: HashSet<i64> = HashSet::new();
    for r in rows {
        let plugin = r.finding.plugin_id;
        if dicts.contains_key(&plugin) || missing.contains(&plugin) || r.raw.trim().is_empty() {
            continue;
        }
        match cache.get(source, plugin) {
            Some(d) => {
                dicts.insert(plugin, d);
            }
            None => {
                missing.insert(plugin);
            }
        }
    }
    if missing.is_empty() {
        return Ok(dicts);
    }
    for r in tx.query(
        "SELECT DISTINCT ON (plugin_id) plugin_id, id, data FROM raw_dicts \
         WHERE source = $1 AND plugin_id = ANY($2::int8[]) ORDER BY plugin_id, id DESC",
        &[&source, &missing.iter().copied().collect::<Vec<i64>>()],
    )? {
        let c = codec::Cols::new(&r, "raw_dicts");
        let plugin: i64 = c.get(0, "plugin_id")?;
        let id: i64 = c.get(1, "id")?;
        let blob: &[u8] = c.get(2, "data")?;
        let data = crate::sqlite::codec::decompress(blob, None).map_err(|reason| {
            codec::corrupt(
                "raw_dicts",
                format!("dictionary {id} of plugin {plugin}: {reason}"),
            )
        })?;
        // Cached when this batch commits, with the new ones.
        let d = Arc::new(Dict { id, data });
        new_dicts.push((plugin, d.clone()));
        dicts.insert(plugin, d);
    }
    missing.retain(|p| !dicts.contains_key(p));
    if missing.is_empty() {
        return Ok(dicts);
    }
    // A new dictionary per plugin: its first record in the batch.
    let mut plugins = Vec::with_capacity(missing.len());
    let mut datas: Vec<Vec<u8>> = Vec::with_capacity(missing.len());
    let mut blobs: Vec<Vec<u8>> = Vec::with_capacity(missing.len());
    for r in rows {
        let plugin = r.finding.plugin_id;
        if !missing.contains(&plugin) || r.raw.trim().is_empty() {
            continue;
        }
        missing.remove(&plugin);
        let mut blob = Vec::new();
        crate::sqlite::codec::compress_raw(r.raw.as_bytes(), None, &mut blob)?;
        plugins.push(plugin);
        datas.push(r.raw.as_bytes().to_vec());
        blobs.push(blob);
    }
    let made = tx.query(
        "INSERT INTO raw_dicts (source, plugin_id, data, created_at) \
         SELECT $1, p, d, ($4::text)::numeric FROM unnest($2::int8[], $3::bytea[]) AS x(p, d) \
         RETURNING id, plugin_id",
        &[&source, &plugins, &blobs, &ts_text(&Utc::now())],
    )?;
    let mut ids: HashMap<i64, i64> = HashMap::with_capacity(made.len());
    for r in &made {
        let c = codec::Cols::new(r, "raw_dicts");
        ids.insert(c.get(1, "plugin_id")?, c.get(0, "id")?);
    }
    for (plugin, data) in plugins.into_iter().zip(datas) {
        let id = *ids.get(&plugin).ok_or_else(|| {
            Error::Config(format!("dictionary of plugin {plugin} was not stored"))
        })?;
        let d = Arc::new(Dict { id, data });
        new_dicts.push((plugin, d.clone()));
        dicts.insert(plugin, d);
    }
    Ok(dicts)
}

/// Binary COPY of findings into `table`, their raw JSON
/// compressed against their plugin's dictionary on a helper thread while this one writes.
fn copy_findings(
    tx: &mut Transaction<'_>,
    table: &str,
    out: &[Out<'_>],
    dicts: &HashMap<i64, Arc<Dict>>,
    run: RunId,
    now: &str,
) -> Result<()> {
    let sink = tx.copy_in(&format!(
        "COPY {table} ({FINDING_COPY_COLUMNS}) FROM STDIN (FORMAT binary)"
    ))?;
    let mut w = BinaryCopyInWriter::new(sink, FINDING_COPY_TYPES);
    let now = Numeric(now.to_owned());
    let write =
        |w: &mut BinaryCopyInWriter<'_>, o: &Out<'_>, blob: Option<(Vec<u8>, Option<i64>)>| {
            let f = &o.row.finding;
            let (raw, dict) = match &blob {
                Some((b, d)) => (Some(b.as_slice()), *d),
                None => (None, None),
            };
            let values: [&(dyn ToSql + Sync); 30] = [
                &f.source,
                &f.id,
                &f.asset_id,
                &f.kind.as_str(),
                &f.unified_asset_id,
                &f.plugin_id,
                &i16::try_from(f.severity.id()).unwrap_or(0),
                &f.state.as_str(),
                &f.port,
                &f.protocol,
                &list(&f.cves),
                &f.cvss3_base_score,
                &f.cvss2_base_score,
                &f.vpr_score,
                &codec::opt_ts_numeric(f.first_found.as_ref()),
                &codec::opt_ts_numeric(f.last_found.as_ref()),
                &codec::opt_ts_numeric(f.last_fixed.as_ref()),
                &run.0,
                &o.first_run,
                &now,
                &f.plugin_name,
                &f.plugin_family,
                &f.service,
                &f.hostname,
                &f.ipv4,
                &f.synopsis,
                &f.solution,
                &f.output,
                &raw,
                &dict,
            ];
            w.write(&values).map_err(Error::from)
        };
    let compress = |o: &Out<'_>, scratch: &mut Vec<u8>| -> Result<Option<(Vec<u8>, Option<i64>)>> {
        let raw: &str = &o.row.raw;
        if raw.trim().is_empty() {
            return Ok(None);
        }
        let dict = dicts.get(&o.row.finding.plugin_id);
        let blob = compress_raw_into(raw.as_bytes(), dict.map(|d| d.data.as_slice()), scratch)?;
        Ok(Some((blob.to_vec(), dict.map(|d| d.id))))
    };
    if out.len() < 64 {
        let mut scratch = Vec::new();
        for o in out {
            let blob = compress(o, &mut scratch)?;
            write(&mut w, o, blob)?;
        }
    } else {
        std::thread::scope(|scope| -> Result<()> {
            let (send, receive) = mpsc::sync_channel::<Result<Option<(Vec<u8>, Option<i64>)>>>(512);
            std::thread::Builder::new()
                .name("tenax-compress".to_owned())
                .spawn_scoped(scope, move || {
                    let mut scratch = Vec::new();
                    for o in out {
                        if send.send(compress(o, &mut scratch)).is_err() {
                            break; // the writer stopped on an error
                        }
                    }
                })
                .map_err(|e| Error::Config(format!("cannot start the compression thread: {e}")))?;
            for o in out {
                let blob = receive.recv().map_err(|_| {
                    Error::Config("the raw compression thread stopped early".to_owned())
                })??;
                write(&mut w, o, blob)?;
            }
            Ok(())
        })?;
    }
    w.finish()?;
    Ok(())
}

fn write_assets(
    tx: &mut Transaction<'_>,
    source: &str,
    run: RunId,
    now: &str,
    batch: &Batch,
) -> Result<()> {
    let sink = tx.copy_in("COPY tenax_stage_assets FROM STDIN (FORMAT binary)")?;
    let mut w = BinaryCopyInWriter::new(sink, STAGE_ASSET_TYPES);
    let mut buf = Vec::new();
    for (i, row) in batch.assets.iter().enumerate() {
        let a = &row.asset;
        let raw = raw_blob(&row.raw, &mut buf)?;
        let values: [&(dyn ToSql + Sync); 22] = [
            &ord(i)?,
            &a.id,
            &a.kind.map(SourceKind::as_str),
            &a.unified_id,
            &a.name,
            &list(&a.hostnames),
            &list(&a.fqdns),
            &list(&a.ipv4s),
            &list(&a.ipv6s),
            &list(&a.macs),
            &list(&a.operating_systems),
            &a.asset_type,
            &a.vendor,
            &a.model,
            &a.firmware,
            &opt_ts_text(a.first_seen.as_ref()),
            &opt_ts_text(a.last_seen.as_ref()),
            &map_text(&a.tags)?,
            &a.risk,
            &opt_ts_text(a.deleted_at.as_ref()),
            &search_text(a),
            &raw,
        ];
        w.write(&values)?;
    }
    w.finish()?;
    static MERGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = MERGE.get_or_init(|| {
        merge_sql(
            "assets",
            "tenax_stage_assets",
            ASSET_MERGED,
            "source, id",
            "",
            "$2",
        )
    });
    tx.execute(sql.as_str(), &[&source, &run.0, &now])?;
    Ok(())
}

/// Events are few next to findings (a policy hit each): a prepared upsert per row.
fn write_events(tx: &mut Transaction<'_>, run: RunId, now: &str, batch: &Batch) -> Result<()> {
    let stmt = tx.prepare(
        "INSERT INTO events (source, id, kind, time, event_type, category, severity, \
         description, policy, src_ip, dst_ip, src_mac, dst_mac, protocol, port, asset_ids, \
         resolved, raw, run_id, first_run_id, updated_at) \
         VALUES ($1, $2, $3, ($4::text)::numeric, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $19, ($20::text)::numeric) \
         ON CONFLICT (source, id) DO UPDATE SET kind = excluded.kind, time = excluded.time, \
         event_type = excluded.event_type, category = excluded.category, \
         severity = excluded.severity, description = excluded.description, \
         policy = excluded.policy, src_ip = excluded.src_ip, dst_ip = excluded.dst_ip, \
         src_mac = excluded.src_mac, dst_mac = excluded.dst_mac, protocol = excluded.protocol, \
         port = excluded.port, asset_ids = excluded.asset_ids, resolved = excluded.resolved, \
         raw = excluded.raw, run_id = excluded.run_id, updated_at = excluded.updated_at",
    )?;
    let mut buf = Vec::new();
    let rows = &batch.events;
    for i in crate::sqlite::write::id_order(rows, |r| &r.event.id) {
        let e = &rows[i].event;
        let raw = raw_blob(&rows[i].raw, &mut buf)?;
        tx.execute(
            &stmt,
            &[
                &e.source,
                &e.id,
                &e.kind.as_str(),
                &opt_ts_text(e.time.as_ref()),
                &e.event_type,
                &e.category,
                &e.severity.map(|s| i16::try_from(s.id()).unwrap_or(0)),
                &e.description,
                &e.policy,
                &e.src_ip,
                &e.dst_ip,
                &e.src_mac,
                &e.dst_mac,
                &e.protocol,
                &e.port,
                &list(&e.asset_ids),
                &e.resolved,
                &raw,
                &run.0,
                &now,
            ],
        )?;
    }
    Ok(())
}

pub(super) fn apply_correlation(
    client: &mut Client,
    assignments: &[crate::Assignment],
    links: &[crate::UnifiedLink],
) -> Result<crate::CorrelationWrite> {
    let mut tx = client.transaction()?;
    // Collectors of different sources correlate at the end of their syncs: one at a time, so
    // that one's links replace the other's instead of mixing with them.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tenax correlation ' || current_schema()))",
        &[],
    )?;
    let mut out = crate::CorrelationWrite::default();
    // Set-wise: the assignments as arrays, one UPDATE of the assets whose unified id changes.
    let sources: Vec<&str> = assignments.iter().map(|a| a.source.as_str()).collect();
    let ids: Vec<&str> = assignments.iter().map(|a| a.id.as_str()).collect();
    let unified: Vec<&str> = assignments.iter().map(|a| a.unified_id.as_str()).collect();
    out.assets_changed = tx.execute(
        "UPDATE assets a SET unified_id = n.unified_id \
         FROM (SELECT DISTINCT ON (source, id) source, id, unified_id \
               FROM unnest($1::text[], $2::text[], $3::text[]) \
                    WITH ORDINALITY AS x(source, id, unified_id, n) \
               ORDER BY source, id, n DESC) n \
         WHERE a.source = n.source AND a.id = n.id \
         AND a.unified_id IS DISTINCT FROM n.unified_id",
        &[&sources, &ids, &unified],
    )?;
    tx.execute("DELETE FROM unified_links", &[])?;
    if !links.is_empty() {
        let sink = tx.copy_in(
            "COPY unified_links (unified_id, a_source, a_id, b_source, b_id, evidence) \
             FROM STDIN (FORMAT binary)",
        )?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::TEXT; 6]);
        for l in links {
            let evidence = l.evidence.get();
            w.write(&[&l.unified_id, &l.a.0, &l.a.1, &l.b.0, &l.b.1, &evidence])?;
            out.links += 1;
        }
        w.finish()?;
    }
    super::api::bump_generation(&mut tx)?;
    tx.commit()?;
    Ok(out)
}

fn ttl_secs(ttl: Duration) -> f64 {
    // At most ~30 years: far enough, and exact as an interval.
    ttl.as_secs_f64().min(1e9)
}

fn lease_from(row: &postgres::Row) -> Result<Lease> {
    let c = codec::Cols::new(row, "leases");
    Ok(Lease {
        source: c.text(0, "source")?,
        holder: c.text(1, "holder")?,
        expires_at: c.get::<chrono::DateTime<Utc>>(2, "expires_at")?,
    })
}

pub(super) fn acquire_lease(
    client: &mut Client,
    source: &str,
    holder: &str,
    ttl: Duration,
) -> Result<LeaseAttempt> {
    if source.is_empty() || holder.is_empty() {
        return Err(Error::Config(
            "a lease needs a source and a holder name".to_owned(),
        ));
    }
    // The database's clock decides expiry: collectors on several machines share it.
    let taken = client.query_opt(
        "INSERT INTO leases AS l (source, holder, acquired_at, expires_at) \
         VALUES ($1, $2, clock_timestamp(), clock_timestamp() + make_interval(secs => $3)) \
         ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, \
         acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at \
                       ELSE excluded.acquired_at END, \
         expires_at = excluded.expires_at \
         WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp() \
         RETURNING source, holder, expires_at",
        &[&source, &holder, &ttl_secs(ttl)],
    )?;
    if let Some(row) = taken {
        return Ok(LeaseAttempt::Acquired(lease_from(&row)?));
    }
    match super::read::lease(client, source)? {
        Some(l) => Ok(LeaseAttempt::Held(l)),
        // Released between the two statements: try once more.
        None => acquire_lease(client, source, holder, ttl),
    }
}

pub(super) fn renew_lease(
    client: &mut Client,
    source: &str,
    holder: &str,
    ttl: Duration,
) -> Result<Option<Lease>> {
    let row = client.query_opt(
        "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => $3) \
         WHERE source = $1 AND holder = $2 RETURNING source, holder, expires_at",
        &[&source, &holder, &ttl_secs(ttl)],
    )?;
    row.as_ref().map(lease_from).transpose()
}

pub(super) fn release_lease(client: &mut Client, source: &str, holder: &str) -> Result<bool> {
    Ok(client.execute(
        "DELETE FROM leases WHERE source = $1 AND holder = $2",
        &[&source, &holder],
    )? > 0)
}
