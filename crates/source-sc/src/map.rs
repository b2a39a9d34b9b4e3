//! Security Center wire rows → tenax model.
//!
//! # Identity
//!
//! - Host (`asset_id`): `hostUUID` when non-empty, else `uuid` (agent uuid) when non-empty,
//!   else `<repository id>:<ip>`. A uuid follows the host across DHCP address changes; an IP
//!   is only unique within a repository (SC's own `uniqueness` is `repositoryID,ip,…`).
//! - Finding (`id`): `<repository id>:<host uuid or ip>:<plugin>:<port>:<protocol>`, i.e.
//!   [`finding_key`] of `<repository id>:<host uuid or ip>` — repository + host + plugin +
//!   port + protocol, as SC's `vulnUniqueness` (`repositoryID,ip,port,protocol,pluginID`, or
//!   `uuid` instead of `ip` for agent repositories). With a uuid the key does not change when
//!   the IP does, so a DHCP change does not duplicate the finding.

use std::borrow::Cow;
use std::collections::BTreeMap;

use tenax_model::{
    Asset, Finding, FindingState, Severity, SourceKind, finding_key, non_empty, normalize_mac,
};

use tenax_source::map::{opt_str, opt_text, opt_time};

use crate::wire::{self, parse_f64, parse_i64};

pub use tenax_source::map::MapError;

/// The analysis `sourceType` a row came from; it decides the finding state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScSourceType {
    /// Current vulnerabilities: open, or reopened when `hasBeenMitigated` is `"1"`.
    Cumulative,
    /// Mitigated vulnerabilities: fixed, `last_fixed` = `lastMitigated`.
    Patched,
}

impl ScSourceType {
    /// The `sourceType` value of the analysis request.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cumulative => "cumulative",
            Self::Patched => "patched",
        }
    }
}

fn score(c: &Option<Cow<'_, str>>) -> Option<f64> {
    c.as_deref().and_then(parse_f64)
}

/// `pluginText` without the `<plugin_output>` wrapper SC puts around the output.
pub fn plugin_output(raw: &str) -> Option<String> {
    let t = raw.trim();
    let t = t
        .strip_prefix("<plugin_output>")
        .map(|r| r.strip_suffix("</plugin_output>").unwrap_or(r))
        .unwrap_or(t);
    (!t.trim().is_empty()).then(|| t.to_owned())
}

/// The host part of a NetBIOS name: `WORKGROUP\NAME` → `NAME`.
pub fn netbios_host(raw: &str) -> Option<String> {
    let t = raw.trim();
    non_empty(Some(t.rsplit('\\').next().unwrap_or(t)))
}

