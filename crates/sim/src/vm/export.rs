//! Export jobs: request parsing and filters, chunk layout, and the time-driven state
//! machine (computed lazily from the creation instant; no background task).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

use super::data::{AView, FView, State, VmData};
use crate::util::{DAY_MS, label, mix};

/// Chunks are downloadable for this long after the export was created.
pub(crate) const CHUNK_TTL: Duration = Duration::from_secs(24 * 3600);

/// Which export API a job belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Vulns,
    Assets,
}

/// A rejected request body: the message of a 400 answer.
pub(crate) type BadRequest = String;

fn num_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// Seconds (int, float or numeric string) → milliseconds.
fn secs_to_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|s| s.saturating_mul(1000))
            .or_else(|| n.as_f64().map(|f| (f * 1000.0) as i64)),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| (f * 1000.0) as i64),
        _ => None,
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Keys sorted recursively, so equal requests compare equal.
fn canonical(v: &Value) -> String {
    fn norm(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), norm(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
            other => other.clone(),
        }
    }
    norm(v).to_string()
}

/// Parses a request body: empty → `{}`; anything but a JSON object → 400.
pub(crate) fn parse_body(body: &[u8]) -> Result<Map<String, Value>, BadRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("Request body must be a JSON object".into()),
        Err(e) => Err(format!("Invalid JSON in request body: {e}")),
    }
}

