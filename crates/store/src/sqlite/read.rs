//! The read path: checkpoints, runs, filtered counts and streams, raw records.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Row, params, params_from_iter};
use std::collections::HashMap;

use rusqlite::OptionalExtension;
use tenax_model::{Asset, Event, Finding, FindingState, Severity, Timestamp};

use super::codec::{
    col, corrupt, count_from, decompress, int_from, json_from, kind_from, list_from, map_from,
    opt_count_from, opt_kind_from, opt_real_from, opt_text_from, opt_ts_from, raw_from,
    raw_json_from, severity_from, state_from, text_from, ts_from,
};
use crate::{
    AssetFilter, Change, Error, EventFilter, FindingFilter, RemediationStat, Result, RunId,
    RunMode, RunRecord, RunStatus, Sla, Tally, Transition,
};

/// Columns read for a finding, in [`finding_from`] order.
/// A finding's unified asset is its asset's (correlation writes only the assets), else what
/// the finding was stored with.
pub(super) const FINDING_SELECT: &str = "source, id, kind, asset_id, coalesce((SELECT a.unified_id \
    FROM assets a WHERE a.source = findings.source AND a.id = findings.asset_id), \
    unified_asset_id), plugin_id, \
    plugin_name, plugin_family, severity, state, port, protocol, service, cves, \
    cvss3_base_score, cvss2_base_score, vpr_score, first_found, last_found, last_fixed, \
    hostname, ipv4, synopsis, solution, output";

/// Columns read for an asset, in [`asset_from`] order.
pub(super) const ASSET_SELECT: &str = "source, kind, id, unified_id, name, hostnames, fqdns, ipv4s, \
    ipv6s, macs, operating_systems, asset_type, vendor, model, firmware, first_seen, last_seen, \
    tags, risk, deleted_at";

/// Columns read for a run, in [`run_from`] order.
pub(super) const RUN_SELECT: &str = "id, source, kind, mode, status, started_at, finished_at, \
    assets_expected, assets_stored, findings_expected, findings_stored, deleted_assets, \
    message, details, events_expected, events_stored";

/// Columns read for an event, in [`event_from`] order.
const EVENT_SELECT: &str = "source, kind, id, time, event_type, category, severity, \
    description, policy, src_ip, dst_ip, src_mac, dst_mac, protocol, port, asset_ids, resolved";

pub(super) fn checkpoint(
    conn: &Connection,
    source: &str,
    key: &str,
) -> Result<Option<serde_json::Value>> {
    let mut stmt =
        conn.prepare_cached("SELECT value FROM checkpoints WHERE source = ?1 AND key = ?2")?;
    let mut rows = stmt.query(params![source, key])?;
    match rows.next()? {
        None => Ok(None),
        Some(row) => {
            let what = format!("value of checkpoint `{key}` of `{source}`");
            json_from(col(row, 0, "checkpoints")?, "checkpoints", &what).map(Some)
        }
    }
}

