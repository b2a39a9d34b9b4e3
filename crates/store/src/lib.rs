//! The tenax store.
//!
//! [`Store`] is a trait of domain verbs (begin a run, apply a batch together with the
//! checkpoint it reaches, finish a run, query records). [`SqliteStore`] is the default
//! implementation; PostgreSQL will be a second implementation held to the same
//! [`testsuite`].
//!
//! ```no_run
//! use tenax_store::{open, Store};
//! let store = open("sqlite://./tenax.db").unwrap();
//! println!("{} runs", store.list_runs(None, 10).unwrap().len());
//! ```
#![deny(missing_docs)]

mod error;
mod sqlite;
mod types;
pub mod testsuite;

pub use error::{Error, Result};
pub use sqlite::SqliteStore;
pub use types::*;

/// Opens the store named by a URL: `sqlite://PATH` (relative or absolute), `sqlite::memory:`.
/// `postgres://…` is reserved for the PostgreSQL backend.
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    Ok(Box::new(SqliteStore::open_url(url)?))
}

/// The domain verbs every backend implements. All writes of one [`Batch`] happen in one
/// transaction together with the checkpoint updates it carries: a checkpoint never moves
/// past data that is not stored.
pub trait Store: Send {
    /// Starts a run for a source and returns its id. The run is `running` until
    /// [`Store::finish_run`].
    fn begin_run(&mut self, source: &str, kind: tenax_model::SourceKind, mode: RunMode)
    -> Result<RunId>;

    /// Writes a batch in one transaction: upserts its assets and findings (keyed by
    /// `(source, id)`, stamped with the run), marks deleted assets, and applies its checkpoint
    /// updates. Either everything is stored or nothing is.
    fn apply_batch(&mut self, run: RunId, source: &str, batch: &Batch) -> Result<BatchOutcome>;

    /// Reads a checkpoint value of a source (`None` if never written or deleted).
    fn checkpoint(&self, source: &str, key: &str) -> Result<Option<serde_json::Value>>;

    /// Finishes a run with its report (status, expected vs stored, message).
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

    /// The raw source JSON kept for a finding.
    fn raw_finding(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>>;

    /// The raw source JSON kept for an asset.
    fn raw_asset(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>>;

    /// Backend health check (`PRAGMA integrity_check` on SQLite). `Ok(())` when healthy.
    fn integrity_check(&self) -> Result<()>;
}
