//! "Test connection": one attempt to reach the SFTP server with the settings as they are,
//! classified into what a person can act on.
//!
//! The steps, stopping at the first failure: the settings are complete; the private key
//! loads (with its passphrase); an SSH server answers; its host key matches the pinned one
//! (with none pinned, any key is accepted for this test only and shown for pinning); the
//! server accepts the key for the user; both folders exist. Nothing is written.
//!
//! Signing in to a server whose key is not pinned yet is safe for a test: public-key
//! authentication proves possession of the key without revealing it, and the signature is
//! bound to this one session. Uploads never connect without a pinned key
//! ([`crate::SftpClient::connect`]).

use serde::{Deserialize, Serialize};

use crate::sftp::{authenticate, handshake, load_key, open_sftp, pinned_fingerprint, HandshakeError};
use crate::{fingerprint, SftpSettings};

/// What a connection test found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Everything works with the pinned host key.
    Ok,
    /// Everything works, but no host key is pinned yet: the server's is in the report.
    HostKeyUnpinned,
    /// The server presented another host key than the pinned one. Nothing was sent.
    HostKeyMismatch,
    /// No SSH server answered at host:port.
    Unreachable,
    /// The server refused the key for the user.
    AuthFailed,
    /// The private key file could not be loaded (missing, unreadable, wrong passphrase).
    KeyUnreadable,
    /// The inbound or outbound folder does not exist on the server (or is not a folder).
    FolderMissing,
    /// The settings are incomplete.
    Settings,
    /// The server answered, then the SSH or SFTP session failed.
    Failed,
}

/// The answer to "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    pub outcome: ProbeOutcome,
    /// What happened and what to do next, for people.
    pub message: String,
    /// The host key the server presented, as an OpenSSH line (`ssh-ed25519 AAAA…`): what
    /// "pin" stores.
    pub host_key: Option<String>,
    /// Its `SHA256:` fingerprint, to compare with the one FlexFactor gives.
    pub host_key_fingerprint: Option<String>,
    /// The fingerprint of the pinned key, if one is pinned.
    pub pinned_fingerprint: Option<String>,
}

impl ProbeReport {
    /// Whether uploads can use these settings as they are.
    pub fn is_ok(&self) -> bool {
        self.outcome == ProbeOutcome::Ok
    }
}

/// Tests the connection described by `settings` (see the module docs). Never fails: every
/// problem is a [`ProbeOutcome`] with a message.
#[tracing::instrument(skip_all, fields(host = %settings.host, port = settings.port))]
pub async fn probe(settings: &SftpSettings, passphrase: Option<&str>) -> ProbeReport {
    let pinned = Some(settings.host_key.trim()).filter(|k| !k.is_empty());
    let mut report = ProbeReport {
        outcome: ProbeOutcome::Ok,
        message: String::new(),
        host_key: None,
        host_key_fingerprint: None,
        pinned_fingerprint: pinned.map(|p| pinned_fingerprint(p).unwrap_or_else(|| p.to_string())),
    };
    let fail = |mut r: ProbeReport, outcome: ProbeOutcome, message: String| {
        tracing::info!(?outcome, "SFTP connection test failed");
        r.outcome = outcome;
        r.message = message;
        r
    };
    if let Err(e) = settings.check_connection() {
        return fail(report, ProbeOutcome::Settings, format!("Incomplete SFTP settings: {e}."));
    }
    let key = match load_key(settings, passphrase) {
        Ok(k) => k,
        Err(e) => {
            let path = settings.key_path.display();
            let message = if settings.key_path.exists() {
                format!(
                    "The private key {path} could not be loaded ({e}). If it has a passphrase, enter it again; \
                     the key must be an OpenSSH private key."
                )
            } else {
                format!("There is no private key file at {path}. Check the path (the private key, not the .pub file).")
            };
            return fail(report, ProbeOutcome::KeyUnreadable, message);
        }
    };
    let where_ = format!("{}:{}", settings.host, settings.port);
    let (connected, seen) = handshake(&settings.host, settings.port, pinned.map(str::to_string)).await;
    if let Some(k) = &seen {
        report.host_key = k.to_openssh().ok().map(|line| line.trim().to_string());
        report.host_key_fingerprint = Some(fingerprint(k));
    }
    let mut handle = match connected {
        Ok(h) => h,
        Err(HandshakeError::Unreachable(m)) => {
            let message = format!(
                "No SFTP server answered at {where_} ({m}). Check the host and port, that this machine's \
                 internet connection works, and that FlexFactor has allow-listed this machine's IP address."
            );
            return fail(report, ProbeOutcome::Unreachable, message);
        }
        Err(HandshakeError::HostKeyMismatch { found }) => {
            let pinned = report.pinned_fingerprint.clone().unwrap_or_default();
            let message = format!(
                "The server at {where_} presented the host key {found}, but {pinned} is pinned. Nothing was sent. \
                 If FlexFactor changed the server's key, confirm the new fingerprint with them and pin it; \
                 otherwise do not connect: someone may be intercepting the connection."
            );
            return fail(report, ProbeOutcome::HostKeyMismatch, message);
        }
        Err(HandshakeError::Protocol(m)) => {
            let message = format!("The server at {where_} answered, but the SSH connection failed ({m}). Try again.");
            return fail(report, ProbeOutcome::Failed, message);
        }
    };
    match authenticate(&mut handle, &settings.user, key).await {
        Ok(true) => {}
        Ok(false) => {
            let message = format!(
                "The server refused the key for user {user}. Check the user name, and that FlexFactor has this \
                 key's public half ({key}.pub) for that user.",
                user = settings.user,
                key = settings.key_path.display()
            );
            return fail(report, ProbeOutcome::AuthFailed, message);
        }
        Err(e) => {
            return fail(report, ProbeOutcome::Failed, format!("Signing in to {where_} failed ({e}). Try again."))
        }
    }
    let sftp = match open_sftp(&handle).await {
        Ok(s) => s,
        Err(e) => {
            let message = format!("Signed in to {where_}, but the server offers no SFTP session ({e}).");
            return fail(report, ProbeOutcome::Failed, message);
        }
    };
    let mut missing = Vec::new();
    for (label, dir) in [("inbound", &settings.inbound_dir), ("outbound", &settings.outbound_dir)] {
        let is_dir = sftp.metadata(dir.as_str()).await.map(|m| m.file_type().is_dir()).unwrap_or(false);
        if !is_dir {
            missing.push(format!("the {label} folder {dir}"));
        }
    }
    let _ = sftp.close().await;
    let _ = handle.disconnect(russh::Disconnect::ByApplication, "bye", "en").await;
    if !missing.is_empty() {
        let message = format!(
            "Signed in to {where_}, but {} does not exist there (or is not a folder). Check the folder paths \
             FlexFactor gave you.",
            missing.join(" and ")
        );
        return fail(report, ProbeOutcome::FolderMissing, message);
    }
    let fp = report.host_key_fingerprint.clone().unwrap_or_default();
    if pinned.is_none() {
        report.outcome = ProbeOutcome::HostKeyUnpinned;
        report.message = format!(
            "Signed in to {where_} as {user}; both folders exist. The server's host key is {fp}: compare it with \
             the fingerprint FlexFactor gives you, then pin it. Uploads start once it is pinned.",
            user = settings.user
        );
    } else {
        report.message = format!(
            "Connected to {where_} as {user} with the pinned host key {fp}; both folders exist.",
            user = settings.user
        );
    }
    tracing::info!(outcome = ?report.outcome, "SFTP connection test");
    report
}
