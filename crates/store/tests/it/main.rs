//! Integration tests of tenax-store: the conformance suite on SQLite (in memory and on files),
//! and SQLite-specific behaviour.

mod conformance;
mod sqlite;
