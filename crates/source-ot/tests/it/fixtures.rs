//! The recorded appliance pages (pyTenable cassettes, OT 3.x) and Tenable's mocks, mapped
//! field by field. Copies live in `testdata/ot/` (provenance: `testdata/ot/README.md`).

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use tenax_model::{FindingState, Severity, SourceKind, parse_timestamp};
use tenax_source_ot::map::{self, Catalog};
use tenax_source_ot::wire::Connection;

fn nodes(text: &str, root: &str) -> Vec<String> {
    let v: BTreeMap<String, BTreeMap<String, &RawValue>> = serde_json::from_str(text).unwrap();
    let conn: Connection<'_> = serde_json::from_str(v["data"][root].get()).unwrap();
    conn.nodes.iter().map(|n| n.get().to_owned()).collect()
}

fn t(s: &str) -> Option<tenax_model::Timestamp> {
    parse_timestamp(s)
}

const ASSETS: &str = include_str!("../../../../testdata/ot/assets_page1_response.recorded.json");
const EVENTS: &str = include_str!("../../../../testdata/ot/events_page1_response.recorded.json");
const PLUGINS: &str = include_str!("../../../../testdata/ot/plugins_page1_response.recorded.json");
const PLUGIN_DETAILS: &str =
    include_str!("../../../../testdata/ot/plugin_with_details_response.mock.json");
const ASSET_BY_ID: &str = include_str!("../../../../testdata/ot/asset_by_id_response.mock.json");
const FINDINGS: &str = include_str!("../../../../testdata/ot/findings__test_list.synthetic.json");

#[test]
fn recorded_assets_page_maps_field_by_field() {
    let raw = nodes(ASSETS, "assets");
    assert_eq!(raw.len(), 2);
    let (plc, last_update) = map::parse_asset("plant-a", 0, &raw[0]).unwrap();
    assert_eq!(plc.source, "plant-a");
    assert_eq!(plc.kind, Some(SourceKind::Ot));
    assert_eq!(plc.id, "ffa38748-e7a1-4374-b6e0-4c4d79b19138");
    assert_eq!(plc.name.as_deref(), Some("Sith"));
    assert_eq!(plc.ipv4s, ["10.100.101.152"]);
    assert!(plc.ipv6s.is_empty() && plc.macs.is_empty());
    assert!(plc.hostnames.is_empty() && plc.fqdns.is_empty());
    assert!(plc.operating_systems.is_empty(), "os is null");
    assert_eq!(plc.asset_type.as_deref(), Some("plc"));
    assert_eq!(plc.vendor.as_deref(), Some("Rockwell"));
    assert_eq!(plc.model.as_deref(), Some("1756-L61/B LOGIX5561"));
    assert_eq!(plc.firmware.as_deref(), Some("13.071"));
    assert_eq!(plc.first_seen, t("2023-01-13T17:31:02.895915Z"));
    assert_eq!(plc.last_seen, t("2023-01-18T08:25:34.067335Z"));
    assert_eq!(last_update, t("2023-01-19T00:00:01.846146Z"));
    assert_eq!(plc.risk, Some(53.134920602608716));
    assert_eq!(plc.deleted_at, None);
    assert_eq!(plc.unified_id, None);
    let tags: Vec<(&str, &str)> = plc
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("backplane", "Backplane #17"),
            ("backplane_id", "86a99715-1b46-4b82-b194-1b47063b7610"),
            ("category", "ControllersCategory"),
            ("criticality", "HighCriticality"),
            ("family", "ControlLogix 5560"),
            ("purdue_level", "Level1"),
            ("segments", "Controller / 10.100.101.X"),
            ("serial", "7D4F66"),
            ("slot", "2"),
            ("super_type", "Controller"),
        ]
    );

    let (switch, last_update) = map::parse_asset("plant-a", 1, &raw[1]).unwrap();
    assert_eq!(switch.id, "fef371cd-70ac-4480-9c57-f69c0906f2ab");
    assert_eq!(
        switch.name.as_deref(),
        Some("arista7010.lab.tenablesecurity.com")
    );
    assert_eq!(switch.ipv4s, ["172.26.0.140"]);
    // `Unknown` type / super type carry no information: null, not "unknown".
    assert_eq!(switch.asset_type, None);
    assert_eq!(switch.vendor, None);
    assert_eq!(switch.model, None);
    assert_eq!(switch.firmware, None);
    assert_eq!(switch.first_seen, t("2023-01-13T17:25:10.676757Z"));
    assert_eq!(switch.last_seen, t("2023-01-19T05:47:06.353794Z"));
    assert_eq!(last_update, t("2023-01-19T05:47:28.213643Z"));
    assert_eq!(switch.risk, Some(0.0));
    assert_eq!(
        switch.tags.get("purdue_level").map(String::as_str),
        Some("Level3")
    );
    assert_eq!(
        switch.tags.get("criticality").map(String::as_str),
        Some("LowCriticality")
    );
    assert_eq!(switch.tags.get("super_type"), None);
    assert_eq!(switch.tags.get("backplane"), None);
    assert_eq!(switch.tags.get("slot"), None);
    assert_eq!(switch.tags.get("serial"), None);
    // Nothing maps to an empty string.
    let json = serde_json::to_string(&switch).unwrap();
    assert!(!json.contains("\"\""), "{json}");
}

