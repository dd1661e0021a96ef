//! SFTP settings of a real (non-Demo) account: host, port, user, private key file, the
//! inbound/outbound folders, the key passphrase and the pinned host key.
//!
//! Where things live: the settings (no secret) as JSON in the mirror's settings table
//! under `sftp:<account id>`; the key passphrase in the OS keychain only; the host key is
//! pinned by the user after "Test connection" showed its fingerprint. Uploads refuse a
//! server whose key is not pinned or does not match ([`flexdesk_batch::SftpClient`]).
//!
//! The Demo account needs none of this: it uses the sandbox's SFTP endpoint with a key
//! generated into the data directory and the endpoint's host key pinned automatically.

use flexdesk_batch::{pinned_fingerprint, probe, ProbeOutcome, SftpSettings};
use flexdesk_mirror::{Account, Environment};
use flexdesk_secrets::{account_key, Secret, SecretError};

use crate::batch_dto::{SftpSettingsInput, SftpSettingsView, SftpTestOutcome, SftpTestResult};
use crate::batches::SFTP_PASSPHRASE;
use crate::{AppCore, CoreError};

fn setting_key(account_id: &str) -> String {
    format!("sftp:{account_id}")
}

fn outcome_dto(o: ProbeOutcome) -> SftpTestOutcome {
    match o {
        ProbeOutcome::Ok => SftpTestOutcome::Ok,
        ProbeOutcome::HostKeyUnpinned => SftpTestOutcome::HostKeyUnpinned,
        ProbeOutcome::HostKeyMismatch => SftpTestOutcome::HostKeyMismatch,
        ProbeOutcome::Unreachable => SftpTestOutcome::Unreachable,
        ProbeOutcome::AuthFailed => SftpTestOutcome::AuthFailed,
        ProbeOutcome::KeyUnreadable => SftpTestOutcome::KeyUnreadable,
        ProbeOutcome::FolderMissing => SftpTestOutcome::FolderMissing,
        ProbeOutcome::Settings => SftpTestOutcome::Settings,
        ProbeOutcome::Failed => SftpTestOutcome::Failed,
    }
}

impl AppCore {
    fn active_real_account(&self) -> Result<Account, CoreError> {
        let account = self.with_reader(|m| Ok(m.active_account()?))?.ok_or(CoreError::NoAccount)?;
        if account.environment == Environment::Demo {
            return Err(CoreError::InvalidInput(
                "The Demo account uses the built-in sandbox SFTP endpoint: there is nothing to set up.".into(),
            ));
        }
        Ok(account)
    }

