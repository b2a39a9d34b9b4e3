//! `tenax db copy`: every table of a SQLite store into an empty PostgreSQL store, as stored —
//! run ids, first runs, history, checkpoints, raw JSON, correlation — then the row counts of
//! both compared table by table.
//!
//! Rows stream from SQLite into binary `COPY`s in one PostgreSQL transaction: nothing is
//! visible in the target until everything is there. Raw JSON blobs without a dictionary are
//! copied as they are (the same LZ4 format); findings compressed against a SQLite dictionary
//! are decompressed and compressed again on their own.

use std::collections::HashMap;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use rusqlite::types::ValueRef;

use crate::postgres::codec::{Numeric, opt_ts_numeric, ts_numeric};
use crate::sqlite::codec::{
    col, compress_raw, decompress, int_from, list_from, opt_ts_from, ts_from,
};
use crate::{Error, PgStore, Result, SqliteStore};

/// Rows of one table in the source and in the target after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// Table name.
    pub table: &'static str,
    /// Rows in the source store.
    pub source: u64,
    /// Rows in the target store.
    pub target: u64,
}

/// What [`copy`] did.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    /// Every table, source vs target.
    pub tables: Vec<TableCount>,
}

impl CopyReport {
    /// True when every table has as many rows in the target as in the source.
    pub fn matches(&self) -> bool {
        self.tables.iter().all(|t| t.source == t.target)
    }
}

const TABLES: &[&str] = &[
    "runs",
    "checkpoints",
    "assets",
    "findings",
    "finding_history",
    "events",
    "unified_links",
];

/// Copies the SQLite store at `from` (`sqlite://…`) into the PostgreSQL store at `to`
/// (`postgres://…`, migrated first), which must hold no runs, assets, findings or events.
/// `progress` hears each table as it is done.
pub fn copy(from: &str, to: &str, progress: &mut dyn FnMut(&str, u64)) -> Result<CopyReport> {
    if !matches!(crate::url_scheme(from), Some(s) if s.eq_ignore_ascii_case("sqlite")) {
        return Err(Error::Config(
            "db copy reads a SQLite store: --from sqlite://PATH".to_owned(),
        ));
    }
    let src = SqliteStore::open_url(from)?;
    let dst = PgStore::open_url(to)?;
    crate::postgres::blocking(|| {
        let mut client = dst.client()?;
        copy_all(src.connection(), &mut client, progress)
    })
}

fn count_sqlite(conn: &rusqlite::Connection, table: &str) -> Result<u64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(n.unsigned_abs())
}

fn copy_all(
    src: &rusqlite::Connection,
    client: &mut postgres::Client,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<CopyReport> {
    let mut tx = client.transaction()?;
    for table in ["runs", "assets", "findings", "events"] {
        let n: i64 = tx
            .query_one(format!("SELECT count(*) FROM {table}").as_str(), &[])?
            .get(0);
        if n > 0 {
            return Err(Error::Config(format!(
                "the target store is not empty: {table} has {n} rows; copy into a new database \
                 or schema"
            )));
        }
    }
    // Leases are transient; correlation and checkpoints are replaced whole.
    tx.batch_execute("DELETE FROM checkpoints; DELETE FROM unified_links; DELETE FROM leases;")?;

    progress("runs", copy_runs(src, &mut tx)?);
    progress("checkpoints", copy_checkpoints(src, &mut tx)?);
    progress("assets", copy_assets(src, &mut tx)?);
    progress("findings", copy_findings(src, &mut tx)?);
    progress("finding_history", copy_history(src, &mut tx)?);
    progress("events", copy_events(src, &mut tx)?);
    progress("unified_links", copy_links(src, &mut tx)?);
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('runs', 'id'), \
         greatest((SELECT max(id) FROM runs), 1), (SELECT count(*) > 0 FROM runs))",
        &[],
    )?;
    tx.commit()?;

    let mut report = CopyReport::default();
    for table in TABLES {
        let target: i64 = client
            .query_one(format!("SELECT count(*) FROM {table}").as_str(), &[])?
            .get(0);
        report.tables.push(TableCount {
            table,
            source: count_sqlite(src, table)?,
            target: target.unsigned_abs(),
        });
    }
    Ok(report)
}

