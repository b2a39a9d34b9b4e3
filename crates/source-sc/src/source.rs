//! The SC sync: asset lists (`GET /rest/asset`, membership from `viewableIPs`), hosts (the
//! 6.x inventory `GET /rest/hosts`, else `sumip`), then `POST /rest/analysis` pages
//! (cumulative and patched `vulndetails`) in a time window, streamed into store batches.
//! Page offsets are never kept between runs: an interrupted run starts its window again
//! (upserts are idempotent).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use reqwest::Method;

use serde_json::json;
use tenax_source::retry::RetryPolicy;
use tenax_source::{
    Progress, Result, SourceBatch, SourceError, SourceEvent, SourceOutcome, SyncRequest, Window,
    WindowStart,
};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::client::{ScClient, endpoint};
use crate::config::{ScAuth, ScSettings};
use crate::lists::AssetListIndex;
use crate::map::{self, ScSourceType};
use crate::wire::{self, AnalysisPage, Envelope, HostsResponse};

/// Checkpoint key of the incremental window.
pub const WINDOW_KEY: &str = "sc.window";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Findings(ScSourceType),
    Hosts,
}

struct Query {
    phase: &'static str,
    role: Role,
    source_type: ScSourceType,
    tool: &'static str,
    filters: serde_json::Value,
}

/// What one query produced.
#[derive(Debug, Default)]
struct QueryResult {
    /// `totalRecords` of the first page.
    expected: u64,
    /// Rows received.
    rows: u64,
    /// Rows that could not be mapped.
    skipped: u64,
    problems: Vec<String>,
}

/// The Security Center connector.
#[derive(Debug, Clone)]
pub struct ScSource {
    settings: Arc<ScSettings>,
    client: ScClient,
}