    fn saved_sftp(&self, account_id: &str) -> Result<Option<SftpSettings>, CoreError> {
        let json = self.with_reader(|m| Ok(m.setting(&setting_key(account_id))?))?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| CoreError::Internal(format!("saved SFTP settings: {e}"))))
            .transpose()
    }

    fn save_sftp(&self, account_id: &str, settings: &SftpSettings) -> Result<(), CoreError> {
        let json = serde_json::to_string(settings).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.with_reader(|m| Ok(m.set_setting(&setting_key(account_id), &json)?))
    }

    /// The active account's SFTP settings (for the Demo account, `demo: true` and nothing else).
    pub fn sftp_settings(&self) -> Result<SftpSettingsView, CoreError> {
        let account = self.with_reader(|m| Ok(m.active_account()?))?.ok_or(CoreError::NoAccount)?;
        let demo = account.environment == Environment::Demo;
        let saved = if demo { None } else { self.saved_sftp(&account.id)? };
        let has_passphrase = !demo
            && match self.inner().config.secrets.get(&account_key(&account.id, SFTP_PASSPHRASE)) {
                Ok(_) => true,
                Err(SecretError::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            };
        let s = saved.clone().unwrap_or_else(|| SftpSettings {
            host: String::new(),
            port: 22,
            user: String::new(),
            key_path: Default::default(),
            host_key: String::new(),
            inbound_dir: String::new(),
            outbound_dir: String::new(),
        });
        Ok(SftpSettingsView {
            demo,
            configured: saved.is_some(),
            pinned_fingerprint: Some(s.host_key.trim()).filter(|k| !k.is_empty()).and_then(pinned_fingerprint),
            host: s.host,
            port: s.port,
            user: s.user,
            key_path: s.key_path.display().to_string(),
            inbound_dir: s.inbound_dir,
            outbound_dir: s.outbound_dir,
            has_passphrase,
        })
    }

    /// Saves SFTP settings for the active (non-Demo) account. The passphrase goes to the
    /// keychain (never the mirror or a log). An empty `host_key` keeps the pinned key while
    /// host and port stay the same; a changed server must be tested and pinned again.
    ///
    /// # Errors
    /// `InvalidInput` for the Demo account, incomplete settings or a host key that is
    /// neither an OpenSSH public key nor a `SHA256:` fingerprint; keychain errors.
    pub fn configure_sftp(&self, input: SftpSettingsInput) -> Result<(), CoreError> {
        let account = self.active_real_account()?;
        let previous = self.saved_sftp(&account.id)?;
        let mut settings = SftpSettings {
            host: input.host.trim().into(),
            port: input.port,
            user: input.user.trim().into(),
            key_path: input.key_path.trim().into(),
            host_key: input.host_key.trim().into(),
            inbound_dir: input.inbound_dir.trim().into(),
            outbound_dir: input.outbound_dir.trim().into(),
        };
        settings.check_connection().map_err(|e| CoreError::InvalidInput(e.to_string()))?;
        if settings.host_key.is_empty() {
            if let Some(p) = previous.filter(|p| p.host == settings.host && p.port == settings.port) {
                settings.host_key = p.host_key;
            }
        } else if pinned_fingerprint(&settings.host_key).is_none() {
            return Err(CoreError::InvalidInput(
                "The host key must be an OpenSSH public key line (ssh-ed25519 AAAA…) or a SHA256: fingerprint.".into(),
            ));
        }
        if let Some(p) = input.passphrase.filter(|p| !p.is_empty()) {
            self.inner().config.secrets.set(&account_key(&account.id, SFTP_PASSPHRASE), &Secret::new(p))?;
        }
        self.save_sftp(&account.id, &settings)?;
        tracing::info!(account = %account.id, host = %settings.host, port = settings.port, "SFTP settings saved");
        Ok(())
    }

    /// "Test connection" with the active account's saved settings (the Demo account: its
    /// sandbox endpoint): reaches the server, checks the host key against the pinned one
    /// (none pinned: shows the server's for pinning), signs in, checks both folders.
    /// Nothing is uploaded. Problems are outcomes with a message, not errors.
    ///
    /// # Errors
    /// `InvalidInput` when no settings were saved; keychain and storage errors.
    pub async fn test_sftp_connection(&self) -> Result<SftpTestResult, CoreError> {
        let account_id = self.active_account_id()?;
        let (settings, passphrase) = self.sftp_for(&account_id).await?;
        let r = probe(&settings, passphrase.as_deref()).await;
        Ok(SftpTestResult {
            outcome: outcome_dto(r.outcome),
            message: r.message,
            host_key: r.host_key,
            host_key_fingerprint: r.host_key_fingerprint,
            pinned_fingerprint: r.pinned_fingerprint,
        })
    }

    /// Pins `host_key` (the OpenSSH line "Test connection" returned, or a `SHA256:`
    /// fingerprint) as the active account's SFTP server key, replacing any earlier pin.
    ///
    /// # Errors
    /// `InvalidInput` for the Demo account, when no settings were saved, or for a value
    /// that is not a host key.
    pub fn pin_sftp_host_key(&self, host_key: &str) -> Result<SftpSettingsView, CoreError> {
        let account = self.active_real_account()?;
        let mut settings = self.saved_sftp(&account.id)?.ok_or_else(|| {
            CoreError::InvalidInput("Save the SFTP settings and run Test connection before pinning a host key.".into())
        })?;
        let fingerprint = pinned_fingerprint(host_key).ok_or_else(|| {
            CoreError::InvalidInput(
                "The host key must be an OpenSSH public key line (ssh-ed25519 AAAA…) or a SHA256: fingerprint.".into(),
            )
        })?;
        settings.host_key = host_key.trim().to_string();
        self.save_sftp(&account.id, &settings)?;
        tracing::info!(account = %account.id, %fingerprint, "SFTP host key pinned");
        self.sftp_settings()
    }
}
