//! SQLite backend: one writing connection in WAL mode, hand-numbered migrations, a write path
//! built for large batches (see `write.rs`), WAL checkpoints on a background thread.
//!
//! The schema and its conventions are described in `migrations/sqlite/0001_init.sql` and the
//! crate README.

mod api;
mod checkpointer;
pub(crate) mod codec;
pub(crate) mod read;
pub(crate) mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::{
    AssetFilter, Batch, BatchOutcome, Error, EventFilter, FindingFilter, Result, RunId, RunMode,
    RunRecord, RunReport, Store,
};

/// The migrations, in order. `PRAGMA user_version` holds the number of the last one applied.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_events.sql")),
    (3, include_str!("../migrations/sqlite/0003_history.sql")),
    (4, include_str!("../migrations/sqlite/0004_unified.sql")),
    (5, include_str!("../migrations/sqlite/0005_api.sql")),
    (
        6,
        include_str!("../migrations/sqlite/0006_severity_pages.sql"),
    ),
    (7, include_str!("../migrations/sqlite/0007_analyze.sql")),
    (8, include_str!("../migrations/sqlite/0008_leases.sql")),
];

/// `PRAGMA application_id` of a tenax database (`TNAX`).
const APPLICATION_ID: i64 = 0x544E_4158;

/// Page cache of a reader's connection: 32 MiB (a negative `cache_size` is KiB): the API
/// and dashboard read the same pages again and again.
const CACHE_SIZE_KIB: i64 = -32_768;

/// Page cache of the store's own connection (the writer): 16 MiB. Writes append to the table
/// B-tree and look keys up in indexes the OS caches anyway: 32 MiB measured no faster on a
/// 200k-finding sync and kept its peak RSS at ~175 MB, 16 MiB at ~146 MB.
const WRITER_CACHE_SIZE_KIB: i64 = -16_384;

/// Page size of new databases. Findings rows are ~1.5–3 KB: 8 KiB pages hold several without
/// overflow pages and cut the WAL frames (and their syscalls) per row; larger pages would make
/// scattered updates rewrite more bytes per row.
const PAGE_SIZE: i64 = 8192;

/// How long a statement waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store.
///
/// Opened with [`SqliteStore::open_url`], [`SqliteStore::open_path`] or
/// [`SqliteStore::open_in_memory`]; the schema is created or migrated on open. One value owns
/// one connection; several processes may open the same file (WAL, 5 s busy timeout), but
/// writes are serialized by SQLite.
pub struct SqliteStore {
    /// Declared first so that it stops before the writer closes (the last connection to close
    /// checkpoints the rest of the WAL and removes it).
    checkpointer: Option<checkpointer::Checkpointer>,
    conn: Connection,
    /// Where the database lives, for messages (`:memory:` or the path).
    location: String,
    /// Compression dictionaries the writer has used.
    dicts: write::DictCache,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// What a `sqlite:` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Memory,
    File(PathBuf),
}

impl SqliteStore {
    /// The schema version (`PRAGMA user_version`) this build creates and understands.
    pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// Opens `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:` (also `sqlite://:memory:`).
    ///
    /// `PATH` may be relative (to the current directory) or absolute (`sqlite:///var/tenax.db`).
    /// The file is created when missing, its directory is not. Query parameters are not
    /// supported. Any other scheme is an [`Error::Config`].
    pub fn open_url(url: &str) -> Result<Self> {
        match parse_url(url)? {
            Target::Memory => Self::open_in_memory(),
            Target::File(path) => Self::open_path(&path),
        }
    }

    /// [`SqliteStore::open_reader`] for a `sqlite:` URL; an in-memory database cannot be
    /// read through another connection ([`Error::Config`]).
    pub fn open_reader_url(url: &str) -> Result<Self> {
        match parse_url(url)? {
            Target::Memory => Err(Error::Config(
                "an in-memory store (sqlite::memory:) cannot be opened by a second reader; use \
                 sqlite://PATH"
                    .to_owned(),
            )),
            Target::File(path) => Self::open_reader(&path),
        }
    }

