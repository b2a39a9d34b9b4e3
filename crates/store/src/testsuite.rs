//! The conformance suite every [`Store`] backend runs.
//!
//! [`run_all`] opens a fresh, empty store for each check and runs it; each check is also a
//! `pub fn` of its own so that a backend's test can run one in isolation. Checks panic (assert)
//! on the first difference, naming what differed.
//!
//! The suite pins the contract of the trait, including the validation rules of
//! [`Store::apply_batch`]:
//!
//! * the run must exist ([`Error::NotFound`]), belong to the batch's source and still be
//!   `running` ([`Error::Config`]);
//! * every asset and finding must carry the batch's source, a non-empty id and the run's kind
//!   (an asset's kind may also be `None`); deleted-asset ids and checkpoint keys must be
//!   non-empty ([`Error::Config`]);
//! * the rules are checked before anything is written, and a failing batch writes nothing:
//!   no row, no deletion mark, no checkpoint.
//!
//! ```no_run
//! tenax_store::testsuite::run_all(&|| {
//!     Box::new(tenax_store::SqliteStore::open_in_memory().expect("in-memory store"))
//! });
//! ```

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tenax_model::{
    Asset, Event, Finding, FindingState, Severity, SourceKind, Timestamp, finding_key,
};

use crate::{
    AssetFilter, AssetRow, Assignment, Batch, BatchOutcome, Change, CorrelationWrite, CveCount,
    Error, EventFilter, EventKey, EventRow, FindingCount, FindingFilter, FindingRow, Lease,
    LeaseAttempt, RemediationStat, RunId, RunMode, RunReport, RunStatus, Sla, Store, Tally,
    Transition, TrendDay, UnifiedFilter, UnifiedLink,
};

/// A conformance check: runs against a fresh, empty store and panics on a difference.
pub type Check = fn(&mut dyn Store);

/// Every check of the suite, with its name.
pub const CHECKS: &[(&str, Check)] = &[
    ("empty_store_is_empty", empty_store_is_empty),
    (
        "finding_round_trips_every_field",
        finding_round_trips_every_field,
    ),
    (
        "asset_round_trips_every_field",
        asset_round_trips_every_field,
    ),
    ("upsert_replaces", upsert_replaces),
    ("raw_round_trips", raw_round_trips),
    (
        "raw_with_a_plugin_member_round_trips",
        raw_with_a_plugin_member_round_trips,
    ),
    (
        "checkpoints_set_overwrite_delete",
        checkpoints_set_overwrite_delete,
    ),
    ("failed_batch_writes_nothing", failed_batch_writes_nothing),
    ("batch_validation_rules", batch_validation_rules),
    ("deleted_assets_are_marked", deleted_assets_are_marked),
    ("finding_filters", finding_filters),
    ("cve_filter_is_exact", cve_filter_is_exact),
    ("asset_filters", asset_filters),
    (
        "events_round_trip_filter_and_tally",
        events_round_trip_filter_and_tally,
    ),
    (
        "history_as_of_and_remediation",
        history_as_of_and_remediation,
    ),
    ("correlation_is_stored", correlation_is_stored),
    ("ordering_and_limit", ordering_and_limit),
    (
        "callback_error_stops_the_walk",
        callback_error_stops_the_walk,
    ),
    ("runs_lifecycle", runs_lifecycle),
    (
        "close_stale_runs_fails_running_runs",
        close_stale_runs_fails_running_runs,
    ),
    ("run_scoped_counts", run_scoped_counts),
    ("integrity_check_passes", integrity_check_passes),
    (
        "leases_are_exclusive_and_expire",
        leases_are_exclusive_and_expire,
    ),
    (
        "times_order_as_times_not_as_text",
        times_order_as_times_not_as_text,
    ),
    ("keyset_pagination", keyset_pagination),
    (
        "single_records_and_data_version",
        single_records_and_data_version,
    ),
    (
        "unified_assets_and_aggregates",
        unified_assets_and_aggregates,
    ),
    (
        "finding_trend_follows_history",
        finding_trend_follows_history,
    ),
];

