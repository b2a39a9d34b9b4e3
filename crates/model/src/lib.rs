//! Normalized tenax records.
//!
//! Every product connector maps its wire format into these types; the store keeps them, and
//! every output format (table, JSON, NDJSON, CSV, the REST API) derives from their JSON form,
//! which is the contract in `ARCHITECTURE.md` §4.
//!
//! ```
//! use tenax_model::{Severity, FindingState};
//! assert_eq!(Severity::from_id(4), Some(Severity::Critical));
//! assert_eq!("REOPENED".parse::<FindingState>().unwrap(), FindingState::Reopened);
//! ```
#![deny(missing_docs)]

mod asset;
mod event;
mod finding;
mod kind;
mod normalize;

pub use asset::Asset;
pub use event::Event;
pub use finding::{Finding, finding_key};
pub use kind::{FindingState, ParseEnumError, Severity, SourceKind};
pub use normalize::{non_empty, normalize_mac, parse_timestamp};

/// A timestamp, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
