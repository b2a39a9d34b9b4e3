//! The conformance suite on PostgreSQL, and what only PostgreSQL has.

use std::cell::RefCell;

use tenax_store::{PgStore, testsuite};

use crate::harness::Schema;

#[test]
fn postgres_conforms() {
    if crate::harness::base_url().is_none() {
        return;
    }
    // Each check gets a schema of its own; they are dropped when the suite is done.
    let schemas = RefCell::new(Vec::new());
    testsuite::run_all(&|| {
        let schema = Schema::new().expect("server");
        let store = tenax_store::open(&schema.url).expect("open PostgreSQL store");
        schemas.borrow_mut().push(schema);
        store
    });
}

/// The same suite with `findings` keyed as docs/postgres.md re-keys it for Citus
/// (`(source, id, asset_id)`): the writer can no longer let the key refuse stored findings,
/// looks every batch up first, and must give the same answers.
#[test]
fn postgres_conforms_with_the_citus_key() {
    if crate::harness::base_url().is_none() {
        return;
    }
    let schemas = RefCell::new(Vec::new());
    testsuite::run_all(&|| {
        let schema = Schema::new().expect("server");
        drop(PgStore::open_url(&schema.url).expect("migrate"));
        let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
        c.batch_execute(
            "ALTER TABLE findings DROP CONSTRAINT findings_pkey, \
             ADD PRIMARY KEY (source, id, asset_id)",
        )
        .expect("re-key findings");
        let store = tenax_store::open(&schema.url).expect("open PostgreSQL store");
        schemas.borrow_mut().push(schema);
        store
    });
}

#[test]
fn concurrent_migrations_apply_once() {
    let Some(schema) = Schema::new() else { return };
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = schema.url.clone();
            std::thread::spawn(move || PgStore::open_url(&url).map(|s| s.schema_version()))
        })
        .collect();
    for t in opened {
        let v = t.join().expect("thread").expect("open").expect("version");
        assert_eq!(v, PgStore::SCHEMA_VERSION);
    }
    let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
    let n: i64 = c
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, i64::from(PgStore::SCHEMA_VERSION));
}

#[test]
fn a_newer_schema_is_refused() {
    let Some(schema) = Schema::new() else { return };
    drop(PgStore::open_url(&schema.url).expect("open"));
    let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).expect("connect");
    c.execute("INSERT INTO schema_migrations (version) VALUES (999)", &[])
        .expect("insert");
    let e = PgStore::open_url(&schema.url).expect_err("newer schema");
    assert!(e.to_string().contains("999"), "{e}");
}

#[test]
fn passwords_never_appear_in_errors_or_debug() {
    let Err(e) = tenax_store::open("postgres://tenax:hunter2secret@127.0.0.1:1/tenax") else {
        panic!("nothing listens on port 1");
    };
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(shown.contains("127.0.0.1"), "{shown}");
    let Err(e) = tenax_store::open("postgres://tenax:hunter2secret@h:x/db") else {
        panic!("bad port");
    };
    assert!(!format!("{e} {e:?}").contains("hunter2secret"));
    let Some(schema) = Schema::new() else { return };
    let store = PgStore::open_url(&schema.url).expect("open");
    assert!(!format!("{store:?}").contains("options"), "{store:?}");
}

/// The blocking driver is usable from async code on a multi-threaded runtime (it steps off
/// the worker first), as the CLI and the engine call it.
#[test]
fn usable_from_a_multi_threaded_runtime() {
    let Some(schema) = Schema::new() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut store = tenax_store::open(&schema.url).expect("open");
        testsuite::history_as_of_and_remediation(store.as_mut());
        assert!(store.list_runs(None, 10).expect("runs").len() >= 3);
    });
}
