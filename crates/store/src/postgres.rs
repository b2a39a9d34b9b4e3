//! PostgreSQL backend: one connection through the blocking `postgres` client, numbered
//! migrations applied under an advisory lock, batches written with binary `COPY` into staging
//! tables and merged set-wise (see `write.rs`).
//!
//! The schema and its conventions are described in `migrations/postgres/0001_init.sql` and
//! `docs/postgres.md`.
//!
//! The blocking client runs its own small async runtime: it must not be called on a thread of
//! another one. Every method therefore steps off a multi-threaded tokio runtime first
//! (`block_in_place`) when called from one, so callers may use the store from async code;
//! a current-thread runtime cannot do that, and calls from one panic in the driver.

mod api;
pub(crate) mod codec;
mod read;
mod tls;
mod write;

use std::cell::RefCell;
use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, NoTls};

use crate::{
    AssetFilter, Batch, BatchOutcome, Error, EventFilter, FindingFilter, Result, RunId, RunMode,
    RunRecord, RunReport, Store,
};

/// The migrations, in order. `schema_migrations` holds the numbers applied.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_api.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_fast_findings.sql"),
    ),
];

/// The PostgreSQL store.
///
/// Opened with [`PgStore::open_url`] (`postgres://user@host:port/db?options=…`, every
/// parameter the `postgres` crate understands); the schema is created or migrated on open.
/// Connections are plain TCP or Unix sockets without TLS for now (see the crate README).
pub struct PgStore {
    /// `None` only while dropping.
    client: RefCell<Option<Client>>,
    /// `user@host/db`, for messages (never the password).
    location: String,
    /// What the writer keeps between batches (dictionaries, per-source mode).
    writer: write::WriterState,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Database(Box::new(PgError(e)))
    }
}

/// A driver error shown with what the server said: the driver's own text for a server error is
/// only "db error". One line: severity, SQLSTATE, message, detail and hint.
#[derive(Debug)]
pub(crate) struct PgError(pub(crate) postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(db) = self.0.as_db_error() else {
            // The driver's text names the step ("error performing TLS handshake"); the causes
            // say what went wrong.
            let mut text = self.0.to_string();
            let mut cause = std::error::Error::source(&self.0);
            while let Some(c) = cause {
                let c_text = c.to_string();
                if !text.contains(&c_text) {
                    text = format!("{text}: {c_text}");
                }
                cause = c.source();
            }
            return f.write_str(&text.replace('\n', " "));
        };
        let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        write!(
            f,
            "{} {}: {}",
            db.severity(),
            db.code().code(),
            one_line(db.message())
        )?;
        if let Some(d) = db.detail() {
            write!(f, " (detail: {})", one_line(d))?;
        }
        if let Some(h) = db.hint() {
            write!(f, " (hint: {})", one_line(h))?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Runs blocking driver work, stepping off a multi-threaded tokio runtime's worker first.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Where a URL points, without its password: `user@host:port/db`.
fn location(cfg: &postgres::Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        cfg.get_user().unwrap_or("?"),
        cfg.get_dbname().unwrap_or("")
    )
}

/// Parses a `postgres://` or `postgresql://` URL and its TLS parameters (`tls`). The error
/// never repeats the URL.
pub(crate) fn parse_url(url: &str) -> Result<(postgres::Config, tls::Params)> {
    match crate::url_scheme(url) {
        Some(s) if s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql") => {}
        _ => return Err(crate::unsupported_url(url)),
    }
    // The driver wants the scheme in lowercase, and knows only some TLS parameters.
    let (_, rest) = url.split_once(':').unwrap_or((url, ""));
    let (rest, params) = tls::split_url(rest)?;
    let cfg = postgres::Config::from_str(&format!("postgresql:{rest}")).map_err(|e| {
        // The driver's message names the part that is wrong, never the password.
        Error::Config(format!("invalid PostgreSQL store URL: {e}"))
    })?;
    Ok((cfg, params))
}

impl PgStore {
    /// The schema version this build creates and understands.
    pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

    /// Connects to `postgres://…` (or `postgresql://…`) and migrates the schema.
    pub fn open_url(url: &str) -> Result<Self> {
        let (mut cfg, tls) = parse_url(url)?;
        let tls = tls::connector(&tls)?;
        if cfg.get_application_name().is_none() {
            cfg.application_name("tenax");
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(10));
        }
        let location = location(&cfg);
        blocking(|| {
            let connected = match tls {
                Some(tls) => cfg.connect(tls),
                None => cfg.connect(NoTls),
            };
            let mut client = connected.map_err(|e| {
                let answered = e.as_db_error().is_some();
                let msg = format!("cannot connect to PostgreSQL {location}: {}", PgError(e));
                if answered || msg.contains("TLS") {
                    // The server answered (credentials, database name, permissions), or its
                    // certificate or TLS settings do not match ours.
                    Error::Config(msg)
                } else {
                    Error::Database(Box::new(std::io::Error::other(msg)))
                }
            })?;
            migrate(&mut client, &location)?;
            write::prepare_session(&mut client)?;
            let writer = write::WriterState::new(&mut client)?;
            Ok(Self {
                client: RefCell::new(Some(client)),
                location,
                writer,
            })
        })
    }

    /// `user@host:port/db` of this store (no password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i32> {
        blocking(|| {
            let v: Option<i32> = self
                .client()?
                .query_one("SELECT max(version) FROM schema_migrations", &[])?
                .get(0);
            Ok(v.unwrap_or(0))
        })
    }

    /// Runs `f` on the connection (off the async runtime, see the module docs).
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        blocking(|| {
            let mut client = self.client()?;
            f(&mut client)
        })
    }

    pub(crate) fn client(&self) -> Result<std::cell::RefMut<'_, Client>> {
        let c = self.client.try_borrow_mut().map_err(|_| {
            Error::Config(
                "the PostgreSQL store is busy streaming rows: a callback may not use it".to_owned(),
            )
        })?;
        std::cell::RefMut::filter_map(c, Option::as_mut)
            .map_err(|_| Error::Config("the PostgreSQL store is closed".to_owned()))
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing the connection blocks too.
        if let Some(client) = self.client.get_mut().take() {
            blocking(|| drop(client));
        }
    }
}

