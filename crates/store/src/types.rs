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
    /// Keyset pagination: only findings after this `(source, id)` in the `(source, id)`
    /// order (streaming queries only; `count_findings` ignores it).
    pub after: Option<(String, String)>,
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
    /// Keyset pagination: only assets after this `(source, id)` in the `(source, id)` order
    /// (streaming queries only; `count_assets` ignores it).
    pub after: Option<(String, String)>,
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
    /// Keyset pagination: only events after this one in the `(source, time, id)` order
    /// (streaming queries only; `count_events` ignores it).
    pub after: Option<EventKey>,
}

/// An event's place in the `(source, time, id)` order of [`crate::Store::for_each_event`]
/// (events without a time come first within a source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKey {
    /// Source name.
    pub source: String,
    /// Event time (`None`: the event has none).
    pub time: Option<Timestamp>,
    /// Source-native event id.
    pub id: String,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnifiedLink {
    /// The unified asset.
    pub unified_id: String,
    /// One record: `(source, id)`.
    pub a: (String, String),
    /// The other record.
    pub b: (String, String),
    /// The evidence, strongest first: a JSON array, kept as its text (a correlation holds one
    /// per linked pair, and a parsed `Value` costs ten times the bytes).
    pub evidence: Box<serde_json::value::RawValue>,
}

impl PartialEq for UnifiedLink {
    /// Evidence compares as JSON text (as written by `serde_json`, compact).
    fn eq(&self, other: &Self) -> bool {
        self.unified_id == other.unified_id
            && self.a == other.a
            && self.b == other.b
            && self.evidence.get() == other.evidence.get()
    }
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

/// Filter for unified assets ([`crate::Store::list_unified_assets`]); empty fields match
/// everything. Only live records (not deleted by their source) count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnifiedFilter {
    /// Unified assets with at least one live record of these sources.
    pub sources: Vec<String>,
    /// Unified assets with a live record whose name, host names, FQDNs, IPs or MACs contain
    /// this text (case-insensitive).
    pub search: Option<String>,
    /// Keyset pagination: only unified ids greater than this one.
    pub after: Option<String>,
    /// At most this many unified assets.
    pub limit: Option<u64>,
}

/// One unified asset summarised over its live records (of every source, whatever the
/// filter that selected it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnifiedSummary {
    /// Unified asset id.
    pub unified_id: String,
    /// A name of one of its records (the first in `(source, id)` order that has one).
    pub name: Option<String>,
    /// Sources of its records, sorted, each once.
    pub sources: Vec<String>,
    /// Live records.
    pub records: u64,
    /// Host names of its records, sorted, each once.
    pub hostnames: Vec<String>,
    /// IPv4 addresses of its records, sorted, each once.
    pub ipv4s: Vec<String>,
    /// MAC addresses of its records, sorted, each once.
    pub macs: Vec<String>,
    /// Open (or reopened) findings on its records.
    pub open_findings: u64,
    /// The highest severity among those open findings.
    pub max_severity: Option<Severity>,
    /// Open findings per severity id (0 info … 4 critical).
    pub open_by_severity: [u64; 5],
}

/// Findings of one source, severity and state ([`crate::Store::finding_counts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCount {
    /// Source name.
    pub source: String,
    /// Severity.
    pub severity: Severity,
    /// State.
    pub state: FindingState,
    /// How many findings.
    pub count: u64,
}

/// One day of [`crate::Store::finding_trend`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendDay {
    /// The day (UTC).
    pub date: chrono::NaiveDate,
    /// Findings open (or reopened) at the end of that day.
    pub open: u64,
    /// Findings fixed during that day.
    pub fixed: u64,
}

/// A CVE among open findings ([`crate::Store::top_cves`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveCount {
    /// The CVE id, uppercase.
    pub cve: String,
    /// Open findings naming it.
    pub findings: u64,
    /// Distinct per-source assets with such a finding.
    pub assets: u64,
    /// Highest severity of those findings.
    pub max_severity: Severity,
}

/// What the store holds of one source ([`crate::Store::source_stats`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStat {
    /// Source name.
    pub source: String,
    /// Its kind (of its latest run; `None` when it has no run).
    pub kind: Option<SourceKind>,
    /// Live assets.
    pub assets: u64,
    /// Findings (every state).
    pub findings: u64,
    /// Events.
    pub events: u64,
    /// Its newest run.
    pub last_run: Option<RunRecord>,
    /// When its newest succeeded run finished.
    pub last_success: Option<Timestamp>,
    /// Records stored by all its finished runs: assets, findings, events.
    pub stored_total: [u64; 3],
    /// Its finished runs by status (`succeeded`, `partial`, `failed`), and the sum of their
    /// durations in seconds.
    pub runs_by_status: Vec<(RunStatus, u64, f64)>,
}

impl SourceStat {
    /// The entry of `source` in a map being filled by a backend's `source_stats`, all zero
    /// when new.
    pub(crate) fn entry(
        map: &mut std::collections::BTreeMap<String, SourceStat>,
        source: String,
    ) -> &mut SourceStat {
        map.entry(source.clone()).or_insert_with(|| SourceStat {
            source,
            kind: None,
            assets: 0,
            findings: 0,
            events: 0,
            last_run: None,
            last_success: None,
            stored_total: [0; 3],
            runs_by_status: Vec::new(),
        })
    }
}
