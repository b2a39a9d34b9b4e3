//! The tenax store.
//!
//! [`Store`] is a trait of domain verbs (begin a run, apply a batch together with the
//! checkpoint it reaches, finish a run, query records). [`SqliteStore`] is the default
//! implementation; [`PgStore`] (PostgreSQL) is the second, held to the same [`testsuite`].
//!
//! ```no_run
//! use tenax_store::{open, Store};
//! let store = open("sqlite://./tenax.db").unwrap();
//! println!("{} runs", store.list_runs(None, 10).unwrap().len());
//! ```
#![deny(missing_docs)]

pub mod copy;
mod error;
mod postgres;
mod sqlite;
pub mod testsuite;
mod types;

pub use error::{Error, Result};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::*;

/// A UTC timestamp (re-exported for trait signatures).
pub use tenax_model::Timestamp;

/// Opens the store named by a URL: `sqlite://PATH` (relative or absolute), `sqlite:PATH`,
/// `sqlite::memory:`, or PostgreSQL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?…]` (also
/// `postgresql://`); any other scheme is an [`Error::Config`] naming it.
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    match url_scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("sqlite") => Ok(Box::new(SqliteStore::open_url(url)?)),
        Some(s) if s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql") => {
            Ok(Box::new(PgStore::open_url(url)?))
        }
        _ => Err(unsupported_url(url)),
    }
}

/// Opens a read-only handle on the store named by a URL, for concurrent readers beside the
/// one writer (the HTTP server keeps a few). The store must exist at the current schema (open
/// it once with [`open`]); `sqlite::memory:` cannot be shared and is an [`Error::Config`].
pub fn open_reader(url: &str) -> Result<Box<dyn Store>> {
    match url_scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("sqlite") => {
            Ok(Box::new(SqliteStore::open_reader_url(url)?))
        }
        // A connection of its own (PostgreSQL serves concurrent readers itself).
        Some(s) if s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql") => {
            Ok(Box::new(PgStore::open_url(url)?))
        }
        _ => Err(unsupported_url(url)),
    }
}

/// The scheme of a URL (`sqlite`, `postgres`, …): letters, digits, `+`, `-`, `.` before the first
/// `:`, starting with a letter.
pub(crate) fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// The error for a URL no backend of this build serves. Never echoes a URL with a scheme
/// (it may carry a password).
pub(crate) fn unsupported_url(url: &str) -> Error {
    match url_scheme(url) {
        Some(s) => Error::Config(format!(
            "unsupported store URL scheme `{s}`; use sqlite://PATH or postgres://USER@HOST/DB"
        )),
        None => Error::Config(format!(
            "store URL `{url}` has no scheme; use sqlite://PATH or sqlite::memory:"
        )),
    }
}

/// The domain verbs every backend implements. All writes of one [`Batch`] happen in one
/// transaction together with the checkpoint updates it carries: a checkpoint never moves
/// past data that is not stored.
pub trait Store: Send {
    /// Starts a run for a source and returns its id. The run is `running` until
    /// [`Store::finish_run`].
    fn begin_run(
        &mut self,
        source: &str,
        kind: tenax_model::SourceKind,
        mode: RunMode,
    ) -> Result<RunId>;

    /// Writes a batch in one transaction: upserts its assets and findings (keyed by
    /// `(source, id)`, stamped with the run), marks deleted assets, and applies its checkpoint
    /// updates. Either everything is stored or nothing is.
    ///
    /// Upserts replace every field of a stored record (several versions of one record in a
    /// batch: the last wins); deletions apply after the upserts, an unknown asset becoming a
    /// stub with its id, the run's kind and `deleted_at`; checkpoint updates apply in order.
    ///
    /// Rejected before anything is written ([`Error::NotFound`] for an unknown run,
    /// [`Error::Config`] otherwise): a run that is not `running` or belongs to another source;
    /// an asset or finding of another source, with an empty id, or of another kind than the
    /// run (an asset's kind may be `None`); an empty deleted-asset id or checkpoint key.
    fn apply_batch(&mut self, run: RunId, source: &str, batch: &Batch) -> Result<BatchOutcome>;

    /// Reads a checkpoint value of a source (`None` if never written or deleted).
    fn checkpoint(&self, source: &str, key: &str) -> Result<Option<serde_json::Value>>;

    /// Finishes a run with its report (status, expected vs stored, message). The status must be
    /// final ([`Error::Config`] for `None` or `Running`); an unknown run is
    /// [`Error::NotFound`]. A run closed by [`Store::close_stale_runs`] may still be finished.
    fn finish_run(&mut self, run: RunId, report: &RunReport) -> Result<()>;

    /// Marks runs still `running` for a source as `failed` with a message (an earlier process
    /// died). Returns how many were closed.
    fn close_stale_runs(&mut self, source: &str, message: &str) -> Result<u64>;

    /// Runs, newest first, optionally for one source.
    fn list_runs(&self, source: Option<&str>, limit: usize) -> Result<Vec<RunRecord>>;

    /// Counts findings matching a filter.
    fn count_findings(&self, filter: &FindingFilter) -> Result<u64>;

    /// Counts assets matching a filter.
    fn count_assets(&self, filter: &AssetFilter) -> Result<u64>;

    /// Streams findings matching a filter, ordered by `(source, id)`, to a callback.
    /// The callback's error stops the walk and is returned.
    fn for_each_finding(
        &self,
        filter: &FindingFilter,
        f: &mut dyn FnMut(tenax_model::Finding) -> Result<()>,
    ) -> Result<()>;

