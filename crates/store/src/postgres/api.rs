//! The read verbs of the REST API on PostgreSQL: single records, unified assets, overview
//! aggregates, the data generation. The same answers as `sqlite/api.rs` (the conformance suite
//! checks), with the day buckets of the trend computed over NUMERIC nanoseconds.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use postgres::Client;
use tenax_model::{Asset, Finding, FindingState, Severity, Timestamp};

use super::codec::{Cols, corrupt, ts_parse};
use super::read::{
    ASSET_SELECT, FINDING_SELECT, RUN_SELECT, Where, asset_from, finding_from, run_from,
};
use crate::{
    CveCount, FindingCount, Result, RunStatus, SourceStat, TrendDay, UnifiedFilter, UnifiedSummary,
};

/// Nanoseconds in a day.
const DAY_NS: i128 = 86_400_000_000_000;

/// The score weight of a severity id, as SQL (critical 10, high 5, medium 2, low 0.5).
const SCORE_SQL: &str =
    "CASE severity WHEN 4 THEN 10.0 WHEN 3 THEN 5.0 WHEN 2 THEN 2.0 WHEN 1 THEN 0.5 ELSE 0.0 END";

fn sources_where(sources: &[String]) -> Where {
    let mut w = Where::default();
    w.any_of("source", sources.to_vec());
    w
}

pub(super) fn get_finding(client: &mut Client, source: &str, id: &str) -> Result<Option<Finding>> {
    let sql = format!("SELECT {FINDING_SELECT} FROM findings WHERE source = $1 AND id = $2");
    client
        .query_opt(sql.as_str(), &[&source, &id])?
        .map(|r| finding_from(&r))
        .transpose()
}

pub(super) fn get_asset(client: &mut Client, source: &str, id: &str) -> Result<Option<Asset>> {
    let sql = format!("SELECT {ASSET_SELECT} FROM assets WHERE source = $1 AND id = $2");
    client
        .query_opt(sql.as_str(), &[&source, &id])?
        .map(|r| asset_from(&r))
        .transpose()
}

pub(super) fn list_unified_assets(
    client: &mut Client,
    filter: &UnifiedFilter,
) -> Result<Vec<UnifiedSummary>> {
    let mut w = sources_where(&filter.sources);
    w.terms.push("unified_id IS NOT NULL".to_owned());
    w.terms.push("deleted_at IS NULL".to_owned());
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        w.term("strpos(search, ?) > 0", s.to_lowercase());
    }
    if let Some(a) = &filter.after {
        w.term("unified_id COLLATE \"C\" > ?", a.clone());
    }
    let sql = format!(
        "SELECT DISTINCT unified_id COLLATE \"C\" AS u FROM assets{} ORDER BY u{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let ids: Vec<String> = client
        .query(sql.as_str(), &w.params())?
        .iter()
        .map(|r| Cols::new(r, "assets").text(0, "unified_id"))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = unified_summary(client, &id)? {
            out.push(s);
        }
    }
    Ok(out)
}