/// Runs every check in [`CHECKS`], each on a fresh store from `open`.
pub fn run_all(open: &dyn Fn() -> Box<dyn Store>) {
    for (name, check) in CHECKS {
        let mut store = open();
        eprintln!("store conformance: {name}");
        check(store.as_mut());
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn ts(secs: i64, nanos: u32) -> Timestamp {
    Utc.timestamp_opt(secs, nanos)
        .single()
        .expect("valid test timestamp")
}

/// A finding with only the required fields set.
pub fn minimal_finding(source: &str, kind: SourceKind, asset_id: &str, plugin_id: i64) -> Finding {
    Finding {
        source: source.to_owned(),
        kind,
        id: finding_key(asset_id, plugin_id, 0, "tcp"),
        asset_id: asset_id.to_owned(),
        unified_asset_id: None,
        plugin_id,
        plugin_name: None,
        plugin_family: None,
        severity: Severity::Info,
        state: FindingState::Open,
        port: 0,
        protocol: "tcp".to_owned(),
        service: None,
        cves: Vec::new(),
        cvss3_base_score: None,
        cvss2_base_score: None,
        vpr_score: None,
        first_found: None,
        last_found: None,
        last_fixed: None,
        hostname: None,
        ipv4: None,
        synopsis: None,
        solution: None,
        output: None,
    }
}

/// A finding with every field set, sub-second timestamps and non-ASCII text.
pub fn full_finding(source: &str, kind: SourceKind, asset_id: &str, plugin_id: i64) -> Finding {
    Finding {
        source: source.to_owned(),
        kind,
        id: finding_key(asset_id, plugin_id, 443, "tcp"),
        asset_id: asset_id.to_owned(),
        unified_asset_id: Some("7f0c2a52-4d1e-4c36-9d7a-0b8b1c2d3e4f".to_owned()),
        plugin_id,
        plugin_name: Some("Apache Log4j < 2.15.0 Remote Code Execution".to_owned()),
        plugin_family: Some("Misc.".to_owned()),
        severity: Severity::Critical,
        state: FindingState::Reopened,
        port: 443,
        protocol: "tcp".to_owned(),
        service: Some("www".to_owned()),
        cves: vec!["CVE-2021-44228".to_owned(), "CVE-2021-45046".to_owned()],
        cvss3_base_score: Some(10.0),
        cvss2_base_score: Some(9.3),
        vpr_score: Some(9.7),
        first_found: Some(ts(1_639_000_000, 123_456_789)),
        last_found: Some(ts(1_700_000_000, 1)),
        // Go's zero time, as some APIs send it: outside the i64-nanosecond range.
        last_fixed: Some(
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0)
                .single()
                .expect("year 1"),
        ),
        hostname: Some("web-01".to_owned()),
        ipv4: Some("10.0.0.5".to_owned()),
        synopsis: Some("The remote host is affected by a «critical» flaw.".to_owned()),
        solution: Some("Upgrade to 2.15.0 or later.\nRestart the service.".to_owned()),
        output: Some(
            "Path : /opt/app/lib/log4j-core-2.14.1.jar\n  Version : 2.14.1 ✓\t".to_owned(),
        ),
    }
}

/// An asset with only the required fields set.
pub fn minimal_asset(source: &str, id: &str) -> Asset {
    Asset {
        source: source.to_owned(),
        id: id.to_owned(),
        ..Asset::default()
    }
}

/// An asset with every field set.
pub fn full_asset(source: &str, kind: SourceKind, id: &str) -> Asset {
    Asset {
        source: source.to_owned(),
        kind: Some(kind),
        id: id.to_owned(),
        unified_id: Some("0d5b8c1e-1111-4a2b-8c3d-222233334444".to_owned()),
        name: Some("web-01.corp.example.com".to_owned()),
        hostnames: vec!["web-01".to_owned(), "WEB01".to_owned()],
        fqdns: vec!["web-01.corp.example.com".to_owned()],
        ipv4s: vec!["10.0.0.5".to_owned(), "192.168.1.5".to_owned()],
        ipv6s: vec!["fe80::1".to_owned()],
        macs: vec!["00:50:56:a6:55:8c".to_owned()],
        operating_systems: vec!["Microsoft Windows Server 2019".to_owned()],
        asset_type: Some("server".to_owned()),
        vendor: Some("Dell Inc.".to_owned()),
        model: Some("PowerEdge R640".to_owned()),
        firmware: Some("2.12.2".to_owned()),
        first_seen: Some(ts(1_600_000_000, 5)),
        last_seen: Some(ts(1_700_000_123, 999_999_999)),
        tags: BTreeMap::from([
            ("Location".to_owned(), "Zürich, Basel".to_owned()),
            ("Owner".to_owned(), "ops".to_owned()),
        ]),
        risk: Some(7.1),
        deleted_at: None,
    }
}

/// A finding row whose raw JSON is the finding's own JSON plus a marker.
pub fn finding_row(f: Finding) -> FindingRow {
    let raw = json!({ "tenax_test": "raw", "record": f })
        .to_string()
        .into_boxed_str();
    FindingRow { finding: f, raw }
}

/// An asset row whose raw JSON is the asset's own JSON plus a marker.
pub fn asset_row(a: Asset) -> AssetRow {
    let raw = json!({ "tenax_test": "raw", "record": a })
        .to_string()
        .into_boxed_str();
    AssetRow { asset: a, raw }
}

fn findings_batch(findings: Vec<Finding>) -> Batch {
    Batch {
        findings: findings.into_iter().map(finding_row).collect(),
        ..Batch::default()
    }
}

fn assets_batch(assets: Vec<Asset>) -> Batch {
    Batch {
        assets: assets.into_iter().map(asset_row).collect(),
        ..Batch::default()
    }
}

fn begin(store: &mut dyn Store, source: &str, kind: SourceKind) -> RunId {
    store
        .begin_run(source, kind, RunMode::Full)
        .expect("begin_run")
}

fn apply(store: &mut dyn Store, run: RunId, source: &str, batch: &Batch) -> BatchOutcome {
    store.apply_batch(run, source, batch).expect("apply_batch")
}

fn succeeded() -> RunReport {
    RunReport {
        status: Some(RunStatus::Succeeded),
        ..RunReport::default()
    }
}

/// Streams findings and checks that `count_findings` agrees (when the filter has no limit).
fn findings(store: &dyn Store, filter: &FindingFilter) -> Vec<Finding> {
    let mut out = Vec::new();
    store
        .for_each_finding(filter, &mut |f| {
            out.push(f);
            Ok(())
        })
        .expect("for_each_finding");
    if filter.limit.is_none() && filter.after.is_none() {
        let n = store.count_findings(filter).expect("count_findings");
        assert_eq!(
            n,
            out.len() as u64,
            "count_findings vs streamed rows for {filter:?}"
        );
    }
    out
}

/// Streams assets and checks that `count_assets` agrees (when the filter has no limit).
fn assets(store: &dyn Store, filter: &AssetFilter) -> Vec<Asset> {
    let mut out = Vec::new();
    store
        .for_each_asset(filter, &mut |a| {
            out.push(a);
            Ok(())
        })
        .expect("for_each_asset");
    if filter.limit.is_none() && filter.after.is_none() {
        let n = store.count_assets(filter).expect("count_assets");
        assert_eq!(
            n,
            out.len() as u64,
            "count_assets vs streamed rows for {filter:?}"
        );
    }
    out
}

fn all_findings(store: &dyn Store) -> Vec<Finding> {
    findings(store, &FindingFilter::default())
}

fn all_assets(store: &dyn Store) -> Vec<Asset> {
    assets(
        store,
        &AssetFilter {
            include_deleted: true,
            ..AssetFilter::default()
        },
    )
}

fn assert_config_error<T: std::fmt::Debug>(r: crate::Result<T>, what: &str) -> String {
    match r {
        Err(Error::Config(msg)) => msg,
        other => panic!("{what}: expected a configuration error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

/// A new store has no runs, rows or checkpoints.
pub fn empty_store_is_empty(store: &mut dyn Store) {
    assert!(store.list_runs(None, 10).expect("list_runs").is_empty());
    assert_eq!(
        store
            .count_findings(&FindingFilter::default())
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .count_assets(&AssetFilter {
                include_deleted: true,
                ..AssetFilter::default()
            })
            .expect("count"),
        0
    );
    assert!(all_findings(store).is_empty());
    assert!(all_assets(store).is_empty());
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("checkpoint"),
        None
    );
    assert_eq!(store.raw_finding("cloud", "x").expect("raw"), None);
    assert_eq!(store.raw_asset("cloud", "x").expect("raw"), None);
}

/// Findings come back exactly as written: every field set, and every optional field unset.
pub fn finding_round_trips_every_field(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let full = full_finding("cloud", SourceKind::Vm, "a1", 155_999);
    let minimal = minimal_finding("cloud", SourceKind::Vm, "a2", 19506);
    let mut extreme = minimal_finding("cloud", SourceKind::Vm, "a3", -1);
    extreme.port = 65_535;
    extreme.protocol = "udp".to_owned();
    extreme.first_found = Some(ts(-86_400, 999_999_999));
    extreme.last_found = Some(DateTime::<Utc>::MAX_UTC);
    extreme.last_fixed = Some(ts(0, 0));
    extreme.cvss3_base_score = Some(0.0);
    extreme.vpr_score = Some(0.1 + 0.2);
    extreme.output = Some(String::new());
    extreme.cves = vec!["CVE-2099-0001".to_owned()];
    let batch = findings_batch(vec![full.clone(), minimal.clone(), extreme.clone()]);
    let outcome = apply(store, run, "cloud", &batch);
    assert_eq!(
        outcome,
        BatchOutcome {
            assets: 0,
            findings: 3,
            deleted_assets: 0,
            events: 0
        }
    );

    let mut want = vec![full, minimal, extreme];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    let got = all_findings(store);
    assert_eq!(got, want);
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in [(g.first_found, w.first_found), (g.last_found, w.last_found)] {
            let nanos = |t: Option<Timestamp>| t.map(|t| t.timestamp_subsec_nanos());
            assert_eq!(nanos(a), nanos(b), "sub-second precision of {}", w.id);
        }
    }
}

/// Assets come back exactly as written: every field set, and every optional field unset.
pub fn asset_round_trips_every_field(store: &mut dyn Store) {
    let run = begin(store, "plant", SourceKind::Ot);
    let full = full_asset("plant", SourceKind::Ot, "ot-1");
    let minimal = minimal_asset("plant", "ot-2");
    let mut deleted = full_asset("plant", SourceKind::Ot, "ot-3");
    deleted.kind = None;
    deleted.deleted_at = Some(ts(1_700_000_500, 250_000_000));
    deleted.risk = Some(-0.5);
    let outcome = apply(
        store,
        run,
        "plant",
        &assets_batch(vec![full.clone(), minimal.clone(), deleted.clone()]),
    );
    assert_eq!(
        outcome,
        BatchOutcome {
            assets: 3,
            findings: 0,
            deleted_assets: 0,
            events: 0
        }
    );
    assert_eq!(
        all_assets(store),
        vec![full.clone(), minimal.clone(), deleted]
    );
    assert_eq!(
        assets(store, &AssetFilter::default()),
        vec![full, minimal],
        "live assets only"
    );
}

/// The same `(source, id)` twice is one row with the latest values, across batches and within
/// one batch (the last version in the batch wins).
pub fn upsert_replaces(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let mut f = full_finding("cloud", SourceKind::Vm, "a1", 1);
    apply(store, run, "cloud", &findings_batch(vec![f.clone()]));
    f.state = FindingState::Fixed;
    f.severity = Severity::Low;
    f.last_fixed = Some(ts(1_700_000_999, 42));
    f.cves.clear();
    f.output = None;
    apply(store, run, "cloud", &findings_batch(vec![f.clone()]));
    assert_eq!(all_findings(store), vec![f.clone()]);

    // Every other field changes while severity, state, plugin and asset stay: a backend may
    // take a cheaper path for such updates, and it must still store everything.
    let mut same_keys = full_finding("cloud", SourceKind::Vm, "a1", 1);
    same_keys.id = f.id.clone();
    same_keys.state = f.state;
    same_keys.severity = f.severity;
    same_keys.unified_asset_id = Some("another-unified-id".to_owned());
    same_keys.plugin_name = Some("renamed plugin".to_owned());
    same_keys.plugin_family = None;
    same_keys.port = 8443;
    same_keys.protocol = "udp".to_owned();
    same_keys.service = Some("https-alt".to_owned());
    same_keys.cves = vec!["CVE-2024-0001".to_owned()];
    same_keys.cvss3_base_score = Some(5.5);
    same_keys.cvss2_base_score = None;
    same_keys.vpr_score = Some(1.25);
    same_keys.first_found = Some(ts(1_500_000_000, 7));
    same_keys.last_found = Some(ts(1_710_000_000, 8));
    same_keys.last_fixed = None;
    same_keys.hostname = Some("web-01-renamed".to_owned());
    same_keys.ipv4 = None;
    same_keys.synopsis = Some("new synopsis".to_owned());
    same_keys.solution = None;
    same_keys.output = Some("new output".to_owned());
    apply(
        store,
        run,
        "cloud",
        &findings_batch(vec![same_keys.clone()]),
    );
    assert_eq!(all_findings(store), vec![same_keys]);
    let mut kind_changes = f.clone();
    kind_changes.plugin_id = 2;
    kind_changes.asset_id = "a9".to_owned();
    apply(
        store,
        run,
        "cloud",
        &findings_batch(vec![kind_changes.clone()]),
    );
    assert_eq!(all_findings(store), vec![kind_changes]);
    apply(store, run, "cloud", &findings_batch(vec![f.clone()]));
    assert_eq!(all_findings(store), vec![f.clone()]);

    let mut v1 = f.clone();
    v1.plugin_name = Some("first".to_owned());
    let mut v2 = f.clone();
    v2.plugin_name = Some("second".to_owned());
    let other = minimal_finding("cloud", SourceKind::Vm, "a2", 1);
    let outcome = apply(
        store,
        run,
        "cloud",
        &findings_batch(vec![v1, other.clone(), v2.clone()]),
    );
    assert_eq!(outcome.findings, 3, "every row of the batch is counted");
    assert_eq!(all_findings(store), vec![v2, other]);

    let mut a = full_asset("cloud", SourceKind::Vm, "a1");
    apply(store, run, "cloud", &assets_batch(vec![a.clone()]));
    a.hostnames = vec!["renamed".to_owned()];
    a.tags.clear();
    a.risk = None;
    apply(store, run, "cloud", &assets_batch(vec![a.clone()]));
    assert_eq!(all_assets(store), vec![a]);

    // The same id under another source is another row.
    let run2 = begin(store, "cloud2", SourceKind::Vm);
    let mut g = f.clone();
    g.source = "cloud2".to_owned();
    apply(store, run2, "cloud2", &findings_batch(vec![g]));
    assert_eq!(
        store
            .count_findings(&FindingFilter::default())
            .expect("count"),
        3
    );
}

/// The raw JSON of a record comes back parsed; a record without raw text reads as `null`.
pub fn raw_round_trips(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let f = full_finding("cloud", SourceKind::Vm, "a1", 1);
    let raw = json!({
        "asset": { "uuid": "a1", "hostname": "web-01" },
        "plugin": { "id": 1, "cve": ["CVE-2021-44228"], "description": "x".repeat(5000) },
        "output": "é ✓ \u{1F600}", "port": { "port": 443 }, "n": 1.5, "nested": [[], {}, null, true]
    });
    let batch = Batch {
        findings: vec![FindingRow {
            finding: f.clone(),
            raw: raw.to_string().into(),
        }],
        assets: vec![
            AssetRow {
                asset: minimal_asset("cloud", "a1"),
                raw: r#"{"id":"a1","x":[1,2]}"#.into(),
            },
            AssetRow {
                asset: minimal_asset("cloud", "a2"),
                raw: "".into(),
            },
        ],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    assert_eq!(
        store.raw_finding("cloud", &f.id).expect("raw_finding"),
        Some(raw)
    );
    assert_eq!(
        store.raw_asset("cloud", "a1").expect("raw_asset"),
        Some(json!({"id":"a1","x":[1,2]}))
    );
    assert_eq!(
        store.raw_asset("cloud", "a2").expect("raw_asset"),
        Some(serde_json::Value::Null)
    );
    assert_eq!(
        store.raw_finding("cloud", "missing").expect("raw_finding"),
        None
    );
    assert_eq!(
        store.raw_finding("other", &f.id).expect("raw_finding"),
        None
    );
    assert_eq!(store.raw_asset("cloud", &f.id).expect("raw_asset"), None);

    // A rewrite replaces the raw record too.
    let batch = Batch {
        findings: vec![FindingRow {
            finding: f.clone(),
            raw: r#"{"v":2}"#.into(),
        }],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    assert_eq!(
        store.raw_finding("cloud", &f.id).expect("raw_finding"),
        Some(json!({"v": 2}))
    );
}

/// Checkpoints are set, overwritten and deleted by batches, per source.
pub fn checkpoints_set_overwrite_delete(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let set = |k: &str, v: serde_json::Value| (k.to_owned(), Some(v));
    let batch = Batch {
        checkpoint: vec![
            set("vulns", json!({"since": 1})),
            set("assets", json!("2024-01-01")),
        ],
        ..Batch::default()
    };
    assert_eq!(apply(store, run, "cloud", &batch), BatchOutcome::default());
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!({"since": 1}))
    );
    assert_eq!(
        store.checkpoint("cloud", "assets").expect("cp"),
        Some(json!("2024-01-01"))
    );
    assert_eq!(store.checkpoint("other", "vulns").expect("cp"), None);

    let batch = Batch {
        checkpoint: vec![set("vulns", json!({"since": 2, "export": [1, 2.5, null]}))],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!({"since": 2, "export": [1, 2.5, null]}))
    );

    let batch = Batch {
        checkpoint: vec![("assets".to_owned(), None)],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    assert_eq!(store.checkpoint("cloud", "assets").expect("cp"), None);
    assert!(store.checkpoint("cloud", "vulns").expect("cp").is_some());

    // Deleting a checkpoint that does not exist is fine; updates apply in order.
    let batch = Batch {
        checkpoint: vec![
            ("never".to_owned(), None),
            set("vulns", json!(3)),
            ("vulns".to_owned(), None),
            set("vulns", json!(4)),
        ],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!(4))
    );
    assert_eq!(store.checkpoint("cloud", "never").expect("cp"), None);

    // Another source's run keeps its own checkpoints.
    let run2 = begin(store, "sc-prod", SourceKind::Sc);
    apply(
        store,
        run2,
        "sc-prod",
        &Batch {
            checkpoint: vec![set("vulns", json!(99))],
            ..Batch::default()
        },
    );
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!(4))
    );
    assert_eq!(
        store.checkpoint("sc-prod", "vulns").expect("cp"),
        Some(json!(99))
    );
}

/// A checkpoint is written together with its batch's data, and a batch that fails writes
/// nothing at all — not its rows, not its deletions, not its checkpoint.
pub fn failed_batch_writes_nothing(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let first = Batch {
        findings: vec![finding_row(full_finding("cloud", SourceKind::Vm, "a1", 1))],
        assets: vec![asset_row(full_asset("cloud", SourceKind::Vm, "a1"))],
        checkpoint: vec![("vulns".to_owned(), Some(json!(1)))],
        ..Batch::default()
    };
    apply(store, run, "cloud", &first);
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!(1))
    );
    let before_findings = all_findings(store);
    let before_assets = all_assets(store);

    // Valid rows first, the offending row last.
    let mut stranger = minimal_finding("cloud", SourceKind::Vm, "a9", 9);
    stranger.source = "elsewhere".to_owned();
    let bad = Batch {
        findings: vec![
            finding_row(minimal_finding("cloud", SourceKind::Vm, "a2", 2)),
            finding_row(minimal_finding("cloud", SourceKind::Vm, "a3", 3)),
            finding_row(stranger),
        ],
        assets: vec![asset_row(minimal_asset("cloud", "a2"))],
        deleted_assets: vec![("a1".to_owned(), ts(1_700_000_000, 0))],
        events: Vec::new(),
        checkpoint: vec![
            ("vulns".to_owned(), Some(json!(2))),
            ("assets".to_owned(), Some(json!("x"))),
        ],
    };
    let msg = assert_config_error(
        store.apply_batch(run, "cloud", &bad),
        "finding of another source",
    );
    assert!(
        msg.contains("elsewhere"),
        "the error names the offending source: {msg}"
    );
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!(1))
    );
    assert_eq!(store.checkpoint("cloud", "assets").expect("cp"), None);
    assert_eq!(all_findings(store), before_findings);
    assert_eq!(all_assets(store), before_assets);
    assert_eq!(
        store.count_assets(&AssetFilter::default()).expect("count"),
        1,
        "a1 not deleted"
    );

    // The store still works after the failed batch, and the checkpoint moves with data.
    let next = Batch {
        findings: vec![finding_row(minimal_finding(
            "cloud",
            SourceKind::Vm,
            "a2",
            2,
        ))],
        checkpoint: vec![("vulns".to_owned(), Some(json!(2)))],
        ..Batch::default()
    };
    apply(store, run, "cloud", &next);
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!(2))
    );
    assert_eq!(all_findings(store).len(), 2);
}

