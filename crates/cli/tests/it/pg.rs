//! tenax on PostgreSQL: the same answers as on SQLite, one collector per source, takeover
//! after a killed collector's lease expires, `db migrate` and `db copy`.
//!
//! The server: `TENAX_TEST_PG` or a throwaway one (see the store's PostgreSQL tests).

use std::time::{Duration, Instant};

use tenax_store::{FindingFilter, RunStatus};

use crate::{Cmd, sim, stderr, stdout, vm_config};

#[path = "../../../store/tests/pg/harness.rs"]
mod harness;

use harness::Schema;

/// A fresh schema on the test server (`None`: skipped, see the harness).
fn schema() -> Option<Schema> {
    Schema::new()
}

async fn ndjson(c: &Cmd, db: &str, what: &str) -> String {
    let o = c.run(&[what, "--db", db, "--format", "ndjson"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_into_postgres_answers_exactly_as_sqlite() {
    let Some(pg) = schema() else { return };
    let s = sim(300, "", 1).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), &ak, &sk, "num_assets = 50"));
    let lite = c.db();
    for db in [lite.as_str(), pg.url.as_str()] {
        let o = c
            .run(&["sync", "--db", db, "--no-progress", "--full"])
            .await;
        assert_eq!(o.status.code(), Some(0), "{db}: {}", stderr(&o));
        assert!(stdout(&o).contains("reconciled"), "{}", stdout(&o));
    }
    let truth = s.vm_truth();
    let store = tenax_store::open(&pg.url).expect("open");
    assert_eq!(
        store.count_findings(&FindingFilter::default()).unwrap(),
        truth.findings
    );
    drop(store);
    // Record by record, in every listing a user has.
    for what in ["findings", "assets", "events"] {
        let (a, b) = (
            ndjson(&c, &lite, what).await,
            ndjson(&c, &pg.url, what).await,
        );
        assert_eq!(a.lines().count(), b.lines().count(), "{what}");
        for (x, y) in a.lines().zip(b.lines()) {
            assert_eq!(x, y, "{what}");
        }
    }
    assert_eq!(
        ndjson(&c, &lite, "findings").await.lines().count() as u64,
        truth.findings
    );
    let unified = |db: String| {
        let c = &c;
        async move {
            let o = c
                .run(&["assets", "--unified", "--db", &db, "--format", "json"])
                .await;
            stdout(&o)
        }
    };
    assert_eq!(unified(lite.clone()).await, unified(pg.url.clone()).await);
    let stats = |db: String| {
        let c = &c;
        async move {
            let o = c.run(&["stats", "--db", &db, "--format", "json"]).await;
            stdout(&o)
        }
    };
    assert_eq!(stats(lite.clone()).await, stats(pg.url.clone()).await);

    // A second (incremental) sync changes nothing on either, the same way.
    for db in [lite.as_str(), pg.url.as_str()] {
        let o = c.run(&["sync", "--db", db, "--no-progress"]).await;
        assert_eq!(o.status.code(), Some(0), "{db}: {}", stderr(&o));
    }
    assert_eq!(
        ndjson(&c, &lite, "findings").await,
        ndjson(&c, &pg.url, "findings").await
    );
    s.shutdown().await;
}

