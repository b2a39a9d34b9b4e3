//! SC HTTP routes under `/rest`, the `{type, response, error_code, …}` envelope and
//! authentication (API keys or session token + cookie).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::data::host_key;
use super::filter::{Filters, sorted_order};
use super::{CachedQuery, QueryRows, ScService};
use crate::server::Shared;
use crate::util::{hex_from, label, mix, now_ms};

type St = State<Arc<Shared>>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/rest/system", get(system))
        .route("/rest/currentUser", get(current_user))
        .route("/rest/token", post(login).delete(logout))
        .route("/rest/analysis", post(analysis))
        .route("/rest/hosts", get(super::hosts::list))
        .route("/rest/hosts/search", post(super::hosts::search))
        .route("/rest/asset", get(super::assets::list))
        .route("/rest/asset/{id}", get(super::assets::one))
}

// ---------------------------------------------------------------------------------------
// Envelope and errors
// ---------------------------------------------------------------------------------------

/// Error codes of the simulator (12, 146 and 161 are real SC codes; 73–76 are chosen here,
/// real SC's values for these cases are not documented).
pub(crate) mod code {
    /// Both a session token and API keys were sent (HTTP 400).
    pub const BOTH_AUTH: i64 = 73;
    /// API keys do not match any user (HTTP 403).
    pub const BAD_KEYS: i64 = 74;
    /// API keys sent while *Allow API Keys* is off (HTTP 403).
    pub const KEYS_DISABLED: i64 = 75;
    /// API keys sent to a version older than 5.13 (HTTP 403).
    pub const KEYS_UNSUPPORTED: i64 = 76;
    /// Missing, unknown or logged-out session token, or cookie mismatch (HTTP 403).
    pub const INVALID_TOKEN: i64 = 12;
    /// Invalid analysis parameters (unknown filter, bad value, tool…) (HTTP 403).
    pub const INVALID_PARAMS: i64 = 146;
    /// Wrong user name or password on `POST /rest/token` (HTTP 403).
    pub const BAD_LOGIN: i64 = 161;
}

fn now_s() -> i64 {
    now_ms().div_euclid(1000)
}

/// The SC envelope.
pub(crate) fn envelope(status: StatusCode, response: Value, code: i64, msg: &str) -> Response {
    let body = json!({
        "type": "regular",
        "response": response,
        "error_code": code,
        "error_msg": msg,
        "warnings": [],
        "timestamp": now_s(),
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn ok(response: Value) -> Response {
    envelope(StatusCode::OK, response, 0, "")
}

pub(crate) fn error(status: StatusCode, code: i64, msg: &str) -> Response {
    envelope(status, Value::String(String::new()), code, msg)
}

fn invalid_token() -> Response {
    error(
        StatusCode::FORBIDDEN,
        code::INVALID_TOKEN,
        "This request contains an invalid token.",
    )
}

fn invalid_params(msg: &str) -> Response {
    error(StatusCode::FORBIDDEN, code::INVALID_PARAMS, msg)
}

// ---------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    Anonymous,
    Keys,
    Session(u64),
}

pub(crate) type Reject = Box<Response>;

/// Parses `x-apikey: accesskey=<a>; secretkey=<s>;` (key names case-insensitive, trailing
/// `;` optional).
fn parse_keys(v: &str) -> (Option<&str>, Option<&str>) {
    let (mut a, mut s) = (None, None);
    for part in v.split(';') {
        if let Some((k, val)) = part.trim().split_once('=') {
            match k.trim().to_ascii_lowercase().as_str() {
                "accesskey" => a = Some(val.trim()),
                "secretkey" => s = Some(val.trim()),
                _ => {}
            }
        }
    }
    (a, s)
}

fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| k.trim() == "TNS_SESSIONID")
        .map(|(_, v)| v.trim().to_string())
}

