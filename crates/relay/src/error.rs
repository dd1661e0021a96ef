//! Relay errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("relay storage error while {op}: {source}")]
    Storage { op: &'static str, source: rusqlite::Error },
    #[error("cannot open the relay database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("invalid relay configuration: {0}")]
    Config(String),
    #[error("relay task failed: {0}")]
    Task(String),
}

pub(crate) trait StorageContext<T> {
    fn op(self, op: &'static str) -> Result<T, RelayError>;
}

impl<T> StorageContext<T> for Result<T, rusqlite::Error> {
    fn op(self, op: &'static str) -> Result<T, RelayError> {
        self.map_err(|source| RelayError::Storage { op, source })
    }
}
