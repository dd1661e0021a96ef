//! The OS keychain through `keyring` (Secret Service on Linux).

use crate::{Secret, SecretError, SecretStore, SERVICE};

/// The real keychain. On Linux the Secret Service backend is chosen explicitly, so a
/// missing daemon is an error rather than a silent switch to a session-only store.
pub struct KeychainStore {
    service: String,
}

impl KeychainStore {
    /// The store under FlexDesk's service name.
    pub fn new() -> KeychainStore {
        KeychainStore::with_service(SERVICE)
    }

    /// A store under another service name (tests use their own, to stay apart).
    pub fn with_service(service: &str) -> KeychainStore {
        #[cfg(target_os = "linux")]
        keyring::set_default_credential_builder(keyring::secret_service::default_credential_builder());
        KeychainStore { service: service.to_string() }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, key).map_err(|e| map_error(key, e))
    }
}

impl Default for KeychainStore {
    fn default() -> Self {
        KeychainStore::new()
    }
}

impl SecretStore for KeychainStore {
    #[tracing::instrument(skip(self, value), err)]
    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError> {
        self.entry(key)?.set_password(value.expose()).map_err(|e| map_error(key, e))
    }

    #[tracing::instrument(skip(self), err)]
    fn get(&self, key: &str) -> Result<Secret, SecretError> {
        self.entry(key)?.get_password().map(Secret::new).map_err(|e| map_error(key, e))
    }

    #[tracing::instrument(skip(self), err)]
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(key, e)),
        }
    }
}

/// Maps keyring's errors to ours: platform and access failures mean "no usable keychain".
fn map_error(key: &str, e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::NoEntry => SecretError::NotFound { key: key.to_string() },
        keyring::Error::PlatformFailure(inner) => SecretError::Unavailable { detail: plain(&inner.to_string()) },
        keyring::Error::NoStorageAccess(inner) => SecretError::Unavailable { detail: plain(&inner.to_string()) },
        other => SecretError::Other { key: key.to_string(), detail: other.to_string() },
    }
}

/// Turns the D-Bus jargon the platform reports into what it means for the user.
fn plain(detail: &str) -> String {
    if detail.contains("autolaunch") || detail.contains("NotSupported") || detail.contains("ServiceUnknown") {
        format!("no Secret Service is running on this desktop session ({detail})")
    } else if detail.contains("IsLocked") || detail.contains("locked") {
        format!("the keyring is locked ({detail})")
    } else if detail.contains("no result") {
        format!("the Secret Service has no unlocked default keyring ({detail})")
    } else {
        detail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn dbus_errors_become_plain_words() {
        assert!(plain("DBus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11")
            .starts_with("no Secret Service"));
        assert!(plain("Cannot create an item in a locked collection").starts_with("the keyring is locked"));
        assert!(plain("Secret Service: no result found").contains("no unlocked default keyring"));
    }
}
