//! Tenable VM wire records → tenax model.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tenax_model::{
    Asset, Finding, FindingState, Severity, SourceKind, finding_key, non_empty, normalize_mac,
};

use tenax_source::map::{opt_str, opt_text, opt_time};

use crate::wire;

pub use tenax_source::map::MapError;

fn list(v: &Option<Vec<Cow<'_, str>>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in v.iter().flatten() {
        if let Some(t) = non_empty(Some(x))
            && !out.contains(&t)
        {
            out.push(t);
        }
    }
    out
}

/// Maps one vulnerability export record.
pub fn to_finding(source: &str, index: u64, w: &wire::Finding<'_>) -> Result<Finding, MapError> {
    let field = |field: &'static str, problem: &str| MapError::Field {
        index,
        field,
        problem: problem.to_owned(),
    };
    let asset_id = opt_str(&w.asset.uuid).ok_or_else(|| field("asset.uuid", "is missing"))?;
    let plugin_id = w
        .plugin
        .id
        .ok_or_else(|| field("plugin.id", "is missing"))?;
    let severity = match (&w.severity, w.severity_id) {
        (Some(name), _) => name
            .parse::<Severity>()
            .map_err(|e| field("severity", &e.to_string()))?,
        (None, Some(id)) => {
            Severity::from_id(id).ok_or_else(|| field("severity_id", "is not 0..4"))?
        }
        (None, None) => return Err(field("severity", "is missing")),
    };
    let state = w
        .state
        .as_deref()
        .ok_or_else(|| field("state", "is missing"))?
        .parse::<FindingState>()
        .map_err(|e| field("state", &e.to_string()))?;
    let port = w.port.port.unwrap_or(0);
    let protocol = w
        .port
        .protocol
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "tcp".to_owned());
    let mut cves: Vec<String> = w
        .plugin
        .cve
        .iter()
        .flatten()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    cves.sort();
    cves.dedup();
    Ok(Finding {
        source: source.to_owned(),
        kind: SourceKind::Vm,
        id: finding_key(&asset_id, plugin_id, port, &protocol),
        asset_id,
        unified_asset_id: None,
        plugin_id,
        plugin_name: opt_str(&w.plugin.name),
        plugin_family: opt_str(&w.plugin.family),
        severity,
        state,
        port,
        protocol,
        service: opt_str(&w.port.service),
        cves,
        cvss3_base_score: w.plugin.cvss3_base_score,
        cvss2_base_score: w.plugin.cvss_base_score,
        vpr_score: w.plugin.vpr.as_ref().and_then(|v| v.score),
        first_found: opt_time(&w.first_found),
        last_found: opt_time(&w.last_found),
        last_fixed: opt_time(&w.last_fixed),
        hostname: opt_str(&w.asset.hostname).or_else(|| opt_str(&w.asset.fqdn)),
        ipv4: opt_str(&w.asset.ipv4),
        synopsis: opt_text(&w.plugin.synopsis),
        solution: opt_text(&w.plugin.solution),
        output: opt_text(&w.output),
    })
}

/// Maps one asset export (v1) record.
pub fn to_asset(source: &str, w: &wire::Asset<'_>) -> Asset {
    let hostnames = list(&w.hostnames);
    let fqdns = list(&w.fqdns);
    let ipv4s = list(&w.ipv4s);
    let netbios = list(&w.netbios_names);
    let mut macs: Vec<String> = Vec::new();
    for m in w.mac_addresses.iter().flatten() {
        if let Some(n) = normalize_mac(m)
            && !macs.contains(&n)
        {
            macs.push(n);
        }
    }
    let name = fqdns
        .first()
        .or(hostnames.first())
        .or(netbios.first())
        .or(ipv4s.first())
        .cloned();
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for t in w.tags.iter().flatten() {
        let (Some(k), Some(v)) = (opt_str(&t.key), opt_str(&t.value)) else {
            continue;
        };
        tags.entry(k)
            .and_modify(|cur| {
                cur.push_str(", ");
                cur.push_str(&v);
            })
            .or_insert(v);
    }
    Asset {
        source: source.to_owned(),
        kind: Some(SourceKind::Vm),
        id: w.id.trim().to_owned(),
        unified_id: None,
        name,
        hostnames,
        fqdns,
        ipv4s,
        ipv6s: list(&w.ipv6s),
        macs,
        operating_systems: list(&w.operating_systems),
        asset_type: list(&w.system_types).into_iter().next(),
        vendor: None,
        model: None,
        firmware: None,
        first_seen: opt_time(&w.first_seen),
        last_seen: opt_time(&w.last_seen),
        tags,
        risk: w.acr_score,
        deleted_at: opt_time(&w.deleted_at).or_else(|| opt_time(&w.terminated_at)),
    }
}

