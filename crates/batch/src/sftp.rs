//! The SFTP client (pure Rust: `russh` + `russh-sftp`) and the upload protocol.
//!
//! # Upload protocol (no partial file ever appears under its final name)
//! 1. If `<inbound>/<name>` or `<outbound>/<name>_response.json` exists, the file was
//!    uploaded before (a crash between the rename and our own record): nothing is sent.
//! 2. The bytes go to `<inbound>/.<name>.part`. If that temporary file exists from an
//!    interrupted attempt and is not longer than ours, the upload resumes at its size;
//!    otherwise it is deleted and restarted.
//! 3. The temporary file is read back and its SHA-256 compared with ours; a mismatch
//!    deletes it (the next attempt restarts from zero).
//! 4. It is renamed to `<inbound>/<name>`. SFTP v3 rename refuses an existing target, so a
//!    file is never overwritten.
//!
//! The caller's ledger (the mirror's `batch_files`) records "uploaded" after step 4 and
//! never calls [`SftpClient::upload`] again for that file: a batch is never sent twice.
//!
//! Authentication is by key only (OpenSSH private key, optionally passphrase-protected);
//! the server's host key must match the pinned one (an OpenSSH public-key line or a
//! `SHA256:` fingerprint), else nothing is sent. Only a connection test
//! ([`crate::probe`]) ever connects without a pinned key, to show the key for pinning.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::OpenFlags;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::files::{response_name, sha256_hex, temp_name};
use crate::BatchError;

/// Bytes per SFTP write.
const CHUNK: usize = 16 * 1024;

/// Where and how to connect. Not secret: the key passphrase lives in the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SftpSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// An OpenSSH private key file.
    pub key_path: PathBuf,
    /// The server's host key: `ssh-ed25519 AAAA…` (as in known_hosts, without the host
    /// name) or `SHA256:…`.
    pub host_key: String,
    pub inbound_dir: String,
    pub outbound_dir: String,
}

