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
}

/// Adds the operation's name to a rusqlite error.
pub(crate) trait SqlContext<T> {
    fn op(self, op: &'static str) -> Result<T, MirrorError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn op(self, op: &'static str) -> Result<T, MirrorError> {
        self.map_err(|source| MirrorError::Sql { op, source })
    }
}
