//! The read path: checkpoints, runs, filtered counts and streams, raw records, leases.
//!
//! Streams are real streams: rows arrive from the server as the callback consumes them
//! (`query_raw`), ordered by `(source, id)` with the `C` collation (byte order), as on SQLite.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row};
use tenax_model::{Asset, Event, Finding, FindingState, Timestamp};

use super::codec::{Cols, corrupt, ts_text};
use crate::sqlite::read::{HistoryMap, state_at};
use crate::{
    AssetFilter, Change, Error, EventFilter, FindingFilter, Lease, RemediationStat, Result, RunId,
    RunMode, RunRecord, RunStatus, Sla, Tally, Transition,
};

/// Columns read for a finding, in [`finding_from`] order. A finding's unified asset is its
/// asset's (correlation writes only the assets), else what the finding was stored with.
pub(super) const FINDING_SELECT: &str = "source, id, kind, asset_id, coalesce((SELECT a.unified_id \
    FROM assets a WHERE a.source = findings.source AND a.id = findings.asset_id), \
    unified_asset_id), plugin_id, \
    plugin_name, plugin_family, severity, state, port, protocol, service, cves, \
    cvss3_base_score, cvss2_base_score, vpr_score, first_found::text, last_found::text, \
    last_fixed::text, hostname, ipv4, synopsis, solution, output";

/// Columns read for an asset, in [`asset_from`] order.
pub(super) const ASSET_SELECT: &str = "source, kind, id, unified_id, name, hostnames, fqdns, ipv4s, \
    ipv6s, macs, operating_systems, asset_type, vendor, model, firmware, first_seen::text, \
    last_seen::text, tags, risk, deleted_at::text";

/// Columns read for a run, in [`run_from`] order.
pub(super) const RUN_SELECT: &str = "id, source, kind, mode, status, started_at::text, finished_at::text, \
    assets_expected, assets_stored, findings_expected, findings_stored, deleted_assets, \
    message, details, events_expected, events_stored";

/// Columns read for an event, in [`event_from`] order.
const EVENT_SELECT: &str = "source, kind, id, time::text, event_type, category, severity, \
    description, policy, src_ip, dst_ip, src_mac, dst_mac, protocol, port, asset_ids, resolved";

type Param = Box<dyn ToSql + Sync>;

/// A `WHERE` clause and its parameters (`$1` …).
#[derive(Default)]
pub(super) struct Where {
    pub(super) terms: Vec<String>,
    pub(super) params: Vec<Param>,
}

impl Where {
    /// Adds a term whose `?` is the next parameter.
    pub(super) fn term(&mut self, sql: &str, value: impl ToSql + Sync + 'static) {
        self.params.push(Box::new(value));
        self.terms
            .push(sql.replace('?', &format!("${}", self.params.len())));
    }

    pub(super) fn any_of<T: ToSql + Sync + 'static>(&mut self, column: &str, values: Vec<T>) {
        if !values.is_empty() {
            self.term(&format!("{column} = ANY(?)"), values);
        }
    }

    /// `(table.source, table.id) > (after)`: the keyset of the `(source, id)` order.
    fn after(&mut self, table: &str, after: Option<&(String, String)>) {
        if let Some((s, i)) = after {
            self.params.push(Box::new(s.clone()));
            self.params.push(Box::new(i.clone()));
            let n = self.params.len();
            self.terms
                .push(format!("({table}.source, {table}.id) > (${}, ${n})", n - 1));
        }
    }

    pub(super) fn sql(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.terms.join(" AND "))
        }
    }

    pub(super) fn limit(&mut self, limit: Option<u64>) -> String {
        match limit {
            None => String::new(),
            Some(n) => {
                self.params
                    .push(Box::new(i64::try_from(n).unwrap_or(i64::MAX)));
                format!(" LIMIT ${}", self.params.len())
            }
        }
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as _).collect()
    }
}

