//! Keychain errors, in words a user can act on.

/// Why a secret could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No usable keychain: no Secret Service on the session bus, a locked collection, or
    /// no session bus at all. Nothing was stored anywhere.
    #[error(
        "No usable OS keychain: {detail}. FlexDesk stores credentials only in the keychain, so \
         nothing was saved. Start or unlock your desktop keyring (GNOME Keyring / KWallet), \
         or run FlexDesk inside a desktop session, then try again."
    )]
    Unavailable { detail: String },
    /// The keychain works but has no entry under this key.
    #[error("no keychain entry for {key}")]
    NotFound { key: String },
    /// Any other keychain failure.
    #[error("keychain error for {key}: {detail}")]
    Other { key: String, detail: String },
}
