//! The read verbs of the REST API: single records, unified assets, overview aggregates, the
//! data generation. Every query is served by an index of migrations 0001–0005 (see there);
//! the aggregates over all findings read index entries only, except `top_cves` (the CVE lists
//! live in the table rows), which callers cache under `data_version`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params, params_from_iter};
use tenax_model::{Asset, Finding, FindingState, Severity, Timestamp};

use super::codec::{
    col, corrupt, count_from, int_from, kind_from, list_from, opt_text_from, severity_from,
    state_from, text_from, ts_from,
};
use super::read::{ASSET_SELECT, FINDING_SELECT, RUN_SELECT, Where, asset_from, finding_from};
use crate::{
    CveCount, FindingCount, Result, RunStatus, SourceStat, TrendDay, UnifiedFilter, UnifiedSummary,
};

/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400_000_000_000;

/// The score weight of a severity id, as SQL (critical 10, high 5, medium 2, low 0.5).
const SCORE_SQL: &str =
    "CASE severity WHEN 4 THEN 10.0 WHEN 3 THEN 5.0 WHEN 2 THEN 2.0 WHEN 1 THEN 0.5 ELSE 0.0 END";

fn sources_where(sources: &[String]) -> Where {
    let mut w = Where::default();
    w.any_of("source", sources.iter().map(|s| Value::Text(s.clone())));
    w
}

/// `AND`-joins extra terms to a [`Where`] built elsewhere.
fn with_terms(mut w: Where, terms: &[&str]) -> Where {
    w.terms.extend(terms.iter().map(|t| (*t).to_owned()));
    w
}

pub(super) fn get_finding(conn: &Connection, source: &str, id: &str) -> Result<Option<Finding>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FINDING_SELECT} FROM findings WHERE source = ?1 AND id = ?2"
    ))?;
    let mut rows = stmt.query(params![source, id])?;
    match rows.next()? {
        Some(row) => Ok(Some(finding_from(row)?)),
        None => Ok(None),
    }
}

pub(super) fn get_asset(conn: &Connection, source: &str, id: &str) -> Result<Option<Asset>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ASSET_SELECT} FROM assets WHERE source = ?1 AND id = ?2"
    ))?;
    let mut rows = stmt.query(params![source, id])?;
    match rows.next()? {
        Some(row) => Ok(Some(asset_from(row)?)),
        None => Ok(None),
    }
}

pub(super) fn list_unified_assets(
    conn: &Connection,
    filter: &UnifiedFilter,
) -> Result<Vec<UnifiedSummary>> {
    let mut w = with_terms(
        sources_where(&filter.sources),
        &["unified_id IS NOT NULL", "deleted_at IS NULL"],
    );
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        w.term("instr(search, ?) > 0", s.to_lowercase());
    }
    if let Some(a) = &filter.after {
        w.term("unified_id > ?", a.clone());
    }
    // DISTINCT over the (unified_id, deleted_at, source) index: a walk in id order that stops
    // after `limit` ids.
    let sql = format!(
        "SELECT DISTINCT unified_id FROM assets{} ORDER BY unified_id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let ids: Vec<String> = {
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(&w.params))?;
        let mut ids = Vec::new();
        while let Some(row) = rows.next()? {
            ids.push(text_from(col(row, 0, "assets")?, "assets", "unified_id")?);
        }
        ids
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = unified_summary(conn, &id)? {
            out.push(s);
        }
    }
    Ok(out)
}

