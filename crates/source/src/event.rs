use std::collections::BTreeMap;

use tenax_model::{Asset, Event, Finding, Timestamp};
use tokio_util::sync::CancellationToken;

/// Records a connector hands to the engine, written in one store transaction together with
/// the checkpoint updates they reach.
#[derive(Debug, Default)]
pub struct SourceBatch {
    /// Findings with the raw JSON text they were mapped from.
    pub findings: Vec<(Finding, Box<str>)>,
    /// Assets with their raw JSON text.
    pub assets: Vec<(Asset, Box<str>)>,
    /// Events (OT Security policy hits) with their raw JSON text.
    pub events: Vec<(Event, Box<str>)>,
    /// Assets the source reports deleted or terminated.
    pub deleted_assets: Vec<(String, Timestamp)>,
    /// Checkpoint updates that become true once this batch is stored.
    pub checkpoint: Vec<(String, Option<serde_json::Value>)>,
}

impl SourceBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
            && self.assets.is_empty()
            && self.events.is_empty()
            && self.deleted_assets.is_empty()
            && self.checkpoint.is_empty()
    }
}

/// Progress of one phase of a sync, for progress bars and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The phase, e.g. `vulns export`.
    pub phase: &'static str,
    /// Work units done (chunks, pages).
    pub done: u64,
    /// Work units known so far (`None` while unknown).
    pub total: Option<u64>,
    /// Records received so far in this phase.
    pub records: u64,
}

/// What a connector sends while it syncs.
#[derive(Debug)]
pub enum SourceEvent {
    /// Records to store.
    Batch(SourceBatch),
    /// Progress to show.
    Progress(Progress),
}

/// What the engine hands a connector for one run.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The run id (connectors record which runs contributed to a resumable export).
    pub run_id: i64,
    /// Ignore the incremental checkpoint and sync from the configured look-back.
    pub full: bool,
    /// The source's stored checkpoint values, by key.
    pub checkpoints: BTreeMap<String, serde_json::Value>,
    /// Cancelled on Ctrl-C: stop cleanly (cancel server-side jobs) and return.
    pub cancel: CancellationToken,
}

/// How a connector's run ended (the engine adds what it stored and reconciles).
#[derive(Debug, Clone, Default)]
pub struct SourceOutcome {
    /// Everything the source promised was fetched. `false` → the run is partial and
    /// `final_checkpoint` is not applied.
    pub complete: bool,
    /// The source's own count of assets it sent (upserts, not deletions), when known.
    pub expected_assets: Option<u64>,
    /// The source's own count of findings it sent, when known.
    pub expected_findings: Option<u64>,
    /// The source's own count of events it sent, when known.
    pub expected_events: Option<u64>,
    /// Runs whose stored rows count toward this run's totals (a resumed export spans runs).
    pub contributing_runs: Vec<i64>,
    /// Checkpoint updates applied only when the run is complete and reconciles.
    pub final_checkpoint: Vec<(String, Option<serde_json::Value>)>,
    /// Problems that made the run partial, one line each.
    pub problems: Vec<String>,
    /// Source-specific details for the run report.
    pub details: serde_json::Value,
}
