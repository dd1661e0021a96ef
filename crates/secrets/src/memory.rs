//! An in-memory store for unit tests of other crates. Never a production fallback.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Secret, SecretError, SecretStore};

/// A `HashMap` behind a mutex; `unavailable()` builds one that fails like a missing keychain.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Secret>>,
    unavailable: bool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that behaves like a machine with no keychain.
    pub fn unavailable() -> MemoryStore {
        MemoryStore { entries: Mutex::default(), unavailable: true }
    }

    fn check(&self) -> Result<(), SecretError> {
        if self.unavailable {
            Err(SecretError::Unavailable { detail: "test store configured as unavailable".into() })
        } else {
            Ok(())
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Secret>>, SecretError> {
        self.entries.lock().map_err(|_| SecretError::Other { key: String::new(), detail: "poisoned".into() })
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError> {
        self.check()?;
        self.lock()?.insert(key.to_string(), value.clone());
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Secret, SecretError> {
        self.check()?;
        self.lock()?.get(key).cloned().ok_or_else(|| SecretError::NotFound { key: key.to_string() })
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.check()?;
        self.lock()?.remove(key);
        Ok(())
    }
}
