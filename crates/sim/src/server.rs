//! The HTTP side shared by every simulated product: state, request counting, fault gate
//! (latency, 429, 5xx) and Tenable-style error responses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value, json};

use crate::faults::Faults;
use crate::sc::ScService;
use crate::util::hex_from;
use crate::vm::VmService;

/// Request and fault counters (see [`crate::SimStats`]).
#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub exports_created: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub resets: AtomicU64,
    pub cancelled: AtomicU64,
    pub conflicts: AtomicU64,
    pub chunk_downloads: Mutex<BTreeMap<(String, u32), u64>>,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_download(&self, export: &str, chunk: u32) {
        let mut m = self
            .chunk_downloads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *m.entry((export.to_string(), chunk)).or_insert(0) += 1;
    }
}

/// State shared by all handlers.
pub(crate) struct Shared {
    pub seed: u64,
    pub faults: Faults,
    pub fault_rng: Mutex<SmallRng>,
    pub counters: Counters,
    pub vm: VmService,
    pub sc: ScService,
}

/// The full router for all products.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    crate::vm::api::routes()
        .merge(crate::sc::api::routes())
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async {
            tenable_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed",
                "Method Not Allowed",
            )
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// Counts every request and injects the request-level faults before any handler runs.
async fn gate(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let is_sc = req.uri().path().starts_with("/rest");
    if !is_sc && sh.faults.slow_ms > 0 {
        #[allow(clippy::disallowed_methods)]
        tokio::time::sleep(Duration::from_millis(sh.faults.slow_ms)).await;
    }
    if is_sc && sh.faults.sc_slow_ms > 0 {
        #[allow(clippy::disallowed_methods)]
        tokio::time::sleep(Duration::from_millis(sh.faults.sc_slow_ms)).await;
    }
    let n = sh.counters.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let sc_5xx = if is_sc {
        draw(&sh, sh.faults.sc_server_error_p)
    } else {
        None
    };
    let mut resp = if let Some(status) = sc_5xx {
        Counters::bump(&sh.counters.server_errors);
        apache_error(status)
    } else if is_sc {
        next.run(req).await
    } else if let Some(rl) = sh.faults.rate_limit.filter(|rl| n % rl.every == 0) {
        Counters::bump(&sh.counters.rate_limited);
        too_many_requests(rl.after_secs)
    } else if let Some(status) = draw_5xx(&sh) {
        Counters::bump(&sh.counters.server_errors);
        server_error(status)
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&hex_from(crate::util::mix(&[sh.seed, n]), 32)) {
        h.insert("x-request-uuid", v);
    }
    h.insert(
        header::SERVER,
        HeaderValue::from_static(if is_sc { "Apache" } else { "tenable.io" }),
    );
    resp
}

fn draw_5xx(sh: &Shared) -> Option<u16> {
    draw(sh, sh.faults.server_error_p)
}

fn draw(sh: &Shared, p: Option<f64>) -> Option<u16> {
    let p = p?;
    let mut rng = sh
        .fault_rng
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if rng.random::<f64>() < p {
        Some([500, 502, 503, 504][rng.random_range(0..4)])
    } else {
        None
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// `{"statusCode":…,"error":…,"message":…}` like the real service.
pub(crate) fn tenable_error(status: StatusCode, error: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"statusCode": status.as_u16(), "error": error, "message": message}),
    )
}

pub(crate) fn not_found() -> Response {
    tenable_error(StatusCode::NOT_FOUND, "Not Found", "Not Found")
}

pub(crate) fn bad_request(message: &str) -> Response {
    tenable_error(StatusCode::BAD_REQUEST, "Bad Request", message)
}

/// The nginx page Tenable returns with 429.
pub(crate) const NGINX_429: &str = "<html>\n\n<head>\n    <title>429 Too Many Requests</title>\n</head>\n\n<body bgcolor=\"white\">\n    <center>\n        <h1>429 Too Many Requests</h1>\n    </center>\n    <hr>\n    <center>nginx</center>\n</body>\n\n</html>";

pub(crate) fn too_many_requests(retry_after_secs: u64) -> Response {
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Body::from(NGINX_429)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// The Apache error page an SC server answers a 5xx with.
pub(crate) fn apache_error(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = code.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n<p>The server encountered a temporary error.</p>\n</body></html>\n"
    );
    let mut r = (code, Body::from(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    r
}

pub(crate) fn server_error(status: u16) -> Response {
    let (code, error, message) = match status {
        502 => (StatusCode::BAD_GATEWAY, "Bad Gateway", "Bad Gateway"),
        503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            "Please wait a moment and try your request again.",
        ),
        504 => (
            StatusCode::GATEWAY_TIMEOUT,
            "Gateway Timeout",
            "Gateway Timeout",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "An internal server error occurred. Please wait a moment and try your request again.",
        ),
    };
    tenable_error(code, error, message)
}
