//! The tenax HTTP server: the read-only REST API of `docs/API.md` under `/api/v1`, `/healthz`,
//! Prometheus `/metrics`, the dashboard at `/`, and scheduled syncs.
//!
//! [`router`] builds the routes over an [`AppState`]; [`serve`] runs them on a bound listener
//! until a shutdown future completes; [`check_listen`] refuses a non-loopback address without a
//! token. The store is synchronous: every store call runs on the blocking pool with a read
//! handle from a small pool ([`AppState::new`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let state = tenax_server::AppState::new(tenax_server::ServerConfig::new("sqlite://tenax.db"))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! tenax_server::serve(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod api;
mod auth;
mod dashboard;
mod error;
mod metrics;
mod openapi;
mod overview;
mod params;
mod schedule;
mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;

pub use auth::ApiToken;
pub use error::ApiError;
pub use schedule::{ScheduledSource, run_schedule};
pub use state::{AppState, ConfiguredSource, ServerConfig};

/// The whole application: API, health, metrics, dashboard, and a JSON 404 for the rest.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(metrics::routes())
        .merge(api::public_routes())
        .merge(dashboard::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .with_state(state)
}

/// Serves [`router`] on a bound listener until `shutdown` completes (then finishes the
/// requests in flight).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Refuses to listen on a non-loopback address without a token: one line naming the address
/// and what to do.
pub fn check_listen(addr: &SocketAddr, token: Option<&ApiToken>) -> Result<(), String> {
    if addr.ip().is_loopback() || token.is_some() {
        Ok(())
    } else {
        Err(format!(
            "--listen {addr}: refusing to serve a non-loopback address without a token; set \
             TENAX_API_TOKEN (clients then send `Authorization: Bearer <token>`) or listen on \
             127.0.0.1"
        ))
    }
}
