//! Sync errors.

use flexdesk_mirror::MirrorError;
use flexfactor_client::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The relay feed could not be read.
    #[error("the webhook relay at {url} could not be read: {message}")]
    Feed { url: String, message: String, transient: bool },
    /// An event body that cannot be read (kept by the relay for inspection).
    #[error("an event could not be read: {0}")]
    BadEvent(String),
}

impl SyncError {
    /// Worth trying again later (network trouble, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Client(c) => c.is_transient(),
            SyncError::Feed { transient, .. } => *transient,
            _ => false,
        }
    }
}
