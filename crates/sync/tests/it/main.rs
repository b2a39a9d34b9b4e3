//! The sync engine against the simulator: exact counts, incremental changes, faults,
//! partial runs and checkpoints.

mod correlation;
mod history;
mod ot;
mod vm;

use std::time::Duration;

use tenax_source::retry::RetryPolicy;
use tenax_source_vm::{VmConfig, VmSource};
use tenax_store::{SqliteStore, Store};
use tenax_sync::{AnySource, RunOptions, RunSummary, run_source};

pub struct Env {
    pub sim: tenax_sim::Sim,
    pub store: Option<Box<dyn Store>>,
    _dir: tempfile::TempDir,
}

pub async fn env(seed: u64, assets: usize, faults: &str) -> Env {
    let mut cfg = tenax_sim::SimConfig {
        seed,
        assets,
        faults: faults.parse().expect("valid fault spec"),
        ..tenax_sim::SimConfig::default()
    };
    cfg.vm.chunk_interval = Duration::from_millis(2);
    let sim = tenax_sim::Sim::start(cfg).await.expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(&dir.path().join("t.db")).unwrap();
    Env {
        sim,
        store: Some(Box::new(store)),
        _dir: dir,
    }
}

pub fn vm_source(sim: &tenax_sim::Sim, tweak: impl FnOnce(&mut VmConfig)) -> AnySource {
    let (ak, sk) = sim.vm_keys();
    let mut c = VmConfig::new("cloud", &sim.vm_url(), &ak, &sk);
    c.num_assets = 50;
    c.asset_chunk_size = 100;
    tweak(&mut c);
    let s = VmSource::new(c.resolve().unwrap())
        .unwrap()
        .with_retry(RetryPolicy::fast())
        .with_poll_initial(Duration::from_millis(5));
    AnySource::Vm(s)
}

impl Env {
    pub async fn sync(&mut self, src: &AnySource, full: bool) -> RunSummary {
        let store = self.store.take().unwrap();
        let opts = RunOptions {
            full,
            ..RunOptions::default()
        };
        let (store, r) = run_source(store, src, &opts).await;
        self.store = Some(store);
        r.expect("the store works")
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_deref().unwrap()
    }
}
