//! OT Security records → tenax model (ARCHITECTURE §4): OT severity names lowercased, MACs in
//! lowercase colon form, timestamps RFC 3339 UTC with the zero time `0001-01-01T00:00:00Z` as
//! `null`, missing values `null` (never `""`). Pure functions, no I/O.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde_json::value::RawValue;
use tenax_model::{
    Asset, Event, Finding, FindingState, Severity, SourceKind, Timestamp, finding_key, non_empty,
    normalize_mac, parse_timestamp,
};
pub use tenax_source::map::MapError;

use crate::wire;

/// An OT `Time`: RFC 3339; the zero time (year 1) and blanks mean "unknown" → `None`.
pub fn ot_time(s: Option<&str>) -> Option<Timestamp> {
    let t = parse_timestamp(s?)?;
    (t.timestamp() > 0).then_some(t)
}

/// A number that may arrive as a JSON number or as a string (`"7.5"`); blanks → `None`.
/// Parsed from the JSON text with Rust's exact float parser.
pub fn num(v: Option<&RawValue>) -> Option<f64> {
    let text = v?.get().trim();
    let n = if text.starts_with('"') {
        serde_json::from_str::<String>(text)
            .ok()?
            .trim()
            .parse()
            .ok()
    } else {
        text.parse().ok()
    };
    n.filter(|f: &f64| f.is_finite())
}

/// An OT severity name (`Info`, `Low`, `Medium`, `High`, `Critical`) lowercased; `None` for
/// missing, `None` or unknown names.
pub fn severity(s: Option<&str>) -> Option<Severity> {
    let t = s?.trim();
    if t.eq_ignore_ascii_case("none") {
        return None;
    }
    t.parse().ok()
}

fn s(v: &Option<String>) -> Option<String> {
    non_empty(v.as_deref())
}

fn strings(c: &Option<wire::StringConnection>) -> impl Iterator<Item = &str> {
    c.iter()
        .flat_map(|c| c.nodes.iter())
        .filter_map(|n| n.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

fn push_unique(v: &mut Vec<String>, item: String) {
    if !v.contains(&item) {
        v.push(item);
    }
}

/// `Unknown` and friends carry no information: `None`.
fn known(v: &Option<String>) -> Option<String> {
    s(v).filter(|t| !matches!(t.as_str(), "Unknown" | "UnknownType" | "UnknownLevel"))
}

/// Maps one `assets` node (its raw JSON text) to an [`Asset`]. Also returns the node's
/// `lastUpdate` (the window key).
pub fn parse_asset(
    source: &str,
    index: u64,
    raw: &str,
) -> Result<(Asset, Option<Timestamp>), MapError> {
    let w: wire::Asset = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    let id = w.id.trim().to_owned();
    if id.is_empty() {
        return Err(MapError::Field {
            index,
            field: "id",
            problem: "is empty".into(),
        });
    }
    let mut a = Asset {
        source: source.to_owned(),
        kind: Some(SourceKind::Ot),
        id,
        name: s(&w.name),
        ..Asset::default()
    };
    // Own interfaces first: they identify the device; `ips`/`macs` may include addresses
    // reached through a backplane or gateway.
    for ip in strings(&w.direct_ips).chain(strings(&w.ips)) {
        match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => push_unique(&mut a.ipv4s, v4.to_string()),
            Ok(IpAddr::V6(v6)) => push_unique(&mut a.ipv6s, v6.to_string()),
            Err(_) => {}
        }
    }
    for mac in strings(&w.direct_macs).chain(strings(&w.macs)) {
        if let Some(m) = normalize_mac(mac) {
            push_unique(&mut a.macs, m);
        }
    }
    if let Some(os) = s(&w.os) {
        a.operating_systems.push(os);
    }
    a.asset_type = known(&w.asset_type).map(|t| t.to_ascii_lowercase());
    a.vendor = s(&w.vendor);
    a.model = s(&w.model);
    a.firmware = s(&w.firmware_version);
    a.first_seen = ot_time(w.first_seen.as_deref());
    a.last_seen = ot_time(w.last_seen.as_deref());
    a.risk = w.risk.as_ref().and_then(|r| num(r.total_risk.as_deref()));
    let mut tags = BTreeMap::new();
    let mut tag = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            tags.insert(k.to_owned(), v);
        }
    };
    tag("category", s(&w.category));
    tag("super_type", known(&w.super_type));
    tag("family", s(&w.family));
    tag("purdue_level", known(&w.purdue_level));
    tag("criticality", s(&w.criticality));
    tag("serial", s(&w.serial));
    tag("slot", w.slot.map(|n| n.to_string()));
    if let Some(b) = &w.backplane {
        tag("backplane", s(&b.name));
        tag("backplane_id", s(&b.id));
    }
    let segments: Vec<String> = w
        .segments
        .iter()
        .flat_map(|n| n.nodes.iter())
        .filter_map(|seg| s(&seg.name))
        .collect();
    if !segments.is_empty() {
        tag("segments", Some(segments.join(", ")));
    }
    if w.hidden == Some(true) {
        tag("hidden", Some("true".into()));
    }
    a.tags = tags;
    Ok((a, ot_time(w.last_update.as_deref())))
}

