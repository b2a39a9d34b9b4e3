//! Background WAL checkpoints.
//!
//! A checkpoint copies committed WAL frames into the database file and fsyncs both; done in
//! the committing thread (SQLite's default) every batch waits for the disk. Here a thread with
//! its own connection runs a `PASSIVE` checkpoint once [`CHECKPOINT_EVERY_ROWS`] rows have been
//! committed, while the writer goes on with the next batch. Not after every commit: a checkpoint
//! copies each changed page once, and the hot index pages change in every batch. Because the WAL can only restart from its beginning once every frame is
//! copied, the writer still checkpoints itself when the WAL passes [`WRITER_CHECKPOINT_PAGES`]
//! (SQLite's `wal_autocheckpoint`); by then the background thread has copied most of it.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use super::BUSY_TIMEOUT;
use crate::{Error, Result};

/// WAL size (pages) past which the writing connection checkpoints after a commit.
pub(super) const WRITER_CHECKPOINT_PAGES: i64 = 32_768;

/// Rows committed between checkpoint requests.
pub(super) const CHECKPOINT_EVERY_ROWS: u64 = 10_000;

/// The checkpoint thread; stopped and joined on drop.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Rows committed since the last request.
    pending_rows: u64,
    signal: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts the thread.
    pub(super) fn start(path: &Path) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            Error::Config(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (signal, wake) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("tenax-checkpoint".to_owned())
            .spawn(move || run(&conn, &wake))
            .map_err(|e| Error::Config(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Self {
            pending_rows: 0,
            signal: Some(signal),
            thread: Some(thread),
        })
    }

    /// Notes a commit of `rows` rows; asks for a checkpoint once [`CHECKPOINT_EVERY_ROWS`] have
    /// been committed since the last request.
    pub(super) fn committed(&mut self, rows: u64) {
        self.pending_rows += rows;
        if self.pending_rows >= CHECKPOINT_EVERY_ROWS {
            self.pending_rows = 0;
            self.poke();
        }
    }

    /// Asks for a checkpoint soon (requests while one is pending or running coalesce).
    fn poke(&self) {
        if let Some(s) = &self.signal {
            // Full: a checkpoint is already requested. Disconnected: the thread is gone, and
            // the writer's own checkpoints still bound the WAL.
            let _ = s.try_send(());
        }
    }
}

fn run(conn: &Connection, wake: &Receiver<()>) {
    while wake.recv().is_ok() {
        // Errors (busy, I/O) are not fatal: the next commit asks again, and the writer's own
        // checkpoints keep the WAL bounded.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.take();
        if let Some(thread) = self.thread.take() {
            // A panic in the thread would be a bug in SQLite's bindings; nothing to add here.
            let _ = thread.join();
        }
    }
}
