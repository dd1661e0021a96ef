//! What the status bar hears from a sync through the app core, against the sandbox on
//! loopback: pending orders FlexFactor would not show are counted, not hidden.

use chrono::{TimeZone, Utc};
use flexdesk_core::dto::OrderQuery;
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_mirror::{OrderRecord, OrderState};
use flexdesk_secrets::MemoryStore;
use flexfactor_client::{ClientConfig, FlexFactorClient};
use flexfactor_sandbox::{Faults, Sandbox, SandboxConfig, SandboxCredentials};
use std::sync::Arc;

#[tokio::test]
async fn pending_orders_flexfactor_will_not_show_are_counted_in_the_sync_status_until_it_does() {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 300;
    let sandbox = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets.clone());
    cc.background_sync = false;
    let app = AppCore::open(cc).unwrap();
    let account = flexdesk_tests::sandbox_new_account(&sandbox);
    app.add_account(account).await.unwrap();
    app.sync_once().await.unwrap();
    assert_eq!(app.app_status().unwrap().sync.unreadable_orders, 0);

    // Two pending rebills are cancelled at FlexFactor (no webhook reaches this dashboard),
    // and FlexFactor refuses to show one of them.
    let rebills: Vec<String> = sandbox
        .orders_snapshot()
        .into_iter()
        .filter(|o| o.is_mit == Some(true) && OrderRecord::from_wire(o).state == OrderState::Pending)
        .map(|o| o.id)
        .take(2)
        .collect();
    assert_eq!(rebills.len(), 2, "the sandbox has two pending rebills");
    let client = FlexFactorClient::new(ClientConfig::new(sandbox.base_url(), "key", "secret")).unwrap();
    for id in &rebills {
        client.cancel(id, None).await.unwrap();
    }
    sandbox.set_faults(Faults {
        forbidden_rate: 1.0,
        only_path_suffix: Some(rebills[0].clone()),
        ..Default::default()
    });
    app.sync_once().await.expect("one order FlexFactor will not show does not fail the sync");
    let status = app.app_status().unwrap();
    assert_eq!((status.sync.unreadable_orders, status.sync.last_error), (1, None));
    // The status bar's link lists exactly that order.
    let unreadable = OrderQuery { unreadable: Some(true), limit: 50, ..Default::default() };
    let page = app.list_orders(&unreadable).unwrap();
    let listed: Vec<&str> = page.rows.iter().map(|r| r.order_session_key.as_str()).collect();
    assert_eq!((page.total, listed), (1, vec![rebills[0].as_str()]));

    // The count is the mirror's, not the last run's: it is there after a restart, before
    // any sync, and a run that fails (the API is down) leaves it as it was.
    app.shutdown().await;
    drop(app);
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets);
    cc.background_sync = false;
    let app = AppCore::open(cc).unwrap();
    app.start().await.unwrap();
    assert_eq!(app.app_status().unwrap().sync.unreadable_orders, 1, "counted again after a restart");
    sandbox.set_faults(Faults { error_rate: 1.0, ..Default::default() });
    app.sync_once().await.expect_err("the API is down");
    let status = app.app_status().unwrap();
    assert!(status.sync.last_error.is_some());
    assert_eq!(status.sync.unreadable_orders, 1, "a failed run does not forget the refused order");

    sandbox.set_faults(Faults::default());
    app.sync_once().await.unwrap();
    assert_eq!(app.app_status().unwrap().sync.unreadable_orders, 0);
    assert_eq!(app.list_orders(&unreadable).unwrap().total, 0, "none left to list");
    app.shutdown().await;
}

/// A sandbox with 50 orders, signed in with `key`/`secret`.
async fn small_sandbox() -> Sandbox {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 50;
    Sandbox::start(config).await.unwrap()
}

/// The app core on `dir` without background loops (the tests sync when they choose).
fn app_at(dir: &tempfile::TempDir, secrets: Arc<MemoryStore>) -> AppCore {
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets);
    cc.background_sync = false;
    AppCore::open(cc).unwrap()
}

#[tokio::test]
async fn a_sync_that_cannot_open_its_database_says_so_in_the_status() {
    let sandbox = small_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_at(&dir, Arc::new(MemoryStore::new()));
    app.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    app.sync_once().await.unwrap();

    // A newer FlexDesk upgraded the database meanwhile: this one must not write to it.
    let other = rusqlite::Connection::open(dir.path().join("mirror.sqlite3")).unwrap();
    other.pragma_update(None, "user_version", 9_999).unwrap();
    drop(other);
    app.sync_once().await.expect_err("the run cannot open the mirror");
    let status = app.app_status().unwrap();
    assert_eq!(status.sync.phase, flexdesk_core::dto::SyncPhase::Error, "{status:?}");
    let error = status.sync.last_error.expect("the status says why");
    assert!(error.message.contains("newer FlexDesk"), "{}", error.message);
}