fn filters_of(body: &Map<String, Value>) -> Result<Map<String, Value>, BadRequest> {
    match body.get("filters") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err("'filters' must be an object".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Vulnerability export request
// ---------------------------------------------------------------------------------------

/// Parsed vulnerability filter.
#[derive(Clone, Debug)]
pub(crate) struct VulnFilter {
    states: [bool; 3],
    severities: Option<[bool; 5]>,
    plugin_ids: Option<Vec<i64>>,
    /// `since`, or the implicit 30-day window when no time filter was sent.
    since: Option<i64>,
    first_found: Option<i64>,
    last_found: Option<i64>,
    last_fixed: Option<i64>,
    indexed_at: Option<i64>,
}

impl VulnFilter {
    pub(crate) fn matches(&self, f: &FView) -> bool {
        if !self.states[f.state.idx()] {
            return false;
        }
        if let Some(s) = &self.severities
            && !s[usize::from(f.sev.min(4))]
        {
            return false;
        }
        if let Some(p) = &self.plugin_ids
            && !p.contains(&f.plugin_id)
        {
            return false;
        }
        if let Some(since) = self.since {
            let t = if f.state == State::Fixed {
                f.last_fixed
            } else {
                f.last_found
            };
            if t < since {
                return false;
            }
        }
        if self.first_found.is_some_and(|x| f.first_found < x) {
            return false;
        }
        if self.last_found.is_some_and(|x| f.last_found < x) {
            return false;
        }
        if self
            .last_fixed
            .is_some_and(|x| f.last_fixed == 0 || f.last_fixed < x)
        {
            return false;
        }
        if self.indexed_at.is_some_and(|x| f.indexed < x) {
            return false;
        }
        true
    }
}

/// A validated `POST /vulns/export` request.
pub(crate) struct VulnRequest {
    pub filter: VulnFilter,
    pub num_assets: u32,
    /// Echo of the filters for the status answers.
    pub echo: Value,
    /// Canonical form for duplicate detection.
    pub key: String,
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn string_list(filters: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, BadRequest> {
    match filters.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("'{key}' must be a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(_) => Err(format!("'{key}' must be a list of strings")),
    }
}

fn time_filter(filters: &Map<String, Value>, key: &str) -> Result<Option<i64>, BadRequest> {
    match filters.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => secs_to_ms(v)
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be a Unix timestamp in seconds")),
    }
}

pub(crate) fn parse_vulns(
    body: &Map<String, Value>,
    now_ms: i64,
) -> Result<VulnRequest, BadRequest> {
    let num_assets = match body.get("num_assets") {
        None | Some(Value::Null) => 50,
        Some(v) => num_i64(v)
            .ok_or("'num_assets' must be an integer")?
            .clamp(50, 5000),
    } as u32;
    if let Some(v) = body.get("include_unlicensed")
        && !v.is_null()
        && bool_of(v).is_none()
    {
        return Err("'include_unlicensed' must be a boolean".into());
    }
    let filters = filters_of(body)?;
    let mut echo = filters.clone();

    let mut states = [false; 3];
    let state_names = string_list(&filters, "state")?.filter(|v| !v.is_empty());
    match &state_names {
        None => {
            states[State::Open.idx()] = true;
            states[State::Reopened.idx()] = true;
        }
        Some(names) => {
            for n in names {
                let s = match n.to_ascii_uppercase().as_str() {
                    "OPEN" => State::Open,
                    "REOPENED" => State::Reopened,
                    "FIXED" => State::Fixed,
                    _ => return Err(format!("Invalid value for 'state': {n}")),
                };
                states[s.idx()] = true;
            }
        }
    }
    let state_echo: Vec<Value> = [State::Open, State::Reopened, State::Fixed]
        .iter()
        .filter(|s| states[s.idx()])
        .map(|s| Value::from(s.as_str()))
        .collect();
    echo.insert("state".into(), Value::Array(state_echo));

    let severities = match string_list(&filters, "severity")?.filter(|v| !v.is_empty()) {
        None => None,
        Some(names) => {
            let mut s = [false; 5];
            for n in &names {
                let i = SEVERITIES
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(n))
                    .ok_or_else(|| format!("Invalid value for 'severity': {n}"))?;
                s[i] = true;
            }
            Some(s)
        }
    };
    let plugin_ids = match filters.get("plugin_id") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| num_i64(v).ok_or("'plugin_id' must be a list of integers"))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(v) => Some(vec![
            num_i64(v).ok_or("'plugin_id' must be a list of integers")?,
        ]),
    };
    let since = time_filter(&filters, "since")?;
    let first_found = pick_min(
        time_filter(&filters, "first_found")?,
        time_filter(&filters, "first_seen")?,
    );
    let last_found = pick_min(
        time_filter(&filters, "last_found")?,
        time_filter(&filters, "last_seen")?,
    );
    let last_fixed = time_filter(&filters, "last_fixed")?;
    let indexed_at = time_filter(&filters, "indexed_at")?;
    if since.is_some() && (first_found.is_some() || last_found.is_some() || last_fixed.is_some()) {
        return Err("The 'since' filter cannot be combined with 'first_found', 'first_seen', 'last_found', 'last_seen' or 'last_fixed'".into());
    }
    let any_time = since.is_some()
        || first_found.is_some()
        || last_found.is_some()
        || last_fixed.is_some()
        || indexed_at.is_some()
        || filters.contains_key("resurfaced_date");
    // Without any time filter the real API only returns the last 30 days.
    let since = if any_time {
        since
    } else {
        Some(now_ms - 30 * DAY_MS)
    };
    for k in [
        "since",
        "first_found",
        "last_found",
        "last_fixed",
        "first_seen",
        "last_seen",
        "indexed_at",
    ] {
        echo.entry(k).or_insert(Value::from(0));
    }
    let mut key_obj = Map::new();
    key_obj.insert("num_assets".into(), Value::from(num_assets));
    key_obj.insert(
        "include_unlicensed".into(),
        body.get("include_unlicensed")
            .cloned()
            .unwrap_or(Value::Null),
    );
    key_obj.insert("filters".into(), Value::Object(filters));
    Ok(VulnRequest {
        filter: VulnFilter {
            states,
            severities,
            plugin_ids,
            since,
            first_found,
            last_found,
            last_fixed,
            indexed_at,
        },
        num_assets,
        echo: Value::Object(echo),
        key: canonical(&Value::Object(key_obj)),
    })
}

