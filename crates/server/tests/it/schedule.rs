//! Scheduled syncs: a source with `sync_every` runs again and again inside the server, each run
//! followed by a correlation, and the answers follow the new data.

use std::time::{Duration, Instant};

use tenax_source::CancellationToken;
use tenax_store::{SqliteStore, Store};

use crate::{sim_config, start_server, vm_source};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_source_syncs_every_interval() {
    let sim = tenax_sim::Sim::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store: Box<dyn Store> = Box::new(SqliteStore::open_path(&path).unwrap());
    let db = format!("sqlite://{}", path.display());
    let state = tenax_server::AppState::new(tenax_server::ServerConfig::new(&db)).unwrap();
    let cancel = CancellationToken::new();
    let base = start_server(state.clone(), &cancel).await;
    let jobs = vec![tenax_server::ScheduledSource {
        source: vm_source(&sim),
        every: Duration::from_secs(1),
    }];
    let client = reqwest::Client::new();
    let watch = async {
        let started = Instant::now();
        loop {
            let runs: serde_json::Value = client
                .get(format!("{base}/api/v1/runs?source=cloud"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let done: Vec<&serde_json::Value> = runs["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] != "running")
                .collect();
            if done.len() >= 2 {
                return runs;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "two scheduled runs within 90 s: {runs}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // The schedule runs in this task (a sync's future is not spawnable), beside the watcher.
    let stop = CancellationToken::new();
    let schedule = tenax_server::run_schedule(store, jobs, state.clone(), stop.clone());
    tokio::pin!(schedule);
    let runs = tokio::select! {
        runs = watch => runs,
        _ = &mut schedule => panic!("the schedule ended before it was cancelled"),
    };
    stop.cancel();
    let store = schedule.await.expect("the writer comes back");
    let items = runs["items"].as_array().unwrap();
    let finished: Vec<_> = items.iter().filter(|r| r["status"] != "running").collect();
    assert!(
        finished.iter().all(|r| r["status"] == "succeeded"),
        "{runs}"
    );
    assert_eq!(
        finished.last().unwrap()["mode"],
        "full",
        "the first run is full"
    );
    assert_eq!(
        finished[0]["mode"], "incremental",
        "the next one incremental"
    );
    // Correlated after the first run: every VM asset has a unified asset.
    let unified = store.count_unified_assets(&[]).unwrap();
    assert!(unified > 0);
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("tenax_scheduled_runs_total{source=\"cloud\",status=\"succeeded\"} ")
        })
        .unwrap_or_else(|| panic!("no scheduled runs series in\n{metrics}"));
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 2, "{line}");
    // The overview follows the data: a stale answer is served while it is recomputed in the
    // background, then the fresh one.
    let findings = store
        .count_findings(&tenax_store::FindingFilter::default())
        .unwrap();
    let started = Instant::now();
    loop {
        let o: serde_json::Value = client
            .get(format!("{base}/api/v1/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = &o["totals"];
        let total = t["findings_open"].as_u64().unwrap() + t["findings_fixed"].as_u64().unwrap();
        if total == findings {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the overview never caught up: {total} vs {findings}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
}
