//! Integration tests: the simulator on port 0, driven over HTTP with reqwest.

mod auth;
mod bench;
mod determinism;
mod exports;
mod faults;
mod files;
mod filters;
mod mutate;
mod ot;
mod sc;
mod shape;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use tenax_sim::{Sim, SimConfig, VmOptions};

/// A small, fast configuration: `assets` generated assets, 2 ms between chunks.
pub fn cfg(seed: u64, assets: usize) -> SimConfig {
    SimConfig {
        seed,
        assets,
        vm: VmOptions {
            chunk_interval: Duration::from_millis(2),
            ..VmOptions::default()
        },
        ..SimConfig::default()
    }
}

pub async fn start(cfg: SimConfig) -> Sim {
    Sim::start(cfg).await.expect("simulator starts")
}

/// The body every full sync sends: everything since the epoch, all states.
pub fn all_states(num_assets: u64) -> Value {
    json!({"num_assets": num_assets, "filters": {"since": 0, "state": ["OPEN", "REOPENED", "FIXED"]}})
}

/// A tiny VM client for tests.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub keys: String,
}

impl Client {
    pub fn new(sim: &Sim) -> Client {
        let (a, s) = sim.vm_keys();
        Client::with_keys(sim, &format!("accessKey={a}; secretKey={s};"))
    }

    pub fn with_keys(sim: &Sim, keys: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
            base: sim.vm_url(),
            keys: keys.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("X-ApiKeys", &self.keys)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-ApiKeys", &self.keys)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.expect("JSON body"))
    }

    /// Creates an export (`kind` = "vulns" or "assets") and returns its id.
    pub async fn create(&self, kind: &str, body: &Value) -> String {
        let r = self.post(&format!("/{kind}/export"), body).await;
        assert_eq!(r.status(), 200, "create {kind} export");
        let v: Value = r.json().await.expect("json");
        v["export_uuid"].as_str().expect("export_uuid").to_string()
    }

    /// Polls until the job leaves QUEUED/PROCESSING; returns the final status and the
    /// chunk ids in the order they appeared.
    pub async fn wait(&self, kind: &str, uuid: &str) -> (Value, Vec<u64>) {
        let mut seen: Vec<u64> = Vec::new();
        for _ in 0..5000 {
            let (code, st) = self
                .get_json(&format!("/{kind}/export/{uuid}/status"))
                .await;
            assert_eq!(code, 200, "{st}");
            for id in st["chunks_available"].as_array().expect("chunks_available") {
                let id = id.as_u64().expect("chunk id");
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
            match st["status"].as_str() {
                Some("QUEUED" | "PROCESSING") => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                _ => return (st, seen),
            }
        }
        panic!("export {uuid} did not finish");
    }

    pub async fn chunk(&self, kind: &str, uuid: &str, id: u64) -> reqwest::Response {
        self.get(&format!("/{kind}/export/{uuid}/chunks/{id}"))
            .await
    }

    /// Downloads and parses the given chunks.
    pub async fn download(&self, kind: &str, uuid: &str, ids: &[u64]) -> Vec<Value> {
        let mut out = Vec::new();
        for id in ids {
            let r = self.chunk(kind, uuid, *id).await;
            assert_eq!(r.status(), 200, "chunk {id}");
            assert_eq!(r.headers()["content-type"], "application/octet-stream");
            let recs: Vec<Value> = r.json().await.expect("chunk is a JSON array");
            out.extend(recs);
        }
        out
    }

    /// Export, wait, download everything.
    pub async fn export_all(&self, kind: &str, body: &Value) -> Vec<Value> {
        let uuid = self.create(kind, body).await;
        let (st, ids) = self.wait(kind, &uuid).await;
        assert_eq!(st["status"], "FINISHED", "{st}");
        self.download(kind, &uuid, &ids).await
    }
}

/// Natural key of a finding.
pub fn key(f: &Value) -> (String, u64, u64, String) {
    (
        f["asset"]["uuid"].as_str().unwrap_or_default().to_string(),
        f["plugin"]["id"].as_u64().unwrap_or_default(),
        f["port"]["port"].as_u64().unwrap_or_default(),
        f["port"]["protocol"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

pub fn unique_keys(findings: &[Value]) -> HashSet<(String, u64, u64, String)> {
    let keys: HashSet<_> = findings.iter().map(key).collect();
    assert_eq!(keys.len(), findings.len(), "natural keys are unique");
    keys
}

pub fn count_state(findings: &[Value], state: &str) -> u64 {
    findings.iter().filter(|f| f["state"] == state).count() as u64
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vm")
        .join(name)
}
