//! Tenable OT Security (ex Tenable.ot, ex Indegy) simulator on its own HTTPS listener.
//!
//! - `tls`: test CA and server certificate, optional client certificates checked in the
//!   handshake (malformed or expired → TLS alert), the TLS listener.
//! - `data`: the seeded industrial data set (or recorded pages loaded from files), truth
//!   and mutation.
//! - `graphql`: `POST /graphql` (Apollo-style errors, Relay connections, projection onto
//!   the selection set).
//! - `filter`: `filter` / `search` / `sort` over the records.
//! - `api`: the axum routes, API-key and robot (client certificate) authentication, robot
//!   registration, `plugin_hits`, `version`, faults.

pub(crate) mod api;
pub(crate) mod data;
mod filter;
mod graphql;
pub(crate) mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::SmallRng;

use self::data::OtData;
use self::tls::ServerIdentity;
use crate::faults::Faults;
use crate::util::{label, mix};

/// Default OT API key (`X-APIKeys: key=<this>`).
pub const DEFAULT_OT_API_KEY: &str = "tenax-sim-ot-api-key-5f0c2a7d9e41b836";
/// Default support token for robot registration (`Authorization: Bearer <this>` on
/// `POST /v1/robots`).
pub const DEFAULT_OT_SUPPORT_TOKEN: &str = "tenax-sim-ot-support-token-8d3e6b21";

/// Which certificate the OT listener presents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServerCertMode {
    /// A leaf certificate for `127.0.0.1`/`::1`/`localhost` (CA:FALSE, serverAuth) signed by a
    /// test CA generated at start ([`crate::Sim::ot_ca_pem`]). Default.
    #[default]
    CaSigned,
    /// One self-signed certificate for `127.0.0.1`/`::1`/`localhost` marked CA:TRUE, like real
    /// appliances and `openssl req -x509` (rustls refuses it as an end entity:
    /// `CaUsedAsEndEntity`; clients need pinning or verification off).
    /// [`crate::Sim::ot_ca_pem`] then returns that certificate.
    SelfSignedCa,
}

/// Options of the simulated OT Security appliance.
#[derive(Debug, Clone)]
pub struct OtOptions {
    /// Serve OT at all (its own HTTPS listener). Default true.
    pub enabled: bool,
    /// Listen address of the OT listener. Default `None`: the IP of
    /// [`crate::SimConfig::listen`] with any free port.
    pub listen: Option<SocketAddr>,
    /// API key accepted in `X-APIKeys: key=<k>`. Default [`DEFAULT_OT_API_KEY`].
    pub api_key: String,
    /// Bearer token accepted by `POST /v1/robots`. Default [`DEFAULT_OT_SUPPORT_TOKEN`].
    pub support_token: String,
    /// Generated assets (including ~5 % hidden ones). Default 200.
    pub assets: usize,
    /// Certificate the listener presents. Default [`ServerCertMode::CaSigned`].
    pub server_cert: ServerCertMode,
    /// Offer the `findings` root field (newer appliances). Default true; false makes
    /// `findings` an unknown field (`GRAPHQL_VALIDATION_FAILED`) like older appliances.
    pub findings_query: bool,
    /// `GET /v1/version` answer `Version`. Default `"4.1.25"`.
    pub version: String,
    /// Serve these assets instead of the generated ones: a recorded GraphQL response
    /// (`{"data":{"assets":{"nodes":[…]}}}`, also `edges[].node`), or a JSON array of
    /// asset nodes. Records are served as recorded.
    pub assets_file: Option<PathBuf>,
    /// Same for `plugins`.
    pub plugins_file: Option<PathBuf>,
    /// Same for `events`.
    pub events_file: Option<PathBuf>,
}

impl Default for OtOptions {
    fn default() -> OtOptions {
        OtOptions {
            enabled: true,
            listen: None,
            api_key: DEFAULT_OT_API_KEY.to_string(),
            support_token: DEFAULT_OT_SUPPORT_TOKEN.to_string(),
            assets: 200,
            server_cert: ServerCertMode::CaSigned,
            findings_query: true,
            version: "4.1.25".to_string(),
            assets_file: None,
            plugins_file: None,
            events_file: None,
        }
    }
}

