use std::collections::HashSet;

use chrono::Utc;
use serde_json::{Value, json};

use crate::{Client, all_states, cfg, count_state, key, start, unique_keys};

fn since_all(t: i64) -> Value {
    json!({"num_assets": 50, "filters": {"since": t, "state": ["OPEN", "REOPENED", "FIXED"]}})
}

#[tokio::test]
async fn mutation_counts_are_exact() {
    let sim = start(cfg(61, 200)).await;
    let c = Client::new(&sim);
    let before = sim.vm_truth();
    // An export taken before the mutation keeps serving its snapshot.
    let snapshot = c.create("vulns", &all_states(50)).await;
    let (_, snapshot_ids) = c.wait("vulns", &snapshot).await;

    let t0 = Utc::now().timestamp();
    assert!(c.export_all("vulns", &since_all(t0)).await.is_empty());
    let m = sim.vm_mutate(100);
    assert_eq!(
        (m.fixed, m.reopened, m.new, m.deleted_assets),
        (50, 20, 30, 2)
    );
    assert_eq!(m.changed_findings, 100);
    assert!(m.updated_assets > 0);

    let changed = c.export_all("vulns", &since_all(t0)).await;
    unique_keys(&changed);
    assert_eq!(changed.len() as u64, m.changed_findings);
    assert_eq!(count_state(&changed, "FIXED"), m.fixed);
    assert_eq!(count_state(&changed, "REOPENED"), m.reopened);
    assert_eq!(count_state(&changed, "OPEN"), m.new);
    assert!(
        changed
            .iter()
            .filter(|f| f["state"] == "OPEN")
            .all(|f| f["first_found"] == f["last_found"])
    );

    let after = sim.vm_truth();
    assert_eq!(
        after.findings,
        before.findings - m.findings_removed_with_assets + m.new
    );
    assert_eq!(
        after.deleted_assets,
        before.deleted_assets + m.deleted_assets
    );
    assert_eq!(after.live_assets, before.live_assets - m.deleted_assets);
    let full = c.export_all("vulns", &all_states(50)).await;
    assert_eq!(full.len() as u64, after.findings);
    assert_eq!(count_state(&full, "FIXED"), after.fixed);

    let updated = c
        .export_all(
            "assets",
            &json!({"chunk_size": 100, "filters": {"updated_at": t0}}),
        )
        .await;
    assert_eq!(updated.len() as u64, m.updated_assets);
    let deleted = c
        .export_all(
            "assets",
            &json!({"chunk_size": 100, "filters": {"deleted_at": t0}}),
        )
        .await;
    assert_eq!(deleted.len() as u64, m.deleted_assets);
    let gone: HashSet<&str> = deleted.iter().filter_map(|a| a["id"].as_str()).collect();
    assert!(
        full.iter()
            .all(|f| !gone.contains(f["asset"]["uuid"].as_str().unwrap_or_default()))
    );

    let old = c.download("vulns", &snapshot, &snapshot_ids).await;
    assert_eq!(old.len() as u64, before.findings);

    // A second mutation is just as exact.
    let m2 = sim.vm_mutate(10);
    assert_eq!(m2.changed_findings, 10);
    let again = sim.vm_truth();
    assert_eq!(
        again.findings,
        after.findings - m2.findings_removed_with_assets + m2.new
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn mutation_is_deterministic() {
    let mut picks = Vec::new();
    for _ in 0..2 {
        let sim = start(cfg(62, 200)).await;
        let c = Client::new(&sim);
        let t0 = Utc::now().timestamp();
        let m = sim.vm_mutate(50);
        let changed = c.export_all("vulns", &since_all(t0)).await;
        let keys: HashSet<_> = changed
            .iter()
            .map(|f| (key(f), f["state"].clone()))
            .collect();
        picks.push((m, keys));
        sim.shutdown().await;
    }
    assert_eq!(picks[0], picks[1]);
}
