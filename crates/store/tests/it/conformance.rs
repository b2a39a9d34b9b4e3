//! The shared conformance suite on every SQLite flavour.

use std::cell::RefCell;

use tenax_store::{SqliteStore, Store, testsuite};

#[test]
fn sqlite_in_memory_conforms() {
    testsuite::run_all(&|| Box::new(SqliteStore::open_in_memory().expect("in-memory store")));
}

#[test]
fn sqlite_file_conforms() {
    // Each check gets its own file; the directories live until the suite is done.
    let dirs = RefCell::new(Vec::new());
    testsuite::run_all(&|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_path(&dir.path().join("tenax.db")).expect("file store");
        dirs.borrow_mut().push(dir);
        Box::new(store) as Box<dyn Store>
    });
}

#[test]
fn sqlite_url_conforms() {
    let dirs = RefCell::new(Vec::new());
    testsuite::run_all(&|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        dirs.borrow_mut().push(dir);
        tenax_store::open(&url).expect("store from URL")
    });
}
