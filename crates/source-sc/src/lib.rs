//! Tenable Security Center (on-prem, ex Tenable.sc / SecurityCenter) connector.
//!
//! - [`ScConfig`]: the `[[sources]]` settings (`kind = "sc"`), validated into [`ScSettings`]
//!   with exactly one [`ScAuth`] mode.
//! - [`parse_api_keys`]: the `accesskey=…; secretkey=…;` string as SC displays it.
//! - [`wire`]: the SC envelope, analysis pages and rows (numbers-as-strings tolerant).
//! - [`map`]: `vulndetails` rows → findings, `sumip` rows → host assets, with the host and
//!   finding identity rules.
#![warn(missing_docs)]

mod config;
mod keys;
pub mod map;
pub mod wire;

pub use config::{ScAuth, ScConfig, ScSettings};
pub use keys::{is_key_token, parse_api_keys};
