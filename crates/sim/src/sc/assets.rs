//! SC asset lists (`GET /rest/asset`, `GET /rest/asset/{id}`): named groups of IPs, seeded
//! from the generated hosts, with their membership as SC reports it (`viewableIPs`: per
//! repository, newline-separated addresses and `a-b` ranges) and as ground truth.
//!
//! | id | name | type | members |
//! |---|---|---|---|
//! | 0 | All Defined Ranges | static | every host (usable only; `excludeAllDefined` hides it) |
//! | 1 | Windows Hosts | dynamic | hosts running Windows |
//! | 2 | Linux Hosts | dynamic | hosts running Ubuntu, RHEL or Debian |
//! | 3 | DHCP Pool | static | `172.20.0.0/16` (the DHCP leases) |
//! | 4 | Crown Jewels | static | a seeded ~15 % of the host addresses (in every repository) |
//! | 5 | Agent Hosts | dynamic | hosts of the Agents repository |
//! | 6 | Decommissioned | static | nothing (manageable only) |
//!
//! Membership is computed when asked, from the current hosts: a host that moves to a new IP
//! leaves static lists of its old address and keeps its dynamic lists.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand::Rng;
use serde_json::{Map, Value, json};

use super::ScService;
use super::api::{error, ok, require};
use super::data::{REPOS, ScData};
use crate::devices::{Device, OsFamily};
use crate::server::Shared;
use crate::util::{label, mix, rng_for, uuid_from};

type St = State<Arc<Shared>>;

/// "Object not found" (real SC code).
const NOT_FOUND: i64 = 147;

/// One asset list with its members.
#[derive(Clone, Debug)]
pub(crate) struct AssetList {
    pub id: u32,
    pub name: String,
    description: &'static str,
    kind: &'static str,
    usable: bool,
    manageable: bool,
    /// `typeFields.definedIPs` of static lists.
    defined_ips: Option<String>,
    /// `(repository index, ip)` of the hosts in the list, sorted.
    pub members: BTreeSet<(usize, [u8; 4])>,
}

