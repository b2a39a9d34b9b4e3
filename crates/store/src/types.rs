use std::fmt;

use serde::{Deserialize, Serialize};
use tenax_model::{Asset, Event, Finding, FindingState, Severity, SourceKind, Timestamp};

/// A sync run's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Full or incremental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    /// From the configured look-back.
    Full,
    /// From the last checkpoint, with overlap.
    Incremental,
}

impl RunMode {
    /// `full` / `incremental`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Full => "full",
            RunMode::Incremental => "incremental",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still going (or the process died; see [`crate::Store::close_stale_runs`]).
    Running,
    /// Everything fetched, stored and reconciled.
    Succeeded,
    /// Some data stored, but not everything (failed chunks, reconcile mismatch, cancelled).
    Partial,
    /// Nothing usable.
    Failed,
}

impl RunStatus {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            _ => return None,
        })
    }
}

/// A finding with the raw source JSON it was mapped from.
#[derive(Debug, Clone)]
pub struct FindingRow {
    /// The normalized finding.
    pub finding: Finding,
    /// The raw JSON text of the source record (stored compressed).
    pub raw: Box<str>,
}

/// An asset with the raw source JSON it was mapped from.
#[derive(Debug, Clone)]
pub struct AssetRow {
    /// The normalized asset.
    pub asset: Asset,
    /// The raw JSON text of the source record (stored compressed).
    pub raw: Box<str>,
}

/// An event with the raw source JSON it was mapped from.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// The normalized event.
    pub event: Event,
    /// The raw JSON text of the source record (stored compressed).
    pub raw: Box<str>,
}

/// One unit of writing: records plus the checkpoint updates they reach, applied in one
/// transaction.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Assets to upsert.
    pub assets: Vec<AssetRow>,
    /// Findings to upsert.
    pub findings: Vec<FindingRow>,
    /// Events to upsert.
    pub events: Vec<EventRow>,
    /// Assets the source reports deleted or terminated: `(native id, when)`. Marks the stored
    /// asset (inserting a stub row when it was never seen).
    pub deleted_assets: Vec<(String, Timestamp)>,
    /// Checkpoint updates: `(key, Some(value))` sets, `(key, None)` deletes.
    pub checkpoint: Vec<(String, Option<serde_json::Value>)>,
}

/// What a batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Assets inserted or updated.
    pub assets: u64,
    /// Findings inserted or updated.
    pub findings: u64,
    /// Assets marked deleted.
    pub deleted_assets: u64,
    /// Events inserted or updated.
    pub events: u64,
}

/// Counts of one entity in a run: what the source said it would send vs what was stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// The source's own total (export chunk sizes, `totalRecords`, …), when known.
    pub expected: Option<u64>,
    /// Rows received and written by this run.
    pub stored: u64,
}

/// The report a run finishes with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Final status (must not be `Running`).
    pub status: Option<RunStatus>,
    /// Assets expected vs stored.
    pub assets: Tally,
    /// Findings expected vs stored.
    pub findings: Tally,
    /// Events expected vs stored.
    #[serde(default)]
    pub events: Tally,
    /// Assets marked deleted by this run.
    pub deleted_assets: u64,
    /// One-line summary or error cause.
    pub message: Option<String>,
    /// Source-specific details (export uuids, chunk counts, retries), free-form JSON.
    pub details: serde_json::Value,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: RunId,
    /// Source name.
    pub source: String,
    /// Source kind.
    pub kind: SourceKind,
    /// Full or incremental.
    pub mode: RunMode,
    /// Status.
    pub status: RunStatus,
    /// Start time.
    pub started_at: Timestamp,
    /// End time (`None` while running).
    pub finished_at: Option<Timestamp>,
    /// Assets expected vs stored.
    pub assets: Tally,
    /// Findings expected vs stored.
    pub findings: Tally,
    /// Events expected vs stored.
    #[serde(default)]
    pub events: Tally,
    /// Assets marked deleted.
    pub deleted_assets: u64,
    /// Summary or error.
    pub message: Option<String>,
    /// Source-specific details.
    pub details: serde_json::Value,
}

/// Filter for findings; empty fields match everything. Lists are OR-ed, fields AND-ed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingFilter {
    /// Source names.
    pub sources: Vec<String>,
    /// Severities.
    pub severities: Vec<Severity>,
    /// States.
    pub states: Vec<FindingState>,
    /// A CVE id (exact, case-insensitive).
    pub cve: Option<String>,
    /// A plugin id.
    pub plugin_id: Option<i64>,
    /// A source-native asset id.
    pub asset_id: Option<String>,
    /// Only findings written by this run.
    pub run: Option<RunId>,
    /// Only findings of this unified asset.
    pub unified_asset_id: Option<String>,
    /// The findings as they were at this time: only those first found by then and not gone,
    /// each with the state it had then (from the finding history). `states` filters on that
    /// state.
    pub as_of: Option<Timestamp>,
    /// At most this many rows (streaming queries only).
    pub limit: Option<u64>,
}