/// Brings the schema to [`PgStore::SCHEMA_VERSION`]: every pending migration in one
/// transaction, under a transaction-scoped advisory lock keyed by the schema, so that two
/// processes migrating at once apply each migration once.
fn migrate(client: &mut Client, location: &str) -> Result<()> {
    let latest = PgStore::SCHEMA_VERSION;
    let mig = |e: postgres::Error| Error::Migration(format!("{location}: {}", PgError(e)));
    let mut tx = client.transaction().map_err(mig)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tenax schema migration ' || current_schema()))",
        &[],
    )
    .map_err(mig)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(mig)?;
    let version: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(mig)?
        .get(0);
    if version > latest {
        return Err(Error::Migration(format!(
            "{location} has schema version {version}, newer than version {latest} that this \
             tenax knows; upgrade tenax"
        )));
    }
    for (n, sql) in MIGRATIONS.iter().filter(|(n, _)| *n > version) {
        tx.batch_execute(sql)
            .map_err(|e| Error::Migration(format!("{location}: migration {n:04} failed: {e}")))?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[n])
            .map_err(mig)?;
    }
    tx.commit().map_err(mig)?;
    Ok(())
}

impl Store for PgStore {
    fn begin_run(
        &mut self,
        source: &str,
        kind: tenax_model::SourceKind,
        mode: RunMode,
    ) -> Result<RunId> {
        self.with(|c| {
            let id = write::begin_run(c, source, kind, mode)?;
            api::bump_generation(c)?;
            Ok(id)
        })
    }

    fn apply_batch(&mut self, run: RunId, source: &str, batch: &Batch) -> Result<BatchOutcome> {
        let writer = &mut self.writer;
        blocking(|| {
            let client = self
                .client
                .get_mut()
                .as_mut()
                .ok_or_else(|| Error::Config("the PostgreSQL store is closed".to_owned()))?;
            write::apply_batch(client, writer, run, source, batch)
        })
    }

    fn checkpoint(&self, source: &str, key: &str) -> Result<Option<serde_json::Value>> {
        self.with(|c| read::checkpoint(c, source, key))
    }

    fn finish_run(&mut self, run: RunId, report: &RunReport) -> Result<()> {
        self.with(|c| {
            write::finish_run(c, run, report)?;
            api::bump_generation(c)
        })
    }

    fn close_stale_runs(&mut self, source: &str, message: &str) -> Result<u64> {
        self.with(|c| {
            let n = write::close_stale_runs(c, source, message)?;
            if n > 0 {
                api::bump_generation(c)?;
            }
            Ok(n)
        })
    }

    fn list_runs(&self, source: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        self.with(|c| read::list_runs(c, source, limit))
    }

    fn count_findings(&self, filter: &FindingFilter) -> Result<u64> {
        self.with(|c| read::count_findings(c, filter))
    }

    fn count_assets(&self, filter: &AssetFilter) -> Result<u64> {
        self.with(|c| read::count_assets(c, filter))
    }