/// Every validation rule of `apply_batch`, each on its own, each leaving the store unchanged.
pub fn batch_validation_rules(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let other_run = begin(store, "sc-prod", SourceKind::Sc);
    let ok = || minimal_finding("cloud", SourceKind::Vm, "a1", 1);
    let with_cp = |mut b: Batch| {
        b.checkpoint
            .push(("vulns".to_owned(), Some(json!("moved"))));
        b
    };

    let mut f = ok();
    f.source = "sc-prod".to_owned();
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(findings_batch(vec![f]))),
        "finding source differs from the batch source",
    );
    let mut a = minimal_asset("cloud", "a1");
    a.source = "CLOUD".to_owned();
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(assets_batch(vec![a]))),
        "asset source differs from the batch source (case matters)",
    );
    let mut f = ok();
    f.id = String::new();
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(findings_batch(vec![f]))),
        "finding with an empty id",
    );
    assert_config_error(
        store.apply_batch(
            run,
            "cloud",
            &with_cp(assets_batch(vec![minimal_asset("cloud", "")])),
        ),
        "asset with an empty id",
    );
    let b = Batch {
        deleted_assets: vec![(String::new(), ts(1, 0))],
        ..Batch::default()
    };
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(b)),
        "deleted asset with an empty id",
    );
    let b = Batch {
        checkpoint: vec![(String::new(), Some(json!(1)))],
        ..Batch::default()
    };
    assert_config_error(
        store.apply_batch(run, "cloud", &b),
        "checkpoint with an empty key",
    );
    let mut f = ok();
    f.kind = SourceKind::Sc;
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(findings_batch(vec![f]))),
        "finding kind differs from the run's kind",
    );
    let mut a = minimal_asset("cloud", "a1");
    a.kind = Some(SourceKind::Ot);
    assert_config_error(
        store.apply_batch(run, "cloud", &with_cp(assets_batch(vec![a]))),
        "asset kind differs from the run's kind",
    );
    assert_config_error(
        store.apply_batch(other_run, "cloud", &with_cp(findings_batch(vec![ok()]))),
        "run of another source",
    );
    match store.apply_batch(
        RunId(987_654),
        "cloud",
        &with_cp(findings_batch(vec![ok()])),
    ) {
        Err(Error::NotFound(msg)) => assert!(msg.contains("987654"), "{msg}"),
        other => panic!("unknown run: expected NotFound, got {other:?}"),
    }
    let done = begin(store, "cloud", SourceKind::Vm);
    store.finish_run(done, &succeeded()).expect("finish_run");
    assert_config_error(
        store.apply_batch(done, "cloud", &with_cp(findings_batch(vec![ok()]))),
        "finished run",
    );

    assert!(
        all_findings(store).is_empty(),
        "no rejected finding was stored"
    );
    assert!(all_assets(store).is_empty(), "no rejected asset was stored");
    assert_eq!(store.checkpoint("cloud", "vulns").expect("cp"), None);

    // An asset without a kind is accepted; so is an empty batch.
    apply(
        store,
        run,
        "cloud",
        &assets_batch(vec![minimal_asset("cloud", "a1")]),
    );
    assert_eq!(
        apply(store, run, "cloud", &Batch::default()),
        BatchOutcome::default()
    );
}