#[test]
fn mock_asset_by_id_maps_macs_and_comm_adapter_type() {
    let raw = nodes(ASSET_BY_ID, "assets");
    let (a, last_update) = map::parse_asset("ot", 0, &raw[0]).unwrap();
    assert_eq!(a.id, "fff9f1b9-26db-4bf4-9d87-bd915aaede36");
    assert_eq!(a.name.as_deref(), Some("Comm. Adapter #110"));
    assert_eq!(a.asset_type.as_deref(), Some("cp"));
    assert_eq!(a.macs, ["f4:54:33:a6:78:c9"]);
    assert_eq!(a.ipv4s, ["10.100.101.158"]);
    assert_eq!(a.vendor.as_deref(), Some("Rockwell"));
    assert_eq!(a.model.as_deref(), Some("1763-L16BBB B/11.00"));
    assert_eq!(a.firmware.as_deref(), Some("2.011"));
    assert_eq!(a.risk, Some(23.87340490112799));
    assert_eq!(last_update, t("2022-09-11T10:40:28.234644Z"));
    assert_eq!(a.tags.get("serial").map(String::as_str), Some("33A678C9"));
}

#[test]
fn direct_addresses_come_first_and_macs_are_normalized() {
    let raw = r#"{"id": "a", "name": " ", "type": "Plc", "ips": {"nodes": ["10.0.0.9", "fe80::1", "bogus"]},
        "directIps": {"nodes": ["10.0.0.1", null]}, "macs": {"nodes": ["00-11-22-AA-BB-CC"]},
        "directMacs": {"nodes": ["0011.22aa.bbcd"]}, "firstSeen": "0001-01-01T00:00:00Z",
        "risk": {"totalRisk": "12.5"}, "os": "Windows Server 2008 R2", "hidden": true}"#;
    let (a, lu) = map::parse_asset("ot", 0, raw).unwrap();
    assert_eq!(a.name, None);
    assert_eq!(a.ipv4s, ["10.0.0.1", "10.0.0.9"]);
    assert_eq!(a.ipv6s, ["fe80::1"]);
    assert_eq!(a.macs, ["00:11:22:aa:bb:cd", "00:11:22:aa:bb:cc"]);
    assert_eq!(a.first_seen, None);
    assert_eq!(lu, None);
    assert_eq!(a.risk, Some(12.5));
    assert_eq!(a.operating_systems, ["Windows Server 2008 R2"]);
    assert_eq!(a.tags.get("hidden").map(String::as_str), Some("true"));
    assert!(map::parse_asset("ot", 3, r#"{"name": "x"}"#).is_err());
    assert!(map::parse_asset("ot", 3, r#"{"id": " "}"#).is_err());
}

#[test]
fn recorded_events_page_maps_field_by_field() {
    let raw = nodes(EVENTS, "events");
    assert_eq!(raw.len(), 2);
    let e = map::parse_event("plant-a", 0, &raw[0]).unwrap();
    assert_eq!(e.source, "plant-a");
    assert_eq!(e.kind, SourceKind::Ot);
    assert_eq!(e.id, "d8f02534-d603-43bd-8042-6553f004aacb");
    assert_eq!(e.time, t("2023-01-13T19:49:55.045578Z"));
    assert_eq!(e.event_type.as_deref(), Some("OpenPort"));
    assert_eq!(e.category.as_deref(), Some("NetworkEvents"));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.description.as_deref(), Some("Open Port"));
    assert_eq!(
        e.policy.as_deref(),
        Some("Use of Unauthorized Port in Rockwell Controllers")
    );
    assert_eq!(e.src_ip.as_deref(), Some("10.100.101.150"));
    assert_eq!(e.dst_ip, None);
    assert_eq!(e.src_mac, None);
    assert_eq!(e.dst_mac, None);
    assert_eq!(e.protocol.as_deref(), Some("sip (tcp/5060)"));
    assert_eq!(e.port, Some(5060));
    assert_eq!(
        e.asset_ids,
        [
            "abdd9bbe-373a-45a9-8631-5da18d47fa5e",
            "144de10b-fc83-44d0-88f3-31dae49e361f",
            "17be14b6-106e-4c47-9ef4-e17ec70aec9d"
        ]
    );
    assert!(!e.resolved);

    let e = map::parse_event("plant-a", 1, &raw[1]).unwrap();
    assert_eq!(e.id, "60b44da1-97ea-4d1a-8714-8772a4246a40");
    assert_eq!(e.time, t("2023-01-13T23:58:12.282866Z"));
    assert_eq!(e.event_type.as_deref(), Some("Conversation"));
    assert_eq!(e.description.as_deref(), Some("Unauthorized Conversation"));
    assert_eq!(
        e.policy.as_deref(),
        Some("Communication from External Network")
    );
    assert_eq!(e.src_ip.as_deref(), Some("172.26.71.194"));
    assert_eq!(e.dst_ip.as_deref(), Some("172.26.71.255"));
    assert_eq!(e.protocol.as_deref(), Some("BROWSER (udp/138)"));
    assert_eq!(e.port, Some(138));
    assert!(e.asset_ids.is_empty());
    assert_eq!(e.severity, Some(Severity::Medium));
}

#[test]
fn recorded_plugins_page_and_plugin_details_map() {
    let raw = nodes(PLUGINS, "plugins");
    let (id, p) = map::parse_plugin(0, &raw[0]).unwrap();
    assert_eq!(id, 765088);
    assert_eq!(
        p.name.as_deref(),
        Some("Siemens SCALANCE XM416-4C Managed Modular IE Switch")
    );
    assert_eq!(p.family.as_deref(), Some("SCADA"));
    assert_eq!(p.severity, Some(Severity::Info));
    assert_eq!(p.vpr, None);
    assert!(p.cves.is_empty());
    assert_eq!((p.cvss2, p.cvss3), (None, None));
    let (id, p) = map::parse_plugin(1, &raw[1]).unwrap();
    assert_eq!(id, 764524);
    assert_eq!(
        p.name.as_deref(),
        Some("Automation Message Specification (AMS) UDP Client Detection")
    );

    let raw = nodes(PLUGIN_DETAILS, "plugins");
    let (id, p) = map::parse_plugin(0, &raw[0]).unwrap();
    assert_eq!(id, 720250);
    assert_eq!(p.severity, Some(Severity::Medium));
    assert_eq!(p.family.as_deref(), Some("SCADA"));
    assert_eq!(p.cves, ["CVE-2018-7833"]);
    assert_eq!(p.cvss2, Some(5.0));
    assert_eq!(p.cvss3, Some(7.5));
    assert!(
        p.description
            .as_deref()
            .is_some_and(|d| d.starts_with("An Improper Check for Unusual"))
    );
    assert_eq!(
        p.solution.as_deref(),
        Some("Perform vendor recommended mitigations and apply available vendor upgrades.")
    );
}

#[test]
fn graphql_findings_map_with_the_plugin_catalogue() {
    // The catalogue (plugins sweep) fills what the finding's nested plugin does not carry.
    let mut catalog = Catalog::new();
    let (id, mut p) = map::parse_plugin(0, &nodes(PLUGIN_DETAILS, "plugins")[0]).unwrap();
    p.solution = Some("from the catalogue".into());
    catalog.insert(id, p);
    catalog.insert(
        502387,
        map::PluginInfo {
            cvss2: Some(1.0),
            ..map::PluginInfo::default()
        },
    );
    let raw = nodes(FINDINGS, "findings");
    let f = map::parse_finding("plant-a", 0, &raw[0], &catalog).unwrap();
    assert_eq!(f.kind, SourceKind::Ot);
    assert_eq!(f.asset_id, "5cb025fd-524b-47f1-81f7-bd472b450c7d");
    assert_eq!(f.plugin_id, 502387);
    assert_eq!(
        f.id,
        tenax_model::finding_key("5cb025fd-524b-47f1-81f7-bd472b450c7d", 502387, 0, "tcp")
    );
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.state, FindingState::Open);
    assert_eq!(f.port, 0);
    assert_eq!(f.protocol, "tcp");
    assert_eq!(f.service, None, "svcName null");
    assert_eq!(f.cves, ["CVE-2018-3938"]);
    // This synthetic fixture sends numbers where real data sends strings: both are read.
    assert_eq!(f.cvss3_base_score, Some(10.0));
    assert_eq!(f.cvss2_base_score, Some(10.0));
    assert_eq!(f.vpr_score, Some(6.5));
    assert_eq!(f.first_found, t("2026-03-04T17:05:24.449819Z"));
    assert_eq!(f.last_found, t("2026-03-04T17:05:24.449819Z"));
    assert_eq!(f.last_fixed, None);
    assert_eq!(f.hostname.as_deref(), Some("Server Room - SNC-EB630"));
    assert_eq!(f.ipv4.as_deref(), Some("192.168.1.100"));
    assert_eq!(f.solution.as_deref(), Some("Apply vendor updates"));
    assert_eq!(f.output.as_deref(), Some("Test output"));
    assert_eq!(
        f.plugin_name.as_deref(),
        Some("Sony Network Cameras Stack-based Buffer Overflow (CVE-2018-3938)")
    );
    assert_eq!(f.plugin_family.as_deref(), Some("Tenable.ot"));

    // A lean finding (what the connector selects) takes plugin details from the catalogue.
    let lean = r#"{"id": "x", "status": "Resolved", "firstHit": "2024-01-01T00:00:00Z",
        "lastHit": "2024-02-01T00:00:00Z", "fixedAt": "2024-03-01T00:00:00Z", "port": 502,
        "protocol": "TCP", "svcName": "modbus", "output": "", "asset": {"id": "a9", "name": "PLC"},
        "plugin": {"id": 720250, "name": "n", "family": "SCADA", "severity": "Medium", "vprScore": null}}"#;
    let f = map::parse_finding("plant-a", 1, lean, &catalog).unwrap();
    assert_eq!(f.id, "a9:720250:502:tcp");
    assert_eq!(f.state, FindingState::Fixed);
    assert_eq!(f.last_fixed, t("2024-03-01T00:00:00Z"));
    assert_eq!(f.service.as_deref(), Some("modbus"));
    assert_eq!(f.output, None);
    assert_eq!(f.cves, ["CVE-2018-7833"]);
    assert_eq!(f.cvss3_base_score, Some(7.5));
    assert_eq!(f.solution.as_deref(), Some("from the catalogue"));
    assert_eq!(f.plugin_name.as_deref(), Some("n"));
    assert!(map::parse_finding("ot", 2, r#"{"plugin": {"id": 1}}"#, &catalog).is_err());
}
