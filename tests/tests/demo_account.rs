//! The app core's Demo account end to end (sandbox on loopback, real SQLite file), with an
//! in-memory secret store; the real keychain is covered by `keychain.rs`.

use flexdesk_core::dto::{OrderQuery, SyncPhase};
use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_secrets::{MemoryStore, SecretStore};
use std::sync::Arc;

fn core(dir: &std::path::Path, secrets: Arc<dyn SecretStore>) -> AppCore {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.demo_order_count = 3_000;
    config.background_sync = false;
    config.demo_traffic_per_minute = 0;
    AppCore::open(config).unwrap()
}

#[tokio::test]
async fn first_start_opens_the_demo_account_and_backfills_it() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let app = core(dir.path(), secrets.clone());
    let account = app.start().await.unwrap();
    assert_eq!(account.name, "Demo merchant");
    assert!(account.base_url.starts_with("http://127.0.0.1:"));
    let report = app.sync_once().await.unwrap();
    assert_eq!(report.inserted, 3_000);
    let status = app.app_status().unwrap();
    assert_eq!(status.total_rows, 3_000);
    assert_eq!(status.sync.phase, SyncPhase::Idle);
    assert!(status.sync.last_sync_at.is_some());

    let page = app.list_orders(&OrderQuery { limit: 1, ..Default::default() }).unwrap();
    let merchant_id = page.rows[0].merchant_order_id.clone().unwrap();
    let found =
        app.list_orders(&OrderQuery { search: Some(merchant_id.clone()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].merchant_order_id.as_deref(), Some(merchant_id.as_str()));
    app.shutdown().await;
}

#[tokio::test]
async fn restarting_reuses_the_mirror_and_the_same_demo_history() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let first = core(dir.path(), secrets.clone());
    let a = first.start().await.unwrap();
    first.sync_once().await.unwrap();
    first.shutdown().await;
    drop(first);

    let second = core(dir.path(), secrets.clone());
    let b = second.start().await.unwrap();
    assert_eq!(a.id, b.id, "a second Demo account was created");
    assert_eq!(second.app_status().unwrap().total_rows, 3_000, "the mirror was not reused");
    let report = second.sync_once().await.unwrap();
    assert!(!report.backfilled);
    assert_eq!((report.inserted, report.updated), (0, 0), "the same seeded history changed: {report:?}");
    assert_eq!(second.list_accounts().unwrap().len(), 1);
    second.shutdown().await;
}

#[tokio::test]
async fn without_a_keychain_nothing_is_stored_and_the_error_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let app = core(dir.path(), Arc::new(MemoryStore::unavailable()));
    let err = app.start().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeychainUnavailable);
    let status = app.app_status().unwrap();
    assert_eq!(status.setup_error.unwrap().code, ErrorCode::KeychainUnavailable);
    assert!(app.list_accounts().unwrap().is_empty(), "an account was saved without its secret");
}

#[tokio::test]
async fn adding_an_account_with_a_wrong_secret_is_rejected_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let app = core(dir.path(), secrets);
    let demo = app.start().await.unwrap();
    let err = app
        .add_account(flexdesk_core::dto::NewAccount {
            name: "Wrong".into(),
            environment: flexdesk_core::dto::EnvironmentDto::Custom,
            base_url: demo.base_url.clone(),
            mid: demo.mid.clone(),
            app_key: "whatever".into(),
            app_secret: "wrong".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::CredentialsRejected);
    assert!(err.user_message().contains("did not accept this AppKey/AppSecret"));
    assert_eq!(app.list_accounts().unwrap().len(), 1);
    app.shutdown().await;
}

/// The Demo account started with live traffic (about ten orders a second) over 300 orders.
async fn live_demo(dir: &std::path::Path, secrets: Arc<dyn SecretStore>) -> AppCore {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.demo_order_count = 300;
    config.demo_traffic_per_minute = 600;
    let app = AppCore::open(config).unwrap();
    app.start().await.unwrap();
    app
}