/// `deleted_assets` marks known assets and inserts stubs for unknown ones.
pub fn deleted_assets_are_marked(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let live = full_asset("cloud", SourceKind::Vm, "a1");
    let doomed = full_asset("cloud", SourceKind::Vm, "a2");
    apply(
        store,
        run,
        "cloud",
        &assets_batch(vec![live.clone(), doomed.clone()]),
    );

    let when = ts(1_700_000_000, 777);
    let ghost_when = ts(1_690_000_000, 0);
    let batch = Batch {
        deleted_assets: vec![("a2".to_owned(), when), ("ghost".to_owned(), ghost_when)],
        ..Batch::default()
    };
    let outcome = apply(store, run, "cloud", &batch);
    assert_eq!(
        outcome,
        BatchOutcome {
            assets: 0,
            findings: 0,
            deleted_assets: 2,
            events: 0
        }
    );

    assert_eq!(
        assets(store, &AssetFilter::default()),
        vec![live.clone()],
        "live only by default"
    );
    let mut marked = doomed.clone();
    marked.deleted_at = Some(when);
    let stub = Asset {
        source: "cloud".to_owned(),
        kind: Some(SourceKind::Vm),
        id: "ghost".to_owned(),
        deleted_at: Some(ghost_when),
        ..Asset::default()
    };
    assert_eq!(all_assets(store), vec![live.clone(), marked.clone(), stub]);
    assert_eq!(
        store.raw_asset("cloud", "ghost").expect("raw"),
        Some(serde_json::Value::Null)
    );
    assert!(
        store.raw_asset("cloud", "a2").expect("raw").is_some(),
        "raw kept when marked"
    );

    // Marking again updates the time; an upsert later revives the asset with its new values.
    let later = ts(1_700_000_100, 0);
    let batch = Batch {
        deleted_assets: vec![("a2".to_owned(), later)],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    marked.deleted_at = Some(later);
    let got = all_assets(store);
    assert_eq!(got[1], marked);
    apply(store, run, "cloud", &assets_batch(vec![doomed.clone()]));
    assert_eq!(assets(store, &AssetFilter::default()), vec![live, doomed]);

    // Deletions apply after the batch's upserts.
    let again = minimal_asset("cloud", "a3");
    let batch = Batch {
        assets: vec![asset_row(again.clone())],
        deleted_assets: vec![("a3".to_owned(), when)],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    let a3 = all_assets(store)
        .into_iter()
        .find(|a| a.id == "a3")
        .expect("a3 stored");
    assert_eq!(
        a3,
        Asset {
            deleted_at: Some(when),
            ..again
        }
    );
}

/// A data set spread over two sources and three runs, for the filter checks.
struct Dataset {
    findings: Vec<Finding>,
    /// The run that last wrote each finding id `(source, id)`.
    writer: HashMap<(String, String), RunId>,
    runs: Vec<RunId>,
}

fn dataset(store: &mut dyn Store) -> Dataset {
    let cves: [&[&str]; 4] = [
        &[],
        &["CVE-2021-44228"],
        &["CVE-2021-4", "CVE-2022-0001"],
        &["CVE-2021-44228", "CVE-2023-1234"],
    ];
    let make = |i: usize| {
        let source = ["alpha", "beta"][i % 2];
        let kind = [SourceKind::Vm, SourceKind::Sc][i % 2];
        let asset = format!("asset-{}", i % 7);
        let plugin = 1000 + (i % 5) as i64;
        let mut f = minimal_finding(source, kind, &asset, plugin);
        f.port = i as i64;
        f.id = finding_key(&asset, plugin, f.port, "tcp");
        f.severity = Severity::ALL[i % Severity::ALL.len()];
        f.state = FindingState::ALL[(i / 2) % FindingState::ALL.len()];
        f.cves = cves[(i / 3) % 4].iter().map(|s| (*s).to_owned()).collect();
        f
    };
    let mut findings: Vec<Finding> = (0..80).map(make).collect();
    let mut writer = HashMap::new();
    let alpha1 = begin(store, "alpha", SourceKind::Vm);
    let beta1 = begin(store, "beta", SourceKind::Sc);
    for (source, run) in [("alpha", alpha1), ("beta", beta1)] {
        let mine: Vec<Finding> = findings
            .iter()
            .filter(|f| f.source == source)
            .cloned()
            .collect();
        // Two batches per run.
        let (a, b) = mine.split_at(mine.len() / 2);
        apply(store, run, source, &findings_batch(a.to_vec()));
        apply(store, run, source, &findings_batch(b.to_vec()));
        for f in &mine {
            writer.insert((f.source.clone(), f.id.clone()), run);
        }
    }
    // A second alpha run rewrites a third of alpha's findings, changing their state.
    let alpha2 = begin(store, "alpha", SourceKind::Vm);
    let mut rewritten = Vec::new();
    for f in findings
        .iter_mut()
        .filter(|f| f.source == "alpha" && f.port % 3 == 0)
    {
        f.state = FindingState::Fixed;
        writer.insert((f.source.clone(), f.id.clone()), alpha2);
        rewritten.push(f.clone());
    }
    apply(store, alpha2, "alpha", &findings_batch(rewritten));
    findings.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
    Dataset {
        findings,
        writer,
        runs: vec![alpha1, beta1, alpha2],
    }
}

fn finding_matches(d: &Dataset, f: &Finding, filter: &FindingFilter) -> bool {
    (filter.sources.is_empty() || filter.sources.contains(&f.source))
        && (filter.severities.is_empty() || filter.severities.contains(&f.severity))
        && (filter.states.is_empty() || filter.states.contains(&f.state))
        && filter
            .cve
            .as_deref()
            .is_none_or(|c| f.cves.iter().any(|x| x.eq_ignore_ascii_case(c.trim())))
        && filter.plugin_id.is_none_or(|p| p == f.plugin_id)
        && filter.asset_id.as_deref().is_none_or(|a| a == f.asset_id)
        && filter
            .run
            .is_none_or(|r| d.writer.get(&(f.source.clone(), f.id.clone())) == Some(&r))
}

/// Every finding filter, alone and combined, matches exactly the expected rows, ordered by
/// `(source, id)`, and counts agree with the stream.
pub fn finding_filters(store: &mut dyn Store) {
    let d = dataset(store);
    let [alpha1, beta1, alpha2] = [d.runs[0], d.runs[1], d.runs[2]];
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let filters = vec![
        FindingFilter::default(),
        FindingFilter {
            sources: s(&["alpha"]),
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: s(&["alpha", "beta"]),
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: s(&["nobody"]),
            ..FindingFilter::default()
        },
        FindingFilter {
            severities: vec![Severity::Critical],
            ..FindingFilter::default()
        },
        FindingFilter {
            severities: vec![Severity::High, Severity::Info],
            ..FindingFilter::default()
        },
        FindingFilter {
            states: vec![FindingState::Fixed],
            ..FindingFilter::default()
        },
        FindingFilter {
            states: vec![FindingState::Open, FindingState::Reopened],
            ..FindingFilter::default()
        },
        FindingFilter {
            cve: Some("CVE-2021-44228".to_owned()),
            ..FindingFilter::default()
        },
        FindingFilter {
            cve: Some("cve-2022-0001".to_owned()),
            ..FindingFilter::default()
        },
        FindingFilter {
            cve: Some("CVE-1999-0000".to_owned()),
            ..FindingFilter::default()
        },
        FindingFilter {
            plugin_id: Some(1003),
            ..FindingFilter::default()
        },
        FindingFilter {
            plugin_id: Some(7),
            ..FindingFilter::default()
        },
        FindingFilter {
            asset_id: Some("asset-3".to_owned()),
            ..FindingFilter::default()
        },
        FindingFilter {
            run: Some(alpha1),
            ..FindingFilter::default()
        },
        FindingFilter {
            run: Some(beta1),
            ..FindingFilter::default()
        },
        FindingFilter {
            run: Some(alpha2),
            ..FindingFilter::default()
        },
        FindingFilter {
            run: Some(RunId(999_999)),
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: s(&["alpha"]),
            severities: vec![Severity::Critical, Severity::High],
            states: vec![FindingState::Open, FindingState::Fixed],
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: s(&["beta"]),
            cve: Some("CVE-2021-44228".to_owned()),
            asset_id: Some("asset-1".to_owned()),
            ..FindingFilter::default()
        },
        FindingFilter {
            severities: vec![Severity::Medium],
            plugin_id: Some(1002),
            run: Some(alpha2),
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: s(&["alpha", "beta"]),
            severities: Severity::ALL.to_vec(),
            states: FindingState::ALL.to_vec(),
            cve: Some("CVE-2023-1234".to_owned()),
            plugin_id: Some(1004),
            asset_id: Some("asset-4".to_owned()),
            run: Some(beta1),
            unified_asset_id: None,
            as_of: None,
            limit: None,
            after: None,
        },
    ];
    let mut non_trivial = 0;
    for filter in &filters {
        let want: Vec<Finding> = d
            .findings
            .iter()
            .filter(|f| finding_matches(&d, f, filter))
            .cloned()
            .collect();
        if !want.is_empty() && want.len() < d.findings.len() {
            non_trivial += 1;
        }
        assert_eq!(findings(store, filter), want, "filter {filter:?}");
        let mut limited = filter.clone();
        limited.limit = Some(3);
        let want3: Vec<Finding> = want.iter().take(3).cloned().collect();
        assert_eq!(findings(store, &limited), want3, "filter {limited:?}");
        assert_eq!(
            store.count_findings(&limited).expect("count"),
            want.len() as u64,
            "count ignores the limit"
        );
    }
    assert!(
        non_trivial >= 15,
        "the data set exercises the filters ({non_trivial})"
    );
}

/// The `cve` filter matches whole ids, in any case, and nothing else.
pub fn cve_filter_is_exact(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let mut a = minimal_finding("cloud", SourceKind::Vm, "a1", 1);
    a.cves = vec!["CVE-2021-44228".to_owned()];
    let mut b = minimal_finding("cloud", SourceKind::Vm, "a1", 2);
    b.cves = vec!["CVE-2021-4".to_owned(), "CVE-2021-442280".to_owned()];
    let mut c = minimal_finding("cloud", SourceKind::Vm, "a1", 3);
    c.synopsis = Some("mentions CVE-2021-44228 in text".to_owned());
    c.plugin_name = Some("CVE-2021-44228".to_owned());
    apply(
        store,
        run,
        "cloud",
        &findings_batch(vec![a.clone(), b.clone(), c]),
    );
    let by = |cve: &str| {
        findings(
            store,
            &FindingFilter {
                cve: Some(cve.to_owned()),
                ..FindingFilter::default()
            },
        )
        .into_iter()
        .map(|f| f.plugin_id)
        .collect::<Vec<_>>()
    };
    assert_eq!(by("CVE-2021-44228"), vec![1]);
    assert_eq!(by("cve-2021-44228"), vec![1]);
    assert_eq!(by(" CVE-2021-44228 "), vec![1]);
    assert_eq!(by("CVE-2021-4"), vec![2]);
    assert_eq!(by("CVE-2021-442280"), vec![2]);
    assert_eq!(by("CVE-2021-4422"), Vec::<i64>::new());
    assert_eq!(by("2021-44228"), Vec::<i64>::new());
    assert_eq!(by("\"CVE-2021-44228\""), Vec::<i64>::new());
    assert_eq!(by(","), Vec::<i64>::new());
}

/// Asset filters: sources, case-insensitive search over name, host names, FQDNs, IPv4s and
/// MACs (and nothing else), deleted assets, runs, limits.
pub fn asset_filters(store: &mut dyn Store) {
    let run1 = begin(store, "cloud", SourceKind::Vm);
    let mut web = full_asset("cloud", SourceKind::Vm, "a-web");
    web.name = Some("Web-01.Corp.Example".to_owned());
    web.hostnames = vec!["WEB-01".to_owned()];
    web.fqdns = vec!["web-01.corp.example".to_owned()];
    web.ipv4s = vec!["10.0.0.5".to_owned()];
    web.macs = vec!["aa:bb:cc:dd:ee:ff".to_owned()];
    web.vendor = Some("Siemens".to_owned());
    web.operating_systems = vec!["Windows".to_owned()];
    let mut db = minimal_asset("cloud", "a-db");
    db.hostnames = vec!["db-01".to_owned()];
    db.ipv4s = vec!["10.0.0.50".to_owned()];
    let mut uber = minimal_asset("cloud", "a-uber");
    uber.name = Some("Überwachung-Kamera".to_owned());
    let mut mac_only = minimal_asset("cloud", "a-mac");
    mac_only.macs = vec!["00:50:56:a6:55:8c".to_owned()];
    apply(
        store,
        run1,
        "cloud",
        &assets_batch(vec![
            web.clone(),
            db.clone(),
            uber.clone(),
            mac_only.clone(),
        ]),
    );
    let run2 = begin(store, "plant", SourceKind::Ot);
    let plc = Asset {
        name: Some("PLC web gateway".to_owned()),
        ..minimal_asset("plant", "p-1")
    };
    apply(store, run2, "plant", &assets_batch(vec![plc.clone()]));
    let batch = Batch {
        deleted_assets: vec![("p-gone".to_owned(), ts(5, 0))],
        ..Batch::default()
    };
    apply(store, run2, "plant", &batch);

    let ids = |filter: AssetFilter| {
        assets(store, &filter)
            .into_iter()
            .map(|a| format!("{}/{}", a.source, a.id))
            .collect::<Vec<_>>()
    };
    let search = |s: &str| AssetFilter {
        search: Some(s.to_owned()),
        ..AssetFilter::default()
    };
    assert_eq!(
        ids(AssetFilter::default()),
        [
            "cloud/a-db",
            "cloud/a-mac",
            "cloud/a-uber",
            "cloud/a-web",
            "plant/p-1"
        ]
    );
    assert_eq!(
        ids(AssetFilter {
            include_deleted: true,
            ..AssetFilter::default()
        }),
        [
            "cloud/a-db",
            "cloud/a-mac",
            "cloud/a-uber",
            "cloud/a-web",
            "plant/p-1",
            "plant/p-gone"
        ]
    );
    assert_eq!(
        ids(AssetFilter {
            sources: vec!["plant".to_owned()],
            ..AssetFilter::default()
        }),
        ["plant/p-1"]
    );
    assert_eq!(ids(search("web-01")), ["cloud/a-web"]);
    assert_eq!(ids(search("WEB")), ["cloud/a-web", "plant/p-1"]);
    assert_eq!(ids(search("corp.EXAMPLE")), ["cloud/a-web"]);
    assert_eq!(ids(search("10.0.0.5")), ["cloud/a-db", "cloud/a-web"]);
    assert_eq!(ids(search("10.0.0.50")), ["cloud/a-db"]);
    assert_eq!(ids(search("AA:BB:CC")), ["cloud/a-web"]);
    assert_eq!(ids(search("56:a6")), ["cloud/a-mac"]);
    assert_eq!(ids(search("ÜBERWACHUNG")), ["cloud/a-uber"]);
    assert_eq!(
        ids(search("siemens")),
        Vec::<String>::new(),
        "vendor is not searched"
    );
    assert_eq!(
        ids(search("windows")),
        Vec::<String>::new(),
        "OS is not searched"
    );
    assert_eq!(ids(search("%")), Vec::<String>::new(), "no wildcards");
    assert_eq!(ids(search("_")), Vec::<String>::new(), "no wildcards");
    assert_eq!(
        ids(search("")).len(),
        5,
        "an empty search matches everything"
    );
    assert_eq!(
        ids(AssetFilter {
            search: Some("web".to_owned()),
            sources: vec!["plant".to_owned()],
            ..AssetFilter::default()
        }),
        ["plant/p-1"]
    );
    assert_eq!(
        ids(AssetFilter {
            run: Some(run1),
            ..AssetFilter::default()
        })
        .len(),
        4
    );
    assert_eq!(
        ids(AssetFilter {
            run: Some(run2),
            include_deleted: true,
            ..AssetFilter::default()
        }),
        ["plant/p-1", "plant/p-gone"]
    );
    assert_eq!(
        ids(AssetFilter {
            limit: Some(2),
            ..AssetFilter::default()
        }),
        ["cloud/a-db", "cloud/a-mac"]
    );
    assert_eq!(
        ids(AssetFilter {
            limit: Some(0),
            ..AssetFilter::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        store
            .count_assets(&AssetFilter {
                limit: Some(1),
                ..AssetFilter::default()
            })
            .expect("count"),
        5
    );
}

/// Streams are ordered by `(source, id)` (byte order of the UTF-8 text) whatever the write
/// order, and `limit` takes a prefix of that order.
pub fn ordering_and_limit(store: &mut dyn Store) {
    let ids = ["b", "a", "Z", "a:10", "a:9", "ä", "aa", "A", "0", "a-b"];
    let mut want = Vec::new();
    for source in ["src-b", "src-a", "Src"] {
        let run = begin(store, source, SourceKind::Vm);
        let mut batch = Vec::new();
        for id in ids {
            let mut f = minimal_finding(source, SourceKind::Vm, "asset", 1);
            f.id = id.to_owned();
            batch.push(f.clone());
            want.push(f);
        }
        apply(store, run, source, &findings_batch(batch));
        let assets_in = ids.iter().map(|id| minimal_asset(source, id)).collect();
        apply(store, run, source, &assets_batch(assets_in));
    }
    want.sort_by(|a, b| {
        (a.source.as_bytes(), a.id.as_bytes()).cmp(&(b.source.as_bytes(), b.id.as_bytes()))
    });
    let key = |f: &Finding| (f.source.clone(), f.id.clone());
    let got = all_findings(store);
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>()
    );
    let got_assets: Vec<(String, String)> = all_assets(store)
        .into_iter()
        .map(|a| (a.source, a.id))
        .collect();
    assert_eq!(got_assets, want.iter().map(key).collect::<Vec<_>>());

    for n in [0_u64, 1, 7, 30, 31, 1000] {
        let got = findings(
            store,
            &FindingFilter {
                limit: Some(n),
                ..FindingFilter::default()
            },
        );
        let expect: Vec<(String, String)> = want.iter().take(n as usize).map(key).collect();
        assert_eq!(got.iter().map(key).collect::<Vec<_>>(), expect, "limit {n}");
    }
}

/// A callback error stops the walk and is returned as is.
pub fn callback_error_stops_the_walk(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let rows: Vec<Finding> = (0..10)
        .map(|i| minimal_finding("cloud", SourceKind::Vm, "a", i))
        .collect();
    apply(store, run, "cloud", &findings_batch(rows));
    let assets_in = (0..10)
        .map(|i| minimal_asset("cloud", &format!("a{i}")))
        .collect();
    apply(store, run, "cloud", &assets_batch(assets_in));

    let mut seen = 0;
    let r = store.for_each_finding(&FindingFilter::default(), &mut |_| {
        seen += 1;
        if seen == 3 {
            Err(Error::Callback("stop here".to_owned()))
        } else {
            Ok(())
        }
    });
    assert!(
        matches!(r, Err(Error::Callback(ref m)) if m == "stop here"),
        "{r:?}"
    );
    assert_eq!(seen, 3);
    let mut seen = 0;
    let r = store.for_each_asset(&AssetFilter::default(), &mut |_| {
        seen += 1;
        Err(Error::Callback("first".to_owned()))
    });
    assert!(
        matches!(r, Err(Error::Callback(ref m)) if m == "first"),
        "{r:?}"
    );
    assert_eq!(seen, 1);
    // The store is usable after an interrupted walk.
    assert_eq!(all_findings(store).len(), 10);
}

/// Runs: begin → running; finish with a report → stored as given; list newest first.
pub fn runs_lifecycle(store: &mut dyn Store) {
    let before = Utc::now();
    let r1 = begin(store, "cloud", SourceKind::Vm);
    let r2 = store
        .begin_run("sc-prod", SourceKind::Sc, RunMode::Incremental)
        .expect("begin");
    let r3 = begin(store, "cloud", SourceKind::Vm);
    assert!(r1 < r2 && r2 < r3, "run ids increase: {r1} {r2} {r3}");

    let runs = store.list_runs(None, 10).expect("list_runs");
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r3, r2, r1]
    );
    let first = &runs[2];
    assert_eq!(first.source, "cloud");
    assert_eq!(first.kind, SourceKind::Vm);
    assert_eq!(first.mode, RunMode::Full);
    assert_eq!(first.status, RunStatus::Running);
    assert_eq!(first.finished_at, None);
    assert_eq!(
        (first.assets, first.findings, first.deleted_assets),
        (Tally::default(), Tally::default(), 0)
    );
    assert_eq!(first.message, None);
    assert!(
        first.started_at >= before - chrono::Duration::seconds(1),
        "started_at is now"
    );
    assert_eq!(runs[1].mode, RunMode::Incremental);
    assert_eq!(runs[1].kind, SourceKind::Sc);

    let report = RunReport {
        status: Some(RunStatus::Partial),
        assets: Tally {
            expected: Some(120),
            stored: 118,
        },
        findings: Tally {
            expected: None,
            stored: 5_000_000,
        },
        events: Tally {
            expected: Some(40),
            stored: 39,
        },
        deleted_assets: 3,
        message: Some("chunk 7 failed: HTTP 500 — «retry later»".to_owned()),
        details: json!({"export": "8f3a", "chunks": {"ok": [1, 2], "failed": [7]}, "ratio": 0.5}),
    };
    store.finish_run(r1, &report).expect("finish_run");
    let got = store.list_runs(Some("cloud"), 10).expect("list_runs");
    assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r3, r1]);
    let done = &got[1];
    assert_eq!(done.status, RunStatus::Partial);
    assert_eq!(done.assets, report.assets);
    assert_eq!(done.findings, report.findings);
    assert_eq!(done.deleted_assets, 3);
    assert_eq!(done.message, report.message);
    assert_eq!(done.details, report.details);
    let finished = done.finished_at.expect("finished_at is set");
    assert!(finished >= done.started_at);

    for bad in [None, Some(RunStatus::Running)] {
        let report = RunReport {
            status: bad,
            ..RunReport::default()
        };
        assert_config_error(
            store.finish_run(r3, &report),
            "finish without a final status",
        );
    }
    assert_eq!(
        store.list_runs(None, 1).expect("list")[0].status,
        RunStatus::Running
    );
    match store.finish_run(RunId(424_242), &succeeded()) {
        Err(Error::NotFound(msg)) => assert!(msg.contains("424242"), "{msg}"),
        other => panic!("finishing an unknown run: expected NotFound, got {other:?}"),
    }
    store
        .finish_run(
            r2,
            &RunReport {
                status: Some(RunStatus::Failed),
                ..RunReport::default()
            },
        )
        .expect("finish");
    let r2rec = store
        .list_runs(Some("sc-prod"), 10)
        .expect("list")
        .remove(0);
    assert_eq!(
        (r2rec.status, r2rec.message, r2rec.details),
        (RunStatus::Failed, None, serde_json::Value::Null)
    );

    assert_eq!(store.list_runs(None, 2).expect("list").len(), 2);
    assert!(store.list_runs(None, 0).expect("list").is_empty());
    assert!(
        store
            .list_runs(Some("nobody"), 10)
            .expect("list")
            .is_empty()
    );
}