/// Ground truth of the OT data set: what a correct full sync reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OtTruth {
    /// Assets with `hidden: false` (what `{"field":"hidden","op":"Equal","values":"false"}`
    /// returns).
    pub assets: u64,
    /// Assets with `hidden: true`.
    pub hidden_assets: u64,
    /// Ids of the visible assets, sorted.
    pub asset_ids: Vec<String>,
    /// Ids of the hidden assets, sorted.
    pub hidden_asset_ids: Vec<String>,
    /// Every finding (`findings` without filter; hidden assets have none in generated data).
    pub findings: u64,
    /// Findings with `status: "Active"`.
    pub active_findings: u64,
    /// Findings with `status: "Resolved"` (`fixedAt` set).
    pub resolved_findings: u64,
    /// Ids of every finding, sorted.
    pub finding_ids: Vec<String>,
    /// Every event.
    pub events: u64,
    /// Events with `resolved: true`.
    pub resolved_events: u64,
    /// Ids of every event, sorted.
    pub event_ids: Vec<String>,
    /// Plugins (`plugins` without filter).
    pub plugins: u64,
    /// Distinct backplanes (racks) of the visible and hidden assets.
    pub backplanes: u64,
    /// IP → ids (sorted) of every asset whose `ips` holds it, for IPs held by two or more
    /// assets (backplane modules share the IP of their communication adapter).
    pub shared_ips: BTreeMap<String, Vec<String>>,
    /// Largest asset `lastUpdate` (RFC 3339, µs).
    pub max_last_update: String,
    /// `(asset id, device)` of every asset, visible and hidden: the device number of the
    /// shared device model VM and SC use (`VmTruth::asset_devices`, `ScHost::device`) for the
    /// engineering stations those products see too; a number of its own (≥ 2⁴⁰) for every
    /// other asset.
    pub asset_devices: Vec<(String, u64)>,
    /// Largest event `time` (RFC 3339, µs).
    pub max_event_time: String,
}

/// What one [`crate::Sim::ot_mutate`] call changed, all at the same instant `now`.
///
/// For any `since` with `anchor ≤ since ≤ now` (generated data ends two days before the
/// anchor): visible assets with `lastUpdate ≥ since` = `changed_assets + new_assets`
/// (ids in `changed_asset_ids` and `new_asset_ids`), events with `time ≥ since` =
/// `new_events`, findings with `lastHit ≥ since` = `new_findings`, findings with
/// `fixedAt ≥ since` = `resolved_findings`. Every finding added or resolved belongs to a
/// changed or new asset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtMutation {
    /// The instant of the changes (RFC 3339, µs).
    pub now: String,
    /// Existing visible assets whose `lastUpdate` and `lastSeen` became `now`.
    pub changed_assets: u64,
    /// Ids of those assets, sorted.
    pub changed_asset_ids: Vec<String>,
    /// New visible assets (`firstSeen = lastSeen = lastUpdate = now`).
    pub new_assets: u64,
    /// Ids of the new assets.
    pub new_asset_ids: Vec<String>,
    /// New findings (`firstHit = lastHit = now`, `Active`).
    pub new_findings: u64,
    /// Active findings that became `Resolved` (`fixedAt = now`).
    pub resolved_findings: u64,
    /// New events (`time = now`, `logId` continuing the sequence).
    pub new_events: u64,
    /// Unresolved old events that became resolved (`resolvedTs = now`; their `time` is
    /// unchanged).
    pub resolved_events: u64,
}

/// A robot registered by `POST /v1/robots` ([`crate::Sim::ot_robots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtRobot {
    /// Id given at registration (UUID).
    pub id: String,
    /// Robot name.
    pub name: String,
    /// `AdminRole` or `ReaderRole`.
    pub role: String,
    /// Lowercase hex SHA-256 of the certificate DER.
    pub sha256: String,
    /// Certificate `notAfter`.
    pub not_after: DateTime<Utc>,
}

/// OT request counters ([`crate::Sim::ot_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OtStats {
    /// Every request that reached the OT HTTP layer (TLS handshakes that failed are not
    /// requests).
    pub requests: u64,
    /// Authenticated `POST /graphql` requests (what `ot-error:page=K` counts).
    pub graphql_pages: u64,
    /// 429 answers of `ot-429`.
    pub rate_limited: u64,
    /// 5xx answers of `ot-5xx`.
    pub server_errors: u64,
}

/// OT faults (copied from [`Faults`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct OtFaults {
    pub error_pages: BTreeSet<u32>,
    pub node_error_pages: BTreeSet<u32>,
    pub rate_limit: Option<crate::faults::RateLimitFault>,
    pub server_error_p: Option<f64>,
}

/// Mutable OT state.
pub(crate) struct OtState {
    /// Built on first use (generated sets, so VM/SC-only users pay nothing) or at start
    /// (file sets, so errors surface early).
    data: Option<Arc<OtData>>,
    pub robots: Vec<OtRobot>,
    pub mutations: u64,
    /// `/graphql` requests that reached execution (for `ot-error:page=K`).
    pub graphql_pages: u64,
}

/// The OT product: options, certificates and state.
pub(crate) struct OtService {
    pub opts: OtOptions,
    anchor_ms: i64,
    pub faults: OtFaults,
    pub identity: ServerIdentity,
    pub seed: u64,
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    pub server_errors: AtomicU64,
    pub fault_rng: Mutex<SmallRng>,
    pub state: Mutex<OtState>,
}

