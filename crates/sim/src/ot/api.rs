//! OT HTTP routes on the HTTPS listener: `POST /graphql`, `POST /v1/robots`,
//! `GET /v1/assets/{id}/plugin_hits`, `GET /v1/version`; API-key and robot (client
//! certificate) authentication; the `ot-` faults; Express/Apollo-style headers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{Value, json};

use super::data::OtData;
use super::graphql::{self, ExecOptions};
use super::tls::{PeerCerts, sha256_hex};
use super::{OtRobot, OtService};
use crate::util::{hex_from, label, mix};

type St = State<Arc<OtService>>;

/// Largest accepted request body.
const MAX_BODY: usize = 4 << 20;

pub(crate) fn router(svc: Arc<OtService>) -> Router {
    Router::new()
        .route("/graphql", post(graphql_handler))
        .route("/v1/robots", post(register_robot))
        .route("/v1/assets/{id}/plugin_hits", get(plugin_hits))
        .route("/v1/version", get(version))
        .fallback(|req: Request| async move {
            error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!("Cannot {} {}", req.method(), req.uri().path()),
            )
        })
        .method_not_allowed_fallback(|req: Request| async move {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                &format!("Cannot {} {}", req.method(), req.uri().path()),
            )
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&svc), gate))
        .with_state(svc)
}

/// A JSON answer with the appliance's headers (Express-style weak ETag).
pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = v.to_string();
    let etag = format!(
        "W/\"{:x}-{}\"",
        body.len(),
        hex_from(mix(&[label(&body)]), 27)
    );
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// The error shape of every non-GraphQL failure (auth, robots, REST):
/// `{"errors":[{"message", "extensions":{"code"}}]}` (Apollo's error shape; the real
/// appliance's is UNCONFIRMED).
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{"message": message, "extensions": {"code": code}}]}),
    )
}

fn unauthenticated(message: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
}

/// Counts requests, injects `ot-429` / `ot-5xx`, adds the appliance's headers.
async fn gate(State(svc): St, req: Request, next: Next) -> Response {
    let n = svc.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let mut resp = if let Some(rl) = svc.faults.rate_limit.filter(|rl| n % rl.every == 0) {
        svc.rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(rl.after_secs));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    } else if let Some(status) = draw_5xx(&svc) {
        svc.server_errors.fetch_add(1, Ordering::Relaxed);
        nginx_error(status)
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains; preload"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-powered-by", HeaderValue::from_static("Express"));
    resp
}

fn draw_5xx(svc: &OtService) -> Option<u16> {
    let p = svc.faults.server_error_p?;
    let mut rng = svc
        .fault_rng
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if rng.random::<f64>() < p {
        Some([500, 502, 503, 504][rng.random_range(0..4)])
    } else {
        None
    }
}

