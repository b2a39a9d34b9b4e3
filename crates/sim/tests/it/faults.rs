use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenax_sim::{Faults, SimConfig};

use crate::{Client, all_states, cfg, start};

fn with_faults(seed: u64, assets: usize, spec: &str) -> SimConfig {
    SimConfig {
        faults: spec.parse::<Faults>().expect("valid spec"),
        ..cfg(seed, assets)
    }
}

#[tokio::test]
async fn rate_limit_every_nth_request() {
    let sim = start(with_faults(31, 20, "429:every=3:after=0")).await;
    let c = Client::new(&sim);
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = c.get("/server/properties").await;
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "0");
            assert_eq!(r.headers()["content-type"], "text/html");
            assert!(
                r.text()
                    .await
                    .expect("body")
                    .contains("<center>nginx</center>")
            );
        }
    }
    assert_eq!(codes, [200, 200, 429, 200, 200, 429, 200]);
    let s = sim.stats();
    assert_eq!((s.requests, s.rate_limited), (7, 2));
    sim.shutdown().await;

    let sim = start(with_faults(31, 20, "429:every=1")).await;
    let r = Client::new(&sim).get("/server/properties").await;
    assert_eq!(r.headers()["retry-after"], "1");
    sim.shutdown().await;
}

#[tokio::test]
async fn random_server_errors() {
    let sim = start(with_faults(32, 20, "5xx:p=1")).await;
    let c = Client::new(&sim);
    for _ in 0..8 {
        let r = c.get("/server/properties").await;
        let code = r.status().as_u16();
        assert!([500, 502, 503, 504].contains(&code), "{code}");
        let v: Value = r.json().await.expect("JSON error body");
        assert_eq!(v["statusCode"], code);
    }
    assert_eq!(sim.stats().server_errors, 8);
    sim.shutdown().await;

    let sim = start(with_faults(32, 20, "5xx:p=0.5")).await;
    let c = Client::new(&sim);
    let mut failed = 0;
    for _ in 0..40 {
        if c.get("/server/properties").await.status().is_server_error() {
            failed += 1;
        }
    }
    assert!((8..=32).contains(&failed), "{failed}");
    assert_eq!(sim.stats().server_errors, failed);
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_aborts_first_download_of_each_export() {
    let sim = start(with_faults(33, 150, "reset:chunk=1")).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    c.wait("vulns", &uuid).await;
    let r = c.chunk("vulns", &uuid, 1).await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await;
    assert!(body.is_err(), "the body must fail mid-way");
    let good: Vec<Value> = c
        .chunk("vulns", &uuid, 1)
        .await
        .json()
        .await
        .expect("valid");
    assert!(!good.is_empty());
    // Other chunks are untouched; asset exports get the same fault.
    assert_eq!(
        c.chunk("vulns", &uuid, 2)
            .await
            .json::<Vec<Value>>()
            .await
            .map(|v| v.is_empty())
            .ok(),
        Some(false)
    );
    let a = c.create("assets", &json!({"chunk_size": 100})).await;
    c.wait("assets", &a).await;
    assert!(c.chunk("assets", &a, 1).await.bytes().await.is_err());
    assert!(
        c.chunk("assets", &a, 1)
            .await
            .json::<Vec<Value>>()
            .await
            .is_ok()
    );
    let s = sim.stats();
    assert_eq!(s.resets, 2);
    assert_eq!(s.chunk_downloads[&(uuid.clone(), 1)], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn truncate_returns_cut_json_once() {
    let sim = start(with_faults(34, 150, "truncate:chunk=2")).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    c.wait("vulns", &uuid).await;
    let r = c.chunk("vulns", &uuid, 2).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("complete HTTP response");
    assert!(text.starts_with('['));
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "cut-off JSON"
    );
    let again: Vec<Value> = c
        .chunk("vulns", &uuid, 2)
        .await
        .json()
        .await
        .expect("valid now");
    assert!(!again.is_empty());
    assert!(
        c.chunk("vulns", &uuid, 1)
            .await
            .json::<Vec<Value>>()
            .await
            .is_ok()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn export_error_after_about_half() {
    let sim = start(with_faults(35, 400, "export:error")).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    let (st, ids) = c.wait("vulns", &uuid).await;
    assert_eq!(st["status"], "ERROR", "{st}");
    assert!(st["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let total = st["total_chunks"].as_u64().expect("total") as usize;
    assert_eq!(ids.len(), total / 2);
    assert!(!ids.is_empty());
    assert!(
        c.chunk("vulns", &uuid, ids[0])
            .await
            .json::<Vec<Value>>()
            .await
            .is_ok()
    );
    // Asset exports are not affected.
    let assets = c.export_all("assets", &json!({"chunk_size": 100})).await;
    assert!(!assets.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_chunk_is_reported_and_not_served() {
    let sim = start(with_faults(36, 300, "failed:chunk=2")).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    let (st, ids) = c.wait("vulns", &uuid).await;
    let total = st["total_chunks"].as_u64().expect("total");
    assert_eq!(st["status"], "FINISHED");
    assert_eq!(st["chunks_failed"], json!([2]));
    assert_eq!(
        st["reason"],
        format!(
            "1 of {total} chunks failed to process. The remaining chunks are available for download."
        )
    );
    assert!(!ids.contains(&2));
    assert_eq!(ids.len() as u64, total - 1);
    assert_eq!(c.chunk("vulns", &uuid, 2).await.status(), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn conflict_on_first_export_points_to_a_real_job() {
    let sim = start(with_faults(37, 150, "409:first")).await;
    let c = Client::new(&sim);
    let r = c.post("/vulns/export", &all_states(50)).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.expect("json");
    let adopted = v["active_job_id"]
        .as_str()
        .expect("active_job_id")
        .to_string();
    let (st, ids) = c.wait("vulns", &adopted).await;
    assert_eq!(st["status"], "FINISHED");
    let all = c.download("vulns", &adopted, &ids).await;
    assert_eq!(all.len() as u64, sim.vm_truth().findings);
    // Only the first request is affected.
    c.create("vulns", &all_states(50)).await;
    assert_eq!(sim.stats().exports_created, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn expire_first_download_of_chunk_of_first_export() {
    let sim = start(with_faults(38, 150, "expire:chunk=1")).await;
    let c = Client::new(&sim);
    let uuid = c.create("vulns", &all_states(50)).await;
    c.wait("vulns", &uuid).await;
    assert_eq!(c.chunk("vulns", &uuid, 1).await.status(), 404);
    assert_eq!(c.chunk("vulns", &uuid, 1).await.status(), 200);
    let second = c.create("vulns", &all_states(60)).await;
    c.wait("vulns", &second).await;
    assert_eq!(c.chunk("vulns", &second, 1).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_adds_latency() {
    let sim = start(with_faults(39, 20, "slow:ms=60")).await;
    let c = Client::new(&sim);
    let t = Instant::now();
    assert_eq!(c.get("/server/properties").await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(60));
    sim.shutdown().await;
}

#[test]
fn bad_specs_name_the_item() {
    let e = "429:every=2,bogus:x=1"
        .parse::<Faults>()
        .expect_err("invalid");
    assert!(e.to_string().contains("bogus:x=1"), "{e}");
    let e = "reset:chunk=abc".parse::<Faults>().expect_err("invalid");
    assert!(e.to_string().contains("reset:chunk=abc"), "{e}");
}