/// Lowercase protocol name from SC's spelling: `TCP`/`tcp`/`6` → `tcp`, `17` → `udp`,
/// `1` → `icmp`; other numbers stay as they are; missing or blank → `tcp`.
pub fn protocol_name(raw: Option<&str>) -> String {
    let t = raw.map(str::trim).unwrap_or("");
    match t {
        "" => "tcp".to_owned(),
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "1" => "icmp".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// CVE ids from SC's comma-separated `cve`: trimmed, uppercase, sorted, unique.
pub fn split_cves(raw: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = raw
        .unwrap_or("")
        .split(',')
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The host identity of a row: `(asset_id, finding-key scope)`. The scope is
/// `<repository id>:<uuid or ip>`; the asset id is the uuid, or the scope when the host has
/// no uuid. `field` names what is missing.
fn host_identity(
    repository: Option<&wire::RepositoryRef<'_>>,
    host_uuid: &Option<Cow<'_, str>>,
    uuid: &Option<Cow<'_, str>>,
    ip: &Option<Cow<'_, str>>,
) -> Result<(String, String), &'static str> {
    let repo = repository
        .and_then(|r| opt_str(&r.id))
        .ok_or("repository.id")?;
    identity_of(repo, opt_str(host_uuid).or_else(|| opt_str(uuid)), ip)
}

/// [`host_identity`] from a repository id and the host's uuid, if any.
fn identity_of(
    repo: String,
    uuid: Option<String>,
    ip: &Option<Cow<'_, str>>,
) -> Result<(String, String), &'static str> {
    if let Some(u) = uuid {
        let scope = format!("{repo}:{u}");
        return Ok((u, scope));
    }
    let ip = opt_str(ip).ok_or("ip")?;
    let id = format!("{repo}:{ip}");
    Ok((id.clone(), id))
}

/// Maps one `vulndetails` row of the given `sourceType`.
pub fn to_finding(
    source: &str,
    source_type: ScSourceType,
    index: u64,
    w: &wire::VulnDetail<'_>,
) -> Result<Finding, MapError> {
    let field = |field: &'static str, problem: &str| MapError::Field {
        index,
        field,
        problem: problem.to_owned(),
    };
    let plugin_id = match w.plugin_id.as_deref().map(str::trim) {
        None | Some("") => return Err(field("pluginID", "is missing")),
        Some(t) => parse_i64(t).ok_or_else(|| field("pluginID", "is not a number"))?,
    };
    let sev = w.severity.as_ref();
    let severity = match (
        sev.and_then(|x| opt_str(&x.id)),
        sev.and_then(|x| opt_str(&x.name)),
    ) {
        (Some(id), _) => parse_i64(&id)
            .and_then(Severity::from_id)
            .ok_or_else(|| field("severity.id", "is not 0..4"))?,
        (None, Some(name)) => name
            .parse::<Severity>()
            .map_err(|e| field("severity.name", &e.to_string()))?,
        (None, None) => return Err(field("severity", "is missing")),
    };
    let (asset_id, scope) = host_identity(w.repository.as_ref(), &w.host_uuid, &w.uuid, &w.ip)
        .map_err(|f| field(f, "is missing"))?;
    let port = match w.port.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(t) => parse_i64(t).ok_or_else(|| field("port", "is not a number"))?,
    };
    let protocol = protocol_name(w.protocol.as_deref());
    let (state, last_fixed) = match source_type {
        ScSourceType::Cumulative => {
            let reopened = w.has_been_mitigated.as_deref().map(str::trim) == Some("1");
            let state = if reopened {
                FindingState::Reopened
            } else {
                FindingState::Open
            };
            (state, None)
        }
        ScSourceType::Patched => (FindingState::Fixed, opt_time(&w.last_mitigated)),
    };
    Ok(Finding {
        source: source.to_owned(),
        kind: SourceKind::Sc,
        id: finding_key(&scope, plugin_id, port, &protocol),
        asset_id,
        unified_asset_id: None,
        plugin_id,
        plugin_name: opt_str(&w.plugin_name),
        plugin_family: w.family.as_ref().and_then(|f| opt_str(&f.name)),
        severity,
        state,
        port,
        protocol,
        service: None,
        cves: split_cves(w.cve.as_deref()),
        cvss3_base_score: score(&w.cvss_v3_base_score),
        cvss2_base_score: score(&w.base_score),
        vpr_score: score(&w.vpr_score),
        first_found: opt_time(&w.first_seen),
        last_found: opt_time(&w.last_seen),
        last_fixed,
        hostname: opt_str(&w.dns_name).or_else(|| w.netbios_name.as_deref().and_then(netbios_host)),
        ipv4: opt_str(&w.ip),
        synopsis: opt_text(&w.synopsis),
        solution: opt_text(&w.solution),
        output: w.plugin_text.as_deref().and_then(plugin_output),
    })
}

/// What both host endpoints say about a host, in the model's terms.
struct HostParts {
    id: String,
    names: [Option<String>; 3],
    ip: Option<String>,
    mac: Option<String>,
    os: Option<String>,
    asset_type: Option<String>,
    first_seen: Option<tenax_model::Timestamp>,
    last_seen: Option<tenax_model::Timestamp>,
    repository: Option<String>,
    risk: Option<f64>,
}

