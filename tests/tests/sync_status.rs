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