fn finding_where(filter: &FindingFilter) -> Where {
    let mut w = Where::default();
    // As of a past time, the state filter applies to the state then (see `as_of_walk`).
    let states: &[FindingState] = if filter.as_of.is_some() {
        &[]
    } else {
        &filter.states
    };
    w.any_of("source", filter.sources.clone());
    w.any_of(
        "severity",
        filter
            .severities
            .iter()
            .map(|s| i16::try_from(s.id()).unwrap_or(-1))
            .collect(),
    );
    w.any_of(
        "state",
        states.iter().map(|s| s.as_str().to_owned()).collect(),
    );
    if let Some(cve) = &filter.cve {
        // Whole elements, ASCII case-insensitive (the `C` collation uppercases ASCII only).
        let cve = cve.trim().to_ascii_uppercase();
        w.term(
            "EXISTS (SELECT 1 FROM unnest(cves) c WHERE upper(c COLLATE \"C\") = ?)",
            cve,
        );
    }
    if let Some(p) = filter.plugin_id {
        w.term("plugin_id = ?", p);
    }
    if let Some(a) = &filter.asset_id {
        w.term("asset_id = ?", a.clone());
    }
    if let Some(r) = filter.run {
        w.term("run_id = ?", r.0);
    }
    if let Some(u) = &filter.unified_asset_id {
        w.term(
            "(source, asset_id) IN (SELECT source, id FROM assets WHERE unified_id = ?)",
            u.clone(),
        );
    }
    w
}

fn asset_where(filter: &AssetFilter) -> Where {
    let mut w = Where::default();
    w.any_of("source", filter.sources.clone());
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        w.term("strpos(search, ?) > 0", s.to_lowercase());
    }
    if !filter.include_deleted {
        w.terms.push("deleted_at IS NULL".to_owned());
    }
    if let Some(u) = &filter.unified_id {
        w.term("unified_id = ?", u.clone());
    }
    if let Some(r) = filter.run {
        w.term("run_id = ?", r.0);
    }
    w
}

fn event_where(filter: &EventFilter) -> Where {
    let mut w = Where::default();
    w.any_of("source", filter.sources.clone());
    if let Some(since) = &filter.since {
        w.term("time >= (?::text)::numeric", ts_text(since));
    }
    if let Some(r) = filter.run {
        w.term("run_id = ?", r.0);
    }
    w
}

fn count(client: &mut Client, table: &str, w: &Where) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM {table}{}", w.sql());
    let n: i64 = client.query_one(sql.as_str(), &w.params())?.get(0);
    Ok(n.unsigned_abs())
}

/// Streams the rows of a query to `f`.
fn stream(
    client: &mut Client,
    sql: &str,
    w: &Where,
    f: &mut dyn FnMut(&Row) -> Result<()>,
) -> Result<()> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut rows = client.query_raw(sql, w.params())?;
    while let Some(row) = rows.next()? {
        f(&row)?;
    }
    Ok(())
}

pub(super) fn checkpoint(
    client: &mut Client,
    source: &str,
    key: &str,
) -> Result<Option<serde_json::Value>> {
    let row = client.query_opt(
        "SELECT value FROM checkpoints WHERE source = $1 AND key = $2",
        &[&source, &key],
    )?;
    row.map(|r| {
        Cols::new(&r, "checkpoints").json(0, &format!("value of checkpoint `{key}` of `{source}`"))
    })
    .transpose()
}

pub(super) fn list_runs(
    client: &mut Client,
    source: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match source {
        Some(s) => client.query(
            format!("SELECT {RUN_SELECT} FROM runs WHERE source = $1 ORDER BY id DESC LIMIT $2")
                .as_str(),
            &[&s, &limit],
        )?,
        None => client.query(
            format!("SELECT {RUN_SELECT} FROM runs ORDER BY id DESC LIMIT $1").as_str(),
            &[&limit],
        )?,
    };
    rows.iter().map(run_from).collect()
}

/// Prefixes a [`Error::Corrupt`] reason with the row it was found in.
fn in_row(e: Error, row: &str) -> Error {
    match e {
        Error::Corrupt { table, reason } => Error::Corrupt {
            table,
            reason: format!("{row}: {reason}"),
        },
        other => other,
    }
}