/// Builds the asset the same way for `sumip` and inventory hosts. `names` are the DNS name,
/// the NetBIOS name and any other name, in that order; each goes to `fqdns` (with a dot) or
/// `hostnames` once (case-insensitively), IP-address-looking names are dropped.
fn host_asset(source: &str, p: HostParts) -> Asset {
    let mut fqdns: Vec<String> = Vec::new();
    let mut hostnames: Vec<String> = Vec::new();
    for n in p.names.into_iter().flatten() {
        if n.parse::<std::net::IpAddr>().is_ok()
            || hostnames
                .iter()
                .chain(&fqdns)
                .any(|h| h.eq_ignore_ascii_case(&n))
        {
            continue;
        }
        if n.contains('.') {
            fqdns.push(n);
        } else {
            hostnames.push(n);
        }
    }
    let (mut ipv4s, mut ipv6s) = (Vec::new(), Vec::new());
    if let Some(ip) = p.ip {
        if ip.contains(':') {
            ipv6s.push(ip);
        } else {
            ipv4s.push(ip);
        }
    }
    let mut tags = BTreeMap::new();
    if let Some(name) = p.repository {
        tags.insert(crate::lists::REPOSITORY_TAG.to_owned(), name);
    }
    let name = fqdns
        .first()
        .or(hostnames.first())
        .or(ipv4s.first())
        .or(ipv6s.first())
        .cloned();
    Asset {
        source: source.to_owned(),
        kind: Some(SourceKind::Sc),
        id: p.id,
        unified_id: None,
        name,
        hostnames,
        fqdns,
        ipv4s,
        ipv6s,
        macs: p
            .mac
            .as_deref()
            .and_then(normalize_mac)
            .into_iter()
            .collect(),
        operating_systems: p.os.into_iter().collect(),
        asset_type: p.asset_type,
        vendor: None,
        model: None,
        firmware: None,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        tags,
        risk: p.risk,
        deleted_at: None,
    }
}

fn missing(index: u64) -> impl Fn(&'static str) -> MapError {
    move |field| MapError::Field {
        index,
        field,
        problem: "is missing".into(),
    }
}

/// Maps one `sumip` (or `deviceInfo`) row to the host asset, with the same host identity as
/// the findings on it. Also returns the repository id (for asset-list membership).
pub fn to_host_asset_in(
    source: &str,
    index: u64,
    w: &wire::HostSummary<'_>,
) -> Result<(Asset, String), MapError> {
    let (id, _) = host_identity(w.repository.as_ref(), &w.host_uuid, &w.uuid, &w.ip)
        .map_err(missing(index))?;
    let repo = w
        .repository
        .as_ref()
        .and_then(|r| opt_str(&r.id))
        .unwrap_or_default();
    let asset = host_asset(
        source,
        HostParts {
            id,
            names: [
                opt_str(&w.dns_name),
                w.netbios_name.as_deref().and_then(netbios_host),
                None,
            ],
            ip: opt_str(&w.ip),
            mac: opt_str(&w.mac_address),
            os: opt_str(&w.os).or_else(|| opt_str(&w.os_cpe)),
            asset_type: None,
            first_seen: None,
            last_seen: opt_time(&w.last_scan)
                .or_else(|| opt_time(&w.last_auth_run).max(opt_time(&w.last_unauth_run))),
            repository: w.repository.as_ref().and_then(|r| opt_str(&r.name)),
            risk: score(&w.acr_score),
        },
    );
    Ok((asset, repo))
}

/// Maps one `sumip` (or `deviceInfo`) row to the host asset, with the same host identity as
/// the findings on it.
pub fn to_host_asset(
    source: &str,
    index: u64,
    w: &wire::HostSummary<'_>,
) -> Result<Asset, MapError> {
    to_host_asset_in(source, index, w).map(|(a, _)| a)
}