pub(super) fn unified_summary(
    conn: &Connection,
    unified_id: &str,
) -> Result<Option<UnifiedSummary>> {
    const T: &str = "assets";
    let mut stmt = conn.prepare_cached(
        "SELECT source, id, name, hostnames, ipv4s, macs FROM assets \
         WHERE unified_id = ?1 AND deleted_at IS NULL ORDER BY source, id",
    )?;
    let mut rows = stmt.query(params![unified_id])?;
    let mut records: Vec<(String, String)> = Vec::new();
    let mut name = None;
    let (mut sources, mut hostnames, mut ipv4s, mut macs) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    while let Some(row) = rows.next()? {
        let source = text_from(col(row, 0, T)?, T, "source")?;
        let id = text_from(col(row, 1, T)?, T, "id")?;
        if name.is_none() {
            name = opt_text_from(col(row, 2, T)?, T, "name")?;
        }
        hostnames.extend(list_from(col(row, 3, T)?, T, "hostnames")?);
        ipv4s.extend(list_from(col(row, 4, T)?, T, "ipv4s")?);
        macs.extend(list_from(col(row, 5, T)?, T, "macs")?);
        sources.insert(source.clone());
        records.push((source, id));
    }
    if records.is_empty() {
        return Ok(None);
    }
    let mut by_severity = [0u64; 5];
    let mut stmt = conn.prepare_cached(
        "SELECT severity, count(*) FROM findings INDEXED BY findings_asset \
         WHERE asset_id = ?2 AND source = ?1 AND state != 'fixed' GROUP BY severity",
    )?;
    for (source, id) in &records {
        let mut rows = stmt.query(params![source, id])?;
        while let Some(row) = rows.next()? {
            let sev = severity_from(col(row, 0, "findings")?, "findings", "severity")?;
            by_severity[sev.id() as usize] +=
                count_from(col(row, 1, "findings")?, "findings", "count")?;
        }
    }
    let max_severity = (0..5)
        .rev()
        .find(|i| by_severity[*i] > 0)
        .and_then(|i| Severity::from_id(i as i64));
    Ok(Some(UnifiedSummary {
        unified_id: unified_id.to_owned(),
        name,
        sources: sources.into_iter().collect(),
        records: records.len() as u64,
        hostnames: hostnames.into_iter().collect(),
        ipv4s: ipv4s.into_iter().collect(),
        macs: macs.into_iter().collect(),
        open_findings: by_severity.iter().sum(),
        max_severity,
        open_by_severity: by_severity,
    }))
}

pub(super) fn count_unified_assets(conn: &Connection, sources: &[String]) -> Result<u64> {
    let w = with_terms(
        sources_where(sources),
        &["unified_id IS NOT NULL", "deleted_at IS NULL"],
    );
    let sql = format!("SELECT count(DISTINCT unified_id) FROM assets{}", w.sql());
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(&w.params), |r| r.get(0))?;
    Ok(n.unsigned_abs())
}

pub(super) fn finding_counts(conn: &Connection, sources: &[String]) -> Result<Vec<FindingCount>> {
    const T: &str = "findings";
    let w = sources_where(sources);
    let sql = format!(
        "SELECT source, severity, state, count(*) FROM findings{} \
         GROUP BY source, severity, state ORDER BY source, severity DESC, state",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(FindingCount {
            source: text_from(col(row, 0, T)?, T, "source")?,
            severity: severity_from(col(row, 1, T)?, T, "severity")?,
            state: state_from(col(row, 2, T)?, T, "state")?,
            count: count_from(col(row, 3, T)?, T, "count")?,
        });
    }
    Ok(out)
}

/// Day buckets of the trend window: `-1` before it (and unknown times: "always"), `days`
/// after it, else the day's index.
struct Buckets {
    start: i64,
    days: i64,
}

impl Buckets {
    fn of(&self, v: ValueRef<'_>) -> i64 {
        match v {
            ValueRef::Null => -1,
            ValueRef::Integer(n) if n < self.start => -1,
            ValueRef::Integer(n) => ((n - self.start) / DAY_NS).min(self.days),
            // TEXT: outside the i64 nanosecond range; the far past is before any window.
            ValueRef::Text(t) if t.starts_with(b"-") => -1,
            _ => self.days,
        }
    }
}

/// Open and fixed deltas per bucket (index 0 is bucket -1).
struct Deltas {
    open: Vec<i64>,
    fixed: Vec<i64>,
}

impl Deltas {
    fn add(&mut self, bucket: i64, open: i64, fixed: i64) {
        // Bucket `days` (after the window) changes nothing inside it.
        if let Ok(i) = usize::try_from(bucket + 1)
            && i < self.open.len()
        {
            self.open[i] += open;
            self.fixed[i] += fixed;
        }
    }

    /// A finding's contribution without history: open from `first` on; when `fixed`, fixed
    /// at `fixed_at` (not before it was found). `sign` -1 takes it back.
    fn plain(&mut self, first: i64, fixed: Option<i64>, sign: i64) {
        self.add(first, sign, 0);
        if let Some(f) = fixed {
            self.add(f.max(first), -sign, sign);
        }
    }
}

