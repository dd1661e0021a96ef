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
    #[error(
        "the SSH key {path} could not be loaded ({message}). Check the key path in the account's SFTP settings (the \
         private key, not the .pub file); if the key has a passphrase, enter it there again"
    )]
    Key { path: PathBuf, message: String },
    /// The server's host key is not the one configured (permanent: possible attack).
    #[error(
        "the SFTP server's host key {found} does not match the pinned {expected}; nothing was sent. If the \
         server's key was changed on purpose (ask FlexFactor), run Test connection in the account's SFTP settings \
         and pin the new key; otherwise do not connect: someone may be intercepting the connection"
    )]
    HostKeyMismatch { expected: String, found: String },
    /// The server refused our key.
    #[error(
        "the SFTP server refused the key for user {user}. Check the user name in the account's SFTP settings, and \
         that FlexFactor has this key's public half (the .pub file) for that user"
    )]
    AuthRejected { user: String },
    /// Network or protocol failure (transient: retry resumes the upload).
    #[error(
        "SFTP {op} failed: {message}. Check this machine's connection, the host, port and folders in the \
         account's SFTP settings, and that FlexFactor has allow-listed this machine's IP address; Retry resumes \
         where the upload stopped"
    )]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_say_what_to_check_in_the_sftp_settings() {
        let failures = [
            BatchError::Key { path: "/k/id_ed25519".into(), message: "wrong passphrase".into() },
            BatchError::AuthRejected { user: "merchant".into() },
            BatchError::Transport { op: "connect", message: "no answer within 20 s".into() },
        ];
        for e in failures {
            let text = e.to_string();
            assert!(text.contains("SFTP settings"), "{text}");
        }
        assert!(BatchError::Transport { op: "connect", message: String::new() }.to_string().contains("allow-listed"));
    }
}
