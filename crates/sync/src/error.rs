//! Sync errors.

use flexdesk_mirror::MirrorError;
use flexfactor_client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// An event body that cannot be read (kept by the relay for inspection).
    #[error("an event could not be read: {0}")]
    BadEvent(String),
}

impl SyncError {
    /// Worth trying again later (network trouble, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Client(c) if c.is_transient())
    }
}
