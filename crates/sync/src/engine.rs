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
    AssetFilter, AssetRow, Batch, EventFilter, EventRow, FindingFilter, FindingRow, RunId, RunMode,
    RunReport, RunStatus, Store, Tally,
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
        /// Events in the batch.
        events: u64,
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
    /// Events expected vs stored.
    pub events: Tally,
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
    events: u64,
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
            report.events.stored = stats.events;
            if stats.findings + stats.assets + stats.events > 0 {
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
            Ok((assets, findings, events)) => {
                report.assets = assets;
                report.findings = findings;
                report.events = events;
                report.details = o.details.clone();
                let matches = [assets, findings, events]
                    .iter()
                    .all(|t| t.expected.is_none_or(|e| e == t.stored));
                let of = |t: Tally| t.expected.map_or("?".into(), |e| e.to_string());
                let mut verdict = format!(
                    "{} findings stored of {} exported, {} assets of {}",
                    findings.stored,
                    of(findings),
                    assets.stored,
                    of(assets)
                );
                if events.expected.is_some() || events.stored > 0 {
                    verdict.push_str(&format!(", {} events of {}", events.stored, of(events)));
                }
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
        events: report.events,
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
) -> Result<(Tally, Tally, Tally), tenax_store::Error> {
    let mut runs: Vec<RunId> = o.contributing_runs.iter().map(|r| RunId(*r)).collect();
    if !runs.contains(&run) {
        runs.push(run);
    }
    let (mut assets, mut findings, mut events) = (0u64, 0u64, 0u64);
    for r in &runs {
        events += store.count_events(&EventFilter {
            sources: vec![source.to_owned()],
            run: Some(*r),
            ..EventFilter::default()
        })?;
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
        Tally {
            expected: o.expected_events,
            stored: events,
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
        events: 0,
        deleted: 0,
    };
    let progress = |p: Progress| {
        if let Some(o) = &observer {
            o(source, &SyncEvent::Progress(p));
        }
    };
    let mut held: Option<SourceBatch> = None;
    loop {
        let mut b = match held.take() {
            Some(b) => b,
            None => match rx.blocking_recv() {
                None => break,
                Some(SourceEvent::Progress(p)) => {
                    progress(p);
                    continue;
                }
                Some(SourceEvent::Batch(b)) => b,
            },
        };
        // Batches already waiting go into the same transaction: fewer commits, so fewer
        // rewrites of the same index pages. Their order is kept (see `merge`).
        while rows(&b) < MERGE_ROWS {
            match rx.try_recv() {
                Ok(SourceEvent::Batch(next)) => {
                    if let Some(next) = merge(&mut b, next) {
                        held = Some(next);
                        break;
                    }
                }
                Ok(SourceEvent::Progress(p)) => progress(p),
                Err(_) => break,
            }
        }
        let batch = to_store_batch(b);
        match store.apply_batch(run, source, &batch) {
            Ok(out) => {
                stats.findings += out.findings;
                stats.assets += out.assets;
                stats.deleted += out.deleted_assets;
                stats.events += out.events;
                if let Some(o) = &observer {
                    o(
                        source,
                        &SyncEvent::Stored {
                            findings: out.findings,
                            assets: out.assets,
                            events: out.events,
                        },
                    );
                }
            }
            // Dropping the receiver stops the source at its next send.
            Err(e) => return (store, Err(e)),
        }
    }
    (store, Ok(stats))
}

/// Rows a merged batch grows to, at most (plus the last batch merged).
const MERGE_ROWS: usize = 4_000;

fn rows(b: &SourceBatch) -> usize {
    b.findings.len() + b.assets.len() + b.events.len() + b.deleted_assets.len()
}

/// Appends `next` to `into` when storing both in one transaction gives the same result as
/// storing them one after the other; otherwise hands `next` back. A store batch writes its
/// findings, then its assets, then its deletion marks, then its checkpoints in order: appending
/// keeps every row's and every checkpoint key's last version last, except when upserts and
/// deletion marks of assets would be reordered, so those are never merged together.
fn merge(into: &mut SourceBatch, next: SourceBatch) -> Option<SourceBatch> {
    let assets = !into.assets.is_empty() || !next.assets.is_empty();
    let deleted = !into.deleted_assets.is_empty() || !next.deleted_assets.is_empty();
    if assets && deleted {
        return Some(next);
    }
    into.findings.extend(next.findings);
    into.assets.extend(next.assets);
    into.events.extend(next.events);
    into.deleted_assets.extend(next.deleted_assets);
    into.checkpoint.extend(next.checkpoint);
    None
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
        events: b
            .events
            .into_iter()
            .map(|(event, raw)| EventRow { event, raw })
            .collect(),
        deleted_assets: b.deleted_assets,
        checkpoint: b.checkpoint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(findings: usize, assets: usize, deleted: usize, key: &str) -> SourceBatch {
        let f = tenax_store::testsuite::full_finding("s", SourceKind::Vm, "a", 1);
        let a = tenax_model::Asset::default();
        let when = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        SourceBatch {
            findings: vec![(f, "{}".into()); findings],
            assets: vec![(a, "{}".into()); assets],
            deleted_assets: vec![("x".to_owned(), when); deleted],
            events: Vec::new(),
            checkpoint: vec![(key.to_owned(), Some(serde_json::json!(key)))],
        }
    }

    #[test]
    fn merging_keeps_order_and_never_mixes_upserts_with_deletion_marks() {
        let mut b = batch(2, 0, 0, "a");
        assert!(merge(&mut b, batch(3, 1, 0, "b")).is_none());
        assert_eq!((b.findings.len(), b.assets.len()), (5, 1));
        let keys: Vec<&str> = b.checkpoint.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        let back = merge(&mut b, batch(0, 0, 1, "c")).expect("not merged");
        assert_eq!(back.deleted_assets.len(), 1);
        assert_eq!(rows(&b), 6);
        let mut d = batch(0, 0, 1, "d");
        assert!(merge(&mut d, batch(4, 0, 2, "e")).is_none());
        assert_eq!(rows(&d), 7);
    }
}
