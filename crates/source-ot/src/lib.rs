//! Tenable OT Security (ex Tenable.ot, ex Indegy) connector.
//!
//! - [`OtConfig`]: the `[[sources]]` settings (`kind = "ot"`), validated into [`OtSettings`]
//!   with exactly one [`OtAuth`] mode: a robot (mutual TLS with a client certificate,
//!   `X-Robot-Name`) or an API key (`X-APIKeys: key=…`).
//! - [`tls`]: the robot identity (PKCS#8, PKCS#1 and SEC1 keys), certificate pinning
//!   ([`PinVerifier`]), the HTTP client, TLS failures → one-line advice.
//! - [`OtClient`]: `POST /graphql` (GraphQL `errors` → [`GraphqlFailure`]) and `GET /v1/…`.
//! - [`OtSource`]: `check` and `run`: assets (window on `lastUpdate`), the plugin catalogue,
//!   findings (GraphQL `findings`, or `plugin_hits` per asset), events (window on `time`).
//! - [`map`]: records → the tenax model; [`wire`]: the appliance's shapes.
//! - [`enroll`]: `tenax ot cert` and `tenax ot robot create`.
#![warn(missing_docs)]

mod client;
mod config;
pub mod enroll;
pub mod map;
mod source;
pub mod tls;
pub mod wire;

pub use client::{GraphqlFailure, GraphqlPage, OtClient, OtError, auth_headers};
pub use config::{FindingsMode, OtAuth, OtConfig, OtSettings};
pub use source::{ASSETS_KEY, EVENTS_KEY, OtSource, PROBE_QUERY};
pub use tls::{ClientIdentity, Fingerprint, PinVerifier};