/// `close_stale_runs` fails the source's running runs only, with the message.
pub fn close_stale_runs_fails_running_runs(store: &mut dyn Store) {
    let a1 = begin(store, "cloud", SourceKind::Vm);
    let a2 = begin(store, "cloud", SourceKind::Vm);
    let finished = begin(store, "cloud", SourceKind::Vm);
    store.finish_run(finished, &succeeded()).expect("finish");
    let other = begin(store, "sc-prod", SourceKind::Sc);

    let n = store
        .close_stale_runs("cloud", "process died")
        .expect("close_stale_runs");
    assert_eq!(n, 2);
    let runs = store.list_runs(None, 10).expect("list");
    let by_id = |id: RunId| runs.iter().find(|r| r.id == id).expect("run listed");
    for id in [a1, a2] {
        let r = by_id(id);
        assert_eq!(r.status, RunStatus::Failed);
        assert_eq!(r.message.as_deref(), Some("process died"));
        assert!(r.finished_at.is_some());
    }
    assert_eq!(by_id(finished).status, RunStatus::Succeeded);
    assert_eq!(by_id(finished).message, None);
    assert_eq!(by_id(other).status, RunStatus::Running);
    assert_eq!(store.close_stale_runs("cloud", "again").expect("close"), 0);
    assert_config_error(
        store.apply_batch(
            a1,
            "cloud",
            &findings_batch(vec![minimal_finding("cloud", SourceKind::Vm, "a", 1)]),
        ),
        "batch of a closed run",
    );
}

/// The `run` filter counts the rows a run wrote last.
pub fn run_scoped_counts(store: &mut dyn Store) {
    let run1 = begin(store, "cloud", SourceKind::Vm);
    let f = |asset: &str, p: i64| minimal_finding("cloud", SourceKind::Vm, asset, p);
    let batch = Batch {
        findings: [f("a1", 1), f("a1", 2), f("a2", 1)]
            .into_iter()
            .map(finding_row)
            .collect(),
        assets: vec![
            asset_row(minimal_asset("cloud", "a1")),
            asset_row(minimal_asset("cloud", "a2")),
        ],
        ..Batch::default()
    };
    apply(store, run1, "cloud", &batch);
    store.finish_run(run1, &succeeded()).expect("finish");

    let run2 = begin(store, "cloud", SourceKind::Vm);
    let batch = Batch {
        findings: [f("a1", 2), f("a3", 1)]
            .into_iter()
            .map(finding_row)
            .collect(),
        assets: vec![asset_row(minimal_asset("cloud", "a2"))],
        deleted_assets: vec![("a1".to_owned(), ts(1_700_000_000, 0))],
        ..Batch::default()
    };
    apply(store, run2, "cloud", &batch);

    let fc = |r: RunId| {
        store
            .count_findings(&FindingFilter {
                run: Some(r),
                ..FindingFilter::default()
            })
            .expect("count")
    };
    let ac = |r: RunId, include_deleted: bool| {
        store
            .count_assets(&AssetFilter {
                run: Some(r),
                include_deleted,
                ..AssetFilter::default()
            })
            .expect("count")
    };
    assert_eq!((fc(run1), fc(run2)), (2, 2));
    assert_eq!(
        store
            .count_findings(&FindingFilter::default())
            .expect("count"),
        4
    );
    assert_eq!(
        (ac(run1, true), ac(run2, true)),
        (0, 2),
        "a deletion mark is a write of the run"
    );
    assert_eq!(ac(run2, false), 1);
}

/// The backend's own health check passes on a store that was written to.
pub fn integrity_check_passes(store: &mut dyn Store) {
    store
        .integrity_check()
        .expect("integrity_check on an empty store");
    let run = begin(store, "cloud", SourceKind::Vm);
    let rows = (0..50)
        .map(|i| full_finding("cloud", SourceKind::Vm, &format!("a{i}"), i))
        .collect();
    apply(store, run, "cloud", &findings_batch(rows));
    apply(
        store,
        run,
        "cloud",
        &assets_batch(vec![full_asset("cloud", SourceKind::Vm, "a1")]),
    );
    store
        .integrity_check()
        .expect("integrity_check after writes");
}

/// An event with every field set.
pub fn full_event(source: &str, id: &str, secs: i64) -> Event {
    Event {
        source: source.to_owned(),
        kind: SourceKind::Ot,
        id: id.to_owned(),
        time: Some(ts(secs, 123_456_000)),
        event_type: Some("OpenPort".to_owned()),
        category: Some("NetworkEvents".to_owned()),
        severity: Some(Severity::High),
        description: Some("Port opened — «unexpected»".to_owned()),
        policy: Some("Open ports on controllers".to_owned()),
        src_ip: Some("10.1.2.3".to_owned()),
        dst_ip: Some("10.1.2.4".to_owned()),
        src_mac: Some("00:1d:9c:aa:bb:cc".to_owned()),
        dst_mac: Some("00:1d:9c:aa:bb:cd".to_owned()),
        protocol: Some("modbus (tcp/502)".to_owned()),
        port: Some(502),
        asset_ids: vec!["a-1".to_owned(), "a-2".to_owned()],
        resolved: false,
    }
}

fn events(store: &dyn Store, filter: &EventFilter) -> Vec<Event> {
    let mut out = Vec::new();
    store
        .for_each_event(filter, &mut |e| {
            out.push(e);
            Ok(())
        })
        .expect("for_each_event");
    out
}

/// Events: every field round-trips (and an all-`None` one), raw JSON is kept, an upsert by
/// id replaces, filters (source, since, run, limit) and ordering by time hold, validation
/// rules apply to events, and a run's report keeps its event tally.
pub fn events_round_trip_filter_and_tally(store: &mut dyn Store) {
    let run = begin(store, "plant", SourceKind::Ot);
    let full = full_event("plant", "e-2", 1_700_000_200);
    let bare = Event {
        time: None,
        event_type: None,
        category: None,
        severity: None,
        description: None,
        policy: None,
        src_ip: None,
        dst_ip: None,
        src_mac: None,
        dst_mac: None,
        protocol: None,
        port: None,
        asset_ids: Vec::new(),
        ..full_event("plant", "e-9", 0)
    };
    let early = full_event("plant", "e-1", 1_700_000_100);
    let batch = Batch {
        events: vec![
            EventRow {
                event: full.clone(),
                raw: r#"{"id":"e-2","logId":7}"#.into(),
            },
            EventRow {
                event: bare.clone(),
                raw: "".into(),
            },
            EventRow {
                event: early.clone(),
                raw: r#"{"id":"e-1"}"#.into(),
            },
        ],
        ..Batch::default()
    };
    let out = apply(store, run, "plant", &batch);
    assert_eq!(out.events, 3, "events stored");
    assert_eq!(
        store.count_events(&EventFilter::default()).expect("count"),
        3
    );
    // Ordered by time (none first), then id.
    let all = events(store, &EventFilter::default());
    assert_eq!(all, vec![bare.clone(), early.clone(), full.clone()]);
    assert_eq!(
        store.raw_event("plant", "e-2").expect("raw"),
        Some(json!({"id": "e-2", "logId": 7}))
    );
    assert_eq!(
        store.raw_event("plant", "e-9").expect("raw"),
        Some(serde_json::Value::Null)
    );
    assert_eq!(store.raw_event("plant", "nope").expect("raw"), None);

    // Filters.
    let since = EventFilter {
        since: Some(ts(1_700_000_150, 0)),
        ..EventFilter::default()
    };
    assert_eq!(events(store, &since), vec![full.clone()]);
    let limited = EventFilter {
        limit: Some(2),
        ..EventFilter::default()
    };
    assert_eq!(events(store, &limited).len(), 2);
    let other = EventFilter {
        sources: vec!["elsewhere".to_owned()],
        ..EventFilter::default()
    };
    assert_eq!(store.count_events(&other).expect("count"), 0);
    store.finish_run(run, &succeeded()).expect("finish");

    // A second run resolves one event: replaced in place, counted for that run only.
    let run2 = begin(store, "plant", SourceKind::Ot);
    let resolved = Event {
        resolved: true,
        ..full.clone()
    };
    apply(
        store,
        run2,
        "plant",
        &Batch {
            events: vec![EventRow {
                event: resolved.clone(),
                raw: r#"{"id":"e-2","resolved":true}"#.into(),
            }],
            ..Batch::default()
        },
    );
    assert_eq!(store.count_events(&EventFilter::default()).expect("n"), 3);
    let by_run = EventFilter {
        run: Some(run2),
        ..EventFilter::default()
    };
    assert_eq!(events(store, &by_run), vec![resolved]);

    // Validation: an event of another source or kind, or with an empty id, is refused.
    let wrong_source = Batch {
        events: vec![EventRow {
            event: full_event("other", "x", 1),
            raw: "".into(),
        }],
        ..Batch::default()
    };
    assert_config_error(store.apply_batch(run2, "plant", &wrong_source), "source");
    let wrong_kind = Batch {
        events: vec![EventRow {
            event: Event {
                kind: SourceKind::Vm,
                ..full_event("plant", "x", 1)
            },
            raw: "".into(),
        }],
        ..Batch::default()
    };
    assert_config_error(store.apply_batch(run2, "plant", &wrong_kind), "kind");
    let empty_id = Batch {
        events: vec![EventRow {
            event: full_event("plant", "", 1),
            raw: "".into(),
        }],
        ..Batch::default()
    };
    assert_config_error(store.apply_batch(run2, "plant", &empty_id), "empty id");

    // The run report keeps its event tally.
    let report = RunReport {
        events: Tally {
            expected: Some(1),
            stored: 1,
        },
        ..succeeded()
    };
    store.finish_run(run2, &report).expect("finish");
    let runs = store.list_runs(Some("plant"), 1).expect("runs");
    assert_eq!(
        runs[0].events,
        Tally {
            expected: Some(1),
            stored: 1
        }
    );
}