/// What a finding needs of its plugin (from the plugins sweep, or nested in the finding).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginInfo {
    /// Name.
    pub name: Option<String>,
    /// Family.
    pub family: Option<String>,
    /// Severity.
    pub severity: Option<Severity>,
    /// VPR.
    pub vpr: Option<f64>,
    /// CVEs, uppercase, sorted, unique.
    pub cves: Vec<String>,
    /// CVSS v2 base score.
    pub cvss2: Option<f64>,
    /// CVSS v3 base score.
    pub cvss3: Option<f64>,
    /// Description.
    pub description: Option<String>,
    /// Solution.
    pub solution: Option<String>,
}

/// Maps a plugin (a `plugins` node or a finding's nested plugin).
pub fn plugin_info(p: &wire::Plugin) -> PluginInfo {
    let d = p.details.as_ref();
    let mut cves: Vec<String> = d
        .and_then(|d| d.refs.as_ref())
        .into_iter()
        .flatten()
        .filter(|r| {
            r.name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("CVE"))
        })
        .filter_map(|r| non_empty(r.value.as_deref()))
        .map(|v| v.to_ascii_uppercase())
        .collect();
    cves.sort();
    cves.dedup();
    PluginInfo {
        name: s(&p.name),
        family: s(&p.family),
        severity: severity(p.severity.as_deref()),
        vpr: num(p.vpr_score.as_deref()),
        cves,
        cvss2: d.and_then(|d| num(d.cvss_base_score.as_deref())),
        cvss3: d.and_then(|d| num(d.cvss_v3_base_score.as_deref())),
        description: d.and_then(|d| s(&d.description)),
        solution: d.and_then(|d| s(&d.solution)),
    }
}

/// Maps one `plugins` node (raw JSON) to its id and [`PluginInfo`].
pub fn parse_plugin(index: u64, raw: &str) -> Result<(i64, PluginInfo), MapError> {
    let p: wire::Plugin = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    Ok((p.id, plugin_info(&p)))
}

/// `Active` → open, `Resurfaced` → reopened, `Resolved`/`Fixed` → fixed; without a status,
/// a `fixedAt` means fixed.
pub fn finding_state(status: Option<&str>, fixed_at: Option<Timestamp>) -> FindingState {
    match status.map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("resolved") || s.eq_ignore_ascii_case("fixed") => {
            FindingState::Fixed
        }
        Some(s) if s.eq_ignore_ascii_case("resurfaced") || s.eq_ignore_ascii_case("reopened") => {
            FindingState::Reopened
        }
        Some(s) if !s.is_empty() => s.parse().unwrap_or(FindingState::Open),
        _ if fixed_at.is_some() => FindingState::Fixed,
        _ => FindingState::Open,
    }
}

