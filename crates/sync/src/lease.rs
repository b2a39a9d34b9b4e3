//! Sync leases: one collector per source at a time, across processes and machines sharing a
//! store.
//!
//! [`acquire`] takes a source's lease (or reports who holds it); the returned [`LeaseKeeper`]
//! renews it every third of its time to live on a thread with a connection of its own (the
//! main store is busy writing batches), and releases it when dropped. A keeper that cannot
//! renew (the lease expired and another process took it, or the store is unreachable for a
//! whole time to live) cancels the run, so that two processes never keep writing the same
//! source. A killed holder's lease stays in the store, visibly, until it expires; then the
//! next `tenax sync` takes it over and resumes from the stored checkpoint.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tenax_source::CancellationToken;
use tenax_store::{Lease, LeaseAttempt, Store};
use tracing::{info, warn};

/// Default time to live of a lease (`[store] lease_secs`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(120);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Who holds a lease: `TENAX_LEASE_HOLDER` when set (collectors whose host names are not
/// unique), else `host:pid`.
pub fn default_holder() -> String {
    match std::env::var("TENAX_LEASE_HOLDER") {
        Ok(h) if !h.trim().is_empty() => h.trim().to_owned(),
        _ => format!("{}:{}", hostname(), std::process::id()),
    }
}

/// True when `holder` names a process of this host (`host:pid`) that no longer runs: its
/// lease need not be waited for. Only where `/proc` tells (Linux); a reused pid just means
/// waiting for the expiry.
fn died_here(holder: &str) -> bool {
    let Some((host, pid)) = holder.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    pid != std::process::id()
        && host == hostname()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The outcome of [`acquire`].
pub enum Acquired {
    /// This process holds the lease until the keeper is dropped.
    Held(LeaseKeeper),
    /// Another process holds it.
    Busy(Lease),
}

/// Renews a lease in the background; releases it on drop.
pub struct LeaseKeeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    lease: Lease,
}

impl LeaseKeeper {
    /// The lease as taken.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Takes the lease of `source` for `holder` through `store`. When taken, a keeper thread
/// renews it through a second store from `reopen` and cancels `on_lost` if the lease is lost.
pub fn acquire(
    store: &mut dyn Store,
    reopen: impl FnOnce() -> tenax_store::Result<Box<dyn Store>>,
    source: &str,
    holder: &str,
    ttl: Duration,
    on_lost: CancellationToken,
) -> tenax_store::Result<Acquired> {
    let lease = match store.acquire_lease(source, holder, ttl)? {
        LeaseAttempt::Held(l) if died_here(&l.holder) => {
            // Its holder was killed on this very host: take over now. Releasing in its name
            // changes nothing if another process got there first.
            warn!(source, dead = %l.holder, "The lease holder is gone; taking its lease over.");
            store.release_lease(source, &l.holder)?;
            match store.acquire_lease(source, holder, ttl)? {
                LeaseAttempt::Held(l) => return Ok(Acquired::Busy(l)),
                LeaseAttempt::Acquired(l) => l,
            }
        }
        LeaseAttempt::Held(l) => return Ok(Acquired::Busy(l)),
        LeaseAttempt::Acquired(l) => l,
    };
    let mut keeper_store = match reopen() {
        Ok(s) => s,
        Err(e) => {
            let _ = store.release_lease(source, holder);
            return Err(e);
        }
    };
    info!(source, holder, ttl_secs = ttl.as_secs_f64(), "Lease taken.");
    let (stop, stopped) = mpsc::channel::<()>();
    let (source_t, holder_t) = (source.to_owned(), holder.to_owned());
    let every = (ttl / 3).max(Duration::from_millis(50));
    let thread = std::thread::Builder::new()
        .name("tenax-lease".to_owned())
        .spawn(move || {
            let mut renewed = Instant::now();
            // Until the keeper is dropped (then: release).
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match keeper_store.renew_lease(&source_t, &holder_t, ttl) {
                    Ok(Some(_)) => renewed = Instant::now(),
                    Ok(None) => {
                        warn!(source = %source_t, holder = %holder_t,
                            "Lease lost to another process; cancelling this run.");
                        on_lost.cancel();
                        return;
                    }
                    Err(e) => {
                        warn!(source = %source_t, error = %e, "Cannot renew the lease.");
                        if renewed.elapsed() >= ttl {
                            on_lost.cancel();
                            return;
                        }
                    }
                }
            }
            if let Err(e) = keeper_store.release_lease(&source_t, &holder_t) {
                warn!(source = %source_t, error = %e, "Cannot release the lease; it expires by itself.");
            }
        })
        .map_err(|e| tenax_store::Error::Config(format!("cannot start the lease thread: {e}")))?;
    Ok(Acquired::Held(LeaseKeeper {
        stop: Some(stop),
        thread: Some(thread),
        lease,
    }))
}
