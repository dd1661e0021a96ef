//! Errors of the app core, and their `{code, message}` form for the UI.

use flexdesk_mirror::{MirrorError, Unavailable};
use flexdesk_secrets::SecretError;
use flexdesk_sync::SyncError;
use flexfactor_client::ClientError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The closed set of error codes the UI branches on. It never matches on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    KeychainUnavailable,
    CredentialsRejected,
    Network,
    Api,
    Storage,
    InvalidInput,
    NotFound,
    NoAccount,
    /// The local database was written by a newer FlexDesk.
    DataFromNewerVersion,
    /// The disk holding the local database (or SQLite's temporary space) is full.
    DiskFull,
    Internal,
}

/// What crosses IPC when a command fails: a code for the program, a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

/// Every failure of an app-core call.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("{0}")]
    InvalidInput(String),
    /// The webhook relay could not be reached or refused us.
    #[error("The webhook relay could not be read ({0}). Orders still sync by polling; check the relay URL and token in Settings.")]
    Relay(String),
    #[error(
        "No FlexFactor account is set up yet. Add one under Accounts, or restart FlexDesk to open the Demo account."
    )]
    NoAccount,
    /// The mirror file was written by a newer FlexDesk; it is left untouched.
    #[error(
        "The local database {path} was written by a newer version of FlexDesk (schema {found}; this version \
         understands up to {supported}). It was left untouched. Install the newer FlexDesk again, or, to start \
         over with this version, quit and move that file elsewhere: orders are downloaded again from FlexFactor, \
         but the audit log, notes and batches in it stay only in the moved file."
    )]
    NewerData { path: std::path::PathBuf, found: i64, supported: i64 },
    /// A money action went through at FlexFactor (or may have) but could not be recorded
    /// locally. Its intent stays open and is settled at the next start or the next check
    /// (after the minute a refund counts as possibly still in flight): a refund is re-read
    /// (and resent only when provably absent), a cancel or capture resent under its
    /// idempotency key.
    #[error(
        "{done}, but FlexDesk could not record it ({}). Do not send it again: FlexDesk settles it from FlexFactor \
         when it next starts, or when you check this action again after a minute.",
        not_recorded_reason(source)
    )]
    NotRecorded { done: String, source: MirrorError },
    /// The mirror file could not be read for a reason outside it (locked, full disk,
    /// permissions); it is left as it is, not treated as damaged.
    #[error(
        "FlexDesk could not read its local database {path} ({detail}). It was left untouched. {}",
        unavailable_advice(*cause)
    )]
    MirrorUnavailable { path: std::path::PathBuf, cause: Unavailable, detail: String },
    /// An SFTP transfer failed on the way (network, server): retrying resumes it.
    #[error("{0}")]
    Transfer(String),
    #[error("{0}")]
    Internal(String),
}

/// Why a confirmed action could not be recorded, without the generic "try again" advice
/// (which must not be read as "send it again").
fn not_recorded_reason(source: &MirrorError) -> String {
    if source.is_disk_full() {
        "the disk is full; free some disk space".to_string()
    } else {
        source.to_string()
    }
}

/// What to do when the mirror cannot be read for a reason outside the file.
fn unavailable_advice(cause: Unavailable) -> &'static str {
    match cause {
        Unavailable::InUse => {
            "Another program has it open exclusively (for example an SQLite database tool): close that program, \
             then start FlexDesk again."
        }
        Unavailable::DiskFull => "The disk is full: free some disk space, then start FlexDesk again.",
        Unavailable::Access => {
            "Check that you can read and write the file and its folder, that the disk has free space and is \
             working, then start FlexDesk again. If this keeps happening, quit and move that file elsewhere: \
             FlexDesk then downloads the orders again from FlexFactor, but the audit log, notes and batches in it \
             stay only in the moved file."
        }
    }
}

/// The error for a money action whose result FlexFactor gave (`done` says what it was)
/// but the mirror could not record.
pub(crate) fn not_recorded(done: String) -> impl FnOnce(MirrorError) -> CoreError {
    move |source| CoreError::NotRecorded { done, source }
}

