//! The tenax sync engine.
//!
//! [`run_source`] runs one source once: it loads the source's checkpoints, streams its records
//! into store batches (each written in one transaction with the checkpoint it reaches, on a
//! writer thread so parsing and writing overlap), reconciles stored counts against the
//! source's own totals and finishes the run with a report. A checkpoint never moves past data
//! that is not stored; a run that is partial keeps the previous window.
#![warn(missing_docs)]

pub mod config;
mod correlate;
mod engine;
pub mod lease;
mod source;

pub use config::{Config, ConfigError, SourceConfig};
pub use correlate::{CorrelationSummary, correlate_store, strong_ids};
pub use engine::{Observer, RunOptions, RunSummary, StoreFailure, SyncEvent, run_source};
pub use source::AnySource;