/// A column as `Option<String>`.
fn text(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<String>> {
    match col(row, i, table)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Integer(n) => Ok(Some(n.to_string())),
        ValueRef::Real(r) => Ok(Some(r.to_string())),
        ValueRef::Blob(_) => Err(crate::sqlite::codec::corrupt(
            table,
            format!("column {i}: a blob where text was expected"),
        )),
    }
}

fn opt_int(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<i64>> {
    match col(row, i, table)? {
        ValueRef::Null => Ok(None),
        v => int_from(v, table, "integer").map(Some),
    }
}

fn opt_real(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<f64>> {
    crate::sqlite::codec::opt_real_from(col(row, i, table)?, table, "real")
}

fn ts(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<Numeric>> {
    Ok(opt_ts_numeric(
        opt_ts_from(col(row, i, table)?, table, "timestamp")?.as_ref(),
    ))
}

fn req_ts(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Numeric> {
    Ok(ts_numeric(&ts_from(
        col(row, i, table)?,
        table,
        "timestamp",
    )?))
}

fn list(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<Vec<String>>> {
    let l = list_from(col(row, i, table)?, table, "list")?;
    Ok((!l.is_empty()).then_some(l))
}

fn blob(row: &rusqlite::Row<'_>, i: usize, table: &'static str) -> Result<Option<Vec<u8>>> {
    match col(row, i, table)? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(b.to_vec())),
        _ => Err(crate::sqlite::codec::corrupt(
            table,
            format!("column {i}: expected a blob"),
        )),
    }
}

/// Writes one row of values into a `COPY`.
type RowWriter<'a> = dyn FnMut(&[&(dyn ToSql + Sync)]) -> Result<()> + 'a;
/// Turns one SQLite row into values for a [`RowWriter`].
type Encoder<'a> = dyn FnMut(&rusqlite::Row<'_>, &mut RowWriter<'_>) -> Result<()> + 'a;

/// Streams `sql`'s rows from SQLite through `encode` into `COPY target (columns)`.
fn stream(
    src: &rusqlite::Connection,
    tx: &mut postgres::Transaction<'_>,
    sql: &str,
    target: &str,
    types: &[Type],
    encode: &mut Encoder<'_>,
) -> Result<u64> {
    let sink = tx.copy_in(format!("COPY {target} FROM STDIN (FORMAT binary)").as_str())?;
    let mut w = BinaryCopyInWriter::new(sink, types);
    let mut stmt = src.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        encode(row, &mut |values| {
            w.write(values)?;
            Ok(())
        })?;
        n += 1;
    }
    w.finish()?;
    Ok(n)
}

fn copy_runs(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "runs";
    stream(
        src,
        tx,
        "SELECT id, source, kind, mode, status, started_at, finished_at, assets_expected, \
         assets_stored, findings_expected, findings_stored, events_expected, events_stored, \
         deleted_assets, message, details FROM runs ORDER BY id",
        "runs (id, source, kind, mode, status, started_at, finished_at, assets_expected, \
         assets_stored, findings_expected, findings_stored, events_expected, events_stored, \
         deleted_assets, message, details)",
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::NUMERIC,
            Type::NUMERIC,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
        ],
        &mut |r, write| {
            write(&[
                &opt_int(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &text(r, 3, T)?,
                &text(r, 4, T)?,
                &req_ts(r, 5, T)?,
                &ts(r, 6, T)?,
                &opt_int(r, 7, T)?,
                &opt_int(r, 8, T)?.unwrap_or(0),
                &opt_int(r, 9, T)?,
                &opt_int(r, 10, T)?.unwrap_or(0),
                &opt_int(r, 11, T)?,
                &opt_int(r, 12, T)?.unwrap_or(0),
                &opt_int(r, 13, T)?.unwrap_or(0),
                &text(r, 14, T)?,
                &text(r, 15, T)?.unwrap_or_else(|| "null".to_owned()),
            ])
        },
    )
}

fn copy_checkpoints(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "checkpoints";
    stream(
        src,
        tx,
        "SELECT source, key, value, updated_at FROM checkpoints",
        "checkpoints (source, key, value, updated_at)",
        &[Type::TEXT, Type::TEXT, Type::TEXT, Type::NUMERIC],
        &mut |r, write| {
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &req_ts(r, 3, T)?,
            ])
        },
    )
}

