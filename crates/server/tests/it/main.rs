//! The server over real HTTP: the simulator synced (VM, SC, OT) into a temporary SQLite store,
//! correlated, then served on 127.0.0.1:0.

mod api;
mod auth;
mod dashboard;
mod schedule;

use std::time::Duration;

use tenax_source::CancellationToken;
use tenax_source::retry::RetryPolicy;
use tenax_source_ot::{OtConfig, OtSource};
use tenax_source_sc::ScConfig;
use tenax_source_vm::{VmConfig, VmSource};
use tenax_store::{SqliteStore, Store};
use tenax_sync::{AnySource, RunOptions, SourceConfig, run_source};

/// A synced store served over HTTP.
pub struct Env {
    pub sim: tenax_sim::Sim,
    pub dir: tempfile::TempDir,
    pub db: String,
    pub base: String,
    pub client: reqwest::Client,
    pub cancel: CancellationToken,
    pub state: tenax_server::AppState,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub fn sim_config() -> tenax_sim::SimConfig {
    let mut cfg = tenax_sim::SimConfig {
        seed: 11,
        assets: 40,
        ..tenax_sim::SimConfig::default()
    };
    cfg.vm.chunk_interval = Duration::from_millis(2);
    cfg.sc.hosts = 20;
    cfg.ot.assets = 20;
    cfg
}

pub fn vm_source(sim: &tenax_sim::Sim) -> AnySource {
    let (ak, sk) = sim.vm_keys();
    let mut c = VmConfig::new("cloud", &sim.vm_url(), &ak, &sk);
    c.num_assets = 50;
    c.asset_chunk_size = 100;
    AnySource::Vm(
        VmSource::new(c.resolve().unwrap())
            .unwrap()
            .with_retry(RetryPolicy::fast())
            .with_poll_initial(Duration::from_millis(5)),
    )
}

pub fn sc_source(sim: &tenax_sim::Sim) -> AnySource {
    AnySource::build(&SourceConfig::Sc(ScConfig::new(
        "sc-prod",
        &sim.sc_url(),
        &sim.sc_api_keys(),
    )))
    .unwrap()
}

pub fn ot_source(sim: &tenax_sim::Sim, dir: &std::path::Path) -> AnySource {
    let ca = dir.join("ot-ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem()).unwrap();
    let mut c = OtConfig::new("plant", &sim.ot_url());
    c.api_key = Some(sim.ot_api_key().as_str().into());
    c.ca_file = Some(ca);
    c.timeout_secs = 30;
    AnySource::Ot(
        OtSource::new(c.resolve().unwrap())
            .unwrap()
            .with_retry(RetryPolicy::fast()),
    )
}

/// Runs one source into the store and asserts it succeeded.
pub async fn sync(store: Box<dyn Store>, src: &AnySource) -> Box<dyn Store> {
    let (store, r) = run_source(store, src, &RunOptions::default()).await;
    let r = r.expect("the store works");
    assert_eq!(r.status, tenax_store::RunStatus::Succeeded, "{}", r.message);
    store
}

/// Starts the server for a state on 127.0.0.1:0; it stops when `cancel` fires.
pub async fn start_server(state: tenax_server::AppState, cancel: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tenax_server::serve(
        listener,
        state,
        cancel.clone().cancelled_owned(),
    ));
    format!("http://{addr}")
}

/// The simulator's three products synced, correlated and served (with `token` when given).
pub async fn env_with(token: Option<&str>) -> Env {
    let sim = tenax_sim::Sim::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store: Box<dyn Store> = Box::new(SqliteStore::open_path(&path).unwrap());
    for src in [
        vm_source(&sim),
        sc_source(&sim),
        ot_source(&sim, dir.path()),
    ] {
        store = sync(store, &src).await;
    }
    tenax_sync::correlate_store(store.as_mut()).unwrap();
    drop(store);
    let db = format!("sqlite://{}", path.display());
    let state = tenax_server::AppState::new(tenax_server::ServerConfig {
        token: token.and_then(tenax_server::ApiToken::new),
        sources: vec![tenax_server::ConfiguredSource {
            name: "cloud".to_owned(),
            kind: tenax_model::SourceKind::Vm,
            sync_every: Some(Duration::from_secs(3600)),
        }],
        ..tenax_server::ServerConfig::new(&db)
    })
    .unwrap();
    let cancel = CancellationToken::new();
    let base = start_server(state.clone(), &cancel).await;
    Env {
        sim,
        dir,
        db,
        base,
        client: reqwest::Client::new(),
        cancel,
        state,
    }
}

pub async fn env() -> Env {
    env_with(None).await
}

impl Env {
    /// A read handle on the served store (what the answers are checked against).
    pub fn store(&self) -> Box<dyn Store> {
        tenax_store::open_reader(&self.db).unwrap()
    }

    /// GET a path: status and body (JSON when it parses, else a string).
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_with(path, None).await
    }

    pub async fn get_with(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, body)
    }

    /// GET a path that must answer 200.
    pub async fn ok(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Follows `next_cursor` from `path` (which has its own query, at least `?`) to the end.
    pub async fn all_pages(&self, path: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let url = match &cursor {
                None => path.to_owned(),
                Some(c) => format!("{path}{sep}cursor={c}"),
            };
            let page = self.ok(&url).await;
            let items = page["items"].as_array().expect("items").clone();
            out.extend(items);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}
