//! Tenable Security Center (on-prem, ex Tenable.sc / SecurityCenter) connector.
//!
//! - [`ScConfig`]: the `[[sources]]` settings (`kind = "sc"`), validated into [`ScSettings`]
//!   with exactly one [`ScAuth`] mode.
//! - [`parse_api_keys`]: the `accesskey=…; secretkey=…;` string as SC displays it.
//! - [`wire`]: the SC envelope, analysis pages and rows (numbers-as-strings tolerant).
//! - [`ScClient`]: the REST client (`x-apikey` or session login, envelope, error codes).
//! - [`ScSource`]: `check` and `run`: asset lists (`/rest/asset`), hosts (the 6.x
//!   inventory `/rest/hosts`, else the `sumip` tool), then analysis pages in a time window →
//!   store batches. An expired session is renewed by one new login.
//! - [`map`]: `vulndetails` rows → findings, `sumip` and `/rest/hosts` rows → host assets,
//!   with the host and finding identity rules.
//! - [`AssetListIndex`]: asset-list membership (`viewableIPs`) → the `asset_lists` tag.
#![warn(missing_docs)]

mod client;
mod config;
mod keys;
mod lists;
pub mod map;
mod source;
pub mod wire;

pub use client::{ScClient, endpoint, map_error};
pub use config::{ScAuth, ScConfig, ScSettings};
pub use keys::{is_key_token, parse_api_keys};
pub use lists::{ASSET_LISTS_TAG, AssetListIndex, REPOSITORY_TAG, Ranges};
pub use source::{ScSource, WINDOW_KEY, parse_version, uses_inventory};
pub use tenax_source::Window;