/// Maps one host of the 6.x inventory (`/rest/hosts`) to the host asset, with the same
/// identity as `sumip` and the findings: `uuid` when non-empty (it is the `hostUUID` of the
/// host's `vulndetails` rows; `tenableUUID` is not used), else `<repository id>:<ip>`. The
/// repository id is `repository.id`, else `repID`. Also returns the repository id.
pub fn to_inventory_asset(
    source: &str,
    index: u64,
    w: &wire::HostRecord<'_>,
) -> Result<(Asset, String), MapError> {
    let repo = w
        .repository
        .as_ref()
        .and_then(|r| opt_str(&r.id))
        .or_else(|| opt_str(&w.rep_id))
        .ok_or_else(|| missing(index)("repository.id"))?;
    let (id, _) = identity_of(repo.clone(), opt_str(&w.uuid), &w.ip_address)
        .map_err(|f| missing(index)(if f == "ip" { "ipAddress" } else { f }))?;
    let asset = host_asset(
        source,
        HostParts {
            id,
            names: [
                opt_str(&w.dns),
                w.net_bios.as_deref().and_then(netbios_host),
                opt_str(&w.name),
            ],
            ip: opt_str(&w.ip_address),
            mac: opt_str(&w.mac_address),
            os: opt_str(&w.os),
            asset_type: opt_str(&w.system_type),
            first_seen: opt_time(&w.first_seen),
            last_seen: opt_time(&w.last_seen),
            repository: w.repository.as_ref().and_then(|r| opt_str(&r.name)),
            risk: score(&w.acr),
        },
    );
    Ok((asset, repo))
}

/// Parses and maps one `/rest/hosts` row from its JSON text (see [`to_inventory_asset`]).
pub fn parse_inventory_asset(
    source: &str,
    index: u64,
    raw: &str,
) -> Result<(Asset, String), MapError> {
    let w: wire::HostRecord<'_> = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    to_inventory_asset(source, index, &w)
}

/// Parses and maps one `vulndetails` row from its JSON text.
pub fn parse_finding(
    source: &str,
    source_type: ScSourceType,
    index: u64,
    raw: &str,
) -> Result<Finding, MapError> {
    let w: wire::VulnDetail<'_> = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    to_finding(source, source_type, index, &w)
}

/// Parses and maps one `sumip` row from its JSON text.
pub fn parse_host_asset(source: &str, index: u64, raw: &str) -> Result<Asset, MapError> {
    parse_host_asset_in(source, index, raw).map(|(a, _)| a)
}