fn authenticate(sc: &ScService, headers: &HeaderMap) -> Result<Who, Reject> {
    let keys = headers.get("x-apikey").map(|v| v.to_str().unwrap_or(""));
    let token = headers
        .get("x-securitycenter")
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    if let Some(keys) = keys {
        if token.is_some() {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                code::BOTH_AUTH,
                "Both a session token and API keys were provided. Use only one authentication method.",
            )));
        }
        if sc.version < (5, 13, 0) {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                code::KEYS_UNSUPPORTED,
                &format!(
                    "API key authentication is not supported by this version of Tenable Security Center ({}); it requires 5.13.0 or later.",
                    sc.opts.version
                ),
            )));
        }
        if !sc.opts.api_keys_enabled {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                code::KEYS_DISABLED,
                "API key authentication is disabled. An administrator must enable 'Allow API Keys' (System > Configuration > Security).",
            )));
        }
        let (a, s) = parse_keys(keys);
        if a == Some(sc.opts.access_key.as_str()) && s == Some(sc.opts.secret_key.as_str()) {
            return Ok(Who::Keys);
        }
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            code::BAD_KEYS,
            "Invalid API key: the access key or secret key is not valid.",
        )));
    }
    if let Some(token) = token {
        let Ok(t) = token.parse::<u64>() else {
            return Err(Box::new(invalid_token()));
        };
        let cookie = cookie_session(headers);
        let mut st = sc.lock();
        if !matches!(st.sessions.get(&t), Some(c) if Some(c) == cookie.as_ref()) {
            return Err(Box::new(invalid_token()));
        }
        let uses = st.session_uses.entry(t).or_insert(0);
        *uses += 1;
        if sc.session_requests.is_some_and(|n| *uses > n) {
            st.sessions.remove(&t);
            st.session_uses.remove(&t);
            st.expired_sessions += 1;
            return Err(Box::new(invalid_token()));
        }
        return Ok(Who::Session(t));
    }
    Ok(Who::Anonymous)
}

/// Authenticates and requires a user.
pub(crate) fn require(sc: &ScService, headers: &HeaderMap) -> Result<Who, Reject> {
    match authenticate(sc, headers)? {
        Who::Anonymous => Err(Box::new(invalid_token())),
        w => Ok(w),
    }
}

// ---------------------------------------------------------------------------------------
// System, user, token
// ---------------------------------------------------------------------------------------

async fn system(State(sh): St, headers: HeaderMap) -> Response {
    let sc = &sh.sc;
    let who = match authenticate(sc, &headers) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let build = format!(
        "2026{:08}",
        mix(&[sh.seed, label("sc-build")]) % 100_000_000
    );
    let mut m = Map::new();
    m.insert(
        "reportTypes".into(),
        json!([
            {"name": "PDF", "type": "pdf", "enabled": "true", "attributeSets": []},
            {"name": "CSV", "type": "csv", "enabled": "true", "attributeSets": []},
        ]),
    );
    if who != Who::Anonymous || sc.version < (5, 20, 0) {
        m.insert("version".into(), sc.opts.version.clone().into());
    }
    m.insert("buildID".into(), build.clone().into());
    m.insert("banner".into(), "".into());
    m.insert("releaseID".into(), build.into());
    m.insert(
        "uuid".into(),
        crate::util::uuid_from(mix(&[sh.seed, label("sc-uuid")]))
            .to_string()
            .into(),
    );
    m.insert("logo".into(), "assets/mariana/images/sc4icon.png".into());
    m.insert("serverAuth".into(), "any".into());
    m.insert("serverClassification".into(), "None".into());
    m.insert("sessionTimeout".into(), "3600".into());
    m.insert("licenseStatus".into(), "Valid".into());
    m.insert("ACAS".into(), "false".into());
    m.insert("freshInstall".into(), "no".into());
    m.insert("headerText".into(), "".into());
    m.insert("loginNotifications".into(), "false".into());
    m.insert("PasswordComplexity".into(), "false".into());
    m.insert("telemetryEnabled".into(), "false".into());
    m.insert(
        "timezones".into(),
        json!([{"name": "UTC", "gmtOffset": "0"}]),
    );
    if let Who::Session(t) = who {
        m.insert("token".into(), t.to_string().into());
    }
    ok(Value::Object(m))
}

