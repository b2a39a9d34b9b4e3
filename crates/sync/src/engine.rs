//! One run of one source: checkpoint in → source stream → store batches (data + checkpoint in
//! one transaction, on a writer thread) → reconcile → run report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenax_model::SourceKind;
use tenax_source::{
    CancellationToken, Progress, SourceBatch, SourceError, SourceEvent, SourceOutcome, SyncRequest,
};
use tenax_store::{
    AssetFilter, AssetRow, Batch, FindingFilter, FindingRow, RunId, RunMode, RunReport, RunStatus,
    Store, Tally,
};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::source::AnySource;

/// What a caller sees of the run as it goes.
#[derive(Debug, Clone)]
pub enum SyncEvent {
    /// The source reported progress.
    Progress(Progress),
    /// A batch was committed.
    Stored {
        /// Findings in the batch.
        findings: u64,
        /// Assets in the batch.
        assets: u64,
    },
}

/// Callback for [`SyncEvent`]s (called on the writer thread; keep it cheap).
pub type Observer = Arc<dyn Fn(&str, &SyncEvent) + Send + Sync>;

/// Options of one run.
#[derive(Clone)]
pub struct RunOptions {
    /// Ignore the incremental checkpoint.
    pub full: bool,
    /// Ctrl-C.
    pub cancel: CancellationToken,
    /// Progress observer.
    pub observer: Option<Observer>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            full: false,
            cancel: CancellationToken::new(),
            observer: None,
        }
    }
}

/// The end of a run, as reported to the user.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Run id.
    pub run_id: RunId,
    /// Source name.
    pub source: String,
    /// Source kind.
    pub kind: SourceKind,
    /// Full or incremental.
    pub mode: RunMode,
    /// Final status.
    pub status: RunStatus,
    /// Assets expected vs stored.
    pub assets: Tally,
    /// Findings expected vs stored.
    pub findings: Tally,
    /// Assets marked deleted.
    pub deleted_assets: u64,
    /// One-line verdict or cause.
    pub message: String,
    /// Wall time.
    pub duration: Duration,
    /// True when the failure was a configuration/credential problem (exit code 2).
    pub config_error: bool,
}

/// A failure of the store itself (not of the source): the run cannot even be recorded.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreFailure(#[from] pub tenax_store::Error);

struct WriterStats {
    findings: u64,
    assets: u64,
    deleted: u64,
}

