use std::collections::HashSet;

use serde_json::{Value, json};
use tenax_sim::{SimConfig, VmOptions};

use crate::{Client, all_states, cfg, fixture, start};

fn cassette_body(name: &str) -> Vec<Value> {
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

fn file_cfg() -> SimConfig {
    let base = cfg(41, 10);
    SimConfig {
        vm: VmOptions {
            findings_file: Some(fixture("test_exports_vulns.json")),
            assets_file: Some(fixture("test_exports_assets.json")),
            ..base.vm
        },
        ..base
    }
}

#[tokio::test]
async fn serves_the_real_cassette_records() {
    let sim = start(file_cfg()).await;
    let truth = sim.vm_truth();
    assert_eq!(truth.findings, 344);
    assert_eq!(truth.assets, 100);
    assert_eq!(truth.live_assets, 100);
    assert_eq!(truth.open + truth.reopened + truth.fixed, 344);
    assert_eq!(truth.reopened, 7);

    let c = Client::new(&sim);
    let got = c.export_all("vulns", &all_states(50)).await;
    assert_eq!(got.len(), 344);
    // Served as-is.
    let expect: HashSet<String> = cassette_body("test_exports_vulns.json")
        .iter()
        .map(Value::to_string)
        .collect();
    let served: HashSet<String> = got.iter().map(Value::to_string).collect();
    assert_eq!(served, expect);

    let assets = c.export_all("assets", &json!({"chunk_size": 100})).await;
    assert_eq!(assets.len(), 100);
    assert_eq!(assets, cassette_body("test_exports_assets.json"));

    // The 2018 records are older than any default window, and filters use their fields.
    let recent = c.export_all("vulns", &json!({"num_assets": 50})).await;
    assert!(recent.is_empty());
    let reopened = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": 0, "state": ["reopened"]}}),
        )
        .await;
    assert_eq!(reopened.len(), 7);
    let sept = 1_536_000_000; // 2018-09-03
    let late = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": sept, "state": ["OPEN", "REOPENED", "FIXED"]}}),
        )
        .await;
    assert!(!late.is_empty() && late.len() < 344);
    assert!(
        late.iter()
            .all(|f| f["last_found"].as_str().is_some_and(|s| s > "2018-09-03"))
    );
    // Mutation does not apply to file data.
    assert_eq!(sim.vm_mutate(10), tenax_sim::VmMutation::default());
    sim.shutdown().await;
}

#[tokio::test]
async fn plain_array_files_and_load_errors() {
    let dir = std::env::temp_dir().join(format!("tenax-sim-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("findings.json");
    let recs = cassette_body("test_exports_vulns.json");
    std::fs::write(&path, serde_json::to_vec(&recs[..20]).expect("json")).expect("write");
    let base = cfg(42, 30);
    let sim = start(SimConfig {
        vm: VmOptions {
            findings_file: Some(path.clone()),
            ..base.vm.clone()
        },
        ..base.clone()
    })
    .await;
    assert_eq!(sim.vm_truth().findings, 20);
    // Assets still come from the generator.
    assert_eq!(sim.vm_truth().assets, 30);
    sim.shutdown().await;

    std::fs::write(&path, b"{ not json").expect("write");
    let err = tenax_sim::Sim::start(SimConfig {
        vm: VmOptions {
            findings_file: Some(path.clone()),
            ..base.vm.clone()
        },
        ..base.clone()
    })
    .await
    .expect_err("bad file");
    assert!(err.to_string().contains("findings.json"), "{err}");
    let missing = tenax_sim::Sim::start(SimConfig {
        vm: VmOptions {
            assets_file: Some(dir.join("missing.json")),
            ..base.vm.clone()
        },
        ..base
    })
    .await
    .expect_err("missing file");
    assert!(missing.to_string().contains("missing.json"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}