async fn current_user(State(sh): St, headers: HeaderMap) -> Response {
    if let Err(r) = require(&sh.sc, &headers) {
        return *r;
    }
    let o = &sh.sc.opts;
    ok(json!({
        "id": "1",
        "username": o.username,
        "firstname": "Tenax",
        "lastname": "Reader",
        "email": "",
        "status": "0",
        "locked": "0",
        "lastLogin": "-1",
        "authType": "tns",
        "role": {"id": "1", "name": "Administrator", "description": "Administrator"},
        "organization": {"id": "1", "name": "Simulated Org", "description": ""},
    }))
}

async fn login(State(sh): St, body: Bytes) -> Response {
    let sc = &sh.sc;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let user = v["username"].as_str().unwrap_or_default();
    let pass = v["password"].as_str().unwrap_or_default();
    if user != sc.opts.username || pass != sc.opts.password {
        return envelope(
            StatusCode::FORBIDDEN,
            json!([]),
            code::BAD_LOGIN,
            "Invalid login credentials\n",
        );
    }
    let (token, cookie) = {
        let mut st = sc.lock();
        st.logins += 1;
        let h = mix(&[sh.seed, label("sc-token"), st.logins]);
        let token = h % 900_000_000 + 100_000_000;
        let cookie = hex_from(mix(&[h, 0xc00c]), 32);
        st.sessions.insert(token, cookie.clone());
        (token, cookie)
    };
    let now = now_s();
    let mut r = ok(json!({
        "lastLogin": (now - 86_400).to_string(),
        "lastLoginIP": "127.0.0.1",
        "failedLogins": "0",
        "failedLoginIP": "",
        "lastFailedLogin": "-1",
        "token": token,
        "unassociatedCert": "false",
    }));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "TNS_SESSIONID={cookie}; path=/; secure; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(sh): St, headers: HeaderMap) -> Response {
    match require(&sh.sc, &headers) {
        Err(r) => *r,
        Ok(Who::Session(t)) => {
            let mut st = sh.sc.lock();
            st.sessions.remove(&t);
            st.session_uses.remove(&t);
            st.logouts += 1;
            ok(Value::String(String::new()))
        }
        Ok(_) => ok(Value::String(String::new())),
    }
}

// ---------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------

fn offset(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// SC's default score weights per severity (info, low, medium, high, critical).
const SCORE: [u64; 5] = [0, 1, 3, 10, 40];

/// `sumip` rows of the (already filtered) `vulndetails` rows, one per host, ordered by
/// repository id, IP, agent uuid.
fn sumip_rows(rows: &[&Value], extra: &HashMap<String, Map<String, Value>>) -> Vec<Value> {
    let mut groups: BTreeMap<(u64, u32, String), (usize, [u64; 5])> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let repo = r["repository"]["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let ip = r["ip"]
            .as_str()
            .and_then(|s| s.parse::<std::net::Ipv4Addr>().ok())
            .map_or(0, u32::from);
        let uuid = r["uuid"].as_str().unwrap_or_default().to_string();
        let sev = r["severity"]["id"]
            .as_str()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0)
            .min(4);
        let e = groups.entry((repo, ip, uuid)).or_insert((i, [0; 5]));
        e.1[sev] += 1;
    }
    groups
        .into_values()
        .map(|(first, counts)| {
            let r = rows[first];
            let key = format!(
                "{}|{}",
                r["repository"]["id"].as_str().unwrap_or_default(),
                r["ip"].as_str().unwrap_or_default()
            );
            let ex = extra.get(&key);
            let exs = |k: &str| {
                ex.and_then(|m| m.get(k))
                    .cloned()
                    .unwrap_or_else(|| Value::String(String::new()))
            };
            let s = |k: &str| {
                r.get(k)
                    .cloned()
                    .unwrap_or_else(|| Value::String(String::new()))
            };
            let total: u64 = counts.iter().sum();
            let score: u64 = counts.iter().zip(SCORE).map(|(c, w)| c * w).sum();
            let mut m = Map::new();
            m.insert("ip".into(), s("ip"));
            m.insert("uuid".into(), s("uuid"));
            m.insert("score".into(), score.to_string().into());
            m.insert("total".into(), total.to_string().into());
            for (k, c) in [
                "severityInfo",
                "severityLow",
                "severityMedium",
                "severityHigh",
                "severityCritical",
            ]
            .iter()
            .zip(counts)
            {
                m.insert((*k).into(), c.to_string().into());
            }
            m.insert("macAddress".into(), s("macAddress"));
            m.insert("policyName".into(), exs("policyName"));
            m.insert("pluginSet".into(), exs("pluginSet"));
            m.insert("netbiosName".into(), s("netbiosName"));
            m.insert("dnsName".into(), s("dnsName"));
            m.insert("osCPE".into(), exs("osCPE"));
            m.insert("biosGUID".into(), exs("biosGUID"));
            m.insert("tpmID".into(), "".into());
            m.insert("mcafeeGUID".into(), "".into());
            m.insert("lastAuthRun".into(), exs("lastAuthRun"));
            m.insert("lastUnauthRun".into(), exs("lastUnauthRun"));
            m.insert(
                "uniqueness".into(),
                r.get("uniqueness")
                    .or_else(|| r.get("hostUniqueness"))
                    .cloned()
                    .unwrap_or_else(|| "repositoryID,ip,dnsName".into()),
            );
            m.insert("hostUUID".into(), s("hostUUID"));
            m.insert("repository".into(), r["repository"].clone());
            Value::Object(m)
        })
        .collect()
}

