//! The SC sync: `POST /rest/analysis` pages (cumulative and patched `vulndetails`, `sumip`
//! hosts) in a time window, streamed into store batches. Page offsets are never kept
//! between runs: an interrupted run starts its window again (upserts are idempotent).

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
use crate::map::{self, ScSourceType};
use crate::wire::{AnalysisPage, Envelope};

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
    /// version), the user (`GET /rest/currentUser`). One line per proven thing; the first
    /// failure is the error. A session is logged out at the end.
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
        let queries = [
            Query {
                phase: "sc hosts",
                role: Role::Hosts,
                source_type: ScSourceType::Cumulative,
                tool: "sumip",
                filters: seen.clone(),
            },
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
        for q in &queries {
            let r = self.query(q, req, tx).await?;
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
        loop {
            if req.cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let mut retried = false;
            let (rows, page_total) = loop {
                let bytes = self
                    .client
                    .call(Method::POST, "/rest/analysis", Some(&self.body(q, offset)))
                    .await?;
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
            for raw in rows {
                let index = res.rows;
                res.rows += 1;
                let mapped = match q.role {
                    Role::Findings(t) => map::parse_finding(&s.name, t, index, &raw).map(|f| {
                        batch.findings.push((f, raw.clone()));
                    }),
                    Role::Hosts => map::parse_host_asset(&s.name, index, &raw).map(|a| {
                        batch.assets.push((a, raw.clone()));
                    }),
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
    fn versions() {
        assert_eq!(parse_version("6.4.0"), Some((6, 4)));
        assert_eq!(parse_version("5.12.1"), Some((5, 12)));
        assert!(parse_version("5.12.1").is_some_and(|v| v < (5, 13)));
        assert!(parse_version("5.20.0").is_none_or(|v| v >= (5, 13)));
        assert_eq!(parse_version("x"), None);
    }
}
