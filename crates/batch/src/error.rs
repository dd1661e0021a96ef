//! Errors of the batch crate. Row problems are not errors: they are [`crate::Issue`]s in a
//! validation report. These are failures of the whole operation.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The input is not a CSV/JSON batch at all (no header row, unreadable JSON).
    #[error("the batch input could not be read: {0}")]
    Input(String),
    /// A local file could not be read or written.
    #[error("could not {op} {path}: {source}")]
    File { op: &'static str, path: PathBuf, source: std::io::Error },
    /// SSH/SFTP settings are incomplete or malformed (permanent until fixed).
    #[error("SFTP settings: {0}")]
    Settings(String),
    /// The SSH key could not be loaded (wrong passphrase, unknown format).
    #[error("the SSH key {path} could not be loaded: {message}")]
    Key { path: PathBuf, message: String },
    /// The server's host key is not the one configured (permanent: possible attack).
    #[error(
        "the SFTP server's host key {found} does not match the pinned {expected}; nothing was sent. If the \
         server's key was changed on purpose (ask FlexFactor), run Test connection in the account's SFTP settings \
         and pin the new key; otherwise do not connect: someone may be intercepting the connection"
    )]
    HostKeyMismatch { expected: String, found: String },
    /// The server refused our key.
    #[error("the SFTP server refused the key for user {user}")]
    AuthRejected { user: String },
    /// Network or protocol failure (transient: retry resumes the upload).
    #[error("SFTP {op} failed: {message}")]
    Transport { op: &'static str, message: String },
    /// The uploaded bytes did not match the local file after a restart.
    #[error("the uploaded file {name} did not verify ({message})")]
    Verify { name: String, message: String },
    /// A response file could not be parsed.
    #[error("the response file {name} could not be read: {message}")]
    Response { name: String, message: String },
}

impl BatchError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, BatchError::Transport { .. } | BatchError::Verify { .. })
    }

    pub(crate) fn transport(op: &'static str, e: impl std::fmt::Display) -> BatchError {
        BatchError::Transport { op, message: e.to_string() }
    }
}