fn pick_min(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

// ---------------------------------------------------------------------------------------
// Asset export request
// ---------------------------------------------------------------------------------------

/// Parsed v1 asset filter.
#[derive(Clone, Debug, Default)]
pub(crate) struct AssetFilter {
    created_at: Option<i64>,
    updated_at: Option<i64>,
    deleted_at: Option<i64>,
    terminated_at: Option<i64>,
    first_scan_time: Option<i64>,
    last_assessed: Option<i64>,
    is_deleted: Option<bool>,
    is_terminated: Option<bool>,
    is_licensed: Option<bool>,
}

impl AssetFilter {
    pub(crate) fn matches(&self, a: &AView) -> bool {
        let deleted = a.deleted_at != 0;
        let terminated = a.terminated_at != 0;
        // Removed assets only when asked for.
        if self.is_deleted.is_none() && self.deleted_at.is_none() && deleted {
            return false;
        }
        if self.is_terminated.is_none() && self.terminated_at.is_none() && terminated {
            return false;
        }
        if self.is_deleted.is_some_and(|b| b != deleted) {
            return false;
        }
        if self.is_terminated.is_some_and(|b| b != terminated) {
            return false;
        }
        if self
            .deleted_at
            .is_some_and(|x| !deleted || a.deleted_at < x)
        {
            return false;
        }
        if self
            .terminated_at
            .is_some_and(|x| !terminated || a.terminated_at < x)
        {
            return false;
        }
        if self.created_at.is_some_and(|x| a.created_at < x) {
            return false;
        }
        if self.updated_at.is_some_and(|x| a.updated_at < x) {
            return false;
        }
        if self.first_scan_time.is_some_and(|x| a.first_seen < x) {
            return false;
        }
        if self.last_assessed.is_some_and(|x| a.last_seen < x) {
            return false;
        }
        if let Some(want) = self.is_licensed
            && a.licensed.unwrap_or(true) != want
        {
            return false;
        }
        true
    }
}

/// A validated `POST /assets/export` request.
pub(crate) struct AssetRequest {
    pub filter: AssetFilter,
    pub chunk_size: u32,
    pub open_ports: bool,
    pub echo: Value,
    pub key: String,
}

pub(crate) fn parse_assets(body: &Map<String, Value>) -> Result<AssetRequest, BadRequest> {
    let chunk_size = match body.get("chunk_size") {
        None | Some(Value::Null) => return Err("'chunk_size' is required".into()),
        Some(v) => num_i64(v).ok_or("'chunk_size' must be an integer")?,
    };
    if !(100..=10_000).contains(&chunk_size) {
        return Err(format!(
            "'chunk_size' must be between 100 and 10000, got {chunk_size}"
        ));
    }
    let flag = |k: &str| -> Result<bool, BadRequest> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(v) => bool_of(v).ok_or_else(|| format!("'{k}' must be a boolean")),
        }
    };
    let open_ports = flag("include_open_ports")?;
    if flag("include_resource_tags")? && chunk_size > 1000 {
        return Err(
            "'chunk_size' must not exceed 1000 when 'include_resource_tags' is true".into(),
        );
    }
    let filters = filters_of(body)?;
    let b = |k: &str| -> Result<Option<bool>, BadRequest> {
        match filters.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => bool_of(v)
                .map(Some)
                .ok_or_else(|| format!("'{k}' must be a boolean")),
        }
    };
    let filter = AssetFilter {
        created_at: time_filter(&filters, "created_at")?,
        updated_at: time_filter(&filters, "updated_at")?,
        deleted_at: time_filter(&filters, "deleted_at")?,
        terminated_at: time_filter(&filters, "terminated_at")?,
        first_scan_time: time_filter(&filters, "first_scan_time")?,
        last_assessed: time_filter(&filters, "last_assessed")?,
        is_deleted: b("is_deleted")?,
        is_terminated: b("is_terminated")?,
        is_licensed: b("is_licensed")?,
    };
    let mut key_obj = Map::new();
    key_obj.insert("chunk_size".into(), Value::from(chunk_size));
    key_obj.insert("include_open_ports".into(), Value::from(open_ports));
    key_obj.insert("filters".into(), Value::Object(filters.clone()));
    Ok(AssetRequest {
        filter,
        chunk_size: chunk_size as u32,
        open_ports,
        echo: Value::Object(filters),
        key: canonical(&Value::Object(key_obj)),
    })
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

/// Where an export stands at one instant.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    pub status: &'static str,
    pub available: Vec<u32>,
    pub failed: Vec<u32>,
    pub cancelled: Vec<u32>,
    pub reason: Option<String>,
}

impl Progress {
    pub(crate) fn running(&self) -> bool {
        matches!(self.status, "QUEUED" | "PROCESSING")
    }
}

/// One export job with the snapshot it serves.
pub(crate) struct Export {
    pub uuid: String,
    pub kind: Kind,
    pub created_ms: i64,
    pub created: Instant,
    pub data: Arc<VmData>,
    /// Finding or asset indices, in chunk order.
    pub items: Arc<[u32]>,
    /// `[start, end)` ranges into `items`; chunk id = position + 1.
    pub chunks: Vec<(u32, u32)>,
    /// Chunk ids in the order they become available.
    order: Vec<u32>,
    /// Position of chunk id `k` in `order` at index `k - 1`.
    pos_of: Vec<u32>,
    interval: Duration,
    /// `export:error`: chunks processed before the job fails.
    error_after: Option<usize>,
    failed: BTreeSet<u32>,
    cancelled_after: Option<Duration>,
    pub expired: bool,
    pub filters: Value,
    pub key: String,
    pub per_chunk: u32,
    pub open_ports: bool,
}

