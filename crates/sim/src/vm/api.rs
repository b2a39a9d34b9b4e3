//! VM HTTP routes (served at the root: `/vulns/export`, `/assets/export`, …).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

use super::export::{Export, JobSpec, Kind, Progress, parse_assets, parse_body, parse_vulns};
use super::render::{ChunkKind, ChunkRender};
use super::{VmRole, VmState};
use crate::server::{
    Counters, Shared, bad_request, json_response, not_found, tenable_error, too_many_requests,
};
use crate::util::{label, mix, now_ms, uuid_from};

type St = State<Arc<Shared>>;

/// Target size of one streamed body piece.
const PIECE: usize = 64 * 1024;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/server/properties", get(server_properties))
        .route("/server/status", get(server_status))
        .route("/session", get(session))
        .route("/vulns/export", post(vulns_export))
        .route("/vulns/export/status", get(vulns_list))
        .route("/vulns/export/{uuid}/status", get(vulns_status))
        .route("/vulns/export/{uuid}/chunks/{chunk}", get(vulns_chunk))
        .route("/vulns/export/{uuid}/cancel", post(vulns_cancel))
        .route("/assets/export", post(assets_export))
        .route("/assets/export/status", get(assets_list))
        .route("/assets/export/{uuid}/status", get(assets_status))
        .route("/assets/export/{uuid}/chunks/{chunk}", get(assets_chunk))
        .route("/assets/export/{uuid}/cancel", post(assets_cancel))
}

// ---------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------

fn unauthorized(message: &str) -> Response {
    tenable_error(StatusCode::UNAUTHORIZED, "Unauthorized", message)
}

fn forbidden() -> Response {
    tenable_error(StatusCode::FORBIDDEN, "Forbidden", "Insufficient scope")
}

/// Parses `X-ApiKeys: accessKey=<a>; secretKey=<s>;` leniently and checks the pair.
/// A rejection answer (boxed: responses are large).
type Reject = Box<Response>;

fn authenticate(sh: &Shared, headers: &HeaderMap) -> Result<VmRole, Reject> {
    let Some(raw) = headers.get("x-apikeys") else {
        return Err(Box::new(unauthorized("Missing authentication")));
    };
    let Ok(value) = raw.to_str() else {
        return Err(Box::new(unauthorized("Invalid credentials.")));
    };
    if value.trim().is_empty() {
        return Err(Box::new(unauthorized("Missing authentication")));
    }
    let mut access = None;
    let mut secret = None;
    for part in value.split(';') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "accessKey" => access = Some(v.trim()),
            "secretKey" => secret = Some(v.trim()),
            _ => {}
        }
    }
    let (Some(a), Some(s)) = (access, secret) else {
        return Err(Box::new(unauthorized("Invalid credentials.")));
    };
    let st = sh.vm.lock();
    match st.keys.get(a) {
        Some((sec, role)) if sec == s => Ok(*role),
        _ => Err(Box::new(unauthorized("Invalid credentials."))),
    }
}

