//! Whole flows: the demo, resume after kill -9, Ctrl-C, partial runs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tenax_store::{FindingFilter, RunStatus};

use crate::{Cmd, open, sim, stderr, stdout, vm_config};

const FINDING_KEYS: &[&str] = &[
    "source",
    "kind",
    "id",
    "asset_id",
    "unified_asset_id",
    "plugin_id",
    "plugin_name",
    "plugin_family",
    "severity",
    "state",
    "port",
    "protocol",
    "service",
    "cves",
    "cvss3_base_score",
    "cvss2_base_score",
    "vpr_score",
    "first_found",
    "last_found",
    "last_fixed",
    "hostname",
    "ipv4",
    "synopsis",
    "solution",
    "output",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_syncs_the_simulator_and_findings_print_as_ndjson() {
    let c = Cmd::new();
    let db = c.db();
    let o = c
        .run(&["demo", "--no-serve", "--db", &db, "--no-progress"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("succeeded") && out.contains("reconciled"),
        "{out}"
    );
    // All three products, OT through a robot registered by the demo (mutual TLS).
    assert_eq!(out.matches("succeeded").count(), 3, "{out}");
    assert!(
        out.contains("robot `tenax-demo` registered as ReaderRole")
            && out.contains("read over mutual TLS works (assets are readable)"),
        "{out}"
    );
    assert!(out.contains("demo-ot"), "{out}");

    // The same seed and size give the same data set: its ground truth.
    let truth = {
        let mut cfg = tenax_sim::SimConfig {
            seed: 42,
            assets: 2000,
            ..Default::default()
        };
        cfg.listen = "127.0.0.1:0".parse().unwrap();
        let s = tenax_sim::Sim::start(cfg).await.unwrap();
        let t = s.vm_truth();
        s.shutdown().await;
        t
    };
    assert!(
        truth.findings >= 10_000,
        "demo data set has {} findings",
        truth.findings
    );

    let o = c
        .run(&[
            "findings", "--format", "ndjson", "--db", &db, "--source", "demo-vm",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let mut n = 0u64;
    let want: BTreeSet<&str> = FINDING_KEYS.iter().copied().collect();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, want);
        assert_eq!(v["kind"], "vm");
        assert!(
            ["info", "low", "medium", "high", "critical"]
                .contains(&v["severity"].as_str().unwrap())
        );
        assert!(["open", "reopened", "fixed"].contains(&v["state"].as_str().unwrap()));
        n += 1;
    }
    assert_eq!(n, truth.findings);

    let o = c.run(&["runs", "--db", &db, "--format", "json"]).await;
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    let vm_run = runs.iter().find(|r| r["source"] == "demo-vm").unwrap();
    assert_eq!(vm_run["findings"]["stored"], truth.findings);
    assert_eq!(vm_run["findings"]["expected"], truth.findings);

    for format in ["table", "json", "csv"] {
        let o = c
            .run(&[
                "findings",
                "--format",
                format,
                "--db",
                &db,
                "--limit",
                "5",
                "--severity",
                "critical",
            ])
            .await;
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
    }
    let o = c
        .run(&[
            "findings", "--format", "csv", "--db", &db, "--state", "fixed", "--source", "demo-vm",
        ])
        .await;
    let mut csv = csv::Reader::from_reader(&o.stdout[..]);
    assert_eq!(csv.headers().unwrap().len(), FINDING_KEYS.len());
    let rows = csv
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[9] == "fixed")
        .count() as u64;
    assert_eq!(rows, truth.fixed);
}

/// Polls the database until the vulns export checkpoint records at least `n` chunks.
async fn wait_for_chunks(path: &std::path::Path, n: usize, deadline: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        use tenax_store::Store;
        if path.exists()
            && let Ok(s) = tenax_store::SqliteStore::open_path(path)
            && let Ok(Some(v)) = s.checkpoint("cloud", "vm.export.vulns")
            && v["chunks"].as_object().map_or(0, |m| m.len()) >= n
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_sync_again_fetches_only_missing_chunks() {
    // 1,000 assets at 50 per chunk: ~20 vulns chunks, one every 150 ms.
    let s = sim(1000, "", 150).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(
        &s.vm_url(),
        &ak,
        &sk,
        "num_assets = 50\nmax_parallel_chunks = 2",
    ));
    let dbp = c.path("t.db");
    let db = c.db();
    let mut child = c
        .command(&["sync", "--db", &db, "--no-progress"])
        .spawn()
        .unwrap();
    assert!(
        wait_for_chunks(&dbp, 4, Duration::from_secs(60)).await,
        "chunks were stored"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let stored_before: Vec<u32> = {
        let st = open(&dbp);
        let v = st.checkpoint("cloud", "vm.export.vulns").unwrap().unwrap();
        v["chunks"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect()
    };
    let export = {
        let st = open(&dbp);
        st.checkpoint("cloud", "vm.export.vulns").unwrap().unwrap()["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let o = c.run(&["sync", "--db", &db, "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let truth = s.vm_truth();
    let st = open(&dbp);
    assert_eq!(
        st.count_findings(&FindingFilter::default()).unwrap(),
        truth.findings
    );
    st.integrity_check().unwrap();
    let runs = st.list_runs(Some("cloud"), 10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[0].status,
        RunStatus::Succeeded,
        "{:?}",
        runs[0].message
    );
    assert_eq!(
        runs[0].findings.stored, truth.findings,
        "resumed run counts both runs' rows"
    );
    assert_eq!(
        runs[1].status,
        RunStatus::Failed,
        "the killed run is closed as failed"
    );

    let downloads = s.stats().chunk_downloads;
    for c in &stored_before {
        assert_eq!(
            downloads.get(&(export.clone(), *c)),
            Some(&1),
            "chunk {c} fetched again"
        );
    }
    let chunks = downloads.keys().filter(|(u, _)| *u == export).count();
    assert!(
        chunks > stored_before.len(),
        "the second run fetched the missing chunks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_export_and_the_run_is_partial() {
    // 20 chunks 500 ms apart: the export is still running (so cancellable) when Ctrl-C comes,
    // even on a loaded machine.
    let s = sim(1000, "", 500).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), &ak, &sk, "num_assets = 50"));
    let dbp = c.path("t.db");
    let db = c.db();
    let child = c
        .command(&["sync", "--db", &db, "--no-progress"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_chunks(&dbp, 2, Duration::from_secs(60)).await);
    let pid = child.id().unwrap() as i32;
    assert_eq!(send_sigint(pid), 0);
    let o = child.wait_with_output().await.unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cancelled"), "{}", stderr(&o));
    assert!(
        s.stats().cancelled >= 1,
        "the export was cancelled on the server"
    );
    let st = open(&dbp);
    assert_eq!(st.list_runs(None, 1).unwrap()[0].status, RunStatus::Partial);
    assert!(st.checkpoint("cloud", "vm.window").unwrap().is_none());
}

fn send_sigint(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .map(|s| if s.success() { 0 } else { 1 })
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_what_it_proved() {
    let s = sim(10, "", 2).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), &ak, &sk, ""));
    let o = c.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("cloud (vm): ok\n"), "{out}");
    assert!(out.contains("keys accepted"), "{out}");
    assert!(out.contains("vulnerability export permitted"), "{out}");
    assert!(out.contains("asset export permitted"), "{out}");
    assert!(!out.contains(&sk));
}

/// The README's flow: `tenax sim --write-config` in one terminal, `tenax check` and
/// `tenax sync` in another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_write_config_then_check_and_sync_both_products() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let c = Cmd::new();
    let cfg = c.path("tenax.toml");
    let cfg_s = cfg.display().to_string();
    let mut sim = c
        .command(&["sim", "--assets", "50", "--write-config", &cfg_s])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let wrote = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("wrote") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(wrote.ok(), Some(true), "the simulator wrote its config");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&cfg).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let o = c.run(&["check"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("sim-vm (vm): ok")
            && out.contains("sim-sc (sc): ok")
            && out.contains("sim-ot (ot): ok"),
        "{out}"
    );

    let o = c.run(&["sync", "--db", &c.db(), "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("succeeded").count(), 3, "{out}");
    assert!(out.contains("events of"), "OT events reconciled: {out}");
    assert!(out.contains("correlated: "), "{out}");

    // The two products see the same devices: unified assets hold one record per source at
    // most, every multi-record one says why, and its findings come from both products.
    let db = c.db();
    let o = c
        .run(&["assets", "--db", &db, "--unified", "--format", "json"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let unified: Vec<serde_json::Value> = serde_json::from_str(&stdout(&o)).unwrap();
    let o = c.run(&["assets", "--db", &db, "--format", "ndjson"]).await;
    let live = stdout(&o).lines().count();
    let members: usize = unified
        .iter()
        .map(|u| u["members"].as_array().unwrap().len())
        .sum();
    assert_eq!(members, live, "every live record is in one unified asset");
    let mut both = None;
    for u in &unified {
        let m = u["members"].as_array().unwrap();
        let sources: BTreeSet<&str> = m.iter().map(|x| x["source"].as_str().unwrap()).collect();
        assert_eq!(sources.len(), m.len(), "one record per source: {u}");
        if m.len() > 1 {
            assert!(!u["evidence"].as_array().unwrap().is_empty(), "{u}");
            both.get_or_insert(u["id"].as_str().unwrap().to_owned());
        }
    }
    let both = both.expect("some device is seen by both products");
    let o = c
        .run(&[
            "findings",
            "--db",
            &db,
            "--unified-asset",
            &both,
            "--format",
            "ndjson",
        ])
        .await;
    let sources: BTreeSet<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["source"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sources.len(), 2, "{both}: {sources:?}");
    // Correlating again changes nothing.
    let o = c.run(&["correlate", "--db", &db]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("; 0 records re-linked"),
        "{}",
        stdout(&o)
    );
    sim.start_kill().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_run_exits_1() {
    let s = sim(100, "export:error", 2).await;
    let (ak, sk) = s.vm_keys();
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), &ak, &sk, "num_assets = 50"));
    let o = c.run(&["sync", "--db", &c.db(), "--no-progress"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ended in state ERROR"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("partial"));
}

/// `tenax events` prints stored events oldest first in every format, filters by source and
/// `--since`, and refuses a bad `--since` with exit code 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_print_in_every_format_and_filter() {
    use tenax_store::{Batch, EventRow, RunMode};
    let c = Cmd::new();
    {
        let mut st = open(&c.path("t.db"));
        let run = st
            .begin_run("plant", tenax_model::SourceKind::Ot, RunMode::Full)
            .unwrap();
        let early = tenax_store::testsuite::full_event("plant", "e-1", 1_700_000_000);
        let late = tenax_model::Event {
            severity: None,
            ..tenax_store::testsuite::full_event("plant", "e-2", 1_800_000_000)
        };
        let batch = Batch {
            events: vec![
                EventRow {
                    event: late,
                    raw: "{}".into(),
                },
                EventRow {
                    event: early,
                    raw: "{}".into(),
                },
            ],
            ..Batch::default()
        };
        st.apply_batch(run, "plant", &batch).unwrap();
    }
    let db = c.db();
    let o = c.run(&["--db", &db, "events", "--format", "ndjson"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "e-1");
    assert_eq!(lines[0]["type"], "OpenPort");
    assert_eq!(lines[0]["severity"], "high");
    assert_eq!(lines[0]["time"], "2023-11-14T22:13:20.123456Z");
    assert_eq!(lines[0]["asset_ids"], serde_json::json!(["a-1", "a-2"]));
    assert_eq!(lines[1]["id"], "e-2");
    assert_eq!(lines[1]["severity"], serde_json::Value::Null);

    let o = c
        .run(&[
            "--db",
            &db,
            "events",
            "--since",
            "2025-01-01T00:00:00Z",
            "--format",
            "csv",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut rows = out.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("source,kind,id,time,type,")
    );
    assert!(rows.next().unwrap().starts_with("plant,ot,e-2,"));
    assert_eq!(rows.next(), None);

    let o = c
        .run(&["--db", &db, "events", "--source", "elsewhere"])
        .await;
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");

    let o = c.run(&["--db", &db, "events"]).await;
    assert!(stdout(&o).starts_with("SOURCE"), "{}", stdout(&o));
    assert!(stdout(&o).contains("OpenPort"));

    let o = c
        .run(&["--db", &db, "events", "--since", "yesterday"])
        .await;
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--since `yesterday`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `tenax history`, `tenax stats` and `tenax findings --as-of` on a finding fixed by a second
/// run; bad `--sla`, `--as-of` and an unknown finding are one-line errors with exit code 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_stats_and_as_of() {
    use chrono::TimeZone;
    use tenax_model::{FindingState, Severity, SourceKind};
    use tenax_store::{Batch, RunMode, RunReport, RunStatus, testsuite};
    let c = Cmd::new();
    let day = |d: u32| chrono::Utc.with_ymd_and_hms(2026, 10, d, 0, 0, 0).unwrap();
    let f = tenax_model::Finding {
        severity: Severity::Critical,
        state: FindingState::Open,
        first_found: Some(day(1)),
        last_found: Some(day(1)),
        ..testsuite::minimal_finding("cloud", SourceKind::Vm, "a1", 19506)
    };
    let id = f.id.clone();
    {
        let mut st = open(&c.path("t.db"));
        let done = RunReport {
            status: Some(RunStatus::Succeeded),
            ..RunReport::default()
        };
        let r1 = st
            .begin_run("cloud", SourceKind::Vm, RunMode::Full)
            .unwrap();
        let b = Batch {
            findings: vec![testsuite::finding_row(f.clone())],
            ..Batch::default()
        };
        st.apply_batch(r1, "cloud", &b).unwrap();
        st.finish_run(r1, &done).unwrap();
        let r2 = st
            .begin_run("cloud", SourceKind::Vm, RunMode::Incremental)
            .unwrap();
        let fixed = tenax_model::Finding {
            state: FindingState::Fixed,
            last_fixed: Some(day(11)),
            ..f
        };
        let b = Batch {
            findings: vec![testsuite::finding_row(fixed)],
            ..Batch::default()
        };
        st.apply_batch(r2, "cloud", &b).unwrap();
        st.finish_run(r2, &done).unwrap();
    }
    let db = c.db();
    let o = c
        .run(&["--db", &db, "history", "cloud", &id, "--format", "csv"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "at,run,change,state\n2026-10-01T00:00:00+00:00,1,new,open\n2026-10-11T00:00:00+00:00,2,fixed,fixed\n"
    );
    let o = c.run(&["--db", &db, "stats", "--format", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["severity"], "critical");
    assert_eq!(v[0]["fixed"], 1);
    assert_eq!(v[0]["open"], 0);
    assert_eq!(v[0]["mean_days_to_remediate"], 10.0);
    assert_eq!(v[0]["sla_days"], 15);
    let o = c
        .run(&["--db", &db, "stats", "--sla", "critical=none"])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("critical"), "{}", stdout(&o));

    for (as_of, want) in [
        ("2026-09-30", None),
        ("2026-10-05", Some("open")),
        ("2026-10-12T08:00:00Z", Some("fixed")),
    ] {
        let o = c
            .run(&[
                "--db", &db, "findings", "--as-of", as_of, "--format", "ndjson",
            ])
            .await;
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let states: Vec<String> = stdout(&o)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["state"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            states,
            want.into_iter().map(str::to_owned).collect::<Vec<_>>(),
            "as of {as_of}"
        );
    }

    for (args, needle) in [
        (vec!["stats", "--sla", "critical"], "--sla `critical`"),
        (vec!["stats", "--sla", "urgent=3"], "--sla `urgent=3`"),
        (
            vec!["findings", "--as-of", "last week"],
            "--as-of `last week`",
        ),
        (
            vec!["history", "cloud", "no-such-id"],
            "no finding `no-such-id`",
        ),
    ] {
        let mut full = vec!["--db", db.as_str()];
        full.extend(args.iter().copied());
        let o = c.run(&full).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
