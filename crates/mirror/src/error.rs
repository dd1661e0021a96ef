//! Mirror errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("could not open the mirror database at {path}: {}", open_advice(source))]
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

/// The reason an open failed, with what to do when the reason is a full disk.
fn open_advice(e: &rusqlite::Error) -> String {
    if is_full(e) {
        "the disk holding it is full. Free some disk space, then start FlexDesk again; nothing stored in it was lost."
            .to_string()
    } else {
        e.to_string()
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
    fn a_mirror_that_cannot_open_on_a_full_disk_says_to_free_space() {
        let e =
            MirrorError::Open { path: "/data/mirror.sqlite3".into(), source: sqlite_error(rusqlite::ffi::SQLITE_FULL) };
        assert!(e.is_disk_full());
        let text = e.to_string();
        assert!(text.contains("/data/mirror.sqlite3") && text.contains("Free some disk space"), "{text}");
        let other = MirrorError::Open { path: "/x".into(), source: sqlite_error(rusqlite::ffi::SQLITE_CANTOPEN) };
        assert!(!other.is_disk_full());
        assert!(!other.to_string().contains("disk"), "{other}");
    }

    #[test]
    fn only_sqlite_full_becomes_a_disk_full_error() {
        let full: Result<(), _> = Err(sqlite_error(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full.op("writing"), Err(MirrorError::DiskFull { op: "writing" })));
        let busy: Result<(), _> = Err(sqlite_error(rusqlite::ffi::SQLITE_BUSY));
        assert!(matches!(busy.op("writing"), Err(MirrorError::Sql { op: "writing", .. })));
    }
}
