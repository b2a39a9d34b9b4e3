//! `OtSource::run` against the stand-in appliance: Relay paging across page boundaries,
//! findings from GraphQL or from `plugin_hits`, a GraphQL error mid-paging (partial), and the
//! window checkpoints.

use std::collections::{BTreeMap, HashSet};

use tenax_source::{SourceEvent, SourceOutcome, SyncRequest, Window};
use tenax_source_ot::{ASSETS_KEY, EVENTS_KEY, FindingsMode, OtConfig, OtSource};
use tokio::sync::mpsc;

use crate::appliance::{self, Rules, self_signed};

#[derive(Default, Debug)]
struct Got {
    assets: Vec<String>,
    findings: Vec<String>,
    events: Vec<String>,
}

async fn run(
    src: &OtSource,
    checkpoints: BTreeMap<String, serde_json::Value>,
) -> (SourceOutcome, Got) {
    let (tx, mut rx) = mpsc::channel(4);
    let collect = tokio::spawn(async move {
        let mut g = Got::default();
        while let Some(ev) = rx.recv().await {
            if let SourceEvent::Batch(b) = ev {
                g.assets.extend(b.assets.into_iter().map(|(a, raw)| {
                    assert!(raw.contains(&a.id));
                    a.id
                }));
                g.findings.extend(b.findings.into_iter().map(|(f, _)| f.id));
                g.events.extend(b.events.into_iter().map(|(e, _)| e.id));
            }
        }
        g
    });
    let req = SyncRequest {
        run_id: 7,
        full: checkpoints.is_empty(),
        checkpoints,
        cancel: tenax_source::CancellationToken::new(),
    };
    let out = src.run(req, tx).await.unwrap();
    (out, collect.await.unwrap())
}

fn source(url: &str, pin: &str, page_size: u32, findings: FindingsMode) -> OtSource {
    let mut c = OtConfig::new("plant-a", url);
    c.api_key = Some("k".into());
    c.server_cert_sha256 = Some(pin.to_owned());
    c.page_size = page_size;
    c.findings = findings;
    OtSource::new(c.resolve().unwrap())
        .unwrap()
        .with_retry(tenax_source::retry::RetryPolicy::fast())
}

fn distinct(v: &[String]) -> usize {
    v.iter().collect::<HashSet<_>>().len()
}

#[tokio::test]
async fn pages_of_1_3_and_200_deliver_everything_once() {
    let server = self_signed(true);
    let rules = Rules {
        api_key: Some("k".into()),
        findings: true,
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(7)).await;
    let pin = server.fingerprint().to_string();
    for ps in [1, 3, 200] {
        let (out, got) = run(
            &source(&app.url(), &pin, ps, FindingsMode::Auto),
            BTreeMap::new(),
        )
        .await;
        assert!(out.complete, "page size {ps}: {:?}", out.problems);
        assert_eq!(
            (got.assets.len(), distinct(&got.assets)),
            (7, 7),
            "page size {ps}"
        );
        assert_eq!((got.findings.len(), distinct(&got.findings)), (14, 14));
        assert_eq!((got.events.len(), distinct(&got.events)), (7, 7));
        assert_eq!(out.expected_assets, Some(7));
        assert_eq!(out.expected_findings, Some(14));
        assert_eq!(out.expected_events, Some(7));
        assert_eq!(out.details["findings_from"], "graphql");
        // The windows move to the newest lastUpdate / time seen.
        let cp: BTreeMap<_, _> = out.final_checkpoint.iter().cloned().collect();
        let w = |k: &str| {
            serde_json::from_value::<Window>(cp[k].clone().unwrap())
                .unwrap()
                .since
        };
        assert_eq!(w(ASSETS_KEY), 1_767_225_606); // 2026-01-01T00:00:06Z
        assert_eq!(w(EVENTS_KEY), 1_767_312_006); // 2026-01-02T00:00:06Z
    }
    // Every request carried the key; no cursor came from anywhere but this run.
    assert!(
        app.seen()
            .iter()
            .all(|s| s.api_key.as_deref() == Some("key=k"))
    );
}

#[tokio::test]
async fn without_graphql_findings_plugin_hits_are_read_per_asset() {
    let server = self_signed(false);
    let rules = Rules {
        api_key: Some("k".into()),
        findings: false,
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(5)).await;
    let pin = server.fingerprint().to_string();
    let (out, got) = run(
        &source(&app.url(), &pin, 2, FindingsMode::Auto),
        BTreeMap::new(),
    )
    .await;
    assert!(out.complete, "{:?}", out.problems);
    assert_eq!(out.details["findings_from"], "plugin_hits");
    assert_eq!(distinct(&got.findings), 10);
    assert_eq!(out.expected_findings, Some(10));
    let hits = app
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/plugin_hits"))
        .count();
    assert_eq!(hits, 5);
    // findings = "graphql" on such an appliance: the run is partial, naming the code.
    let (out, _) = run(
        &source(&app.url(), &pin, 2, FindingsMode::Graphql),
        BTreeMap::new(),
    )
    .await;
    assert!(!out.complete);
    assert!(
        out.problems[0].contains("graphql `findings` failed (GRAPHQL_VALIDATION_FAILED)"),
        "{:?}",
        out.problems
    );
}

#[tokio::test]
async fn a_graphql_error_mid_paging_makes_the_run_partial() {
    let server = self_signed(true);
    let rules = Rules {
        api_key: Some("k".into()),
        findings: true,
        error_at: Some(("assets".into(), 2)),
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(6)).await;
    let pin = server.fingerprint().to_string();
    let (out, got) = run(
        &source(&app.url(), &pin, 2, FindingsMode::Auto),
        BTreeMap::new(),
    )
    .await;
    assert!(!out.complete);
    assert_eq!(got.assets.len(), 2, "the first page is kept");
    assert_eq!(
        out.problems,
        [
            "assets: page 2 after 2 records: graphql `assets` failed at `assets.nodes.0.osDetails` \
          (INTERNAL_SERVER_ERROR): request to http://127.0.0.1:8083/v1/assets/osinfo failed"
        ]
    );
}

#[tokio::test]
async fn an_incremental_run_filters_from_the_stored_window_minus_overlap() {
    let server = self_signed(true);
    let rules = Rules {
        api_key: Some("k".into()),
        findings: true,
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(3)).await;
    let pin = server.fingerprint().to_string();
    let cps: BTreeMap<String, serde_json::Value> = [
        (
            ASSETS_KEY.to_owned(),
            serde_json::json!({"since": 1_767_225_600 + 3600}),
        ),
        (
            EVENTS_KEY.to_owned(),
            serde_json::json!({"since": 1_767_312_000 + 3600}),
        ),
    ]
    .into_iter()
    .collect();
    let (out, _) = run(&source(&app.url(), &pin, 50, FindingsMode::Auto), cps).await;
    assert!(out.complete);
    assert_eq!(out.details["assets_since"], "2026-01-01T00:00:00Z");
    assert_eq!(out.details["events_since"], "2026-01-02T00:00:00Z");
    assert_eq!(out.details["full"], false);
    // Nothing newer than the stored window: it stays where it was.
    let cp: BTreeMap<_, _> = out.final_checkpoint.iter().cloned().collect();
    assert_eq!(
        cp[ASSETS_KEY],
        Some(serde_json::json!({"since": 1_767_225_600 + 3600}))
    );
}