/// Filter for assets; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetFilter {
    /// Source names.
    pub sources: Vec<String>,
    /// Substring of name, host names, FQDNs, IPs or MACs (case-insensitive).
    pub search: Option<String>,
    /// Include assets the source deleted or terminated (default: live only).
    pub include_deleted: bool,
    /// Only the records of this unified asset.
    pub unified_id: Option<String>,
    /// Only assets written by this run.
    pub run: Option<RunId>,
    /// At most this many rows (streaming queries only).
    pub limit: Option<u64>,
}

/// Filter for events; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Source names.
    pub sources: Vec<String>,
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events written by this run.
    pub run: Option<RunId>,
    /// At most this many rows (streaming queries only).
    pub limit: Option<u64>,
}

/// What changed in a finding's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// First stored.
    New,
    /// Fixed (no longer seen).
    Fixed,
    /// Seen again after being fixed.
    Reopened,
    /// Between open and reopened without a fix in between (the source recast it).
    Changed,
    /// Its asset was deleted by the source.
    Gone,
}

impl Change {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Fixed => "fixed",
            Change::Reopened => "reopened",
            Change::Changed => "changed",
            Change::Gone => "gone",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => Change::New,
            "fixed" => Change::Fixed,
            "reopened" => Change::Reopened,
            "changed" => Change::Changed,
            "gone" => Change::Gone,
            _ => return None,
        })
    }

    /// The change from one state to another (`None` when they are equal).
    pub fn between(from: FindingState, to: FindingState) -> Option<Self> {
        use FindingState::{Fixed, Open, Reopened};
        Some(match (from, to) {
            (a, b) if a == b => return None,
            (_, Fixed) => Change::Fixed,
            (Fixed, Open | Reopened) => Change::Reopened,
            (Open, Reopened) | (Reopened, Open) => Change::Changed,
            _ => return None,
        })
    }
}

/// One entry of a finding's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When it happened (the source's timestamp where it gives one).
    pub at: Timestamp,
    /// The run that recorded it.
    pub run: RunId,
    /// What happened.
    pub change: Change,
    /// The state after it (for `gone`: the state the finding had).
    pub state: FindingState,
}

/// Days allowed to fix an open finding, per severity (`None`: no deadline). Defaults: critical
/// 15, high 30, medium 90, low 180, info none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    /// Days by severity id (0 info … 4 critical).
    pub days: [Option<u32>; 5],
}

impl Default for Sla {
    fn default() -> Self {
        Self {
            days: [None, Some(180), Some(90), Some(30), Some(15)],
        }
    }
}

impl Sla {
    /// Days for a severity.
    pub fn for_severity(&self, s: Severity) -> Option<u32> {
        self.days[s.id() as usize]
    }
}

/// Remediation figures of one source and severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationStat {
    /// Source name.
    pub source: String,
    /// Severity.
    pub severity: Severity,
    /// Findings open or reopened now.
    pub open: u64,
    /// Of those, open longer than the SLA allows (counted from `first_found`).
    pub past_sla: u64,
    /// The SLA applied, in days.
    pub sla_days: Option<u32>,
    /// Findings fixed.
    pub fixed: u64,
    /// Mean time from `first_found` to `last_fixed` of the fixed findings, in days.
    pub mean_days_to_remediate: Option<f64>,
}

/// A record's unified asset, as a correlation decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Source name.
    pub source: String,
    /// Source-native asset id.
    pub id: String,
    /// Unified asset id.
    pub unified_id: String,
}

/// Two records of one unified asset and the evidence that linked them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnifiedLink {
    /// The unified asset.
    pub unified_id: String,
    /// One record: `(source, id)`.
    pub a: (String, String),
    /// The other record.
    pub b: (String, String),
    /// The evidence, strongest first (JSON array).
    pub evidence: serde_json::Value,
}

/// What storing a correlation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationWrite {
    /// Assets whose unified id changed (their findings follow: a finding's unified asset is
    /// its asset's).
    pub assets_changed: u64,
    /// Links stored.
    pub links: u64,
}

/// A source's sync lease: which process holds it, and until when. Only the holder syncs the
/// source; it renews the lease while it runs, and a lease whose holder died expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Source name.
    pub source: String,
    /// Who holds it (`host:pid:…`, as the holder named itself).
    pub holder: String,
    /// When it expires unless renewed (the store's clock: the database server's on PostgreSQL).
    pub expires_at: Timestamp,
}

/// The answer to [`crate::Store::acquire_lease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseAttempt {
    /// The caller holds the lease now.
    Acquired(Lease),
    /// Another holder has a lease that has not expired.
    Held(Lease),
}
