//! The bearer token: kept secret (redacted `Debug`, never logged), compared in constant time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ApiError;
use crate::state::AppState;

/// The API token (`TENAX_API_TOKEN`). `Debug` prints `ApiToken(***)`.
#[derive(Clone)]
pub struct ApiToken(SecretString);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(***)")
    }
}

impl ApiToken {
    /// A token from its text; `None` when it is empty or only whitespace (as if unset).
    pub fn new(text: &str) -> Option<Self> {
        let t = text.trim();
        (!t.is_empty()).then(|| Self(SecretString::from(t.to_owned())))
    }

    /// True when `presented` is the token. Constant time in the token's content (the length
    /// of the token is not hidden).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let want = self.0.expose_secret().as_bytes();
        if want.len() != presented.len() {
            return false;
        }
        want.iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// True for the paths a token protects: `/api/…` and `/metrics` (the dashboard's files and
/// `/healthz` are public).
fn protected(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics"
}

/// Requires `Authorization: Bearer <token>` on protected paths when a token is configured.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(token) = state.token().filter(|_| protected(req.uri().path())) {
        let ok = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| {
                let v = v.as_bytes();
                let (scheme, rest) = v.split_at(v.len().min(7));
                scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
            })
            .is_some_and(|t| token.matches(t.trim_ascii()));
        if !ok {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_compares_and_hides() {
        let t = ApiToken::new(" s3cret-token ").unwrap();
        assert!(t.matches(b"s3cret-token"));
        assert!(!t.matches(b"s3cret-tokem"));
        assert!(!t.matches(b"s3cret"));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(ApiToken::new("  ").is_none());
    }
}