/// The nginx page in front of the appliance.
fn nginx_error(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let text = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{text}</title></head>\r\n<body>\r\n<center><h1>{text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = (code, Body::from(body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

fn peer_certs(req: &Request) -> PeerCerts {
    req.extensions()
        .get::<ConnectInfo<PeerCerts>>()
        .map(|c| c.0.clone())
        .unwrap_or_default()
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    ApiKey,
    Robot(String),
}

/// `key=<k>` from an `X-APIKeys` value (`;`-separated parts, key name case-insensitive).
fn api_key_of(v: &str) -> Option<&str> {
    v.split(';').find_map(|part| {
        let (k, val) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case("key").then(|| val.trim())
    })
}

/// API key (`X-APIKeys: key=<k>`, decisive when present) or a registered robot
/// certificate (with an optional matching `X-Robot-Name`).
fn authenticate(
    svc: &OtService,
    headers: &HeaderMap,
    peer: &PeerCerts,
) -> Result<Caller, Box<Response>> {
    if let Some(v) = headers.get("x-apikeys") {
        let given = v.to_str().ok().and_then(api_key_of);
        return match given {
            Some(k) if !k.is_empty() && k == svc.opts.api_key => Ok(Caller::ApiKey),
            Some(_) => Err(Box::new(unauthenticated("invalid API key"))),
            None => Err(Box::new(unauthenticated(
                "malformed X-APIKeys header: expected `key=<api key>`",
            ))),
        };
    }
    let Some(cert) = peer.certs.first() else {
        return Err(Box::new(unauthenticated(
            "missing credentials: send `X-APIKeys: key=<api key>` or present a registered robot client certificate",
        )));
    };
    let fp = sha256_hex(cert.as_ref());
    let st = svc.lock();
    let Some(robot) = st.robots.iter().find(|r| r.sha256 == fp) else {
        return Err(Box::new(unauthenticated("unknown robot certificate")));
    };
    if let Some(name) = headers.get("x-robot-name") {
        let name = name.to_str().unwrap_or_default().trim();
        if name != robot.name {
            return Err(Box::new(unauthenticated(&format!(
                "robot name mismatch: X-Robot-Name is \"{name}\" but this certificate is registered to robot \"{}\"",
                robot.name
            ))));
        }
    }
    Ok(Caller::Robot(robot.name.clone()))
}

async fn graphql_handler(State(svc): St, req: Request) -> Response {
    let peer = peer_certs(&req);
    if let Err(r) = authenticate(&svc, req.headers(), &peer) {
        return *r;
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_REQUEST",
                "request entity too large",
            );
        }
    };
    let (data, page) = {
        let mut st = svc.lock();
        st.graphql_pages += 1;
        (svc.data_locked(&mut st), st.graphql_pages)
    };
    let page = u32::try_from(page).unwrap_or(u32::MAX);
    let opts = ExecOptions {
        findings: svc.opts.findings_query,
        fail_first_root: svc.faults.error_pages.contains(&page),
        fail_first_os_details: svc.faults.node_error_pages.contains(&page),
    };
    let (status, v) = graphql::handle(&data, &body, &opts);
    json_response(status, &v)
}

async fn version(State(svc): St, req: Request) -> Response {
    let peer = peer_certs(&req);
    if let Err(r) = authenticate(&svc, req.headers(), &peer) {
        return *r;
    }
    json_response(
        StatusCode::OK,
        &json!({"Module": "Cobex", "Version": svc.opts.version, "NvdVersion": "1.12.0"}),
    )
}

/// The asset id a finding belongs to (an id, or an object with `id` in recorded data).
fn finding_asset(f: &Value) -> Option<&str> {
    match &f["asset"] {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// `GET /v1/assets/{id}/plugin_hits`: one element per finding of the asset.
async fn plugin_hits(State(svc): St, Path(id): Path<String>, req: Request) -> Response {
    let peer = peer_certs(&req);
    if let Err(r) = authenticate(&svc, req.headers(), &peer) {
        return *r;
    }
    let data = svc.data();
    if data.asset(&id).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("asset {id} not found"),
        );
    }
    json_response(StatusCode::OK, &Value::Array(hits_of(&data, &id)))
}

/// The plugin hits of one asset, by plugin id then port.
pub(crate) fn hits_of(data: &OtData, id: &str) -> Vec<Value> {
    let mut fs: Vec<&Value> = data
        .findings
        .iter()
        .filter(|f| finding_asset(f) == Some(id))
        .collect();
    fs.sort_by_key(|f| (f["plugin"].as_i64(), f["port"].as_i64()));
    fs.iter()
        .map(|f| {
            let pid = match &f["plugin"] {
                Value::Object(o) => o.get("id").cloned().unwrap_or(Value::Null),
                v => v.clone(),
            };
            let severity = pid
                .as_i64()
                .and_then(|p| data.plugin(p))
                .map(|p| p["severity"].clone())
                .unwrap_or(Value::Null);
            json!({
                "id": f["id"],
                "assetId": id,
                "pluginId": pid,
                "port": f["port"],
                "protocol": f["protocol"],
                "svcName": f["svcName"],
                "time": f["lastHit"],
                "firstHit": f["firstHit"],
                "lastHit": f["lastHit"],
                "mitigatedAt": f["fixedAt"],
                "status": f["status"],
                "severity": severity,
                "output": f["output"],
            })
        })
        .collect()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

/// `POST /v1/robots` (Indegy era): `Authorization: Bearer <support token>`, body
/// `{"name", "role": "AdminRole"|"ReaderRole", "cert": "<PEM>"}` → 201 `{id, name, role}`.
async fn register_robot(State(svc): St, req: Request) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_string())
        });
    if token.as_deref() != Some(svc.opts.support_token.as_str()) || token.as_deref() == Some("") {
        return unauthenticated("invalid or missing support token (Authorization: Bearer <token>)");
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return bad_request("request body too large"),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("body must be a JSON object {\"name\", \"role\", \"cert\"}"),
    };
    let name = v["name"].as_str().unwrap_or_default().trim().to_string();
    if name.is_empty() || name.len() > 128 {
        return bad_request("`name` must be a non-empty string of at most 128 characters");
    }
    let role = v["role"].as_str().unwrap_or_default();
    if role != "AdminRole" && role != "ReaderRole" {
        return bad_request("`role` must be \"AdminRole\" or \"ReaderRole\"");
    }
    let Some(pem) = v["cert"].as_str() else {
        return bad_request("`cert` must be a PEM certificate string");
    };
    let (der, not_after) = match parse_pem_cert(pem) {
        Ok(x) => x,
        Err(e) => return bad_request(&e),
    };
    let sha256 = sha256_hex(&der);
    let mut st = svc.lock();
    if st.robots.iter().any(|r| r.name == name) {
        return error(
            StatusCode::CONFLICT,
            "CONFLICT",
            &format!("a robot named \"{name}\" already exists"),
        );
    }
    if let Some(r) = st.robots.iter().find(|r| r.sha256 == sha256) {
        return error(
            StatusCode::CONFLICT,
            "CONFLICT",
            &format!(
                "this certificate is already registered to robot \"{}\"",
                r.name
            ),
        );
    }
    let id = crate::util::uuid_from(mix(&[svc.seed, label("ot-robot"), st.robots.len() as u64]))
        .to_string();
    st.robots.push(OtRobot {
        id: id.clone(),
        name: name.clone(),
        role: role.to_string(),
        sha256,
        not_after,
    });
    drop(st);
    json_response(
        StatusCode::CREATED,
        &json!({"id": id, "name": name, "role": role}),
    )
}

