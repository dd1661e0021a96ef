//! The Demo account: the embedded default when no account is configured. Its API is an
//! in-process FlexFactor sandbox on a loopback port, seeded deterministically, and its
//! generated credentials live in the OS keychain like any other account's.

use chrono::{DateTime, DurationRound, Utc};
use flexdesk_mirror::{Account, Environment};
use flexdesk_secrets::{account_key, Secret, SecretStore};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use rand::distributions::{Alphanumeric, DistString};

use crate::CoreError;

/// The seed of the Demo history: every install shows the same kind of merchant.
pub const DEMO_SEED: u64 = 0x00F1_E7DE_5C20_2611;
/// Orders in the Demo history.
pub const DEMO_ORDER_COUNT: usize = 20_000;
/// The keychain purpose of an account's AppSecret.
pub(crate) const APP_SECRET: &str = "app-secret";

/// Creates the Demo account: generated credentials go to the keychain first; if that
/// fails, nothing is saved anywhere and the error says why.
pub(crate) fn create_demo_account(secrets: &dyn SecretStore, now: DateTime<Utc>) -> Result<Account, CoreError> {
    let id = crate::core::new_account_id("demo");
    let mut rng = rand::thread_rng();
    let app_key = Alphanumeric.sample_string(&mut rng, 40);
    let app_secret = Secret::new(Alphanumeric.sample_string(&mut rng, 88));
    secrets.set(&account_key(&id, APP_SECRET), &app_secret)?;
    let anchor = now.duration_trunc(chrono::Duration::days(1)).unwrap_or(now);
    let sandbox = SandboxConfig::demo(
        DEMO_SEED,
        anchor,
        SandboxCredentials { app_key: app_key.clone(), app_secret: String::new() },
    );
    Ok(Account {
        id,
        name: "Demo merchant".into(),
        environment: Environment::Demo,
        base_url: "in-process sandbox".into(),
        mid: sandbox.mid,
        app_key,
        demo_seed: Some(DEMO_SEED),
        demo_anchor: Some(anchor),
        created_at: now,
    })
}

/// Starts the Demo account's sandbox with the same history as every earlier start.
pub(crate) async fn start_demo_sandbox(
    account: &Account,
    app_secret: &Secret,
    order_count: usize,
) -> Result<Sandbox, CoreError> {
    let seed = account.demo_seed.unwrap_or(DEMO_SEED);
    let anchor = account.demo_anchor.unwrap_or(account.created_at);
    let mut config = SandboxConfig::demo(
        seed,
        anchor,
        SandboxCredentials { app_key: account.app_key.clone(), app_secret: app_secret.expose().to_string() },
    );
    config.order_count = order_count;
    Sandbox::start(config).await.map_err(|e| CoreError::Internal(format!("the Demo sandbox could not start: {e}")))
}

/// The Demo account's in-process webhook relay: the sandbox signs its webhooks for it, so
/// the Demo shows the whole live path (sandbox → signed webhook → relay → feed → mirror).
/// Its subscriber key and feed token are generated per start and live only in memory.
pub(crate) struct DemoRelay {
    pub relay: flexdesk_relay::Relay,
    pub feed_token: String,
}

pub(crate) async fn start_demo_relay(data_dir: &std::path::Path, sandbox: &Sandbox) -> Result<DemoRelay, CoreError> {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut key);
    let feed_token = Alphanumeric.sample_string(&mut rand::thread_rng(), 40);
    let config =
        flexdesk_relay::RelayConfig::new(data_dir.join("demo-relay.sqlite3"), key.to_vec(), feed_token.clone());
    let relay = flexdesk_relay::Relay::start(config)
        .await
        .map_err(|e| CoreError::Internal(format!("the Demo webhook relay could not start: {e}")))?;
    sandbox
        .set_webhook_targets(&[flexfactor_sandbox::WebhookTarget {
            url: format!("{}/webhooks", relay.base_url()),
            subscriber_key_base64: base64::engine::general_purpose::STANDARD.encode(key),
        }])
        .map_err(|e| CoreError::Internal(format!("the Demo sandbox refused its webhook target: {e}")))?;
    Ok(DemoRelay { relay, feed_token })
}