/// The parts of a finding, whichever API it came from.
struct Hit<'a> {
    asset_id: &'a str,
    plugin_id: i64,
    port: i64,
    protocol: Option<&'a str>,
    service: Option<&'a str>,
    status: Option<&'a str>,
    first: Option<&'a str>,
    last: Option<&'a str>,
    fixed: Option<&'a str>,
    output: Option<&'a str>,
    severity: Option<&'a str>,
    hostname: Option<&'a str>,
    ipv4: Option<String>,
}

fn build_finding(
    source: &str,
    h: Hit<'_>,
    nested: Option<PluginInfo>,
    catalog: &Catalog,
) -> Finding {
    let mut p = catalog.get(&h.plugin_id).cloned().unwrap_or_default();
    if let Some(n) = nested {
        // The finding's own plugin fields win; the sweep fills what it did not select.
        p.name = n.name.or(p.name);
        p.family = n.family.or(p.family);
        p.severity = n.severity.or(p.severity);
        p.vpr = n.vpr.or(p.vpr);
        if !n.cves.is_empty() {
            p.cves = n.cves;
        }
        p.cvss2 = n.cvss2.or(p.cvss2);
        p.cvss3 = n.cvss3.or(p.cvss3);
        p.description = n.description.or(p.description);
        p.solution = n.solution.or(p.solution);
    }
    // `protocol` is `String!` in the schema; should it ever be missing, host-level findings
    // are `tcp` port 0 as in the other Tenable products.
    let protocol = non_empty(h.protocol)
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_else(|| "tcp".to_owned());
    let fixed = ot_time(h.fixed);
    Finding {
        source: source.to_owned(),
        kind: SourceKind::Ot,
        id: finding_key(h.asset_id, h.plugin_id, h.port, &protocol),
        asset_id: h.asset_id.to_owned(),
        unified_asset_id: None,
        plugin_id: h.plugin_id,
        plugin_name: p.name,
        plugin_family: p.family,
        severity: severity(h.severity)
            .or(p.severity)
            .unwrap_or(Severity::Info),
        state: finding_state(h.status, fixed),
        port: h.port,
        protocol,
        service: non_empty(h.service),
        cves: p.cves,
        cvss3_base_score: p.cvss3,
        cvss2_base_score: p.cvss2,
        vpr_score: p.vpr,
        first_found: ot_time(h.first),
        last_found: ot_time(h.last),
        last_fixed: fixed,
        hostname: non_empty(h.hostname),
        ipv4: h.ipv4,
        synopsis: p.description,
        solution: p.solution,
        output: h.output.filter(|o| !o.trim().is_empty()).map(str::to_owned),
    }
}

/// Plugin id → plugin, from the plugins sweep.
pub type Catalog = HashMap<i64, PluginInfo>;

/// Maps one GraphQL `findings` node.
pub fn parse_finding(
    source: &str,
    index: u64,
    raw: &str,
    catalog: &Catalog,
) -> Result<Finding, MapError> {
    let w: wire::Finding = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    let asset = w.asset.as_ref();
    let asset_id = asset
        .and_then(|a| a.id.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(MapError::Field {
            index,
            field: "asset.id",
            problem: "is missing".into(),
        })?;
    let plugin = w.plugin.as_ref().ok_or(MapError::Field {
        index,
        field: "plugin.id",
        problem: "is missing".into(),
    })?;
    let ipv4 = asset.and_then(|a| {
        strings(&a.ips).find_map(|ip| match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => Some(v4.to_string()),
            _ => None,
        })
    });
    let hit = Hit {
        asset_id,
        plugin_id: plugin.id,
        port: w.port.unwrap_or(0),
        protocol: w.protocol.as_deref(),
        service: w.svc_name.as_deref(),
        status: w.status.as_deref(),
        first: w.first_hit.as_deref(),
        last: w.last_hit.as_deref(),
        fixed: w.fixed_at.as_deref(),
        output: w.output.as_deref(),
        severity: None,
        hostname: asset.and_then(|a| a.name.as_deref()),
        ipv4,
    };
    Ok(build_finding(
        source,
        hit,
        Some(plugin_info(plugin)),
        catalog,
    ))
}