    /// Opens (creating if missing) the database file at `path` and migrates it.
    ///
    /// A missing parent directory is an [`Error::Config`] naming it; a database written by a
    /// newer tenax is an [`Error::Migration`].
    pub fn open_path(path: &Path) -> Result<Self> {
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            return Err(Error::Config(format!(
                "cannot open SQLite database {}: directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            Error::Config(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        let mut store = Self::setup(conn, path.display().to_string(), true)?;
        store.checkpointer = Some(checkpointer::Checkpointer::start(path)?);
        Ok(store)
    }

    /// Opens an existing database file for reading only (`PRAGMA query_only`): no migration,
    /// no checkpointer thread, cheap enough to keep a few per process. Any number of readers
    /// work beside one writer (WAL). A file that is missing, not a tenax database or of
    /// another schema version is an error ([`Error::Config`] / [`Error::Migration`]); open it
    /// once with [`SqliteStore::open_path`] to create or migrate it.
    pub fn open_reader(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            Error::Config(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(&format!(
            "PRAGMA cache_size = {CACHE_SIZE_KIB}; PRAGMA temp_store = MEMORY; \
             PRAGMA query_only = 1;"
        ))?;
        let location = path.display().to_string();
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if app != APPLICATION_ID || version != Self::SCHEMA_VERSION {
            return Err(Error::Migration(format!(
                "{location}: not a tenax database of schema version {} (application_id {app:#x}, \
                 version {version}); open it with this tenax once to migrate it",
                Self::SCHEMA_VERSION
            )));
        }
        Ok(Self {
            checkpointer: None,
            conn,
            location,
            dicts: write::DictCache::default(),
        })
    }

    /// Opens a private in-memory database (gone when the value is dropped).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::setup(conn, ":memory:".to_owned(), false)
    }

    /// The writing connection.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Where this store lives: the file path, or `:memory:`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The journal mode in effect (`wal` for files, `memory` for in-memory databases).
    pub fn journal_mode(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?)
    }

    /// The schema version recorded in the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn setup(mut conn: Connection, location: String, file: bool) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Takes effect only on a new, empty database (before WAL mode is set).
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};"))?;
        conn.set_prepared_statement_cache_capacity(64);
        if file {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Config(format!(
                    "cannot switch SQLite database {location} to WAL mode (it stays in `{mode}`)"
                )));
            }
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = {WRITER_CACHE_SIZE_KIB};
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = OFF;
             PRAGMA journal_size_limit = 67108864;
             PRAGMA analysis_limit = 1000;
             PRAGMA wal_autocheckpoint = {};",
            checkpointer::WRITER_CHECKPOINT_PAGES
        ))?;
        migrate(&mut conn, &location)?;
        Ok(Self {
            checkpointer: None,
            conn,
            location,
            dicts: write::DictCache::default(),
        })
    }
}

