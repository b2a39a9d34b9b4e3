use std::collections::BTreeMap;

use tenax_model::{Finding, FindingState};
use tenax_store::{AssetFilter, FindingFilter, RunMode, RunStatus, Store};

use crate::{env, vm_source};

fn count(store: &dyn Store, states: &[FindingState]) -> u64 {
    store
        .count_findings(&FindingFilter {
            states: states.to_vec(),
            ..FindingFilter::default()
        })
        .unwrap()
}

/// Every stored finding by id, minus the timestamps (which follow each simulator's clock).
fn rows(store: &dyn Store) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    store
        .for_each_finding(&FindingFilter::default(), &mut |f: Finding| {
            let key = f.id.clone();
            let v = format!(
                "{}|{}|{}|{}|{}|{:?}|{:?}|{:?}",
                f.state, f.severity, f.plugin_id, f.port, f.protocol, f.cves, f.output, f.hostname
            );
            out.insert(key, v);
            Ok(())
        })
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_stores_exact_ground_truth() {
    let mut e = env(7, 300, "").await;
    let truth = e.sim.vm_truth();
    assert!(truth.open > 0 && truth.reopened > 0 && truth.fixed > 0 && truth.deleted_assets > 0);
    let src = vm_source(&e.sim, |_| {});
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.mode, RunMode::Full);
    assert_eq!(r.findings.expected, Some(truth.findings));
    assert_eq!(r.findings.stored, truth.findings);
    assert_eq!(r.assets.stored, truth.live_assets);
    assert_eq!(r.deleted_assets, truth.deleted_assets);
    let s = e.store();
    assert_eq!(count(s, &[]), truth.findings);
    assert_eq!(count(s, &[FindingState::Open]), truth.open);
    assert_eq!(count(s, &[FindingState::Reopened]), truth.reopened);
    assert_eq!(count(s, &[FindingState::Fixed]), truth.fixed);
    assert_eq!(
        s.count_assets(&AssetFilter::default()).unwrap(),
        truth.live_assets
    );
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    assert_eq!(
        s.count_assets(&all).unwrap(),
        truth.live_assets + truth.deleted_assets
    );
    assert!(s.checkpoint("cloud", "vm.window").unwrap().is_some());
    assert!(s.checkpoint("cloud", "vm.export.vulns").unwrap().is_none());
    s.integrity_check().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sync_stores_exactly_the_changes() {
    let mut e = env(11, 200, "").await;
    let src = vm_source(&e.sim, |_| {});
    let first = e.sync(&src, false).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{}", first.message);
    let m = e.sim.vm_mutate(40);
    assert!(m.fixed > 0 && m.reopened > 0 && m.new > 0, "{m:?}");
    let second = e.sync(&src, false).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{}", second.message);
    assert_eq!(second.mode, RunMode::Incremental);
    assert_eq!(second.findings.stored, m.changed_findings, "{m:?}");
    assert_eq!(second.findings.expected, Some(m.changed_findings));
    assert_eq!(second.deleted_assets, m.deleted_assets);
    let truth = e.sim.vm_truth();
    let s = e.store();
    // Findings of deleted assets stay stored (their asset is marked deleted).
    assert_eq!(
        count(s, &[]),
        truth.findings + m.findings_removed_with_assets
    );
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    assert_eq!(s.count_assets(&all).unwrap(), truth.assets);
    assert_eq!(
        s.count_assets(&AssetFilter::default()).unwrap(),
        truth.live_assets
    );
    // Windows are whole seconds and `since` is inclusive: step past the mutation's second so
    // the run below starts in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // A third run re-reads the last hour (the overlap window): the same changes again, and
    // no duplicates.
    let third = e.sync(&src, false).await;
    assert_eq!(third.status, RunStatus::Succeeded, "{}", third.message);
    assert_eq!(third.findings.stored, m.changed_findings);
    assert_eq!(
        count(e.store(), &[]),
        truth.findings + m.findings_removed_with_assets
    );
    // Without overlap, a run with no changes stores nothing.
    let no_overlap = vm_source(&e.sim, |c| c.overlap_secs = 0);
    let fourth = e.sync(&no_overlap, false).await;
    assert_eq!(fourth.status, RunStatus::Succeeded, "{}", fourth.message);
    assert_eq!(fourth.findings.stored, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_do_not_change_the_stored_rows() {
    let mut clean = env(5, 250, "").await;
    let r = clean.sync(&vm_source(&clean.sim, |_| {}), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);

    let mut faulty = env(
        5,
        250,
        "429:every=5:after=0,5xx:p=0.05,reset:chunk=2,truncate:chunk=3,409:first",
    )
    .await;
    let r = faulty.sync(&vm_source(&faulty.sim, |_| {}), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    let stats = faulty.sim.stats();
    assert!(
        stats.rate_limited > 0 && stats.resets > 0 && stats.server_errors > 0,
        "{stats:?}"
    );
    assert!(
        stats.conflicts >= 1,
        "the 409 was answered and adopted: {stats:?}"
    );
    assert_eq!(rows(faulty.store()), rows(clean.store()));
    assert_eq!(r.findings.stored, faulty.sim.vm_truth().findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_error_is_partial_and_keeps_the_checkpoint() {
    for faults in ["export:error", "failed:chunk=2"] {
        let mut e = env(3, 200, faults).await;
        let src = vm_source(&e.sim, |_| {});
        let r = e.sync(&src, false).await;
        assert_eq!(r.status, RunStatus::Partial, "{faults}: {}", r.message);
        assert!(r.message.contains("checkpoint kept"), "{}", r.message);
        assert!(
            e.store()
                .checkpoint("cloud", "vm.window")
                .unwrap()
                .is_none(),
            "{faults}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_chunk_triggers_a_new_export() {
    let mut e = env(9, 200, "expire:chunk=1").await;
    let src = vm_source(&e.sim, |_| {});
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.findings.stored, e.sim.vm_truth().findings);
    assert!(
        e.sim.stats().exports_created >= 5,
        "a second vulns export was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_keys_fail_the_run_as_a_config_error() {
    let mut e = env(1, 20, "").await;
    let src = vm_source(&e.sim, |c| c.secret_key = "wrong".into());
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.config_error);
    assert!(
        r.message.contains("keys rejected (HTTP 401)"),
        "{}",
        r.message
    );
    assert!(!r.message.contains("wrong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_cassettes_run_end_to_end() {
    let data = |f: &str| format!("{}/../../testdata/vm/{f}", env!("CARGO_MANIFEST_DIR")).into();
    let mut cfg = tenax_sim::SimConfig::default();
    cfg.vm.findings_file = Some(data("test_exports_vulns.json"));
    cfg.vm.assets_file = Some(data("test_exports_assets.json"));
    cfg.vm.chunk_interval = std::time::Duration::from_millis(2);
    let sim = tenax_sim::Sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = tenax_store::SqliteStore::open_path(&dir.path().join("t.db")).unwrap();
    let mut e = crate::Env {
        sim,
        store: Some(Box::new(store)),
        _dir: dir,
    };
    // The recordings are from 2018: reach back far enough.
    let src = vm_source(&e.sim, |c| c.lookback_days = 20_000);
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!((r.findings.stored, r.findings.expected), (344, Some(344)));
    assert_eq!((r.assets.stored, r.assets.expected), (100, Some(100)));
    let s = e.store();
    assert_eq!(count(s, &[FindingState::Reopened]), 7);
    let id = "2d520484-6b83-4c63-b3d0-bf094315cc0f:10736:49678:tcp";
    let mut found = Vec::new();
    s.for_each_finding(
        &FindingFilter {
            plugin_id: Some(10736),
            ..FindingFilter::default()
        },
        &mut |f: Finding| {
            found.push(f);
            Ok(())
        },
    )
    .unwrap();
    let f = found
        .iter()
        .find(|f| f.id == id)
        .expect("the first recorded finding is stored");
    assert_eq!(f.plugin_name.as_deref(), Some("DCE Services Enumeration"));
    assert_eq!(f.service.as_deref(), Some("dce-rpc"));
    // The raw record is kept exactly as Tenable sent it.
    let raw = s.raw_finding("cloud", id).unwrap().unwrap();
    assert_eq!(raw["plugin"]["id"], 10736);
    assert_eq!(
        raw["asset"]["bios_uuid"],
        "02EB2642-6E94-23AF-9C99-B61644C2CC46"
    );
    assert_eq!(
        raw["scan"]["uuid"],
        "1e6d0bbd-e027-78c3-7bb8-e5a23aed5bee9cbb5a4b2a696b69"
    );
    let asset = s
        .raw_asset("cloud", "b666e9f5-fde7-4cd8-9c07-12c19246b616")
        .unwrap()
        .unwrap();
    assert_eq!(asset["sources"][0]["name"], "PVS");
}
