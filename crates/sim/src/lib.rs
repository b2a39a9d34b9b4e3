//! `tenax-sim`: a simulator of the Tenable APIs tenax reads from, in process and over real
//! HTTP on loopback.
//!
//! It serves **Tenable Vulnerability Management** (VM, ex Tenable.io): the
//! vulnerability and asset (v1) export APIs with `X-ApiKeys` authentication, asynchronous
//! export jobs whose chunks appear over time and out of order, 409 on duplicate exports,
//! 429 on too many concurrent exports, chunk expiry, and opt-in [`Faults`]; and
//! **Tenable Security Center** (SC) under `/rest` on the same listener: the SC envelope,
//! API-key and session-token authentication, `/rest/system`, `/rest/currentUser` and
//! `POST /rest/analysis` (`vulndetails`, `sumip`; cumulative and patched) with filters and
//! offset paging, the 6.x host inventory and asset lists with their membership
//! ([`ScOptions`], [`Sim::sc_truth`], [`Sim::sc_hosts`], [`Sim::sc_mutate`],
//! [`Sim::sc_move_host`]); and **Tenable OT Security** on its own HTTPS listener
//! ([`OtOptions`], [`Sim::ot_url`]): a test CA or a self-signed CA:TRUE server certificate,
//! API keys and robots registered by `POST /v1/robots` authenticated by their client
//! certificate, GraphQL (`assets`, `plugins`, `events`, `findings`; Relay connections,
//! filters, projection onto the selection set, Apollo-style errors), `plugin_hits`
//! ([`Sim::ot_truth`], [`Sim::ot_mutate`], [`Sim::ot_robots`]).
//!
//! The data set is generated from a seed (same seed and same requests → byte-identical
//! chunks) and only a compact model is held in memory: chunks are rendered and streamed
//! when they are downloaded. [`Sim::vm_truth`] is the ground truth a correct sync must
//! store; [`Sim::vm_mutate`] changes the data deterministically for incremental tests.
//!
//! The crate depends on no other tenax crate and builds its JSON from its own types, so a
//! wrong field name in the client is not mirrored here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tenax_sim::SimError> {
//! use tenax_sim::{Sim, SimConfig};
//!
//! let sim = Sim::start(SimConfig { seed: 7, assets: 200, ..SimConfig::default() }).await?;
//! let (access, secret) = sim.vm_keys();
//! println!("{} accessKey={access}; secretKey={secret};", sim.vm_url());
//! let truth = sim.vm_truth();
//! println!("{} live assets, {} findings", truth.live_assets, truth.findings);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod catalog;
mod devices;
mod faults;
mod ot;
mod sc;
mod server;
mod util;
mod vm;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::faults::{FaultSpecError, Faults, RateLimitFault};
pub use crate::ot::{
    DEFAULT_OT_API_KEY, DEFAULT_OT_SUPPORT_TOKEN, OtMutation, OtOptions, OtRobot, OtStats, OtTruth,
    ServerCertMode,
};
use crate::sc::ScService;
pub use crate::sc::{
    DEFAULT_SC_ACCESS_KEY, DEFAULT_SC_PASSWORD, DEFAULT_SC_SECRET_KEY, DEFAULT_SC_USERNAME, ScHost,
    ScMove, ScMutation, ScOptions, ScSessions, ScTruth,
};
use crate::server::{Counters, Shared};
use crate::util::{DAY_MS, label, mix};
use crate::vm::VmService;
use crate::vm::data::VmData;
pub use crate::vm::{
    DEFAULT_VM_ACCESS_KEY, DEFAULT_VM_SECRET_KEY, VmMutation, VmOptions, VmRole, VmTruth,
};