/// The DER and notAfter of the first certificate of a PEM string (literal `\n` escapes
/// are accepted too). Expired or not-yet-valid certificates are refused.
fn parse_pem_cert(pem: &str) -> Result<(Vec<u8>, chrono::DateTime<chrono::Utc>), String> {
    let text = if !pem.contains('\n') && pem.contains("\\n") {
        pem.replace("\\n", "\n")
    } else {
        pem.to_string()
    };
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .ok_or("`cert` is not a PEM certificate (no BEGIN CERTIFICATE line)")?;
    let (_, p) = x509_parser::pem::parse_x509_pem(&text.as_bytes()[start..])
        .map_err(|_| "`cert` is not a valid PEM certificate".to_string())?;
    let cert = p
        .parse_x509()
        .map_err(|_| "`cert` does not hold a valid X.509 certificate".to_string())?;
    let v = cert.validity();
    let now = chrono::Utc::now().timestamp();
    if now > v.not_after.timestamp() {
        return Err(format!("`cert` expired on {}", v.not_after));
    }
    if now < v.not_before.timestamp() {
        return Err(format!("`cert` is not valid before {}", v.not_before));
    }
    let not_after = chrono::DateTime::from_timestamp(v.not_after.timestamp(), 0)
        .ok_or_else(|| "`cert` has an out-of-range notAfter".to_string())?;
    Ok((p.contents.clone(), not_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_header_values() {
        assert_eq!(api_key_of("key=abc"), Some("abc"));
        assert_eq!(api_key_of(" KEY = abc ;"), Some("abc"));
        assert_eq!(api_key_of("accessKey=a; secretKey=b"), None);
        assert!(parse_pem_cert("nope").is_err());
        assert!(
            parse_pem_cert("-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----")
                .is_err()
        );
    }
}