    /// Streams assets matching a filter, ordered by `(source, id)`.
    fn for_each_asset(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset) -> Result<()>,
    ) -> Result<()>;

    /// The raw source JSON kept for a finding: `None` when there is no such finding, JSON
    /// `null` when it was stored without raw text.
    fn raw_finding(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>>;

    /// The raw source JSON kept for an asset: `None` when there is no such asset, JSON `null`
    /// when it has none (stored without raw text, or a stub made by a deletion).
    fn raw_asset(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>>;

    /// A finding's history, oldest first: its first appearance (`new`, from the stored row),
    /// then every change recorded since. Empty when there is no such finding.
    fn finding_history(&self, source: &str, id: &str) -> Result<Vec<Transition>>;

    /// Remediation figures per source and severity (sources: all when empty): open findings
    /// and how many are past the SLA at `now`, fixed findings and their mean time to
    /// remediate. Only combinations with at least one finding are returned, ordered by source
    /// then severity from critical down.
    fn remediation(
        &self,
        sources: &[String],
        sla: &Sla,
        now: Timestamp,
    ) -> Result<Vec<RemediationStat>>;

    /// Streams assets matching a filter with their raw source JSON text (`None` when none),
    /// ordered by `(source, id)`: what correlation reads its strong identifiers from (parsing
    /// only the fields it needs).
    fn for_each_asset_raw(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset, Option<&str>) -> Result<()>,
    ) -> Result<()>;

    /// Stores a correlation in one transaction: each record's unified id (its findings read
    /// their asset's) and the links between records, replacing the previous links.
    /// Assignments of unknown assets are ignored.
    fn apply_correlation(
        &mut self,
        assignments: &[Assignment],
        links: &[UnifiedLink],
    ) -> Result<CorrelationWrite>;

    /// The links inside one unified asset, ordered by their records.
    fn unified_links(&self, unified_id: &str) -> Result<Vec<UnifiedLink>>;

    /// Counts events matching a filter.
    fn count_events(&self, filter: &EventFilter) -> Result<u64>;

    /// Streams events matching a filter, ordered by `(source, time, id)` (events without a
    /// time first).
    fn for_each_event(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(tenax_model::Event) -> Result<()>,
    ) -> Result<()>;

    /// The raw source JSON kept for an event: `None` when there is no such event.
    fn raw_event(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>>;

    /// Backend health check (`PRAGMA integrity_check` on SQLite). `Ok(())` when healthy.
    fn integrity_check(&self) -> Result<()>;

    /// Takes the sync lease of a source for `ttl` when it is free, expired, or already held by
    /// `holder` (then it is renewed); otherwise reports who holds it. Atomic across processes
    /// sharing the store.
    fn acquire_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseAttempt>;

    /// Extends `holder`'s lease of a source to `ttl` from now. `None` when `holder` does not
    /// hold it any more (it expired and another process took it, or it was released).
    fn renew_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<Lease>>;

    /// Gives up `holder`'s lease of a source. `false` when `holder` did not hold it.
    fn release_lease(&mut self, source: &str, holder: &str) -> Result<bool>;

    /// The lease row of a source, expired or not (`None` when never taken or released).
    fn lease(&self, source: &str) -> Result<Option<Lease>>;

    /// One finding by its key, read like [`Store::for_each_finding`] reads it; `None` when
    /// there is no such finding.
    fn get_finding(&self, source: &str, id: &str) -> Result<Option<tenax_model::Finding>>;

    /// One asset by its key (deleted ones too); `None` when there is no such asset.
    fn get_asset(&self, source: &str, id: &str) -> Result<Option<tenax_model::Asset>>;

    /// Unified assets with at least one live record matching the filter, ordered by unified
    /// id, each summarised over all its live records (see [`UnifiedSummary`]). Records
    /// without a unified id (never correlated) are not listed.
    fn list_unified_assets(&self, filter: &UnifiedFilter) -> Result<Vec<UnifiedSummary>>;

    /// One unified asset's summary; `None` when no live record has that unified id.
    fn unified_asset(&self, unified_id: &str) -> Result<Option<UnifiedSummary>>;

    /// How many unified assets have a live record of one of `sources` (all when empty).
    fn count_unified_assets(&self, sources: &[String]) -> Result<u64>;

    /// Findings counted per source, severity and state (sources: all when empty); only
    /// combinations with a finding, ordered by source, severity from critical down, state.
    fn finding_counts(&self, sources: &[String]) -> Result<Vec<FindingCount>>;

    /// The last `days` UTC days up to and including the day of `end`, oldest first: findings
    /// open at the end of each day and findings fixed during it, by the rules of
    /// [`FindingFilter::as_of`] (a finding is open from `first_found` until fixed or gone,
    /// then as its history says).
    fn finding_trend(&self, sources: &[String], days: u32, end: Timestamp)
    -> Result<Vec<TrendDay>>;

    /// The CVEs named by the most open (or reopened) findings, at most `limit`, most
    /// findings first (ties: by CVE id).
    fn top_cves(&self, sources: &[String], limit: usize) -> Result<Vec<CveCount>>;

    /// The unified assets with the highest score, at most `limit`, highest first (ties: by
    /// unified id). The score sums over the open findings of the sources on its live records:
    /// critical 10, high 5, medium 2, low 0.5, info 0. Assets scoring 0 are left out.
    fn top_unified_assets(
        &self,
        sources: &[String],
        limit: usize,
    ) -> Result<Vec<(UnifiedSummary, f64)>>;

    /// What the store holds per source: every source with a run, asset, finding or event,
    /// ordered by name.
    fn source_stats(&self) -> Result<Vec<SourceStat>>;

    /// A number that changes whenever a write that readers can see commits (a batch, a run
    /// started, finished or closed, a correlation): equal numbers mean equal answers, so
    /// callers may cache aggregates under it. Cheap (one indexed read).
    fn data_version(&self) -> Result<u64>;
}
