//! The overview (`/api/v1/stats`) and the sources list: aggregates over the whole store,
//! cached under the store's data version (see `AppState::cached`): computed once per change of
//! the data (and once an hour: SLA deadlines and the trend's days move with the clock), in the
//! background while the previous answer is served, not once per request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tenax_model::{FindingState, Severity};
use tenax_store::{Sla, Store};

use crate::api::unified_json;
use crate::error::ApiError;
use crate::state::AppState;

/// Days of the trend.
const TREND_DAYS: u32 = 30;
/// CVEs and unified assets in the top lists.
const TOP: usize = 10;

/// `sync_every` as the config spells it: `1h`, `15m`, `30s`.
pub(crate) fn format_every(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// `{"critical":15,…,"info":null}`.
pub(crate) fn sla_days(sla: &Sla) -> Value {
    let m: serde_json::Map<String, Value> = Severity::ALL
        .iter()
        .rev()
        .map(|s| (s.as_str().to_owned(), json!(sla.for_severity(*s))))
        .collect();
    Value::Object(m)
}

/// The `Source` list: configured sources first (in config order), then any other source the
/// store holds, by name.
pub(crate) fn sources(state: &AppState, store: &dyn Store) -> Result<Value, ApiError> {
    let stats = store.source_stats()?;
    let mut by_name: BTreeMap<&str, &tenax_store::SourceStat> =
        stats.iter().map(|s| (s.source.as_str(), s)).collect();
    let mut out = Vec::new();
    let one = |name: &str,
               kind: Option<tenax_model::SourceKind>,
               configured: bool,
               every: Option<Duration>,
               st: Option<&tenax_store::SourceStat>|
     -> Result<Value, ApiError> {
        Ok(json!({
            "name": name,
            "kind": kind.or(st.and_then(|s| s.kind)),
            "configured": configured,
            "sync_every": every.map(format_every),
            "assets": st.map_or(0, |s| s.assets),
            "findings": st.map_or(0, |s| s.findings),
            "last_run": serde_json::to_value(st.and_then(|s| s.last_run.as_ref()))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            "last_success": st.and_then(|s| s.last_success),
        }))
    };
    for c in &state.config().sources {
        let st = by_name.remove(c.name.as_str());
        out.push(one(&c.name, Some(c.kind), true, c.sync_every, st)?);
    }
    for (name, st) in by_name {
        out.push(one(name, None, false, None, Some(st))?);
    }
    Ok(Value::Array(out))
}

/// The overview for a list of sources (all when empty), from the cache (see
/// `AppState::cached`).
pub(crate) async fn overview(
    state: &AppState,
    sources: Vec<String>,
) -> Result<Arc<Value>, ApiError> {
    let key = format!("overview:{}", sources.join(","));
    state
        .cached(key, move |st, s| {
            compute(st, s, &sources, chrono::Utc::now())
        })
        .await
}

fn compute(
    state: &AppState,
    store: &dyn Store,
    sources: &[String],
    now: tenax_model::Timestamp,
) -> Result<Value, ApiError> {
    let started = std::time::Instant::now();
    let counts = store.finding_counts(sources)?;
    let mut by_sev: BTreeMap<(String, std::cmp::Reverse<Severity>), (u64, u64)> = BTreeMap::new();
    let (mut open, mut fixed) = (0u64, 0u64);
    for c in &counts {
        let e = by_sev
            .entry((c.source.clone(), std::cmp::Reverse(c.severity)))
            .or_default();
        if c.state == FindingState::Fixed {
            e.1 += c.count;
            fixed += c.count;
        } else {
            e.0 += c.count;
            open += c.count;
        }
    }
    let by_severity: Vec<Value> = by_sev
        .into_iter()
        .map(|((source, sev), (o, f))| {
            json!({"source": source, "severity": sev.0, "open": o, "fixed": f})
        })
        .collect();
    let stats = store.source_stats()?;
    let wanted = |s: &str| sources.is_empty() || sources.iter().any(|x| x == s);
    let assets: u64 = stats
        .iter()
        .filter(|s| wanted(&s.source))
        .map(|s| s.assets)
        .sum();
    let events: u64 = stats
        .iter()
        .filter(|s| wanted(&s.source))
        .map(|s| s.events)
        .sum();
    let trend: Vec<Value> = store
        .finding_trend(sources, TREND_DAYS, now)?
        .into_iter()
        .map(|d| json!({"date": d.date.format("%Y-%m-%d").to_string(), "open": d.open, "fixed": d.fixed}))
        .collect();
    let top_cves: Vec<Value> = store
        .top_cves(sources, TOP)?
        .into_iter()
        .map(|c| {
            json!({"cve": c.cve, "findings": c.findings, "assets": c.assets,
                   "max_severity": c.max_severity})
        })
        .collect();
    let top_unified: Vec<Value> = store
        .top_unified_assets(sources, TOP)?
        .into_iter()
        .map(|(u, score)| {
            let mut v = unified_json(&u);
            v["score"] = json!(score);
            v
        })
        .collect();
    let sla = state.config().sla;
    let remediation = serde_json::to_value(store.remediation(sources, &sla, now)?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Not through the cache: this runs under its computation lock (which is not reentrant).
    let all_sources = self::sources(state, store)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Computed the overview."
    );
    Ok(json!({
        "generated_at": now,
        "totals": {
            "assets": assets,
            "unified_assets": store.count_unified_assets(sources)?,
            "findings_open": open,
            "findings_fixed": fixed,
            "events": events,
        },
        "by_severity": by_severity,
        "trend": trend,
        "top_cves": top_cves,
        "top_unified_assets": top_unified,
        "sla": remediation,
        "sources": all_sources,
    }))
}

impl AppState {
    /// Computes the overview of all sources (and the sources list) into the cache, so that
    /// the first request after a sync does not pay for it. Errors are logged.
    pub async fn warm(&self) {
        if let Err(e) = overview(self, Vec::new()).await {
            tracing::warn!(error = %e, "Could not precompute the overview.");
        }
        if let Err(e) = self.cached("sources".to_owned(), self::sources).await {
            tracing::warn!(error = %e, "Could not precompute the sources list.");
        }
        if let Err(e) = crate::metrics::source_stats(self).await {
            tracing::warn!(error = %e, "Could not precompute the per-source figures.");
        }
    }
}
