//! Every endpoint of docs/API.md: status codes, shapes, pagination, bad parameters.

use std::collections::BTreeSet;

use serde_json::Value;
use tenax_store::{AssetFilter, EventFilter, FindingFilter, UnifiedFilter};

use crate::env;

/// `encodeURIComponent` for the ids in paths.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_with_its_status_and_shape() {
    let e = env().await;
    let store = e.store();

    assert_eq!(e.ok("/healthz").await, serde_json::json!({"status": "ok"}));

    let doc = e.ok("/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/healthz",
        "/metrics",
        "/api/v1/sources",
        "/api/v1/runs",
        "/api/v1/stats",
        "/api/v1/sla",
        "/api/v1/assets",
        "/api/v1/assets/{source}/{id}",
        "/api/v1/unified-assets",
        "/api/v1/unified-assets/{unified_id}",
        "/api/v1/findings",
        "/api/v1/findings/{source}/{id}",
        "/api/v1/events",
        "/api/v1/openapi.json",
    ] {
        assert!(doc["paths"][p].is_object(), "OpenAPI document lacks {p}");
    }

    let sources = e.ok("/api/v1/sources").await;
    let items = sources["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["cloud", "plant", "sc-prod"],
        "configured first, then the rest"
    );
    assert_eq!(items[0]["configured"], true);
    assert_eq!(items[0]["sync_every"], "1h");
    assert_eq!(items[0]["kind"], "vm");
    assert_eq!(items[1]["configured"], false);
    assert_eq!(items[1]["kind"], "ot");
    for s in items {
        assert_eq!(s["last_run"]["status"], "succeeded", "{s}");
        assert!(s["last_success"].is_string(), "{s}");
        let src = vec![s["name"].as_str().unwrap().to_owned()];
        let n = store
            .count_findings(&FindingFilter {
                sources: src.clone(),
                ..FindingFilter::default()
            })
            .unwrap();
        assert_eq!(s["findings"], n, "{s}");
        let n = store
            .count_assets(&AssetFilter {
                sources: src,
                ..AssetFilter::default()
            })
            .unwrap();
        assert_eq!(s["assets"], n, "{s}");
    }

    let runs = e.ok("/api/v1/runs").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 3);
    assert_eq!(runs["items"][0]["source"], "plant", "newest first");
    let runs = e.ok("/api/v1/runs?source=cloud&limit=1").await;
    assert_eq!(runs["items"][0]["source"], "cloud");

    let sla = e.ok("/api/v1/sla?source=cloud").await;
    assert_eq!(sla["sla_days"]["critical"], 15);
    assert_eq!(sla["sla_days"]["info"], Value::Null);
    assert!(
        sla["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["source"] == "cloud" && r["open"].is_u64() && r["past_sla"].is_u64())
    );

    // One record of each kind, then its detail endpoint.
    let f = &e.ok("/api/v1/findings?source=sc-prod&limit=1").await["items"][0];
    let (fs, fid) = (f["source"].as_str().unwrap(), f["id"].as_str().unwrap());
    let d = e
        .ok(&format!("/api/v1/findings/{}/{}", enc(fs), enc(fid)))
        .await;
    assert_eq!(d["finding"], *f);
    assert_eq!(d["history"][0]["change"], "new");
    assert!(d["raw"].is_object(), "{}", d["raw"]);

    let a = &e.ok("/api/v1/assets?source=cloud&limit=1").await["items"][0];
    let (asrc, aid) = (a["source"].as_str().unwrap(), a["id"].as_str().unwrap());
    let d = e
        .ok(&format!("/api/v1/assets/{}/{}", enc(asrc), enc(aid)))
        .await;
    assert_eq!(d["asset"], *a);
    assert!(d["raw"].is_object());

    // A unified asset seen by several products: its records, links and findings.
    let all = store
        .list_unified_assets(&UnifiedFilter::default())
        .unwrap();
    let multi = all
        .iter()
        .find(|u| u.sources.len() > 1 && u.open_findings > 0)
        .expect("a multi-source unified asset with open findings");
    let d = e
        .ok(&format!("/api/v1/unified-assets/{}", multi.unified_id))
        .await;
    assert_eq!(d["unified_id"], multi.unified_id.as_str());
    assert_eq!(d["records"].as_array().unwrap().len() as u64, multi.records);
    assert!(!d["links"].as_array().unwrap().is_empty());
    assert!(d["links"][0]["a"]["source"].is_string());
    assert_eq!(d["open_findings"], multi.open_findings);
    let by_sev: u64 = d["findings_by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_sev, multi.open_findings);
    let fs = e
        .all_pages(&format!(
            "/api/v1/findings?unified_asset={}&state=open,reopened&limit=1000",
            multi.unified_id
        ))
        .await;
    assert_eq!(fs.len() as u64, multi.open_findings);

    // Unknown records and routes: 404 with a JSON error.
    for path in [
        "/api/v1/findings/cloud/no-such-finding",
        "/api/v1/assets/cloud/no%2Fsuch",
        "/api/v1/unified-assets/00000000-0000-0000-0000-000000000000",
        "/api/v1/nothing-here",
        "/nothing-here",
    ] {
        let (status, body) = e.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|m| !m.contains('\n')),
            "{path}: {body}"
        );
    }
}

