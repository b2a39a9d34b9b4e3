//! Latency of the store verbs behind the REST API on a large SQLite database.
//!
//! ```text
//! cargo run --release -p tenax-store --example api_bench -- \
//!     [--findings 1000000] [--assets 100000] [--db PATH] [--iterations 50]
//! ```
//!
//! Builds the database at `--db` when it does not exist yet (synthetic findings of 3 sources,
//! ~10 per asset, ~20% fixed, a history of fixes in the last 30 days, CVEs; every asset
//! correlated, a third of them in pairs across sources), then times, with a warm page cache:
//! the overview's verbs (uncached: what the server computes once per data version), a filtered
//! findings page (critical+high, open, 100 rows, then the page after it), an unfiltered
//! findings page, a unified-assets page and one unified asset. Prints p50/p95 per verb.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use tenax_model::{Asset, Finding, FindingState, Severity, SourceKind, finding_key};
use tenax_store::{
    AssetRow, Assignment, Batch, FindingFilter, FindingRow, RunMode, RunReport, RunStatus, Sla,
    SqliteStore, Store, UnifiedFilter,
};

struct Args {
    findings: usize,
    assets: usize,
    db: PathBuf,
    iterations: usize,
}

fn args() -> Args {
    let mut a = Args {
        findings: 1_000_000,
        assets: 100_000,
        db: PathBuf::from("api_bench.db"),
        iterations: 50,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < v.len() {
        match v[i].as_str() {
            "--findings" => a.findings = v[i + 1].parse().expect("--findings N"),
            "--assets" => a.assets = v[i + 1].parse().expect("--assets N"),
            "--db" => a.db = PathBuf::from(&v[i + 1]),
            "--iterations" => a.iterations = v[i + 1].parse().expect("--iterations N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

const SOURCES: [(&str, SourceKind); 3] = [
    ("cloud", SourceKind::Vm),
    ("sc-prod", SourceKind::Sc),
    ("plant", SourceKind::Ot),
];

fn build(a: &Args) {
    let mut store = SqliteStore::open_path(&a.db).expect("open");
    let now = Utc::now();
    let day = chrono::Duration::days(1);
    let per_asset = a.findings.div_ceil(a.assets);
    let mut assignments = Vec::with_capacity(a.assets);
    let mut written = 0usize;
    for (si, (source, kind)) in SOURCES.iter().enumerate() {
        // VM holds half the assets, SC and OT a quarter each.
        let (from, to) = match si {
            0 => (0, a.assets / 2),
            1 => (a.assets / 2, a.assets * 3 / 4),
            _ => (a.assets * 3 / 4, a.assets),
        };
        let run = store.begin_run(source, *kind, RunMode::Full).expect("run");
        let mut batch = Batch::default();
        for n in from..to {
            let id = format!("{source}-asset-{n:07}");
            let asset = Asset {
                source: (*source).to_owned(),
                kind: Some(*kind),
                id: id.clone(),
                name: Some(format!("host-{n:07}.example.com")),
                hostnames: vec![format!("HOST-{n:07}")],
                ipv4s: vec![format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)],
                macs: vec![format!(
                    "00:50:56:{:02x}:{:02x}:{:02x}",
                    n >> 16 & 255,
                    n >> 8 & 255,
                    n & 255
                )],
                ..Asset::default()
            };
            batch.assets.push(AssetRow {
                raw: serde_json::to_string(&asset)
                    .expect("json")
                    .into_boxed_str(),
                asset,
            });
            // A third of the devices are seen by two products: pair asset n with n + assets/2.
            let device = if n >= a.assets / 2 && (n - a.assets / 2).is_multiple_of(3) {
                n - a.assets / 2
            } else {
                n
            };
            assignments.push(Assignment {
                source: (*source).to_owned(),
                id: id.clone(),
                unified_id: format!("u-{device:07}"),
            });
            for k in 0..per_asset {
                if written >= a.findings {
                    break;
                }
                written += 1;
                let plugin = 10_000 + ((n * 7 + k * 13) % 2000) as i64;
                let sev = Severity::ALL[(n + k) % 5];
                let fixed = (n + k) % 5 == 0;
                let found = now - day * ((n + k) % 300) as i32 - day;
                let f = Finding {
                    source: (*source).to_owned(),
                    kind: *kind,
                    id: finding_key(&id, plugin, 443, "tcp"),
                    asset_id: id.clone(),
                    plugin_id: plugin,
                    plugin_name: Some(format!("Plugin {plugin}")),
                    severity: sev,
                    state: if fixed {
                        FindingState::Fixed
                    } else {
                        FindingState::Open
                    },
                    port: 443,
                    protocol: "tcp".to_owned(),
                    cves: vec![format!("CVE-2024-{:05}", plugin % 500)],
                    first_found: Some(found),
                    last_found: Some(now - day),
                    last_fixed: fixed.then(|| now - day * ((n + k) % 29) as i32),
                    output: Some("x".repeat(200)),
                    unified_asset_id: None,
                    plugin_family: None,
                    service: None,
                    cvss3_base_score: None,
                    cvss2_base_score: None,
                    vpr_score: None,
                    hostname: None,
                    ipv4: None,
                    synopsis: None,
                    solution: None,
                };
                batch.findings.push(FindingRow {
                    raw: format!(
                        "{{\"asset\":\"{id}\",\"plugin\":{plugin},\"output\":\"{}\"}}",
                        "y".repeat(300)
                    )
                    .into_boxed_str(),
                    finding: f,
                });
            }
            if batch.findings.len() >= 10_000 {
                store.apply_batch(run, source, &batch).expect("batch");
                batch = Batch::default();
            }
        }
        store.apply_batch(run, source, &batch).expect("batch");
        let report = RunReport {
            status: Some(RunStatus::Succeeded),
            ..RunReport::default()
        };
        store.finish_run(run, &report).expect("finish");
        eprintln!("built {source}: {written} findings so far");
    }
    store
        .apply_correlation(&assignments, &[])
        .expect("correlate");
}

fn time<T>(name: &str, n: usize, mut f: impl FnMut() -> T) {
    let mut d: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    d.sort();
    let p = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)];
    println!(
        "{name:<44} p50 {:>9.2} ms   p95 {:>9.2} ms",
        p(0.5).as_secs_f64() * 1e3,
        p(0.95).as_secs_f64() * 1e3
    );
}

fn main() {
    let a = args();
    if !a.db.exists() {
        let t = Instant::now();
        build(&a);
        eprintln!(
            "built {} in {:.1} s",
            a.db.display(),
            t.elapsed().as_secs_f64()
        );
    }
    // Opening a writer once migrates a database built by an older version.
    drop(SqliteStore::open_path(&a.db).expect("migrate"));
    let store = SqliteStore::open_reader(&a.db).expect("reader");
    let page = |filter: &FindingFilter| {
        let mut v = Vec::new();
        store
            .for_each_finding(filter, &mut |f| {
                v.push(f);
                Ok(())
            })
            .expect("page");
        v
    };
    let severe = FindingFilter {
        severities: vec![Severity::Critical, Severity::High],
        states: vec![FindingState::Open],
        limit: Some(101),
        ..FindingFilter::default()
    };
    let first = page(&severe);
    let second = FindingFilter {
        after: first.get(99).map(|f| (f.source.clone(), f.id.clone())),
        ..severe.clone()
    };
    let n = a.iterations;
    let few = n.min(5);
    println!(
        "{} findings, {} assets",
        store
            .count_findings(&FindingFilter::default())
            .expect("count"),
        a.assets
    );
    time("data_version", n, || store.data_version().expect("v"));
    time("findings page: critical,high + open", n, || page(&severe));
    time("findings page after it (cursor)", n, || page(&second));
    time("findings page: high + fixed (matches none)", n, || {
        page(&FindingFilter {
            severities: vec![Severity::High],
            states: vec![FindingState::Fixed],
            limit: Some(101),
            ..FindingFilter::default()
        })
    });
    time("findings page: info + fixed, source=plant", n, || {
        page(&FindingFilter {
            sources: vec!["plant".to_owned()],
            severities: vec![Severity::Info],
            states: vec![FindingState::Fixed],
            limit: Some(101),
            ..FindingFilter::default()
        })
    });
    time("findings page: unfiltered", n, || {
        page(&FindingFilter {
            limit: Some(101),
            ..FindingFilter::default()
        })
    });
    time("findings page: one source, cursor mid-way", n, || {
        page(&FindingFilter {
            sources: vec!["sc-prod".to_owned()],
            after: Some(("sc-prod".to_owned(), "sc-prod-asset-0060000".to_owned())),
            limit: Some(101),
            ..FindingFilter::default()
        })
    });
    let upage = UnifiedFilter {
        limit: Some(101),
        ..UnifiedFilter::default()
    };
    let ufirst = store.list_unified_assets(&upage).expect("unified");
    time("unified-assets page (100)", n, || {
        store.list_unified_assets(&upage).expect("u")
    });
    time("unified-assets page after it (cursor)", n, || {
        store
            .list_unified_assets(&UnifiedFilter {
                after: ufirst.get(99).map(|u| u.unified_id.clone()),
                ..upage.clone()
            })
            .expect("u")
    });
    time("unified-assets page, source=plant", n, || {
        store
            .list_unified_assets(&UnifiedFilter {
                sources: vec!["plant".to_owned()],
                ..upage.clone()
            })
            .expect("u")
    });
    time("one unified asset", n, || {
        store.unified_asset("u-0000003").expect("u")
    });
    println!("-- overview verbs, uncached (computed once per data version) --");
    time("finding_counts", few, || {
        store.finding_counts(&[]).expect("c")
    });
    time("source_stats", few, || store.source_stats().expect("s"));
    time("count_unified_assets", few, || {
        store.count_unified_assets(&[]).expect("c")
    });
    time("finding_trend (30 days)", few, || {
        store.finding_trend(&[], 30, Utc::now()).expect("t")
    });
    time("top_cves", few, || store.top_cves(&[], 10).expect("c"));
    time("top_unified_assets", few, || {
        store.top_unified_assets(&[], 10).expect("t")
    });
    time("remediation", few, || {
        store
            .remediation(&[], &Sla::default(), Utc::now())
            .expect("r")
    });
}