#[tokio::test]
async fn an_account_whose_relay_token_is_gone_still_starts_and_syncs_with_the_relay_shown_offline_and_why() {
    use flexdesk_secrets::SecretStore;
    let sandbox = small_sandbox().await;
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = flexdesk_relay::Relay::start(flexdesk_relay::RelayConfig::new(
        relay_dir.path().join("relay.db"),
        b"0123456789abcdef0123456789abcdef".to_vec(),
        "feed-token-0123456789",
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let app = app_at(&dir, secrets.clone());
    let account = app.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    app.configure_relay(&relay.base_url(), "feed-token-0123456789").await.unwrap();
    assert!(app.app_status().unwrap().relay.configured);
    app.shutdown().await;
    drop(app);

    // The mirror came back from a backup on another computer: the feed token is not in its
    // keychain.
    secrets.delete(&flexdesk_secrets::account_key(&account.id, "relay-token")).unwrap();
    let app = app_at(&dir, secrets);
    app.start().await.expect("the account starts without its relay");
    let status = app.app_status().unwrap();
    assert_eq!(status.account.map(|a| a.id), Some(account.id.clone()));
    assert!(status.relay.configured && !status.relay.connected, "{:?}", status.relay);
    let why = status.relay.last_error.expect("the relay's problem is shown");
    assert!(why.message.contains("feed token") && why.message.contains("Settings"), "{}", why.message);
    app.sync_once().await.expect("orders still update by polling");
    app.shutdown().await;
    relay.shutdown().await;
}

#[tokio::test]
async fn an_account_that_cannot_start_is_shown_with_its_error_not_the_previous_one_as_healthy() {
    let sandbox = small_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_at(&dir, Arc::new(MemoryStore::new()));
    let first = app.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    let mut second = flexdesk_tests::sandbox_new_account(&sandbox);
    second.name = "Second".into();
    let second = app.add_account(second).await.unwrap();
    app.switch_account(&first.id).await.unwrap();
    app.sync_once().await.unwrap();
    // The second account's stored base URL is unusable (edited by hand, say).
    let other = rusqlite::Connection::open(dir.path().join("mirror.sqlite3")).unwrap();
    other.execute("UPDATE accounts SET base_url = 'ftp://flexfactor.invalid' WHERE id = ?1", [&second.id]).unwrap();
    drop(other);

    app.switch_account(&second.id).await.expect_err("the account cannot start");
    let status = app.app_status().unwrap();
    assert_eq!(status.account.map(|a| a.id), Some(second.id.clone()), "the account on screen is the one chosen");
    assert_eq!(status.sync.phase, flexdesk_core::dto::SyncPhase::Error);
    let why = status.sync.last_error.expect("and why it does not sync");
    assert!(why.message.contains("ftp://flexfactor.invalid"), "{}", why.message);
    app.shutdown().await;
}

#[tokio::test]
async fn the_webhooks_screen_lists_a_payout_with_no_order_and_nothing_to_replay() {
    let sandbox = small_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app_at(&dir, Arc::new(MemoryStore::new()));
    let account = app.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    app.sync_once().await.unwrap();
    // An order webhook, then a payout, as the feed applies them.
    let order = sandbox.orders_snapshot().into_iter().next().unwrap().id;
    let mut mirror = flexdesk_mirror::Mirror::open(&dir.path().join("mirror.sqlite3")).unwrap();
    let completed = format!(r#"{{"Event":"order.completed","OrderId":"{order}","ConfirmationId":"C1"}}"#);
    flexdesk_sync::apply_webhook(&mut mirror, &account.id, &completed, Utc::now(), None).unwrap();
    let payout = r#"{"Event":"payout.created","PayoutId":"P9","Amount":1250}"#;
    flexdesk_sync::apply_webhook(&mut mirror, &account.id, payout, Utc::now() + chrono::Duration::seconds(1), None)
        .unwrap();

    let log = app.webhook_log(50).await.unwrap();
    let events: Vec<(&str, Option<&str>, bool)> =
        log.events.iter().map(|e| (e.event.as_str(), e.order_session_key.as_deref(), e.replayable)).collect();
    assert_eq!(events, [("payout.created", None, false), ("order.completed", Some(order.as_str()), true)]);
    assert_eq!(log.events[0].payload.as_deref(), Some(payout));
    assert!(log.events[0].id < 0 && log.events[1].id > 0, "ids never collide: {:?}", log.events);
    // Replay is for order webhooks: asked for a payout, it says there is nothing to replay.
    let refused = app.replay_webhook(log.events[0].id).await.expect_err("a payout names no order to re-read");
    assert!(refused.to_string().contains("no stored webhook"), "{refused}");
    app.shutdown().await;
}
