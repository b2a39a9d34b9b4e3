//! Tenable Vulnerability Management (cloud, ex Tenable.io) export API simulator.
//!
//! - `data`: the compact data model (generated or loaded from files), truth and mutation.
//! - `render`: JSON rendering of findings and v1 assets, streamed chunk by chunk.
//! - `export`: export jobs (time-driven state machine, chunk layout, filters).
//! - `api`: the axum routes.

pub(crate) mod api;
pub(crate) mod data;
mod export;
mod file;
mod render;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use self::data::VmData;
use self::export::Export;

/// Default access key of the admin user (64 hex characters, fixed).
pub const DEFAULT_VM_ACCESS_KEY: &str =
    "6f3c1e2a9b7d4c5e8a1f0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a";
/// Default secret key of the admin user (64 hex characters, fixed).
pub const DEFAULT_VM_SECRET_KEY: &str =
    "d2a7e4b19c0f38d6a5e2b7c49f1d0e3a6b8c2d5f7e9a1b3c4d6e8f0a2b4c6d8e";

/// Options of the simulated VM product.
#[derive(Debug, Clone)]
pub struct VmOptions {
    /// Access key of the built-in admin user. Default [`DEFAULT_VM_ACCESS_KEY`].
    pub access_key: String,
    /// Secret key of the built-in admin user. Default [`DEFAULT_VM_SECRET_KEY`].
    pub secret_key: String,
    /// Delay between successive chunks becoming available while an export is PROCESSING.
    /// With N chunks (in a seeded shuffled order) and interval I, measured from creation:
    /// QUEUED until I/2, the k-th chunk (k = 1..N) becomes available at k·I, FINISHED at
    /// max(N, 1)·I. Computed on each request; zero makes every export FINISHED at once.
    /// Default 20 ms.
    pub chunk_interval: Duration,
    /// Serve findings from this file (JSON array of records, or a decoded pyTenable
    /// cassette) instead of the generated set.
    pub findings_file: Option<PathBuf>,
    /// Serve assets from this file (same formats) instead of the generated set.
    pub assets_file: Option<PathBuf>,
    /// Running (QUEUED/PROCESSING) exports allowed per kind (vulns, assets); one more
    /// answers 429 with `retry-after`. Default 10.
    pub max_concurrent_exports: usize,
}

impl Default for VmOptions {
    fn default() -> VmOptions {
        VmOptions {
            access_key: DEFAULT_VM_ACCESS_KEY.to_string(),
            secret_key: DEFAULT_VM_SECRET_KEY.to_string(),
            chunk_interval: Duration::from_millis(20),
            findings_file: None,
            assets_file: None,
            max_concurrent_exports: 10,
        }
    }
}

/// Role of an API key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmRole {
    /// Administrator (64): everything.
    Admin,
    /// Basic (16): may export (the simulator grants Can View on all assets).
    Basic,
    /// A custom role without the export privilege: 403 on every export endpoint.
    NoExport,
}

/// Ground truth: what a correct full sync of the VM data set stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmTruth {
    /// All assets, including removed ones (`live_assets + deleted_assets`).
    pub assets: u64,
    /// Assets neither deleted nor terminated (what an unfiltered asset export returns).
    pub live_assets: u64,
    /// Removed assets: deleted (`deleted_at` set) or terminated (`terminated_at` set).
    pub deleted_assets: u64,
    /// Of `deleted_assets`, those that are terminated rather than deleted.
    pub terminated_assets: u64,
    /// All findings (every state) on live assets.
    pub findings: u64,
    /// Findings in state OPEN.
    pub open: u64,
    /// Findings in state REOPENED.
    pub reopened: u64,
    /// Findings in state FIXED.
    pub fixed: u64,
    /// Ids of the live assets, in export order.
    pub asset_ids: Vec<String>,
    /// Ids of the removed (deleted or terminated) assets.
    pub deleted_asset_ids: Vec<String>,
    /// `(asset id, device)` of every generated asset: the physical device it is, in the
    /// device model every product shares (correlation ground truth). Empty for file data.
    pub asset_devices: Vec<(String, u64)>,
}

/// What one [`crate::Sim::vm_mutate`] call changed (all at the same "now").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VmMutation {
    /// OPEN/REOPENED findings that became FIXED (`last_fixed` = now).
    pub fixed: u64,
    /// FIXED findings that became REOPENED (`last_found` = now).
    pub reopened: u64,
    /// New OPEN findings on live assets (`first_found` = `last_found` = now).
    pub new: u64,
    /// Assets deleted (`deleted_at` = `updated_at` = now).
    pub deleted_assets: u64,
    /// Findings that vanished with the deleted assets.
    pub findings_removed_with_assets: u64,
    /// `fixed + reopened + new`: what a `since` export (all states) taken after the
    /// mutation returns when `since` lies between the data set and the mutation.
    pub changed_findings: u64,
    /// Live assets whose `updated_at` was set to now because their findings changed.
    pub updated_assets: u64,
}

/// Everything the VM handlers share, behind one mutex.
pub(crate) struct VmState {
    pub data: Arc<VmData>,
    pub keys: HashMap<String, (String, VmRole)>,
    pub exports: Vec<Export>,
    pub index: HashMap<String, usize>,
    pub export_counter: u64,
    pub mutations: u64,
    pub conflict_first_done: bool,
    pub first_vulns_export: Option<String>,
    pub expire_done: HashSet<u32>,
    pub reset_done: HashSet<(String, u32)>,
    pub truncate_done: HashSet<(String, u32)>,
}

/// The VM product: options plus state.
pub(crate) struct VmService {
    pub opts: VmOptions,
    pub state: Mutex<VmState>,
}

impl VmService {
    pub(crate) fn new(opts: VmOptions, data: VmData) -> VmService {
        let mut keys = HashMap::new();
        keys.insert(
            opts.access_key.clone(),
            (opts.secret_key.clone(), VmRole::Admin),
        );
        VmService {
            opts,
            state: Mutex::new(VmState {
                data: Arc::new(data),
                keys,
                exports: Vec::new(),
                index: HashMap::new(),
                export_counter: 0,
                mutations: 0,
                conflict_first_done: false,
                first_vulns_export: None,
                expire_done: HashSet::new(),
                reset_done: HashSet::new(),
                truncate_done: HashSet::new(),
            }),
        }
    }

    /// Locks the state; a poisoned lock is recovered (handlers never leave it inconsistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, VmState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add_key(&self, access: &str, secret: &str, role: VmRole) {
        self.lock()
            .keys
            .insert(access.to_string(), (secret.to_string(), role));
    }

    pub(crate) fn truth(&self) -> VmTruth {
        let data = Arc::clone(&self.lock().data);
        data.truth()
    }

    pub(crate) fn mutate(&self, n: usize, now_ms: i64) -> VmMutation {
        // Held for the whole mutation so concurrent calls serialize (exports keep their
        // own snapshot `Arc`, so running downloads are unaffected).
        let mut st = self.lock();
        st.mutations += 1;
        let counter = st.mutations;
        let mut next = (*st.data).clone();
        let m = next.mutate(counter, n, now_ms);
        st.data = Arc::new(next);
        m
    }

    pub(crate) fn expire_exports(&self) {
        for e in &mut self.lock().exports {
            e.expired = true;
        }
    }
}