impl OtService {
    pub(crate) fn new(
        opts: OtOptions,
        faults: &Faults,
        seed: u64,
        anchor_ms: i64,
    ) -> Result<OtService, String> {
        let identity = tls::server_identity(opts.server_cert)?;
        let files =
            opts.assets_file.is_some() || opts.plugins_file.is_some() || opts.events_file.is_some();
        let data = if files {
            Some(Arc::new(OtData::build(seed, anchor_ms, &opts)?))
        } else {
            None
        };
        Ok(OtService {
            faults: OtFaults {
                error_pages: faults.ot_error_pages.clone(),
                node_error_pages: faults.ot_node_error_pages.clone(),
                rate_limit: faults.ot_rate_limit,
                server_error_p: faults.ot_server_error_p,
            },
            identity,
            seed,
            anchor_ms,
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            fault_rng: Mutex::new(SmallRng::seed_from_u64(mix(&[seed, label("ot-faults")]))),
            state: Mutex::new(OtState {
                data,
                robots: Vec::new(),
                mutations: 0,
                graphql_pages: 0,
            }),
            opts,
        })
    }

    /// Locks the state; a poisoned lock is recovered.
    pub(crate) fn lock(&self) -> MutexGuard<'_, OtState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn data(&self) -> Arc<OtData> {
        let mut st = self.lock();
        self.data_locked(&mut st)
    }

    /// The current data set, built on first use.
    pub(crate) fn data_locked(&self, st: &mut OtState) -> Arc<OtData> {
        if let Some(d) = &st.data {
            return Arc::clone(d);
        }
        let built = OtData::build(self.seed, self.anchor_ms, &self.opts).unwrap_or_default();
        let d = Arc::new(built);
        st.data = Some(Arc::clone(&d));
        d
    }

    pub(crate) fn truth(&self) -> OtTruth {
        self.data().truth()
    }

    pub(crate) fn stats(&self) -> OtStats {
        use std::sync::atomic::Ordering::Relaxed;
        OtStats {
            requests: self.requests.load(Relaxed),
            graphql_pages: self.lock().graphql_pages,
            rate_limited: self.rate_limited.load(Relaxed),
            server_errors: self.server_errors.load(Relaxed),
        }
    }

    pub(crate) fn robots(&self) -> Vec<OtRobot> {
        self.lock().robots.clone()
    }

    pub(crate) fn mutate(&self, n: usize, now_us: i64) -> OtMutation {
        let mut st = self.lock();
        st.mutations += 1;
        let counter = st.mutations;
        let mut next = (*self.data_locked(&mut st)).clone();
        let m = next.mutate(self.seed, counter, n, now_us);
        st.data = Some(Arc::new(next));
        m
    }
}

/// A running OT listener.
pub(crate) struct OtRunning {
    pub addr: SocketAddr,
    pub service: Arc<OtService>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<()>>,
    pub acceptor: Option<tokio::task::JoinHandle<()>>,
}

impl OtRunning {
    /// Builds the data set and certificates, binds and serves.
    pub(crate) async fn start(
        opts: OtOptions,
        faults: &Faults,
        seed: u64,
        anchor_ms: i64,
        default_listen: SocketAddr,
    ) -> Result<OtRunning, crate::SimError> {
        let listen = opts
            .listen
            .unwrap_or_else(|| SocketAddr::new(default_listen.ip(), 0));
        let faults = faults.clone();
        let service =
            tokio::task::spawn_blocking(move || OtService::new(opts, &faults, seed, anchor_ms))
                .await
                .map_err(|e| crate::SimError::Internal(e.to_string()))?
                .map_err(crate::SimError::Data)?;
        let service = Arc::new(service);
        let cfg = tls::server_config(&service.identity).map_err(crate::SimError::Internal)?;
        let tcp = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| crate::SimError::Bind {
                addr: listen,
                source,
            })?;
        let (listener, acceptor) =
            tls::spawn_acceptor(tcp, cfg).map_err(|source| crate::SimError::Bind {
                addr: listen,
                source,
            })?;
        let addr = axum::serve::Listener::local_addr(&listener).map_err(|source| {
            crate::SimError::Bind {
                addr: listen,
                source,
            }
        })?;
        let app = api::router(Arc::clone(&service))
            .into_make_service_with_connect_info::<tls::PeerCerts>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "OT simulator server stopped with an error.");
            }
        });
        tracing::info!(%addr, "OT simulator listening (HTTPS).");
        Ok(OtRunning {
            addr,
            service,
            stop: Some(stop),
            server: Some(server),
            acceptor: Some(acceptor),
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        }
        format!("https://{a}")
    }

    pub(crate) async fn shutdown(&mut self) {
        if let Some(a) = self.acceptor.take() {
            a.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.server.take()
            && tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for OtRunning {
    fn drop(&mut self) {
        if let Some(a) = self.acceptor.take() {
            a.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}
