//! The real recorded analysis pages (pyTenable cassettes, SC 5.8) map field by field.

use serde_json::Value;
use tenax_model::{FindingState, Severity, SourceKind, Timestamp, parse_timestamp};
use tenax_source_sc::map::{ScSourceType, parse_finding, parse_host_asset};
use tenax_source_sc::wire::{AnalysisPage, Envelope};

/// The rows of every `/rest/analysis` page of a decoded cassette in `testdata/sc/`, each with
/// its raw JSON text.
fn rows(name: &str) -> (Vec<Value>, Vec<String>) {
    let path = format!("{}/../../testdata/sc/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture present in the repository");
    let interactions: Vec<Value> = serde_json::from_str(&text).expect("a decoded cassette");
    let values: Vec<Value> = interactions
        .iter()
        .filter(|i| {
            i["request"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with("/rest/analysis"))
        })
        .flat_map(|i| {
            i["response"]["body"]["response"]["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let raws = values.iter().map(|v| v.to_string()).collect();
    (values, raws)
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[p];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is a string"))
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn time_at(v: &Value, key: &str) -> Option<Timestamp> {
    let s = str_at(v, &[key]);
    if s == "-1" || s.is_empty() {
        return None;
    }
    let secs: i64 = s.parse().unwrap();
    Some(chrono_free_epoch(secs))
}

/// Epoch seconds → timestamp through the model's parser of an RFC 3339 string built by hand,
/// so the test does not reuse the mapping's epoch path.
fn chrono_free_epoch(secs: i64) -> Timestamp {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let text = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    parse_timestamp(&text).unwrap()
}

#[test]
fn recorded_pages_parse_through_the_envelope() {
    let path = format!(
        "{}/../../testdata/sc/test_analysis_vulns_vulndetails_tool.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let interactions: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(interactions.len(), 2);
    for (n, i) in interactions.iter().enumerate() {
        let body = i["response"]["body"].to_string();
        let env: Envelope<'_> = serde_json::from_str(&body).unwrap();
        assert_eq!(env.error(), None);
        let page: AnalysisPage<'_> = env.response_as().unwrap();
        assert_eq!(page.total_records, Some(1629));
        assert_eq!(page.returned_records, Some(5));
        assert_eq!(page.start_offset, Some(5 * n as i64));
        assert_eq!(page.end_offset, Some(5 * n as i64 + 5));
        assert_eq!(page.results.len(), 5);
        for (k, raw) in page.results.iter().enumerate() {
            let f = parse_finding("sc", ScSourceType::Cumulative, k as u64, raw.get()).unwrap();
            assert_eq!(f.kind, SourceKind::Sc);
        }
    }
}

#[test]
fn recorded_vulndetails_map_every_field() {
    let (values, raws) = rows("test_analysis_vulns_vulndetails_tool.json");
    assert_eq!(values.len(), 10);
    let mut ids = std::collections::BTreeSet::new();
    for (i, (v, raw)) in values.iter().zip(&raws).enumerate() {
        let f = parse_finding("sc", ScSourceType::Cumulative, i as u64, raw)
            .unwrap_or_else(|e| panic!("{e}"));
        let ip = str_at(v, &["ip"]);
        let repo = str_at(v, &["repository", "id"]);
        let uuid = str_at(v, &["uuid"]);
        let want_asset = if uuid.is_empty() {
            format!("{repo}:{ip}")
        } else {
            uuid.to_owned()
        };
        assert_eq!(f.source, "sc");
        assert_eq!(f.kind, SourceKind::Sc);
        assert_eq!(f.asset_id, want_asset, "record {i}");
        let plugin: i64 = str_at(v, &["pluginID"]).parse().unwrap();
        assert_eq!(f.plugin_id, plugin, "record {i}");
        let port: i64 = str_at(v, &["port"]).parse().unwrap();
        assert_eq!(f.port, port, "record {i}");
        let proto = str_at(v, &["protocol"]).to_lowercase();
        assert_eq!(f.protocol, proto, "record {i}");
        let host = if uuid.is_empty() { ip } else { uuid };
        assert_eq!(
            f.id,
            format!("{repo}:{host}:{plugin}:{port}:{proto}"),
            "record {i}"
        );
        assert_eq!(
            f.severity.id().to_string(),
            str_at(v, &["severity", "id"]),
            "record {i}"
        );
        assert_eq!(
            f.severity.as_str(),
            str_at(v, &["severity", "name"]).to_lowercase(),
            "record {i}"
        );
        let want_state = if str_at(v, &["hasBeenMitigated"]) == "1" {
            FindingState::Reopened
        } else {
            FindingState::Open
        };
        assert_eq!(f.state, want_state, "record {i}");
        assert_eq!(f.plugin_name.as_deref(), opt(str_at(v, &["pluginName"])));
        assert_eq!(
            f.plugin_family.as_deref(),
            opt(str_at(v, &["family", "name"]))
        );
        assert_eq!(f.ipv4.as_deref(), Some(ip), "record {i}");
        let netbios = str_at(v, &["netbiosName"]);
        let want_host = opt(str_at(v, &["dnsName"]))
            .or_else(|| opt(netbios.rsplit('\\').next().unwrap_or(netbios)));
        assert_eq!(f.hostname.as_deref(), want_host, "record {i}");
        assert_eq!(f.first_found, time_at(v, "firstSeen"), "record {i}");
        assert_eq!(f.last_found, time_at(v, "lastSeen"), "record {i}");
        assert!(f.first_found.is_some() && f.last_found.is_some());
        assert_eq!(f.last_fixed, None);
        let mut cves: Vec<String> = str_at(v, &["cve"])
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        cves.sort();
        assert_eq!(f.cves, cves, "record {i}");
        let num = |k: &str| -> Option<f64> { opt(str_at(v, &[k])).map(|s| s.parse().unwrap()) };
        assert_eq!(f.cvss3_base_score, num("cvssV3BaseScore"), "record {i}");
        assert_eq!(f.cvss2_base_score, num("baseScore"), "record {i}");
        assert_eq!(
            f.vpr_score,
            v.get("vprScore")
                .and_then(Value::as_str)
                .and_then(opt)
                .map(|s| s.parse().unwrap()),
            "record {i}"
        );
        assert_eq!(f.synopsis.as_deref(), opt(str_at(v, &["synopsis"])));
        assert_eq!(f.solution.as_deref(), opt(str_at(v, &["solution"])));
        let out = str_at(v, &["pluginText"]);
        let want_out = opt(out).map(|o| {
            o.strip_prefix("<plugin_output>")
                .and_then(|o| o.strip_suffix("</plugin_output>"))
                .expect("SC wraps plugin output")
        });
        assert_eq!(f.output.as_deref(), want_out, "record {i}");
        assert_eq!(f.service, None);
        assert_eq!(f.unified_asset_id, None);
        // macAddress is a host attribute: it is on the asset, not on the finding; the recorded
        // rows have none.
        assert_eq!(str_at(v, &["macAddress"]), "");
        ids.insert(f.id.clone());
    }
    assert_eq!(ids.len(), 10, "the natural key is unique across the pages");
}

#[test]
fn recorded_vulndetails_spot_values() {
    let (_, raws) = rows("test_analysis_vulns_vulndetails_tool.json");
    let get = |i: usize| parse_finding("sc", ScSourceType::Cumulative, i as u64, &raws[i]).unwrap();

    let f = get(0);
    assert_eq!(f.id, "1:192.168.100.1:10107:80:tcp");
    assert_eq!(f.asset_id, "1:192.168.100.1");
    assert_eq!(f.plugin_id, 10107);
    assert_eq!(
        f.plugin_name.as_deref(),
        Some("HTTP Server Type and Version")
    );
    assert_eq!(f.plugin_family.as_deref(), Some("Web Servers"));
    assert_eq!((f.severity, f.state), (Severity::Info, FindingState::Open));
    assert_eq!((f.port, f.protocol.as_str()), (80, "tcp"));
    assert_eq!(f.hostname.as_deref(), Some("pfsense.home.cugnet.net"));
    assert_eq!(f.ipv4.as_deref(), Some("192.168.100.1"));
    assert_eq!(
        f.first_found.unwrap().to_rfc3339(),
        "2018-12-17T19:16:22+00:00"
    );
    assert_eq!(f.last_found, f.first_found);
    assert_eq!(
        f.synopsis.as_deref(),
        Some("A web server is running on the remote host.")
    );
    assert_eq!(f.solution.as_deref(), Some("n/a"));
    assert_eq!(
        f.output.as_deref(),
        Some("The remote web server type is :\n\nnginx")
    );
    assert!(f.cves.is_empty());
    assert_eq!(
        (f.cvss2_base_score, f.cvss3_base_score, f.vpr_score),
        (None, None, None)
    );

    let icmp = get(2);
    assert_eq!(icmp.id, "1:192.168.100.1:10114:0:icmp");
    assert_eq!(icmp.cves, ["CVE-1999-0524"]);
    assert_eq!(
        icmp.plugin_name.as_deref(),
        Some("ICMP Timestamp Request Remote Date Disclosure")
    );
    assert!(
        icmp.solution
            .as_deref()
            .unwrap()
            .starts_with("Filter out the ICMP timestamp requests (13)")
    );

    let (a, b) = (get(8), get(9));
    assert_eq!(a.id, "1:192.168.100.1:11002:53:tcp");
    assert_eq!(b.id, "1:192.168.100.1:11002:53:udp");
    assert_eq!(b.plugin_name.as_deref(), Some("DNS Server Detection"));
    assert_eq!(b.output, None, "the recorded row has an empty pluginText");
}

#[test]
fn recorded_sumip_rows_map_to_host_assets() {
    let (values, raws) = rows("test_analysis_vulns_sumip_tool.json");
    assert_eq!(values.len(), 10);
    for (i, (v, raw)) in values.iter().zip(&raws).enumerate() {
        let a = parse_host_asset("sc", i as u64, raw).unwrap_or_else(|e| panic!("{e}"));
        let ip = str_at(v, &["ip"]);
        let uuid = str_at(v, &["uuid"]);
        let repo = str_at(v, &["repository", "id"]);
        let want_id = if uuid.is_empty() {
            format!("{repo}:{ip}")
        } else {
            uuid.to_owned()
        };
        assert_eq!(a.id, want_id, "asset {i}");
        assert_eq!(a.kind, Some(SourceKind::Sc));
        assert_eq!(a.ipv4s, [ip], "asset {i}");
        let mac = str_at(v, &["macAddress"]);
        let want_macs: Vec<String> = opt(mac).map(str::to_lowercase).into_iter().collect();
        assert_eq!(a.macs, want_macs, "asset {i}");
        assert_eq!(
            a.operating_systems,
            opt(str_at(v, &["osCPE"]))
                .map(str::to_owned)
                .into_iter()
                .collect::<Vec<_>>()
        );
        let dns = str_at(v, &["dnsName"]);
        let fqdn = opt(dns).filter(|d| d.contains('.'));
        assert_eq!(a.fqdns.first().map(String::as_str), fqdn, "asset {i}");
        let want_last = time_at(v, "lastAuthRun").max(time_at(v, "lastUnauthRun"));
        assert_eq!(a.last_seen, want_last, "asset {i}");
        assert!(a.last_seen.is_some());
        assert_eq!(
            a.tags.get("repository").map(String::as_str),
            Some(str_at(v, &["repository", "name"]))
        );
        let want_name = fqdn
            .or(opt(dns))
            .or_else(|| {
                let nb = str_at(v, &["netbiosName"]);
                opt(nb.rsplit('\\').next().unwrap_or(nb))
            })
            .unwrap_or(ip);
        assert_eq!(a.name.as_deref(), Some(want_name), "asset {i}");
    }

    let pf = parse_host_asset("sc", 0, &raws[0]).unwrap();
    assert_eq!(pf.id, "1:192.168.100.1");
    assert_eq!(pf.name.as_deref(), Some("pfsense.home.cugnet.net"));
    assert_eq!(pf.operating_systems, ["cpe:/o:freebsd:freebsd:11.1"]);
    assert_eq!(
        pf.last_seen.unwrap().to_rfc3339(),
        "2018-12-17T18:29:30+00:00"
    );
    assert!(pf.macs.is_empty());

    let agent = parse_host_asset("sc", 5, &raws[5]).unwrap();
    assert_eq!(agent.id, "c2d9e0b8-d88e-46ed-b7f4-86062e3ab42b");
    assert_eq!(agent.hostnames, ["freelancer"]);
    assert_eq!(agent.macs, ["62:45:b4:ed:2f:1c"]);
    assert_eq!(
        agent.tags.get("repository").map(String::as_str),
        Some("Agents")
    );

    let nas = parse_host_asset("sc", 7, &raws[7]).unwrap();
    assert_eq!(nas.id, "1:192.168.101.30");
    assert_eq!(nas.fqdns, ["diskstation.home.cugnet.net"]);
    assert_eq!(nas.hostnames, ["DISKSTATION"]);
    assert_eq!(nas.macs, ["00:11:32:63:a1:cf"]);
}