#[tokio::test]
async fn demo_webhooks_flow_through_the_relay_into_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let app = live_demo(dir.path(), Arc::new(MemoryStore::new())).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = app.app_status().unwrap();
        // A webhook the Demo's traffic sent while the feed was waiting shows its lag.
        if status.relay.events_applied > 0 && status.sync.last_sync_at.is_some() && status.relay.last_lag_ms.is_some() {
            assert!(status.relay.connected);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no webhook reached the mirror: {:?}", status.relay);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.shutdown().await;
    // The webhook is in some order's timeline, with its raw payload.
    let conn = rusqlite::Connection::open(dir.path().join("mirror.sqlite3")).unwrap();
    let (kind, payload): (String, String) = conn
        .query_row("SELECT kind, payload FROM timeline WHERE kind LIKE 'webhook:%' LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(kind.starts_with("webhook:order.") || kind.starts_with("webhook:challenge."), "{kind}");
    assert!(payload.contains("\"Event\""));
}

/// Sets the Demo sandbox's fault switches over HTTP, as a test outside the app would.
async fn set_demo_faults(
    app: &AppCore,
    data_dir: &std::path::Path,
    secrets: &dyn SecretStore,
    faults: serde_json::Value,
) {
    let account = app.app_status().unwrap().account.unwrap();
    let (_, app_key) = flexdesk_tests::e2e::demo_account(data_dir);
    let secret = secrets.get(&flexdesk_secrets::account_key(&account.id, "app-secret")).unwrap();
    let http = reqwest::Client::new();
    let bearer = flexdesk_tests::access_token(&http, &account.base_url, &app_key, secret.expose()).await;
    let root = account.base_url.trim_end_matches("/v1");
    let resp = http.post(format!("{root}/sandbox/faults")).bearer_auth(bearer).json(&faults).send().await.unwrap();
    assert!(resp.status().is_success(), "setting faults: HTTP {}", resp.status());
}

#[tokio::test]
async fn a_slow_flexfactor_api_does_not_hold_back_the_next_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let app = live_demo(dir.path(), secrets.clone()).await;
    wait_for_relay(&app, "a first webhook", |r| r.connected && r.last_event_at.is_some()).await;
    // Every API request now takes 1.5 s, the re-reads of the orders webhooks name too. The
    // traffic (about ten orders a second) keeps sending webhooks through the relay.
    set_demo_faults(&app, dir.path(), secrets.as_ref(), serde_json::json!({"latencyMs": 1500})).await;
    // How old the newest webhook applied is, sampled for 10 s: were the feed waiting for the
    // re-reads of the orders its last webhooks named, it would go seconds without applying one.
    let mut worst = chrono::Duration::zero();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let applied_before = app.app_status().unwrap().relay.events_applied;
    while std::time::Instant::now() < until {
        let relay = app.app_status().unwrap().relay;
        let newest = chrono::DateTime::parse_from_rfc3339(relay.last_event_at.as_deref().unwrap()).unwrap();
        worst = worst.max(chrono::Utc::now().signed_duration_since(newest));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let applied = app.app_status().unwrap().relay.events_applied - applied_before;
    app.shutdown().await;
    assert!(applied >= 20, "only {applied} webhooks applied in 10 s");
    assert!(
        worst < chrono::Duration::milliseconds(4000),
        "the newest webhook applied was {} ms old at worst while the API was slow",
        worst.num_milliseconds()
    );
}

/// Polls the relay status until `check` holds; panics naming `what` after 60 s.
async fn wait_for_relay(
    app: &AppCore,
    what: &str,
    check: impl Fn(&flexdesk_core::dto::RelayStatus) -> bool,
) -> flexdesk_core::dto::RelayStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let relay = app.app_status().unwrap().relay;
        if check(&relay) {
            return relay;
        }
        assert!(std::time::Instant::now() < deadline, "waiting for {what}: {relay:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn webhooks_the_mirror_cannot_save_are_shown_as_such_not_as_an_offline_relay() {
    let dir = tempfile::tempdir().unwrap();
    let app = live_demo(dir.path(), Arc::new(MemoryStore::new())).await;
    wait_for_relay(&app, "a first webhook", |r| r.connected && r.events_applied > 0).await;
    // Writing a webhook into an order's timeline now fails, as on a damaged disk.
    let conn = rusqlite::Connection::open(dir.path().join("mirror.sqlite3")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER test_no_webhooks BEFORE INSERT ON timeline WHEN NEW.kind LIKE 'webhook:%' \
         BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;",
    )
    .unwrap();
    let failing = wait_for_relay(&app, "the failure to show", |r| r.last_error.is_some()).await;
    assert!(failing.connected, "the relay answered: it is not shown offline: {failing:?}");
    let message = &failing.last_error.as_ref().unwrap().message;
    assert!(message.contains("simulated write failure"), "the reason is given: {message}");
    // Fixed, the webhooks the relay kept are saved and the error goes.
    conn.execute_batch("DROP TRIGGER test_no_webhooks").unwrap();
    let applied = failing.events_applied;
    wait_for_relay(&app, "the webhooks to be saved again", |r| r.last_error.is_none() && r.events_applied > applied)
        .await;
    app.shutdown().await;
}
