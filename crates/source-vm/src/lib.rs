//! Tenable Vulnerability Management (cloud, ex Tenable.io) connector.
//!
//! - [`VmConfig`]: the `[[sources]]` settings (`kind = "vm"`), validated into [`VmSettings`].
//! - [`VmClient`]: the export API over HTTP (`X-ApiKeys` header, retries, 409 adoption).
//! - [`VmSource`]: `check` (read-only connection test) and `run` (one sync: asset and
//!   vulnerability exports streamed into store batches with resumable checkpoints).
//! - [`map`]: wire records → [`tenax_model`] records.
#![warn(missing_docs)]

mod client;
mod config;
pub mod map;
mod source;
pub mod wire;

pub use client::{ExportKind, Started, VmClient, endpoint};
pub use config::{VmConfig, VmSettings};
pub use source::{ExportState, VmSource, WINDOW_KEY};
pub use tenax_source::Window;
