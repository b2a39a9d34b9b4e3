//! Generated records have (at least) the JSON key structure of the real recordings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{Client, all_states, cfg, fixture, start};

type Shape = BTreeMap<String, BTreeSet<&'static str>>;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(v: &Value, path: &str, out: &mut Shape) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.entry(p.clone()).or_default().insert(kind(x));
                walk(x, &p, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                let p = format!("{path}[]");
                out.entry(p.clone()).or_default().insert(kind(x));
                walk(x, &p, out);
            }
        }
        _ => {}
    }
}

fn shape(records: &[Value]) -> Shape {
    let mut s = Shape::new();
    for r in records {
        walk(r, "", &mut s);
    }
    s
}

fn real(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture");
    let v: Vec<Value> = serde_json::from_str(&text).expect("json");
    v.into_iter()
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
        .collect()
}

/// Every path of `real` exists in `generated` with every JSON type seen in the real data.
fn assert_superset(real: &Shape, generated: &Shape) {
    let mut missing = Vec::new();
    for (path, types) in real {
        match generated.get(path) {
            None => missing.push(format!("{path}: missing")),
            Some(g) if !types.is_subset(g) => {
                missing.push(format!("{path}: real {types:?}, generated {g:?}"));
            }
            Some(_) => {}
        }
    }
    assert!(
        missing.is_empty(),
        "generated records lack:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn findings_and_assets_have_the_real_key_structure() {
    let sim = start(cfg(51, 350)).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(500)).await;
    let (_, ids) = c.wait("vulns", &uuid).await;
    let mut findings: Vec<Value> = Vec::new();
    let mut bytes = 0;
    for id in ids {
        let body = c
            .chunk("vulns", &uuid, id)
            .await
            .bytes()
            .await
            .expect("body");
        bytes += body.len();
        findings.extend(serde_json::from_slice::<Vec<Value>>(&body).expect("JSON array"));
    }
    assert_superset(&shape(&real("test_exports_vulns.json")), &shape(&findings));
    // Value conventions of real data.
    assert!(
        findings
            .iter()
            .all(|f| f["state"].as_str().is_some_and(|s| s == s.to_uppercase()))
    );
    assert!(
        findings
            .iter()
            .all(|f| f["asset"]["operating_system"].is_array())
    );
    let risk: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["plugin"]["risk_factor"].as_str())
        .collect();
    assert!(
        risk.contains("None") && risk.contains("NONE") && risk.contains("High"),
        "{risk:?}"
    );
    assert!(findings.iter().any(|f| f["plugin"]["cve"].is_array()));
    assert!(
        findings
            .iter()
            .any(|f| f["plugin"].get("cve").is_none() && f["severity_id"].as_u64() > Some(0))
    );
    assert!(
        findings
            .iter()
            .any(|f| f["plugin"]["vpr"]["drivers"].is_object())
    );
    assert!(
        findings
            .iter()
            .any(|f| f["plugin"]["cvss3_vector"]["raw"].is_string())
    );
    let macs_upper = findings
        .iter()
        .filter_map(|f| f["asset"]["mac_address"].as_str())
        .all(|m| m == m.to_uppercase() && m.len() == 17);
    assert!(macs_upper);
    let protocols: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["port"]["protocol"].as_str())
        .collect();
    assert!(
        protocols.contains("TCP") && protocols.contains("UDP"),
        "{protocols:?}"
    );
    let avg = bytes / findings.len();
    assert!((3000..=4500).contains(&avg), "average record size {avg}");

    let assets = c.export_all("assets", &json!({"chunk_size": 1000})).await;
    assert_superset(&shape(&real("test_exports_assets.json")), &shape(&assets));
    assert!(
        assets
            .iter()
            .all(|a| a["acr_score"].is_string() && a["exposure_score"].is_string())
    );
    assert!(assets.iter().any(|a| a["tags"][0]["added_by"].is_string()));
    sim.shutdown().await;
}