/// Maps one element of `GET /v1/assets/{id}/plugin_hits`. Its shape is not documented
/// (reference §4): the plugin id is read from `pluginId`, `plugin_id` or `plugin.id`, times
/// from `firstHit`/`lastHit`/`time`, the fix time from `fixedAt`/`mitigatedAt`.
pub fn parse_plugin_hit(
    source: &str,
    asset: &AssetCtx,
    index: u64,
    raw: &str,
    catalog: &Catalog,
) -> Result<Finding, MapError> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    let str_at = |keys: &[&str]| -> Option<&str> {
        keys.iter().find_map(|k| v.get(*k).and_then(|x| x.as_str()))
    };
    let int_at = |keys: &[&str]| -> Option<i64> {
        keys.iter().find_map(|k| {
            v.get(*k).and_then(|x| {
                x.as_i64()
                    .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
            })
        })
    };
    let plugin_id = int_at(&["pluginId", "plugin_id", "pluginID"])
        .or_else(|| {
            v.get("plugin")
                .and_then(|p| p.get("id"))
                .and_then(|x| x.as_i64())
        })
        .ok_or(MapError::Field {
            index,
            field: "pluginId",
            problem: "is missing".into(),
        })?;
    let nested = v
        .get("plugin")
        .filter(|p| p.is_object())
        .and_then(|p| serde_json::from_str::<wire::Plugin>(&p.to_string()).ok())
        .map(|p| plugin_info(&p));
    let hit = Hit {
        asset_id: &asset.id,
        plugin_id,
        port: int_at(&["port"]).unwrap_or(0),
        protocol: str_at(&["protocol"]),
        service: str_at(&["svcName", "svc_name", "service"]),
        status: str_at(&["status"]),
        first: str_at(&["firstHit", "first_hit", "time"]),
        last: str_at(&["lastHit", "last_hit", "time"]),
        fixed: str_at(&["fixedAt", "fixed_at", "mitigatedAt"]),
        output: str_at(&["output"]),
        severity: str_at(&["severity"]),
        hostname: asset.name.as_deref(),
        ipv4: asset.ipv4.clone(),
    };
    Ok(build_finding(source, hit, nested, catalog))
}

/// What a `plugin_hits` finding takes from its asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetCtx {
    /// Asset id.
    pub id: String,
    /// Asset name.
    pub name: Option<String>,
    /// First IPv4.
    pub ipv4: Option<String>,
}

impl AssetCtx {
    /// From a mapped asset.
    pub fn of(a: &Asset) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            ipv4: a.ipv4s.first().cloned(),
        }
    }
}

