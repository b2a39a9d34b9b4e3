//! The VM sync: asset and vulnerability exports, chunks downloaded as they appear, streamed
//! into store batches whose checkpoints record each finished chunk, so an interrupted run
//! resumes with the missing chunks only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenax_source::json_array::{ArraySplitter, SplitError};
use tenax_source::retry::{RetryPolicy, sleep};
use tenax_source::{
    Progress, Result, SourceBatch, SourceError, SourceEvent, SourceOutcome, SyncRequest, Window,
    WindowStart,
};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::client::{ExportKind, Started, VmClient};
use crate::config::VmSettings;
use crate::map;

/// Checkpoint key of the incremental window.
pub const WINDOW_KEY: &str = "vm.window";

/// A running or finished export, as checkpointed with each stored chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportState {
    /// Export uuid.
    pub uuid: String,
    /// The request body (filters) the export was made with.
    pub body: serde_json::Value,
    /// Unix seconds when the export was requested: its data reaches up to here.
    pub window_end: i64,
    /// Stored chunks → records each held.
    pub chunks: BTreeMap<u32, u64>,
    /// Runs that stored chunks of this export.
    pub runs: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Asset records to upsert.
    Assets,
    /// Asset records that mark deletions.
    Deleted,
    /// Finding records.
    Findings,
}

struct Spec {
    key: &'static str,
    phase: &'static str,
    kind: ExportKind,
    role: Role,
    body: serde_json::Value,
}

/// What one export produced.
#[derive(Debug, Default)]
struct ExportResult {
    records: u64,
    problems: Vec<String>,
    window_end: i64,
    runs: Vec<i64>,
    uuid: String,
    chunks: usize,
    adopted: bool,
}

/// The Tenable VM connector.
#[derive(Debug, Clone)]
pub struct VmSource {
    settings: Arc<VmSettings>,
    client: VmClient,
}