impl SftpSettings {
    /// Checks the settings are complete, the pinned host key included.
    ///
    /// # Errors
    /// [`BatchError::Settings`] naming what is missing.
    pub fn check(&self) -> Result<(), BatchError> {
        self.check_connection()?;
        if self.host_key.trim().is_empty() {
            return Err(BatchError::Settings(
                "the server's host key is not pinned yet: run Test connection in the account's SFTP settings and \
                 pin the key it shows"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks everything but the pinned host key (what "Test connection" needs).
    ///
    /// # Errors
    /// [`BatchError::Settings`] naming what is missing.
    pub fn check_connection(&self) -> Result<(), BatchError> {
        let missing: Vec<&str> = [
            ("host", self.host.trim().is_empty()),
            ("port", self.port == 0),
            ("user", self.user.trim().is_empty()),
            ("private key file", self.key_path.as_os_str().is_empty()),
            ("inbound folder", self.inbound_dir.trim().is_empty()),
            ("outbound folder", self.outbound_dir.trim().is_empty()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(BatchError::Settings(format!("please fill in: {}", missing.join(", "))))
        }
    }
}

/// A pinned host key (an OpenSSH public-key line, optionally with a known_hosts host
/// prefix or a comment, or a `SHA256:` fingerprint) as a `SHA256:` fingerprint; None when
/// it is neither.
pub fn pinned_fingerprint(pinned: &str) -> Option<String> {
    let pinned = pinned.trim();
    if pinned.starts_with("SHA256:") {
        return Some(pinned.to_string());
    }
    parse_openssh(pinned).map(|k| fingerprint(&k))
}

/// Accepts "[host]:port ssh-ed25519 AAAA…" (known_hosts) and "ssh-ed25519 AAAA… comment".
fn parse_openssh(line: &str) -> Option<PublicKey> {
    let line = line.trim();
    let starts = std::iter::once(0).chain(line.match_indices(char::is_whitespace).map(|(i, _)| i + 1));
    starts.filter_map(|i| line.get(i..)).find_map(|rest| PublicKey::from_openssh(rest.trim_start()).ok())
}

/// The SHA-256 fingerprint of a public key, `SHA256:…`.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// What the host key check saw.
#[derive(Default)]
pub(crate) struct Seen {
    /// The key the server presented.
    pub(crate) key: Option<PublicKey>,
    /// Its fingerprint, when it did not match the pinned one.
    pub(crate) mismatch: Option<String>,
}

/// Checks the server's host key against the pinned one; with none pinned (a connection
/// test only, never an upload) any key is accepted and recorded.
pub(crate) struct Verifier {
    expected: Option<String>,
    seen: Arc<Mutex<Seen>>,
}

impl Verifier {
    fn matches(&self, key: &PublicKey) -> bool {
        let Some(expected) = self.expected.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
            return true;
        };
        if expected.starts_with("SHA256:") {
            return fingerprint(key) == expected;
        }
        parse_openssh(expected).is_some_and(|k| k.key_data() == key.key_data())
    }
}

impl russh::client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, server_key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(c) => PublicKey::from(c.public_key().clone()),
        };
        let ok = self.matches(&key);
        if let Ok(mut s) = self.seen.lock() {
            if !ok {
                s.mismatch = Some(fingerprint(&key));
            }
            s.key = Some(key.clone());
        }
        if !ok {
            tracing::warn!(found = %fingerprint(&key), "SFTP host key does not match the pinned one");
        }
        Ok(ok)
    }
}

/// Why the SSH handshake failed.
pub(crate) enum HandshakeError {
    /// No SSH server answered (refused, unreachable, timed out, not SSH).
    Unreachable(String),
    /// The server's key is not the pinned one: `found` is its fingerprint.
    HostKeyMismatch { found: String },
    /// The server answered, then the handshake failed.
    Protocol(String),
}

/// Connects and checks the host key against `expected` (None: accept and record it).
/// Returns the session (if any) and the key the server presented (if it got that far).
pub(crate) async fn handshake(
    host: &str,
    port: u16,
    expected: Option<String>,
) -> (Result<russh::client::Handle<Verifier>, HandshakeError>, Option<PublicKey>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Verifier { expected, seen: seen.clone() };
    let config = russh::client::Config {
        inactivity_timeout: Some(Duration::from_secs(60)),
        keepalive_interval: Some(Duration::from_secs(15)),
        ..Default::default()
    };
    let connected =
        tokio::time::timeout(Duration::from_secs(20), russh::client::connect(Arc::new(config), (host, port), verifier))
            .await;
    let (key, mismatch) = match seen.lock() {
        Ok(mut s) => (s.key.take(), s.mismatch.take()),
        Err(_) => (None, None),
    };
    let result = match connected {
        Ok(Ok(h)) => Ok(h),
        Err(_) if key.is_none() => Err(HandshakeError::Unreachable("no answer within 20 s".into())),
        Err(_) => Err(HandshakeError::Protocol("the SSH handshake timed out".into())),
        Ok(Err(e)) => match mismatch {
            Some(found) => Err(HandshakeError::HostKeyMismatch { found }),
            None if key.is_none() => Err(HandshakeError::Unreachable(e.to_string())),
            None => Err(HandshakeError::Protocol(e.to_string())),
        },
    };
    (result, key)
}

/// Signs in with the key: Ok(false) when the server refused it.
pub(crate) async fn authenticate(
    handle: &mut russh::client::Handle<Verifier>,
    user: &str,
    key: PrivateKey,
) -> Result<bool, BatchError> {
    let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
    let auth = handle
        .authenticate_publickey(user.to_string(), PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(|e| BatchError::transport("authenticate", e))?;
    Ok(auth.success())
}

/// Opens the SFTP subsystem on a signed-in session.
pub(crate) async fn open_sftp(handle: &russh::client::Handle<Verifier>) -> Result<SftpSession, BatchError> {
    let channel = handle.channel_open_session().await.map_err(|e| BatchError::transport("open a channel", e))?;
    channel.request_subsystem(true, "sftp").await.map_err(|e| BatchError::transport("start sftp", e))?;
    let sftp = SftpSession::new(channel.into_stream()).await.map_err(|e| BatchError::transport("start sftp", e))?;
    sftp.set_timeout(30);
    Ok(sftp)
}

/// Loads the private key file.
pub(crate) fn load_key(settings: &SftpSettings, passphrase: Option<&str>) -> Result<PrivateKey, BatchError> {
    russh::keys::load_secret_key(&settings.key_path, passphrase.filter(|p| !p.is_empty()))
        .map_err(|e| BatchError::Key { path: settings.key_path.clone(), message: e.to_string() })
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadOutcome {
    /// Written (from `resumed_at`, 0 for a fresh upload) and renamed to its final name.
    Uploaded { resumed_at: u64 },
    /// The server already had it (final name or response present): nothing was sent.
    AlreadyThere,
}

/// A connected SFTP session.
pub struct SftpClient {
    handle: russh::client::Handle<Verifier>,
    sftp: SftpSession,
}

impl SftpClient {
    /// Connects, checks the host key, authenticates with the key.
    ///
    /// # Errors
    /// `Settings`, `Key` (bad passphrase / format), `HostKeyMismatch`, `AuthRejected`,
    /// `Transport`.
    #[tracing::instrument(skip_all, err, fields(host = %settings.host, port = settings.port))]
    pub async fn connect(settings: &SftpSettings, passphrase: Option<&str>) -> Result<SftpClient, BatchError> {
        settings.check()?;
        let key = load_key(settings, passphrase)?;
        let (connected, _) = handshake(&settings.host, settings.port, Some(settings.host_key.clone())).await;
        let mut handle = connected.map_err(|e| match e {
            HandshakeError::HostKeyMismatch { found } => BatchError::HostKeyMismatch {
                expected: pinned_fingerprint(&settings.host_key).unwrap_or_else(|| settings.host_key.clone()),
                found,
            },
            HandshakeError::Unreachable(m) | HandshakeError::Protocol(m) => BatchError::transport("connect", m),
        })?;
        if !authenticate(&mut handle, &settings.user, key).await? {
            return Err(BatchError::AuthRejected { user: settings.user.clone() });
        }
        let sftp = open_sftp(&handle).await?;
        Ok(SftpClient { handle, sftp })
    }

    fn join(dir: &str, name: &str) -> String {
        format!("{}/{}", dir.trim_end_matches('/'), name)
    }

    async fn exists(&self, path: &str) -> Result<bool, BatchError> {
        self.sftp.try_exists(path).await.map_err(|e| BatchError::transport("stat", e))
    }

    /// Uploads `bytes` as `<inbound>/<name>` by the protocol in the module docs.
    /// `progress(sent, total)` is called after each chunk.
    ///
    /// # Errors
    /// `Transport` (retry: it resumes), `Verify` (retry: it restarts).
    #[tracing::instrument(skip_all, err, fields(name = %name, bytes = bytes.len()))]
    pub async fn upload(
        &self,
        inbound: &str,
        outbound: &str,
        name: &str,
        bytes: &[u8],
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<UploadOutcome, BatchError> {
        let total = bytes.len() as u64;
        let final_path = Self::join(inbound, name);
        let temp_path = Self::join(inbound, &temp_name(name));
        if self.exists(&final_path).await? || self.exists(&Self::join(outbound, &response_name(name))).await? {
            tracing::info!("already on the server; not sent again");
            progress(total, total);
            return Ok(UploadOutcome::AlreadyThere);
        }
        let mut offset = 0u64;
        if self.exists(&temp_path).await? {
            let size = self.sftp.metadata(&temp_path).await.map_err(|e| BatchError::transport("stat", e))?.size;
            // Resumed only when the bytes there are the start of these bytes: a file whose
            // header was renewed since (a fresh access token) starts again from the beginning.
            let same_start = match size {
                Some(s) if s <= total => {
                    let there = self.sftp.read(&temp_path).await.map_err(|e| BatchError::transport("read back", e))?;
                    (bytes.get(..there.len()) == Some(there.as_slice())).then_some(there.len() as u64)
                }
                _ => None,
            };
            match same_start {
                Some(s) => offset = s,
                None => self.sftp.remove_file(&temp_path).await.map_err(|e| BatchError::transport("remove", e))?,
            }
        }
        tracing::info!(resume_at = offset, "uploading");
        let mut file = self
            .sftp
            .open_with_flags(&temp_path, OpenFlags::CREATE | OpenFlags::WRITE)
            .await
            .map_err(|e| BatchError::transport("open the temporary file", e))?;
        file.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| BatchError::transport("seek", e))?;
        let mut sent = offset;
        progress(sent, total);
        for chunk in bytes[offset as usize..].chunks(CHUNK) {
            file.write_all(chunk).await.map_err(|e| BatchError::transport("write", e))?;
            sent += chunk.len() as u64;
            progress(sent, total);
        }
        file.flush().await.map_err(|e| BatchError::transport("flush", e))?;
        file.shutdown().await.map_err(|e| BatchError::transport("close", e))?;
        let mut back = Vec::with_capacity(bytes.len());
        let mut reader = self.sftp.open(&temp_path).await.map_err(|e| BatchError::transport("read back", e))?;
        reader.read_to_end(&mut back).await.map_err(|e| BatchError::transport("read back", e))?;
        let _ = reader.shutdown().await;
        if sha256_hex(&back) != sha256_hex(bytes) {
            let _ = self.sftp.remove_file(&temp_path).await;
            return Err(BatchError::Verify {
                name: name.to_string(),
                message: format!("{} bytes on the server, {} expected", back.len(), bytes.len()),
            });
        }
        if let Err(e) = self.sftp.rename(&temp_path, &final_path).await {
            if self.exists(&final_path).await? {
                let _ = self.sftp.remove_file(&temp_path).await;
                return Ok(UploadOutcome::AlreadyThere);
            }
            return Err(BatchError::transport("rename", e));
        }
        Ok(UploadOutcome::Uploaded { resumed_at: offset })
    }

    /// Reads `<outbound>/<name>_response.json` if it is there.
    ///
    /// # Errors
    /// `Transport`.
    pub async fn fetch_response(&self, outbound: &str, name: &str) -> Result<Option<Vec<u8>>, BatchError> {
        let path = Self::join(outbound, &response_name(name));
        if !self.exists(&path).await? {
            return Ok(None);
        }
        self.sftp.read(&path).await.map(Some).map_err(|e| BatchError::transport("read the response", e))
    }

    /// The names in a folder (no `.`/`..`).
    ///
    /// # Errors
    /// `Transport`.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, BatchError> {
        let entries = self.sftp.read_dir(dir).await.map_err(|e| BatchError::transport("list", e))?;
        Ok(entries.map(|e| e.file_name()).filter(|n| n != "." && n != "..").collect())
    }

    /// Closes the session.
    pub async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self.handle.disconnect(russh::Disconnect::ByApplication, "bye", "en").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PublicKey {
        let k = PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[7u8; 32]));
        k.public_key().clone()
    }

