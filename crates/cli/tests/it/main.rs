//! The `tenax` binary, driven as a user would, against the simulator.

mod errors;
mod flows;
mod ot;
mod pg;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

pub struct Cmd {
    pub dir: tempfile::TempDir,
}

impl Default for Cmd {
    fn default() -> Self {
        Self::new()
    }
}

impl Cmd {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> String {
        format!("sqlite://{}", self.path("t.db").display())
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenax"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("TENAX_CONFIG")
            .env_remove("TENAX_DB")
            .env_remove("TENAX_LOG")
            .env_remove("TIO_ACCESS_KEY")
            .env_remove("TIO_SECRET_KEY")
            .kill_on_drop(true);
        c
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("tenax runs")
    }

    /// Writes a config (mode 0600) and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path("tenax.toml");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    }
}

pub fn vm_config(url: &str, ak: &str, sk: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"cloud\"\nkind = \"vm\"\nurl = \"{url}\"\naccess_key = \"{ak}\"\nsecret_key = \"{sk}\"\n{extra}\n"
    )
}

pub async fn sim(assets: usize, faults: &str, chunk_interval_ms: u64) -> tenax_sim::Sim {
    let mut cfg = tenax_sim::SimConfig {
        seed: 21,
        assets,
        faults: faults.parse().unwrap(),
        ..tenax_sim::SimConfig::default()
    };
    cfg.vm.chunk_interval = Duration::from_millis(chunk_interval_ms);
    tenax_sim::Sim::start(cfg).await.unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn open(path: &Path) -> Box<dyn tenax_store::Store> {
    Box::new(tenax_store::SqliteStore::open_path(path).unwrap())
}