/// Parameters shared by both export kinds.
pub(crate) struct JobSpec {
    pub uuid: String,
    pub counter: u64,
    pub seed: u64,
    pub now_ms: i64,
    pub interval: Duration,
    pub export_error: bool,
    pub failed: BTreeSet<u32>,
}

impl Export {
    pub(crate) fn vulns(spec: JobSpec, data: Arc<VmData>, req: &VulnRequest) -> Export {
        let mut hits: Vec<(u32, u32)> = Vec::new();
        for i in 0..data.finding_len() {
            let v = data.finding_view(i);
            if req.filter.matches(&v) {
                hits.push((v.group, i as u32));
            }
        }
        hits.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0usize;
        let mut groups = 0u32;
        for i in 0..hits.len() {
            if i > 0 && hits[i].0 != hits[i - 1].0 {
                groups += 1;
                if groups == req.num_assets {
                    chunks.push((start as u32, i as u32));
                    start = i;
                    groups = 0;
                }
            }
        }
        if start < hits.len() {
            chunks.push((start as u32, hits.len() as u32));
        }
        let items: Arc<[u32]> = hits.into_iter().map(|(_, i)| i).collect();
        let error_after = spec.export_error.then_some(chunks.len() / 2);
        Export::assemble(
            spec,
            Kind::Vulns,
            data,
            items,
            chunks,
            error_after,
            req.echo.clone(),
            req.key.clone(),
            req.num_assets,
            false,
        )
    }

