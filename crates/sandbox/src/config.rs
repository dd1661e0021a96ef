//! What a sandbox instance serves: seed, size of the history, accepted credentials.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::faults::Faults;
use crate::rules::{default_evaluate_required, DecisionRule, Timing};
use crate::webhooks::{ResolvedTarget, WebhookSettings, WebhookTarget};
use crate::SandboxError;

/// Salt mixed into the seed to derive the merchant id, so the MID does not depend on
/// how many orders are generated.
const MID_SALT: u64 = 0x4d49_445f_5341_4c54;
/// Salt of the tokenization key.
const TOKENIZATION_SALT: u64 = 0x544f_4b45_4e49_5a45;

/// One accepted `AppKey`/`AppSecret` pair. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SandboxCredentials {
    pub app_key: String,
    pub app_secret: String,
}

impl SandboxCredentials {
    pub fn new(app_key: impl Into<String>, app_secret: impl Into<String>) -> Self {
        SandboxCredentials { app_key: app_key.into(), app_secret: app_secret.into() }
    }
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxCredentials").field("app_key", &self.app_key).field("app_secret", &"<redacted>").finish()
    }
}

/// Everything a [`crate::Sandbox`] needs. The seeded history is a pure function of
/// `(seed, order_count, history_days, anchor, mid)`.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Seed of the deterministic history.
    pub seed: u64,
    /// Number of seeded orders (default 20,000).
    pub order_count: usize,
    /// The history spans `[anchor - history_days, anchor]` (default 90).
    pub history_days: u32,
    /// "Now" of the seeded history. Only the history uses it; tokens use the real clock.
    pub anchor: DateTime<Utc>,
    /// Accepted `AppKey`/`AppSecret` pairs; at least one.
    pub credentials: Vec<SandboxCredentials>,
    /// Merchant id (GUID string) the seeded orders belong to; the `mid` filter matches it.
    pub mid: String,
    /// Lifetime of an access token (default 600 s, as documented).
    pub token_ttl: Duration,
    /// Largest `pageSize` served; larger values are clamped (default 1000).
    pub max_page_size: u32,
    /// Where to listen (default `127.0.0.1:0`, an ephemeral port).
    pub bind: SocketAddr,
    /// `Some(t)`: virtual time starts frozen at `t` and moves only on
    /// `Sandbox::advance_clock` (tests). `None` (default): wall time plus everything
    /// advanced so far, with due steps applied every second.
    pub clock_start: Option<DateTime<Utc>>,
    /// The `environment` value `/tokenize` requires (default derived from `seed`).
    pub tokenization_key: String,
    /// Decision rules, first match wins (default [`DecisionRule::defaults`]).
    pub decision_rules: Vec<DecisionRule>,
    /// Delays of asynchronous steps, capture window, idempotency TTL, fallback outcome.
    pub timing: Timing,
    /// Dotted PascalCase paths `/evaluate` requires (default
    /// [`crate::default_evaluate_required`]).
    pub evaluate_required: Vec<String>,
    /// Webhook subscribers (default none).
    pub webhooks: Vec<WebhookTarget>,
    pub webhook_settings: WebhookSettings,
    /// Injected faults (default none).
    pub faults: Faults,
}

impl SandboxConfig {
    /// The documented defaults: 20,000 orders over 90 days, 600 s tokens, pages of at most
    /// 1000, loopback on an ephemeral port, and a MID derived from `seed`.
    pub fn demo(seed: u64, anchor: DateTime<Utc>, credentials: SandboxCredentials) -> Self {
        SandboxConfig {
            seed,
            order_count: 20_000,
            history_days: 90,
            anchor,
            credentials: vec![credentials],
            mid: derive_mid(seed),
            token_ttl: Duration::from_secs(600),
            max_page_size: 1000,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            clock_start: None,
            tokenization_key: derive_tokenization_key(seed),
            decision_rules: DecisionRule::defaults(),
            timing: Timing::default(),
            evaluate_required: default_evaluate_required(),
            webhooks: Vec::new(),
            webhook_settings: WebhookSettings::default(),
            faults: Faults::default(),
        }
    }

    /// Rejects configurations the server cannot honour.
    ///
    /// # Errors
    /// [`SandboxError::InvalidConfig`] naming the offending field.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let invalid =
            |field: &'static str, reason: &str| Err(SandboxError::InvalidConfig { field, reason: reason.to_string() });
        if self.credentials.is_empty() {
            return invalid("credentials", "at least one AppKey/AppSecret pair is required");
        }
        if self.credentials.iter().any(|c| c.app_key.is_empty() || c.app_secret.is_empty()) {
            return invalid("credentials", "AppKey and AppSecret must not be empty");
        }
        if self.history_days == 0 {
            return invalid("history_days", "must be at least 1");
        }
        if self.max_page_size == 0 {
            return invalid("max_page_size", "must be at least 1");
        }
        if self.token_ttl.is_zero() {
            return invalid("token_ttl", "must be positive");
        }
        if self.mid.trim().is_empty() {
            return invalid("mid", "must not be empty");
        }
        if self.tokenization_key.trim().is_empty() {
            return invalid("tokenization_key", "must not be empty");
        }
        for target in &self.webhooks {
            if let Err(reason) = ResolvedTarget::resolve(target) {
                return invalid("webhooks", &reason);
            }
        }
        let rates = [
            self.faults.error_rate,
            self.faults.rate_limit_rate,
            self.faults.forbidden_rate,
            self.faults.drop_connection_rate,
            self.faults.drop_response_after_commit_rate,
            self.webhook_settings.duplicate_rate,
        ];
        if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
            return invalid("faults", "rates must be within [0, 1]");
        }
        Ok(())
    }
}

/// The merchant GUID `SandboxConfig::demo` uses for `seed`.
pub fn derive_mid(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ MID_SALT);
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// The tokenization key `SandboxConfig::demo` uses for `seed` (base64-like, 32 chars).
pub fn derive_tokenization_key(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ TOKENIZATION_SALT);
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("tok_{}", crate::problem::hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_the_secret() {
        let c = SandboxCredentials::new("key-1", "very-secret-value");
        let shown = format!("{c:?}");
        assert!(shown.contains("key-1"));
        assert!(!shown.contains("very-secret-value"));
    }

    #[test]
    fn demo_mid_is_a_guid_derived_from_the_seed() {
        let c = SandboxCredentials::new("k", "s");
        let a = SandboxConfig::demo(7, Utc::now(), c.clone());
        let b = SandboxConfig::demo(7, Utc::now(), c.clone());
        let other = SandboxConfig::demo(8, Utc::now(), c);
        assert_eq!(a.mid, b.mid);
        assert_ne!(a.mid, other.mid);
        assert!(uuid::Uuid::parse_str(&a.mid).is_ok());
    }

    #[test]
    fn config_without_credentials_is_rejected() {
        let mut c = SandboxConfig::demo(1, Utc::now(), SandboxCredentials::new("k", "s"));
        c.credentials.clear();
        assert!(matches!(c.validate(), Err(SandboxError::InvalidConfig { field: "credentials", .. })));
    }
}