/// Brings the schema to [`SqliteStore::SCHEMA_VERSION`], all pending migrations in one
/// transaction.
fn migrate(conn: &mut Connection, location: &str) -> Result<()> {
    let latest = SqliteStore::SCHEMA_VERSION;
    let check = |conn: &Connection| -> Result<i64> {
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if app != 0 && app != APPLICATION_ID {
            return Err(Error::Migration(format!(
                "{location} is not a tenax database (application_id {app:#x})"
            )));
        }
        if version > latest {
            return Err(Error::Migration(format!(
                "{location} has schema version {version}, newer than version {latest} that \
                 this tenax knows; upgrade tenax"
            )));
        }
        if version == 0 {
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
            if tables > 0 {
                return Err(Error::Migration(format!(
                    "{location} is not a tenax database (it has {tables} schema objects but no \
                     tenax schema version)"
                )));
            }
        }
        Ok(version)
    };
    if check(conn)? == latest {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let version = check(&tx)?;
    for (n, sql) in MIGRATIONS.iter().filter(|(n, _)| *n > version) {
        tx.execute_batch(sql)
            .map_err(|e| Error::Migration(format!("{location}: migration {n:04} failed: {e}")))?;
        tx.pragma_update(None, "user_version", n)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

/// Parses a `sqlite:` URL.
fn parse_url(url: &str) -> Result<Target> {
    match crate::url_scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("sqlite") => {}
        _ => return Err(crate::unsupported_url(url)),
    }
    let rest = &url["sqlite:".len()..];
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path == ":memory:" {
        return Ok(Target::Memory);
    }
    if path.is_empty() {
        return Err(Error::Config(format!(
            "store URL `{url}` names no database file"
        )));
    }
    if path.contains('?') {
        return Err(Error::Config(format!(
            "store URL `{url}`: query parameters are not supported (use sqlite://PATH)"
        )));
    }
    Ok(Target::File(PathBuf::from(path)))
}

impl Store for SqliteStore {
    fn begin_run(
        &mut self,
        source: &str,
        kind: tenax_model::SourceKind,
        mode: RunMode,
    ) -> Result<RunId> {
        let id = write::begin_run(&self.conn, source, kind, mode)?;
        write::bump_generation(&self.conn)?;
        Ok(id)
    }

    fn apply_batch(&mut self, run: RunId, source: &str, batch: &Batch) -> Result<BatchOutcome> {
        let outcome = write::apply_batch(&mut self.conn, &mut self.dicts, run, source, batch)?;
        if let Some(c) = &mut self.checkpointer {
            c.committed(
                outcome.findings + outcome.assets + outcome.deleted_assets + outcome.events,
            );
        }
        Ok(outcome)
    }

    fn checkpoint(&self, source: &str, key: &str) -> Result<Option<serde_json::Value>> {
        read::checkpoint(&self.conn, source, key)
    }

    fn finish_run(&mut self, run: RunId, report: &RunReport) -> Result<()> {
        write::finish_run(&self.conn, run, report)?;
        write::bump_generation(&self.conn)?;
        // A run is when tables change most: refresh the planner's statistics where they are
        // stale (bounded by `analysis_limit`). Not being able to is no reason to fail the run.
        let _ = self.conn.execute_batch("PRAGMA optimize = 0x10002");
        Ok(())
    }

    fn close_stale_runs(&mut self, source: &str, message: &str) -> Result<u64> {
        let n = write::close_stale_runs(&self.conn, source, message)?;
        if n > 0 {
            write::bump_generation(&self.conn)?;
        }
        Ok(n)
    }

    fn list_runs(&self, source: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        read::list_runs(&self.conn, source, limit)
    }

    fn count_findings(&self, filter: &FindingFilter) -> Result<u64> {
        read::count_findings(&self.conn, filter)
    }

    fn count_assets(&self, filter: &AssetFilter) -> Result<u64> {
        read::count_assets(&self.conn, filter)
    }

    fn for_each_finding(
        &self,
        filter: &FindingFilter,
        f: &mut dyn FnMut(tenax_model::Finding) -> Result<()>,
    ) -> Result<()> {
        read::for_each_finding(&self.conn, filter, f)
    }

    fn for_each_asset(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset) -> Result<()>,
    ) -> Result<()> {
        read::for_each_asset(&self.conn, filter, f)
    }

    fn raw_finding(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        read::raw_finding(&self.conn, source, id)
    }

    fn raw_asset(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        read::raw_asset(&self.conn, source, id)
    }

    fn finding_history(&self, source: &str, id: &str) -> Result<Vec<crate::Transition>> {
        read::finding_history(&self.conn, source, id)
    }

    fn remediation(
        &self,
        sources: &[String],
        sla: &crate::Sla,
        now: tenax_model::Timestamp,
    ) -> Result<Vec<crate::RemediationStat>> {
        read::remediation(&self.conn, sources, sla, now)
    }

    fn for_each_asset_raw(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset, Option<&str>) -> Result<()>,
    ) -> Result<()> {
        read::for_each_asset_raw(&self.conn, filter, f)
    }

    fn apply_correlation(
        &mut self,
        assignments: &[crate::Assignment],
        links: &[crate::UnifiedLink],
    ) -> Result<crate::CorrelationWrite> {
        write::apply_correlation(&mut self.conn, assignments, links)
    }

    fn unified_links(&self, unified_id: &str) -> Result<Vec<crate::UnifiedLink>> {
        read::unified_links(&self.conn, unified_id)
    }

    fn count_events(&self, filter: &EventFilter) -> Result<u64> {
        read::count_events(&self.conn, filter)
    }

    fn for_each_event(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(tenax_model::Event) -> Result<()>,
    ) -> Result<()> {
        read::for_each_event(&self.conn, filter, f)
    }

    fn raw_event(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        read::raw_event(&self.conn, source, id)
    }

    fn integrity_check(&self) -> Result<()> {
        read::integrity_check(&self.conn)
    }

    fn acquire_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<crate::LeaseAttempt> {
        write::acquire_lease(&mut self.conn, source, holder, ttl)
    }

    fn renew_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<crate::Lease>> {
        write::renew_lease(&self.conn, source, holder, ttl)
    }

    fn release_lease(&mut self, source: &str, holder: &str) -> Result<bool> {
        write::release_lease(&self.conn, source, holder)
    }

    fn lease(&self, source: &str) -> Result<Option<crate::Lease>> {
        read::lease(&self.conn, source)
    }

    fn get_finding(&self, source: &str, id: &str) -> Result<Option<tenax_model::Finding>> {
        api::get_finding(&self.conn, source, id)
    }

    fn get_asset(&self, source: &str, id: &str) -> Result<Option<tenax_model::Asset>> {
        api::get_asset(&self.conn, source, id)
    }

    fn list_unified_assets(
        &self,
        filter: &crate::UnifiedFilter,
    ) -> Result<Vec<crate::UnifiedSummary>> {
        api::list_unified_assets(&self.conn, filter)
    }

    fn unified_asset(&self, unified_id: &str) -> Result<Option<crate::UnifiedSummary>> {
        api::unified_summary(&self.conn, unified_id)
    }

    fn count_unified_assets(&self, sources: &[String]) -> Result<u64> {
        api::count_unified_assets(&self.conn, sources)
    }

    fn finding_counts(&self, sources: &[String]) -> Result<Vec<crate::FindingCount>> {
        api::finding_counts(&self.conn, sources)
    }

    fn finding_trend(
        &self,
        sources: &[String],
        days: u32,
        end: tenax_model::Timestamp,
    ) -> Result<Vec<crate::TrendDay>> {
        api::finding_trend(&self.conn, sources, days, end)
    }

    fn top_cves(&self, sources: &[String], limit: usize) -> Result<Vec<crate::CveCount>> {
        api::top_cves(&self.conn, sources, limit)
    }

    fn top_unified_assets(
        &self,
        sources: &[String],
        limit: usize,
    ) -> Result<Vec<(crate::UnifiedSummary, f64)>> {
        api::top_unified_assets(&self.conn, sources, limit)
    }

    fn source_stats(&self) -> Result<Vec<crate::SourceStat>> {
        api::source_stats(&self.conn)
    }

    fn data_version(&self) -> Result<u64> {
        api::data_version(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(parse_url("sqlite::memory:").unwrap(), Target::Memory);
        assert_eq!(parse_url("sqlite://:memory:").unwrap(), Target::Memory);
        assert_eq!(
            parse_url("sqlite://./tenax.db").unwrap(),
            Target::File("./tenax.db".into())
        );
        assert_eq!(
            parse_url("sqlite://tenax.db").unwrap(),
            Target::File("tenax.db".into())
        );
        assert_eq!(
            parse_url("sqlite:tenax.db").unwrap(),
            Target::File("tenax.db".into())
        );
        assert_eq!(
            parse_url("SQLite:///var/t.db").unwrap(),
            Target::File("/var/t.db".into())
        );
        assert!(parse_url("sqlite://").is_err());
        assert!(parse_url("sqlite://t.db?mode=rwc").is_err());
        assert!(parse_url("postgres://u@h/db").is_err());
    }
}