    fn for_each_finding(
        &self,
        filter: &FindingFilter,
        f: &mut dyn FnMut(tenax_model::Finding) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| read::for_each_finding(c, filter, f))
    }

    fn for_each_asset(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| read::for_each_asset(c, filter, f))
    }

    fn raw_finding(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        self.with(|c| read::raw_of(c, "findings", source, id))
    }

    fn raw_asset(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        self.with(|c| read::raw_of(c, "assets", source, id))
    }

    fn finding_history(&self, source: &str, id: &str) -> Result<Vec<crate::Transition>> {
        self.with(|c| read::finding_history(c, source, id))
    }

    fn remediation(
        &self,
        sources: &[String],
        sla: &crate::Sla,
        now: tenax_model::Timestamp,
    ) -> Result<Vec<crate::RemediationStat>> {
        self.with(|c| read::remediation(c, sources, sla, now))
    }

    fn for_each_asset_raw(
        &self,
        filter: &AssetFilter,
        f: &mut dyn FnMut(tenax_model::Asset, Option<&str>) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| read::for_each_asset_raw(c, filter, f))
    }

    fn apply_correlation(
        &mut self,
        assignments: &[crate::Assignment],
        links: &[crate::UnifiedLink],
    ) -> Result<crate::CorrelationWrite> {
        self.with(|c| write::apply_correlation(c, assignments, links))
    }

    fn unified_links(&self, unified_id: &str) -> Result<Vec<crate::UnifiedLink>> {
        self.with(|c| read::unified_links(c, unified_id))
    }

    fn count_events(&self, filter: &EventFilter) -> Result<u64> {
        self.with(|c| read::count_events(c, filter))
    }

    fn for_each_event(
        &self,
        filter: &EventFilter,
        f: &mut dyn FnMut(tenax_model::Event) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| read::for_each_event(c, filter, f))
    }

    fn raw_event(&self, source: &str, id: &str) -> Result<Option<serde_json::Value>> {
        self.with(|c| read::raw_of(c, "events", source, id))
    }

    fn integrity_check(&self) -> Result<()> {
        self.with(read::integrity_check)
    }

    fn acquire_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<crate::LeaseAttempt> {
        self.with(|c| write::acquire_lease(c, source, holder, ttl))
    }

    fn renew_lease(
        &mut self,
        source: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<crate::Lease>> {
        self.with(|c| write::renew_lease(c, source, holder, ttl))
    }

    fn release_lease(&mut self, source: &str, holder: &str) -> Result<bool> {
        self.with(|c| write::release_lease(c, source, holder))
    }

    fn lease(&self, source: &str) -> Result<Option<crate::Lease>> {
        self.with(|c| read::lease(c, source))
    }

    fn get_finding(&self, source: &str, id: &str) -> Result<Option<tenax_model::Finding>> {
        self.with(|c| api::get_finding(c, source, id))
    }

    fn get_asset(&self, source: &str, id: &str) -> Result<Option<tenax_model::Asset>> {
        self.with(|c| api::get_asset(c, source, id))
    }

    fn list_unified_assets(
        &self,
        filter: &crate::UnifiedFilter,
    ) -> Result<Vec<crate::UnifiedSummary>> {
        self.with(|c| api::list_unified_assets(c, filter))
    }

    fn unified_asset(&self, unified_id: &str) -> Result<Option<crate::UnifiedSummary>> {
        self.with(|c| api::unified_summary(c, unified_id))
    }

    fn count_unified_assets(&self, sources: &[String]) -> Result<u64> {
        self.with(|c| api::count_unified_assets(c, sources))
    }

    fn finding_counts(&self, sources: &[String]) -> Result<Vec<crate::FindingCount>> {
        self.with(|c| api::finding_counts(c, sources))
    }

    fn finding_trend(
        &self,
        sources: &[String],
        days: u32,
        end: tenax_model::Timestamp,
    ) -> Result<Vec<crate::TrendDay>> {
        self.with(|c| api::finding_trend(c, sources, days, end))
    }

    fn top_cves(&self, sources: &[String], limit: usize) -> Result<Vec<crate::CveCount>> {
        self.with(|c| api::top_cves(c, sources, limit))
    }

    fn top_unified_assets(
        &self,
        sources: &[String],
        limit: usize,
    ) -> Result<Vec<(crate::UnifiedSummary, f64)>> {
        self.with(|c| api::top_unified_assets(c, sources, limit))
    }

    fn source_stats(&self) -> Result<Vec<crate::SourceStat>> {
        self.with(api::source_stats)
    }

    fn data_version(&self) -> Result<u64> {
        self.with(api::data_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_without_echoing_passwords() {
        let (cfg, _) = parse_url("postgres://tenax:s3cret@db.example:6432/tenax?sslmode=disable")
            .expect("url");
        assert_eq!(location(&cfg), "tenax@db.example:6432/tenax");
        assert!(!format!("{cfg:?}").contains("s3cret"), "{cfg:?}");
        parse_url("postgresql://u@h/db").expect("postgresql scheme");
        parse_url("POSTGRES://u@h/db").expect("scheme case");
        let e = parse_url("postgres://u:s3cret@h:notaport/db").expect_err("bad port");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(parse_url("sqlite://x.db").is_err());
    }
}