/// Configuration of a simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of everything generated. Default 42.
    pub seed: u64,
    /// Number of VM assets generated. Default 1000.
    pub assets: usize,
    /// Where to listen. Default `127.0.0.1:0` (any free port).
    pub listen: SocketAddr,
    /// Injected faults. Default none.
    pub faults: Faults,
    /// VM options.
    pub vm: VmOptions,
    /// Security Center options (served under `/rest` on the same listener).
    pub sc: ScOptions,
    /// OT Security options (its own HTTPS listener, [`Sim::ot_url`]).
    pub ot: OtOptions,
    /// Instant the generated timestamps are relative to: they lie between
    /// `anchor - 300 days` and `anchor - 2 days`. Default (`None`): the start of the
    /// current UTC day, so two simulators started the same day produce the same bytes.
    pub anchor: Option<DateTime<Utc>>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            assets: 1000,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            faults: Faults::default(),
            vm: VmOptions::default(),
            sc: ScOptions::default(),
            ot: OtOptions::default(),
            anchor: None,
        }
    }
}

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A findings or assets file could not be loaded.
    #[error("cannot load data file: {0}")]
    Data(String),
    /// Building the data set failed unexpectedly.
    #[error("simulator start failed: {0}")]
    Internal(String),
}

/// Counters for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every HTTP request received (including faulted and rejected ones).
    pub requests: u64,
    /// Export jobs created (vulns and assets, including the one `409:first` starts).
    pub exports_created: u64,
    /// 429 answers (the `429:` fault and the concurrency limit).
    pub rate_limited: u64,
    /// Injected 5xx answers.
    pub server_errors: u64,
    /// Chunk downloads aborted mid-body by the `reset:` fault.
    pub resets: u64,
    /// Download requests per (export uuid, chunk id) that reached the chunk handler for an
    /// existing export and an in-range chunk id, whatever the outcome (200, fault, or 404
    /// because the chunk is not available yet or expired).
    pub chunk_downloads: BTreeMap<(String, u32), u64>,
    /// Running exports cancelled.
    pub cancelled: u64,
    /// 409 answers (duplicate exports and `409:first`).
    pub conflicts: u64,
}

/// A running simulator. Dropping it stops the server; [`Sim::shutdown`] does so gracefully.
pub struct Sim {
    addr: SocketAddr,
    anchor: DateTime<Utc>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    ot: Option<ot::OtRunning>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("addr", &self.addr)
            .field("anchor", &self.anchor)
            .finish()
    }
}

fn default_anchor() -> DateTime<Utc> {
    let now = Utc::now().timestamp_millis();
    let day = now - now.rem_euclid(DAY_MS);
    DateTime::from_timestamp_millis(day).unwrap_or_else(Utc::now)
}

