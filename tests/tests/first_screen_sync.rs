//! Start-up order: with orders already in the mirror, the first screen is drawn from the
//! mirror before the first background sync starts (it waits for the UI's first rows, at most
//! a few seconds), so the sync does not compete with the window for the CPU and the disk.

use chrono::{TimeZone, Utc};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::MemoryStore;
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn last_sync(app: &AppCore) -> Option<String> {
    app.app_status().unwrap().sync.last_sync_at
}

/// A sandbox account mirrored by a previous run (300 orders), its data directory and keychain.
struct Mirrored {
    _sandbox: Sandbox,
    dir: tempfile::TempDir,
    secrets: Arc<MemoryStore>,
}

async fn mirrored_by_a_previous_run() -> Mirrored {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 300;
    let sandbox = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets.clone());
    cc.background_sync = false;
    let first = AppCore::open(cc).unwrap();
    first.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    first.sync_once().await.unwrap();
    first.shutdown().await;
    drop(first);
    // The cursor's time has a resolution of milliseconds or coarser: make a new sync visible.
    tokio::time::sleep(Duration::from_millis(20)).await;
    Mirrored { _sandbox: sandbox, dir, secrets }
}

/// This start, background sync on and the first-screen gate as the desktop app sets it.
async fn start_gated(m: &Mirrored, grace: Duration) -> (AppCore, Option<String>) {
    let mut cc = CoreConfig::new(m.dir.path().to_path_buf(), m.secrets.clone());
    cc.first_screen_gate = true;
    cc.first_screen_grace = grace;
    let app = AppCore::open(cc).unwrap();
    app.start().await.unwrap();
    let before = last_sync(&app);
    assert!(before.is_some(), "the previous sync is remembered");
    assert_eq!(app.app_status().unwrap().total_rows, 300, "the mirror answers at once");
    (app, before)
}

async fn wait_for_a_new_sync(app: &AppCore, before: &Option<String>, what: &str) {
    let since = Instant::now();
    while last_sync(app) == *before {
        assert!(since.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_of_a_start_waits_for_the_first_rows_on_screen() {
    let m = mirrored_by_a_previous_run().await;
    // A grace far longer than the test: only the first rows can release the sync.
    let (app, before) = start_gated(&m, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(last_sync(&app), before, "no sync before the first rows are drawn");

    // The UI reports its first rows: the sync follows.
    app.first_rows_shown(30).unwrap();
    wait_for_a_new_sync(&app, &before, "the first sync never ran after the first screen").await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_first_rows_the_first_sync_runs_once_the_grace_is_over() {
    let m = mirrored_by_a_previous_run().await;
    let (app, before) = start_gated(&m, Duration::from_millis(300)).await;
    // No window ever reports its first rows (it failed to draw, or there is none).
    wait_for_a_new_sync(&app, &before, "the first sync never ran after the grace").await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sandbox_of_a_start_comes_up_after_the_first_rows_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let config = |gate: bool| {
        let mut cc = CoreConfig::new(dir.path().to_path_buf(), secrets.clone());
        cc.demo_order_count = 200;
        cc.background_sync = false;
        cc.demo_traffic_per_minute = 0;
        cc.first_screen_gate = gate;
        cc.first_screen_grace = Duration::from_secs(120); // only the first rows release it
        cc
    };
    // A previous run mirrored the Demo account.
    let first = AppCore::open(config(false)).unwrap();
    let demo = first.start().await.unwrap();
    first.sync_once().await.unwrap();
    first.shutdown().await;
    drop(first);

    let app = AppCore::open(config(true)).unwrap();
    let starting = tokio::spawn({
        let app = app.clone();
        async move { app.start().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!starting.is_finished(), "the Demo sandbox waits for the first screen");
    let status = app.app_status().unwrap();
    assert_eq!(status.account.map(|a| a.id), Some(demo.id.clone()), "the screens know the account at once");
    assert_eq!(status.total_rows, 200, "and read its mirror");

    let drawn = Instant::now();
    app.first_rows_shown(30).unwrap();
    let started = tokio::time::timeout(Duration::from_secs(30), starting).await.expect("start finishes").unwrap();
    assert_eq!(started.id, demo.id);
    assert!(started.base_url.starts_with("http://127.0.0.1:"), "the live sandbox: {}", started.base_url);
    assert!(drawn.elapsed() < Duration::from_secs(30));
    app.shutdown().await;
}