fn ip_string(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

/// The seeded lists of a generated data set (file data sets have no hosts: every list is
/// empty).
pub(crate) fn lists(data: &ScData) -> Vec<AssetList> {
    let seed = data.seed();
    let hosts = &data.hosts;
    let families: Vec<OsFamily> = hosts
        .iter()
        .map(|h| Device::generate(seed, h.dev).os.family)
        .collect();
    let all = |pred: &dyn Fn(usize) -> bool| -> BTreeSet<(usize, [u8; 4])> {
        (0..hosts.len())
            .filter(|&i| pred(i))
            .map(|i| (hosts[i].repo, hosts[i].ip))
            .collect()
    };
    let mut r = rng_for(seed, "sc-asset-lists", 0);
    let jewels: BTreeSet<[u8; 4]> = hosts
        .iter()
        .filter(|_| r.random_bool(0.15))
        .map(|h| h.ip)
        .collect();
    let jewel_text = jewels
        .iter()
        .map(|ip| ip_string(*ip))
        .collect::<Vec<_>>()
        .join(",");
    let list = |id, name: &str, description, kind, members, defined_ips| AssetList {
        id,
        name: name.to_string(),
        description,
        kind,
        usable: id != 6,
        manageable: id != 0,
        defined_ips,
        members,
    };
    vec![
        list(
            0,
            "All Defined Ranges",
            "All defining ranges of the Group in whose context this Asset is being evaluated.",
            "static",
            all(&|_| true),
            Some("0.0.0.0/0".to_string()),
        ),
        list(
            1,
            "Windows Hosts",
            "The operating system detected has Windows installed.",
            "dynamic",
            all(&|i| families[i] == OsFamily::Windows),
            None,
        ),
        list(
            2,
            "Linux Hosts",
            "The operating system detected has Linux installed.",
            "dynamic",
            all(&|i| families[i].is_linux()),
            None,
        ),
        list(
            3,
            "DHCP Pool",
            "Workstation leases.",
            "static",
            all(&|i| hosts[i].ip[0] == 172 && hosts[i].ip[1] == 20),
            Some("172.20.0.0/16".to_string()),
        ),
        list(
            4,
            "Crown Jewels",
            "Systems whose compromise would hurt most.",
            "static",
            all(&|i| jewels.contains(&hosts[i].ip)),
            Some(jewel_text),
        ),
        list(
            5,
            "Agent Hosts",
            "Hosts reporting through Nessus Agents.",
            "dynamic",
            all(&|i| hosts[i].repo == 2),
            None,
        ),
        list(
            6,
            "Decommissioned",
            "Addresses retired from service.",
            "static",
            BTreeSet::new(),
            Some(String::new()),
        ),
    ]
}

/// `ipList` text: sorted addresses, consecutive runs as `a-b`, each line ending in `\n`.
fn ip_list(ips: &[[u8; 4]]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ips.len() {
        let start = u32::from_be_bytes(ips[i]);
        let mut end = start;
        let mut j = i + 1;
        while j < ips.len() && u32::from_be_bytes(ips[j]) == end.wrapping_add(1) {
            end += 1;
            j += 1;
        }
        if end == start {
            out.push_str(&ip_string(ips[i]));
        } else {
            out.push_str(&format!(
                "{}-{}",
                ip_string(ips[i]),
                ip_string(end.to_be_bytes())
            ));
        }
        out.push('\n');
        i = j;
    }
    out
}

fn repo_ref(i: usize) -> Value {
    let (id, name, desc, _) = REPOS[i];
    json!({
        "id": id.to_string(),
        "name": name,
        "description": desc,
        "type": "Local",
        "uuid": uuid_from(mix(&[label("sc-repo"), u64::from(id)])).to_string().to_uppercase(),
    })
}

fn full_row(seed: u64, l: &AssetList) -> Map<String, Value> {
    let mut per_repo: BTreeMap<usize, Vec<[u8; 4]>> =
        (0..REPOS.len()).map(|i| (i, Vec::new())).collect();
    for (repo, ip) in &l.members {
        per_repo.entry(*repo).or_default().push(*ip);
    }
    let viewable: Vec<Value> = per_repo
        .iter()
        .map(|(repo, ips)| {
            json!({
                "repository": repo_ref(*repo),
                "ipList": ip_list(ips),
                "ipCount": ips.len().to_string(),
            })
        })
        .collect();
    let repositories: Vec<Value> = per_repo
        .iter()
        .map(|(repo, ips)| json!({"ipCount": ips.len().to_string(), "repository": repo_ref(*repo)}))
        .collect();
    let type_fields = match &l.defined_ips {
        Some(d) => json!({"definedIPs": d}),
        None => json!({"rules": {"operator": "all", "children": []}}),
    };
    let mut m = Map::new();
    m.insert("id".into(), l.id.to_string().into());
    m.insert(
        "uuid".into(),
        uuid_from(mix(&[seed, label("sc-asset"), u64::from(l.id)]))
            .to_string()
            .to_uppercase()
            .into(),
    );
    m.insert("name".into(), l.name.clone().into());
    m.insert("description".into(), l.description.into());
    m.insert("type".into(), l.kind.into());
    m.insert("status".into(), "0".into());
    m.insert("tags".into(), "".into());
    m.insert("context".into(), "".into());
    m.insert("createdTime".into(), "1700000000".into());
    m.insert("modifiedTime".into(), "1700000000".into());
    m.insert("ipCount".into(), l.members.len().to_string().into());
    m.insert("typeFields".into(), type_fields);
    m.insert("repositories".into(), Value::Array(repositories));
    m.insert("viewableIPs".into(), Value::Array(viewable));
    m
}

/// Keeps `fields` (plus `id` and `uuid`, which always come back), or the default set
/// `{id, name, description, type, status}` when none are asked.
fn project(row: &Map<String, Value>, fields: Option<&String>) -> Value {
    let wanted: Vec<String> = match fields.map(|f| f.trim()).filter(|f| !f.is_empty()) {
        Some(f) => {
            let mut v = vec!["id".to_string(), "uuid".to_string()];
            v.extend(
                f.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty()),
            );
            v
        }
        None => ["id", "name", "description", "type", "status"]
            .iter()
            .map(|x| (*x).to_string())
            .collect(),
    };
    let mut m = Map::new();
    for f in wanted {
        if let Some(v) = row.get(&f) {
            m.insert(f, v.clone());
        }
    }
    Value::Object(m)
}