pub(super) fn list_runs(
    conn: &Connection,
    source: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt;
    let mut rows = match source {
        Some(s) => {
            stmt = conn.prepare_cached(&format!(
                "SELECT {RUN_SELECT} FROM runs WHERE source = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            stmt.query(params![s, limit])?
        }
        None => {
            stmt = conn.prepare_cached(&format!(
                "SELECT {RUN_SELECT} FROM runs ORDER BY id DESC LIMIT ?1"
            ))?;
            stmt.query(params![limit])?
        }
    };
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(run_from(row)?);
    }
    Ok(out)
}

pub(super) fn run_from(row: &Row<'_>) -> Result<RunRecord> {
    const T: &str = "runs";
    let id = RunId(int_from(col(row, 0, T)?, T, "id")?);
    let decode = || -> Result<RunRecord> {
        let mode = text_from(col(row, 3, T)?, T, "mode")?;
        let status = text_from(col(row, 4, T)?, T, "status")?;
        Ok(RunRecord {
            id,
            source: text_from(col(row, 1, T)?, T, "source")?,
            kind: kind_from(col(row, 2, T)?, T, "kind")?,
            mode: match mode.as_str() {
                "full" => RunMode::Full,
                "incremental" => RunMode::Incremental,
                _ => return Err(corrupt(T, format!("mode: unknown mode `{mode}`"))),
            },
            status: RunStatus::parse(&status)
                .ok_or_else(|| corrupt(T, format!("status: unknown status `{status}`")))?,
            started_at: ts_from(col(row, 5, T)?, T, "started_at")?,
            finished_at: opt_ts_from(col(row, 6, T)?, T, "finished_at")?,
            assets: Tally {
                expected: opt_count_from(col(row, 7, T)?, T, "assets_expected")?,
                stored: count_from(col(row, 8, T)?, T, "assets_stored")?,
            },
            findings: Tally {
                expected: opt_count_from(col(row, 9, T)?, T, "findings_expected")?,
                stored: count_from(col(row, 10, T)?, T, "findings_stored")?,
            },
            events: Tally {
                expected: opt_count_from(col(row, 14, T)?, T, "events_expected")?,
                stored: count_from(col(row, 15, T)?, T, "events_stored")?,
            },
            deleted_assets: count_from(col(row, 11, T)?, T, "deleted_assets")?,
            message: opt_text_from(col(row, 12, T)?, T, "message")?,
            details: json_from(col(row, 13, T)?, T, "details")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("run {id}")))
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

/// A `WHERE` clause and its parameters.
#[derive(Default, Clone)]
pub(super) struct Where {
    pub(super) terms: Vec<String>,
    pub(super) params: Vec<Value>,
}

impl Where {
    pub(super) fn term(&mut self, sql: &str, value: impl Into<Value>) {
        self.params.push(value.into());
        self.terms
            .push(sql.replace('?', &format!("?{}", self.params.len())));
    }

    pub(super) fn any_of(&mut self, column: &str, values: impl IntoIterator<Item = Value>) {
        let mut marks = Vec::new();
        for v in values {
            self.params.push(v);
            marks.push(format!("?{}", self.params.len()));
        }
        if !marks.is_empty() {
            self.terms
                .push(format!("{column} IN ({})", marks.join(", ")));
        }
    }

    /// `(source, id) > (after)`: the keyset of the `(source, id)` order (a row-value
    /// comparison SQLite runs as a range scan of the `(source, id)` index). When the filter
    /// holds exactly the cursor's source, `id > ?` (with `source IN (?)` the planner would not
    /// use the row value, only the source).
    fn after(&mut self, sources: &[String], after: Option<&(String, String)>) {
        if let Some((s, i)) = after {
            if sources.len() == 1 && sources[0] == *s {
                self.term("id > ?", i.clone());
                return;
            }
            self.params.push(Value::Text(s.clone()));
            self.params.push(Value::Text(i.clone()));
            let n = self.params.len();
            self.terms
                .push(format!("(source, id) > (?{}, ?{n})", n - 1));
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
                    .push(Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
                format!(" LIMIT ?{}", self.params.len())
            }
        }
    }
}

fn finding_where(filter: &FindingFilter) -> Result<Where> {
    let mut w = Where::default();
    // As of a past time, the state filter applies to the state then (see `as_of_walk`).
    let states: &[FindingState] = if filter.as_of.is_some() {
        &[]
    } else {
        &filter.states
    };
    w.any_of(
        "source",
        filter.sources.iter().map(|s| Value::Text(s.clone())),
    );
    w.any_of(
        "severity",
        filter.severities.iter().map(|s| Value::Integer(s.id())),
    );
    w.any_of(
        "state",
        states.iter().map(|s| Value::Text(s.as_str().to_owned())),
    );
    if let Some(cve) = &filter.cve {
        // `cves` is a JSON array. A substring test on the JSON-quoted id is a cheap prefilter
        // (it can only err on the side of matching, e.g. for `,`); `json_each` then compares
        // whole elements. Both sides are ASCII-uppercased.
        let cve = cve.trim().to_ascii_uppercase();
        let quoted =
            serde_json::to_string(&cve).map_err(|e| Error::Config(format!("cve filter: {e}")))?;
        w.term("instr(upper(cves), ?) > 0", quoted);
        w.term(
            "EXISTS (SELECT 1 FROM json_each(cves) WHERE upper(value) = ?)",
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
    Ok(w)
}

fn asset_where(filter: &AssetFilter) -> Where {
    let mut w = Where::default();
    w.any_of(
        "source",
        filter.sources.iter().map(|s| Value::Text(s.clone())),
    );
    if let Some(s) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        w.term("instr(search, ?) > 0", s.to_lowercase());
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

fn count(conn: &Connection, table: &str, w: &Where) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM {table}{}", w.sql());
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(&w.params), |r| r.get(0))?;
    Ok(n.unsigned_abs())
}

pub(super) fn count_findings(conn: &Connection, filter: &FindingFilter) -> Result<u64> {
    if filter.as_of.is_some() {
        let mut n = 0u64;
        // Counts ignore the keyset position (and the limit).
        let all = FindingFilter {
            after: None,
            limit: None,
            ..filter.clone()
        };
        for_each_finding(conn, &all, &mut |_| {
            n += 1;
            Ok(())
        })?;
        return Ok(n);
    }
    count(conn, "findings", &finding_where(filter)?)
}

pub(super) fn count_assets(conn: &Connection, filter: &AssetFilter) -> Result<u64> {
    count(conn, "assets", &asset_where(filter))
}

pub(super) fn for_each_finding(
    conn: &Connection,
    filter: &FindingFilter,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    if filter.as_of.is_none()
        && filter.limit.is_some()
        && (!filter.severities.is_empty() || !filter.states.is_empty())
    {
        return combo_walk(conn, filter, f);
    }
    if filter.sources.len() > 1
        && let Some(after) = &filter.after
    {
        return per_source(
            &filter.sources,
            after,
            filter.limit,
            &mut |source, after, limit| {
                let one = FindingFilter {
                    sources: vec![source],
                    after,
                    limit,
                    ..filter.clone()
                };
                let mut n = 0;
                for_each_finding(conn, &one, &mut |x| {
                    n += 1;
                    f(x)
                })?;
                Ok(n)
            },
        );
    }
    if let Some(at) = filter.as_of {
        return as_of_walk(conn, filter, at, f);
    }
    let mut w = finding_where(filter)?;
    w.after(&filter.sources, filter.after.as_ref());
    let sql = format!(
        "SELECT {FINDING_SELECT} FROM findings{} ORDER BY source, id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(row) = rows.next()? {
        f(finding_from(row)?)?;
    }
    Ok(())
}

pub(super) fn for_each_asset(
    conn: &Connection,
    filter: &AssetFilter,
    f: &mut dyn FnMut(Asset) -> Result<()>,
) -> Result<()> {
    if filter.sources.len() > 1
        && let Some(after) = &filter.after
    {
        return per_source(
            &filter.sources,
            after,
            filter.limit,
            &mut |source, after, limit| {
                let one = AssetFilter {
                    sources: vec![source],
                    after,
                    limit,
                    ..filter.clone()
                };
                let mut n = 0;
                for_each_asset(conn, &one, &mut |x| {
                    n += 1;
                    f(x)
                })?;
                Ok(n)
            },
        );
    }
    let mut w = asset_where(filter);
    w.after(&filter.sources, filter.after.as_ref());
    let sql = format!(
        "SELECT {ASSET_SELECT} FROM assets{} ORDER BY source, id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(row) = rows.next()? {
        f(asset_from(row)?)?;
    }
    Ok(())
}

/// A page of findings filtered by severity or state, in `(source, id)` order: per source, the
/// ids of each (severity, state) combination from its range of the (source, severity, state,
/// id) index (at most `limit` each, after the cursor), merged; then those rows. A walk of the
/// (source, id) index instead would read every finding until `limit` match: slow for a
/// filter that matches few.
fn combo_walk(
    conn: &Connection,
    filter: &FindingFilter,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    const T: &str = "findings";
    let mut sources: Vec<String> = if filter.sources.is_empty() {
        // Every finding was written by a run of its source.
        let mut stmt = conn.prepare_cached("SELECT DISTINCT source FROM runs")?;
        let mut rows = stmt.query([])?;
        let mut v = Vec::new();
        while let Some(row) = rows.next()? {
            v.push(text_from(col(row, 0, "runs")?, "runs", "source")?);
        }
        v
    } else {
        filter.sources.clone()
    };
    sources.sort();
    sources.dedup();
    let mut severities: Vec<i64> = if filter.severities.is_empty() {
        Severity::ALL.iter().map(|s| s.id()).collect()
    } else {
        filter.severities.iter().map(|s| s.id()).collect()
    };
    severities.sort_unstable();
    severities.dedup();
    let mut states: Vec<&str> = if filter.states.is_empty() {
        FindingState::ALL.iter().map(|s| s.as_str()).collect()
    } else {
        filter.states.iter().map(|s| s.as_str()).collect()
    };
    states.sort_unstable();
    states.dedup();
    let rest = finding_where(&FindingFilter {
        sources: Vec::new(),
        severities: Vec::new(),
        states: Vec::new(),
        limit: None,
        after: None,
        ..filter.clone()
    })?;
    let mut left = filter.limit;
    for source in sources {
        if left == Some(0) {
            break;
        }
        let after_id = match &filter.after {
            Some((s, _)) if *s > source => continue,
            Some((s, i)) if *s == source => Some(i.clone()),
            _ => None,
        };
        let mut ids: Vec<String> = Vec::new();
        for sev in &severities {
            for state in &states {
                let mut w = rest.clone();
                w.term("source = ?", source.clone());
                w.term("severity = ?", *sev);
                w.term("state = ?", (*state).to_owned());
                if let Some(a) = &after_id {
                    w.term("id > ?", a.clone());
                }
                let sql = format!(
                    "SELECT id FROM findings{} ORDER BY id{}",
                    w.sql(),
                    w.limit(left)
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(&w.params))?;
                while let Some(row) = rows.next()? {
                    ids.push(text_from(col(row, 0, T)?, T, "id")?);
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if let Some(l) = left {
            ids.truncate(usize::try_from(l).unwrap_or(usize::MAX));
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {FINDING_SELECT} FROM findings WHERE source = ?1 AND id = ?2"
        ))?;
        for id in &ids {
            let mut rows = stmt.query(params![source, id])?;
            if let Some(row) = rows.next()? {
                f(finding_from(row)?)?;
            }
        }
        left = left.map(|l| l.saturating_sub(ids.len() as u64));
    }
    Ok(())
}

/// One source's part of a keyset walk: `(source, after, limit)` → rows it produced.
type SourceWalk<'a> = dyn FnMut(String, Option<(String, String)>, Option<u64>) -> Result<u64> + 'a;

/// A keyset walk over several sources as one walk per source, in `(source, id)` order: the
/// cursor's source from after its id, the later ones from their start, until `limit` rows.
/// Each walk is then one index range scan (SQLite plans `source IN (…)` with a row-value
/// bound as a scan of every listed source from its first row).
fn per_source(
    sources: &[String],
    after: &(String, String),
    limit: Option<u64>,
    walk: &mut SourceWalk<'_>,
) -> Result<()> {
    let mut sources = sources.to_vec();
    sources.sort();
    sources.dedup();
    let mut left = limit;
    for s in sources.into_iter().filter(|s| *s >= after.0) {
        if left == Some(0) {
            break;
        }
        let from = (s == after.0).then(|| after.clone());
        let n = walk(s, from, left)?;
        left = left.map(|l| l.saturating_sub(n));
    }
    Ok(())
}

/// History rows of findings: `(source, id) → [(at, change, from, to)]`, oldest first.
pub(crate) type HistoryMap =
    HashMap<(String, String), Vec<(Timestamp, Change, FindingState, FindingState)>>;

fn load_history(conn: &Connection, sources: &[String]) -> Result<HistoryMap> {
    const T: &str = "finding_history";
    let mut w = Where::default();
    w.any_of("source", sources.iter().map(|s| Value::Text(s.clone())));
    let sql = format!(
        "SELECT source, finding_id, at, change, from_state, to_state FROM finding_history{} \
         ORDER BY rowid",
        w.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut out: HistoryMap = HashMap::new();
    while let Some(row) = rows.next()? {
        let change = text_from(col(row, 3, T)?, T, "change")?;
        let change = Change::parse(&change)
            .ok_or_else(|| corrupt(T, format!("change: unknown change `{change}`")))?;
        out.entry((
            text_from(col(row, 0, T)?, T, "source")?,
            text_from(col(row, 1, T)?, T, "finding_id")?,
        ))
        .or_default()
        .push((
            ts_from(col(row, 2, T)?, T, "at")?,
            change,
            state_from(col(row, 4, T)?, T, "from_state")?,
            state_from(col(row, 5, T)?, T, "to_state")?,
        ));
    }
    for v in out.values_mut() {
        v.sort_by_key(|h| h.0);
    }
    Ok(out)
}

/// The state a finding had at `at`, or `None` when it was not there (not yet found, or gone
/// with its asset). Without history rows up to `at`, the state is the one it was first stored
/// with; a finding first stored as fixed was open from `first_found` until `last_fixed`.
pub(crate) fn state_at(
    f: &Finding,
    history: &[(Timestamp, Change, FindingState, FindingState)],
    at: Timestamp,
) -> Option<FindingState> {
    if f.first_found.is_some_and(|t| t > at) {
        return None;
    }
    if let Some((_, change, _, to)) = history.iter().rev().find(|h| h.0 <= at) {
        return (*change != Change::Gone).then_some(*to);
    }
    let initial = history.first().map_or(f.state, |h| h.2);
    if initial == FindingState::Fixed && f.last_fixed.is_some_and(|t| t > at) {
        return Some(FindingState::Open);
    }
    Some(initial)
}

/// [`for_each_finding`] as of a past time: every other filter in SQL, then the state then.
fn as_of_walk(
    conn: &Connection,
    filter: &FindingFilter,
    at: Timestamp,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    let history = load_history(conn, &filter.sources)?;
    let mut w = finding_where(filter)?;
    w.after(&filter.sources, filter.after.as_ref());
    let sql = format!(
        "SELECT {FINDING_SELECT} FROM findings{} ORDER BY source, id",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        if filter.limit.is_some_and(|l| n >= l) {
            break;
        }
        let mut finding = finding_from(row)?;
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
    conn: &Connection,
    source: &str,
    id: &str,
) -> Result<Vec<Transition>> {
    const T: &str = "findings";
    let first = conn
        .prepare_cached(
            "SELECT first_found, updated_at, first_run_id, state, last_fixed FROM findings \
             WHERE source = ?1 AND id = ?2",
        )?
        .query_row(params![source, id], |r| {
            Ok((
                r.get::<_, Value>(0)?,
                r.get::<_, Value>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Value>(4)?,
            ))
        })
        .optional()?;
    let Some((first_found, updated, first_run, state, last_fixed)) = first else {
        return Ok(Vec::new());
    };
    let ts = |v: &Value, what: &str| opt_ts_from(ValueRef::from(v), T, what);
    let state: FindingState = state
        .parse()
        .map_err(|e| corrupt(T, format!("state of {source}/{id}: {e}")))?;
    let mut later = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT at, run_id, change, from_state, to_state FROM finding_history \
         WHERE source = ?1 AND finding_id = ?2 ORDER BY at, rowid",
    )?;
    let mut rows = stmt.query(params![source, id])?;
    let mut initial = None;
    while let Some(row) = rows.next()? {
        const H: &str = "finding_history";
        let change = text_from(col(row, 2, H)?, H, "change")?;
        initial.get_or_insert(state_from(col(row, 3, H)?, H, "from_state")?);
        later.push(Transition {
            at: ts_from(col(row, 0, H)?, H, "at")?,
            run: RunId(int_from(col(row, 1, H)?, H, "run_id")?),
            change: Change::parse(&change)
                .ok_or_else(|| corrupt(H, format!("change: unknown change `{change}`")))?,
            state: state_from(col(row, 4, H)?, H, "to_state")?,
        });
    }
    let initial = initial.unwrap_or(state);
    let born = ts(&first_found, "first_found")?
        .or(ts(&updated, "updated_at")?)
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
            at: ts(&last_fixed, "last_fixed")?.unwrap_or(born),
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

pub(super) fn remediation(
    conn: &Connection,
    sources: &[String],
    sla: &Sla,
    now: Timestamp,
) -> Result<Vec<RemediationStat>> {
    const T: &str = "findings";
    let mut w = Where::default();
    w.any_of("source", sources.iter().map(|s| Value::Text(s.clone())));
    // Past the SLA: first found before `now - days`, per severity (NULL: no deadline).
    let now_ns = now.timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut cutoffs = Vec::new();
    for sev in 0..5 {
        let cutoff =
            sla.days[sev].map(|d| now_ns.saturating_sub(i64::from(d) * 86_400_000_000_000));
        w.params.push(cutoff.map_or(Value::Null, Value::Integer));
        cutoffs.push(format!("WHEN {sev} THEN ?{}", w.params.len()));
    }
    let sql = format!(
        "SELECT source, severity, \
           sum(state != 'fixed'), \
           sum(state != 'fixed' AND typeof(first_found) = 'integer' \
               AND first_found < (CASE severity {} END)), \
           sum(state = 'fixed'), \
           avg(CASE WHEN state = 'fixed' AND typeof(first_found) = 'integer' \
               AND typeof(last_fixed) = 'integer' AND last_fixed >= first_found \
               THEN last_fixed - first_found END) \
         FROM findings{} GROUP BY source, severity ORDER BY source, severity DESC",
        cutoffs.join(" "),
        w.sql()
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let severity = severity_from(col(row, 1, T)?, T, "severity")?;
        out.push(RemediationStat {
            source: text_from(col(row, 0, T)?, T, "source")?,
            severity,
            open: count_from(col(row, 2, T)?, T, "open")?,
            past_sla: opt_count_from(col(row, 3, T)?, T, "past_sla")?.unwrap_or(0),
            sla_days: sla.for_severity(severity),
            fixed: count_from(col(row, 4, T)?, T, "fixed")?,
            mean_days_to_remediate: opt_real_from(col(row, 5, T)?, T, "mttr")?
                .map(|ns| ns / DAY_NS),
        });
    }
    Ok(out)
}

pub(super) fn finding_from(row: &Row<'_>) -> Result<Finding> {
    const T: &str = "findings";
    let source = text_from(col(row, 0, T)?, T, "source")?;
    let id = text_from(col(row, 1, T)?, T, "id")?;
    let decode = || -> Result<Finding> {
        Ok(Finding {
            source: source.clone(),
            kind: kind_from(col(row, 2, T)?, T, "kind")?,
            id: id.clone(),
            asset_id: text_from(col(row, 3, T)?, T, "asset_id")?,
            unified_asset_id: opt_text_from(col(row, 4, T)?, T, "unified_asset_id")?,
            plugin_id: int_from(col(row, 5, T)?, T, "plugin_id")?,
            plugin_name: opt_text_from(col(row, 6, T)?, T, "plugin_name")?,
            plugin_family: opt_text_from(col(row, 7, T)?, T, "plugin_family")?,
            severity: severity_from(col(row, 8, T)?, T, "severity")?,
            state: state_from(col(row, 9, T)?, T, "state")?,
            port: int_from(col(row, 10, T)?, T, "port")?,
            protocol: text_from(col(row, 11, T)?, T, "protocol")?,
            service: opt_text_from(col(row, 12, T)?, T, "service")?,
            cves: list_from(col(row, 13, T)?, T, "cves")?,
            cvss3_base_score: opt_real_from(col(row, 14, T)?, T, "cvss3_base_score")?,
            cvss2_base_score: opt_real_from(col(row, 15, T)?, T, "cvss2_base_score")?,
            vpr_score: opt_real_from(col(row, 16, T)?, T, "vpr_score")?,
            first_found: opt_ts_from(col(row, 17, T)?, T, "first_found")?,
            last_found: opt_ts_from(col(row, 18, T)?, T, "last_found")?,
            last_fixed: opt_ts_from(col(row, 19, T)?, T, "last_fixed")?,
            hostname: opt_text_from(col(row, 20, T)?, T, "hostname")?,
            ipv4: opt_text_from(col(row, 21, T)?, T, "ipv4")?,
            synopsis: opt_text_from(col(row, 22, T)?, T, "synopsis")?,
            solution: opt_text_from(col(row, 23, T)?, T, "solution")?,
            output: opt_text_from(col(row, 24, T)?, T, "output")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("finding {source}/{id}")))
}

pub(super) fn asset_from(row: &Row<'_>) -> Result<Asset> {
    const T: &str = "assets";
    let source = text_from(col(row, 0, T)?, T, "source")?;
    let id = text_from(col(row, 2, T)?, T, "id")?;
    let decode = || -> Result<Asset> {
        Ok(Asset {
            source: source.clone(),
            kind: opt_kind_from(col(row, 1, T)?, T, "kind")?,
            id: id.clone(),
            unified_id: opt_text_from(col(row, 3, T)?, T, "unified_id")?,
            name: opt_text_from(col(row, 4, T)?, T, "name")?,
            hostnames: list_from(col(row, 5, T)?, T, "hostnames")?,
            fqdns: list_from(col(row, 6, T)?, T, "fqdns")?,
            ipv4s: list_from(col(row, 7, T)?, T, "ipv4s")?,
            ipv6s: list_from(col(row, 8, T)?, T, "ipv6s")?,
            macs: list_from(col(row, 9, T)?, T, "macs")?,
            operating_systems: list_from(col(row, 10, T)?, T, "operating_systems")?,
            asset_type: opt_text_from(col(row, 11, T)?, T, "asset_type")?,
            vendor: opt_text_from(col(row, 12, T)?, T, "vendor")?,
            model: opt_text_from(col(row, 13, T)?, T, "model")?,
            firmware: opt_text_from(col(row, 14, T)?, T, "firmware")?,
            first_seen: opt_ts_from(col(row, 15, T)?, T, "first_seen")?,
            last_seen: opt_ts_from(col(row, 16, T)?, T, "last_seen")?,
            tags: map_from(col(row, 17, T)?, T, "tags")?,
            risk: opt_real_from(col(row, 18, T)?, T, "risk")?,
            deleted_at: opt_ts_from(col(row, 19, T)?, T, "deleted_at")?,
        })
    };
    decode().map_err(|e| in_row(e, &format!("asset {source}/{id}")))
}

/// The raw JSON of a finding, decompressed with its dictionary.
pub(super) fn raw_finding(
    conn: &Connection,
    source: &str,
    id: &str,
) -> Result<Option<serde_json::Value>> {
    const T: &str = "findings";
    let mut stmt = conn.prepare_cached(
        "SELECT f.raw, f.raw_dict, d.data FROM findings f \
         LEFT JOIN raw_dicts d ON d.id = f.raw_dict WHERE f.source = ?1 AND f.id = ?2",
    )?;
    let mut rows = stmt.query(params![source, id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let what = format!("raw of {source}/{id}");
    let dict = match (col(row, 1, T)?, col(row, 2, T)?) {
        (ValueRef::Null, _) => None,
        (ValueRef::Integer(d), ValueRef::Blob(blob)) => {
            Some(decompress(blob, None).map_err(|reason| {
                corrupt("raw_dicts", format!("dictionary {d} of {what}: {reason}"))
            })?)
        }
        (ValueRef::Integer(d), _) => {
            return Err(corrupt(T, format!("{what}: dictionary {d} is missing")));
        }
        _ => return Err(corrupt(T, format!("{what}: raw_dict is not an id"))),
    };
    raw_from(col(row, 0, T)?, dict.as_deref(), T, &what).map(Some)
}

/// The raw JSON of an asset.
pub(super) fn raw_asset(
    conn: &Connection,
    source: &str,
    id: &str,
) -> Result<Option<serde_json::Value>> {
    let mut stmt = conn.prepare_cached("SELECT raw FROM assets WHERE source = ?1 AND id = ?2")?;
    let mut rows = stmt.query(params![source, id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    raw_from(
        col(row, 0, "assets")?,
        None,
        "assets",
        &format!("raw of {source}/{id}"),
    )
    .map(Some)
}

pub(super) fn lease(conn: &Connection, source: &str) -> Result<Option<crate::Lease>> {
    const T: &str = "leases";
    let mut stmt =
        conn.prepare_cached("SELECT holder, expires_at FROM leases WHERE source = ?1")?;
    let mut rows = stmt.query(params![source])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(crate::Lease {
        source: source.to_owned(),
        holder: text_from(col(row, 0, T)?, T, "holder")?,
        expires_at: ts_from(col(row, 1, T)?, T, "expires_at")?,
    }))
}

pub(super) fn integrity_check(conn: &Connection) -> Result<()> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        stmt.query_map([], |r| r.get::<_, String>(0))?.collect()
    };
    let lines = match run() {
        Ok(lines) => lines,
        // Damage bad enough that the check itself cannot read a page.
        Err(rusqlite::Error::SqliteFailure(e, msg))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            return Err(corrupt(
                "database",
                format!("integrity_check: {}", msg.unwrap_or_else(|| e.to_string())),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if lines.len() == 1 && lines[0] == "ok" {
        return Ok(());
    }
    Err(corrupt(
        "database",
        format!("integrity_check: {}", lines.join("; ")),
    ))
}

fn event_where(filter: &EventFilter) -> Where {
    let mut w = Where::default();
    w.any_of(
        "source",
        filter.sources.iter().map(|s| Value::Text(s.clone())),
    );
    if let Some(since) = &filter.since {
        // Timestamps are INTEGER nanoseconds; the rare TEXT form (outside the i64 range)
        // sorts after every integer in SQLite, so `>=` keeps those far-future values too.
        w.term("time >= ?", super::codec::ts_value(since));
    }
    if let Some(r) = filter.run {
        w.term("run_id = ?", r.0);
    }
    w
}

pub(super) fn count_events(conn: &Connection, filter: &EventFilter) -> Result<u64> {
    count(conn, "events", &event_where(filter))
}

pub(super) fn for_each_event(
    conn: &Connection,
    filter: &EventFilter,
    f: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<()> {
    let mut w = event_where(filter);
    if let Some(k) = &filter.after {
        // The `(source, time, id)` order with events without a time first (NULL sorts
        // first); timestamps compare as they sort (see `event_where`).
        w.params.push(Value::Text(k.source.clone()));
        let s = w.params.len();
        w.params.push(Value::Text(k.id.clone()));
        let i = w.params.len();
        let rest = match &k.time {
            None => format!("(time IS NOT NULL OR id > ?{i})"),
            Some(t) => {
                w.params.push(super::codec::ts_value(t));
                let t = w.params.len();
                format!("time IS NOT NULL AND (time > ?{t} OR (time = ?{t} AND id > ?{i}))")
            }
        };
        w.terms
            .push(format!("(source > ?{s} OR (source = ?{s} AND {rest}))"));
    }
    let sql = format!(
        "SELECT {EVENT_SELECT} FROM events{} ORDER BY source, time, id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(row) = rows.next()? {
        f(event_from(row)?)?;
    }
    Ok(())
}

fn event_from(row: &Row<'_>) -> Result<Event> {
    const T: &str = "events";
    let source = text_from(col(row, 0, T)?, T, "source")?;
    let id = text_from(col(row, 2, T)?, T, "id")?;
    let decode = || -> Result<Event> {
        let severity = match col(row, 6, T)? {
            ValueRef::Null => None,
            v => {
                let n = int_from(v, T, "severity")?;
                Some(
                    Severity::from_id(n)
                        .ok_or_else(|| corrupt(T, format!("severity: unknown id {n}")))?,
                )
            }
        };
        Ok(Event {
            source: source.clone(),
            kind: kind_from(col(row, 1, T)?, T, "kind")?,
            id: id.clone(),
            time: opt_ts_from(col(row, 3, T)?, T, "time")?,
            event_type: opt_text_from(col(row, 4, T)?, T, "event_type")?,
            category: opt_text_from(col(row, 5, T)?, T, "category")?,
            severity,
            description: opt_text_from(col(row, 7, T)?, T, "description")?,
            policy: opt_text_from(col(row, 8, T)?, T, "policy")?,
            src_ip: opt_text_from(col(row, 9, T)?, T, "src_ip")?,
            dst_ip: opt_text_from(col(row, 10, T)?, T, "dst_ip")?,
            src_mac: opt_text_from(col(row, 11, T)?, T, "src_mac")?,
            dst_mac: opt_text_from(col(row, 12, T)?, T, "dst_mac")?,
            protocol: opt_text_from(col(row, 13, T)?, T, "protocol")?,
            port: match col(row, 14, T)? {
                ValueRef::Null => None,
                v => Some(int_from(v, T, "port")?),
            },
            asset_ids: list_from(col(row, 15, T)?, T, "asset_ids")?,
            resolved: int_from(col(row, 16, T)?, T, "resolved")? != 0,
        })
    };
    decode().map_err(|e| in_row(e, &format!("event {source}/{id}")))
}

/// The raw JSON of an event.
pub(super) fn raw_event(
    conn: &Connection,
    source: &str,
    id: &str,
) -> Result<Option<serde_json::Value>> {
    let mut stmt = conn.prepare_cached("SELECT raw FROM events WHERE source = ?1 AND id = ?2")?;
    let mut rows = stmt.query(params![source, id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    raw_from(
        col(row, 0, "events")?,
        None,
        "events",
        &format!("raw of {source}/{id}"),
    )
    .map(Some)
}

pub(super) fn for_each_asset_raw(
    conn: &Connection,
    filter: &AssetFilter,
    f: &mut dyn FnMut(Asset, Option<&str>) -> Result<()>,
) -> Result<()> {
    let mut w = asset_where(filter);
    w.after(&filter.sources, filter.after.as_ref());
    let sql = format!(
        "SELECT {ASSET_SELECT}, raw FROM assets{} ORDER BY source, id{}",
        w.sql(),
        w.limit(filter.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&w.params))?;
    while let Some(row) = rows.next()? {
        let a = asset_from(row)?;
        let text = match col(row, 20, "assets")? {
            ValueRef::Blob(b) => Some(decompress(b, None).map_err(|reason| {
                corrupt("assets", format!("raw of {}/{}: {reason}", a.source, a.id))
            })?),
            _ => None,
        };
        let text = match &text {
            Some(t) => Some(std::str::from_utf8(t).map_err(|_| {
                corrupt(
                    "assets",
                    format!("raw of {}/{} is not UTF-8", a.source, a.id),
                )
            })?),
            None => None,
        };
        f(a, text)?;
    }
    Ok(())
}

pub(super) fn unified_links(
    conn: &Connection,
    unified_id: &str,
) -> Result<Vec<crate::UnifiedLink>> {
    const T: &str = "unified_links";
    let mut stmt = conn.prepare_cached(
        "SELECT a_source, a_id, b_source, b_id, evidence FROM unified_links \
         WHERE unified_id = ?1 ORDER BY a_source, a_id, b_source, b_id",
    )?;
    let mut rows = stmt.query(params![unified_id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(crate::UnifiedLink {
            unified_id: unified_id.to_owned(),
            a: (
                text_from(col(row, 0, T)?, T, "a_source")?,
                text_from(col(row, 1, T)?, T, "a_id")?,
            ),
            b: (
                text_from(col(row, 2, T)?, T, "b_source")?,
                text_from(col(row, 3, T)?, T, "b_id")?,
            ),
            evidence: raw_json_from(col(row, 4, T)?, T, "evidence")?,
        });
    }
    Ok(out)
}
