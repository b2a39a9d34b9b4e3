//! What every handler shares: the read-handle pool, the token, the configured sources, the
//! caches keyed by the store's data version, and the in-process metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenax_model::SourceKind;
use tenax_store::{Sla, Store};

use crate::auth::ApiToken;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Read handles kept idle at most.
const MAX_IDLE_READERS: usize = 8;

/// A source of the configuration (for `/api/v1/sources`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredSource {
    /// Source name.
    pub name: String,
    /// Product.
    pub kind: SourceKind,
    /// Its `sync_every`, when scheduled.
    pub sync_every: Option<Duration>,
}

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The store URL; the server opens read handles on it (the store must exist: open it
    /// once with `tenax_store::open` first).
    pub store_url: String,
    /// When set, `/api/*` and `/metrics` require `Authorization: Bearer <token>`.
    pub token: Option<ApiToken>,
    /// The configured sources.
    pub sources: Vec<ConfiguredSource>,
    /// The SLA of `/api/v1/sla` and the overview.
    pub sla: Sla,
}

impl ServerConfig {
    /// A config for a store URL: no token, no configured sources, the default SLA.
    pub fn new(store_url: &str) -> Self {
        Self {
            store_url: store_url.to_owned(),
            token: None,
            sources: Vec::new(),
            sla: Sla::default(),
        }
    }
}

/// The shared state of the server (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: ServerConfig,
    idle: Mutex<Vec<Box<dyn Store>>>,
    /// Cached answers: key (what and its parameters) → (data version, answer).
    cache: Mutex<BTreeMap<String, (u64, Arc<serde_json::Value>)>>,
    /// Held while an answer is computed for the cache: requests arriving meanwhile wait for it
    /// and take the result instead of computing the same aggregates again.
    computing: Mutex<()>,
    metrics: Metrics,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state for a config; opens one read handle to check the store is there.
    pub fn new(config: ServerConfig) -> Result<Self, tenax_store::Error> {
        let first = tenax_store::open_reader(&config.store_url)?;
        Ok(Self(Arc::new(Inner {
            config,
            idle: Mutex::new(vec![first]),
            cache: Mutex::new(BTreeMap::new()),
            computing: Mutex::new(()),
            metrics: Metrics::default(),
        })))
    }

    pub(crate) fn token(&self) -> Option<&ApiToken> {
        self.0.config.token.as_ref()
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Runs `f` with a read handle on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, ApiError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = this.take_reader()?;
            let out = f(store.as_ref());
            // A handle whose last call failed in the store is dropped, not reused.
            if !matches!(out, Err(ApiError::Store(_))) {
                this.give_back(store);
            }
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("store task: {e}")))?
    }

    fn take_reader(&self) -> Result<Box<dyn Store>, ApiError> {
        let idle = self.0.idle.lock().ok().and_then(|mut v| v.pop());
        match idle {
            Some(s) => Ok(s),
            None => Ok(tenax_store::open_reader(&self.0.config.store_url)?),
        }
    }

    fn give_back(&self, store: Box<dyn Store>) {
        if let Ok(mut v) = self.0.idle.lock()
            && v.len() < MAX_IDLE_READERS
        {
            v.push(store);
        }
    }

    /// A cached answer computed by `f` for the store's current data version: recomputed only
    /// when the data changed since it was cached.
    pub(crate) fn cached<F>(
        &self,
        store: &dyn Store,
        key: &str,
        f: F,
    ) -> Result<Arc<serde_json::Value>, ApiError>
    where
        F: FnOnce(&dyn Store) -> Result<serde_json::Value, ApiError>,
    {
        let fresh = |version: u64| {
            self.0
                .cache
                .lock()
                .ok()
                .and_then(|c| c.get(key).cloned())
                .filter(|(v, _)| *v == version)
                .map(|(_, answer)| answer)
        };
        let version = store.data_version()?;
        if let Some(answer) = fresh(version) {
            return Ok(answer);
        }
        // One computation at a time (a poisoned lock only means an earlier one panicked).
        let _computing = self
            .0
            .computing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let version = store.data_version()?;
        if let Some(answer) = fresh(version) {
            return Ok(answer);
        }
        let answer = Arc::new(f(store)?);
        if let Ok(mut c) = self.0.cache.lock() {
            // Bounded: parameters vary (source lists); keep the newest few dozen.
            if c.len() >= 64 {
                c.retain(|_, (v, _)| *v == version);
            }
            c.insert(key.to_owned(), (version, answer.clone()));
        }
        Ok(answer)
    }
}
