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
    /// SQLite could not grow the database, its WAL or its temporary files (`SQLITE_FULL`:
    /// the disk, or the file system's quota, is full). The transaction was rolled back whole.
    #[error(
        "FlexDesk could not write to its local database because the disk (or the temporary space SQLite uses) \
         is full, while {op}. That write was rolled back whole; what was stored before is unchanged. Free some \
         disk space and try again."
    )]
    DiskFull { op: &'static str },
    /// A backup could not be written (the mirror itself is unchanged).
    #[error("the backup could not be written: {message}")]
    Backup { message: String },
}

impl MirrorError {
    /// True when a write failed because the disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, MirrorError::DiskFull { .. })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_error(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn only_sqlite_full_becomes_a_disk_full_error() {
        let full: Result<(), _> = Err(sqlite_error(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full.op("writing"), Err(MirrorError::DiskFull { op: "writing" })));
        let busy: Result<(), _> = Err(sqlite_error(rusqlite::ffi::SQLITE_BUSY));
        assert!(matches!(busy.op("writing"), Err(MirrorError::Sql { op: "writing", .. })));
    }
}