pub(super) fn finding_trend(
    conn: &Connection,
    sources: &[String],
    days: u32,
    end: Timestamp,
) -> Result<Vec<TrendDay>> {
    const T: &str = "findings";
    if days == 0 {
        return Ok(Vec::new());
    }
    let first_day: NaiveDate = end.date_naive() - Duration::days(i64::from(days) - 1);
    let start = first_day
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| crate::Error::Config(format!("trend: day {first_day} is out of range")))?;
    let b = Buckets {
        start,
        days: i64::from(days),
    };
    let n = days as usize + 1;
    let mut d = Deltas {
        open: vec![0; n],
        fixed: vec![0; n],
    };
    // Every finding as if it had no history: grouped by its found and fixed days, from the
    // covering (source, severity, state, first_found, last_fixed) index.
    let mut w = sources_where(sources);
    let bucket = |c: &str, w: &mut Where| {
        w.params.push(Value::Integer(b.start));
        let s = w.params.len();
        w.params.push(Value::Integer(b.start + b.days * DAY_NS));
        let e = w.params.len();
        format!(
            "CASE WHEN {c} IS NULL THEN NULL WHEN typeof({c}) != 'integer' THEN {c} \
             WHEN {c} < ?{s} THEN -1 WHEN {c} >= ?{e} THEN {} \
             ELSE ({c} - ?{s}) / {DAY_NS} END",
            b.days
        )
    };
    let where_sql = w.sql();
    let fb = bucket("first_found", &mut w);
    let lb = bucket("last_fixed", &mut w);
    let sql = format!(
        "SELECT {fb} AS fb, state = 'fixed' AS fx, CASE WHEN state = 'fixed' THEN {lb} END AS lb, \
         count(*) FROM findings{where_sql} GROUP BY fb, fx, lb"
    );
    {
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(&w.params))?;
        while let Some(row) = rows.next()? {
            let first = bucket_of_sql(col(row, 0, T)?, &b);
            let fixed = col(row, 1, T)? == ValueRef::Integer(1);
            let count = count_from(col(row, 3, T)?, T, "count")? as i64;
            let fixed_at = fixed.then(|| match col(row, 2, T) {
                Ok(ValueRef::Null) | Err(_) => first,
                Ok(v) => bucket_of_sql(v, &b),
            });
            d.add(first, count, 0);
            if let Some(f) = fixed_at {
                d.add(f.max(first), -count, count);
            }
        }
    }
    // Findings with history: take the plain contribution back, add what the history says.
    let mut w = Where::default();
    w.any_of("h.source", sources.iter().map(|s| Value::Text(s.clone())));
    let sql = format!(
        "SELECT h.source, h.finding_id, h.at, h.change, h.from_state, h.to_state, \
         f.first_found, f.state, f.last_fixed FROM finding_history h \
         JOIN findings f ON f.source = h.source AND f.id = h.finding_id{} \
         ORDER BY h.source, h.finding_id, h.rowid",
        w.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    // (at bucket, at ordering key, change, from, to) of the current finding.
    type Step = (i64, i128, String, FindingState, FindingState);
    // (key, found bucket, plain fixed bucket, its history) of the finding being read.
    type Current = ((String, String), i64, Option<i64>, Vec<Step>);
    let mut current: Option<Current> = None;
    let flush = |d: &mut Deltas, cur: Option<Current>| {
        let Some((_, first, plain_fixed, mut steps)) = cur else {
            return;
        };
        d.plain(first, plain_fixed, -1);
        steps.sort_by_key(|s| s.1);
        let initial = steps.first().map_or(FindingState::Open, |s| s.3);
        // A finding first stored fixed counts as fixed from when it was found.
        let mut open = initial != FindingState::Fixed;
        let mut present = true;
        if open {
            d.add(first, 1, 0);
        }
        for (at, _, change, _, to) in steps {
            let now_open = change != "gone" && to != FindingState::Fixed && present;
            if change == "gone" {
                present = false;
            }
            if now_open != open {
                d.add(at.max(first), if now_open { 1 } else { -1 }, 0);
            }
            if change == "fixed" && present {
                d.add(at.max(first), 0, 1);
            }
            open = now_open;
        }
    };
    while let Some(row) = rows.next()? {
        const H: &str = "finding_history";
        let key = (
            text_from(col(row, 0, H)?, H, "source")?,
            text_from(col(row, 1, H)?, H, "finding_id")?,
        );
        if current.as_ref().is_none_or(|c| c.0 != key) {
            flush(&mut d, current.take());
            let first = b.of(col(row, 6, T)?);
            let state = state_from(col(row, 7, T)?, T, "state")?;
            let plain_fixed = (state == FindingState::Fixed).then(|| match col(row, 8, T) {
                Ok(ValueRef::Null) | Err(_) => first,
                Ok(v) => b.of(v),
            });
            current = Some((key, first, plain_fixed, Vec::new()));
        }
        let at_v = col(row, 2, H)?;
        let at_bucket = b.of(at_v);
        let order = match at_v {
            ValueRef::Integer(n) => i128::from(n),
            v => i128::from(ts_from(v, H, "at")?.timestamp()) * 1_000_000_000,
        };
        let change = text_from(col(row, 3, H)?, H, "change")?;
        let from = state_from(col(row, 4, H)?, H, "from_state")?;
        let to = state_from(col(row, 5, H)?, H, "to_state")?;
        if let Some(c) = current.as_mut() {
            c.3.push((at_bucket, order, change, from, to));
        }
    }
    flush(&mut d, current.take());
    let mut out = Vec::with_capacity(days as usize);
    let mut open = d.open[0];
    for i in 0..days as usize {
        open += d.open[i + 1];
        out.push(TrendDay {
            date: first_day + Duration::days(i as i64),
            open: open.max(0).unsigned_abs(),
            fixed: d.fixed[i + 1].max(0).unsigned_abs(),
        });
    }
    Ok(out)
}