fn copy_assets(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "assets";
    let mut types = vec![Type::TEXT; 5];
    types.extend([Type::TEXT_ARRAY; 6]);
    types.extend([Type::TEXT; 4]);
    types.extend([
        Type::NUMERIC,
        Type::NUMERIC,
        Type::TEXT,
        Type::FLOAT8,
        Type::NUMERIC,
    ]);
    types.extend([
        Type::TEXT,
        Type::BYTEA,
        Type::INT8,
        Type::INT8,
        Type::NUMERIC,
    ]);
    stream(
        src,
        tx,
        "SELECT source, id, kind, unified_id, name, hostnames, fqdns, ipv4s, ipv6s, macs, \
         operating_systems, asset_type, vendor, model, firmware, first_seen, last_seen, tags, \
         risk, deleted_at, search, raw, run_id, first_run_id, updated_at FROM assets",
        "assets (source, id, kind, unified_id, name, hostnames, fqdns, ipv4s, ipv6s, macs, \
         operating_systems, asset_type, vendor, model, firmware, first_seen, last_seen, tags, \
         risk, deleted_at, search, raw, run_id, first_run_id, updated_at)",
        &types,
        &mut |r, write| {
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &text(r, 3, T)?,
                &text(r, 4, T)?,
                &list(r, 5, T)?,
                &list(r, 6, T)?,
                &list(r, 7, T)?,
                &list(r, 8, T)?,
                &list(r, 9, T)?,
                &list(r, 10, T)?,
                &text(r, 11, T)?,
                &text(r, 12, T)?,
                &text(r, 13, T)?,
                &text(r, 14, T)?,
                &ts(r, 15, T)?,
                &ts(r, 16, T)?,
                &text(r, 17, T)?,
                &opt_real(r, 18, T)?,
                &ts(r, 19, T)?,
                &text(r, 20, T)?,
                &blob(r, 21, T)?,
                &opt_int(r, 22, T)?,
                &opt_int(r, 23, T)?,
                &req_ts(r, 24, T)?,
            ])
        },
    )
}

fn copy_findings(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "findings";
    let mut dicts: HashMap<i64, Vec<u8>> = HashMap::new();
    let mut types = vec![Type::TEXT; 5];
    types.extend([Type::INT8, Type::INT2, Type::TEXT, Type::INT8, Type::TEXT]);
    types.extend([Type::TEXT_ARRAY, Type::FLOAT8, Type::FLOAT8, Type::FLOAT8]);
    types.extend([Type::NUMERIC; 3]);
    types.extend([Type::INT8, Type::INT8, Type::NUMERIC]);
    types.extend([Type::TEXT; 8]);
    types.push(Type::BYTEA);
    let mut scratch = Vec::new();
    stream(
        src,
        tx,
        "SELECT source, id, asset_id, kind, unified_asset_id, plugin_id, severity, state, port, \
         protocol, cves, cvss3_base_score, cvss2_base_score, vpr_score, first_found, \
         last_found, last_fixed, run_id, first_run_id, updated_at, plugin_name, plugin_family, \
         service, hostname, ipv4, synopsis, solution, output, raw, raw_dict FROM findings",
        "findings (source, id, asset_id, kind, unified_asset_id, plugin_id, severity, state, \
         port, protocol, cves, cvss3_base_score, cvss2_base_score, vpr_score, first_found, \
         last_found, last_fixed, run_id, first_run_id, updated_at, plugin_name, plugin_family, \
         service, hostname, ipv4, synopsis, solution, output, raw)",
        &types,
        &mut |r, write| {
            let raw = match (blob(r, 28, T)?, opt_int(r, 29, T)?) {
                (None, _) => None,
                (Some(b), None) => Some(b),
                (Some(b), Some(d)) => {
                    if let std::collections::hash_map::Entry::Vacant(e) = dicts.entry(d) {
                        let data: Vec<u8> = src.query_row(
                            "SELECT data FROM raw_dicts WHERE id = ?1",
                            [d],
                            |row| row.get(0),
                        )?;
                        let data = decompress(&data, None).map_err(|reason| {
                            crate::sqlite::codec::corrupt("raw_dicts", format!("{d}: {reason}"))
                        })?;
                        e.insert(data);
                    }
                    let text =
                        decompress(&b, dicts.get(&d).map(Vec::as_slice)).map_err(|reason| {
                            crate::sqlite::codec::corrupt(T, format!("raw: {reason}"))
                        })?;
                    compress_raw(&text, None, &mut scratch)?;
                    Some(scratch.clone())
                }
            };
            let severity = opt_int(r, 6, T)?
                .and_then(|s| i16::try_from(s).ok())
                .ok_or_else(|| crate::sqlite::codec::corrupt(T, "severity".to_owned()))?;
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &text(r, 3, T)?,
                &text(r, 4, T)?,
                &opt_int(r, 5, T)?,
                &severity,
                &text(r, 7, T)?,
                &opt_int(r, 8, T)?,
                &text(r, 9, T)?,
                &list(r, 10, T)?,
                &opt_real(r, 11, T)?,
                &opt_real(r, 12, T)?,
                &opt_real(r, 13, T)?,
                &ts(r, 14, T)?,
                &ts(r, 15, T)?,
                &ts(r, 16, T)?,
                &opt_int(r, 17, T)?,
                &opt_int(r, 18, T)?,
                &req_ts(r, 19, T)?,
                &text(r, 20, T)?,
                &text(r, 21, T)?,
                &text(r, 22, T)?,
                &text(r, 23, T)?,
                &text(r, 24, T)?,
                &text(r, 25, T)?,
                &text(r, 26, T)?,
                &text(r, 27, T)?,
                &raw,
            ])
        },
    )
}

