//! Plumbing shared by the tenax product connectors.
//!
//! - [`SourceError`]: the one error type of every connector, with classification methods
//!   (`is_retryable`, `status`) that retry logic and exit codes use.
//! - [`retry`]: the retry policy (jittered exponential backoff, `Retry-After`).
//! - [`http`]: the HTTP client builder (timeouts, TLS, proxy, user agent) and URL rules.
//! - [`json_array`]: a streaming splitter for JSON-array bodies, so export chunks are never
//!   held whole in memory.
//! - [`secret`]: `${VAR}` resolution and redacted secrets.
//! - [`SourceEvent`], [`SyncRequest`], [`SourceOutcome`]: what a connector and the sync engine
//!   exchange.
#![deny(missing_docs)]

mod error;
mod event;
pub mod http;
pub mod json_array;
pub mod map;
pub mod retry;
pub mod secret;
mod window;

pub use error::{Result, SourceError};
pub use event::{Progress, SourceBatch, SourceEvent, SourceOutcome, SyncRequest};
pub use tokio_util::sync::CancellationToken;
pub use window::{Window, WindowStart};