impl VmSource {
    /// Builds the connector (HTTP client included) from validated settings.
    pub fn new(settings: VmSettings) -> Result<Self> {
        let client = VmClient::new(&settings)?;
        Ok(Self {
            settings: Arc::new(settings),
            client,
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.client = self.client.with_retry(retry);
        self
    }

    /// Replaces the first poll delay (tests poll fast).
    pub fn with_poll_initial(mut self, d: Duration) -> Self {
        Arc::make_mut(&mut self.settings).poll_initial = d;
        self
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The API client.
    pub fn client(&self) -> &VmClient {
        &self.client
    }

    /// Read-only connection test: reachability, TLS, keys (`GET /server/properties`) and
    /// export permission (`GET /vulns/export/status`, `GET /assets/export/status`). Returns
    /// what was proven, one line each; the first failure is the error.
    pub async fn check(&self) -> Result<Vec<String>> {
        let props = self.client.server_properties().await?;
        let mut lines = vec![format!(
            "reachable over {}, keys accepted (server version {}{})",
            if self.settings.base.scheme() == "https" {
                "TLS"
            } else {
                "plain HTTP (loopback)"
            },
            props.server_version.as_deref().unwrap_or("unknown"),
            props
                .region
                .as_deref()
                .map(|r| format!(", region {r}"))
                .unwrap_or_default()
        )];
        self.client.list_exports(ExportKind::Vulns).await?;
        lines.push("vulnerability export permitted".into());
        self.client.list_exports(ExportKind::Assets).await?;
        lines.push("asset export permitted".into());
        Ok(lines)
    }

    /// Runs one sync: sends batches to `tx` (each carrying the checkpoint it reaches) and
    /// returns the outcome. Errors are for what stops the whole run (auth, config, cancel).
    pub async fn run(
        &self,
        req: SyncRequest,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<SourceOutcome> {
        let now = Utc::now().timestamp();
        let WindowStart { since, full } = Window::plan(
            &req,
            WINDOW_KEY,
            now,
            self.settings.lookback,
            self.settings.overlap,
        );
        info!(source = %self.settings.name, full, since, "Starting VM sync.");
        let s = &self.settings;
        let asset_body = |filters: serde_json::Value| json!({"chunk_size": s.asset_chunk_size, "include_open_ports": false, "filters": filters});
        let assets = Spec {
            key: "vm.export.assets",
            phase: "assets export",
            kind: ExportKind::Assets,
            role: Role::Assets,
            body: asset_body(if full {
                json!({})
            } else {
                json!({"updated_at": since})
            }),
        };
        let deleted = Spec {
            key: "vm.export.assets_deleted",
            phase: "deleted assets export",
            kind: ExportKind::Assets,
            role: Role::Deleted,
            body: asset_body(json!({"deleted_at": since})),
        };
        let terminated = Spec {
            key: "vm.export.assets_terminated",
            phase: "terminated assets export",
            kind: ExportKind::Assets,
            role: Role::Deleted,
            body: asset_body(json!({"terminated_at": since})),
        };
        let vulns = Spec {
            key: "vm.export.vulns",
            phase: "vulns export",
            kind: ExportKind::Vulns,
            role: Role::Findings,
            body: json!({
                "num_assets": s.num_assets,
                "include_unlicensed": s.include_unlicensed,
                "filters": {"since": since, "state": ["OPEN", "REOPENED", "FIXED"]},
            }),
        };
        // Asset exports one after another, the vulns export beside them: at most two jobs at
        // once, within Tenable's concurrency limit.
        let asset_phase = async {
            let mut out = Vec::new();
            for spec in [assets, deleted, terminated] {
                let r = self.export(&spec, &req, now, &tx).await?;
                out.push((spec.role, spec.key, r));
            }
            Ok::<_, SourceError>(out)
        };
        let vuln_phase = async {
            let r = self.export(&vulns, &req, now, &tx).await?;
            Ok::<_, SourceError>((vulns.role, vulns.key, r))
        };
        let (a, v) = tokio::join!(asset_phase, vuln_phase);
        let results = match (a, v) {
            (Ok(mut a), Ok(v)) => {
                a.push(v);
                a
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };

        let mut out = SourceOutcome {
            complete: true,
            ..SourceOutcome::default()
        };
        let (mut exp_assets, mut exp_findings, mut deleted_records) = (0u64, 0u64, 0u64);
        let mut window_end = i64::MAX;
        let mut runs = BTreeSet::new();
        let mut details = serde_json::Map::new();
        for (role, key, r) in &results {
            match role {
                Role::Assets => exp_assets += r.records,
                Role::Deleted => deleted_records += r.records,
                Role::Findings => exp_findings += r.records,
            }
            if !r.problems.is_empty() {
                out.complete = false;
                out.problems.extend(r.problems.iter().cloned());
            }
            window_end = window_end.min(r.window_end);
            runs.extend(r.runs.iter().copied());
            details.insert(
                key.to_string(),
                json!({"export_uuid": r.uuid, "records": r.records, "chunks": r.chunks, "adopted": r.adopted}),
            );
            out.final_checkpoint.push((key.to_string(), None));
        }
        details.insert("since".into(), json!(since));
        details.insert("full".into(), json!(full));
        details.insert("deleted_asset_records".into(), json!(deleted_records));
        out.final_checkpoint.push((
            WINDOW_KEY.to_owned(),
            Some(json!(Window { since: window_end })),
        ));
        out.expected_assets = Some(exp_assets);
        out.expected_findings = Some(exp_findings);
        out.contributing_runs = runs.into_iter().collect();
        out.details = serde_json::Value::Object(details);
        Ok(out)
    }

    /// Runs one export to the end: start (or resume, or adopt), poll, download chunks as they
    /// appear with bounded concurrency, re-export once per expired chunk.
    async fn export(
        &self,
        spec: &Spec,
        req: &SyncRequest,
        now: i64,
        tx: &mpsc::Sender<SourceEvent>,
    ) -> Result<ExportResult> {
        let resumed = req
            .checkpoints
            .get(spec.key)
            .and_then(|v| serde_json::from_value::<ExportState>(v.clone()).ok());
        let mut adopted = false;
        let state = match resumed {
            Some(mut st) => {
                info!(source = %self.settings.name, export = %st.uuid, phase = spec.phase, stored_chunks = st.chunks.len(), "Resuming export.");
                if !st.runs.contains(&req.run_id) {
                    st.runs.push(req.run_id);
                }
                st
            }
            None => {
                let started = self.client.start_export(spec.kind, &spec.body).await?;
                adopted = matches!(started, Started::Adopted(_));
                if adopted {
                    info!(source = %self.settings.name, export = started.uuid(), phase = spec.phase, "Adopted the identical running export (409).");
                }
                ExportState {
                    uuid: started.uuid().to_owned(),
                    body: spec.body.clone(),
                    window_end: now,
                    chunks: BTreeMap::new(),
                    runs: vec![req.run_id],
                }
            }
        };
        let state = Arc::new(Mutex::new(state));
        let started_at = Instant::now();
        let mut problems = Vec::new();
        let mut re_exports = 0u32;
        let sem = Arc::new(Semaphore::new(self.settings.max_parallel_chunks));
        let mut tasks: JoinSet<(u32, Result<u64>)> = JoinSet::new();
        let mut inflight: BTreeSet<u32> = BTreeSet::new();
        let mut failed_chunks: BTreeSet<u32> = BTreeSet::new();
        let mut delay = self.settings.poll_initial;
        let mut records_seen = 0u64;

        loop {
            if req.cancel.is_cancelled() {
                tasks.abort_all();
                let uuid = state.lock().await.uuid.clone();
                let _ = self.client.cancel_export(spec.kind, &uuid).await;
                return Err(SourceError::Cancelled);
            }
            if started_at.elapsed() > self.settings.export_deadline {
                tasks.abort_all();
                problems.push(format!(
                    "{}: not finished after {} s (export_timeout_secs)",
                    spec.phase,
                    self.settings.export_deadline.as_secs()
                ));
                break;
            }
            let uuid = state.lock().await.uuid.clone();
            let status = match self.client.export_status(spec.kind, &uuid).await {
                Ok(s) => s,
                Err(SourceError::Api { status: 404, .. }) if re_exports < 3 => {
                    // Unknown or expired export (resumed after more than a day): start anew.
                    re_exports += 1;
                    tasks.abort_all();
                    inflight.clear();
                    self.restart(spec, &state).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let done: BTreeSet<u32> = state.lock().await.chunks.keys().copied().collect();
            let mut new = 0;
            for &c in &status.chunks_available {
                if done.contains(&c) || inflight.contains(&c) || failed_chunks.contains(&c) {
                    continue;
                }
                new += 1;
                inflight.insert(c);
                let ctx = ChunkCtx {
                    source: self.clone(),
                    role: spec.role,
                    key: spec.key,
                    kind: spec.kind,
                    uuid: uuid.clone(),
                    chunk: c,
                    state: state.clone(),
                    tx: tx.clone(),
                };
                let sem = sem.clone();
                tasks.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    (c, ctx.download().await)
                });
            }
            let terminal = matches!(status.status.as_str(), "FINISHED" | "ERROR" | "CANCELLED");
            if new > 0 {
                delay = self.settings.poll_initial;
            }
            if terminal && inflight.is_empty() {
                match status.status.as_str() {
                    "FINISHED" => {
                        if !status.chunks_failed.is_empty() {
                            problems.push(format!(
                                "{} {uuid}: chunks {:?} failed on the server ({})",
                                spec.phase,
                                status.chunks_failed,
                                status.reason.as_deref().unwrap_or("no reason given")
                            ));
                        }
                    }
                    "CANCELLED" if re_exports < 3 => {
                        re_exports += 1;
                        warn!(source = %self.settings.name, export = %uuid, "Export was cancelled by someone else; starting it again.");
                        self.restart(spec, &state).await?;
                        continue;
                    }
                    other => problems.push(
                        SourceError::ExportFailed {
                            export_id: uuid.clone(),
                            state: other.to_owned(),
                            reason: status.reason.clone(),
                        }
                        .to_string(),
                    ),
                }
                break;
            }
            // Wait for a download to finish, the poll delay, or Ctrl-C.
            let mut expired = false;
            tokio::select! {
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let (c, r) = match joined {
                        Ok(x) => x,
                        Err(e) => return Err(SourceError::Config(format!("chunk task failed: {e}"))),
                    };
                    inflight.remove(&c);
                    match r {
                        Ok(n) => {
                            records_seen += n;
                            let done = state.lock().await.chunks.len() as u64;
                            // Progress never waits behind data: when the channel is
                            // full, this update is dropped and a later one supersedes it.
                            let _ = tx.try_send(SourceEvent::Progress(Progress {
                                phase: spec.phase,
                                done,
                                total: status.total_chunks,
                                records: records_seen,
                            }));
                            continue;
                        }
                        Err(SourceError::ChunkExpired { .. }) if re_exports < 3 => expired = true,
                        Err(SourceError::Cancelled) => return Err(SourceError::Cancelled),
                        Err(e) if e.is_config() => return Err(e),
                        Err(e) => {
                            warn!(source = %self.settings.name, export = %uuid, chunk = c, error = %e, "Chunk failed.");
                            failed_chunks.insert(c);
                            problems.push(format!("{} chunk {c}: {e}", spec.phase));
                        }
                    }
                }
                _ = sleep(delay) => {
                    delay = (delay.mul_f64(1.5)).min(self.settings.poll_max);
                }
                _ = req.cancel.cancelled() => continue,
            }
            if expired {
                re_exports += 1;
                warn!(source = %self.settings.name, export = %uuid, "A chunk expired (404); exporting the same window again.");
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                inflight.clear();
                failed_chunks.clear();
                self.restart(spec, &state).await?;
            }
        }
        while tasks.join_next().await.is_some() {}
        let st = state.lock().await;
        Ok(ExportResult {
            records: st.chunks.values().sum(),
            problems,
            window_end: st.window_end,
            runs: st.runs.clone(),
            uuid: st.uuid.clone(),
            chunks: st.chunks.len(),
            adopted,
        })
    }

    /// Starts the export again with the same body; forgets the stored chunks (records already
    /// stored stay: upserts are idempotent).
    async fn restart(&self, spec: &Spec, state: &Arc<Mutex<ExportState>>) -> Result<()> {
        let body = state.lock().await.body.clone();
        let started = self.client.start_export(spec.kind, &body).await?;
        let mut st = state.lock().await;
        info!(source = %self.settings.name, old = %st.uuid, new = started.uuid(), "Export restarted.");
        st.uuid = started.uuid().to_owned();
        st.chunks.clear();
        Ok(())
    }
}

struct ChunkCtx {
    source: VmSource,
    role: Role,
    key: &'static str,
    kind: ExportKind,
    uuid: String,
    chunk: u32,
    state: Arc<Mutex<ExportState>>,
    tx: mpsc::Sender<SourceEvent>,
}

/// An error while splitting a chunk body.
enum StreamError {
    Split(SplitError),
}

impl From<SplitError> for StreamError {
    fn from(e: SplitError) -> Self {
        StreamError::Split(e)
    }
}

impl ChunkCtx {
    fn endpoint(&self) -> String {
        format!(
            "GET /{}/export/{}/chunks/{}",
            self.kind.path(),
            self.uuid,
            self.chunk
        )
    }

    /// Downloads, maps and sends one chunk, retrying transfer failures; the last batch
    /// carries the checkpoint marking the chunk stored. Returns the chunk's record count.
    async fn download(&self) -> Result<u64> {
        let policy = self.source.client.retry_policy().clone();
        policy.run(&self.endpoint(), || self.try_download()).await
    }

    async fn try_download(&self) -> Result<u64> {
        let s = &self.source.settings;
        let mut resp = self
            .source
            .client
            .open_chunk(self.kind, &self.uuid, self.chunk)
            .await?;
        let mut splitter = ArraySplitter::new();
        let mut batch = SourceBatch::default();
        let mut batch_bytes = 0usize;
        let mut skipped = 0u64;
        let mut first_skip: Option<String> = None;
        let name = s.name.as_str();
        loop {
            let piece = match resp.chunk().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(SourceError::transport(self.endpoint(), &e)),
            };
            let role = self.role;
            let fed = splitter.feed(&piece, |elem: &[u8]| {
                let index = batch.findings.len() as u64;
                let raw = match simdutf8::basic::from_utf8(elem) {
                    Ok(r) => r,
                    Err(_) => {
                        skipped += 1;
                        first_skip.get_or_insert_with(|| format!("record {index}: not UTF-8"));
                        return Ok(());
                    }
                };
                let mapped = match role {
                    Role::Findings => map::parse_finding_str(name, index, raw).map(|f| {
                        batch.findings.push((f, raw.into()));
                    }),
                    Role::Assets => map::parse_asset_str(name, index, raw).map(|a| {
                        batch.assets.push((a, raw.into()));
                    }),
                    Role::Deleted => map::parse_asset_str(name, index, raw).map(|a| {
                        let when = a.deleted_at.unwrap_or_else(Utc::now);
                        batch.deleted_assets.push((a.id, when));
                    }),
                };
                match mapped {
                    Ok(()) => batch_bytes += elem.len(),
                    Err(e) => {
                        skipped += 1;
                        first_skip.get_or_insert_with(|| e.to_string());
                    }
                }
                Ok::<(), StreamError>(())
            });
            if let Err(StreamError::Split(e)) = fed {
                return Err(SourceError::Decode {
                    endpoint: self.endpoint(),
                    message: e.to_string(),
                });
            }
            if batch.findings.len() + batch.assets.len() >= s.batch_records
                || batch_bytes >= s.batch_bytes
            {
                self.send(std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
        }
        if let Err(SplitError::Truncated { bytes }) = splitter.finish() {
            return Err(SourceError::Truncated {
                endpoint: self.endpoint(),
                bytes,
            });
        }
        if skipped > 0 {
            warn!(
                chunk = self.chunk,
                skipped,
                first = first_skip.as_deref().unwrap_or(""),
                "Records skipped: they could not be mapped."
            );
        }
        let records = splitter.elements();
        // The chunk's last batch carries the checkpoint that marks it stored.
        let mut st = self.state.lock().await;
        if st.uuid != self.uuid {
            // The export was restarted meanwhile; this chunk belongs to the old one.
            return Ok(0);
        }
        st.chunks.insert(self.chunk, records);
        batch
            .checkpoint
            .push((self.key.to_owned(), Some(json!(*st))));
        self.send(batch).await?;
        drop(st);
        Ok(records)
    }

    async fn send(&self, batch: SourceBatch) -> Result<()> {
        self.tx
            .send(SourceEvent::Batch(batch))
            .await
            .map_err(|_| SourceError::Config("the store writer stopped".into()))
    }
}