/// A bucket computed in SQL: an integer, or the timestamp itself when it was TEXT.
fn bucket_of_sql(v: ValueRef<'_>, b: &Buckets) -> i64 {
    match v {
        ValueRef::Null => -1,
        ValueRef::Integer(n) => n,
        other => b.of(other),
    }
}

/// The CVEs of most open findings. One pass over the open findings that name a CVE, counted
/// here rather than by SQL: `json_each` with a `count(DISTINCT …)` per CVE made SQLite sort
/// every (CVE, asset) pair through a temporary B-tree (seconds at a million findings); here
/// assets and CVEs become numbers and the pairs one sorted vector.
pub(super) fn top_cves(
    conn: &Connection,
    sources: &[String],
    limit: usize,
) -> Result<Vec<CveCount>> {
    const T: &str = "findings";
    let mut w = Where::default();
    w.any_of("source", sources.iter().map(|s| Value::Text(s.clone())));
    w.terms.push("state != 'fixed'".to_owned());
    w.terms.push("cves IS NOT NULL".to_owned());
    let sql = format!(
        "SELECT source, asset_id, severity, cves FROM findings{}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut assets: HashMap<Box<str>, u32> = HashMap::new();
    // CVE → (number, findings, highest severity id).
    let mut cves: HashMap<Box<str>, (u32, u64, i64)> = HashMap::new();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut key = String::new();
    while let Some(row) = rows.next()? {
        key.clear();
        key.push_str(&text_from(col(row, 0, T)?, T, "source")?);
        key.push('\u{1f}');
        key.push_str(&text_from(col(row, 1, T)?, T, "asset_id")?);
        let next = assets.len() as u32;
        let asset = match assets.get(key.as_str()) {
            Some(&n) => n,
            None => {
                assets.insert(key.as_str().into(), next);
                next
            }
        };
        let severity = int_from(col(row, 2, T)?, T, "severity")?;
        let list = text_from(col(row, 3, T)?, T, "cves")?;
        let list: Vec<String> =
            serde_json::from_str(&list).map_err(|e| corrupt(T, format!("cves: {e}")))?;
        let mut seen: Vec<u32> = Vec::with_capacity(list.len());
        for cve in list {
            let cve = cve.trim().to_ascii_uppercase();
            if cve.is_empty() {
                continue;
            }
            let next = cves.len() as u32;
            let entry = cves
                .entry(cve.into_boxed_str())
                .or_insert((next, 0, severity));
            // A finding naming one CVE twice counts once.
            if seen.contains(&entry.0) {
                continue;
            }
            seen.push(entry.0);
            entry.1 += 1;
            entry.2 = entry.2.max(severity);
            pairs.push((entry.0, asset));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut distinct_assets = vec![0u64; cves.len()];
    for (cve, _) in &pairs {
        distinct_assets[*cve as usize] += 1;
    }
    let mut out: Vec<CveCount> = cves
        .into_iter()
        .map(|(cve, (n, findings, sev))| {
            Ok(CveCount {
                cve: cve.into_string(),
                findings,
                assets: distinct_assets[n as usize],
                max_severity: Severity::from_id(sev)
                    .ok_or_else(|| corrupt(T, format!("severity: unknown severity id {sev}")))?,
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| b.findings.cmp(&a.findings).then_with(|| a.cve.cmp(&b.cve)));
    out.truncate(limit);
    Ok(out)
}

pub(super) fn top_unified_assets(
    conn: &Connection,
    sources: &[String],
    limit: usize,
) -> Result<Vec<(UnifiedSummary, f64)>> {
    let mut w = with_terms(sources_where(sources), &["state != 'fixed'"]);
    let inner = w.sql();
    let lim = w.limit(Some(limit as u64));
    // Per (asset, source) from the covering findings_asset index, then one lookup per asset.
    let sql = format!(
        "SELECT a.unified_id, sum(s.score) AS total FROM \
           (SELECT source, asset_id, sum({SCORE_SQL}) AS score \
            FROM findings INDEXED BY findings_asset{inner} \
            GROUP BY asset_id, source) s \
         JOIN assets a ON a.source = s.source AND a.id = s.asset_id \
         WHERE a.unified_id IS NOT NULL AND a.deleted_at IS NULL \
         GROUP BY a.unified_id HAVING total > 0 ORDER BY total DESC, a.unified_id{lim}"
    );
    let ranked: Vec<(String, f64)> = {
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(&w.params))?;
        let mut v = Vec::new();
        while let Some(row) = rows.next()? {
            let id = text_from(col(row, 0, "assets")?, "assets", "unified_id")?;
            let score = super::codec::opt_real_from(col(row, 1, "findings")?, "findings", "score")?
                .unwrap_or(0.0);
            v.push((id, score));
        }
        v
    };
    let mut out = Vec::with_capacity(ranked.len());
    for (id, score) in ranked {
        if let Some(s) = unified_summary(conn, &id)? {
            out.push((s, score));
        }
    }
    Ok(out)
}

pub(super) fn source_stats(conn: &Connection) -> Result<Vec<SourceStat>> {
    let mut map: BTreeMap<String, SourceStat> = BTreeMap::new();
    let get = SourceStat::entry;
    // 0 findings, 1 events, 2 live assets, 3 any asset (a source whose assets are all
    // deleted is still listed).
    for (what, table, sql) in [
        (
            0,
            "findings",
            "SELECT source, count(*) FROM findings GROUP BY source",
        ),
        (
            1,
            "events",
            "SELECT source, count(*) FROM events GROUP BY source",
        ),
        (
            2,
            "assets",
            "SELECT source, count(*) FROM assets WHERE deleted_at IS NULL GROUP BY source",
        ),
        (3, "assets", "SELECT DISTINCT source, 0 FROM assets"),
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let s = get(&mut map, text_from(col(row, 0, table)?, table, "source")?);
            let n = count_from(col(row, 1, table)?, table, "count")?;
            match what {
                0 => s.findings = n,
                1 => s.events = n,
                2 => s.assets = n,
                _ => {}
            }
        }
    }
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RUN_SELECT} FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let r = super::read::run_from(row)?;
            let s = get(&mut map, r.source.clone());
            s.kind = Some(r.kind);
            s.last_run = Some(r);
        }
    }
    {
        const T: &str = "runs";
        let mut stmt = conn.prepare_cached(
            "SELECT source, status, count(*), sum(assets_stored), sum(findings_stored), \
             sum(events_stored), \
             sum(CASE WHEN typeof(finished_at) = 'integer' AND typeof(started_at) = 'integer' \
                 THEN finished_at - started_at ELSE 0 END), \
             max(CASE WHEN status = 'succeeded' AND typeof(finished_at) = 'integer' \
                 THEN finished_at END), kind \
             FROM runs WHERE status != 'running' GROUP BY source, status ORDER BY source, status",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let s = get(&mut map, text_from(col(row, 0, T)?, T, "source")?);
            let status = text_from(col(row, 1, T)?, T, "status")?;
            let status = RunStatus::parse(&status)
                .ok_or_else(|| corrupt(T, format!("status: unknown status `{status}`")))?;
            let n = count_from(col(row, 2, T)?, T, "count")?;
            for (i, c) in [3, 4, 5].into_iter().enumerate() {
                s.stored_total[i] += count_from(col(row, c, T)?, T, "stored")?;
            }
            let ns = super::codec::opt_real_from(col(row, 6, T)?, T, "duration")?.unwrap_or(0.0);
            s.runs_by_status.push((status, n, ns / 1e9));
            if let ValueRef::Integer(t) = col(row, 7, T)? {
                s.last_success = Some(chrono::DateTime::from_timestamp_nanos(t));
            }
            if s.kind.is_none() {
                s.kind = Some(kind_from(col(row, 8, T)?, T, "kind")?);
            }
        }
    }
    Ok(map.into_values().collect())
}

pub(super) fn data_version(conn: &Connection) -> Result<u64> {
    let v: i64 = conn
        .prepare_cached("SELECT value FROM store_meta WHERE key = 'generation'")?
        .query_row([], |r| r.get(0))?;
    Ok(v.unsigned_abs())
}