/// Waits until `source`'s lease row exists in the store.
async fn wait_for_lease(url: &str, source: &str, deadline: Duration) -> Option<tenax_store::Lease> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if let Ok(s) = tenax_store::open(url)
            && let Ok(Some(l)) = s.lease(source)
        {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_collector_per_source_and_sources_in_parallel() {
    let Some(pg) = schema() else { return };
    // Slow chunks: the first sync holds the lease for a few seconds.
    let s = sim(400, "", 150).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    let one = vm_config(&s.vm_url(), &ak, &sk, "num_assets = 50");
    let two = one.replace("name = \"cloud\"", "name = \"cloud2\"");
    c.config(&format!("{one}\n{two}"));
    let db = pg.url.clone();
    let first = c
        .command(&["sync", "cloud", "--db", &db, "--no-progress"])
        .spawn()
        .unwrap();
    let lease = wait_for_lease(&db, "cloud", Duration::from_secs(30))
        .await
        .expect("the first sync takes the lease");
    // The same source again: told who holds it, exit 0, nothing written.
    let o = c
        .run(&["sync", "cloud", "--db", &db, "--no-progress"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("being synced by {}", lease.holder)),
        "{}",
        stderr(&o)
    );
    // Another source meanwhile: synced in parallel.
    let other = c
        .run(&["sync", "cloud2", "--db", &db, "--no-progress"])
        .await;
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    let o = first.wait_with_output().await.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let store = tenax_store::open(&db).expect("open");
    let runs = store.list_runs(Some("cloud"), 10).unwrap();
    assert_eq!(runs.len(), 1, "the skipped sync began no run: {runs:?}");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(store.list_runs(Some("cloud2"), 10).unwrap().len(), 1);
    let truth = s.vm_truth().findings;
    for source in ["cloud", "cloud2"] {
        let f = FindingFilter {
            sources: vec![source.to_owned()],
            ..FindingFilter::default()
        };
        assert_eq!(store.count_findings(&f).unwrap(), truth, "{source}");
    }
    assert_eq!(store.lease("cloud").unwrap(), None, "released at the end");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_collector_is_taken_over_after_its_lease_expires() {
    let Some(pg) = schema() else { return };
    let s = sim(1000, "", 150).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(
        &s.vm_url(),
        &ak,
        &sk,
        "num_assets = 50\nmax_parallel_chunks = 2",
    ));
    let db = pg.url.clone();
    // Collector A "on another machine" (its pid cannot be checked from here), 2 s leases.
    let mut a = c
        .command(&["sync", "--db", &db, "--no-progress"])
        .env("TENAX_LEASE_HOLDER", "machine-a:1")
        .env("TENAX_LEASE_SECS", "2")
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let chunks = tenax_store::open(&db)
            .ok()
            .and_then(|s| s.checkpoint("cloud", "vm.export.vulns").ok().flatten());
        if chunks.is_some_and(|v| v["chunks"].as_object().map_or(0, |m| m.len()) >= 3) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "A stored chunks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.start_kill().unwrap(); // SIGKILL
    a.wait().await.unwrap();
    let killed_at = Instant::now();

    // B right away: the lease is still A's.
    let o = c.run(&["sync", "--db", &db, "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("being synced by machine-a:1"),
        "{}",
        stderr(&o)
    );
    // After the expiry, B takes over and resumes from the stored checkpoint.
    tokio::time::sleep(Duration::from_millis(2500).saturating_sub(killed_at.elapsed())).await;
    let o = c.run(&["sync", "--db", &db, "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let store = tenax_store::open(&db).expect("open");
    let truth = s.vm_truth();
    assert_eq!(
        store.count_findings(&FindingFilter::default()).unwrap(),
        truth.findings
    );
    let runs = store.list_runs(Some("cloud"), 10).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        runs[0].status,
        RunStatus::Succeeded,
        "{:?}",
        runs[0].message
    );
    assert_eq!(runs[0].findings.stored, truth.findings);
    assert_eq!(
        runs[1].status,
        RunStatus::Failed,
        "the killed run is closed"
    );
    store.integrity_check().unwrap();
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_migrate_and_copy_from_sqlite() {
    let Some(pg) = schema() else { return };
    let s = sim(200, "", 1).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), &ak, &sk, ""));
    let lite = c.db();
    let o = c.run(&["db", "migrate", "--db", &pg.url]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("PostgreSQL schema version"),
        "{}",
        stdout(&o)
    );
    let o = c.run(&["sync", "--db", &lite, "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = c
        .run(&["db", "copy", "--from", &lite, "--to", &pg.url])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("verified"), "{}", stdout(&o));
    for what in ["findings", "assets", "runs"] {
        let (a, b) = (
            ndjson(&c, &lite, what).await,
            ndjson(&c, &pg.url, what).await,
        );
        assert_eq!(a, b, "{what}");
    }
    // Copying again into a store with data is refused.
    let o = c
        .run(&["db", "copy", "--from", &lite, "--to", &pg.url])
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A password in a store URL never shows.
    let o = c
        .run(&["runs", "--db", "postgres://tenax:hunter2@127.0.0.1:1/x"])
        .await;
    assert_ne!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
    s.shutdown().await;
}