/// Filters and sorts one analysis query: the rows in answer order and the
/// `matchingDataElementCount`.
fn run_query(
    base: &[Value],
    file_sumip: Option<&[Value]>,
    host_extra: &HashMap<String, Map<String, Value>>,
    tool: &str,
    filters: &Filters,
    sort_field: Option<&str>,
    sort_dir: Option<&str>,
) -> (QueryRows, String) {
    let matching: Vec<u32> = (0..base.len() as u32)
        .filter(|&i| filters.matches(&base[i as usize]))
        .collect();
    if tool == "vulndetails" {
        let refs: Vec<&Value> = matching.iter().map(|&i| &base[i as usize]).collect();
        let order = sorted_order(&refs, sort_field, sort_dir);
        let rows = order.into_iter().map(|o| matching[o]).collect();
        return (QueryRows::Indices(rows), "-1".to_owned());
    }
    let vulns: Vec<&Value> = matching.iter().map(|&i| &base[i as usize]).collect();
    let hosts: std::collections::HashSet<String> = vulns.iter().map(|r| host_key(r)).collect();
    let mdec = format!("{}:{}", vulns.len(), hosts.len());
    match file_sumip {
        Some(f) => {
            let idx: Vec<u32> = (0..f.len() as u32)
                .filter(|&i| filters.matches(&f[i as usize]))
                .collect();
            let refs: Vec<&Value> = idx.iter().map(|&i| &f[i as usize]).collect();
            let order = sorted_order(&refs, sort_field, sort_dir);
            (
                QueryRows::Indices(order.into_iter().map(|o| idx[o]).collect()),
                mdec,
            )
        }
        None => {
            let derived = sumip_rows(&vulns, host_extra);
            let refs: Vec<&Value> = derived.iter().collect();
            let order = sorted_order(&refs, sort_field, sort_dir);
            let rows = order.into_iter().map(|o| derived[o].clone()).collect();
            (QueryRows::Owned(rows), mdec)
        }
    }
}