/// A raw record shaped like a VM export finding: asset, output, the whole plugin, port.
pub fn vm_like_raw(asset: &str, plugin_id: i64, output: &str, pretty: bool) -> String {
    let v = json!({
        "asset": {"uuid": asset, "ipv4": "10.0.0.7", "hostname": "plc-7"},
        "output": output,
        "plugin": {
            "id": plugin_id,
            "name": format!("Plugin {plugin_id} — «détails»"),
            "description": "A long description with \"quotes\", {braces}, [brackets] and \\ slashes.",
            "cve": ["CVE-2024-0001"],
            "vpr": {"score": 6.7, "drivers": {"age_of_vuln": {"lower_bound": 0}}},
        },
        "port": {"port": 443, "protocol": "TCP"},
        "state": "OPEN",
    });
    if pretty {
        serde_json::to_string_pretty(&v).expect("json")
    } else {
        v.to_string()
    }
}

/// Raw records whose `plugin` member repeats across findings read back exactly as written,
/// whichever way a backend stores the repeated part; so do records without one, an updated
/// record, and one whose plugin member is too small to share.
pub fn raw_with_a_plugin_member_round_trips(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let mut rows = Vec::new();
    for i in 0..40 {
        let plugin = 1000 + i % 3;
        let f = minimal_finding("cloud", SourceKind::Vm, &format!("a{i:02}"), plugin);
        let raw = vm_like_raw(&f.asset_id, plugin, &format!("output {i}\n"), i % 7 == 0);
        rows.push(FindingRow {
            finding: f,
            raw: raw.into(),
        });
    }
    let small = minimal_finding("cloud", SourceKind::Vm, "small", 1000);
    rows.push(FindingRow {
        finding: small,
        raw: r#"{"plugin": {"id": 1000}, "output": "tiny"}"#.into(),
    });
    let batch = Batch {
        findings: rows.clone(),
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    for r in &rows {
        let want: serde_json::Value = serde_json::from_str(&r.raw).expect("test json");
        assert_eq!(
            store.raw_finding("cloud", &r.finding.id).expect("raw"),
            Some(want),
            "{}",
            r.finding.id
        );
    }
    // A second version of one record (new output, same plugin) replaces the first.
    let mut again = rows[4].clone();
    again.raw = vm_like_raw(&again.finding.asset_id, 1001, "changed", false).into();
    apply(
        store,
        run,
        "cloud",
        &Batch {
            findings: vec![again.clone()],
            ..Batch::default()
        },
    );
    let want: serde_json::Value = serde_json::from_str(&again.raw).expect("json");
    assert_eq!(
        store.raw_finding("cloud", &again.finding.id).expect("raw"),
        Some(want)
    );
}

/// Finding history: changes of state are recorded with the run and the source's time, an
/// asset's deletion makes all its findings `gone`, the first appearance is implied by the
/// row; `as_of` rebuilds the states at any past time; remediation figures (open, past SLA,
/// fixed, mean time to remediate) are exact.
pub fn history_as_of_and_remediation(store: &mut dyn Store) {
    let t = |secs: i64| ts(secs, 0);
    let finding = |asset: &str, plugin: i64, sev: Severity, state: FindingState| Finding {
        severity: sev,
        state,
        first_found: Some(t(200)),
        last_found: Some(t(200)),
        ..minimal_finding("cloud", SourceKind::Vm, asset, plugin)
    };
    // Run 1: A and B open (found at 200), C stored already fixed (found 100, fixed 300).
    let a = finding("x", 1, Severity::Critical, FindingState::Open);
    let b = finding("y", 2, Severity::High, FindingState::Open);
    let c = Finding {
        first_found: Some(t(100)),
        last_fixed: Some(t(300)),
        ..finding("x", 3, Severity::Critical, FindingState::Fixed)
    };
    // D on B's asset, found at 200 and already fixed at 250.
    let d = Finding {
        last_fixed: Some(t(250)),
        ..finding("y", 4, Severity::Low, FindingState::Fixed)
    };
    let run1 = begin(store, "cloud", SourceKind::Vm);
    apply(
        store,
        run1,
        "cloud",
        &findings_batch(vec![a.clone(), b.clone(), c.clone(), d.clone()]),
    );
    store.finish_run(run1, &succeeded()).expect("finish");
    // Run 2: A fixed at 400; B seen again unchanged; B's asset deleted at 500.
    let a_fixed = Finding {
        state: FindingState::Fixed,
        last_fixed: Some(t(400)),
        ..a.clone()
    };
    let run2 = begin(store, "cloud", SourceKind::Vm);
    apply(
        store,
        run2,
        "cloud",
        &findings_batch(vec![a_fixed, b.clone()]),
    );
    let deletion = Batch {
        deleted_assets: vec![("y".to_owned(), t(500))],
        ..Batch::default()
    };
    apply(store, run2, "cloud", &deletion);
    // Deleting it again is no news.
    apply(store, run2, "cloud", &deletion);
    store.finish_run(run2, &succeeded()).expect("finish");
    // Run 3: A seen again at 600.
    let a_back = Finding {
        state: FindingState::Reopened,
        last_found: Some(t(600)),
        last_fixed: Some(t(400)),
        ..a.clone()
    };
    let run3 = begin(store, "cloud", SourceKind::Vm);
    apply(store, run3, "cloud", &findings_batch(vec![a_back]));
    store.finish_run(run3, &succeeded()).expect("finish");

    let tr = |secs, run, change, state| Transition {
        at: t(secs),
        run,
        change,
        state,
    };
    assert_eq!(
        store.finding_history("cloud", &a.id).expect("history"),
        vec![
            tr(200, run1, Change::New, FindingState::Open),
            tr(400, run2, Change::Fixed, FindingState::Fixed),
            tr(600, run3, Change::Reopened, FindingState::Reopened),
        ]
    );
    assert_eq!(
        store.finding_history("cloud", &b.id).expect("history"),
        vec![
            tr(200, run1, Change::New, FindingState::Open),
            tr(500, run2, Change::Gone, FindingState::Open),
        ]
    );
    assert_eq!(
        store.finding_history("cloud", &c.id).expect("history"),
        vec![
            tr(100, run1, Change::New, FindingState::Open),
            tr(300, run1, Change::Fixed, FindingState::Fixed),
        ]
    );
    assert_eq!(
        store.finding_history("cloud", &d.id).expect("history"),
        vec![
            tr(200, run1, Change::New, FindingState::Open),
            tr(250, run1, Change::Fixed, FindingState::Fixed),
            tr(500, run2, Change::Gone, FindingState::Fixed),
        ]
    );
    assert_eq!(
        store.finding_history("cloud", "nope").expect("history"),
        vec![]
    );

    let as_of = |secs: i64, states: Vec<FindingState>| -> Vec<(String, FindingState)> {
        let filter = FindingFilter {
            as_of: Some(t(secs)),
            states,
            ..FindingFilter::default()
        };
        let got: Vec<(String, FindingState)> = findings(store, &filter)
            .into_iter()
            .map(|f| (f.id, f.state))
            .collect();
        assert_eq!(
            store.count_findings(&filter).expect("count"),
            got.len() as u64,
            "count as of {secs}"
        );
        got
    };
    use FindingState::{Fixed, Open, Reopened};
    let (ia, ib, ic, id) = (a.id.clone(), b.id.clone(), c.id.clone(), d.id.clone());
    let sorted = |mut v: Vec<(String, FindingState)>| {
        v.sort();
        v
    };
    assert_eq!(as_of(50, vec![]), vec![]);
    assert_eq!(as_of(150, vec![]), vec![(ic.clone(), Open)]);
    assert_eq!(
        as_of(250, vec![]),
        sorted(vec![
            (ia.clone(), Open),
            (ib.clone(), Open),
            (ic.clone(), Open),
            (id.clone(), Fixed)
        ])
    );
    assert_eq!(
        as_of(350, vec![]),
        sorted(vec![
            (ia.clone(), Open),
            (ib.clone(), Open),
            (ic.clone(), Fixed),
            (id.clone(), Fixed)
        ])
    );
    assert_eq!(
        as_of(450, vec![]),
        sorted(vec![
            (ia.clone(), Fixed),
            (ib.clone(), Open),
            (ic.clone(), Fixed),
            (id.clone(), Fixed)
        ])
    );
    assert_eq!(as_of(450, vec![Open]), vec![(ib.clone(), Open)]);
    assert_eq!(
        as_of(550, vec![]),
        sorted(vec![(ia.clone(), Fixed), (ic.clone(), Fixed)])
    );
    assert_eq!(
        as_of(650, vec![]),
        sorted(vec![(ia.clone(), Reopened), (ic.clone(), Fixed)])
    );
    // The present state is untouched by a walk into the past.
    let now: Vec<FindingState> = all_findings(store).into_iter().map(|f| f.state).collect();
    assert_eq!(now.len(), 4);

    // Remediation 16 days after 600: A (critical, open since 200) is past its 15 days; B
    // (high, 30 days) is not; C was fixed 200 s after it was found.
    let now = t(600 + 16 * 86_400);
    let stats = store.remediation(&[], &Sla::default(), now).expect("stats");
    assert_eq!(
        stats,
        vec![
            RemediationStat {
                source: "cloud".to_owned(),
                severity: Severity::Critical,
                open: 1,
                past_sla: 1,
                sla_days: Some(15),
                fixed: 1,
                mean_days_to_remediate: Some(200.0 / 86_400.0),
            },
            RemediationStat {
                source: "cloud".to_owned(),
                severity: Severity::High,
                open: 1,
                past_sla: 0,
                sla_days: Some(30),
                fixed: 0,
                mean_days_to_remediate: None,
            },
            RemediationStat {
                source: "cloud".to_owned(),
                severity: Severity::Low,
                open: 0,
                past_sla: 0,
                sla_days: Some(180),
                fixed: 1,
                mean_days_to_remediate: Some(50.0 / 86_400.0),
            },
        ]
    );
    let strict = Sla {
        days: [None, None, None, Some(0), None],
    };
    let stats = store
        .remediation(&["cloud".to_owned()], &strict, now)
        .expect("stats");
    assert_eq!(stats[1].past_sla, 1, "high with 0 days");
    assert_eq!(stats[0].past_sla, 0, "critical without a deadline");
    assert!(
        store
            .remediation(&["other".to_owned()], &strict, now)
            .expect("stats")
            .is_empty()
    );
}

/// A correlation stored: unified ids on assets and on their findings, links replaced as a
/// whole, filters by unified id, assets streamed with their raw JSON; storing the same
/// correlation again changes nothing.
pub fn correlation_is_stored(store: &mut dyn Store) {
    let run = begin(store, "cloud", SourceKind::Vm);
    let batch = Batch {
        assets: vec![
            asset_row(minimal_asset("cloud", "a1")),
            asset_row(minimal_asset("cloud", "a2")),
        ],
        findings: vec![
            finding_row(minimal_finding("cloud", SourceKind::Vm, "a1", 1)),
            finding_row(minimal_finding("cloud", SourceKind::Vm, "a1", 2)),
            finding_row(minimal_finding("cloud", SourceKind::Vm, "a2", 1)),
        ],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    store.finish_run(run, &succeeded()).expect("finish");
    let run = begin(store, "sc", SourceKind::Sc);
    let sc = Batch {
        assets: vec![asset_row(minimal_asset("sc", "h1"))],
        ..Batch::default()
    };
    apply(store, run, "sc", &sc);
    store.finish_run(run, &succeeded()).expect("finish");

    let assign = |source: &str, id: &str, u: &str| Assignment {
        source: source.to_owned(),
        id: id.to_owned(),
        unified_id: u.to_owned(),
    };
    let assignments = vec![
        assign("cloud", "a1", "u-1"),
        assign("sc", "h1", "u-1"),
        assign("cloud", "a2", "u-2"),
        assign("cloud", "unknown", "u-9"),
    ];
    let link = UnifiedLink {
        unified_id: "u-1".to_owned(),
        a: ("cloud".to_owned(), "a1".to_owned()),
        b: ("sc".to_owned(), "h1".to_owned()),
        evidence: serde_json::value::to_raw_value(
            &json!([{"kind": "mac", "mac": "00:1a:2b:3c:4d:5e"}]),
        )
        .expect("evidence"),
    };
    let w = store
        .apply_correlation(&assignments, std::slice::from_ref(&link))
        .expect("store correlation");
    assert_eq!(
        w,
        CorrelationWrite {
            assets_changed: 3,
            links: 1
        }
    );
    let again = store
        .apply_correlation(&assignments, std::slice::from_ref(&link))
        .expect("again");
    assert_eq!(again.assets_changed, 0, "no change");
    assert_eq!(store.unified_links("u-1").expect("links"), vec![link]);
    assert!(store.unified_links("u-2").expect("links").is_empty());
    let of_u1 = AssetFilter {
        unified_id: Some("u-1".to_owned()),
        ..AssetFilter::default()
    };
    let keys: Vec<(String, String)> = assets(store, &of_u1)
        .into_iter()
        .map(|a| (a.source, a.id))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("cloud".to_owned(), "a1".to_owned()),
            ("sc".to_owned(), "h1".to_owned())
        ]
    );
    let f_u1 = FindingFilter {
        unified_asset_id: Some("u-1".to_owned()),
        ..FindingFilter::default()
    };
    let found = findings(store, &f_u1);
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|f| f.asset_id == "a1" && f.unified_asset_id.as_deref() == Some("u-1"))
    );
    // The raw JSON comes along when asked for.
    let mut raws = Vec::new();
    store
        .for_each_asset_raw(&AssetFilter::default(), &mut |a, raw| {
            let raw: serde_json::Value =
                serde_json::from_str(raw.expect("raw kept")).expect("raw is JSON");
            raws.push((a.id, raw["record"]["id"].clone()));
            Ok(())
        })
        .expect("raw walk");
    assert_eq!(
        raws,
        vec![
            ("a1".to_owned(), json!("a1")),
            ("a2".to_owned(), json!("a2")),
            ("h1".to_owned(), json!("h1"))
        ]
    );
    // A new correlation replaces the links.
    store
        .apply_correlation(&assignments, &[])
        .expect("no links");
    assert!(store.unified_links("u-1").expect("links").is_empty());
}