    #[test]
    fn a_pinned_key_is_read_from_a_key_line_a_known_hosts_line_or_a_fingerprint() {
        let k = key();
        let line = k.to_openssh().unwrap();
        let fp = fingerprint(&k);
        for pinned in [
            line.clone(),
            format!("{line} merchant@laptop"),
            format!("[sftp.flexfactor.example]:2222 {line}"),
            format!("desk-sk-host,10.0.0.1 {line} comment"),
            format!("  {fp}  "),
        ] {
            assert_eq!(pinned_fingerprint(&pinned).as_deref(), Some(fp.as_str()), "{pinned}");
        }
        assert_eq!(pinned_fingerprint("not a key"), None);
        assert_eq!(pinned_fingerprint(""), None);
    }

    #[test]
    fn only_the_pinned_key_matches_and_an_unparseable_pin_matches_nothing() {
        let k = key();
        let other = PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[8u8; 32]));
        let verifier =
            |expected: Option<&str>| Verifier { expected: expected.map(str::to_string), seen: Default::default() };
        let line = k.to_openssh().unwrap();
        assert!(verifier(Some(&line)).matches(&k));
        assert!(verifier(Some(&fingerprint(&k))).matches(&k));
        assert!(!verifier(Some(&line)).matches(other.public_key()));
        assert!(!verifier(Some("garbage")).matches(&k));
        // No pin: a connection test only (uploads check a pin is set before connecting).
        assert!(verifier(None).matches(&k));
        let unpinned = SftpSettings {
            host: "h".into(),
            port: 22,
            user: "u".into(),
            key_path: "/k".into(),
            host_key: " ".into(),
            inbound_dir: "/in".into(),
            outbound_dir: "/out".into(),
        };
        assert!(unpinned.check_connection().is_ok());
        assert!(matches!(unpinned.check(), Err(BatchError::Settings(m)) if m.contains("pin")));
    }
}
