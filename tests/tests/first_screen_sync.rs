//! Start-up order: with orders already in the mirror, the first screen is drawn from the
//! mirror before the first background sync starts (it waits for the UI's first rows, at most
//! a few seconds), so the sync does not compete with the window for the CPU and the disk.

use chrono::{TimeZone, Utc};
use flexdesk_core::dto::{EnvironmentDto, NewAccount};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::MemoryStore;
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn last_sync(app: &AppCore) -> Option<String> {
    app.app_status().unwrap().sync.last_sync_at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_of_a_start_waits_for_the_first_rows_on_screen() {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 300;
    let sandbox = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());

    // A previous run mirrored the account.
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets.clone());
    cc.background_sync = false;
    let first = AppCore::open(cc).unwrap();
    first
        .add_account(NewAccount {
            name: "Sandbox".into(),
            environment: EnvironmentDto::Sandbox,
            base_url: sandbox.base_url(),
            mid: sandbox.mid().to_string(),
            app_key: "key".into(),
            app_secret: "secret".into(),
        })
        .await
        .unwrap();
    first.sync_once().await.unwrap();
    first.shutdown().await;
    drop(first);
    // The cursor's time has a resolution of milliseconds or coarser: make a new sync visible.
    tokio::time::sleep(Duration::from_millis(20)).await;

    // This start: background sync on, as in the app.
    let app = AppCore::open(CoreConfig::new(dir.path().to_path_buf(), secrets)).unwrap();
    app.start().await.unwrap();
    let before = last_sync(&app);
    assert!(before.is_some(), "the previous sync is remembered");
    assert_eq!(app.app_status().unwrap().total_rows, 300, "the mirror answers at once");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(last_sync(&app), before, "no sync before the first rows are drawn (or the grace runs out)");

    // The UI reports its first rows: the sync follows.
    let drawn = Instant::now();
    app.first_rows_shown(30).unwrap();
    while last_sync(&app) == before {
        assert!(drawn.elapsed() < Duration::from_secs(30), "the first sync never ran after the first screen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown().await;
}