/// Sync leases: one holder per source at a time, renewed by its holder only, released by its
/// holder only, taken over once expired; sources are independent.
pub fn leases_are_exclusive_and_expire(store: &mut dyn Store) {
    use std::time::Duration;
    let long = Duration::from_secs(3600);
    assert_eq!(store.lease("cloud").expect("lease"), None);
    let before = Utc::now();
    let a = match store
        .acquire_lease("cloud", "host-a:1", long)
        .expect("acquire")
    {
        LeaseAttempt::Acquired(l) => l,
        other => panic!("a free lease is taken: {other:?}"),
    };
    assert_eq!(
        (a.source.as_str(), a.holder.as_str()),
        ("cloud", "host-a:1")
    );
    assert!(
        a.expires_at > before + chrono::Duration::seconds(3500),
        "expires a ttl from now: {a:?}"
    );
    assert_eq!(store.lease("cloud").expect("lease"), Some(a.clone()));
    // Another holder is told who has it, and changes nothing.
    match store
        .acquire_lease("cloud", "host-b:2", long)
        .expect("acquire")
    {
        LeaseAttempt::Held(l) => assert_eq!(l.holder, "host-a:1"),
        other => panic!("a held lease is not taken: {other:?}"),
    }
    assert_eq!(
        store.renew_lease("cloud", "host-b:2", long).expect("renew"),
        None
    );
    assert!(!store.release_lease("cloud", "host-b:2").expect("release"));
    // The holder may take it again (a renewal) and renew it.
    assert!(matches!(
        store
            .acquire_lease("cloud", "host-a:1", long)
            .expect("again"),
        LeaseAttempt::Acquired(_)
    ));
    let renewed: Lease = store
        .renew_lease("cloud", "host-a:1", long)
        .expect("renew")
        .expect("still held");
    assert!(renewed.expires_at >= a.expires_at);
    // Other sources are independent.
    assert!(matches!(
        store
            .acquire_lease("sc-prod", "host-b:2", long)
            .expect("other source"),
        LeaseAttempt::Acquired(_)
    ));
    // Released, it is free.
    assert!(store.release_lease("cloud", "host-a:1").expect("release"));
    assert_eq!(store.lease("cloud").expect("lease"), None);
    assert!(matches!(
        store
            .acquire_lease("cloud", "host-b:2", Duration::from_millis(1))
            .expect("free"),
        LeaseAttempt::Acquired(_)
    ));
    // Expired (its holder died), it is taken over; the old holder cannot renew it then.
    std::thread::sleep(Duration::from_millis(30));
    match store
        .acquire_lease("cloud", "host-c:3", long)
        .expect("take over")
    {
        LeaseAttempt::Acquired(l) => assert_eq!(l.holder, "host-c:3"),
        other => panic!("an expired lease is taken over: {other:?}"),
    }
    assert_eq!(
        store.renew_lease("cloud", "host-b:2", long).expect("renew"),
        None
    );
    assert_eq!(
        store.lease("sc-prod").expect("lease").map(|l| l.holder),
        Some("host-b:2".to_owned())
    );
    assert_config_error(store.acquire_lease("", "x", long), "empty source");
    assert_config_error(store.acquire_lease("cloud", "", long), "empty holder");
}

/// Events and history entries are ordered by time as a time, whatever the number of digits
/// (or the sign) of its stored form.
pub fn times_order_as_times_not_as_text(store: &mut dyn Store) {
    let run = begin(store, "plant", SourceKind::Ot);
    let secs = [100, 5, -1, 40, 1_000_000_000, 9];
    let events: Vec<EventRow> = secs
        .iter()
        .enumerate()
        .map(|(i, s)| EventRow {
            event: full_event("plant", &format!("e{i}"), *s),
            raw: "".into(),
        })
        .collect();
    apply(
        store,
        run,
        "plant",
        &Batch {
            events,
            ..Batch::default()
        },
    );
    let got: Vec<i64> = events_of(store)
        .iter()
        .map(|e| e.time.expect("time").timestamp())
        .collect();
    assert_eq!(got, vec![-1, 5, 9, 40, 100, 1_000_000_000]);

    // A finding fixed at 100 s, reopened at 900 s, fixed at 1000 s: history in that order.
    let run = begin(store, "cloud", SourceKind::Vm);
    let mut f = minimal_finding("cloud", SourceKind::Vm, "a", 1);
    f.first_found = Some(ts(5, 0));
    apply(store, run, "cloud", &findings_batch(vec![f.clone()]));
    for (state, at) in [
        (FindingState::Fixed, 100),
        (FindingState::Reopened, 900),
        (FindingState::Fixed, 1000),
    ] {
        f.state = state;
        if state == FindingState::Fixed {
            f.last_fixed = Some(ts(at, 0));
        } else {
            f.last_found = Some(ts(at, 0));
        }
        apply(store, run, "cloud", &findings_batch(vec![f.clone()]));
    }
    let at: Vec<i64> = store
        .finding_history("cloud", &f.id)
        .expect("history")
        .iter()
        .map(|t| t.at.timestamp())
        .collect();
    assert_eq!(at, vec![5, 100, 900, 1000]);
}

fn events_of(store: &dyn Store) -> Vec<Event> {
    events(store, &EventFilter::default())
}

// ---------------------------------------------------------------------------------------------
// The read verbs of the REST API

/// Pages through `walk` with `limit`, each page starting after the key of the previous one's
/// last row, until a short page.
fn stitch<T: Clone, K>(
    limit: u64,
    key: impl Fn(&T) -> K,
    mut walk: impl FnMut(Option<K>, u64) -> Vec<T>,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    let mut after = None;
    loop {
        let page = walk(after.take(), limit);
        let n = page.len() as u64;
        assert!(n <= limit, "a page holds at most `limit` rows");
        out.extend(page);
        if n < limit {
            return out;
        }
        after = out.last().map(&key);
    }
}

/// Keyset pagination: `after` on findings (with filters and as of a time), assets and events
/// (with and without times) continues exactly after the given key, so that pages stitch to
/// the whole walk at any page size; counts ignore `after`.
pub fn keyset_pagination(store: &mut dyn Store) {
    let _ = dataset(store);
    let filters = [
        FindingFilter::default(),
        FindingFilter {
            states: vec![FindingState::Open, FindingState::Reopened],
            severities: vec![Severity::Critical, Severity::High, Severity::Info],
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: vec!["beta".to_owned()],
            as_of: Some(Utc::now()),
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: vec!["beta".to_owned(), "alpha".to_owned(), "gamma".to_owned()],
            severities: vec![Severity::Critical, Severity::Low],
            ..FindingFilter::default()
        },
        FindingFilter {
            sources: vec!["beta".to_owned(), "alpha".to_owned()],
            as_of: Some(Utc::now()),
            states: vec![FindingState::Fixed],
            ..FindingFilter::default()
        },
    ];
    for filter in &filters {
        let all = findings(store, filter);
        assert!(!all.is_empty());
        for limit in [1, 3, 1000] {
            let stitched = stitch(
                limit,
                |f: &Finding| (f.source.clone(), f.id.clone()),
                |after, limit| {
                    findings(
                        store,
                        &FindingFilter {
                            after,
                            limit: Some(limit),
                            ..filter.clone()
                        },
                    )
                },
            );
            assert_eq!(stitched, all, "findings at page size {limit}, {filter:?}");
        }
        let last = all.last().expect("rows");
        let past_end = FindingFilter {
            after: Some((last.source.clone(), last.id.clone())),
            ..filter.clone()
        };
        assert!(findings(store, &past_end).is_empty());
        assert_eq!(
            store.count_findings(&past_end).expect("count"),
            all.len() as u64,
            "count_findings ignores `after`"
        );
    }

    // Assets of two sources, one deleted.
    for (source, kind) in [("alpha", SourceKind::Vm), ("beta", SourceKind::Sc)] {
        let run = begin(store, source, kind);
        let batch = Batch {
            deleted_assets: vec![("gone".to_owned(), ts(1_700_000_000, 0))],
            ..assets_batch(
                (0..9)
                    .map(|i| minimal_asset(source, &format!("h{i}")))
                    .collect(),
            )
        };
        apply(store, run, source, &batch);
    }
    for (include_deleted, sources) in [
        (false, vec![]),
        (true, vec![]),
        (true, vec!["beta", "alpha"]),
    ] {
        let filter = AssetFilter {
            include_deleted,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            ..AssetFilter::default()
        };
        let all = assets(store, &filter);
        assert_eq!(all.len(), if include_deleted { 20 } else { 18 });
        for limit in [1, 4, 1000] {
            let stitched = stitch(
                limit,
                |a: &Asset| (a.source.clone(), a.id.clone()),
                |after, limit| {
                    assets(
                        store,
                        &AssetFilter {
                            after,
                            limit: Some(limit),
                            ..filter.clone()
                        },
                    )
                },
            );
            assert_eq!(stitched, all, "assets at page size {limit}");
        }
    }

    // Events: some without a time (first within their source), equal times ordered by id.
    for source in ["plant-a", "plant-b"] {
        let run = begin(store, source, SourceKind::Ot);
        let mut rows = Vec::new();
        for i in 0..7 {
            let mut e = full_event(source, &format!("e{i}"), 1_700_000_000 + (i as i64 % 3));
            if i % 4 == 0 {
                e.time = None;
            }
            rows.push(EventRow {
                raw: serde_json::to_string(&e).expect("json").into_boxed_str(),
                event: e,
            });
        }
        let batch = Batch {
            events: rows,
            ..Batch::default()
        };
        apply(store, run, source, &batch);
    }
    let all = events(store, &EventFilter::default());
    assert_eq!(all.len(), 14);
    for limit in [1, 2, 5, 1000] {
        let stitched = stitch(
            limit,
            |e: &Event| EventKey {
                source: e.source.clone(),
                time: e.time,
                id: e.id.clone(),
            },
            |after, limit| {
                events(
                    store,
                    &EventFilter {
                        after,
                        limit: Some(limit),
                        ..EventFilter::default()
                    },
                )
            },
        );
        assert_eq!(stitched, all, "events at page size {limit}");
    }
}