/// Parses and maps one `sumip` row from its JSON text; also returns the repository id.
pub fn parse_host_asset_in(
    source: &str,
    index: u64,
    raw: &str,
) -> Result<(Asset, String), MapError> {
    let w: wire::HostSummary<'_> = serde_json::from_str(raw).map_err(|e| MapError::Json {
        index,
        message: e.to_string(),
    })?;
    to_host_asset_in(source, index, &w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = r#"{"pluginID":"97833","severity":{"id":"4","name":"Critical","description":"Critical Severity"},"hasBeenMitigated":"1","ip":"10.0.0.7","uuid":"","hostUUID":"","port":"445","protocol":"6","pluginName":"MS17-010","firstSeen":"1700000000","lastSeen":"1700086400","lastMitigated":"1699990000","synopsis":"s","solution":"Apply MS17-010.","vprScore":"9.8","baseScore":"10.0","cvssV3BaseScore":"8.1","cve":"cve-2017-0145, CVE-2017-0143,CVE-2017-0145,","pluginText":"<plugin_output>\nvulnerable\n</plugin_output>","dnsName":"","netbiosName":"CORP\\FS01","macAddress":"00-50-56-A6-55-8C","family":{"id":"20","name":"Windows","type":"active"},"repository":{"id":"3","name":"Corp","description":"","dataFormat":"IPv4"}}"#;

    #[test]
    fn cumulative_row_maps_every_field() {
        let f = parse_finding("sc", ScSourceType::Cumulative, 0, ROW).unwrap();
        assert_eq!(f.kind, SourceKind::Sc);
        assert_eq!(f.asset_id, "3:10.0.0.7");
        assert_eq!(f.id, "3:10.0.0.7:97833:445:tcp");
        assert_eq!(f.plugin_id, 97833);
        assert_eq!(f.plugin_name.as_deref(), Some("MS17-010"));
        assert_eq!(f.plugin_family.as_deref(), Some("Windows"));
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.state, FindingState::Reopened);
        assert_eq!((f.port, f.protocol.as_str()), (445, "tcp"));
        assert_eq!(f.cves, ["CVE-2017-0143", "CVE-2017-0145"]);
        assert_eq!(f.cvss3_base_score, Some(8.1));
        assert_eq!(f.cvss2_base_score, Some(10.0));
        assert_eq!(f.vpr_score, Some(9.8));
        assert_eq!(
            f.first_found.unwrap().to_rfc3339(),
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(
            f.last_found.unwrap().to_rfc3339(),
            "2023-11-15T22:13:20+00:00"
        );
        assert_eq!(f.last_fixed, None, "cumulative rows are not fixed");
        assert_eq!(f.hostname.as_deref(), Some("FS01"));
        assert_eq!(f.ipv4.as_deref(), Some("10.0.0.7"));
        assert_eq!(f.solution.as_deref(), Some("Apply MS17-010."));
        assert_eq!(f.output.as_deref(), Some("\nvulnerable\n"));
    }

    #[test]
    fn patched_rows_are_fixed_with_last_mitigated() {
        let f = parse_finding("sc", ScSourceType::Patched, 0, ROW).unwrap();
        assert_eq!(f.state, FindingState::Fixed);
        assert_eq!(
            f.last_fixed.unwrap().to_rfc3339(),
            "2023-11-14T19:26:40+00:00"
        );
        let row = ROW.replace(r#""hasBeenMitigated":"1""#, r#""hasBeenMitigated":"0""#);
        let f = parse_finding("sc", ScSourceType::Cumulative, 0, &row).unwrap();
        assert_eq!(f.state, FindingState::Open);
    }

    #[test]
    fn uuid_identity_survives_an_ip_change() {
        let a = ROW.replace(r#""hostUUID":"""#, r#""hostUUID":"h-1""#);
        let b = a.replace("10.0.0.7", "10.0.0.99");
        let fa = parse_finding("sc", ScSourceType::Cumulative, 0, &a).unwrap();
        let fb = parse_finding("sc", ScSourceType::Cumulative, 0, &b).unwrap();
        assert_eq!(fa.asset_id, "h-1");
        assert_eq!(fa.id, "3:h-1:97833:445:tcp");
        assert_eq!(fa.id, fb.id);
        assert_eq!(fb.ipv4.as_deref(), Some("10.0.0.99"));
        let agent = ROW.replace(r#""uuid":"""#, r#""uuid":"agent-9""#);
        let f = parse_finding("sc", ScSourceType::Cumulative, 0, &agent).unwrap();
        assert_eq!(
            (f.asset_id.as_str(), f.id.as_str()),
            ("agent-9", "3:agent-9:97833:445:tcp")
        );
        let other_repo = ROW.replace(r#""id":"3""#, r#""id":"4""#);
        let f = parse_finding("sc", ScSourceType::Cumulative, 0, &other_repo).unwrap();
        assert_eq!(f.id, "4:10.0.0.7:97833:445:tcp");
    }

    #[test]
    fn protocols_and_empties() {
        assert_eq!(protocol_name(Some("TCP")), "tcp");
        assert_eq!(protocol_name(Some("17")), "udp");
        assert_eq!(protocol_name(Some(" 1 ")), "icmp");
        assert_eq!(protocol_name(Some("ICMP")), "icmp");
        assert_eq!(protocol_name(Some("58")), "58");
        assert_eq!(protocol_name(None), "tcp");
        let f = parse_finding(
            "sc",
            ScSourceType::Cumulative,
            0,
            r#"{"pluginID":"1","severity":{"id":"0"},"ip":"1.2.3.4","repository":{"id":-1},"firstSeen":"-1","lastSeen":"","vprScore":"","cve":"","pluginText":"","dnsName":"","netbiosName":""}"#,
        )
        .unwrap();
        assert_eq!(f.id, "-1:1.2.3.4:1:0:tcp");
        assert_eq!((f.first_found, f.last_found), (None, None));
        assert_eq!((f.vpr_score, f.output, f.hostname), (None, None, None));
        assert!(f.cves.is_empty());
    }

    #[test]
    fn bad_rows_name_the_field() {
        let e = |raw: &str| {
            parse_finding("sc", ScSourceType::Cumulative, 7, raw)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e(r#"{"severity":{"id":"1"}}"#),
            "record 7: pluginID is missing"
        );
        assert_eq!(
            e(r#"{"pluginID":"x1"}"#),
            "record 7: pluginID is not a number"
        );
        assert_eq!(e(r#"{"pluginID":"1"}"#), "record 7: severity is missing");
        assert_eq!(
            e(r#"{"pluginID":"1","severity":{"id":"5"}}"#),
            "record 7: severity.id is not 0..4"
        );
        assert_eq!(
            e(r#"{"pluginID":"1","severity":{"id":"1"},"ip":"1.1.1.1"}"#),
            "record 7: repository.id is missing"
        );
        assert_eq!(
            e(r#"{"pluginID":"1","severity":{"id":"1"},"repository":{"id":"1"}}"#),
            "record 7: ip is missing"
        );
        assert_eq!(
            e(
                r#"{"pluginID":"1","severity":{"id":"1"},"ip":"1.1.1.1","repository":{"id":"1"},"port":"http"}"#
            ),
            "record 7: port is not a number"
        );
        let f = parse_finding(
            "sc",
            ScSourceType::Cumulative,
            0,
            r#"{"pluginID":"1","severity":{"name":"High"},"ip":"1.1.1.1","repository":{"id":"1"}}"#,
        )
        .unwrap();
        assert_eq!(f.severity, Severity::High);
        assert!(matches!(
            parse_finding("sc", ScSourceType::Cumulative, 0, "{\"pluginID\":"),
            Err(MapError::Json { .. })
        ));
    }

    #[test]
    fn host_row_maps() {
        let raw = r#"{"ip":"192.168.100.114","uuid":"c2d9","macAddress":"62:45:B4:ED:2F:1C","netbiosName":"UNKNOWN\\FREELANCER","dnsName":"freelancer","osCPE":"cpe:/o:microsoft:windows_10","lastAuthRun":"1545066276","lastUnauthRun":"","repository":{"id":"2","name":"Agents"}}"#;
        let a = parse_host_asset("sc", 0, raw).unwrap();
        assert_eq!(a.id, "c2d9");
        assert_eq!(a.kind, Some(SourceKind::Sc));
        assert_eq!(a.name.as_deref(), Some("freelancer"));
        assert_eq!(
            a.hostnames,
            ["freelancer"],
            "NetBIOS name equal to the DNS name once"
        );
        assert!(a.fqdns.is_empty());
        assert_eq!(a.macs, ["62:45:b4:ed:2f:1c"]);
        assert_eq!(a.operating_systems, ["cpe:/o:microsoft:windows_10"]);
        assert_eq!(
            a.last_seen.unwrap().to_rfc3339(),
            "2018-12-17T17:04:36+00:00"
        );
        assert_eq!(a.tags.get("repository").map(String::as_str), Some("Agents"));
        let raw = r#"{"ip":"fe80::1","uuid":"","os":"Linux","osCPE":"cpe:/o:linux","lastScan":"1545066276","repository":{"id":"5"}}"#;
        let a = parse_host_asset("sc", 0, raw).unwrap();
        assert_eq!(a.id, "5:fe80::1");
        assert_eq!((a.ipv6s.len(), a.ipv4s.len()), (1, 0));
        assert_eq!(a.operating_systems, ["Linux"]);
        assert_eq!(a.name.as_deref(), Some("fe80::1"));
        assert_eq!(
            parse_host_asset("sc", 2, r#"{"ip":"1.1.1.1"}"#)
                .unwrap_err()
                .to_string(),
            "record 2: repository.id is missing"
        );
    }

    #[test]
    fn inventory_hosts_map_with_the_sumip_identity() {
        // The same host as the simulator serves it from /rest/hosts and from sumip.
        let inv = r#"{"id":"154","uuid":"4f1c7e1e-1111-4a4a-8888-000000000001","tenableUUID":"t-1","name":"web01.corp.example","ipAddress":"10.0.0.7","os":"Ubuntu 22.04","firstSeen":"1700000000","lastSeen":"1700086400","macAddress":"00-50-56-A6-55-8C","netBios":"CORP\\WEB01","dns":"web01.corp.example","repID":"1","repository":{"id":"1","name":"Servers","description":"","dataFormat":"IPv4"},"systemType":"general_purpose","acr":"7.5","source":[{"type":"Nessus Scan"}]}"#;
        let sumip = r#"{"ip":"10.0.0.7","uuid":"","hostUUID":"4f1c7e1e-1111-4a4a-8888-000000000001","dnsName":"web01.corp.example","netbiosName":"CORP\\WEB01","macAddress":"00:50:56:a6:55:8c","repository":{"id":"1","name":"Servers"}}"#;
        let (a, repo) = parse_inventory_asset("sc", 0, inv).unwrap();
        let (b, repo_b) = parse_host_asset_in("sc", 0, sumip).unwrap();
        assert_eq!(a.id, "4f1c7e1e-1111-4a4a-8888-000000000001");
        assert_eq!(
            (a.id.as_str(), repo.as_str()),
            (b.id.as_str(), repo_b.as_str())
        );
        assert_eq!(a.fqdns, ["web01.corp.example"]);
        assert_eq!(a.hostnames, ["WEB01"]);
        assert_eq!(
            (a.fqdns.clone(), a.hostnames.clone()),
            (b.fqdns, b.hostnames)
        );
        assert_eq!(a.name.as_deref(), Some("web01.corp.example"));
        assert_eq!(a.ipv4s, ["10.0.0.7"]);
        assert_eq!(a.macs, ["00:50:56:a6:55:8c"]);
        assert_eq!(a.macs, b.macs);
        assert_eq!(a.operating_systems, ["Ubuntu 22.04"]);
        assert_eq!(a.asset_type.as_deref(), Some("general_purpose"));
        assert_eq!(a.first_seen.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(a.last_seen.unwrap().timestamp(), 1_700_086_400);
        assert_eq!(a.risk, Some(7.5));
        assert_eq!(
            a.tags.get("repository").map(String::as_str),
            Some("Servers")
        );
        assert_eq!(a.tags, b.tags);

        // IP-only: uuid empty (tenableUUID is not the identity), repository from repID.
        let inv = r#"{"uuid":"","tenableUUID":"t-2","name":"10.0.0.8","ipAddress":"10.0.0.8","repID":"2","acr":{"score":3}}"#;
        let (a, repo) = parse_inventory_asset("sc", 0, inv).unwrap();
        assert_eq!((a.id.as_str(), repo.as_str()), ("2:10.0.0.8", "2"));
        assert!(
            a.hostnames.is_empty() && a.fqdns.is_empty(),
            "an IP is not a name"
        );
        assert_eq!(a.name.as_deref(), Some("10.0.0.8"));
        assert_eq!(a.risk, None, "an undocumented acr shape is ignored");
        let sumip = r#"{"ip":"10.0.0.8","uuid":"","hostUUID":"","repository":{"id":"2"}}"#;
        assert_eq!(parse_host_asset("sc", 0, sumip).unwrap().id, a.id);

        let e = |raw: &str| parse_inventory_asset("sc", 3, raw).unwrap_err().to_string();
        assert_eq!(
            e(r#"{"ipAddress":"1.1.1.1"}"#),
            "record 3: repository.id is missing"
        );
        assert_eq!(
            e(r#"{"repID":"1","uuid":""}"#),
            "record 3: ipAddress is missing"
        );
        assert!(e(r#"{"repID":[1]}"#).starts_with("record 3: "));
    }

    #[test]
    fn text_helpers() {
        assert_eq!(
            plugin_output("<plugin_output>x</plugin_output>").as_deref(),
            Some("x")
        );
        assert_eq!(plugin_output("plain").as_deref(), Some("plain"));
        assert_eq!(plugin_output("<plugin_output></plugin_output>"), None);
        assert_eq!(netbios_host("WORKGROUP\\NAS").as_deref(), Some("NAS"));
        assert_eq!(netbios_host("NAS").as_deref(), Some("NAS"));
        assert_eq!(netbios_host("WORKGROUP\\"), None);
        assert_eq!(split_cves(Some(" ,cve-1, CVE-1")), ["CVE-1"]);
    }
}