impl From<SyncError> for CoreError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Client(c) => CoreError::Client(c),
            SyncError::Mirror(m) => CoreError::Mirror(m),
            SyncError::Feed { url, message, .. } => CoreError::Relay(format!("{url}: {message}")),
            SyncError::BadEvent(m) => CoreError::Internal(format!("an event from the relay could not be read: {m}")),
        }
    }
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Secret(SecretError::Unavailable { .. }) => ErrorCode::KeychainUnavailable,
            CoreError::Secret(SecretError::NotFound { .. }) => ErrorCode::NotFound,
            CoreError::Secret(SecretError::Other { .. }) => ErrorCode::KeychainUnavailable,
            CoreError::Client(ClientError::CredentialsRejected { .. }) => ErrorCode::CredentialsRejected,
            CoreError::Client(ClientError::Network { .. }) => ErrorCode::Network,
            CoreError::Client(ClientError::NotFound { .. }) => ErrorCode::NotFound,
            CoreError::Client(ClientError::Config(_)) => ErrorCode::InvalidInput,
            CoreError::Client(_) => ErrorCode::Api,
            CoreError::Mirror(m) if m.is_disk_full() => ErrorCode::DiskFull,
            CoreError::Mirror(_) => ErrorCode::Storage,
            CoreError::InvalidInput(_) => ErrorCode::InvalidInput,
            CoreError::Relay(_) | CoreError::Transfer(_) => ErrorCode::Network,
            CoreError::NoAccount => ErrorCode::NoAccount,
            CoreError::NewerData { .. } => ErrorCode::DataFromNewerVersion,
            CoreError::NotRecorded { source, .. } if source.is_disk_full() => ErrorCode::DiskFull,
            CoreError::NotRecorded { .. } => ErrorCode::Storage,
            CoreError::MirrorUnavailable { cause: Unavailable::DiskFull, .. } => ErrorCode::DiskFull,
            CoreError::MirrorUnavailable { .. } => ErrorCode::Storage,
            CoreError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a person reads: what happened and what to do next.
    pub fn user_message(&self) -> String {
        match self {
            CoreError::Client(ClientError::CredentialsRejected { detail }) => format!(
                "FlexFactor did not accept this AppKey/AppSecret ({}). Copy both again from the \
                 FlexFactor portal (Developers > Api Keys) and check they belong to this environment.",
                detail.summary()
            ),
            CoreError::Client(ClientError::Network { url, message, .. }) => format!(
                "Could not reach FlexFactor at {url}. Check the network connection and the base URL, then try again. \
                 ({message})"
            ),
            CoreError::Secret(SecretError::NotFound { .. }) => {
                "The AppSecret for this account is missing from the OS keychain. Open Accounts and enter it again."
                    .to_string()
            }
            other => other.to_string(),
        }
    }

    pub fn to_ipc(&self) -> IpcError {
        IpcError { code: self.code(), message: self.user_message() }
    }
}

impl From<CoreError> for IpcError {
    fn from(e: CoreError) -> Self {
        e.to_ipc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_credentials_have_their_own_code_and_say_what_to_do() {
        let e = CoreError::Client(ClientError::CredentialsRejected { detail: Default::default() });
        let ipc = e.to_ipc();
        assert_eq!(ipc.code, ErrorCode::CredentialsRejected);
        assert!(ipc.message.contains("did not accept this AppKey/AppSecret"));
        assert!(ipc.message.contains("portal"));
    }

    #[test]
    fn a_missing_keychain_is_reported_as_keychain_unavailable() {
        let e = CoreError::Secret(SecretError::Unavailable { detail: "no bus".into() });
        assert_eq!(e.to_ipc().code, ErrorCode::KeychainUnavailable);
        assert!(e.to_ipc().message.contains("nothing was saved"));
    }

    #[test]
    fn a_full_disk_has_its_own_code_and_says_to_free_space() {
        let e = CoreError::Mirror(MirrorError::DiskFull { op: "inserting an order" });
        let ipc = e.to_ipc();
        assert_eq!(ipc.code, ErrorCode::DiskFull);
        assert!(ipc.message.contains("Free some disk space"), "{}", ipc.message);
        assert!(ipc.message.contains("what was stored before is unchanged"), "{}", ipc.message);
        let other = CoreError::Mirror(MirrorError::Data { op: "reading", message: "bad".into() });
        assert_eq!(other.code(), ErrorCode::Storage);
    }

    #[test]
    fn a_confirmed_refund_that_cannot_be_recorded_says_it_went_through_and_not_to_resend() {
        let e = CoreError::NotRecorded {
            done: "The refund of 12.00 USD went through at FlexFactor".into(),
            source: MirrorError::DiskFull { op: "recording an action's result" },
        };
        let ipc = e.to_ipc();
        assert_eq!(ipc.code, ErrorCode::DiskFull);
        assert!(ipc.message.starts_with("The refund of 12.00 USD went through"), "{}", ipc.message);
        assert!(ipc.message.contains("Do not send it again"), "{}", ipc.message);
        assert!(!ipc.message.contains("try again"), "{}", ipc.message);
    }

    #[test]
    fn error_codes_serialize_as_snake_case() {
        let json =
            serde_json::to_string(&IpcError { code: ErrorCode::KeychainUnavailable, message: "m".into() }).unwrap();
        assert_eq!(json, r#"{"code":"keychain_unavailable","message":"m"}"#);
    }
}
