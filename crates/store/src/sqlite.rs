//! SQLite backend (to be written).
use crate::*;

/// The SQLite store.
pub struct SqliteStore {}

impl SqliteStore {
    /// Opens `sqlite://PATH` or `sqlite::memory:`.
    pub fn open_url(_url: &str) -> Result<Self> {
        Err(Error::Config("not yet".into()))
    }
}
