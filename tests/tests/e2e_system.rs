//! The desktop app as installed software, through the real window under Xvfb: one instance
//! per data directory (a second start brings the first forward), the window reopening where
//! it was left, the About panel with its backup and diagnostics, a newer database refused
//! with a full-window explanation, and a damaged database rebuilt with the user told.

use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{app_binary, attr, click, launch, launch_demo, screenshot, wait_for, wait_for_backfill};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The text of the first element matching `css`, if it is there.
async fn text(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// Every toast title and message on screen, joined.
async fn toasts(client: &Client) -> String {
    text(client, ".toasts").await.unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_second_start_brings_the_running_window_forward_and_exits() {
    let app = launch_demo(4524).await;
    let client = &app.client;
    wait_for_backfill(client, Duration::from_secs(180)).await;

    // A second start on the same data directory: the user double-clicked the icon again.
    let started = Instant::now();
    let mut second = Command::new(app_binary())
        .env("FLEXDESK_DATA_DIR", app.data_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the second start did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = second.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(status.success(), "second start failed: {status:?}\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("already running"), "second start said: {stdout}");

    // The first window was asked forward and says so.
    wait_for("the 'already open' toast", Duration::from_secs(10), || async {
        toasts(client).await.contains("FlexDesk was already open").then_some(())
    })
    .await;
    screenshot(client, "second-start.png").await;
    // Still one working window: the first instance keeps serving.
    assert!(attr(client, "#status-total-rows", "data-count").await.is_some());
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn the_window_reopens_at_its_saved_size_and_the_about_panel_backs_up_and_exports() {
    let data_dir = tempfile::tempdir().unwrap();
    let exports = tempfile::tempdir().unwrap();
    std::fs::write(
        data_dir.path().join("window.json"),
        r#"{"x": 24, "y": 16, "width": 1040, "height": 700, "maximized": false}"#,
    )
    .unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let exp = exports.path().to_string_lossy().to_string();
    let (_driver, client) =
        launch(4534, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0"), ("FLEXDESK_EXPORT_DIR", &exp)])
            .await;
    let rows = wait_for_backfill(&client, Duration::from_secs(180)).await;

    // The window came back at the size it was left at.
    let size = client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await.unwrap();
    assert_eq!(size, serde_json::json!([1040, 700]), "the saved window size was not restored");

    // Resizing is remembered for the next start.
    client.set_window_size(1120, 760).await.unwrap();
    let saved = wait_for("window.json to record the new size", Duration::from_secs(10), || async {
        let text = std::fs::read_to_string(data_dir.path().join("window.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        (json["width"] != 1040).then_some(json)
    })
    .await;
    let inner = client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await.unwrap();
    assert_eq!(saved["width"], inner[0], "saved width differs from the window's: {saved}");
    assert_eq!(saved["height"], inner[1], "saved height differs from the window's: {saved}");

    // About: version, data folder and today's log file, which exists.
    click(&client, "#open-about").await;
    let version = wait_for("the About facts", Duration::from_secs(10), || text(&client, "#about-version")).await;
    assert!(version.starts_with(env!("CARGO_PKG_VERSION")), "About shows version {version}");
    assert_eq!(text(&client, "#about-data-dir").await.unwrap(), dir);
    let log_file = text(&client, "#about-log-file").await.unwrap();
    assert!(Path::new(&log_file).starts_with(data_dir.path().join("logs")), "log file {log_file}");
    assert!(Path::new(&log_file).is_file(), "About names a log file that does not exist: {log_file}");
    screenshot(&client, "about.png").await;

    // Back up mirror: a consistent copy with every order, in the export folder.
    click(&client, "#backup-mirror").await;
    let shown = wait_for("the backup's path", Duration::from_secs(120), || async {
        if let Some(t) = text(&client, ".toast-error").await {
            panic!("backing up failed: {t}");
        }
        text(&client, "#backup-path").await
    })
    .await;
    let backup = std::fs::read_dir(exports.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "sqlite3"))
        .expect("a backup file in the export folder");
    assert!(shown.contains(&backup.display().to_string()), "{shown}");
    let conn = rusqlite::Connection::open(&backup).unwrap();
    let backed_up: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
    let backed_up = backed_up as u64;
    assert!(backed_up >= rows, "backup holds {backed_up} orders, the mirror {rows}");
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");

    // Export diagnostics: a zip in the export folder with logs in it.
    click(&client, "#export-diagnostics").await;
    wait_for("the diagnostics path", Duration::from_secs(60), || text(&client, "#diagnostics-path")).await;
    let zip = std::fs::read_dir(exports.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .expect("a diagnostics zip in the export folder");
    let archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("logs/flexdesk.")), "{names:?}");
    assert!(names.iter().any(|n| n == "about.json"), "{names:?}");

    // Notification opt-ins persist.
    click(&client, "input[data-notify='chargeback']").await;
    let db = data_dir.path().join("mirror.sqlite3");
    wait_for("the chargeback opt-in to be saved as on", Duration::from_secs(10), || async {
        let conn = rusqlite::Connection::open(&db).ok()?;
        conn.query_row("SELECT value FROM settings WHERE key = 'notify:chargeback'", [], |r| r.get::<_, String>(0))
            .ok()
            .filter(|v| v == "on")
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_database_from_a_newer_version_fills_the_window_with_what_to_do_and_is_not_touched() {
    let data_dir = tempfile::tempdir().unwrap();
    let db = data_dir.path().join("mirror.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE future_things (id INTEGER PRIMARY KEY, what TEXT); INSERT INTO future_things (what) VALUES ('x');")
            .unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let (_driver, client) = launch(4544, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")]).await;

    let code = wait_for("the start-up problem screen", Duration::from_secs(30), || async {
        attr(&client, "#startup-problem", "data-code").await
    })
    .await;
    assert_eq!(code, "data_from_newer_version");
    let message = text(&client, "#startup-problem").await.unwrap();
    assert!(message.contains("newer version of FlexDesk"), "{message}");
    assert!(message.contains("schema 999"), "{message}");
    assert!(message.contains(&db.display().to_string()), "the message must name the file: {message}");
    screenshot(&client, "newer-database.png").await;
    assert!(client.find(Locator::Css("#open-accounts")).await.is_err(), "the dashboard must not open on refused data");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the newer database was modified");
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_damaged_database_is_rebuilt_and_the_window_says_what_happened() {
    let data_dir = tempfile::tempdir().unwrap();
    let db = data_dir.path().join("mirror.sqlite3");
    {
        // A database whose pages are trashed after its header: not something SQLite can read.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (v TEXT);").unwrap();
        for i in 0..2000 {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("{i:0200}")]).unwrap();
        }
    }
    let mut bytes = std::fs::read(&db).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 32_768].fill(0xee);
    std::fs::write(&db, &bytes).unwrap();

    let dir = data_dir.path().to_string_lossy().to_string();
    let (_driver, client) = launch(4554, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")]).await;
    let notice = wait_for("the recovery notice", Duration::from_secs(30), || text(&client, "#recovery-notice")).await;
    assert!(notice.contains("damaged"), "{notice}");
    assert!(notice.contains("mirror.damaged-"), "the notice must say where the old file went: {notice}");
    let rows = wait_for_backfill(&client, Duration::from_secs(180)).await;
    assert!(rows > 0);
    screenshot(&client, "damaged-database-rebuilt.png").await;
    let kept = std::fs::read_dir(data_dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("mirror.damaged-"));
    assert!(kept, "the damaged file was not kept aside");
    click(&client, "#dismiss-recovery").await;
    wait_for("the notice to go", Duration::from_secs(5), || async {
        client.find(Locator::Css("#recovery-notice")).await.is_err().then_some(())
    })
    .await;
}