/// Parses and maps one finding record from its JSON bytes.
pub fn parse_finding(source: &str, index: u64, raw: &[u8]) -> Result<Finding, MapError> {
    let w: wire::Finding<'_> = serde_json::from_slice(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    to_finding(source, index, &w)
}

/// Parses and maps one finding record from its JSON text (already known to be UTF-8, so the
/// parser does not check strings again).
pub fn parse_finding_str(source: &str, index: u64, raw: &str) -> Result<Finding, MapError> {
    let w: wire::Finding<'_> = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    to_finding(source, index, &w)
}

/// Parses and maps one asset record from its JSON bytes.
pub fn parse_asset(source: &str, index: u64, raw: &[u8]) -> Result<Asset, MapError> {
    let w: wire::Asset<'_> = serde_json::from_slice(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    asset_from_wire(source, index, &w)
}

/// Parses and maps one asset record from its JSON text (already known to be UTF-8).
pub fn parse_asset_str(source: &str, index: u64, raw: &str) -> Result<Asset, MapError> {
    let w: wire::Asset<'_> = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    asset_from_wire(source, index, &w)
}

fn asset_from_wire(source: &str, index: u64, w: &wire::Asset<'_>) -> Result<Asset, MapError> {
    if w.id.trim().is_empty() {
        return Err(MapError::Field {
            index,
            field: "id",
            problem: "is empty".into(),
        });
    }
    Ok(to_asset(source, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_finding_maps() {
        let raw = br#"{"asset":{"uuid":"a-1","ipv4":"10.0.0.1"},"plugin":{"id":"19506","cve":["cve-2021-1"," CVE-2020-2","CVE-2021-1"]},"port":{"port":0,"protocol":"TCP"},"severity_id":3,"state":"REOPENED"}"#;
        let f = parse_finding("cloud", 0, raw).unwrap();
        assert_eq!(f.id, "a-1:19506:0:tcp");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.state, FindingState::Reopened);
        assert_eq!(f.cves, ["CVE-2020-2", "CVE-2021-1"]);
        assert_eq!(f.plugin_name, None);
        assert_eq!(f.hostname, None);
    }

    #[test]
    fn bad_findings_name_the_field() {
        let e = parse_finding(
            "c",
            4,
            br#"{"asset":{},"plugin":{"id":1},"state":"OPEN","severity":"low"}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "record 4: asset.uuid is missing");
        let e = parse_finding(
            "c",
            0,
            br#"{"asset":{"uuid":"a"},"plugin":{"id":1},"state":"GONE","severity":"low"}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "record 0: state unknown state `GONE`");
        assert!(matches!(
            parse_finding("c", 0, b"{\"asset\":1}"),
            Err(MapError::Json { .. })
        ));
    }

    #[test]
    fn asset_prefers_fqdn_for_name_and_normalizes_macs() {
        let raw = br#"{"id":"x","fqdns":["h.example.com"],"hostnames":["h"],"mac_addresses":["00:50:56:A6:49:2A","bogus"],"acr_score":"9.0","tags":[{"key":"Env","value":"prod"},{"key":"Env","value":"dmz"}],"deleted_at":null,"terminated_at":"2024-01-02T03:04:05.000Z","system_types":[]}"#;
        let a = parse_asset("c", 0, raw).unwrap();
        assert_eq!(a.name.as_deref(), Some("h.example.com"));
        assert_eq!(a.macs, ["00:50:56:a6:49:2a"]);
        assert_eq!(a.risk, Some(9.0));
        assert_eq!(a.tags.get("Env").map(String::as_str), Some("prod, dmz"));
        assert_eq!(a.asset_type, None);
        assert_eq!(
            a.deleted_at.unwrap().to_rfc3339(),
            "2024-01-02T03:04:05+00:00"
        );
    }
}
