//! Scheduled syncs inside the server: each source with a `sync_every` runs at start and then
//! that long after its previous run ended, one run at a time (the store has one writer), each
//! followed by a correlation when it stored anything, exactly as `tenax sync` does.

use std::time::Duration;

use tenax_source::CancellationToken;
use tenax_store::Store;
use tenax_sync::{AnySource, RunOptions, run_source};
use tokio::time::Instant;

use crate::state::AppState;

/// A source and how often to sync it.
#[derive(Debug, Clone)]
pub struct ScheduledSource {
    /// The source, built from its config.
    pub source: AnySource,
    /// Time from the end of one run to the start of the next.
    pub every: Duration,
}

/// Runs the schedule until `cancel` fires (a run in progress is cancelled cleanly: it ends
/// partial, its checkpoint unmoved), then hands the writing store back (`None` only when a
/// correlation task died with it).
pub async fn run_schedule(
    store: Box<dyn Store>,
    jobs: Vec<ScheduledSource>,
    state: AppState,
    cancel: CancellationToken,
) -> Option<Box<dyn Store>> {
    let mut store = store;
    let start = Instant::now();
    let mut due: Vec<Instant> = jobs.iter().map(|_| start).collect();
    loop {
        let Some((i, when)) = due.iter().copied().enumerate().min_by_key(|(_, t)| *t) else {
            cancel.cancelled().await;
            return Some(store);
        };
        tokio::select! {
            () = cancel.cancelled() => return Some(store),
            () = tokio::time::sleep_until(when) => {}
        }
        let job = &jobs[i];
        let name = job.source.name().to_owned();
        // One collector per source: another process (a `tenax sync`, another server) that
        // holds the source's lease syncs it; this schedule tries again next time.
        let run_cancel = cancel.child_token();
        let url = state.config().store_url.clone();
        let holder = tenax_sync::lease::default_holder();
        let taken = tenax_sync::lease::acquire(
            store.as_mut(),
            || tenax_store::open(&url),
            &name,
            &holder,
            tenax_sync::lease::DEFAULT_TTL,
            run_cancel.clone(),
        );
        let keeper = match taken {
            Ok(tenax_sync::lease::Acquired::Held(k)) => k,
            Ok(tenax_sync::lease::Acquired::Busy(l)) => {
                tracing::info!(source = %name, holder = %l.holder,
                    "Scheduled sync skipped: another collector holds the source.");
                due[i] = Instant::now() + job.every;
                continue;
            }
            Err(e) => {
                tracing::error!(source = %name, error = %e, "Cannot take the source's sync lease.");
                due[i] = Instant::now() + job.every;
                continue;
            }
        };
        tracing::info!(source = %name, "Scheduled sync starting.");
        let opts = RunOptions {
            full: false,
            cancel: run_cancel,
            observer: None,
        };
        let (back, result) = run_source(store, &job.source, &opts).await;
        store = back;
        drop(keeper);
        match result {
            Ok(summary) => {
                state
                    .metrics()
                    .scheduled_run(&name, summary.status.as_str());
                tracing::info!(
                    source = %name,
                    status = summary.status.as_str(),
                    findings = summary.findings.stored,
                    assets = summary.assets.stored,
                    events = summary.events.stored,
                    "Scheduled sync finished: {}.",
                    summary.message
                );
                if summary.assets.stored + summary.findings.stored > 0 {
                    store = correlate(store, &name).await?;
                }
            }
            Err(e) => {
                state.metrics().scheduled_run(&name, "error");
                tracing::error!(source = %name, error = %e, "Scheduled sync could not run.");
            }
        }
        if cancel.is_cancelled() {
            return Some(store);
        }
        state.warm().await;
        due[i] = Instant::now() + job.every;
    }
}

/// Correlates on the blocking pool and hands the store back (`None`: the task died).
async fn correlate(store: Box<dyn Store>, name: &str) -> Option<Box<dyn Store>> {
    let joined = tokio::task::spawn_blocking(move || {
        let mut store = store;
        let r = tenax_sync::correlate_store(store.as_mut());
        (store, r)
    })
    .await;
    match joined {
        Ok((store, Ok(c))) => {
            tracing::info!(
                source = %name,
                unified = c.unified,
                multi_source = c.multi_source,
                "Correlated after the scheduled sync."
            );
            Some(store)
        }
        Ok((store, Err(e))) => {
            tracing::error!(source = %name, error = %e, "Correlation after the scheduled sync failed.");
            Some(store)
        }
        Err(e) => {
            tracing::error!(source = %name, error = %e, "Correlation task died; scheduled syncs stop.");
            None
        }
    }
}
