//! SQLite-specific behaviour: files, WAL, migrations, URLs, corrupt rows.

use std::path::Path;

use rusqlite::Connection;
use serde_json::json;
use tenax_model::SourceKind;
use tenax_store::testsuite::{asset_row, finding_row, full_asset, full_finding, minimal_finding};
use tenax_store::{
    AssetFilter, Batch, Error, FindingFilter, FindingRow, RunMode, RunReport, RunStatus,
    SqliteStore, Store,
};

fn all_findings(store: &dyn Store) -> Vec<tenax_model::Finding> {
    let mut out = Vec::new();
    store
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            out.push(f);
            Ok(())
        })
        .expect("for_each_finding");
    out
}

/// Opens `path` with plain rusqlite, to set up or damage a database behind the store's back.
fn raw_connection(path: &Path) -> Connection {
    Connection::open(path).expect("rusqlite open")
}

#[test]
fn reopening_a_file_keeps_everything() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    let finding = full_finding("cloud", SourceKind::Vm, "a1", 155_999);
    let asset = full_asset("cloud", SourceKind::Vm, "a1");
    let run;
    {
        let mut store = SqliteStore::open_path(&path).expect("open");
        run = store
            .begin_run("cloud", SourceKind::Vm, RunMode::Full)
            .expect("begin");
        let batch = Batch {
            findings: vec![finding_row(finding.clone())],
            assets: vec![asset_row(asset.clone())],
            checkpoint: vec![("vulns".to_owned(), Some(json!({"since": 42})))],
            ..Batch::default()
        };
        store.apply_batch(run, "cloud", &batch).expect("apply");
        let report = RunReport {
            status: Some(RunStatus::Succeeded),
            ..RunReport::default()
        };
        store.finish_run(run, &report).expect("finish");
    }
    assert!(
        !dir.path().join("tenax.db-wal").exists(),
        "closing checkpoints and removes the WAL"
    );

    let mut store = SqliteStore::open_path(&path).expect("reopen");
    assert_eq!(
        store.schema_version().expect("version"),
        SqliteStore::SCHEMA_VERSION
    );
    // A finding's unified asset is its asset's.
    let expected = tenax_model::Finding {
        unified_asset_id: asset.unified_id.clone(),
        ..finding.clone()
    };
    assert_eq!(all_findings(&store), vec![expected]);
    assert_eq!(
        store.count_assets(&AssetFilter::default()).expect("count"),
        1
    );
    assert_eq!(
        store.checkpoint("cloud", "vulns").expect("cp"),
        Some(json!({"since": 42}))
    );
    let runs = store.list_runs(None, 10).expect("runs");
    assert_eq!(
        (runs.len(), runs[0].id, runs[0].status),
        (1, run, RunStatus::Succeeded)
    );
    let raw = store
        .raw_finding("cloud", &finding.id)
        .expect("raw")
        .expect("kept");
    assert_eq!(raw["record"]["id"], json!(finding.id));

    // A new process reuses the stored compression dictionary of the plugin.
    let run2 = store
        .begin_run("cloud", SourceKind::Vm, RunMode::Incremental)
        .expect("begin");
    let mut second = finding.clone();
    second.asset_id = "a2".to_owned();
    second.id = tenax_model::finding_key("a2", second.plugin_id, second.port, "tcp");
    store
        .apply_batch(
            run2,
            "cloud",
            &Batch {
                findings: vec![finding_row(second.clone())],
                ..Batch::default()
            },
        )
        .expect("apply");
    let raw2 = store
        .raw_finding("cloud", &second.id)
        .expect("raw")
        .expect("kept");
    assert_eq!(raw2["record"]["asset_id"], json!("a2"));
    drop(store);
    let dicts: i64 = raw_connection(&path)
        .query_row("SELECT count(*) FROM raw_dicts", [], |r| r.get(0))
        .expect("count dicts");
    assert_eq!(dicts, 1, "one dictionary per source and plugin");
}

#[test]
fn files_are_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    let mut store = SqliteStore::open_path(&path).expect("open");
    assert_eq!(store.journal_mode().expect("mode"), "wal");
    let run = store
        .begin_run("cloud", SourceKind::Vm, RunMode::Full)
        .expect("begin");
    store
        .apply_batch(
            run,
            "cloud",
            &Batch {
                findings: vec![finding_row(minimal_finding(
                    "cloud",
                    SourceKind::Vm,
                    "a",
                    1,
                ))],
                ..Batch::default()
            },
        )
        .expect("apply");
    assert!(dir.path().join("tenax.db-wal").exists());
    let mode: String = raw_connection(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal", "WAL mode is persistent in the file");
    assert_eq!(
        SqliteStore::open_in_memory()
            .expect("mem")
            .journal_mode()
            .expect("mode"),
        "memory"
    );
}