impl ScSource {
    /// Builds the connector (HTTP client included) from validated settings.
    pub fn new(settings: ScSettings) -> Result<Self> {
        let client = ScClient::new(&settings)?;
        Ok(Self {
            settings: Arc::new(settings),
            client,
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.client = self.client.with_retry(retry);
        self
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The API client.
    pub fn client(&self) -> &ScClient {
        &self.client
    }

    /// Read-only connection test: reachability and credentials (`GET /rest/system`, with the
    /// version), the user (`GET /rest/currentUser`), vulnerability analysis (one
    /// `vulndetails` row), where hosts will come from (`GET /rest/hosts` on 6.x, else the
    /// `sumip` tool) and whether asset lists are readable. One line per proven thing; the
    /// first failure is the error (hosts and asset lists are reported, never fatal). A
    /// session is logged out at the end.
    pub async fn check(&self) -> Result<Vec<String>> {
        let r = self.check_inner().await;
        let out = self.client.logout().await;
        let lines = r?;
        out?;
        Ok(lines)
    }

    async fn check_inner(&self) -> Result<Vec<String>> {
        let sys = self.client.system().await?;
        let version = sys["version"].as_str().unwrap_or("unknown").to_owned();
        if matches!(self.settings.auth, ScAuth::ApiKeys { .. })
            && parse_version(&version).is_some_and(|v| v < (5, 13))
        {
            return Err(SourceError::Config(format!(
                "Security Center {version} does not accept API keys (they need 5.13 or later): \
                 log in with username and password instead"
            )));
        }
        let how = if self.client.is_session() {
            "session login accepted"
        } else {
            "API keys accepted"
        };
        let mut lines = vec![format!(
            "reachable over {}, {how} (Security Center {version})",
            if self.settings.base.scheme() == "https" {
                "TLS"
            } else {
                "plain HTTP (loopback)"
            }
        )];
        let user = self.client.current_user().await?;
        lines.push(format!(
            "user {} (role {}, organization {})",
            user["username"].as_str().unwrap_or("?"),
            user["role"]["name"].as_str().unwrap_or("?"),
            user["organization"]["name"].as_str().unwrap_or("?"),
        ));
        let body = json!({
            "type": "vuln",
            "sourceType": "cumulative",
            "query": {"type": "vuln", "tool": "vulndetails", "startOffset": 0, "endOffset": 1, "filters": []},
            "startOffset": 0,
            "endOffset": 1,
        });
        let page = self
            .client
            .response(Method::POST, "/rest/analysis", Some(&body))
            .await?;
        lines.push(format!(
            "vulnerability analysis permitted ({} current vulnerabilities)",
            count(&page["totalRecords"])
        ));
        let version = parse_version(&version);
        let hosts = if version.is_none_or(|v| v >= (6, 0)) {
            let q = [
                ("fields", "id"),
                ("pagination", "true"),
                ("startOffset", "0"),
                ("endOffset", "1"),
            ];
            match self
                .client
                .call_with(Method::GET, "/rest/hosts", &q, None)
                .await
            {
                Ok(bytes) => {
                    let total = serde_json::from_slice::<serde_json::Value>(&bytes)
                        .map(|v| count(&v["response"]["totalRecords"]))
                        .unwrap_or_else(|_| "?".into());
                    format!("hosts from the host inventory, GET /rest/hosts ({total} hosts)")
                }
                Err(e) if unavailable(&e) => format!(
                    "hosts from the sumip tool: GET /rest/hosts answered HTTP {}",
                    e.status().unwrap_or(0)
                ),
                Err(e) => return Err(e),
            }
        } else {
            "hosts from the sumip tool (the host inventory needs Security Center 6.0)".to_owned()
        };
        lines.push(hosts);
        let q = [("fields", "id"), ("excludeAllDefined", "true")];
        lines.push(
            match self
                .client
                .call_with(Method::GET, "/rest/asset", &q, None)
                .await
            {
                Ok(bytes) => {
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                    let mut ids: Vec<&str> = ["usable", "manageable", "assets"]
                        .iter()
                        .flat_map(|k| v["response"][k].as_array().into_iter().flatten())
                        .filter_map(|l| l["id"].as_str())
                        .filter(|id| *id != "0")
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    format!("asset lists readable ({})", ids.len())
                }
                Err(e) if unavailable(&e) => format!(
                    "asset lists not readable (HTTP {}): hosts will have no asset_lists tag",
                    e.status().unwrap_or(0)
                ),
                Err(e) => return Err(e),
            },
        );
        Ok(lines)
    }

    /// Runs one sync: sends batches to `tx` and returns the outcome; the window checkpoint
    /// is in `final_checkpoint`. Errors are for what stops the whole run (auth, config,
    /// cancel). A session is logged out at the end.
    pub async fn run(
        &self,
        req: SyncRequest,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<SourceOutcome> {
        let r = self.run_inner(&req, &tx).await;
        if let Err(e) = self.client.logout().await {
            warn!(source = %self.settings.name, error = %e, "Logout failed.");
        }
        r
    }

    async fn run_inner(
        &self,
        req: &SyncRequest,
        tx: &mpsc::Sender<SourceEvent>,
    ) -> Result<SourceOutcome> {
        let now = Utc::now().timestamp();
        let WindowStart { since, full } = Window::plan(
            req,
            WINDOW_KEY,
            now,
            self.settings.lookback,
            self.settings.overlap,
        );
        info!(source = %self.settings.name, full, since, "Starting SC sync.");
        let range = format!("{since}-{now}");
        let filter = |name: &str, value: &str| json!({"id": name, "filterName": name, "operator": "=", "type": "vuln", "isPredefined": true, "value": value});
        let seen = json!([filter("lastSeen", &range), filter("wasVuln", "excludeWas")]);
        let mitigated = json!([
            filter("lastMitigated", &range),
            filter("wasVuln", "excludeWas")
        ]);
        let hosts_query = Query {
            phase: "sc hosts",
            role: Role::Hosts,
            source_type: ScSourceType::Cumulative,
            tool: "sumip",
            filters: seen.clone(),
        };
        let queries = [
            Query {
                phase: "sc cumulative vulnerabilities",
                role: Role::Findings(ScSourceType::Cumulative),
                source_type: ScSourceType::Cumulative,
                tool: "vulndetails",
                filters: seen,
            },
            Query {
                phase: "sc patched vulnerabilities",
                role: Role::Findings(ScSourceType::Patched),
                source_type: ScSourceType::Patched,
                tool: "vulndetails",
                filters: mitigated,
            },
        ];
        let mut out = SourceOutcome {
            complete: true,
            ..SourceOutcome::default()
        };
        let (mut exp_assets, mut exp_findings) = (0u64, 0u64);
        let mut details = serde_json::Map::new();
        let version = self.client.system().await?["version"]
            .as_str()
            .map(str::to_owned);
        details.insert("version".into(), json!(version));
        let lists = self.asset_lists(&mut details, &mut out).await?;
        let inventory = if uses_inventory(version.as_deref()) {
            self.inventory(req, tx, &lists).await?
        } else {
            None
        };
        let hosts = match inventory {
            Some(r) => {
                details.insert("hosts from".into(), json!("GET /rest/hosts"));
                r
            }
            None => {
                details.insert("hosts from".into(), json!("sumip"));
                self.query(&hosts_query, req, tx, &lists).await?
            }
        };
        exp_assets += hosts.expected;
        if !hosts.problems.is_empty() {
            out.complete = false;
            out.problems.extend(hosts.problems.iter().cloned());
        }
        details.insert(
            hosts_query.phase.to_owned(),
            json!({"expected": hosts.expected, "rows": hosts.rows, "skipped": hosts.skipped}),
        );
        for q in &queries {
            let r = self.query(q, req, tx, &lists).await?;
            match q.role {
                Role::Hosts => exp_assets += r.expected,
                Role::Findings(_) => exp_findings += r.expected,
            }
            if !r.problems.is_empty() {
                out.complete = false;
                out.problems.extend(r.problems.iter().cloned());
            }
            details.insert(
                q.phase.to_owned(),
                json!({"expected": r.expected, "rows": r.rows, "skipped": r.skipped}),
            );
        }
        details.insert("since".into(), json!(since));
        details.insert("until".into(), json!(now));
        details.insert("full".into(), json!(full));
        out.final_checkpoint
            .push((WINDOW_KEY.to_owned(), Some(json!(Window { since: now }))));
        out.expected_assets = Some(exp_assets);
        out.expected_findings = Some(exp_findings);
        out.contributing_runs = vec![req.run_id];
        out.details = serde_json::Value::Object(details);
        Ok(out)
    }

    fn body(&self, q: &Query, start: u64) -> serde_json::Value {
        let end = start + u64::from(self.settings.page_size);
        json!({
            "type": "vuln",
            "sourceType": q.source_type.as_str(),
            "query": {
                "type": "vuln",
                "tool": q.tool,
                "startOffset": start,
                "endOffset": end,
                "filters": q.filters,
            },
            "startOffset": start,
            "endOffset": end,
            "sortField": if q.tool == "sumip" { "ip" } else { "pluginID" },
            "sortDir": "ASC",
        })
    }

    /// Pages through one query `[offset, offset + page_size)` until `totalRecords` (of the
    /// first page) is reached or a page is empty; a short page is asked again once.
    async fn query(
        &self,
        q: &Query,
        req: &SyncRequest,
        tx: &mpsc::Sender<SourceEvent>,
        lists: &AssetListIndex,
    ) -> Result<QueryResult> {
        let s = &self.settings;
        let ps = u64::from(s.page_size);
        let ep = endpoint(&Method::POST, "/rest/analysis");
        let mut res = QueryResult::default();
        let mut total: Option<u64> = None;
        let mut offset = 0u64;
        let mut pages = 0u64;
        let mut batch = SourceBatch::default();
        let mut batch_bytes = 0usize;
        let mut first_skip: Option<String> = None;
        // The next page, asked for while this one is mapped and stored: Security Center
        // prepares it meanwhile (one page ahead, so at most two pages are held).
        let mut ahead: Option<NextPage> = None;
        loop {
            if req.cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let mut retried = false;
            let (rows, page_total) = loop {
                let bytes = match ahead.take() {
                    Some(next) => next.bytes(&ep).await?,
                    None => {
                        self.client
                            .call(Method::POST, "/rest/analysis", Some(&self.body(q, offset)))
                            .await?
                    }
                };
                let env: Envelope<'_> =
                    serde_json::from_slice(&bytes).map_err(|e| SourceError::Decode {
                        endpoint: ep.clone(),
                        message: e.to_string(),
                    })?;
                let page: AnalysisPage<'_> =
                    env.response_as().map_err(|e| SourceError::Decode {
                        endpoint: ep.clone(),
                        message: e.to_string(),
                    })?;
                let page_total = page.total_records.unwrap_or(0).max(0) as u64;
                let promised = total.unwrap_or(page_total);
                let want = promised.saturating_sub(offset).min(ps);
                let got = page.results.len() as u64;
                if got < want && !retried {
                    retried = true;
                    warn!(source = %s.name, phase = q.phase, offset, got, want, "Short page; asking again.");
                    continue;
                }
                let rows: Vec<Box<str>> = page.results.iter().map(|r| Box::from(r.get())).collect();
                break (rows, page_total);
            };
            let total = *total.get_or_insert(page_total);
            let want = total.saturating_sub(offset).min(ps);
            let got = rows.len() as u64;
            if offset + ps < total && got > 0 {
                let client = self.client.clone();
                let body = self.body(q, offset + ps);
                ahead = Some(NextPage(tokio::spawn(async move {
                    client
                        .call(Method::POST, "/rest/analysis", Some(&body))
                        .await
                })));
            }
            for raw in rows {
                let index = res.rows;
                res.rows += 1;
                let mapped = match q.role {
                    Role::Findings(t) => map::parse_finding(&s.name, t, index, &raw).map(|f| {
                        batch.findings.push((f, raw.clone()));
                    }),
                    Role::Hosts => {
                        map::parse_host_asset_in(&s.name, index, &raw).map(|(mut a, repo)| {
                            lists.tag(&mut a, &repo);
                            batch.assets.push((a, raw.clone()));
                        })
                    }
                };
                match mapped {
                    Ok(()) => batch_bytes += raw.len(),
                    Err(e) => {
                        res.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
                if batch.findings.len() + batch.assets.len() >= s.batch_records
                    || batch_bytes >= s.batch_bytes
                {
                    send(tx, std::mem::take(&mut batch)).await?;
                    batch_bytes = 0;
                }
            }
            pages += 1;
            let _ = tx.try_send(SourceEvent::Progress(Progress {
                phase: q.phase,
                done: pages,
                total: Some(total.div_ceil(ps)),
                records: res.rows,
            }));
            if got < want {
                res.problems.push(format!(
                    "{}: page [{offset}, {}) returned {got} of {want} rows twice",
                    q.phase,
                    offset + ps
                ));
                if got == 0 {
                    break;
                }
            }
            offset += ps;
            if offset >= total {
                break;
            }
        }
        send(tx, batch).await?;
        if res.skipped > 0 {
            warn!(source = %s.name, phase = q.phase, skipped = res.skipped, first = first_skip.as_deref().unwrap_or(""), "Rows skipped: they could not be mapped.");
        }
        res.expected = total.unwrap_or(0);
        Ok(res)
    }
}

/// A page asked for ahead; dropped (a stop, an error, a cancel), its request is aborted.
struct NextPage(tokio::task::JoinHandle<Result<bytes::Bytes>>);

impl NextPage {
    async fn bytes(mut self, ep: &str) -> Result<bytes::Bytes> {
        match (&mut self.0).await {
            Ok(r) => r,
            Err(e) if e.is_cancelled() => Err(SourceError::Cancelled),
            Err(e) => Err(SourceError::Transport {
                endpoint: ep.to_owned(),
                message: format!("the request for the next page failed: {e}"),
                tls: false,
            }),
        }
    }
}

impl Drop for NextPage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// True when the 6.x host inventory should be tried: version 6.0 or later, or a version the
/// server did not tell (the endpoint's first version is not documented; a 404 or 403 falls
/// back to `sumip`).
pub fn uses_inventory(version: Option<&str>) -> bool {
    version.and_then(parse_version).is_none_or(|v| v >= (6, 0))
}

/// A count SC sent as a string or number, as text (`?` when absent).
fn count(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => "?".into(),
    }
}

/// An answer meaning "this server has no such endpoint, or this user may not use it": 404,
/// or 403 other than a credential problem (a permission, or error 146 because this version
/// does not know a field asked for).
fn unavailable(e: &SourceError) -> bool {
    matches!(e, SourceError::Forbidden { .. })
        || (matches!(e, SourceError::Api { .. }) && matches!(e.status(), Some(403 | 404)))
        || e.status() == Some(404)
}

/// Fields asked of `/rest/hosts`.
const HOST_FIELDS: &str = "id,uuid,tenableUUID,name,ipAddress,os,firstSeen,lastSeen,macAddress,\
                           netBios,dns,repID,repository,systemType,acr";

/// Asset lists read at once.
const LIST_CONCURRENCY: usize = 4;

impl ScSource {
    /// Reads the asset lists (`GET /rest/asset`, then `GET /rest/asset/{id}` with
    /// `viewableIPs` for each, at most [`LIST_CONCURRENCY`] at a time). A user who may not
    /// read them (403/404) gets hosts without `asset_lists` tags and a warning; other
    /// failures make the run partial (hosts are still stored, without the tags).
    async fn asset_lists(
        &self,
        details: &mut serde_json::Map<String, serde_json::Value>,
        out: &mut SourceOutcome,
    ) -> Result<AssetListIndex> {
        let s = &self.settings;
        let mut idx = AssetListIndex::default();
        let path = "/rest/asset";
        let ep = endpoint(&Method::GET, path);
        let query = [("fields", "id,name,type"), ("excludeAllDefined", "true")];
        let bytes = match self.client.call_with(Method::GET, path, &query, None).await {
            Ok(b) => b,
            Err(e) if unavailable(&e) => {
                warn!(source = %s.name, error = %e, "Asset lists are not readable; hosts get no asset_lists tag.");
                details.insert("asset lists".into(), json!({"error": e.to_string()}));
                return Ok(idx);
            }
            Err(e) if e.is_config() => return Err(e),
            Err(e) => {
                out.complete = false;
                out.problems.push(format!("asset lists: {e}"));
                return Ok(idx);
            }
        };
        let decode = |e: serde_json::Error| SourceError::Decode {
            endpoint: ep.clone(),
            message: e.to_string(),
        };
        let env: Envelope<'_> = serde_json::from_slice(&bytes).map_err(decode)?;
        let all: wire::AssetLists<'_> = match env.response_as() {
            Ok(a) => a,
            Err(e) => {
                // Hosts and findings do not depend on it: the run goes on, partial.
                out.complete = false;
                out.problems.push(format!("asset lists: {}", decode(e)));
                return Ok(idx);
            }
        };
        let mut ids: Vec<String> = Vec::new();
        let mut known: HashSet<String> = HashSet::new();
        for l in all.usable.iter().chain(&all.manageable).chain(&all.assets) {
            let Some(id) = l.id.as_deref().map(str::trim) else {
                continue;
            };
            // 0 = All Defined Ranges: every host is in it. Ids go into a path: SC's are
            // numbers; anything else is not asked for.
            if id == "0" || id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                continue;
            }
            if known.insert(id.to_owned()) {
                ids.push(id.to_owned());
            }
        }
        let sem = Arc::new(tokio::sync::Semaphore::new(LIST_CONCURRENCY));
        let mut set = tokio::task::JoinSet::new();
        for (i, id) in ids.iter().enumerate() {
            let client = self.client.clone();
            let sem = Arc::clone(&sem);
            let id = id.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let path = format!("/rest/asset/{id}");
                let r = client
                    .call_with(
                        Method::GET,
                        &path,
                        &[("fields", "id,name,type,viewableIPs")],
                        None,
                    )
                    .await;
                (i, path, r)
            });
        }
        let mut answers: Vec<Option<(String, bytes::Bytes)>> = vec![None; ids.len()];
        let (mut skipped, mut bad_items) = (0u64, 0usize);
        let mut first_error: Option<SourceError> = None;
        while let Some(joined) = set.join_next().await {
            let (i, path, r) =
                joined.map_err(|e| SourceError::Config(format!("asset list task failed: {e}")))?;
            match r {
                Ok(b) => answers[i] = Some((path, b)),
                // Deleted since the list of lists was read, or not visible to this user.
                Err(e) if unavailable(&e) => {
                    skipped += 1;
                    warn!(source = %s.name, error = %e, "Asset list skipped.");
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some(e);
                    }
                }
            }
        }
        if let Some(e) = first_error {
            if e.is_config() {
                return Err(e);
            }
            out.complete = false;
            out.problems.push(format!("asset lists: {e}"));
        }
        // In the server's order, so names and warnings do not depend on timing.
        for (path, b) in answers.into_iter().flatten() {
            let ep = endpoint(&Method::GET, &path);
            let decode = |e: serde_json::Error| SourceError::Decode {
                endpoint: ep.clone(),
                message: e.to_string(),
            };
            let env: Envelope<'_> = serde_json::from_slice(&b).map_err(decode)?;
            let list: wire::AssetList<'_> = match env.response_as() {
                Ok(l) => l,
                Err(e) => {
                    out.complete = false;
                    out.problems.push(format!("asset lists: {}", decode(e)));
                    continue;
                }
            };
            let bad = idx.add(&list);
            if let Some(first) = bad.first() {
                warn!(source = %s.name, endpoint = %ep, count = bad.len(), first = %first, "Asset list addresses not understood; they are ignored.");
            }
            bad_items += bad.len();
        }
        info!(source = %s.name, lists = idx.len(), skipped, "Asset lists read.");
        details.insert(
            "asset lists".into(),
            json!({"lists": idx.len(), "skipped": skipped, "unreadable addresses": bad_items}),
        );
        Ok(idx)
    }

    /// The 6.x host inventory: `GET /rest/hosts?pagination=true` in `[startOffset,
    /// endOffset)` pages (a plain array answer is read too: a page shorter than asked, or a
    /// page with nothing new, is the last). `None` when the server has no inventory (404) or
    /// the user may not read it (403) on the first page: the caller falls back to `sumip`.
    /// All hosts are read on every run (the endpoint has no working time filter).
    async fn inventory(
        &self,
        req: &SyncRequest,
        tx: &mpsc::Sender<SourceEvent>,
        lists: &AssetListIndex,
    ) -> Result<Option<QueryResult>> {
        let s = &self.settings;
        let ps = u64::from(s.page_size);
        let path = "/rest/hosts";
        let ep = endpoint(&Method::GET, path);
        let phase = "sc hosts";
        let mut res = QueryResult::default();
        let mut total: Option<u64> = None;
        let mut offset = 0u64;
        let mut pages = 0u64;
        let mut seen: HashSet<String> = HashSet::new();
        let mut dups = 0u64;
        let mut batch = SourceBatch::default();
        let mut first_skip: Option<String> = None;
        loop {
            if req.cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let (start, end, limit) = (
                offset.to_string(),
                (offset + ps).to_string(),
                ps.to_string(),
            );
            let query = [
                ("fields", HOST_FIELDS),
                ("pagination", "true"),
                ("startOffset", start.as_str()),
                ("endOffset", end.as_str()),
                ("limit", limit.as_str()),
            ];
            let bytes = match self.client.call_with(Method::GET, path, &query, None).await {
                Ok(b) => b,
                Err(e) if offset == 0 && unavailable(&e) => {
                    info!(source = %s.name, error = %e, "No host inventory; reading hosts with the sumip tool.");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let decode = |e: serde_json::Error| SourceError::Decode {
                endpoint: ep.clone(),
                message: e.to_string(),
            };
            let env: Envelope<'_> = serde_json::from_slice(&bytes).map_err(decode)?;
            let (rows, paged) = match HostsResponse::parse(&env).map_err(decode)? {
                HostsResponse::Page(p) => {
                    total.get_or_insert(p.total_records.unwrap_or(0).max(0) as u64);
                    (p.results, true)
                }
                HostsResponse::List(rows) => (rows, false),
            };
            let got = rows.len() as u64;
            let mut new = 0u64;
            for raw in rows {
                let index = res.rows;
                res.rows += 1;
                match map::parse_inventory_asset(&s.name, index, raw.get()) {
                    Ok((mut a, repo)) => {
                        if !seen.insert(a.id.clone()) {
                            // The same host again (a server that ignores the offsets, or one
                            // host listed twice): stored once, expected once.
                            dups += 1;
                            continue;
                        }
                        new += 1;
                        lists.tag(&mut a, &repo);
                        batch.assets.push((a, Box::from(raw.get())));
                    }
                    Err(e) => {
                        res.skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
                if batch.assets.len() >= s.batch_records {
                    send(tx, std::mem::take(&mut batch)).await?;
                }
            }
            pages += 1;
            let _ = tx.try_send(SourceEvent::Progress(Progress {
                phase,
                done: pages,
                total: total.map(|t| t.div_ceil(ps)),
                records: res.rows,
            }));
            offset += ps;
            let last = if paged {
                got == 0 || offset >= total.unwrap_or(0)
            } else {
                // A plain array: shorter than asked (or everything at once) is the end; so
                // is a page with nothing new (a server that ignores the offsets).
                got != ps || new == 0
            };
            if last {
                break;
            }
        }
        send(tx, batch).await?;
        if res.skipped > 0 {
            warn!(source = %s.name, phase, skipped = res.skipped, first = first_skip.as_deref().unwrap_or(""), "Hosts skipped: they could not be mapped.");
        }
        res.expected = match total {
            Some(t) => {
                if res.rows < t {
                    res.problems.push(format!(
                        "{phase}: {} of {t} hosts received from {ep}",
                        res.rows
                    ));
                }
                t.saturating_sub(dups)
            }
            None => res.rows - dups,
        };
        Ok(Some(res))
    }
}

async fn send(tx: &mpsc::Sender<SourceEvent>, batch: SourceBatch) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    tx.send(SourceEvent::Batch(batch))
        .await
        .map_err(|_| SourceError::Config("the store writer stopped".into()))
}

/// `major.minor` of an SC version string (`"6.4.0"` → `(6, 4)`).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.trim().parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_falls_back_to_sumip() {
        use crate::client::map_error;
        let e = |status, code| map_error("GET /rest/hosts", status, code, "x", false);
        assert!(unavailable(&e(404, 147)), "no such endpoint");
        assert!(unavailable(&e(404, 0)));
        assert!(unavailable(&e(403, 0)), "no permission");
        assert!(
            unavailable(&e(403, 146)),
            "a field this version does not know"
        );
        assert!(unavailable(&e(403, 147)));
        assert!(
            !unavailable(&e(403, 12)),
            "a dead token is not a missing endpoint"
        );
        assert!(!unavailable(&e(403, 74)));
        assert!(!unavailable(&e(401, 0)));
        assert!(!unavailable(&e(500, 0)));
        assert!(uses_inventory(Some("6.0.0")) && uses_inventory(Some("6.4.1")));
        assert!(uses_inventory(None) && uses_inventory(Some("unknown")));
        assert!(!uses_inventory(Some("5.20.0")) && !uses_inventory(Some("5.9")));
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("6.4.0"), Some((6, 4)));
        assert_eq!(parse_version("5.12.1"), Some((5, 12)));
        assert!(parse_version("5.12.1").is_some_and(|v| v < (5, 13)));
        assert!(parse_version("5.20.0").is_none_or(|v| v >= (5, 13)));
        assert_eq!(parse_version("x"), None);
    }
}