fn require_export(sh: &Shared, headers: &HeaderMap) -> Result<(), Reject> {
    match authenticate(sh, headers)? {
        VmRole::NoExport => Err(Box::new(forbidden())),
        VmRole::Admin | VmRole::Basic => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Server / session
// ---------------------------------------------------------------------------------------

async fn server_status() -> Response {
    json_response(StatusCode::OK, &json!({"code": 200, "status": "ready"}))
}

async fn server_properties(State(sh): St, headers: HeaderMap) -> Response {
    if let Err(r) = authenticate(&sh, &headers) {
        return *r;
    }
    let assets = sh.vm.lock().data.asset_len();
    json_response(
        StatusCode::OK,
        &json!({
            "server_version": "6.0.0",
            "server_build": "tenax-sim",
            "server_uuid": uuid_from(mix(&[sh.seed, label("server")])).to_string(),
            "region": "us-east-1",
            "type": "cloud",
            "enterprise": true,
            "idle_timeout": 3600,
            "feed": "ProFeed",
            "analytics": {"enabled": false, "key": "", "site_id": ""},
            "capabilities": {"multi_scanner": true, "multi_user": "full", "report_email_config": false, "two_factor": {"smtp": false, "twilio": true}},
            "license": {
                "agents": 10000,
                "ips": assets.max(1000) * 2,
                "scanners": 100,
                "users": 250,
                "evaluation": false,
                "expiration_date": 1_893_456_000,
                "apps": {"consec": {"mode": "standard", "expiration_date": 1_893_456_000}, "vm": {"mode": "standard", "expiration_date": 1_893_456_000}},
            },
            "evaluation": {"limitEnabled": false, "scans": 0, "targets": 0},
        }),
    )
}

async fn session(State(sh): St, headers: HeaderMap) -> Response {
    let role = match authenticate(&sh, &headers) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let (permissions, name) = match role {
        VmRole::Admin => (64, "admin@example.com"),
        VmRole::Basic => (16, "basic@example.com"),
        VmRole::NoExport => (16, "restricted@example.com"),
    };
    let uuid = uuid_from(mix(&[sh.seed, label(name)])).to_string();
    json_response(
        StatusCode::OK,
        &json!({
            "id": permissions,
            "uuid": uuid,
            "uuid_id": uuid,
            "username": name,
            "user_name": name,
            "email": name,
            "name": name,
            "type": "local",
            "permissions": permissions,
            "enabled": true,
            "login_fail_count": 0,
            "login_fail_total": 0,
            "container_id": 1215,
            "container_uuid": uuid_from(mix(&[sh.seed, label("container")])).to_string(),
            "container_name": "tenax simulator",
            "features": {"asset_management": true, "tagging": true, "vulnerability_management_gen2": true},
            "apps": {"consec": "standard", "vm": "standard"},
            "group_uuids": [],
            "groups": [],
        }),
    )
}

// ---------------------------------------------------------------------------------------
// Export creation
// ---------------------------------------------------------------------------------------

fn conflict(uuid: &str) -> Response {
    json_response(
        StatusCode::CONFLICT,
        &json!({
            "active_job_id": uuid,
            "failure_reason": "The request could not be completed due to a conflict with the ongoing export",
        }),
    )
}

fn created(uuid: &str) -> Response {
    json_response(StatusCode::OK, &json!({ "export_uuid": uuid }))
}

/// Registers a new job built by `build` and returns its id.
fn register(
    sh: &Shared,
    st: &mut VmState,
    kind: Kind,
    now_ms: i64,
    build: impl FnOnce(JobSpec, Arc<super::data::VmData>) -> Export,
) -> String {
    st.export_counter += 1;
    let counter = st.export_counter;
    let uuid = uuid_from(mix(&[sh.seed, label("export"), counter])).to_string();
    let vulns = kind == Kind::Vulns;
    let spec = JobSpec {
        uuid: uuid.clone(),
        counter,
        seed: sh.seed,
        now_ms,
        interval: sh.vm.opts.chunk_interval,
        export_error: vulns && sh.faults.export_error,
        failed: if vulns {
            sh.faults.failed_chunks.clone()
        } else {
            Default::default()
        },
    };
    let e = build(spec, Arc::clone(&st.data));
    if vulns && st.first_vulns_export.is_none() {
        st.first_vulns_export = Some(uuid.clone());
    }
    st.index.insert(uuid.clone(), st.exports.len());
    st.exports.push(e);
    Counters::bump(&sh.counters.exports_created);
    tracing::debug!(export = %uuid, ?kind, "Export created.");
    uuid
}

/// 409 for a running identical job, 429 when too many jobs run; `None` = go ahead.
fn admission(sh: &Shared, st: &VmState, kind: Kind, key: &str, now: Instant) -> Option<Response> {
    let running: Vec<&Export> = st
        .exports
        .iter()
        .filter(|e| e.kind == kind && e.progress(now).running())
        .collect();
    if let Some(e) = running.iter().rev().find(|e| e.key == key) {
        Counters::bump(&sh.counters.conflicts);
        return Some(conflict(&e.uuid));
    }
    if running.len() >= sh.vm.opts.max_concurrent_exports {
        Counters::bump(&sh.counters.rate_limited);
        let wait = running
            .iter()
            .map(|e| e.remaining(now))
            .min()
            .unwrap_or_default();
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Some(too_many_requests(secs.max(1)));
    }
    None
}

async fn vulns_export(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_export(&sh, &headers) {
        return *r;
    }
    let now_ms = now_ms();
    let req = match parse_body(&body).and_then(|b| parse_vulns(&b, now_ms)) {
        Ok(r) => r,
        Err(m) => return bad_request(&m),
    };
    let now = Instant::now();
    let mut st = sh.vm.lock();
    if sh.faults.conflict_first && !st.conflict_first_done {
        // As if another client had started the identical export just before.
        st.conflict_first_done = true;
        let uuid = register(&sh, &mut st, Kind::Vulns, now_ms, |spec, data| {
            Export::vulns(spec, data, &req)
        });
        Counters::bump(&sh.counters.conflicts);
        return conflict(&uuid);
    }
    if let Some(r) = admission(&sh, &st, Kind::Vulns, &req.key, now) {
        return r;
    }
    let uuid = register(&sh, &mut st, Kind::Vulns, now_ms, |spec, data| {
        Export::vulns(spec, data, &req)
    });
    created(&uuid)
}

async fn assets_export(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_export(&sh, &headers) {
        return *r;
    }
    let now_ms = now_ms();
    let req = match parse_body(&body).and_then(|b| parse_assets(&b)) {
        Ok(r) => r,
        Err(m) => return bad_request(&m),
    };
    let now = Instant::now();
    let mut st = sh.vm.lock();
    if let Some(r) = admission(&sh, &st, Kind::Assets, &req.key, now) {
        return r;
    }
    let uuid = register(&sh, &mut st, Kind::Assets, now_ms, |spec, data| {
        Export::assets(spec, data, &req)
    });
    created(&uuid)
}

// ---------------------------------------------------------------------------------------
// Status and lists
// ---------------------------------------------------------------------------------------

fn status_json(e: &Export, p: &Progress) -> Value {
    let mut v = json!({
        "uuid": e.uuid,
        "status": p.status,
        "chunks_available": p.available,
        "chunks_failed": p.failed,
        "chunks_cancelled": p.cancelled,
        "total_chunks": e.total(),
        "chunks_available_count": p.available.len(),
        "empty_chunks_count": 0,
        "finished_chunks": p.available.len() + p.failed.len(),
        "filters": e.filters,
        "num_assets_per_chunk": e.per_chunk,
        "created": e.created_ms,
    });
    if let (Some(r), Value::Object(m)) = (&p.reason, &mut v) {
        m.insert("reason".into(), Value::from(r.as_str()));
    }
    v
}

fn list_entry(e: &Export, p: &Progress) -> Value {
    let filters = match e.kind {
        // The real asset job list carries the filters as a JSON string.
        Kind::Assets => Value::from(e.filters.to_string()),
        Kind::Vulns => e.filters.clone(),
    };
    let mut v = json!({
        "uuid": e.uuid,
        "status": p.status,
        "total_chunks": e.total(),
        "chunks_available_count": p.available.len(),
        "empty_chunks_count": 0,
        "finished_chunks": p.available.len() + p.failed.len(),
        "filters": filters,
        "num_assets_per_chunk": e.per_chunk,
        "created": e.created_ms,
    });
    if let (Some(r), Value::Object(m)) = (&p.reason, &mut v) {
        m.insert("reason".into(), Value::from(r.as_str()));
    }
    v
}

fn status(sh: &Shared, headers: &HeaderMap, uuid: &str, kind: Kind) -> Response {
    if let Err(r) = require_export(sh, headers) {
        return *r;
    }
    let st = sh.vm.lock();
    match st
        .index
        .get(uuid)
        .map(|&i| &st.exports[i])
        .filter(|e| e.kind == kind)
    {
        Some(e) => json_response(StatusCode::OK, &status_json(e, &e.progress(Instant::now()))),
        None => not_found(),
    }
}

fn list(sh: &Shared, headers: &HeaderMap, kind: Kind) -> Response {
    if let Err(r) = require_export(sh, headers) {
        return *r;
    }
    let now = Instant::now();
    let st = sh.vm.lock();
    let exports: Vec<Value> = st
        .exports
        .iter()
        .rev()
        .filter(|e| e.kind == kind)
        .take(1000)
        .map(|e| list_entry(e, &e.progress(now)))
        .collect();
    json_response(StatusCode::OK, &json!({ "exports": exports }))
}

async fn vulns_status(State(sh): St, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    status(&sh, &headers, &uuid, Kind::Vulns)
}

async fn assets_status(State(sh): St, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    status(&sh, &headers, &uuid, Kind::Assets)
}

async fn vulns_list(State(sh): St, headers: HeaderMap) -> Response {
    list(&sh, &headers, Kind::Vulns)
}

async fn assets_list(State(sh): St, headers: HeaderMap) -> Response {
    list(&sh, &headers, Kind::Assets)
}

// ---------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------

fn cancel(sh: &Shared, headers: &HeaderMap, uuid: &str, kind: Kind) -> Response {
    if let Err(r) = require_export(sh, headers) {
        return *r;
    }
    let now = Instant::now();
    let mut st = sh.vm.lock();
    let Some(&i) = st.index.get(uuid) else {
        return not_found();
    };
    let e = &mut st.exports[i];
    if e.kind != kind {
        return not_found();
    }
    if e.cancel(now) {
        Counters::bump(&sh.counters.cancelled);
    }
    let p = e.progress(now);
    json_response(StatusCode::OK, &json!({ "status": p.status }))
}

async fn vulns_cancel(State(sh): St, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    cancel(&sh, &headers, &uuid, Kind::Vulns)
}

async fn assets_cancel(State(sh): St, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    cancel(&sh, &headers, &uuid, Kind::Assets)
}

// ---------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------

enum ChunkFault {
    None,
    Reset,
    Truncate,
}

fn chunk(sh: &Shared, headers: &HeaderMap, uuid: &str, chunk: &str, kind: Kind) -> Response {
    if let Err(r) = require_export(sh, headers) {
        return *r;
    }
    let Ok(id) = chunk.parse::<u32>() else {
        return not_found();
    };
    let now = Instant::now();
    let (render, fault) = {
        let mut st = sh.vm.lock();
        let Some(&i) = st.index.get(uuid) else {
            return not_found();
        };
        let e = &st.exports[i];
        if e.kind != kind || id == 0 || id as usize > e.total() {
            return not_found();
        }
        sh.counters.count_download(uuid, id);
        if !e.chunk_ready(id, now) {
            return not_found();
        }
        let chunk_kind = match kind {
            Kind::Vulns => ChunkKind::Vulns,
            Kind::Assets => ChunkKind::Assets {
                open_ports: e.open_ports,
            },
        };
        let render = ChunkRender::new(
            Arc::clone(&e.data),
            Arc::clone(&e.items),
            e.chunks[(id - 1) as usize],
            chunk_kind,
        );
        let faults = &sh.faults;
        if kind == Kind::Vulns
            && faults.expire_chunks.contains(&id)
            && st.first_vulns_export.as_deref() == Some(uuid)
            && st.expire_done.insert(id)
        {
            return not_found();
        }
        let key = (uuid.to_string(), id);
        let fault = if faults.reset_chunks.contains(&id) && st.reset_done.insert(key.clone()) {
            ChunkFault::Reset
        } else if faults.truncate_chunks.contains(&id) && st.truncate_done.insert(key) {
            ChunkFault::Truncate
        } else {
            ChunkFault::None
        };
        (render, fault)
    };
    let body = match fault {
        ChunkFault::None => streamed(render),
        ChunkFault::Truncate => {
            let mut render = render;
            let full = render.render_all();
            Body::from(full[..full.len() / 2].to_vec())
        }
        ChunkFault::Reset => {
            Counters::bump(&sh.counters.resets);
            let mut render = render;
            aborted(render.render_all())
        }
    };
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

/// Streams the chunk asset by asset (pieces of about [`PIECE`] bytes).
fn streamed(render: ChunkRender) -> Body {
    let s = futures_util::stream::unfold(render, |mut r| async move {
        r.next_piece(PIECE)
            .map(|p| (Ok::<Bytes, std::io::Error>(Bytes::from(p)), r))
    });
    Body::from_stream(s)
}

/// Sends the first half of the body, pauses so it is flushed, then fails the stream,
/// which makes the server abort the connection mid-body.
fn aborted(full: Vec<u8>) -> Body {
    enum Step {
        Send(Bytes),
        Fail,
        Done,
    }
    let mut full = Bytes::from(full);
    let cut = (full.len() / 2).max(1).min(full.len());
    let head = full.split_to(cut);
    let s = futures_util::stream::unfold(Step::Send(head), |step| async move {
        match step {
            Step::Send(b) => Some((Ok(b), Step::Fail)),
            Step::Fail => {
                #[allow(clippy::disallowed_methods)]
                tokio::time::sleep(Duration::from_millis(50)).await;
                let e = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection reset",
                );
                Some((Err(e), Step::Done))
            }
            Step::Done => None,
        }
    });
    Body::from_stream(s)
}

async fn vulns_chunk(
    State(sh): St,
    headers: HeaderMap,
    Path((uuid, id)): Path<(String, String)>,
) -> Response {
    chunk(&sh, &headers, &uuid, &id, Kind::Vulns)
}

async fn assets_chunk(
    State(sh): St,
    headers: HeaderMap,
    Path((uuid, id)): Path<(String, String)>,
) -> Response {
    chunk(&sh, &headers, &uuid, &id, Kind::Assets)
}
