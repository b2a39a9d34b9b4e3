//! The real recorded export chunks (pyTenable cassettes, 2018 data model) map field by field.

use serde_json::Value;
use tenax_model::{FindingState, Severity, Timestamp, parse_timestamp};
use tenax_source_vm::map::{parse_asset, parse_finding};

/// The chunk records of a decoded pyTenable cassette in `testdata/vm/` (the response bodies
/// of its `/chunks/` requests), each with its raw JSON text.
fn data(name: &str) -> (Vec<Value>, Vec<String>) {
    let path = format!("{}/../../testdata/vm/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture present in the repository");
    let interactions: Vec<Value> = serde_json::from_str(&text).expect("a decoded cassette");
    let values: Vec<Value> = interactions
        .iter()
        .filter(|i| {
            i["request"]["uri"]
                .as_str()
                .is_some_and(|u| u.contains("/chunks/"))
        })
        .flat_map(|i| {
            i["response"]["body"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let raws = values.iter().map(|v| v.to_string()).collect();
    (values, raws)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn time_at(v: &Value, key: &str) -> Option<Timestamp> {
    v.get(key).and_then(Value::as_str).and_then(parse_timestamp)
}

#[test]
fn recorded_vulns_chunk_maps_every_finding_field_by_field() {
    let (values, raws) = data("test_exports_vulns.json");
    assert_eq!(values.len(), 344);
    let mut ids = std::collections::BTreeSet::new();
    for (i, (v, raw)) in values.iter().zip(&raws).enumerate() {
        let f = parse_finding("cloud", i as u64, raw.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let plugin = &v["plugin"];
        let port = &v["port"];
        assert_eq!(f.source, "cloud");
        assert_eq!(
            f.asset_id,
            str_at(v, &["asset", "uuid"]).unwrap(),
            "record {i}"
        );
        assert_eq!(f.plugin_id, plugin["id"].as_i64().unwrap(), "record {i}");
        assert_eq!(
            f.plugin_name.as_deref(),
            plugin["name"].as_str(),
            "record {i}"
        );
        assert_eq!(
            f.plugin_family.as_deref(),
            plugin["family"].as_str(),
            "record {i}"
        );
        assert_eq!(
            f.severity.as_str(),
            v["severity"].as_str().unwrap(),
            "record {i}"
        );
        assert_eq!(
            f.severity.id(),
            v["severity_id"].as_i64().unwrap(),
            "record {i}"
        );
        assert_eq!(
            f.state.as_str(),
            v["state"].as_str().unwrap().to_ascii_lowercase(),
            "record {i}"
        );
        assert_eq!(f.port, port["port"].as_i64().unwrap(), "record {i}");
        assert_eq!(
            f.protocol,
            port["protocol"].as_str().unwrap().to_ascii_lowercase()
        );
        assert_eq!(f.service.as_deref(), port["service"].as_str(), "record {i}");
        let mut cves: Vec<String> = plugin["cve"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        cves.sort();
        cves.dedup();
        assert_eq!(f.cves, cves, "record {i}");
        assert_eq!(
            f.cvss3_base_score,
            plugin["cvss3_base_score"].as_f64(),
            "record {i}"
        );
        assert_eq!(
            f.cvss2_base_score,
            plugin["cvss_base_score"].as_f64(),
            "record {i}"
        );
        assert_eq!(f.vpr_score, None, "2018 data has no VPR");
        assert_eq!(
            f.hostname.as_deref(),
            str_at(v, &["asset", "hostname"]),
            "record {i}"
        );
        assert_eq!(
            f.ipv4.as_deref(),
            str_at(v, &["asset", "ipv4"]),
            "record {i}"
        );
        assert_eq!(f.first_found, time_at(v, "first_found"), "record {i}");
        assert_eq!(f.last_found, time_at(v, "last_found"), "record {i}");
        assert_eq!(f.last_fixed, time_at(v, "last_fixed"), "record {i}");
        assert!(f.first_found.is_some() && f.last_found.is_some());
        assert_eq!(
            f.synopsis.as_deref(),
            plugin["synopsis"].as_str(),
            "record {i}"
        );
        assert_eq!(
            f.solution.as_deref(),
            plugin["solution"].as_str(),
            "record {i}"
        );
        assert_eq!(f.output.as_deref(), v["output"].as_str(), "record {i}");
        assert_eq!(f.unified_asset_id, None);
        ids.insert(f.id.clone());
    }
    assert_eq!(ids.len(), 344, "the natural key is unique in the chunk");
}

#[test]
fn recorded_vulns_chunk_spot_values() {
    let (_, raws) = data("test_exports_vulns.json");
    let f0 = parse_finding("cloud", 0, raws[0].as_bytes()).unwrap();
    assert_eq!(
        f0.id,
        "2d520484-6b83-4c63-b3d0-bf094315cc0f:10736:49678:tcp"
    );
    assert_eq!(f0.plugin_name.as_deref(), Some("DCE Services Enumeration"));
    assert_eq!(f0.plugin_family.as_deref(), Some("Windows"));
    assert_eq!(
        (f0.severity, f0.state),
        (Severity::Info, FindingState::Open)
    );
    assert_eq!(
        (f0.port, f0.protocol.as_str(), f0.service.as_deref()),
        (49678, "tcp", Some("dce-rpc"))
    );
    assert_eq!(f0.hostname.as_deref(), Some("192.168.16.147"));
    assert_eq!(f0.ipv4.as_deref(), Some("192.168.16.147"));
    assert_eq!(
        f0.first_found.unwrap().to_rfc3339(),
        "2018-03-14T20:43:32+00:00"
    );
    assert!(
        f0.output
            .as_deref()
            .unwrap()
            .starts_with("\nThe following DCERPC services")
    );

    let c = parse_finding("cloud", 3, raws[3].as_bytes()).unwrap();
    assert_eq!(c.plugin_id, 100931);
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(c.asset_id, "b666e9f5-fde7-4cd8-9c07-12c19246b616");
    assert_eq!(c.hostname.as_deref(), Some("docker.demo.io"));
    assert_eq!(c.ipv4.as_deref(), Some("192.168.15.104"));
    assert_eq!(c.cvss3_base_score, Some(9.8));
    assert_eq!(c.cvss2_base_score, Some(10.0));
    assert_eq!(c.cves.len(), 10);
    assert_eq!(c.cves[0], "CVE-2017-1000363");
    assert!(c.cves.contains(&"CVE-2017-9242".to_owned()));
    assert_eq!(c.port, 0);
    assert_eq!(
        c.plugin_family.as_deref(),
        Some("Ubuntu Local Security Checks")
    );

    let r = parse_finding("cloud", 7, raws[7].as_bytes()).unwrap();
    assert_eq!((r.plugin_id, r.state), (21745, FindingState::Reopened));
    assert_eq!(
        r.last_fixed.unwrap().to_rfc3339(),
        "2018-03-29T21:42:04+00:00"
    );
    assert_eq!(r.hostname.as_deref(), Some("192.168.15.104"));
}

#[test]
fn recorded_vulns_chunk_totals() {
    let (_, raws) = data("test_exports_vulns.json");
    let all: Vec<_> = raws
        .iter()
        .enumerate()
        .map(|(i, r)| parse_finding("cloud", i as u64, r.as_bytes()).unwrap())
        .collect();
    let count = |s: Severity| all.iter().filter(|f| f.severity == s).count();
    assert_eq!(
        [
            count(Severity::Info),
            count(Severity::Low),
            count(Severity::Medium),
            count(Severity::High),
            count(Severity::Critical)
        ],
        [265, 12, 11, 50, 6]
    );
    assert_eq!(
        all.iter()
            .filter(|f| f.state == FindingState::Reopened)
            .count(),
        7
    );
    assert_eq!(
        all.iter().filter(|f| f.state == FindingState::Open).count(),
        337
    );
    assert_eq!(all.iter().filter(|f| !f.cves.is_empty()).count(), 79);
}

#[test]
fn recorded_assets_chunk_maps_every_asset() {
    let (values, raws) = data("test_exports_assets.json");
    assert_eq!(values.len(), 100);
    for (i, (v, raw)) in values.iter().zip(&raws).enumerate() {
        let a = parse_asset("cloud", i as u64, raw.as_bytes()).unwrap();
        let strs = |k: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(a.id, v["id"].as_str().unwrap());
        assert_eq!(a.hostnames, strs("hostnames"), "asset {i}");
        assert_eq!(a.fqdns, strs("fqdns"), "asset {i}");
        assert_eq!(a.ipv4s, strs("ipv4s"), "asset {i}");
        assert_eq!(a.ipv6s, strs("ipv6s"), "asset {i}");
        let macs: Vec<String> = strs("mac_addresses")
            .iter()
            .map(|m| m.to_ascii_lowercase())
            .collect();
        assert_eq!(a.macs, macs, "asset {i}");
        assert_eq!(a.operating_systems, strs("operating_systems"), "asset {i}");
        assert_eq!(
            a.asset_type,
            strs("system_types").first().cloned(),
            "asset {i}"
        );
        assert_eq!(a.first_seen, time_at(v, "first_seen"), "asset {i}");
        assert_eq!(a.last_seen, time_at(v, "last_seen"), "asset {i}");
        assert_eq!(a.deleted_at, None);
        let want_name = strs("fqdns")
            .first()
            .or(strs("hostnames").first())
            .or(strs("netbios_names").first())
            .or(strs("ipv4s").first())
            .cloned();
        assert_eq!(a.name, want_name, "asset {i}");
    }
    let a = parse_asset("cloud", 0, raws[0].as_bytes()).unwrap();
    assert_eq!(a.id, "b666e9f5-fde7-4cd8-9c07-12c19246b616");
    assert_eq!(a.name.as_deref(), Some("docker.demo.io"));
    assert_eq!(a.ipv4s, ["192.168.15.104"]);
    assert_eq!(a.macs.len(), 10);
    assert_eq!(a.macs[0], "00:50:56:a6:49:2a");
    assert_eq!(
        a.operating_systems,
        ["Linux Kernel 4.8.0-53-generic on Ubuntu 16.04"]
    );
    assert_eq!(a.asset_type.as_deref(), Some("general-purpose"));
    assert_eq!(
        a.first_seen.unwrap().to_rfc3339(),
        "2018-03-14T20:43:03+00:00"
    );
    assert_eq!(
        a.last_seen.unwrap().to_rfc3339(),
        "2018-03-29T21:43:12+00:00"
    );
}