pub(super) fn run_from(row: &Row) -> Result<RunRecord> {
    let c = Cols::new(row, "runs");
    let id = RunId(c.get(0, "id")?);
    let decode = || -> Result<RunRecord> {
        let mode = c.text(3, "mode")?;
        let status = c.text(4, "status")?;
        Ok(RunRecord {
            id,
            source: c.text(1, "source")?,
            kind: c.kind(2, "kind")?,
            mode: match mode.as_str() {
                "full" => RunMode::Full,
                "incremental" => RunMode::Incremental,
                _ => return Err(corrupt("runs", format!("mode: unknown mode `{mode}`"))),
            },
            status: RunStatus::parse(&status)
                .ok_or_else(|| corrupt("runs", format!("status: unknown status `{status}`")))?,
            started_at: c.ts(5, "started_at")?,
            finished_at: c.opt_ts(6, "finished_at")?,
            assets: Tally {
                expected: c.opt_count(7, "assets_expected")?,
                stored: c.count(8, "assets_stored")?,
            },
            findings: Tally {
                expected: c.opt_count(9, "findings_expected")?,
                stored: c.count(10, "findings_stored")?,
            },
            events: Tally {
                expected: c.opt_count(14, "events_expected")?,
                stored: c.count(15, "events_stored")?,
            },
            deleted_assets: c.count(11, "deleted_assets")?,
            message: c.opt_text(12, "message")?,
            details: c.json(13, "details")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("run {id}")))
}

pub(super) fn count_findings(client: &mut Client, filter: &FindingFilter) -> Result<u64> {
    if filter.as_of.is_some() {
        let mut n = 0u64;
        // Counts ignore the keyset position (and the limit).
        let all = FindingFilter {
            after: None,
            limit: None,
            ..filter.clone()
        };
        for_each_finding(client, &all, &mut |_| {
            n += 1;
            Ok(())
        })?;
        return Ok(n);
    }
    count(client, "findings", &finding_where(filter))
}

pub(super) fn count_assets(client: &mut Client, filter: &AssetFilter) -> Result<u64> {
    count(client, "assets", &asset_where(filter))
}

pub(super) fn count_events(client: &mut Client, filter: &EventFilter) -> Result<u64> {
    count(client, "events", &event_where(filter))
}

pub(super) fn for_each_finding(
    client: &mut Client,
    filter: &FindingFilter,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    if let Some(at) = filter.as_of {
        return as_of_walk(client, filter, at, f);
    }
    let mut w = finding_where(filter);
    w.after("findings", filter.after.as_ref());
    let sql = format!(
        "SELECT {FINDING_SELECT} FROM findings{} ORDER BY findings.source, findings.id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    stream(client, &sql, &w, &mut |row| f(finding_from(row)?))
}

pub(super) fn for_each_asset(
    client: &mut Client,
    filter: &AssetFilter,
    f: &mut dyn FnMut(Asset) -> Result<()>,
) -> Result<()> {
    let mut w = asset_where(filter);
    w.after("assets", filter.after.as_ref());
    let sql = format!(
        "SELECT {ASSET_SELECT} FROM assets{} ORDER BY assets.source, assets.id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    stream(client, &sql, &w, &mut |row| f(asset_from(row)?))
}

pub(super) fn for_each_asset_raw(
    client: &mut Client,
    filter: &AssetFilter,
    f: &mut dyn FnMut(Asset, Option<&str>) -> Result<()>,
) -> Result<()> {
    let mut w = asset_where(filter);
    w.after("assets", filter.after.as_ref());
    let sql = format!(
        "SELECT {ASSET_SELECT}, raw FROM assets{} ORDER BY assets.source, assets.id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    stream(client, &sql, &w, &mut |row| {
        let a = asset_from(row)?;
        let what = format!("raw of {}/{}", a.source, a.id);
        let bytes = Cols::new(row, "assets").raw_bytes(20, &what)?;
        let text = match &bytes {
            Some(b) => Some(
                std::str::from_utf8(b)
                    .map_err(|_| corrupt("assets", format!("{what} is not UTF-8")))?,
            ),
            None => None,
        };
        f(a, text)
    })
}

pub(super) fn for_each_event(
    client: &mut Client,
    filter: &EventFilter,
    f: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<()> {
    let mut w = event_where(filter);
    if let Some(k) = &filter.after {
        // The `(source, time, id)` order with events without a time first.
        w.params.push(Box::new(k.source.clone()));
        let s = w.params.len();
        w.params.push(Box::new(k.id.clone()));
        let i = w.params.len();
        let rest = match &k.time {
            None => format!("(events.time IS NOT NULL OR events.id > ${i})"),
            Some(t) => {
                w.params.push(Box::new(ts_text(t)));
                let t = w.params.len();
                format!(
                    "events.time IS NOT NULL AND (events.time > (${t}::text)::numeric \
                     OR (events.time = (${t}::text)::numeric AND events.id > ${i}))"
                )
            }
        };
        w.terms.push(format!(
            "(events.source > ${s} OR (events.source = ${s} AND {rest}))"
        ));
    }
    let sql = format!(
        "SELECT {EVENT_SELECT} FROM events{} \
         ORDER BY events.source, events.time NULLS FIRST, events.id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    stream(client, &sql, &w, &mut |row| f(event_from(row)?))
}

fn load_history(client: &mut Client, sources: &[String]) -> Result<HistoryMap> {
    const T: &str = "finding_history";
    let mut w = Where::default();
    w.any_of("source", sources.to_vec());
    let sql = format!(
        "SELECT source, finding_id, at::text, change, from_state, to_state FROM finding_history{} \
         ORDER BY source, finding_id, seq",
        w.sql()
    );
    let mut out: HistoryMap = HashMap::new();
    stream(client, &sql, &w, &mut |row| {
        let c = Cols::new(row, T);
        let change = c.text(3, "change")?;
        let change = Change::parse(&change)
            .ok_or_else(|| corrupt(T, format!("change: unknown change `{change}`")))?;
        out.entry((c.text(0, "source")?, c.text(1, "finding_id")?))
            .or_default()
            .push((
                c.ts(2, "at")?,
                change,
                c.state(4, "from_state")?,
                c.state(5, "to_state")?,
            ));
        Ok(())
    })?;
    for v in out.values_mut() {
        v.sort_by_key(|h| h.0);
    }
    Ok(out)
}

/// [`for_each_finding`] as of a past time: every other filter in SQL, then the state then.
fn as_of_walk(
    client: &mut Client,
    filter: &FindingFilter,
    at: Timestamp,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    let history = load_history(client, &filter.sources)?;
    let mut w = finding_where(filter);
    w.after("findings", filter.after.as_ref());
    let sql = format!(
        "SELECT {FINDING_SELECT} FROM findings{} ORDER BY findings.source, findings.id",
        w.sql()
    );
    let mut n = 0u64;
    use postgres::fallible_iterator::FallibleIterator;
    let mut rows = client.query_raw(sql.as_str(), w.params())?;
    while let Some(row) = rows.next()? {
        if filter.limit.is_some_and(|l| n >= l) {
            break;
        }
        let mut finding = finding_from(&row)?;
        let h = history
            .get(&(finding.source.clone(), finding.id.clone()))
            .map_or(&[][..], Vec::as_slice);
        let Some(state) = state_at(&finding, h, at) else {
            continue;
        };
        if !filter.states.is_empty() && !filter.states.contains(&state) {
            continue;
        }
        if state != FindingState::Fixed {
            finding.last_fixed = None;
        }
        finding.state = state;
        n += 1;
        f(finding)?;
    }
    Ok(())
}

pub(super) fn finding_history(
    client: &mut Client,
    source: &str,
    id: &str,
) -> Result<Vec<Transition>> {
    const T: &str = "findings";
    let Some(first) = client.query_opt(
        "SELECT first_found::text, updated_at::text, first_run_id, state, last_fixed::text \
         FROM findings WHERE source = $1 AND id = $2",
        &[&source, &id],
    )?
    else {
        return Ok(Vec::new());
    };
    let c = Cols::new(&first, T);
    let first_found = c.opt_ts(0, "first_found")?;
    let updated = c.opt_ts(1, "updated_at")?;
    let first_run: i64 = c.get(2, "first_run_id")?;
    let state = c.state(3, "state")?;
    let last_fixed = c.opt_ts(4, "last_fixed")?;
    let rows = client.query(
        "SELECT at::text, run_id, change, from_state, to_state FROM finding_history \
         WHERE source = $1 AND finding_id = $2 \
         ORDER BY finding_history.at, finding_history.seq",
        &[&source, &id],
    )?;
    let mut later = Vec::new();
    let mut initial = None;
    for row in &rows {
        const H: &str = "finding_history";
        let h = Cols::new(row, H);
        let change = h.text(2, "change")?;
        initial.get_or_insert(h.state(3, "from_state")?);
        later.push(Transition {
            at: h.ts(0, "at")?,
            run: RunId(h.get(1, "run_id")?),
            change: Change::parse(&change)
                .ok_or_else(|| corrupt(H, format!("change: unknown change `{change}`")))?,
            state: h.state(4, "to_state")?,
        });
    }
    let initial = initial.unwrap_or(state);
    let born = first_found
        .or(updated)
        .ok_or_else(|| corrupt(T, format!("{source}/{id} has no time")))?;
    let mut out = Vec::with_capacity(later.len() + 2);
    if initial == FindingState::Fixed {
        // Stored fixed on first sight: open from first_found until it was fixed.
        out.push(Transition {
            at: born,
            run: RunId(first_run),
            change: Change::New,
            state: FindingState::Open,
        });
        out.push(Transition {
            at: last_fixed.unwrap_or(born),
            run: RunId(first_run),
            change: Change::Fixed,
            state: FindingState::Fixed,
        });
    } else {
        out.push(Transition {
            at: born,
            run: RunId(first_run),
            change: Change::New,
            state: initial,
        });
    }
    out.extend(later);
    Ok(out)
}

/// Nanoseconds in a day.
const DAY_NS: f64 = 86_400e9;

/// A NUMERIC timestamp that the SQLite backend stores as an INTEGER (whole nanoseconds within
/// the i64 range); only those take part in the remediation figures, on both backends.
fn in_i64_ns(col: &str) -> String {
    format!("({col} BETWEEN -9223372036854775808 AND 9223372036854775807 AND scale({col}) = 0)")
}

pub(super) fn remediation(
    client: &mut Client,
    sources: &[String],
    sla: &Sla,
    now: Timestamp,
) -> Result<Vec<RemediationStat>> {
    const T: &str = "findings";
    let mut w = Where::default();
    w.any_of("source", sources.to_vec());
    // Past the SLA: first found before `now - days`, per severity (NULL: no deadline).
    let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut cutoffs = Vec::new();
    for sev in 0..5 {
        let cutoff =
            sla.days[sev].map(|d| now_ns.saturating_sub(i64::from(d) * 86_400_000_000_000));
        w.params.push(Box::new(cutoff));
        cutoffs.push(format!("WHEN {sev} THEN ${}::int8", w.params.len()));
    }
    let ff = in_i64_ns("first_found");
    let lf = in_i64_ns("last_fixed");
    let sql = format!(
        "SELECT source, severity, \
           count(*) FILTER (WHERE state <> 'fixed'), \
           count(*) FILTER (WHERE state <> 'fixed' AND {ff} \
               AND first_found < (CASE severity {} END)), \
           count(*) FILTER (WHERE state = 'fixed'), \
           sum(CASE WHEN state = 'fixed' AND {ff} AND {lf} AND last_fixed >= first_found \
               THEN last_fixed - first_found END)::text, \
           count(CASE WHEN state = 'fixed' AND {ff} AND {lf} AND last_fixed >= first_found \
               THEN 1 END) \
         FROM findings{} GROUP BY source, severity ORDER BY source, severity DESC",
        cutoffs.join(" "),
        w.sql()
    );
    let rows = client.query(sql.as_str(), &w.params())?;
    let mut out = Vec::new();
    for row in &rows {
        let c = Cols::new(row, T);
        let severity = c.severity(1, "severity")?;
        out.push(RemediationStat {
            source: c.text(0, "source")?,
            severity,
            open: c.count(2, "open")?,
            past_sla: c.count(3, "past_sla")?,
            sla_days: sla.for_severity(severity),
            fixed: c.count(4, "fixed")?,
            mean_days_to_remediate: mean(c.get::<Option<&str>>(5, "mttr")?, c.get(6, "mttr")?)
                .map(|ns| ns / DAY_NS),
        });
    }
    Ok(out)
}

/// The mean as SQLite's `avg` computes it over integers: the exact sum, then one division in
/// floating point (so both backends give the same bits).
fn mean(sum: Option<&str>, n: i64) -> Option<f64> {
    let sum: i128 = sum?.parse().ok()?;
    #[allow(clippy::cast_precision_loss)]
    (n > 0).then(|| sum as f64 / n as f64)
}

pub(super) fn finding_from(row: &Row) -> Result<Finding> {
    let c = Cols::new(row, "findings");
    let source = c.text(0, "source")?;
    let id = c.text(1, "id")?;
    let decode = || -> Result<Finding> {
        Ok(Finding {
            source: source.clone(),
            kind: c.kind(2, "kind")?,
            id: id.clone(),
            asset_id: c.text(3, "asset_id")?,
            unified_asset_id: c.opt_text(4, "unified_asset_id")?,
            plugin_id: c.get(5, "plugin_id")?,
            plugin_name: c.opt_text(6, "plugin_name")?,
            plugin_family: c.opt_text(7, "plugin_family")?,
            severity: c.severity(8, "severity")?,
            state: c.state(9, "state")?,
            port: c.get(10, "port")?,
            protocol: c.text(11, "protocol")?,
            service: c.opt_text(12, "service")?,
            cves: c.list(13, "cves")?,
            cvss3_base_score: c.get(14, "cvss3_base_score")?,
            cvss2_base_score: c.get(15, "cvss2_base_score")?,
            vpr_score: c.get(16, "vpr_score")?,
            first_found: c.opt_ts(17, "first_found")?,
            last_found: c.opt_ts(18, "last_found")?,
            last_fixed: c.opt_ts(19, "last_fixed")?,
            hostname: c.opt_text(20, "hostname")?,
            ipv4: c.opt_text(21, "ipv4")?,
            synopsis: c.opt_text(22, "synopsis")?,
            solution: c.opt_text(23, "solution")?,
            output: c.opt_text(24, "output")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("finding {source}/{id}")))
}

pub(super) fn asset_from(row: &Row) -> Result<Asset> {
    let c = Cols::new(row, "assets");
    let source = c.text(0, "source")?;
    let id = c.text(2, "id")?;
    let decode = || -> Result<Asset> {
        Ok(Asset {
            source: source.clone(),
            kind: c.opt_kind(1, "kind")?,
            id: id.clone(),
            unified_id: c.opt_text(3, "unified_id")?,
            name: c.opt_text(4, "name")?,
            hostnames: c.list(5, "hostnames")?,
            fqdns: c.list(6, "fqdns")?,
            ipv4s: c.list(7, "ipv4s")?,
            ipv6s: c.list(8, "ipv6s")?,
            macs: c.list(9, "macs")?,
            operating_systems: c.list(10, "operating_systems")?,
            asset_type: c.opt_text(11, "asset_type")?,
            vendor: c.opt_text(12, "vendor")?,
            model: c.opt_text(13, "model")?,
            firmware: c.opt_text(14, "firmware")?,
            first_seen: c.opt_ts(15, "first_seen")?,
            last_seen: c.opt_ts(16, "last_seen")?,
            tags: c.map(17, "tags")?,
            risk: c.get(18, "risk")?,
            deleted_at: c.opt_ts(19, "deleted_at")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("asset {source}/{id}")))
}

fn event_from(row: &Row) -> Result<Event> {
    let c = Cols::new(row, "events");
    let source = c.text(0, "source")?;
    let id = c.text(2, "id")?;
    let decode = || -> Result<Event> {
        Ok(Event {
            source: source.clone(),
            kind: c.kind(1, "kind")?,
            id: id.clone(),
            time: c.opt_ts(3, "time")?,
            event_type: c.opt_text(4, "event_type")?,
            category: c.opt_text(5, "category")?,
            severity: c.opt_severity(6, "severity")?,
            description: c.opt_text(7, "description")?,
            policy: c.opt_text(8, "policy")?,
            src_ip: c.opt_text(9, "src_ip")?,
            dst_ip: c.opt_text(10, "dst_ip")?,
            src_mac: c.opt_text(11, "src_mac")?,
            dst_mac: c.opt_text(12, "dst_mac")?,
            protocol: c.opt_text(13, "protocol")?,
            port: c.get(14, "port")?,
            asset_ids: c.list(15, "asset_ids")?,
            resolved: c.get(16, "resolved")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("event {source}/{id}")))
}

/// The raw JSON of a record of `table` (findings, assets or events).
pub(super) fn raw_of(
    client: &mut Client,
    table: &'static str,
    source: &str,
    id: &str,
) -> Result<Option<serde_json::Value>> {
    let what = format!("raw of {source}/{id}");
    if table != "findings" {
        let sql = format!("SELECT raw FROM {table} WHERE source = $1 AND id = $2");
        let Some(row) = client.query_opt(sql.as_str(), &[&source, &id])? else {
            return Ok(None);
        };
        return Cols::new(&row, table).raw(0, &what).map(Some);
    }
    // A finding's raw JSON may be compressed against its plugin's dictionary (0003).
    let Some(row) = client.query_opt(
        "SELECT f.raw, f.raw_dict, d.data FROM findings f \
         LEFT JOIN raw_dicts d ON d.id = f.raw_dict WHERE f.source = $1 AND f.id = $2",
        &[&source, &id],
    )?
    else {
        return Ok(None);
    };
    let c = Cols::new(&row, table);
    let Some(blob) = c.get::<Option<&[u8]>>(0, &what)? else {
        return Ok(Some(serde_json::Value::Null));
    };
    let dict = match (
        c.get::<Option<i64>>(1, &what)?,
        c.get::<Option<&[u8]>>(2, &what)?,
    ) {
        (None, _) => None,
        (Some(d), None) => {
            return Err(corrupt(table, format!("{what}: dictionary {d} is missing")));
        }
        (Some(d), Some(data)) => Some(
            crate::sqlite::codec::decompress(data, None)
                .map_err(|reason| corrupt("raw_dicts", format!("dictionary {d}: {reason}")))?,
        ),
    };
    let text = crate::sqlite::codec::decompress(blob, dict.as_deref())
        .map_err(|reason| corrupt(table, format!("{what}: {reason}")))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| corrupt(table, format!("{what}: raw is not JSON: {e}")))
}

pub(super) fn unified_links(
    client: &mut Client,
    unified_id: &str,
) -> Result<Vec<crate::UnifiedLink>> {
    const T: &str = "unified_links";
    let rows = client.query(
        "SELECT a_source, a_id, b_source, b_id, evidence FROM unified_links \
         WHERE unified_id = $1 ORDER BY a_source, a_id, b_source, b_id",
        &[&unified_id],
    )?;
    rows.iter()
        .map(|row| {
            let c = Cols::new(row, T);
            Ok(crate::UnifiedLink {
                unified_id: unified_id.to_owned(),
                a: (c.text(0, "a_source")?, c.text(1, "a_id")?),
                b: (c.text(2, "b_source")?, c.text(3, "b_id")?),
                evidence: c.raw_json(4, "evidence")?,
            })
        })
        .collect()
}

pub(super) fn lease(client: &mut Client, source: &str) -> Result<Option<Lease>> {
    let row = client.query_opt(
        "SELECT source, holder, expires_at FROM leases WHERE source = $1",
        &[&source],
    )?;
    row.map(|r| {
        let c = Cols::new(&r, "leases");
        Ok(Lease {
            source: c.text(0, "source")?,
            holder: c.text(1, "holder")?,
            expires_at: c.get(2, "expires_at")?,
        })
    })
    .transpose()
}

/// The server answers, the schema is at this build's version, and the tables are readable.
pub(super) fn integrity_check(client: &mut Client) -> Result<()> {
    let v: Option<i32> = client
        .query_one("SELECT max(version) FROM schema_migrations", &[])?
        .get(0);
    if v != Some(super::PgStore::SCHEMA_VERSION) {
        return Err(corrupt(
            "schema_migrations",
            format!(
                "schema version {v:?}, expected {}",
                super::PgStore::SCHEMA_VERSION
            ),
        ));
    }
    for table in [
        "runs",
        "checkpoints",
        "assets",
        "findings",
        "finding_history",
        "events",
    ] {
        client.query_one(
            format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) t").as_str(),
            &[],
        )?;
    }
    Ok(())
}