fn copy_history(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "finding_history";
    // In rowid order, so that `seq` keeps the order the rows were written in.
    stream(
        src,
        tx,
        "SELECT h.source, h.finding_id, coalesce(f.asset_id, ''), h.run_id, h.at, h.change, \
         h.from_state, h.to_state FROM finding_history h \
         LEFT JOIN findings f ON f.source = h.source AND f.id = h.finding_id ORDER BY h.rowid",
        "finding_history (source, finding_id, asset_id, run_id, at, change, from_state, \
         to_state)",
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
        &mut |r, write| {
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &opt_int(r, 3, T)?,
                &req_ts(r, 4, T)?,
                &text(r, 5, T)?,
                &text(r, 6, T)?,
                &text(r, 7, T)?,
            ])
        },
    )
}

fn copy_events(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "events";
    let mut types = vec![Type::TEXT, Type::TEXT, Type::TEXT, Type::NUMERIC];
    types.extend([Type::TEXT, Type::TEXT, Type::INT2]);
    types.extend([Type::TEXT; 7]);
    types.extend([Type::INT8, Type::TEXT_ARRAY, Type::BOOL, Type::BYTEA]);
    types.extend([Type::INT8, Type::INT8, Type::NUMERIC]);
    stream(
        src,
        tx,
        "SELECT source, id, kind, time, event_type, category, severity, description, policy, \
         src_ip, dst_ip, src_mac, dst_mac, protocol, port, asset_ids, resolved, raw, run_id, \
         first_run_id, updated_at FROM events",
        "events (source, id, kind, time, event_type, category, severity, description, policy, \
         src_ip, dst_ip, src_mac, dst_mac, protocol, port, asset_ids, resolved, raw, run_id, \
         first_run_id, updated_at)",
        &types,
        &mut |r, write| {
            let severity = opt_int(r, 6, T)?.and_then(|s| i16::try_from(s).ok());
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &ts(r, 3, T)?,
                &text(r, 4, T)?,
                &text(r, 5, T)?,
                &severity,
                &text(r, 7, T)?,
                &text(r, 8, T)?,
                &text(r, 9, T)?,
                &text(r, 10, T)?,
                &text(r, 11, T)?,
                &text(r, 12, T)?,
                &text(r, 13, T)?,
                &opt_int(r, 14, T)?,
                &list(r, 15, T)?,
                &(opt_int(r, 16, T)?.unwrap_or(0) != 0),
                &blob(r, 17, T)?,
                &opt_int(r, 18, T)?,
                &opt_int(r, 19, T)?,
                &req_ts(r, 20, T)?,
            ])
        },
    )
}

fn copy_links(src: &rusqlite::Connection, tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    const T: &str = "unified_links";
    stream(
        src,
        tx,
        "SELECT unified_id, a_source, a_id, b_source, b_id, evidence FROM unified_links \
         ORDER BY rowid",
        "unified_links (unified_id, a_source, a_id, b_source, b_id, evidence)",
        &[Type::TEXT; 6],
        &mut |r, write| {
            write(&[
                &text(r, 0, T)?,
                &text(r, 1, T)?,
                &text(r, 2, T)?,
                &text(r, 3, T)?,
                &text(r, 4, T)?,
                &text(r, 5, T)?,
            ])
        },
    )
}
