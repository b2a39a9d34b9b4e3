//! The dashboard: `/` plus its static files, embedded in the binary (no Node toolchain, nothing
//! loaded from elsewhere). The page reads everything through `/api/v1` (docs/API.md); these
//! routes only serve files.
//!
//! Every response carries a strict Content-Security-Policy (`default-src 'self'`: no inline
//! script or style, no other origin), `nosniff` and no framing. Files are revalidated on every
//! load (`no-cache` with an `ETag` of their content), so a new binary's dashboard shows at once
//! and an unchanged one costs a 304.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The Content-Security-Policy of every dashboard response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    /// FNV-1a 64 of the body, computed at compile time: the ETag.
    hash: u64,
}

impl Asset {
    const fn new(body: &'static [u8], content_type: &'static str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut i = 0;
        while i < body.len() {
            hash ^= body[i] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        Self {
            body,
            content_type,
            hash,
        }
    }
}

const INDEX: Asset = Asset::new(
    include_bytes!("../assets/index.html"),
    "text/html; charset=utf-8",
);
const APP_JS: Asset = Asset::new(
    include_bytes!("../assets/app.js"),
    "text/javascript; charset=utf-8",
);
const STYLE_CSS: Asset = Asset::new(
    include_bytes!("../assets/style.css"),
    "text/css; charset=utf-8",
);
const FAVICON: Asset = Asset::new(include_bytes!("../assets/favicon.svg"), "image/svg+xml");

/// The dashboard's routes, merged into the server's router. They need no state and are public
/// (the page sends the API token itself).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|h: HeaderMap| async move { serve(&INDEX, &h) }))
        .route(
            "/index.html",
            get(|h: HeaderMap| async move { serve(&INDEX, &h) }),
        )
        .route(
            "/assets/app.js",
            get(|h: HeaderMap| async move { serve(&APP_JS, &h) }),
        )
        .route(
            "/assets/style.css",
            get(|h: HeaderMap| async move { serve(&STYLE_CSS, &h) }),
        )
        .route(
            "/assets/favicon.svg",
            get(|h: HeaderMap| async move { serve(&FAVICON, &h) }),
        )
        .route(
            "/favicon.ico",
            get(|h: HeaderMap| async move { serve(&FAVICON, &h) }),
        )
}

/// The file, or 304 when the client holds this very content.
fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
