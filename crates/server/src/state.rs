//! What every handler shares: the read-handle pool, the token, the configured sources, the
//! caches keyed by the store's data version, and the in-process metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    cache: Mutex<BTreeMap<String, Entry>>,
    /// Keys being recomputed in the background.
    refreshing: Mutex<std::collections::BTreeSet<String>>,
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
            refreshing: Mutex::new(Default::default()),
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

    /// The answer cached under `key`, as `f` computes it (`f` runs on the blocking pool with
    /// a read handle):
    ///
    /// * fresh (computed at the store's current data version, less than [`MAX_AGE`] ago): served
    ///   from memory;
    /// * stale (the data changed since, or it is older): served from memory while one
    ///   background task recomputes it, so a sync writing batch after batch never makes a
    ///   request wait for aggregates over the whole store;
    /// * absent: computed now (one computation at a time; requests arriving meanwhile wait for
    ///   it and take its result).
    pub(crate) async fn cached<F>(
        &self,
        key: String,
        f: F,
    ) -> Result<Arc<serde_json::Value>, ApiError>
    where
        F: Fn(&AppState, &dyn Store) -> Result<serde_json::Value, ApiError>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let st = self.clone();
        let k = key.clone();
        let (version, entry) = self
            .read(move |s: &dyn Store| Ok((s.data_version()?, st.peek(&k))))
            .await?;
        match entry {
            Some(e) if e.is_fresh(version) => Ok(e.answer),
            Some(e) => {
                self.refresh_in_background(key, f);
                Ok(e.answer)
            }
            None => {
                let st = self.clone();
                self.read(move |s: &dyn Store| st.compute(s, &key, &f, false))
                    .await
            }
        }
    }

    fn peek(&self, key: &str) -> Option<Entry> {
        self.0.cache.lock().ok().and_then(|c| c.get(key).cloned())
    }

    /// Computes `key` under the computation lock, unless (when `!force`) another request
    /// cached a fresh answer meanwhile.
    fn compute<F>(
        &self,
        store: &dyn Store,
        key: &str,
        f: &F,
        force: bool,
    ) -> Result<Arc<serde_json::Value>, ApiError>
    where
        F: Fn(&AppState, &dyn Store) -> Result<serde_json::Value, ApiError>,
    {
        // A poisoned lock only means an earlier computation panicked.
        let _computing = self
            .0
            .computing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let version = store.data_version()?;
        if let Some(e) = self.peek(key).filter(|e| e.is_fresh(version))
            && !force
        {
            return Ok(e.answer);
        }
        // The version read before computing: if data changes during the computation, the
        // answer is stale at once and recomputed on the next request, never served as fresh
        // for newer data it does not reflect.
        let answer = Arc::new(f(self, store)?);
        if let Ok(mut c) = self.0.cache.lock() {
            // Bounded: parameters vary (source lists); keep the newest few dozen.
            if c.len() >= 64 {
                c.retain(|_, e| e.version == version);
            }
            c.insert(
                key.to_owned(),
                Entry {
                    version,
                    at: Instant::now(),
                    answer: answer.clone(),
                },
            );
        }
        Ok(answer)
    }

    /// Recomputes `key` in the background, once at a time per key.
    fn refresh_in_background<F>(&self, key: String, f: F)
    where
        F: Fn(&AppState, &dyn Store) -> Result<serde_json::Value, ApiError>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let started = self
            .0
            .refreshing
            .lock()
            .map(|mut r| r.insert(key.clone()))
            .unwrap_or(false);
        if !started {
            return;
        }
        let st = self.clone();
        tokio::spawn(async move {
            let (st2, k) = (st.clone(), key.clone());
            let r = st
                .read(move |s: &dyn Store| st2.compute(s, &k, &f, false))
                .await;
            if let Err(e) = r {
                tracing::warn!(key = %key, error = %e, "Could not refresh a cached answer.");
            }
            if let Ok(mut r) = st.0.refreshing.lock() {
                r.remove(&key);
            }
        });
    }
}

/// How long a cached answer counts as fresh even when the data did not change (SLA deadlines
/// and the trend's days move with the clock).
pub(crate) const MAX_AGE: Duration = Duration::from_secs(3600);

/// A cached answer: the data version it was computed at, when, and the answer.
#[derive(Clone)]
struct Entry {
    version: u64,
    at: Instant,
    answer: Arc<serde_json::Value>,
}

impl Entry {
    fn is_fresh(&self, version: u64) -> bool {
        self.version == version && self.at.elapsed() < MAX_AGE
    }
}