/// Runs one source once. The store is moved to a writer thread for the run and handed back.
pub async fn run_source(
    store: Box<dyn Store>,
    source: &AnySource,
    opts: &RunOptions,
) -> (Box<dyn Store>, Result<RunSummary, StoreFailure>) {
    let started = Instant::now();
    let name = source.name().to_owned();
    let kind = source.kind();
    let mut store = store;
    let prep = (|| {
        let closed =
            store.close_stale_runs(&name, "the process syncing it stopped before finishing")?;
        if closed > 0 {
            warn!(source = %name, closed, "Closed runs left open by an earlier process.");
        }
        let mut checkpoints = BTreeMap::new();
        for key in source.checkpoint_keys() {
            if let Some(v) = store.checkpoint(&name, key)? {
                checkpoints.insert((*key).to_owned(), v);
            }
        }
        let mode = if opts.full || !checkpoints.contains_key(source.window_key()) {
            RunMode::Full
        } else {
            RunMode::Incremental
        };
        let run = store.begin_run(&name, kind, mode)?;
        Ok::<_, tenax_store::Error>((run, mode, checkpoints))
    })();
    let (run, mode, checkpoints) = match prep {
        Ok(x) => x,
        Err(e) => return (store, Err(e.into())),
    };
    info!(source = %name, run = run.0, mode = mode.as_str(), "Run started.");

    let (tx, rx) = mpsc::channel::<SourceEvent>(2);
    let observer = opts.observer.clone();
    let writer_name = name.clone();
    let writer =
        tokio::task::spawn_blocking(move || writer_loop(store, run, &writer_name, rx, observer));

    let req = SyncRequest {
        run_id: run.0,
        full: opts.full,
        checkpoints,
        cancel: opts.cancel.clone(),
    };
    let outcome = source.run(req, tx).await;
    let (mut store, written) = match writer.await {
        Ok(x) => x,
        // The writer only fails by returning an error; a panic there is a bug: re-raise it.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };

    let mut report = RunReport::default();
    let mut config_error = false;
    let stats = match written {
        Ok(s) => s,
        Err(e) => {
            report.status = Some(RunStatus::Failed);
            report.message = Some(format!("store write failed: {e}"));
            let _ = store.finish_run(run, &report);
            return (store, Err(e.into()));
        }
    };
    report.deleted_assets = stats.deleted;
    let status = match outcome {
        Err(SourceError::Cancelled) => {
            report.message = Some(format!(
                "cancelled: {} findings and {} assets stored; the next run resumes",
                stats.findings, stats.assets
            ));
            RunStatus::Partial
        }
        Err(e) => {
            config_error = e.is_config();
            report.message = Some(e.to_string());
            report.findings.stored = stats.findings;
            report.assets.stored = stats.assets;
            if stats.findings + stats.assets > 0 {
                RunStatus::Partial
            } else {
                RunStatus::Failed
            }
        }
        Ok(o) => match reconcile(store.as_ref(), &name, run, &o) {
            Err(e) => {
                report.status = Some(RunStatus::Failed);
                report.message = Some(format!("reconcile failed: {e}"));
                let _ = store.finish_run(run, &report);
                return (store, Err(e.into()));
            }
            Ok((assets, findings)) => {
                report.assets = assets;
                report.findings = findings;
                report.details = o.details.clone();
                let matches = assets.expected.is_none_or(|e| e == assets.stored)
                    && findings.expected.is_none_or(|e| e == findings.stored);
                let verdict = format!(
                    "{} findings stored of {} exported, {} assets of {}",
                    findings.stored,
                    findings.expected.map_or("?".into(), |e| e.to_string()),
                    assets.stored,
                    assets.expected.map_or("?".into(), |e| e.to_string())
                );
                if o.complete && matches {
                    let batch = Batch {
                        checkpoint: o.final_checkpoint.clone(),
                        ..Batch::default()
                    };
                    if let Err(e) = store.apply_batch(run, &name, &batch) {
                        report.status = Some(RunStatus::Failed);
                        report.message = Some(format!("checkpoint write failed: {e}"));
                        let _ = store.finish_run(run, &report);
                        return (store, Err(e.into()));
                    }
                    report.message = Some(format!("reconciled: {verdict}"));
                    RunStatus::Succeeded
                } else {
                    let mut why: Vec<String> = o.problems.clone();
                    if !matches {
                        why.push(format!("counts differ: {verdict}"));
                    }
                    report.message = Some(format!("partial, checkpoint kept: {}", why.join("; ")));
                    RunStatus::Partial
                }
            }
        },
    };
    report.status = Some(status);
    if let Err(e) = store.finish_run(run, &report) {
        return (store, Err(e.into()));
    }
    let summary = RunSummary {
        run_id: run,
        source: name.clone(),
        kind,
        mode,
        status,
        assets: report.assets,
        findings: report.findings,
        deleted_assets: report.deleted_assets,
        message: report.message.clone().unwrap_or_default(),
        duration: started.elapsed(),
        config_error,
    };
    info!(source = %name, run = run.0, status = status.as_str(), message = %summary.message, "Run finished.");
    (store, Ok(summary))
}

/// Stored counts of this run (and of earlier runs that stored part of a resumed export)
/// against the source's own totals.
fn reconcile(
    store: &dyn Store,
    source: &str,
    run: RunId,
    o: &SourceOutcome,
) -> Result<(Tally, Tally), tenax_store::Error> {
    let mut runs: Vec<RunId> = o.contributing_runs.iter().map(|r| RunId(*r)).collect();
    if !runs.contains(&run) {
        runs.push(run);
    }
    let (mut assets, mut findings) = (0u64, 0u64);
    for r in &runs {
        findings += store.count_findings(&FindingFilter {
            sources: vec![source.to_owned()],
            run: Some(*r),
            ..FindingFilter::default()
        })?;
        assets += store.count_assets(&AssetFilter {
            sources: vec![source.to_owned()],
            run: Some(*r),
            include_deleted: false,
            ..AssetFilter::default()
        })?;
    }
    Ok((
        Tally {
            expected: o.expected_assets,
            stored: assets,
        },
        Tally {
            expected: o.expected_findings,
            stored: findings,
        },
    ))
}

fn writer_loop(
    mut store: Box<dyn Store>,
    run: RunId,
    source: &str,
    mut rx: mpsc::Receiver<SourceEvent>,
    observer: Option<Observer>,
) -> (Box<dyn Store>, Result<WriterStats, tenax_store::Error>) {
    let mut stats = WriterStats {
        findings: 0,
        assets: 0,
        deleted: 0,
    };
    while let Some(ev) = rx.blocking_recv() {
        match ev {
            SourceEvent::Progress(p) => {
                if let Some(o) = &observer {
                    o(source, &SyncEvent::Progress(p));
                }
            }
            SourceEvent::Batch(b) => {
                let batch = to_store_batch(b);
                match store.apply_batch(run, source, &batch) {
                    Ok(out) => {
                        stats.findings += out.findings;
                        stats.assets += out.assets;
                        stats.deleted += out.deleted_assets;
                        if let Some(o) = &observer {
                            o(
                                source,
                                &SyncEvent::Stored {
                                    findings: out.findings,
                                    assets: out.assets,
                                },
                            );
                        }
                    }
                    // Dropping the receiver stops the source at its next send.
                    Err(e) => return (store, Err(e)),
                }
            }
        }
    }
    (store, Ok(stats))
}

fn to_store_batch(b: SourceBatch) -> Batch {
    Batch {
        assets: b
            .assets
            .into_iter()
            .map(|(asset, raw)| AssetRow { asset, raw })
            .collect(),
        findings: b
            .findings
            .into_iter()
            .map(|(finding, raw)| FindingRow { finding, raw })
            .collect(),
        deleted_assets: b.deleted_assets,
        checkpoint: b.checkpoint,
    }
}
