use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{Client, all_states, cfg, key, start};

fn ts(f: &Value, field: &str) -> i64 {
    f[field]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or(0, |d| d.timestamp_millis())
}

type Key = (String, u64, u64, String);

fn keys<'a>(it: impl Iterator<Item = &'a Value>) -> HashSet<Key> {
    it.map(key).collect()
}

#[tokio::test]
async fn since_state_severity_and_plugin_filters() {
    let sim = start(cfg(21, 150)).await;
    let c = Client::new(&sim);
    let all = c.export_all("vulns", &all_states(50)).await;
    let anchor = sim.anchor().timestamp_millis();
    let since_ms = anchor - 40 * 86_400_000;
    let since = since_ms / 1000;

    // since + all states: OPEN/REOPENED by last_found, FIXED by last_fixed.
    let got = c
        .export_all(
            "vulns",
            &json!({"num_assets": 50, "filters": {"since": since, "state": ["open", "reopened", "fixed"]}}),
        )
        .await;
    let expect = keys(all.iter().filter(|f| {
        let t = if f["state"] == "FIXED" {
            ts(f, "last_fixed")
        } else {
            ts(f, "last_found")
        };
        t >= since * 1000
    }));
    assert!(!expect.is_empty() && expect.len() < all.len());
    assert_eq!(keys(got.iter()), expect);
    assert_eq!(got.len(), expect.len());

    // Default states are OPEN + REOPENED.
    let got = c
        .export_all("vulns", &json!({"filters": {"since": 0}}))
        .await;
    let expect = keys(all.iter().filter(|f| f["state"] != "FIXED"));
    assert_eq!(keys(got.iter()), expect);

    // State FIXED only; severity; plugin ids.
    let got = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": 0, "state": ["FIXED"]}}),
        )
        .await;
    assert!(!got.is_empty() && got.iter().all(|f| f["state"] == "FIXED"));
    assert_eq!(
        got.len(),
        all.iter().filter(|f| f["state"] == "FIXED").count()
    );

    let got = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": 0, "state": ["OPEN","REOPENED","FIXED"], "severity": ["HIGH", "critical"]}}),
        )
        .await;
    let expect = keys(
        all.iter()
            .filter(|f| f["severity"] == "high" || f["severity"] == "critical"),
    );
    assert!(!expect.is_empty());
    assert_eq!(keys(got.iter()), expect);

    let plugin = all[0]["plugin"]["id"].as_u64().expect("plugin id");
    let got = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": 0, "state": ["OPEN","REOPENED","FIXED"], "plugin_id": [plugin]}}),
        )
        .await;
    let expect = keys(all.iter().filter(|f| f["plugin"]["id"] == plugin));
    assert_eq!(keys(got.iter()), expect);

    // first_found / last_found windows.
    let got = c
        .export_all(
            "vulns",
            &json!({"filters": {"first_found": since, "state": ["OPEN","REOPENED","FIXED"]}}),
        )
        .await;
    assert_eq!(
        keys(got.iter()),
        keys(all.iter().filter(|f| ts(f, "first_found") >= since_ms))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn no_time_filter_means_last_30_days() {
    let sim = start(cfg(22, 150)).await;
    let c = Client::new(&sim);
    let all = c.export_all("vulns", &all_states(50)).await;
    let cutoff = Utc::now().timestamp_millis() - 30 * 86_400_000;
    let got = c.export_all("vulns", &json!({"num_assets": 50})).await;
    let expect = keys(
        all.iter()
            .filter(|f| f["state"] != "FIXED" && ts(f, "last_found") >= cutoff),
    );
    assert!(!expect.is_empty());
    assert_eq!(keys(got.iter()), expect);
    // The status echoes the defaults like the real service.
    let uuid = c.create("vulns", &json!({})).await;
    let (_, st) = c.get_json(&format!("/vulns/export/{uuid}/status")).await;
    assert_eq!(st["filters"]["state"], json!(["OPEN", "REOPENED"]));
    assert_eq!(st["filters"]["since"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn nothing_old_within_an_hour_and_everything_within_a_year() {
    let sim = start(cfg(23, 120)).await;
    let c = Client::new(&sim);
    let truth = sim.vm_truth();
    let now = Utc::now().timestamp();
    let recent = c
        .export_all(
            "vulns",
            &json!({"filters": {"since": now - 3600, "state": ["OPEN","REOPENED","FIXED"]}}),
        )
        .await;
    assert!(recent.is_empty());
    let year = c
        .export_all("vulns", &json!({"filters": {"since": now - 365 * 86_400, "state": ["OPEN","REOPENED","FIXED"]}}))
        .await;
    assert_eq!(year.len() as u64, truth.findings);
    let assets = c
        .export_all(
            "assets",
            &json!({"chunk_size": 100, "filters": {"updated_at": now - 3600}}),
        )
        .await;
    assert!(assets.is_empty());
    sim.shutdown().await;
}
