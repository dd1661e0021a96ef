//! Mirror errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("could not open the mirror database at {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("mirror database error while {op}: {source}")]
    Sql { op: &'static str, source: rusqlite::Error },
    #[error(
        "the mirror database was written by a newer FlexDesk (schema {found}, this version knows {supported}); \
         it was not changed. Update FlexDesk, or move the database aside to rebuild it from the API."
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("stored data could not be read while {op}: {message}")]
    Data { op: &'static str, message: String },
    /// SQLite could not grow the database or its WAL (`SQLITE_FULL`: the disk, or the
    /// file system's quota, is full). The transaction was rolled back whole.
    #[error(
        "the disk holding the local database is full (while {op}). Nothing from this step was saved and \
         nothing already stored was lost. Free some disk space; the next sync carries on where this one stopped."
    )]
    DiskFull { op: &'static str },
}

impl MirrorError {
    /// True when the database could not grow because its disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, MirrorError::DiskFull { .. })
            || matches!(self, MirrorError::Open { source, .. } if is_full(source))
    }
}

fn is_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// Adds the operation's name to a rusqlite error.
pub(crate) trait SqlContext<T> {
    fn op(self, op: &'static str) -> Result<T, MirrorError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn op(self, op: &'static str) -> Result<T, MirrorError> {
        self.map_err(
            |source| if is_full(&source) { MirrorError::DiskFull { op } } else { MirrorError::Sql { op, source } },
        )
    }
}