#[test]
fn a_second_connection_reads_committed_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    let mut writer = SqliteStore::open_path(&path).expect("writer");
    let reader = SqliteStore::open_path(&path).expect("reader");
    let run = writer
        .begin_run("cloud", SourceKind::Vm, RunMode::Full)
        .expect("begin");
    let rows: Vec<FindingRow> = (0..200)
        .map(|i| {
            finding_row(minimal_finding(
                "cloud",
                SourceKind::Vm,
                &format!("a{i}"),
                i,
            ))
        })
        .collect();
    writer
        .apply_batch(
            run,
            "cloud",
            &Batch {
                findings: rows,
                ..Batch::default()
            },
        )
        .expect("apply");
    assert_eq!(
        reader
            .count_findings(&FindingFilter::default())
            .expect("count"),
        200
    );
    assert_eq!(reader.list_runs(Some("cloud"), 5).expect("runs")[0].id, run);
    reader.integrity_check().expect("integrity");
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    drop(SqliteStore::open_path(&path).expect("create"));
    raw_connection(&path)
        .execute_batch("PRAGMA user_version = 99")
        .expect("bump version");
    let err = SqliteStore::open_path(&path).expect_err("newer schema");
    assert!(matches!(err, Error::Migration(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("99") && msg.contains(&format!("version {}", SqliteStore::SCHEMA_VERSION)),
        "{msg}"
    );
    assert!(
        msg.contains(&path.display().to_string()),
        "names the file: {msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn a_foreign_database_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("other.db");
    raw_connection(&path)
        .execute_batch("CREATE TABLE t (x)")
        .expect("create");
    let err = SqliteStore::open_path(&path).expect_err("foreign database");
    assert!(matches!(err, Error::Migration(_)), "{err:?}");
    assert!(err.to_string().contains("not a tenax database"), "{err}");

    let path = dir.path().join("app.db");
    raw_connection(&path)
        .execute_batch("PRAGMA application_id = 7")
        .expect("set id");
    let err = SqliteStore::open_path(&path).expect_err("other application");
    assert!(
        err.to_string()
            .contains("not a tenax database (application_id 0x7)"),
        "{err}"
    );
}

#[test]
fn url_errors_are_one_clear_line() {
    let config = |url: &str| match tenax_store::open(url) {
        Err(Error::Config(msg)) => msg,
        Err(other) => panic!("{url}: expected a configuration error, got {other:?}"),
        Ok(_) => panic!("{url}: opened"),
    };
    let msg = config("postgres://tenax:s3cret@db.example:notaport/tenax");
    assert!(msg.contains("invalid PostgreSQL store URL"), "{msg}");
    assert!(!msg.contains("s3cret"), "never echoes credentials: {msg}");
    match tenax_store::open("postgresql://tenax:s3cret@127.0.0.1:1/db") {
        Err(e) => {
            let msg = format!("{e} {e:?}");
            assert!(
                msg.contains("cannot connect to PostgreSQL tenax@127.0.0.1:1/db"),
                "{msg}"
            );
            assert!(!msg.contains("s3cret"), "never echoes credentials: {msg}");
        }
        Ok(_) => panic!("nothing listens on port 1"),
    }
    let msg = config("mysql://root:pw@localhost/tenax");
    assert!(msg.contains("`mysql`") && !msg.contains("pw@"), "{msg}");
    assert!(config("tenax.db").contains("has no scheme"));
    assert!(config("sqlite://").contains("names no database file"));
    assert!(config("sqlite://t.db?mode=rwc").contains("query parameters"));
    assert!(
        SqliteStore::open_url("redis://x").is_err(),
        "the SQLite opener checks the scheme too"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no/such/dir/tenax.db");
    let msg = config(&format!("sqlite://{}", missing.display()));
    assert!(
        msg.contains(&dir.path().join("no/such/dir").display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains("does not exist") && !msg.contains('\n'),
        "{msg}"
    );
    assert!(!dir.path().join("no").exists(), "no directory is created");

    for url in ["sqlite::memory:", "sqlite://:memory:"] {
        let store = tenax_store::open(url).expect(url);
        assert_eq!(
            store
                .count_findings(&FindingFilter::default())
                .expect("count"),
            0
        );
    }
    let path = dir.path().join("plain.db");
    drop(tenax_store::open(&format!("sqlite:{}", path.display())).expect("sqlite:PATH"));
    assert!(path.exists());
}

#[test]
fn damaged_values_are_corrupt_errors_naming_table_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    let finding = full_finding("cloud", SourceKind::Vm, "a1", 1);
    let mut store = SqliteStore::open_path(&path).expect("open");
    let run = store
        .begin_run("cloud", SourceKind::Vm, RunMode::Full)
        .expect("begin");
    let batch = Batch {
        findings: vec![finding_row(finding.clone())],
        assets: vec![asset_row(full_asset("cloud", SourceKind::Vm, "a1"))],
        ..Batch::default()
    };
    store.apply_batch(run, "cloud", &batch).expect("apply");

    let damage = |sql: &str| raw_connection(&path).execute_batch(sql).expect(sql);
    let corrupt = |r: tenax_store::Result<()>| match r {
        Err(Error::Corrupt { table, reason }) => format!("{table}: {reason}"),
        other => panic!("expected a corrupt-row error, got {other:?}"),
    };
    let walk =
        |store: &SqliteStore| store.for_each_finding(&FindingFilter::default(), &mut |_| Ok(()));
    let cases = [
        ("UPDATE findings SET severity = 9", "severity"),
        ("UPDATE findings SET state = 'sideways'", "state"),
        ("UPDATE findings SET last_found = 'yesterday'", "last_found"),
        ("UPDATE findings SET cves = '[1,2'", "cves"),
        ("UPDATE findings SET port = 'http'", "port"),
        ("UPDATE findings SET kind = 'nessus'", "kind"),
        (
            "UPDATE findings SET cvss3_base_score = x'00'",
            "cvss3_base_score",
        ),
    ];
    for (sql, column) in cases {
        damage(sql);
        let msg = corrupt(walk(&store));
        assert!(
            msg.starts_with("findings: ") && msg.contains(column),
            "{sql}: {msg}"
        );
        assert!(msg.contains(&finding.id), "names the row: {msg}");
        // Put the row back for the next case.
        damage("DELETE FROM findings");
        store
            .apply_batch(
                run,
                "cloud",
                &Batch {
                    findings: vec![finding_row(finding.clone())],
                    ..Batch::default()
                },
            )
            .expect("rewrite");
    }
    damage("UPDATE findings SET raw = x'ffffff7f0102'");
    let msg = corrupt(store.raw_finding("cloud", &finding.id).map(|_| ()));
    assert!(msg.contains("raw"), "{msg}");
    damage("UPDATE findings SET raw_dict = 12345");
    let msg = corrupt(store.raw_finding("cloud", &finding.id).map(|_| ()));
    assert!(msg.contains("dictionary 12345 is missing"), "{msg}");
    damage("UPDATE assets SET tags = '[\"not\", \"a map\"]'");
    let msg = corrupt(store.for_each_asset(&AssetFilter::default(), &mut |_| Ok(())));
    assert!(msg.starts_with("assets: ") && msg.contains("tags"), "{msg}");
    damage("UPDATE runs SET status = 'exploded'");
    let msg = corrupt(store.list_runs(None, 5).map(|_| ()));
    assert!(msg.starts_with("runs: ") && msg.contains("status"), "{msg}");
    damage("INSERT INTO checkpoints VALUES ('cloud', 'vulns', '{oops', 0)");
    let msg = corrupt(store.checkpoint("cloud", "vulns").map(|_| ()));
    assert!(msg.starts_with("checkpoints: "), "{msg}");
}

#[test]
fn integrity_check_reports_a_damaged_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tenax.db");
    {
        let mut store = SqliteStore::open_path(&path).expect("open");
        let run = store
            .begin_run("cloud", SourceKind::Vm, RunMode::Full)
            .expect("begin");
        let rows: Vec<FindingRow> = (0..2_000)
            .map(|i| finding_row(full_finding("cloud", SourceKind::Vm, &format!("a{i}"), i)))
            .collect();
        store
            .apply_batch(
                run,
                "cloud",
                &Batch {
                    findings: rows,
                    ..Batch::default()
                },
            )
            .expect("apply");
        store.integrity_check().expect("healthy");
    }
    // Overwrite some pages in the middle of the file with garbage.
    let mut bytes = std::fs::read(&path).expect("read");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 3 * 8192] {
        *b = 0x5a;
    }
    std::fs::write(&path, bytes).expect("write");
    match SqliteStore::open_path(&path) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(store) => {
            let err = store.integrity_check().expect_err("damage is found");
            assert!(
                matches!(
                    err,
                    Error::Corrupt {
                        table: "database",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(err.to_string().contains("integrity_check"), "{err}");
        }
    }
}

#[test]
fn big_batches_keep_the_last_version_of_each_finding() {
    // More rows than the compression pipeline's threshold; every finding appears twice, and the
    // very last row repeats one a third time without raw text.
    let mut store = SqliteStore::open_in_memory().expect("store");
    let run = store
        .begin_run("cloud", SourceKind::Vm, RunMode::Full)
        .expect("begin");
    let mut rows: Vec<FindingRow> = (0..3_000_i64)
        .map(|i| {
            let mut f = full_finding("cloud", SourceKind::Vm, &format!("a{}", i % 500), i % 3);
            f.plugin_name = Some(format!("version {i}"));
            finding_row(f)
        })
        .collect();
    let again = FindingRow {
        raw: "".into(),
        ..rows[2_999].clone()
    };
    rows.push(again.clone());
    let outcome = store
        .apply_batch(
            run,
            "cloud",
            &Batch {
                findings: rows,
                ..Batch::default()
            },
        )
        .expect("apply");
    assert_eq!(outcome.findings, 3_001);
    let got = all_findings(&store);
    assert_eq!(got.len(), 1_500, "distinct (asset, plugin) pairs");
    for f in &got {
        let version: i64 = f
            .plugin_name
            .as_deref()
            .and_then(|n| n.strip_prefix("version "))
            .and_then(|n| n.parse().ok())
            .expect("version");
        assert!(version >= 1_500, "the later version wins: {}", f.id);
        let raw = store
            .raw_finding("cloud", &f.id)
            .expect("raw")
            .expect("row");
        if f.id == again.finding.id {
            assert!(raw.is_null(), "the last version had no raw text");
        } else {
            assert_eq!(
                raw["record"]["plugin_name"],
                json!(f.plugin_name),
                "{}",
                f.id
            );
        }
    }
}

/// A database written by the first release (schema 1) is migrated in place on open: its rows
/// and runs stay, and events can be written and tallied.
#[test]
fn a_version_1_database_migrates_to_the_latest_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("v1.db");
    {
        let c = raw_connection(&path);
        c.execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .expect("schema 1");
        c.execute_batch(
            "PRAGMA user_version = 1; PRAGMA application_id = 1414414680;
             INSERT INTO runs (source, kind, mode, status, started_at, findings_stored)
             VALUES ('cloud', 'vm', 'full', 'succeeded', 0, 7);",
        )
        .expect("a v1 run");
    }
    let mut store = SqliteStore::open_path(&path).expect("migrate");
    assert_eq!(
        store.schema_version().expect("version"),
        SqliteStore::SCHEMA_VERSION
    );
    let runs = store.list_runs(None, 10).expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].findings.stored, 7);
    assert_eq!(runs[0].events, tenax_store::Tally::default());
    let run = store
        .begin_run("plant", SourceKind::Ot, RunMode::Full)
        .expect("begin");
    let batch = Batch {
        events: vec![tenax_store::EventRow {
            event: tenax_store::testsuite::full_event("plant", "e-1", 1_700_000_000),
            raw: r#"{"id":"e-1"}"#.into(),
        }],
        ..Batch::default()
    };
    assert_eq!(
        store
            .apply_batch(run, "plant", &batch)
            .expect("apply")
            .events,
        1
    );
    assert_eq!(
        store
            .count_events(&tenax_store::EventFilter::default())
            .expect("count"),
        1
    );
    store.integrity_check().expect("integrity");
}

