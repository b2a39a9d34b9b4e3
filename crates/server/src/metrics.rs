//! Prometheus `/metrics` in the text exposition format, written by hand.
//!
//! Sync figures come from the store's run history (so runs of `tenax sync` in another process
//! count too); HTTP retries and served requests are this process's counters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::params::Params;
use crate::state::AppState;

/// In-process counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Requests answered, by status code.
    requests: Mutex<BTreeMap<u16, u64>>,
    /// Scheduled runs of this process: (source, status) → count.
    scheduled: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub(crate) fn scheduled_run(&self, source: &str, status: &str) {
        if let Ok(mut m) = self.scheduled.lock() {
            *m.entry((source.to_owned(), status.to_owned())).or_default() += 1;
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Counts every answer by status.
pub(crate) async fn count_requests(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let r = next.run(req).await;
    if let Ok(mut m) = state.metrics().requests.lock() {
        *m.entry(r.status().as_u16()).or_default() += 1;
    }
    r
}

/// The store's per-source figures, cached under the data version (they read every finding's
/// index entry: too much for every scrape).
pub(crate) async fn source_stats(
    state: &AppState,
) -> Result<Vec<tenax_store::SourceStat>, ApiError> {
    let v = state
        .cached("source_stats".to_owned(), |_, s| {
            serde_json::to_value(s.source_stats()?)
                .map_err(|e| ApiError::Internal(format!("encoding source stats: {e}")))
        })
        .await?;
    serde_json::from_value((*v).clone())
        .map_err(|e| ApiError::Internal(format!("decoding source stats: {e}")))
}

/// A label value escaped for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn metrics(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let stats = source_stats(&state).await?;
    let mut o = String::new();
    let head = |o: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(
        &mut o,
        "tenax_sync_records_total",
        "counter",
        "Records stored by finished sync runs, by source and record kind.",
    );
    for s in &stats {
        for (i, kind) in ["assets", "findings", "events"].iter().enumerate() {
            let _ = writeln!(
                o,
                "tenax_sync_records_total{{source=\"{}\",kind=\"{kind}\"}} {}",
                label(&s.source),
                s.stored_total[i]
            );
        }
    }
    head(
        &mut o,
        "tenax_sync_runs_total",
        "counter",
        "Finished sync runs, by source and status.",
    );
    for s in &stats {
        for (status, n, _) in &s.runs_by_status {
            let _ = writeln!(
                o,
                "tenax_sync_runs_total{{source=\"{}\",status=\"{}\"}} {n}",
                label(&s.source),
                status.as_str()
            );
        }
    }
    head(
        &mut o,
        "tenax_sync_run_duration_seconds",
        "summary",
        "Wall time of finished sync runs, by source.",
    );
    for s in &stats {
        let count: u64 = s.runs_by_status.iter().map(|r| r.1).sum();
        let sum: f64 = s.runs_by_status.iter().map(|r| r.2).sum();
        let src = label(&s.source);
        let _ = writeln!(
            o,
            "tenax_sync_run_duration_seconds_sum{{source=\"{src}\"}} {sum}"
        );
        let _ = writeln!(
            o,
            "tenax_sync_run_duration_seconds_count{{source=\"{src}\"}} {count}"
        );
    }
    head(
        &mut o,
        "tenax_sync_last_duration_seconds",
        "gauge",
        "Wall time of the newest finished run, by source.",
    );
    for s in &stats {
        if let Some(r) = &s.last_run
            && let Some(f) = r.finished_at
        {
            let secs = (f - r.started_at).num_milliseconds() as f64 / 1000.0;
            let _ = writeln!(
                o,
                "tenax_sync_last_duration_seconds{{source=\"{}\"}} {secs}",
                label(&s.source)
            );
        }
    }
    head(
        &mut o,
        "tenax_sync_last_success_timestamp_seconds",
        "gauge",
        "When the newest succeeded run of a source finished (Unix time).",
    );
    for s in &stats {
        if let Some(t) = s.last_success {
            let _ = writeln!(
                o,
                "tenax_sync_last_success_timestamp_seconds{{source=\"{}\"}} {}",
                label(&s.source),
                t.timestamp_millis() as f64 / 1000.0
            );
        }
    }
    head(
        &mut o,
        "tenax_store_records",
        "gauge",
        "Records in the store, by source and kind (live assets).",
    );
    for s in &stats {
        for (kind, n) in [
            ("assets", s.assets),
            ("findings", s.findings),
            ("events", s.events),
        ] {
            let _ = writeln!(
                o,
                "tenax_store_records{{source=\"{}\",kind=\"{kind}\"}} {n}",
                label(&s.source)
            );
        }
    }
    head(
        &mut o,
        "tenax_source_http_retries_total",
        "counter",
        "HTTP requests to Tenable retried by this process, by the status that caused the retry \
         (\"none\": transport error or truncated body).",
    );
    for (status, n) in tenax_source::retry::retry_counts() {
        let st = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        let _ = writeln!(o, "tenax_source_http_retries_total{{status=\"{st}\"}} {n}");
    }
    head(
        &mut o,
        "tenax_scheduled_runs_total",
        "counter",
        "Scheduled sync runs started by this server, by source and status.",
    );
    if let Ok(m) = state.metrics().scheduled.lock() {
        for ((source, status), n) in m.iter() {
            let _ = writeln!(
                o,
                "tenax_scheduled_runs_total{{source=\"{}\",status=\"{}\"}} {n}",
                label(source),
                label(status)
            );
        }
    }
    head(
        &mut o,
        "tenax_http_requests_total",
        "counter",
        "Requests this server answered, by status code.",
    );
    if let Ok(m) = state.metrics().requests.lock() {
        for (code, n) in m.iter() {
            let _ = writeln!(o, "tenax_http_requests_total{{code=\"{code}\"}} {n}");
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        o,
    )
        .into_response())
}