/// Follows every page at limits 1, 7 and 1000: each row exactly once, in order, matching the
/// store's counts and the simulator's truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_returns_every_row_exactly_once() {
    let e = env().await;
    let store = e.store();
    let truth = e.sim.vm_truth();
    let key = |v: &Value| {
        (
            v["source"].as_str().unwrap().to_owned(),
            v["id"].as_str().unwrap().to_owned(),
        )
    };

    let findings = store.count_findings(&FindingFilter::default()).unwrap();
    let severe = store
        .count_findings(&FindingFilter {
            severities: vec![tenax_model::Severity::Critical, tenax_model::Severity::High],
            states: vec![tenax_model::FindingState::Open],
            ..FindingFilter::default()
        })
        .unwrap();
    let assets_all = store
        .count_assets(&AssetFilter {
            include_deleted: true,
            ..AssetFilter::default()
        })
        .unwrap();
    let events = store.count_events(&EventFilter::default()).unwrap();
    let unified = store.count_unified_assets(&[]).unwrap();
    assert!(findings > 100 && severe > 5 && assets_all > 50 && events > 10 && unified > 20);

    for limit in [1, 7, 1000] {
        let rows = e
            .all_pages(&format!("/api/v1/findings?limit={limit}"))
            .await;
        let keys: Vec<_> = rows.iter().map(key).collect();
        assert_eq!(keys.len() as u64, findings, "limit {limit}");
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "ordered, no repeats");
        let vm = keys.iter().filter(|k| k.0 == "cloud").count();
        assert_eq!(vm as u64, truth.findings as u64, "VM findings vs truth");

        let rows = e
            .all_pages(&format!(
                "/api/v1/findings?severity=critical,high&state=open&limit={limit}"
            ))
            .await;
        assert_eq!(rows.len() as u64, severe, "limit {limit}");
        assert!(
            rows.iter().all(|r| r["state"] == "open"
                && (r["severity"] == "critical" || r["severity"] == "high"))
        );

        let rows = e
            .all_pages(&format!(
                "/api/v1/assets?include_deleted=true&limit={limit}"
            ))
            .await;
        let keys: Vec<_> = rows.iter().map(key).collect();
        assert_eq!(keys.len() as u64, assets_all, "limit {limit}");
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let vm = keys.iter().filter(|k| k.0 == "cloud").count();
        assert_eq!(vm as u64, truth.assets as u64, "VM assets vs truth");

        let rows = e.all_pages(&format!("/api/v1/events?limit={limit}")).await;
        let ids: BTreeSet<String> = rows
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(rows.len() as u64, events, "limit {limit}");
        assert_eq!(ids.len(), rows.len(), "no event twice");
        assert_eq!(events, e.sim.ot_truth().events as u64, "events vs truth");

        let rows = e
            .all_pages(&format!("/api/v1/unified-assets?limit={limit}"))
            .await;
        let ids: Vec<&str> = rows
            .iter()
            .map(|r| r["unified_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len() as u64, unified, "limit {limit}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    // Filters on unified assets and assets narrow the same way the store does.
    let rows = e
        .all_pages("/api/v1/unified-assets?source=plant&limit=7")
        .await;
    assert_eq!(
        rows.len() as u64,
        store.count_unified_assets(&["plant".to_owned()]).unwrap()
    );
    assert!(rows.iter().all(|r| {
        r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "plant")
    }));
    let first = &rows[0];
    let ip = first["ipv4s"][0].as_str().unwrap();
    let found = e
        .all_pages(&format!("/api/v1/unified-assets?search={ip}&limit=3"))
        .await;
    assert!(found.iter().any(|r| r["unified_id"] == first["unified_id"]));
    let recs = e
        .all_pages(&format!(
            "/api/v1/assets?unified_id={}&limit=1",
            first["unified_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(recs.len() as u64, first["records"].as_u64().unwrap());

    // As of a day long before the data: nothing; as of today: every finding not gone.
    let none = e.ok("/api/v1/findings?as_of=2001-01-01").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    assert_eq!(none["next_cursor"], Value::Null);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let rows = e
        .all_pages(&format!("/api/v1/findings?as_of={today}&limit=7"))
        .await;
    let want = store
        .count_findings(&FindingFilter {
            as_of: Some(chrono::Utc::now()),
            ..FindingFilter::default()
        })
        .unwrap();
    assert!(rows.len() as u64 <= want && !rows.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400_with_a_one_line_message() {
    let e = env().await;
    let cases = [
        ("/api/v1/findings?limit=0", "limit"),
        ("/api/v1/findings?limit=1001", "limit"),
        ("/api/v1/findings?limit=ten", "limit"),
        ("/api/v1/findings?severity=urgent", "severity"),
        ("/api/v1/findings?state=open,closed", "state"),
        ("/api/v1/findings?plugin=abc", "plugin"),
        ("/api/v1/findings?as_of=yesterday", "as_of"),
        ("/api/v1/findings?cursor=%%%", "cursor"),
        ("/api/v1/findings?cursor=bm90IGpzb24", "cursor"),
        ("/api/v1/findings?cursor=WyJhIl0", "cursor"),
        ("/api/v1/findings?sevrity=high", "sevrity"),
        ("/api/v1/findings?limit=1&limit=2", "limit"),
        ("/api/v1/assets?include_deleted=yes", "include_deleted"),
        ("/api/v1/assets?source=Bad%20Name", "source"),
        ("/api/v1/assets?cursor=WyJhIl0", "cursor"),
        ("/api/v1/unified-assets?limit=-1", "limit"),
        ("/api/v1/unified-assets?cursor=WyJhIiwiYiJd", "cursor"),
        ("/api/v1/events?since=2026-13-45", "since"),
        ("/api/v1/events?cursor=WyJhIiwiYiJd", "cursor"),
        (
            "/api/v1/events?cursor=WyJhIiwibm90LWEtdGltZSIsImIiXQ",
            "cursor",
        ),
        ("/api/v1/runs?limit=0", "limit"),
        ("/api/v1/runs?source=a,b", "source"),
        ("/api/v1/stats?severity=high", "severity"),
        ("/api/v1/sla?source=A", "source"),
        ("/api/v1/sources?x=1", "x"),
        ("/api/v1/openapi.json?x=1", "x"),
        ("/api/v1/findings/cloud/x?limit=1", "limit"),
        ("/metrics?x=1", "x"),
    ];
    for (path, names) in cases {
        let (status, body) = e.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let msg = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {body}"));
        assert!(msg.contains(names) && !msg.contains('\n'), "{path}: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_agrees_with_the_store_and_metrics_carry_the_series() {
    let e = env().await;
    let store = e.store();
    let o = e.ok("/api/v1/stats").await;
    let open = store
        .count_findings(&FindingFilter {
            states: vec![
                tenax_model::FindingState::Open,
                tenax_model::FindingState::Reopened,
            ],
            ..FindingFilter::default()
        })
        .unwrap();
    let t = &o["totals"];
    assert_eq!(t["findings_open"], open);
    assert_eq!(
        t["findings_open"].as_u64().unwrap() + t["findings_fixed"].as_u64().unwrap(),
        store.count_findings(&FindingFilter::default()).unwrap()
    );
    assert_eq!(
        t["assets"],
        store.count_assets(&AssetFilter::default()).unwrap()
    );
    assert_eq!(
        t["unified_assets"],
        store.count_unified_assets(&[]).unwrap()
    );
    assert_eq!(
        t["events"],
        store.count_events(&EventFilter::default()).unwrap()
    );
    let by_sev_open: u64 = o["by_severity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["open"].as_u64().unwrap())
        .sum();
    assert_eq!(by_sev_open, open);
    let trend = o["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    assert_eq!(
        trend[29]["date"],
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );
    assert_eq!(trend[29]["open"], open, "today's open count is today's");
    assert!(
        trend
            .windows(2)
            .all(|w| w[0]["date"].as_str() < w[1]["date"].as_str())
    );
    let cves = o["top_cves"].as_array().unwrap();
    assert!(!cves.is_empty() && cves.len() <= 10);
    assert!(
        cves.windows(2)
            .all(|w| w[0]["findings"].as_u64() >= w[1]["findings"].as_u64())
    );
    let cve = cves[0]["cve"].as_str().unwrap();
    let with_cve = e
        .all_pages(&format!(
            "/api/v1/findings?cve={cve}&state=open,reopened&limit=1000"
        ))
        .await;
    assert_eq!(with_cve.len() as u64, cves[0]["findings"].as_u64().unwrap());
    let top = o["top_unified_assets"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 10);
    assert!(
        top.windows(2)
            .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64())
    );
    assert!(top[0]["score"].as_f64().unwrap() > 0.0 && top[0]["unified_id"].is_string());
    assert!(!o["sla"].as_array().unwrap().is_empty());
    assert_eq!(o["sources"].as_array().unwrap().len(), 3);
    // Filtered by source: only that source's figures.
    let only = e.ok("/api/v1/stats?source=plant").await;
    assert!(
        only["by_severity"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["source"] == "plant")
    );
    assert_eq!(
        only["totals"]["events"],
        store.count_events(&EventFilter::default()).unwrap()
    );
    // Cached: the same answer until the data changes.
    let again = e.ok("/api/v1/stats").await;
    assert_eq!(again["generated_at"], o["generated_at"]);

    let (status, _) = e.get("/api/v1/nope").await;
    assert_eq!(status, 404);
    let r = e
        .client
        .get(format!("{}/metrics", e.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    let findings_cloud = store
        .count_findings(&FindingFilter {
            sources: vec!["cloud".to_owned()],
            ..FindingFilter::default()
        })
        .unwrap();
    for line in [
        format!("tenax_sync_records_total{{source=\"cloud\",kind=\"findings\"}} {findings_cloud}"),
        "tenax_sync_runs_total{source=\"plant\",status=\"succeeded\"} 1".to_owned(),
        "tenax_sync_run_duration_seconds_count{source=\"sc-prod\"} 1".to_owned(),
        "# TYPE tenax_source_http_retries_total counter".to_owned(),
        "tenax_http_requests_total{code=\"404\"} 1".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
    for prefix in [
        "tenax_sync_last_success_timestamp_seconds{source=\"cloud\"} ",
        "tenax_sync_run_duration_seconds_sum{source=\"cloud\"} ",
        "tenax_store_records{source=\"plant\",kind=\"events\"} ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "missing `{prefix}` in\n{text}"
        );
    }
}
