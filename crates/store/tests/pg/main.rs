//! The conformance suite and PostgreSQL-specific behaviour on a real server.
//!
//! The server: `TENAX_TEST_PG` (a URL, e.g. `postgres://postgres@127.0.0.1:5432/test`) when
//! set; otherwise a throwaway one started here (`initdb` + `postgres` on a temporary
//! directory, Unix socket only, stopped when the test process exits). When neither works the
//! tests fail loudly, unless `TENAX_SKIP_PG=1`.
//!
//! Every store gets a schema of its own (`search_path` in the URL's `options`), dropped at the
//! end (kept with `TENAX_TEST_KEEP_DB=1`), so tests run in parallel without meeting.

mod copy;
mod harness;
mod pg;
mod tls;
