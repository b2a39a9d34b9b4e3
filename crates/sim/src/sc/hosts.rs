//! The SC 6.x host inventory: `GET /rest/hosts` and `POST /rest/hosts/search`, derived from
//! the analysis rows (one host per repository + IP (+ agent uuid), cumulative and patched).
//! `uuid` is the rows' `hostUUID`, empty for hosts SC tracks by address only (so a client
//! can give a host the same identity here as in `vulndetails`); `tenableUUID` is always set.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::api::{error, ok, require};
use super::data::host_key;
use crate::server::Shared;
use crate::util::{label, mix, uuid_from};

type St = State<Arc<Shared>>;

/// Fields returned when `fields` is not given.
const DEFAULT_FIELDS: &[&str] = &[
    "id",
    "uuid",
    "tenableUUID",
    "name",
    "ipAddress",
    "os",
    "firstSeen",
    "lastSeen",
];

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn num(v: &Value) -> i64 {
    v.as_str().and_then(|x| x.parse().ok()).unwrap_or(-1)
}

/// Every host of the data set, ordered by repository id, IP, agent uuid.
fn all_hosts(seed: u64, rows: &[&Value]) -> Vec<Map<String, Value>> {
    let mut groups: BTreeMap<(u64, u32, String), (usize, i64, i64)> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let repo = num(&r["repository"]["id"]).max(0) as u64;
        let ip = r["ip"]
            .as_str()
            .and_then(|x| x.parse::<Ipv4Addr>().ok())
            .map_or(0, u32::from);
        let e = groups
            .entry((repo, ip, s(&r["uuid"])))
            .or_insert((i, i64::MAX, -1));
        let first = num(&r["firstSeen"]);
        if first >= 0 {
            e.1 = e.1.min(first);
        }
        e.2 = e.2.max(num(&r["lastSeen"]));
    }
    groups
        .into_values()
        .map(|(i, first, last)| {
            let r = rows[i];
            let key = host_key(r);
            let h = mix(&[seed, label("sc-host-id"), label(&key)]);
            // Hosts SC tracks by address only (no `hostUUID` on their rows) have no uuid.
            let uuid = s(&r["hostUUID"]);
            let tenable_uuid = if uuid.is_empty() {
                uuid_from(h).to_string()
            } else {
                uuid.clone()
            };
            let ip = s(&r["ip"]);
            let dns = s(&r["dnsName"]);
            let mut m = Map::new();
            m.insert("id".into(), (h % 900_000 + 100_000).to_string().into());
            m.insert("uuid".into(), uuid.into());
            m.insert("tenableUUID".into(), tenable_uuid.into());
            m.insert(
                "name".into(),
                if dns.is_empty() {
                    ip.clone()
                } else {
                    dns.clone()
                }
                .into(),
            );
            m.insert("ipAddress".into(), ip.into());
            m.insert("os".into(), s(&r["operatingSystem"]).into());
            let first = if first == i64::MAX { -1 } else { first };
            m.insert("firstSeen".into(), first.to_string().into());
            m.insert("lastSeen".into(), last.to_string().into());
            m.insert("macAddress".into(), s(&r["macAddress"]).into());
            m.insert("netBios".into(), s(&r["netbiosName"]).into());
            m.insert("dns".into(), dns.into());
            m.insert("source".into(), json!([{"type": "Nessus Scan"}]));
            m.insert("repID".into(), s(&r["repository"]["id"]).into());
            m.insert("repository".into(), r["repository"].clone());
            m.insert("systemType".into(), "general_purpose".into());
            m.insert("createdTime".into(), first.to_string().into());
            m.insert("modifiedTime".into(), last.to_string().into());
            m.insert("acr".into(), "".into());
            m.insert("aes".into(), "".into());
            m
        })
        .collect()
}

/// `{"and"|"or": [{property, operator: eq|ne, value}]}`; unknown properties never match
/// `eq` (and always match `ne`).
fn search_matches(host: &Map<String, Value>, filters: &Value) -> bool {
    let one = |f: &Value| {
        let prop = match f["property"].as_str().unwrap_or_default() {
            "ip" => "ipAddress",
            other => other,
        };
        let want = match &f["value"] {
            Value::String(x) => x.clone(),
            other => other.to_string(),
        };
        let have = host.get(prop).map(s).unwrap_or_default();
        let eq = have.eq_ignore_ascii_case(&want);
        if f["operator"].as_str() == Some("ne") {
            !eq
        } else {
            eq
        }
    };
    if let Some(list) = filters["and"].as_array() {
        list.iter().all(one)
    } else if let Some(list) = filters["or"].as_array() {
        list.iter().any(one)
    } else {
        true
    }
}

async fn answer(
    sh: &Shared,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    search: &Value,
) -> Response {
    let sc = &sh.sc;
    if let Err(r) = require(sc, headers) {
        return *r;
    }
    if sc.version < (6, 0, 0) {
        return error(
            StatusCode::NOT_FOUND,
            147,
            &format!(
                "Unable to find resource 'hosts': not available on Tenable Security Center {}.",
                sc.opts.version
            ),
        );
    }
    let data = {
        let mut st = sc.lock();
        sc.data(&mut st)
    };
    // The inventory is built once per data set; pages are cut from it.
    let cached = sc
        .lock()
        .hosts_cache
        .as_ref()
        .filter(|(d, _)| Arc::ptr_eq(d, &data))
        .map(|(_, h)| Arc::clone(h));
    let all = match cached {
        Some(h) => h,
        None => {
            let rows: Vec<&Value> = data
                .rows
                .cumulative
                .iter()
                .chain(&data.rows.patched)
                .collect();
            let built = Arc::new(all_hosts(sh.seed, &rows));
            sc.lock().hosts_cache = Some((Arc::clone(&data), Arc::clone(&built)));
            built
        }
    };
    let hosts: Vec<&Map<String, Value>> =
        all.iter().filter(|h| search_matches(h, search)).collect();
    let int = |k: &str| q.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let (start, end) = if sc.opts.hosts_ignore_offsets {
        (0, hosts.len() as i64)
    } else {
        let start = int("startOffset").unwrap_or(0).max(0);
        let end = int("endOffset")
            .or_else(|| int("limit").map(|l| start + l))
            .unwrap_or(hosts.len() as i64)
            .max(start);
        (start, end)
    };
    let total = hosts.len() as i64;
    let fields: Vec<String> = match q.get("fields") {
        Some(f) if !f.trim().is_empty() => {
            let mut v: Vec<String> = vec!["id".into(), "uuid".into()];
            v.extend(
                f.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty()),
            );
            v
        }
        _ => DEFAULT_FIELDS.iter().map(|x| (*x).to_string()).collect(),
    };
    let page: Vec<Value> = hosts[start.min(total) as usize..end.min(total) as usize]
        .iter()
        .map(|h| {
            let mut m = Map::new();
            for f in &fields {
                if let Some(v) = h.get(f) {
                    m.insert(f.clone(), v.clone());
                }
            }
            Value::Object(m)
        })
        .collect();
    if q.get("pagination").is_some_and(|p| p == "true") && !sc.opts.hosts_plain_array {
        ok(json!({
            "totalRecords": total.to_string(),
            "returnedRecords": page.len(),
            "startOffset": start.to_string(),
            "endOffset": end.to_string(),
            "results": page,
        }))
    } else {
        ok(Value::Array(page))
    }
}

pub(crate) async fn list(
    State(sh): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    answer(&sh, &headers, &q, &Value::Null).await
}

pub(crate) async fn search(
    State(sh): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&sh, &headers, &q, &b["filters"]).await
}