/// Maps one `events` node to an [`Event`].
pub fn parse_event(source: &str, index: u64, raw: &str) -> Result<Event, MapError> {
    let w: wire::Event = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    let id = w.id.trim().to_owned();
    if id.is_empty() {
        return Err(MapError::Field {
            index,
            field: "id",
            problem: "is empty".into(),
        });
    }
    let et = w.event_type.as_ref();
    let mut asset_ids = Vec::new();
    for n in w
        .src_assets
        .iter()
        .chain(w.dst_assets.iter())
        .flat_map(|c| c.nodes.iter())
    {
        if let Some(id) = non_empty(n.id.as_deref()) {
            push_unique(&mut asset_ids, id);
        }
    }
    Ok(Event {
        source: source.to_owned(),
        kind: SourceKind::Ot,
        id,
        time: ot_time(w.time.as_deref()),
        event_type: s(&w.kind).or_else(|| et.and_then(|e| s(&e.kind))),
        category: s(&w.category).or_else(|| et.and_then(|e| s(&e.category))),
        severity: severity(w.severity.as_deref()),
        description: et.and_then(|e| s(&e.description)),
        policy: w.policy.as_ref().and_then(|p| s(&p.title)),
        src_ip: s(&w.src_ip),
        dst_ip: s(&w.dst_ip),
        src_mac: w.src_mac.as_deref().and_then(normalize_mac),
        dst_mac: w.dst_mac.as_deref().and_then(normalize_mac),
        protocol: s(&w.protocol)
            .or_else(|| s(&w.protocol_nice_name))
            .or_else(|| s(&w.protocol_raw)),
        port: w.port,
        asset_ids,
        resolved: w.resolved.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_is_null() {
        assert_eq!(ot_time(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(ot_time(Some("")), None);
        assert_eq!(ot_time(None), None);
        assert_eq!(
            ot_time(Some("2023-01-19T00:00:01.846146Z"))
                .unwrap()
                .to_rfc3339(),
            "2023-01-19T00:00:01.846146+00:00"
        );
    }

    #[test]
    fn numbers_and_severities() {
        let raw = |s: &str| serde_json::from_str::<Box<RawValue>>(s).unwrap();
        assert_eq!(num(Some(&raw("\"7.5\""))), Some(7.5));
        assert_eq!(num(Some(&raw("5.9"))), Some(5.9));
        assert_eq!(
            num(Some(&raw("53.134920602608716"))),
            Some(53.134920602608716)
        );
        assert_eq!(num(Some(&raw("\"\""))), None);
        assert_eq!(num(Some(&raw("null"))), None);
        assert_eq!(severity(Some("Critical")), Some(Severity::Critical));
        assert_eq!(severity(Some("Info")), Some(Severity::Info));
        assert_eq!(severity(Some("None")), None);
        assert_eq!(severity(Some("Weird")), None);
    }

    #[test]
    fn states() {
        let t = ot_time(Some("2024-01-01T00:00:00Z"));
        assert_eq!(finding_state(Some("Active"), None), FindingState::Open);
        assert_eq!(
            finding_state(Some("Resurfaced"), None),
            FindingState::Reopened
        );
        assert_eq!(finding_state(Some("Resolved"), t), FindingState::Fixed);
        assert_eq!(finding_state(None, t), FindingState::Fixed);
        assert_eq!(finding_state(None, None), FindingState::Open);
    }

    #[test]
    fn plugin_hit_shapes() {
        let catalog: Catalog = [(
            500036,
            PluginInfo {
                name: Some("Rockwell (CVE-2012-6436)".into()),
                severity: Some(Severity::High),
                cves: vec!["CVE-2012-6436".into()],
                ..PluginInfo::default()
            },
        )]
        .into_iter()
        .collect();
        let ctx = AssetCtx {
            id: "a1".into(),
            name: Some("Sith".into()),
            ipv4: Some("10.0.0.1".into()),
        };
        let f = parse_plugin_hit(
            "ot",
            &ctx,
            0,
            r#"{"pluginId": 500036, "port": 44818, "protocol": "TCP", "svcName": "", "time": "2024-02-01T10:00:00Z", "status": "Active", "output": "x"}"#,
            &catalog,
        )
        .unwrap();
        assert_eq!(f.id, "a1:500036:44818:tcp");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.plugin_name.as_deref(), Some("Rockwell (CVE-2012-6436)"));
        assert_eq!(f.cves, ["CVE-2012-6436"]);
        assert_eq!(f.service, None);
        assert_eq!(f.hostname.as_deref(), Some("Sith"));
        assert_eq!(f.ipv4.as_deref(), Some("10.0.0.1"));
        assert_eq!(f.first_found, ot_time(Some("2024-02-01T10:00:00Z")));
        assert_eq!(f.state, FindingState::Open);
        let f = parse_plugin_hit(
            "ot",
            &ctx,
            1,
            r#"{"plugin": {"id": 7, "severity": "Low"}, "mitigatedAt": "2024-03-01T00:00:00Z"}"#,
            &catalog,
        )
        .unwrap();
        assert_eq!(f.id, "a1:7:0:tcp");
        assert_eq!(f.severity, Severity::Low);
        assert_eq!(f.state, FindingState::Fixed);
        assert!(parse_plugin_hit("ot", &ctx, 2, r#"{"port": 1}"#, &catalog).is_err());
    }
}