/// `get_finding` / `get_asset` read one record (deleted assets too) or `None`;
/// `data_version` moves with every write readers can see and stays put otherwise.
pub fn single_records_and_data_version(store: &mut dyn Store) {
    let v0 = store.data_version().expect("version");
    assert_eq!(
        store.data_version().expect("version"),
        v0,
        "reads change nothing"
    );
    let run = begin(store, "cloud", SourceKind::Vm);
    let v1 = store.data_version().expect("version");
    assert_ne!(v1, v0, "a run began");
    let f = full_finding("cloud", SourceKind::Vm, "a1", 19506);
    let a = full_asset("cloud", SourceKind::Vm, "a1");
    let batch = Batch {
        assets: vec![asset_row(a.clone())],
        findings: vec![finding_row(f.clone())],
        deleted_assets: vec![("a-gone".to_owned(), ts(1_700_000_000, 0))],
        ..Batch::default()
    };
    apply(store, run, "cloud", &batch);
    let v2 = store.data_version().expect("version");
    assert_ne!(v2, v1, "a batch was written");
    // A finding's unified asset is its asset's.
    let read_back = Finding {
        unified_asset_id: a.unified_id.clone(),
        ..f.clone()
    };
    assert_eq!(
        store.get_finding("cloud", &f.id).expect("get"),
        Some(read_back)
    );
    assert_eq!(store.get_finding("cloud", "nope").expect("get"), None);
    assert_eq!(store.get_finding("other", &f.id).expect("get"), None);
    assert_eq!(store.get_asset("cloud", "a1").expect("get"), Some(a));
    let gone = store
        .get_asset("cloud", "a-gone")
        .expect("get")
        .expect("a stub");
    assert!(gone.deleted_at.is_some());
    assert_eq!(store.get_asset("cloud", "nope").expect("get"), None);
    store.finish_run(run, &succeeded()).expect("finish");
    let v3 = store.data_version().expect("version");
    assert_ne!(v3, v2, "a run finished");
    store
        .apply_correlation(
            &[Assignment {
                source: "cloud".to_owned(),
                id: "a1".to_owned(),
                unified_id: "u-1".to_owned(),
            }],
            &[],
        )
        .expect("correlate");
    let v4 = store.data_version().expect("version");
    assert_ne!(v4, v3, "a correlation was stored");
    let _ = store
        .list_unified_assets(&UnifiedFilter::default())
        .expect("list");
    let _ = store.source_stats().expect("stats");
    assert_eq!(store.data_version().expect("version"), v4);
}

/// Unified assets listed and summarised over their live records; counts by source, severity
/// and state; top CVEs; top unified assets by score; per-source figures.
pub fn unified_assets_and_aggregates(store: &mut dyn Store) {
    let named = |source: &str, id: &str, name: &str, ip: &str| Asset {
        name: Some(name.to_owned()),
        hostnames: vec![name.to_uppercase()],
        ipv4s: vec![ip.to_owned()],
        ..minimal_asset(source, id)
    };
    let finding =
        |source: &str, kind, asset: &str, plugin: i64, sev, state, cves: &[&str]| Finding {
            severity: sev,
            state,
            cves: cves.iter().map(|c| (*c).to_owned()).collect(),
            ..minimal_finding(source, kind, asset, plugin)
        };
    let (vm, sc) = (SourceKind::Vm, SourceKind::Sc);
    use FindingState::{Fixed, Open, Reopened};
    use Severity::{Critical, High, Low, Medium};
    let run = begin(store, "cloud", vm);
    let batch = Batch {
        deleted_assets: vec![("a3".to_owned(), ts(1_700_000_000, 0))],
        findings: vec![
            finding_row(finding(
                "cloud",
                vm,
                "a1",
                1,
                Critical,
                Open,
                &["CVE-2024-0001"],
            )),
            finding_row(finding(
                "cloud",
                vm,
                "a1",
                2,
                High,
                Reopened,
                &["cve-2024-0001", "CVE-2024-0002"],
            )),
            finding_row(finding(
                "cloud",
                vm,
                "a1",
                3,
                Low,
                Fixed,
                &["CVE-2024-0002"],
            )),
            finding_row(finding(
                "cloud",
                vm,
                "a2",
                4,
                Medium,
                Open,
                &["CVE-2024-0002"],
            )),
            finding_row(finding("cloud", vm, "a3", 5, Critical, Open, &[])),
        ],
        ..assets_batch(vec![
            named("cloud", "a1", "web-01", "10.0.0.1"),
            named("cloud", "a2", "db-01", "10.0.0.2"),
            named("cloud", "a3", "old-01", "10.0.0.3"),
        ])
    };
    apply(store, run, "cloud", &batch);
    store.finish_run(run, &succeeded()).expect("finish");
    let run = begin(store, "sc", sc);
    let batch = Batch {
        findings: vec![finding_row(finding(
            "sc",
            sc,
            "h1",
            1,
            High,
            Open,
            &["CVE-2024-0001"],
        ))],
        ..assets_batch(vec![named("sc", "h1", "web-01", "10.0.0.1")])
    };
    apply(store, run, "sc", &batch);
    store.finish_run(run, &succeeded()).expect("finish");
    let assign = |source: &str, id: &str, u: &str| Assignment {
        source: source.to_owned(),
        id: id.to_owned(),
        unified_id: u.to_owned(),
    };
    store
        .apply_correlation(
            &[
                assign("cloud", "a1", "u-1"),
                assign("sc", "h1", "u-1"),
                assign("cloud", "a2", "u-2"),
                assign("cloud", "a3", "u-3"),
            ],
            &[],
        )
        .expect("correlate");

    let list = |f: UnifiedFilter| -> Vec<String> {
        store
            .list_unified_assets(&f)
            .expect("list")
            .into_iter()
            .map(|u| u.unified_id)
            .collect()
    };
    assert_eq!(
        list(UnifiedFilter::default()),
        ["u-1", "u-2"],
        "u-3 has no live record"
    );
    let u1 = store.unified_asset("u-1").expect("get").expect("u-1");
    assert_eq!(
        u1,
        crate::UnifiedSummary {
            unified_id: "u-1".to_owned(),
            name: Some("web-01".to_owned()),
            sources: vec!["cloud".to_owned(), "sc".to_owned()],
            records: 2,
            hostnames: vec!["WEB-01".to_owned()],
            ipv4s: vec!["10.0.0.1".to_owned()],
            macs: vec![],
            open_findings: 3,
            max_severity: Some(Critical),
            open_by_severity: [0, 0, 0, 2, 1],
        }
    );
    assert_eq!(store.unified_asset("u-3").expect("get"), None);
    assert_eq!(store.unified_asset("u-9").expect("get"), None);
    let only = |sources: &[&str], search: Option<&str>, after: Option<&str>, limit| UnifiedFilter {
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        search: search.map(str::to_owned),
        after: after.map(str::to_owned),
        limit,
    };
    assert_eq!(list(only(&["sc"], None, None, None)), ["u-1"]);
    assert_eq!(list(only(&[], Some("DB-0"), None, None)), ["u-2"]);
    assert_eq!(
        list(only(&[], Some("old"), None, None)),
        Vec::<String>::new()
    );
    assert_eq!(list(only(&[], None, Some("u-1"), None)), ["u-2"]);
    assert_eq!(list(only(&[], None, None, Some(1))), ["u-1"]);
    let full = store
        .list_unified_assets(&only(&["sc"], None, None, None))
        .expect("list");
    assert_eq!(
        full[0].sources,
        ["cloud", "sc"],
        "summaries cover every source"
    );
    assert_eq!(store.count_unified_assets(&[]).expect("count"), 2);
    assert_eq!(
        store
            .count_unified_assets(&["sc".to_owned()])
            .expect("count"),
        1
    );

    let count = |source: &str, severity, state, count| FindingCount {
        source: source.to_owned(),
        severity,
        state,
        count,
    };
    assert_eq!(
        store.finding_counts(&[]).expect("counts"),
        vec![
            count("cloud", Critical, Open, 2),
            count("cloud", High, Reopened, 1),
            count("cloud", Medium, Open, 1),
            count("cloud", Low, Fixed, 1),
            count("sc", High, Open, 1),
        ]
    );
    assert_eq!(
        store.finding_counts(&["sc".to_owned()]).expect("counts"),
        vec![count("sc", High, Open, 1)]
    );

    let cve = |id: &str, findings, assets, max_severity| CveCount {
        cve: id.to_owned(),
        findings,
        assets,
        max_severity,
    };
    assert_eq!(
        store.top_cves(&[], 10).expect("cves"),
        vec![
            cve("CVE-2024-0001", 3, 2, Critical),
            cve("CVE-2024-0002", 2, 2, Medium.max(High)),
        ]
    );
    assert_eq!(store.top_cves(&[], 1).expect("cves").len(), 1);
    assert_eq!(
        store.top_cves(&["sc".to_owned()], 10).expect("cves"),
        vec![cve("CVE-2024-0001", 1, 1, High)]
    );

    let top: Vec<(String, f64)> = store
        .top_unified_assets(&[], 10)
        .expect("top")
        .into_iter()
        .map(|(u, s)| (u.unified_id, s))
        .collect();
    assert_eq!(top, vec![("u-1".to_owned(), 20.0), ("u-2".to_owned(), 2.0)]);
    let top_sc = store
        .top_unified_assets(&["sc".to_owned()], 10)
        .expect("top");
    assert_eq!(top_sc.len(), 1);
    assert_eq!((top_sc[0].0.unified_id.as_str(), top_sc[0].1), ("u-1", 5.0));
    assert_eq!(
        top_sc[0].0.open_findings, 3,
        "the summary is the whole unified asset"
    );

    let stats = store.source_stats().expect("stats");
    let names: Vec<&str> = stats.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(names, ["cloud", "sc"]);
    let cloud = &stats[0];
    assert_eq!(cloud.kind, Some(vm));
    assert_eq!((cloud.assets, cloud.findings, cloud.events), (2, 5, 0));
    let last = cloud.last_run.as_ref().expect("a run");
    assert_eq!(last.status, RunStatus::Succeeded);
    assert_eq!(cloud.last_success, last.finished_at);
    assert_eq!(cloud.runs_by_status.len(), 1);
    assert_eq!(cloud.runs_by_status[0].0, RunStatus::Succeeded);
    assert_eq!(cloud.runs_by_status[0].1, 1);
    assert_eq!(stats[1].assets, 1);
}

/// The daily trend: open at the end of each day and fixed during it, from first appearances,
/// findings first stored fixed, and fixes recorded by later runs; each day's open count is
/// what `as_of` the end of that day counts.
pub fn finding_trend_follows_history(store: &mut dyn Store) {
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    };
    let f = |plugin: i64, found: &str, state, fixed: Option<&str>| Finding {
        state,
        first_found: Some(at(found)),
        last_found: Some(at(found)),
        last_fixed: fixed.map(at),
        ..minimal_finding("cloud", SourceKind::Vm, "x", plugin)
    };
    use FindingState::{Fixed, Open};
    let a = f(1, "2026-01-01T00:00:00Z", Open, None);
    let b = f(
        2,
        "2026-01-05T10:00:00Z",
        Fixed,
        Some("2026-01-08T10:00:00Z"),
    );
    let c = f(3, "2025-12-01T00:00:00Z", Open, None);
    let d = f(4, "2026-01-09T00:00:00Z", Open, None);
    let run = begin(store, "cloud", SourceKind::Vm);
    apply(
        store,
        run,
        "cloud",
        &findings_batch(vec![a, b, c.clone(), d]),
    );
    store.finish_run(run, &succeeded()).expect("finish");
    let run = begin(store, "cloud", SourceKind::Vm);
    let c_fixed = Finding {
        state: Fixed,
        last_fixed: Some(at("2026-01-07T00:00:01Z")),
        ..c
    };
    apply(store, run, "cloud", &findings_batch(vec![c_fixed]));
    store.finish_run(run, &succeeded()).expect("finish");

    let trend = store
        .finding_trend(&[], 7, at("2026-01-10T12:00:00Z"))
        .expect("trend");
    let day = |d: u32, open, fixed| TrendDay {
        date: chrono::NaiveDate::from_ymd_opt(2026, 1, d).expect("date"),
        open,
        fixed,
    };
    assert_eq!(
        trend,
        vec![
            day(4, 2, 0),
            day(5, 3, 0),
            day(6, 3, 0),
            day(7, 2, 1),
            day(8, 1, 1),
            day(9, 2, 0),
            day(10, 2, 0),
        ]
    );
    for d in &trend {
        let end = d
            .date
            .succ_opt()
            .and_then(|n| n.and_hms_opt(0, 0, 0))
            .expect("next day")
            .and_utc()
            - chrono::Duration::nanoseconds(1);
        let open = store
            .count_findings(&FindingFilter {
                as_of: Some(end),
                states: vec![Open, FindingState::Reopened],
                ..FindingFilter::default()
            })
            .expect("count");
        assert_eq!(open, d.open, "as of the end of {}", d.date);
    }
    assert_eq!(
        store
            .finding_trend(&["other".to_owned()], 2, at("2026-01-10T00:00:00Z"))
            .expect("trend"),
        vec![day(9, 0, 0), day(10, 0, 0)]
    );
    assert!(
        store
            .finding_trend(&[], 0, Utc::now())
            .expect("trend")
            .is_empty()
    );
}
