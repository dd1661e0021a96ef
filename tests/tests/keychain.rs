//! The real OS keychain (Secret Service). Run by `scripts/test.sh` inside a private
//! `dbus-run-session` with an unlocked gnome-keyring; ignored by a plain `cargo test`.

use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_secrets::{account_key, KeychainStore, Secret, SecretError, SecretStore};
use std::sync::Arc;

fn test_store() -> KeychainStore {
    KeychainStore::with_service(&format!("dev.flexdesk.test.{}", uuid::Uuid::new_v4().simple()))
}

#[test]
#[ignore = "needs a Secret Service: run scripts/test.sh"]
fn secret_round_trips_through_the_secret_service() {
    let store = test_store();
    store.probe().unwrap();
    store.set("acct/app-secret", &Secret::new("s3cret-value")).unwrap();
    assert_eq!(store.get("acct/app-secret").unwrap().expose(), "s3cret-value");
    store.delete("acct/app-secret").unwrap();
    assert!(matches!(store.get("acct/app-secret"), Err(SecretError::NotFound { .. })));
}

#[tokio::test]
#[ignore = "needs a Secret Service: run scripts/test.sh"]
async fn demo_credentials_live_in_the_keychain_and_not_in_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(test_store());
    let mut config = CoreConfig::new(dir.path().to_path_buf(), store.clone());
    config.demo_order_count = 200;
    config.background_sync = false;
    let app = AppCore::open(config).unwrap();
    let account = app.start().await.unwrap();
    app.sync_once().await.unwrap();
    app.shutdown().await;

    let secret = store.get(&account_key(&account.id, "app-secret")).unwrap();
    assert!(secret.expose().len() >= 40);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let needle = secret.expose().as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the AppSecret was written to {}",
                path.display()
            );
        }
    }
    store.delete(&account_key(&account.id, "app-secret")).unwrap();
}

#[tokio::test]
#[ignore = "needs a Secret Service: run scripts/test.sh"]
async fn with_no_session_bus_the_keychain_is_reported_unavailable() {
    // This test process only: point D-Bus at a socket that does not exist.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/flexdesk-bus") };
    let store = test_store();
    let err = store.set("x", &Secret::new("y")).unwrap_err();
    assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");

    let dir = tempfile::tempdir().unwrap();
    let mut config = CoreConfig::new(dir.path().to_path_buf(), Arc::new(store));
    config.background_sync = false;
    let app = AppCore::open(config).unwrap();
    let err = app.start().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeychainUnavailable);
    assert!(app.list_accounts().unwrap().is_empty());
}
