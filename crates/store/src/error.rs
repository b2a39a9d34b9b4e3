/// Store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store URL or options are wrong.
    #[error("store configuration: {0}")]
    Config(String),
    /// A migration failed or the database is newer than this binary.
    #[error("store migration: {0}")]
    Migration(String),
    /// A row did not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A stored value could not be decoded.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The database driver failed.
    #[error("database: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A callback passed to a streaming query stopped the walk.
    #[error("{0}")]
    Callback(String),
}

/// `Result` with the store [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(Box::new(e))
    }
}