    pub(crate) fn assets(spec: JobSpec, data: Arc<VmData>, req: &AssetRequest) -> Export {
        let items: Arc<[u32]> = (0..data.asset_len())
            .filter(|&i| req.filter.matches(&data.asset_view(i)))
            .map(|i| i as u32)
            .collect();
        let n = items.len() as u32;
        let chunks: Vec<(u32, u32)> = (0..n)
            .step_by(req.chunk_size as usize)
            .map(|s| (s, (s + req.chunk_size).min(n)))
            .collect();
        let mut spec = spec;
        spec.export_error = false;
        spec.failed.clear();
        Export::assemble(
            spec,
            Kind::Assets,
            data,
            items,
            chunks,
            None,
            req.echo.clone(),
            req.key.clone(),
            req.chunk_size,
            req.open_ports,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        spec: JobSpec,
        kind: Kind,
        data: Arc<VmData>,
        items: Arc<[u32]>,
        chunks: Vec<(u32, u32)>,
        error_after: Option<usize>,
        filters: Value,
        key: String,
        per_chunk: u32,
        open_ports: bool,
    ) -> Export {
        let n = chunks.len() as u32;
        let mut order: Vec<u32> = (1..=n).collect();
        let mut rng =
            SmallRng::seed_from_u64(mix(&[spec.seed, label("chunk-order"), spec.counter]));
        order.shuffle(&mut rng);
        let mut pos_of = vec![0u32; n as usize];
        for (p, id) in order.iter().enumerate() {
            pos_of[(*id - 1) as usize] = p as u32;
        }
        let failed = spec
            .failed
            .into_iter()
            .filter(|k| *k >= 1 && *k <= n)
            .collect();
        Export {
            uuid: spec.uuid,
            kind,
            created_ms: spec.now_ms,
            created: Instant::now(),
            data,
            items,
            chunks,
            order,
            pos_of,
            interval: spec.interval,
            error_after,
            failed,
            cancelled_after: None,
            expired: false,
            filters,
            key,
            per_chunk,
            open_ports,
        }
    }

    fn elapsed(&self, now: Instant) -> Duration {
        let e = now.saturating_duration_since(self.created);
        match self.cancelled_after {
            Some(c) => e.min(c),
            None => e,
        }
    }

    /// Intervals elapsed (saturating; unbounded when the interval is zero).
    fn steps(&self, e: Duration) -> usize {
        if self.interval.is_zero() {
            usize::MAX
        } else {
            usize::try_from(e.as_nanos() / self.interval.as_nanos()).unwrap_or(usize::MAX)
        }
    }

    /// Chunks processed so far (available or failed).
    fn processed(&self, steps: usize) -> usize {
        steps
            .min(self.error_after.unwrap_or(usize::MAX))
            .min(self.chunks.len())
    }

    pub(crate) fn progress(&self, now: Instant) -> Progress {
        let e = self.elapsed(now);
        let steps = self.steps(e);
        let n = self.chunks.len();
        let processed = self.processed(steps);
        let mut available = Vec::with_capacity(processed);
        let mut failed = Vec::new();
        for id in &self.order[..processed] {
            if self.failed.contains(id) {
                failed.push(*id);
            } else {
                available.push(*id);
            }
        }
        let mut cancelled = Vec::new();
        let mut reason = None;
        let status = if self.cancelled_after.is_some() {
            cancelled = self.order[processed..].to_vec();
            "CANCELLED"
        } else if self.error_after.is_some_and(|limit| steps > limit) {
            reason = Some(
                "An unexpected error occurred while processing the export. Try again later.".into(),
            );
            "ERROR"
        } else if !self.interval.is_zero() && e < self.interval / 2 {
            "QUEUED"
        } else if steps >= n.max(1) {
            if !failed.is_empty() {
                reason = Some(format!(
                    "{} of {n} chunks failed to process. The remaining chunks are available for download.",
                    failed.len()
                ));
            }
            "FINISHED"
        } else {
            "PROCESSING"
        };
        Progress {
            status,
            available,
            failed,
            cancelled,
            reason,
        }
    }

    /// Time until this job stops running (for `retry-after`).
    pub(crate) fn remaining(&self, now: Instant) -> Duration {
        let steps = match self.error_after {
            Some(l) => l + 1,
            None => self.chunks.len().max(1),
        };
        let end = self
            .interval
            .saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX));
        end.saturating_sub(now.saturating_duration_since(self.created))
    }

    /// Cancels a running job; returns whether it was running.
    pub(crate) fn cancel(&mut self, now: Instant) -> bool {
        if !self.progress(now).running() {
            return false;
        }
        self.cancelled_after = Some(now.saturating_duration_since(self.created));
        true
    }

    /// Whether chunk `id` can be downloaded now.
    pub(crate) fn chunk_ready(&self, id: u32, now: Instant) -> bool {
        if id == 0 || id as usize > self.chunks.len() || self.expired {
            return false;
        }
        if now.saturating_duration_since(self.created) >= CHUNK_TTL {
            return false;
        }
        let pos = self.pos_of[(id - 1) as usize] as usize;
        pos < self.processed(self.steps(self.elapsed(now))) && !self.failed.contains(&id)
    }

    /// Total number of chunks.
    pub(crate) fn total(&self) -> usize {
        self.chunks.len()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn vuln_request_defaults_and_validation() {
        let r = parse_vulns(&body(json!({})), 100 * DAY_MS).expect("ok");
        assert_eq!(r.num_assets, 50);
        assert_eq!(r.echo["state"], json!(["OPEN", "REOPENED"]));
        assert_eq!(r.filter.since, Some(70 * DAY_MS));
        let r = parse_vulns(
            &body(
                json!({"num_assets": "9000", "filters": {"since": 0, "state": ["open", "Fixed"]}}),
            ),
            0,
        )
        .expect("ok");
        assert_eq!(r.num_assets, 5000);
        assert_eq!(r.filter.since, Some(0));
        assert_eq!(r.echo["state"], json!(["OPEN", "FIXED"]));
        assert!(parse_vulns(&body(json!({"filters": {"state": ["bogus"]}})), 0).is_err());
        assert!(parse_vulns(&body(json!({"filters": {"since": 1, "last_found": 2}})), 0).is_err());
        assert!(parse_vulns(&body(json!({"num_assets": "x"})), 0).is_err());
        assert!(parse_vulns(&body(json!({"filters": 3})), 0).is_err());
        assert!(parse_body(b"{nope").is_err());
        assert!(parse_body(b"[]").is_err());
        assert!(parse_body(b"  ").expect("empty").is_empty());
    }

    #[test]
    fn asset_request_validation() {
        assert!(parse_assets(&body(json!({"chunk_size": 99}))).is_err());
        assert!(parse_assets(&body(json!({"chunk_size": 10001}))).is_err());
        assert!(parse_assets(&body(json!({}))).is_err());
        let r = parse_assets(&body(
            json!({"chunk_size": "100", "filters": {"is_deleted": true}}),
        ))
        .expect("ok");
        assert_eq!(r.chunk_size, 100);
        let deleted = AView {
            created_at: 1,
            updated_at: 1,
            deleted_at: 5,
            terminated_at: 0,
            first_seen: 1,
            last_seen: 1,
            licensed: Some(true),
        };
        assert!(r.filter.matches(&deleted));
        assert!(!AssetFilter::default().matches(&deleted));
    }

    #[test]
    fn canonical_ignores_key_order() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":3}}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#).expect("json");
        assert_eq!(canonical(&a), canonical(&b));
    }
}
