//! Secrets (AppSecret, webhook keys, tokens) stored in the OS keychain and nowhere else.
//!
//! What it does: a [`SecretStore`] trait, the real [`KeychainStore`] (Secret Service on
//! Linux, via `keyring` with explicit platform features), a [`Secret`] wrapper whose
//! `Debug`/`Display` never show the value, and error mapping from keyring's platform
//! errors to a plain [`SecretError::Unavailable`] that says what to do.
//!
//! What it deliberately does not do: there is no fallback to files, SQLite or memory in
//! production code. If the keychain is unusable, callers get an error and store nothing.
//! ([`MemoryStore`] exists for unit tests of other crates and is never chosen implicitly.)

mod error;
mod keychain;
mod memory;
mod secret;

pub use error::SecretError;
pub use keychain::KeychainStore;
pub use memory::MemoryStore;
pub use secret::Secret;

/// The service name under which FlexDesk's entries live in the keychain.
pub const SERVICE: &str = "dev.flexdesk.app";

/// Where secrets live. Keys are `account_id/purpose` strings such as `acct-1/app-secret`.
pub trait SecretStore: Send + Sync {
    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError>;
    fn get(&self, key: &str) -> Result<Secret, SecretError>;
    fn delete(&self, key: &str) -> Result<(), SecretError>;
    /// Writes, reads back and deletes a probe entry: Ok means secrets can be stored now.
    fn probe(&self) -> Result<(), SecretError> {
        let key = "flexdesk-probe";
        let value = Secret::new("probe");
        self.set(key, &value)?;
        let back = self.get(key)?;
        self.delete(key)?;
        if back.expose() == value.expose() {
            Ok(())
        } else {
            Err(SecretError::Unavailable { detail: "the keychain returned a different value than was stored".into() })
        }
    }
}

/// The keychain key for an account's secret of the given purpose.
pub fn account_key(account_id: &str, purpose: &str) -> String {
    format!("{account_id}/{purpose}")
}