async fn analysis(State(sh): St, headers: HeaderMap, body: Bytes) -> Response {
    let sc = &sh.sc;
    if let Err(r) = require(sc, &headers) {
        return *r;
    }
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return invalid_params("Invalid parameters specified: the request body is not valid JSON.");
    };
    let kind = b["type"].as_str().unwrap_or_default();
    if kind != "vuln" {
        return invalid_params(&format!(
            "Invalid parameters specified for analysis. Type '{kind}' is not supported (simulated: vuln)."
        ));
    }
    let source = b["sourceType"].as_str().unwrap_or("cumulative");
    if source != "cumulative" && source != "patched" {
        return invalid_params(&format!(
            "Invalid parameters specified for vuln query. Source type '{source}' is not supported (simulated: cumulative, patched)."
        ));
    }
    let q = &b["query"];
    let tool = q["tool"].as_str().unwrap_or_default();
    if tool != "vulndetails" && tool != "sumip" {
        return invalid_params(&format!(
            "Invalid parameters specified for vuln query. Tool '{tool}' is not supported (simulated: vulndetails, sumip)."
        ));
    }
    let filters = match Filters::parse(&q["filters"], now_s()) {
        Ok(f) => f,
        Err(msg) => return invalid_params(&msg),
    };
    let start = offset(&b["startOffset"])
        .or_else(|| offset(&q["startOffset"]))
        .unwrap_or(0)
        .max(0);
    let end = offset(&b["endOffset"]).or_else(|| offset(&q["endOffset"]));
    let (data, k) = {
        let mut st = sc.lock();
        st.analysis_requests += 1;
        let k = st.analysis_requests;
        (sc.data(&mut st), k)
    };
    let rows = &data.rows;
    let patched = source == "patched";
    let base = if patched {
        &rows.patched
    } else {
        &rows.cumulative
    };
    let file_sumip = if patched {
        rows.sumip_patched.as_ref()
    } else {
        rows.sumip_cumulative.as_ref()
    };
    // A query is filtered and sorted once; its pages are cut from that result.
    let key = format!(
        "{source}\u{0}{tool}\u{0}{}\u{0}{}\u{0}{}",
        q["filters"], b["sortField"], b["sortDir"]
    );
    let cached = sc
        .lock()
        .query_cache
        .iter()
        .find(|c| c.key == key && Arc::ptr_eq(&c.data, &data))
        .cloned();
    let (result, mdec) = match cached {
        Some(c) => (c.rows, c.mdec),
        None => {
            let (result, mdec) = run_query(
                base,
                file_sumip.map(Vec::as_slice),
                &rows.host_extra,
                tool,
                &filters,
                b["sortField"].as_str(),
                b["sortDir"].as_str(),
            );
            let result = Arc::new(result);
            let mut st = sc.lock();
            st.query_cache.retain(|c| Arc::ptr_eq(&c.data, &data));
            if st.query_cache.len() >= 4 {
                st.query_cache.remove(0);
            }
            st.query_cache.push(CachedQuery {
                key,
                data: Arc::clone(&data),
                rows: Arc::clone(&result),
                mdec: mdec.clone(),
            });
            (result, mdec)
        }
    };
    let source_rows: &[Value] = if tool == "vulndetails" {
        base
    } else {
        file_sumip.map_or(&[][..], Vec::as_slice)
    };
    let total = match &*result {
        QueryRows::Indices(i) => i.len(),
        QueryRows::Owned(v) => v.len(),
    } as i64;
    let end_eff = end.unwrap_or(total).max(start);
    let lo = start.min(total) as usize;
    let hi = end_eff.min(total) as usize;
    let mut page: Vec<&Value> = match &*result {
        QueryRows::Indices(i) => i[lo..hi]
            .iter()
            .map(|&n| &source_rows[n as usize])
            .collect(),
        QueryRows::Owned(v) => v[lo..hi].iter().collect(),
    };
    if u32::try_from(k).is_ok_and(|k| sh.faults.sc_short_pages.contains(&k))
        && !page.is_empty()
        && sc.lock().short_done.insert(k as u32)
    {
        page.pop();
    }
    // Serialized from references (no copy of the rows), keys in the order `json!` gives them.
    #[derive(serde::Serialize)]
    struct Page<'a> {
        #[serde(rename = "endOffset")]
        end_offset: String,
        #[serde(rename = "matchingDataElementCount")]
        mdec: String,
        results: Vec<&'a Value>,
        #[serde(rename = "returnedRecords")]
        returned: usize,
        #[serde(rename = "startOffset")]
        start_offset: String,
        #[serde(rename = "totalRecords")]
        total: String,
    }
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        error_code: i64,
        error_msg: &'static str,
        response: Page<'a>,
        timestamp: i64,
        #[serde(rename = "type")]
        kind: &'static str,
        warnings: [u8; 0],
    }
    let body = Envelope {
        error_code: 0,
        error_msg: "",
        response: Page {
            end_offset: end_eff.to_string(),
            mdec,
            returned: page.len(),
            results: page,
            start_offset: start.to_string(),
            total: total.to_string(),
        },
        timestamp: now_s(),
        kind: "regular",
        warnings: [],
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
