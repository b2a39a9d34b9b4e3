//! The HTTP edge's one error type: `{"error": "<one line>"}` with its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A bad parameter (400): the message names the parameter and the problem.
    #[error("{0}")]
    BadRequest(String),
    /// A missing or wrong bearer token (401).
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// No such record or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (500): logged; the client sees a generic message.
    #[error("store failure")]
    Store(#[from] tenax_store::Error),
    /// Anything else that is our fault (500).
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Store(e) => {
                // Store errors never carry secrets (store URLs with passwords are not echoed).
                tracing::error!(error = %e, "Store failure answering a request.");
                "store failure (see the server log)".to_owned()
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "Internal error answering a request.");
                "internal error (see the server log)".to_owned()
            }
            other => other.to_string().replace(['\n', '\r'], " "),
        };
        let mut r = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

/// The answer for an unknown route.
pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