/// The rows the simulator serves: from the asset-list file when one is loaded (rows as
/// recorded, `viewableIPs` empty), else the seeded lists. `(row, usable, manageable)`.
fn rows(sc: &ScService, seed: u64) -> Vec<(Map<String, Value>, bool, bool)> {
    if let Some(file) = &sc.asset_file {
        // In recorded order, usable first; a list in both arrays is one row.
        let mut out: Vec<(Map<String, Value>, bool, bool)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (key, usable) in [("usable", true), ("manageable", false)] {
            for row in file[key].as_array().into_iter().flatten() {
                let Some(obj) = row.as_object() else { continue };
                let id = match obj.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                let i = *index.entry(id).or_insert_with(|| {
                    let mut m = obj.clone();
                    m.entry("viewableIPs").or_insert_with(|| json!([]));
                    out.push((m, false, false));
                    out.len() - 1
                });
                if usable {
                    out[i].1 = true;
                } else {
                    out[i].2 = true;
                }
            }
        }
        return out;
    }
    let data = {
        let mut st = sc.lock();
        sc.data(&mut st)
    };
    // The seeded lists are computed once per data set (each scans every row).
    let cached = sc
        .lock()
        .lists_cache
        .as_ref()
        .filter(|(d, _)| Arc::ptr_eq(d, &data))
        .map(|(_, rows)| Arc::clone(rows));
    if let Some(rows) = cached {
        return rows.as_ref().clone();
    }
    let rows: Vec<(Map<String, Value>, bool, bool)> = lists(&data)
        .iter()
        .map(|l| (full_row(seed, l), l.usable, l.manageable))
        .collect();
    sc.lock().lists_cache = Some((Arc::clone(&data), Arc::new(rows.clone())));
    rows
}

/// `GET /rest/asset?fields=…[&usable][&manageable][&excludeAllDefined][&excludeWatchlists]`
/// → `{"usable": [...], "manageable": [...]}`.
pub(crate) async fn list(
    State(sh): St,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sc = &sh.sc;
    if let Err(r) = require(sc, &headers) {
        return *r;
    }
    let flag = |k: &str| q.get(k).is_some_and(|v| v != "false");
    let (want_usable, want_manageable) = match (flag("usable"), flag("manageable")) {
        (false, false) => (true, true),
        other => other,
    };
    let exclude_all = flag("excludeAllDefined");
    let exclude_watch = flag("excludeWatchlists");
    let mut usable = Vec::new();
    let mut manageable = Vec::new();
    for (row, u, m) in rows(sc, sh.seed) {
        if exclude_watch && row.get("type").and_then(Value::as_str) == Some("watchlist") {
            continue;
        }
        let v = project(&row, q.get("fields"));
        let is_all = row.get("id").and_then(Value::as_str) == Some("0");
        if u && want_usable && !(exclude_all && is_all) {
            usable.push(v.clone());
        }
        if m && want_manageable {
            manageable.push(v);
        }
    }
    let mut out = Map::new();
    if want_usable {
        out.insert("usable".into(), Value::Array(usable));
    }
    if want_manageable {
        out.insert("manageable".into(), Value::Array(manageable));
    }
    ok(Value::Object(out))
}

/// `GET /rest/asset/{id}?fields=…`: one list; unknown ids → 403, error_code 147.
pub(crate) async fn one(
    State(sh): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let sc = &sh.sc;
    if let Err(r) = require(sc, &headers) {
        return *r;
    }
    match rows(sc, sh.seed)
        .into_iter()
        .find(|(row, _, _)| row.get("id").and_then(Value::as_str) == Some(id.as_str()))
    {
        Some((row, _, _)) => ok(project(&row, q.get("fields"))),
        None => error(
            StatusCode::FORBIDDEN,
            NOT_FOUND,
            &format!("Unable to find existing Asset #{id}."),
        ),
    }
}

/// Sorted names of the lists (other than id 0, All Defined Ranges) holding each
/// `(repository index, ip)`.
pub(crate) fn membership(data: &ScData) -> HashMap<(usize, [u8; 4]), Vec<String>> {
    let mut out: HashMap<(usize, [u8; 4]), Vec<String>> = HashMap::new();
    for l in lists(data).into_iter().filter(|l| l.id != 0) {
        for m in &l.members {
            out.entry(*m).or_default().push(l.name.clone());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_lists_collapse_runs() {
        assert_eq!(
            ip_list(&[
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                [10, 0, 0, 3],
                [10, 0, 0, 9],
                [10, 0, 1, 0]
            ]),
            "10.0.0.1-10.0.0.3\n10.0.0.9\n10.0.1.0\n"
        );
        assert_eq!(ip_list(&[]), "");
    }
}