pub(super) fn unified_summary(
    client: &mut Client,
    unified_id: &str,
) -> Result<Option<UnifiedSummary>> {
    const T: &str = "assets";
    let rows = client.query(
        "SELECT source, id, name, hostnames, ipv4s, macs FROM assets \
         WHERE unified_id = $1 AND deleted_at IS NULL ORDER BY source, id",
        &[&unified_id],
    )?;
    let mut records: Vec<(String, String)> = Vec::new();
    let mut name = None;
    let (mut sources, mut hostnames, mut ipv4s, mut macs) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for row in &rows {
        let c = Cols::new(row, T);
        let source = c.text(0, "source")?;
        let id = c.text(1, "id")?;
        if name.is_none() {
            name = c.opt_text(2, "name")?;
        }
        hostnames.extend(c.list(3, "hostnames")?);
        ipv4s.extend(c.list(4, "ipv4s")?);
        macs.extend(c.list(5, "macs")?);
        sources.insert(source.clone());
        records.push((source, id));
    }
    if records.is_empty() {
        return Ok(None);
    }
    let mut by_severity = [0u64; 5];
    let (srcs, ids): (Vec<String>, Vec<String>) = records.iter().cloned().unzip();
    let rows = client.query(
        "SELECT f.severity, count(*) FROM findings f \
         JOIN unnest($1::text[], $2::text[]) AS r(source, id) \
           ON f.source = r.source AND f.asset_id = r.id \
         WHERE f.state <> 'fixed' GROUP BY f.severity",
        &[&srcs, &ids],
    )?;
    for row in &rows {
        let c = Cols::new(row, "findings");
        let sev = c.severity(0, "severity")?;
        by_severity[sev.id() as usize] += c.count(1, "count")?;
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

pub(super) fn count_unified_assets(client: &mut Client, sources: &[String]) -> Result<u64> {
    let mut w = sources_where(sources);
    w.terms.push("unified_id IS NOT NULL".to_owned());
    w.terms.push("deleted_at IS NULL".to_owned());
    let sql = format!("SELECT count(DISTINCT unified_id) FROM assets{}", w.sql());
    let n: i64 = client.query_one(sql.as_str(), &w.params())?.get(0);
    Ok(n.unsigned_abs())
}

pub(super) fn finding_counts(client: &mut Client, sources: &[String]) -> Result<Vec<FindingCount>> {
    let w = sources_where(sources);
    let sql = format!(
        "SELECT source, severity, state COLLATE \"C\" AS st, count(*) FROM findings{} \
         GROUP BY source, severity, st ORDER BY source, severity DESC, st",
        w.sql()
    );
    client
        .query(sql.as_str(), &w.params())?
        .iter()
        .map(|row| {
            let c = Cols::new(row, "findings");
            Ok(FindingCount {
                source: c.text(0, "source")?,
                severity: c.severity(1, "severity")?,
                state: c.state(2, "state")?,
                count: c.count(3, "count")?,
            })
        })
        .collect()
}

/// Day buckets of the trend window: `-1` before it (and unknown times: "always"), `days`
/// after it, else the day's index.
struct Buckets {
    start: i128,
    days: i64,
}

impl Buckets {
    /// The bucket of a NUMERIC timestamp read as text.
    fn of(&self, v: Option<&str>) -> i64 {
        let Some(t) = v.and_then(ts_parse) else {
            return -1;
        };
        let n = i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
        if n < self.start {
            -1
        } else {
            i64::try_from((n - self.start) / DAY_NS)
                .unwrap_or(i64::MAX)
                .min(self.days)
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
        if let Ok(i) = usize::try_from(bucket + 1)
            && i < self.open.len()
        {
            self.open[i] += open;
            self.fixed[i] += fixed;
        }
    }

    fn plain(&mut self, first: i64, fixed: Option<i64>, sign: i64) {
        self.add(first, sign, 0);
        if let Some(f) = fixed {
            self.add(f.max(first), -sign, sign);
        }
    }
}

pub(super) fn finding_trend(
    client: &mut Client,
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
        start: i128::from(start),
        days: i64::from(days),
    };
    let mut d = Deltas {
        open: vec![0; days as usize + 1],
        fixed: vec![0; days as usize + 1],
    };
    // Every finding as if it had no history, grouped by its found and fixed days.
    let mut w = sources_where(sources);
    let where_sql = w.sql();
    w.params.push(Box::new(start.to_string()));
    let s = w.params.len();
    let bucket = |c: &str| {
        format!(
            "CASE WHEN {c} IS NULL THEN NULL WHEN {c} < (${s}::text)::numeric THEN -1 \
             ELSE least(floor(({c} - (${s}::text)::numeric) / {DAY_NS}), {})::int8 END",
            b.days
        )
    };
    let sql = format!(
        "SELECT {} AS fb, state = 'fixed' AS fx, \
         CASE WHEN state = 'fixed' THEN {} END AS lb, count(*) \
         FROM findings{where_sql} GROUP BY fb, fx, lb",
        bucket("first_found"),
        bucket("last_fixed")
    );
    for row in client.query(sql.as_str(), &w.params())? {
        let c = Cols::new(&row, T);
        let first = c.get::<Option<i64>>(0, "first_found")?.unwrap_or(-1);
        let fixed: bool = c.get(1, "state")?;
        let count = i64::try_from(c.count(3, "count")?).unwrap_or(i64::MAX);
        let fixed_at = fixed.then(|| {
            c.get::<Option<i64>>(2, "last_fixed")
                .ok()
                .flatten()
                .unwrap_or(first)
        });
        d.add(first, count, 0);
        if let Some(f) = fixed_at {
            d.add(f.max(first), -count, count);
        }
    }
    // Findings with history: take the plain contribution back, add what the history says.
    let mut w = Where::default();
    w.any_of("h.source", sources.to_vec());
    let sql = format!(
        "SELECT h.source, h.finding_id, h.at::text, h.change, h.from_state, h.to_state, \
         f.first_found::text, f.state, f.last_fixed::text FROM finding_history h \
         JOIN findings f ON f.source = h.source AND f.id = h.finding_id{} \
         ORDER BY h.source, h.finding_id, h.seq",
        w.sql()
    );
    type Step = (i64, i128, String, FindingState, FindingState);
    type Current = ((String, String), i64, Option<i64>, Vec<Step>);
    let mut current: Option<Current> = None;
    let flush = |d: &mut Deltas, cur: Option<Current>| {
        let Some((_, first, plain_fixed, mut steps)) = cur else {
            return;
        };
        d.plain(first, plain_fixed, -1);
        steps.sort_by_key(|s| s.1);
        let initial = steps.first().map_or(FindingState::Open, |s| s.3);
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
    for row in client.query(sql.as_str(), &w.params())? {
        const H: &str = "finding_history";
        let c = Cols::new(&row, H);
        let key = (c.text(0, "source")?, c.text(1, "finding_id")?);
        if current.as_ref().is_none_or(|cur| cur.0 != key) {
            flush(&mut d, current.take());
            let first = b.of(c.get(6, "first_found")?);
            let state = c.state(7, "state")?;
            let plain_fixed = (state == FindingState::Fixed).then(|| {
                match c.get::<Option<&str>>(8, "last_fixed").ok().flatten() {
                    None => first,
                    v => b.of(v),
                }
            });
            current = Some((key, first, plain_fixed, Vec::new()));
        }
        let at = c.ts(2, "at")?;
        let at_bucket = b.of(c.get(2, "at")?);
        let order =
            i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
        let change = c.text(3, "change")?;
        let from = c.state(4, "from_state")?;
        let to = c.state(5, "to_state")?;
        if let Some(cur) = current.as_mut() {
            cur.3.push((at_bucket, order, change, from, to));
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

pub(super) fn top_cves(
    client: &mut Client,
    sources: &[String],
    limit: usize,
) -> Result<Vec<CveCount>> {
    let mut w = Where::default();
    w.any_of("f.source", sources.to_vec());
    w.terms.push("f.state <> 'fixed'".to_owned());
    w.terms.push("f.cves IS NOT NULL".to_owned());
    let lim = w.limit(Some(limit as u64));
    let sql = format!(
        "SELECT upper(j.cve COLLATE \"C\") AS cve, count(*) AS n, \
         count(DISTINCT (f.source, f.asset_id)), max(f.severity) \
         FROM findings f, unnest(f.cves) AS j(cve){} GROUP BY 1 ORDER BY n DESC, cve{lim}",
        w.sql()
    );
    client
        .query(sql.as_str(), &w.params())?
        .iter()
        .map(|row| {
            let c = Cols::new(row, "findings");
            Ok(CveCount {
                cve: c.text(0, "cves")?,
                findings: c.count(1, "count")?,
                assets: c.count(2, "assets")?,
                max_severity: c.severity(3, "severity")?,
            })
        })
        .collect()
}

pub(super) fn top_unified_assets(
    client: &mut Client,
    sources: &[String],
    limit: usize,
) -> Result<Vec<(UnifiedSummary, f64)>> {
    let mut w = sources_where(sources);
    w.terms.push("state <> 'fixed'".to_owned());
    let inner = w.sql();
    let lim = w.limit(Some(limit as u64));
    let sql = format!(
        "SELECT a.unified_id COLLATE \"C\" AS u, sum(s.score)::float8 AS total FROM \
           (SELECT source, asset_id, sum({SCORE_SQL}) AS score FROM findings{inner} \
            GROUP BY asset_id, source) s \
         JOIN assets a ON a.source = s.source AND a.id = s.asset_id \
         WHERE a.unified_id IS NOT NULL AND a.deleted_at IS NULL \
         GROUP BY 1 HAVING sum(s.score) > 0 ORDER BY total DESC, u{lim}"
    );
    let ranked: Vec<(String, f64)> = client
        .query(sql.as_str(), &w.params())?
        .iter()
        .map(|row| {
            let c = Cols::new(row, "assets");
            Ok((
                c.text(0, "unified_id")?,
                c.get::<Option<f64>>(1, "score")?.unwrap_or(0.0),
            ))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(ranked.len());
    for (id, score) in ranked {
        if let Some(s) = unified_summary(client, &id)? {
            out.push((s, score));
        }
    }
    Ok(out)
}

pub(super) fn source_stats(client: &mut Client) -> Result<Vec<SourceStat>> {
    let mut map: BTreeMap<String, SourceStat> = BTreeMap::new();
    let get = SourceStat::entry;
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
        (3, "assets", "SELECT DISTINCT source, 0::int8 FROM assets"),
    ] {
        for row in client.query(sql, &[])? {
            let c = Cols::new(&row, table);
            let s = get(&mut map, c.text(0, "source")?);
            let n = c.count(1, "count")?;
            match what {
                0 => s.findings = n,
                1 => s.events = n,
                2 => s.assets = n,
                _ => {}
            }
        }
    }
    let sql = format!(
        "SELECT {RUN_SELECT} FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)"
    );
    for row in client.query(sql.as_str(), &[])? {
        let r = run_from(&row)?;
        let s = get(&mut map, r.source.clone());
        s.kind = Some(r.kind);
        s.last_run = Some(r);
    }
    const T: &str = "runs";
    // Durations and the last success over timestamps in the i64 nanosecond range, as SQLite
    // (which stores only those as integers).
    let in_range = |c: &str| {
        format!("({c} BETWEEN -9223372036854775808 AND 9223372036854775807 AND scale({c}) = 0)")
    };
    let sql = format!(
        "SELECT source, status, count(*), sum(assets_stored)::int8, sum(findings_stored)::int8, \
         sum(events_stored)::int8, \
         sum(CASE WHEN {} AND {} THEN finished_at - started_at ELSE 0 END)::text, \
         max(CASE WHEN status = 'succeeded' AND {} THEN finished_at END)::text, min(kind) \
         FROM runs WHERE status <> 'running' GROUP BY source, status ORDER BY source, status",
        in_range("finished_at"),
        in_range("started_at"),
        in_range("finished_at")
    );
    for row in client.query(sql.as_str(), &[])? {
        let c = Cols::new(&row, T);
        let s = get(&mut map, c.text(0, "source")?);
        let status = c.text(1, "status")?;
        let status = RunStatus::parse(&status)
            .ok_or_else(|| corrupt(T, format!("status: unknown status `{status}`")))?;
        let n = c.count(2, "count")?;
        for (i, col) in [3, 4, 5].into_iter().enumerate() {
            s.stored_total[i] += c.count(col, "stored")?;
        }
        #[allow(clippy::cast_precision_loss)]
        let ns = c
            .get::<Option<&str>>(6, "duration")?
            .and_then(|t| t.parse::<i128>().ok())
            .map_or(0.0, |n| n as f64);
        s.runs_by_status.push((status, n, ns / 1e9));
        if let Some(t) = c.opt_ts(7, "finished_at")? {
            s.last_success = Some(t);
        }
        if s.kind.is_none() {
            s.kind = Some(c.kind(8, "kind")?);
        }
    }
    Ok(map.into_values().collect())
}

pub(super) fn data_version(client: &mut Client) -> Result<u64> {
    let v: i64 = client
        .query_one("SELECT value FROM store_meta WHERE key = 'generation'", &[])?
        .get(0);
    Ok(v.unsigned_abs())
}

/// Moves the data generation on; the last statement of a write transaction.
pub(super) fn bump_generation(client: &mut impl postgres::GenericClient) -> Result<()> {
    client.execute(
        "UPDATE store_meta SET value = value + 1 WHERE key = 'generation'",
        &[],
    )?;
    Ok(())
}
