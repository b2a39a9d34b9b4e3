use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use tenax_sim::{SimConfig, VmOptions};

use crate::{Client, all_states, cfg, count_state, start, unique_keys};

#[tokio::test]
async fn vulns_export_lifecycle_matches_truth() {
    let mut c = cfg(11, 300);
    c.vm.chunk_interval = Duration::from_millis(15);
    let sim = start(c).await;
    let truth = sim.vm_truth();
    assert!(truth.findings > 1000, "{truth:?}");
    let client = Client::new(&sim);

    let uuid = client.create("vulns", &all_states(50)).await;
    let (code, first) = client
        .get_json(&format!("/vulns/export/{uuid}/status"))
        .await;
    assert_eq!(code, 200);
    assert!(
        matches!(first["status"].as_str(), Some("QUEUED" | "PROCESSING")),
        "{first}"
    );
    let total = first["total_chunks"].as_u64().expect("total_chunks");
    assert!(total >= 5, "{first}");
    assert!(first["chunks_available"].as_array().expect("array").len() < total as usize);

    // Download chunks as they appear, like a real client.
    let mut findings: Vec<Value> = Vec::new();
    let mut order: Vec<u64> = Vec::new();
    let mut statuses = HashSet::new();
    let mut owner = std::collections::HashMap::new();
    loop {
        let (_, st) = client
            .get_json(&format!("/vulns/export/{uuid}/status"))
            .await;
        statuses.insert(st["status"].as_str().unwrap_or_default().to_string());
        let ids: Vec<u64> = st["chunks_available"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(Value::as_u64)
            .filter(|id| !order.contains(id))
            .collect();
        for id in ids {
            let recs = client.download("vulns", &uuid, &[id]).await;
            // Chunks hold whole assets, at most 50 per chunk.
            let per: HashSet<String> = recs
                .iter()
                .map(|f| f["asset"]["uuid"].as_str().unwrap_or_default().to_string())
                .collect();
            assert!(per.len() <= 50);
            for a in per {
                assert!(owner.insert(a, id).is_none(), "asset split across chunks");
            }
            findings.extend(recs);
            order.push(id);
        }
        if st["status"] == "FINISHED" {
            assert_eq!(st["chunks_available_count"], total);
            assert_eq!(st["finished_chunks"], total);
            assert_eq!(st["chunks_failed"], json!([]));
            assert_eq!(st["num_assets_per_chunk"], 50);
            assert_eq!(st["filters"]["state"], json!(["OPEN", "REOPENED", "FIXED"]));
            assert!(st["created"].as_u64().expect("created ms") > 1_600_000_000_000);
            assert!(st.get("reason").is_none());
            break;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    assert!(statuses.contains("PROCESSING"), "{statuses:?}");
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_ne!(order, sorted, "chunks appear out of order");
    assert_eq!(sorted, (1..=total).collect::<Vec<_>>());

    // Every finding exactly once, counts equal the truth.
    unique_keys(&findings);
    assert_eq!(findings.len() as u64, truth.findings);
    assert_eq!(count_state(&findings, "OPEN"), truth.open);
    assert_eq!(count_state(&findings, "REOPENED"), truth.reopened);
    assert_eq!(count_state(&findings, "FIXED"), truth.fixed);
    let assets: HashSet<&str> = findings
        .iter()
        .filter_map(|f| f["asset"]["uuid"].as_str())
        .collect();
    let live: HashSet<&str> = truth.asset_ids.iter().map(String::as_str).collect();
    assert!(assets.is_subset(&live), "findings only on live assets");

    // Each chunk downloaded once, and the stats say so.
    let stats = sim.stats();
    assert_eq!(stats.exports_created, 1);
    for id in 1..=total {
        assert_eq!(
            stats.chunk_downloads.get(&(uuid.clone(), id as u32)),
            Some(&1),
            "chunk {id}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn asset_exports_live_deleted_and_open_ports() {
    let sim = start(cfg(12, 500)).await;
    let truth = sim.vm_truth();
    assert!(truth.deleted_assets > 0 && truth.live_assets > 0);
    let c = Client::new(&sim);
    let live = c.export_all("assets", &json!({"chunk_size": 100})).await;
    let mut ids: Vec<&str> = live.iter().filter_map(|a| a["id"].as_str()).collect();
    ids.sort_unstable();
    let mut expect_live: Vec<&str> = truth.asset_ids.iter().map(String::as_str).collect();
    expect_live.sort_unstable();
    assert_eq!(ids, expect_live);
    assert!(
        live.iter()
            .all(|a| a["deleted_at"].is_null() && a["terminated_at"].is_null())
    );
    assert!(live.iter().all(|a| a.get("open_ports").is_none()));

    let deleted = c
        .export_all(
            "assets",
            &json!({"chunk_size": 100, "filters": {"deleted_at": 0}}),
        )
        .await;
    let terminated = c
        .export_all(
            "assets",
            &json!({"chunk_size": 100, "filters": {"is_terminated": true}}),
        )
        .await;
    assert!(deleted.iter().all(|a| a["deleted_at"].is_string()));
    assert!(terminated.iter().all(|a| a["terminated_at"].is_string()));
    let mut removed: Vec<String> = deleted
        .iter()
        .chain(&terminated)
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect();
    removed.sort();
    let mut expect = truth.deleted_asset_ids.clone();
    expect.sort();
    assert_eq!(removed, expect);
    assert_eq!(terminated.len() as u64, truth.terminated_assets);

    let with_ports = c
        .export_all(
            "assets",
            &json!({"chunk_size": 1000, "include_open_ports": true}),
        )
        .await;
    assert_eq!(with_ports.len() as u64, truth.live_assets);
    assert!(
        with_ports
            .iter()
            .any(|a| a["open_ports"].as_array().is_some_and(|p| !p.is_empty()))
    );

    let (code, list) = c.get_json("/assets/export/status").await;
    assert_eq!(code, 200);
    let exports = list["exports"].as_array().expect("exports");
    assert_eq!(exports.len(), 4);
    assert!(
        exports[0]["filters"].is_string(),
        "asset job filters are a JSON string"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn duplicate_running_export_is_409_then_allowed_after_finish() {
    let mut c = cfg(13, 200);
    c.vm.chunk_interval = Duration::from_millis(100);
    let sim = start(c).await;
    let client = Client::new(&sim);
    let body = all_states(50);
    let first = client.create("vulns", &body).await;
    let r = client.post("/vulns/export", &body).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["active_job_id"], first.as_str());
    assert_eq!(
        v["failure_reason"],
        "The request could not be completed due to a conflict with the ongoing export"
    );
    // A different body is a different export.
    let other = client.create("vulns", &all_states(60)).await;
    assert_ne!(other, first);
    client.wait("vulns", &first).await;
    let again = client.create("vulns", &body).await;
    assert_ne!(again, first);
    assert_eq!(sim.stats().conflicts, 1);
    let (_, list) = client.get_json("/vulns/export/status").await;
    assert_eq!(list["exports"].as_array().expect("exports").len(), 3);
    assert_eq!(
        list["exports"][0]["uuid"],
        again.as_str(),
        "most recent first"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn too_many_concurrent_exports_is_429() {
    let sim = start(SimConfig {
        seed: 14,
        assets: 200,
        vm: VmOptions {
            chunk_interval: Duration::from_millis(200),
            max_concurrent_exports: 1,
            ..VmOptions::default()
        },
        ..SimConfig::default()
    })
    .await;
    let c = Client::new(&sim);
    c.create("vulns", &all_states(50)).await;
    let r = c.post("/vulns/export", &all_states(100)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["content-type"], "text/html");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!(retry >= 1);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("429 Too Many Requests")
    );
    // Assets have their own budget.
    c.create("assets", &json!({"chunk_size": 100})).await;
    assert_eq!(sim.stats().rate_limited, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_exports_and_bad_chunks_are_404() {
    let sim = start(cfg(15, 100)).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    let (st, ids) = c.wait("vulns", &uuid).await;
    assert_eq!(st["status"], "FINISHED");
    assert_eq!(c.chunk("vulns", &uuid, ids[0]).await.status(), 200);
    let total = ids.len() as u64;
    for bad in [0, total + 1] {
        assert_eq!(c.chunk("vulns", &uuid, bad).await.status(), 404);
    }
    // Assets and vulns ids do not mix.
    assert_eq!(c.chunk("assets", &uuid, 1).await.status(), 404);
    sim.vm_expire_exports();
    let r = c.chunk("vulns", &uuid, ids[0]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"statusCode": 404, "error": "Not Found", "message": "Not Found"})
    );
    // New exports work again.
    let fresh = c.export_all("vulns", &all_states(50)).await;
    assert_eq!(fresh.len() as u64, sim.vm_truth().findings);
    sim.shutdown().await;
}

#[tokio::test]
async fn chunk_not_yet_available_is_404() {
    let mut c = cfg(16, 200);
    c.vm.chunk_interval = Duration::from_millis(300);
    let sim = start(c).await;
    let client = Client::new(&sim);
    let uuid = client.create("vulns", &all_states(50)).await;
    assert_eq!(client.chunk("vulns", &uuid, 1).await.status(), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn cancel_running_export() {
    let mut c = cfg(17, 300);
    c.vm.chunk_interval = Duration::from_millis(40);
    let sim = start(c).await;
    let client = Client::new(&sim);
    let uuid = client.create("vulns", &all_states(50)).await;
    tokio::time::sleep(Duration::from_millis(90)).await;
    let r = client
        .post(&format!("/vulns/export/{uuid}/cancel"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"status": "CANCELLED"})
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, st) = client
        .get_json(&format!("/vulns/export/{uuid}/status"))
        .await;
    assert_eq!(st["status"], "CANCELLED");
    let avail = st["chunks_available"].as_array().expect("array").len();
    let cancelled = st["chunks_cancelled"].as_array().expect("array").len();
    assert!(avail >= 1, "{st}");
    assert_eq!(
        avail + cancelled,
        st["total_chunks"].as_u64().expect("total") as usize
    );
    // Chunks finished before the cancel stay downloadable.
    let id = st["chunks_available"][0].as_u64().expect("id");
    assert_eq!(client.chunk("vulns", &uuid, id).await.status(), 200);
    assert_eq!(sim.stats().cancelled, 1);
    // The job no longer blocks an identical one.
    client.create("vulns", &all_states(50)).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn empty_export_finishes_with_zero_chunks_and_num_assets_is_clamped() {
    let sim = start(cfg(18, 100)).await;
    let c = Client::new(&sim);
    let uuid = c
        .create(
            "vulns",
            &json!({"num_assets": 1, "filters": {"since": 4_000_000_000_u64, "state": ["FIXED"]}}),
        )
        .await;
    let (st, ids) = c.wait("vulns", &uuid).await;
    assert_eq!(st["status"], "FINISHED");
    assert_eq!(st["total_chunks"], 0);
    assert!(ids.is_empty());
    assert_eq!(st["num_assets_per_chunk"], 50);
    let uuid = c
        .create(
            "vulns",
            &json!({"num_assets": "99999", "filters": {"since": 0}}),
        )
        .await;
    let (st, ids) = c.wait("vulns", &uuid).await;
    assert_eq!(st["num_assets_per_chunk"], 5000);
    assert_eq!(ids.len(), 1);
    sim.shutdown().await;
}