/// Read handles (`open_reader`): see what the writer committed, cannot write, refuse what they
/// cannot share or do not know.
#[test]
fn readers_see_committed_writes_and_cannot_write() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.db");
    assert!(SqliteStore::open_reader(&path).is_err(), "no database yet");
    let mut writer = SqliteStore::open_path(&path).expect("writer");
    let url = format!("sqlite://{}", path.display());
    let mut reader = tenax_store::open_reader(&url).expect("reader");
    let v0 = reader.data_version().expect("version");
    let run = writer
        .begin_run("cloud", SourceKind::Vm, RunMode::Full)
        .expect("run");
    let batch = Batch {
        findings: vec![finding_row(minimal_finding(
            "cloud",
            SourceKind::Vm,
            "a",
            1,
        ))],
        ..Batch::default()
    };
    writer.apply_batch(run, "cloud", &batch).expect("batch");
    assert_eq!(all_findings(reader.as_ref()).len(), 1);
    assert_ne!(reader.data_version().expect("version"), v0);
    assert!(
        reader
            .begin_run("cloud", SourceKind::Vm, RunMode::Full)
            .is_err()
    );
    assert!(matches!(
        tenax_store::open_reader("sqlite::memory:"),
        Err(Error::Config(_))
    ));
    let other = dir.path().join("other.db");
    raw_connection(&other)
        .execute_batch("CREATE TABLE t (x)")
        .expect("a foreign database");
    assert!(matches!(
        SqliteStore::open_reader(&other),
        Err(Error::Migration(_))
    ));
}