impl Sim {
    /// Builds the data set, binds the listener and serves in a background task; returns
    /// once the socket is listening.
    pub async fn start(cfg: SimConfig) -> Result<Sim, SimError> {
        let anchor = cfg.anchor.unwrap_or_else(default_anchor);
        let (seed, assets) = (cfg.seed, cfg.assets);
        let findings_file: Option<PathBuf> = cfg.vm.findings_file.clone();
        let assets_file: Option<PathBuf> = cfg.vm.assets_file.clone();
        let anchor_ms = anchor.timestamp_millis();
        let data = tokio::task::spawn_blocking(move || {
            VmData::build(
                seed,
                assets,
                anchor_ms,
                findings_file.as_deref(),
                assets_file.as_deref(),
            )
        })
        .await
        .map_err(|e| SimError::Internal(e.to_string()))?
        .map_err(SimError::Data)?;
        let sc_opts = cfg.sc.clone();
        let mut sc = tokio::task::spawn_blocking(move || ScService::new(sc_opts, seed, anchor_ms))
            .await
            .map_err(|e| SimError::Internal(e.to_string()))?
            .map_err(SimError::Data)?;
        sc.session_requests = cfg.faults.sc_session_requests;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            seed,
            fault_rng: Mutex::new(SmallRng::seed_from_u64(mix(&[seed, label("faults")]))),
            faults: cfg.faults,
            counters: Counters::default(),
            vm: VmService::new(cfg.vm, data),
            sc,
        });
        let ot = if cfg.ot.enabled {
            Some(ot::OtRunning::start(cfg.ot.clone(), &shared.faults, seed, anchor_ms, addr).await?)
        } else {
            None
        };
        let app = server::router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "Simulator server stopped with an error.");
            }
        });
        tracing::info!(%addr, seed, assets, "Simulator listening.");
        Ok(Sim {
            addr,
            anchor,
            shared,
            stop: Some(stop),
            task: Some(task),
            ot,
        })
    }

    /// The socket address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the VM API (paths at the root: `/vulns/export`, …).
    pub fn vm_url(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        format!("http://{a}")
    }

    /// `(access, secret)` of the built-in admin key.
    pub fn vm_keys(&self) -> (String, String) {
        let o = &self.shared.vm.opts;
        (o.access_key.clone(), o.secret_key.clone())
    }

    /// Adds (or replaces) an API key pair with a role.
    pub fn add_vm_key(&self, access: &str, secret: &str, role: VmRole) {
        self.shared.vm.add_key(access, secret, role);
    }

    /// Ground truth of the current VM data set.
    pub fn vm_truth(&self) -> VmTruth {
        self.shared.vm.truth()
    }

    /// Changes about `n` findings at the current time, deterministically from the seed and
    /// the number of previous calls (see [`VmMutation`]). Exports already created keep
    /// serving their snapshot. File-backed data sets are not mutated (all counts zero).
    pub fn vm_mutate(&self, n: usize) -> VmMutation {
        self.shared.vm.mutate(n, util::now_ms())
    }

    /// Expires every existing export: their chunks answer 404 from now on.
    pub fn vm_expire_exports(&self) {
        self.shared.vm.expire_exports();
    }

    /// Base URL of the Security Center (the API is under `/rest`, same listener as VM).
    pub fn sc_url(&self) -> String {
        self.vm_url()
    }

    /// The SC API key header value exactly as SC displays it:
    /// `accesskey=<access>; secretkey=<secret>;` (send it as `x-apikey`).
    pub fn sc_api_keys(&self) -> String {
        let o = &self.shared.sc.opts;
        format!("accesskey={}; secretkey={};", o.access_key, o.secret_key)
    }

    /// Ground truth of the current SC data set.
    pub fn sc_truth(&self) -> ScTruth {
        self.shared.sc.truth()
    }

    /// Changes about `n` SC vulnerabilities (and DHCP host addresses) at the current time,
    /// deterministically from the seed and the number of previous calls (see
    /// [`ScMutation`]). File-backed data sets are not mutated (all counts zero).
    pub fn sc_mutate(&self, n: usize) -> ScMutation {
        self.shared.sc.mutate(n, util::now_ms().div_euclid(1000))
    }

    /// Every generated SC host with its identity, asset lists and row counts (empty for
    /// file-backed data sets).
    pub fn sc_hosts(&self) -> Vec<ScHost> {
        self.shared.sc.hosts()
    }

    /// Moves the SC host answering on `ip` to a new DHCP lease now (see [`ScMove`]);
    /// `None` when no generated host has that address.
    pub fn sc_move_host(&self, ip: &str) -> Option<ScMove> {
        self.shared
            .sc
            .move_host(ip, None, util::now_ms().div_euclid(1000))
    }

    /// Moves the SC host answering on `ip` to the address `to` now, as a DHCP server reuses
    /// a released lease for another machine (see [`ScMove`]); `None` when no generated host
    /// has `ip`, `to` is not an IPv4 address, or another host holds `to`.
    pub fn sc_move_host_to(&self, ip: &str, to: &str) -> Option<ScMove> {
        let to: std::net::Ipv4Addr = to.parse().ok()?;
        self.shared
            .sc
            .move_host(ip, Some(to.octets()), util::now_ms().div_euclid(1000))
    }

    /// SC session counters: logins, open sessions, sessions expired by `sc-expire:after=N`.
    pub fn sc_sessions(&self) -> ScSessions {
        self.shared.sc.sessions()
    }

    /// Base URL of the OT Security appliance: `https://127.0.0.1:<port>` (its own HTTPS
    /// listener; empty when OT is disabled).
    pub fn ot_url(&self) -> String {
        self.ot.as_ref().map(ot::OtRunning::url).unwrap_or_default()
    }

    /// PEM of the certificate an OT client should trust: the test CA
    /// ([`ServerCertMode::CaSigned`]) or the self-signed server certificate itself
    /// ([`ServerCertMode::SelfSignedCa`]). Empty when OT is disabled.
    pub fn ot_ca_pem(&self) -> String {
        self.ot
            .as_ref()
            .map(|o| o.service.identity.ca_pem.clone())
            .unwrap_or_default()
    }

    /// PEM of the certificate the OT listener presents.
    pub fn ot_server_cert_pem(&self) -> String {
        self.ot
            .as_ref()
            .map(|o| o.service.identity.cert_pem.clone())
            .unwrap_or_default()
    }

    /// Lowercase hex SHA-256 of the OT server certificate's DER (for pinning).
    pub fn ot_server_cert_sha256(&self) -> String {
        self.ot
            .as_ref()
            .map(|o| ot::tls::sha256_hex(o.service.identity.cert_der.as_ref()))
            .unwrap_or_default()
    }

    /// The OT API key (send `X-APIKeys: key=<this>`).
    pub fn ot_api_key(&self) -> String {
        self.ot
            .as_ref()
            .map(|o| o.service.opts.api_key.clone())
            .unwrap_or_default()
    }

    /// The support token `POST /v1/robots` accepts (`Authorization: Bearer <this>`).
    pub fn ot_support_token(&self) -> String {
        self.ot
            .as_ref()
            .map(|o| o.service.opts.support_token.clone())
            .unwrap_or_default()
    }

    /// Ground truth of the current OT data set (default when OT is disabled).
    pub fn ot_truth(&self) -> OtTruth {
        self.ot
            .as_ref()
            .map(|o| o.service.truth())
            .unwrap_or_default()
    }

    /// Changes about `n` OT assets at the current time, deterministically from the seed and
    /// the number of previous calls (see [`OtMutation`]). File-backed data sets are not
    /// mutated (all counts zero).
    pub fn ot_mutate(&self, n: usize) -> OtMutation {
        self.ot
            .as_ref()
            .map(|o| o.service.mutate(n, util::now_ms().saturating_mul(1000)))
            .unwrap_or_default()
    }

    /// OT request counters (default when OT is disabled).
    pub fn ot_stats(&self) -> OtStats {
        self.ot
            .as_ref()
            .map(|o| o.service.stats())
            .unwrap_or_default()
    }

    /// Robots registered with `POST /v1/robots`, in registration order.
    pub fn ot_robots(&self) -> Vec<OtRobot> {
        self.ot
            .as_ref()
            .map(|o| o.service.robots())
            .unwrap_or_default()
    }

    /// The instant generated timestamps are relative to.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.anchor
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        let c = &self.shared.counters;
        SimStats {
            requests: c.requests.load(Ordering::Relaxed),
            exports_created: c.exports_created.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            resets: c.resets.load(Ordering::Relaxed),
            chunk_downloads: c
                .chunk_downloads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            cancelled: c.cancelled.load(Ordering::Relaxed),
            conflicts: c.conflicts.load(Ordering::Relaxed),
        }
    }

    /// Stops the server: lets in-flight requests finish for up to two seconds, then aborts.
    pub async fn shutdown(mut self) {
        if let Some(ot) = self.ot.as_mut() {
            ot.shutdown().await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
