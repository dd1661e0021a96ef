//! Data safety at start, through the app core on real SQLite files with the Demo sandbox on
//! loopback: a database from a newer FlexDesk is refused untouched, and so is one another
//! program has locked (not taken for damage); a damaged one is set
//! aside, rebuilt from the API (converging to the sandbox's orders) and keeps what only
//! this machine knew; a backup is a consistent copy; a diagnostics bundle holds no secret.

use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_secrets::{account_key, MemoryStore, SecretStore};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

const ORDERS: usize = 4_000;

fn config(dir: &Path, secrets: Arc<dyn SecretStore>) -> CoreConfig {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.demo_order_count = ORDERS;
    config.background_sync = false;
    config.demo_traffic_per_minute = 0;
    config
}

fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A Demo mirror with every order synced, an operator name and an audit entry, closed cleanly.
async fn synced_demo(dir: &Path, secrets: Arc<dyn SecretStore>) -> String {
    let app = AppCore::open(config(dir, secrets)).unwrap();
    let account = app.start().await.unwrap();
    app.sync_once().await.unwrap();
    app.set_operator_name("Dana Ortiz").unwrap();
    assert_eq!(app.app_status().unwrap().total_rows, ORDERS as u64);
    app.shutdown().await;
    drop(app);
    // Fold the WAL into the file, as a clean exit leaves it.
    let conn = rusqlite::Connection::open(dir.join("mirror.sqlite3")).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    account.id
}

/// Overwrites 64 KiB three quarters into the file: order and timeline pages, written last.
fn trash_order_pages(db: &Path) {
    let len = std::fs::metadata(db).unwrap().len();
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    f.seek(SeekFrom::Start(len * 3 / 4 / 4096 * 4096)).unwrap();
    f.write_all(&vec![0xa5u8; 65_536]).unwrap();
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_and_left_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    synced_demo(dir.path(), secrets.clone()).await;
    let db = dir.path().join("mirror.sqlite3");
    let newer = flexdesk_mirror::SCHEMA_VERSION + 7;
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", newer).unwrap();
    let before = std::fs::read(&db).unwrap();

    let Err(err) = AppCore::open(config(dir.path(), secrets)) else { panic!("a newer database was opened") };
    assert_eq!(err.code(), ErrorCode::DataFromNewerVersion);
    let message = err.user_message();
    assert!(message.contains("newer version of FlexDesk"), "{message}");
    assert!(message.contains(&format!("schema {newer}")), "{message}");
    assert!(message.contains("left untouched"), "{message}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the newer database was modified");
    let aside =
        std::fs::read_dir(dir.path()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("damaged"));
    assert!(!aside, "a newer database must not be treated as damaged");
}

#[tokio::test]
async fn a_database_locked_by_another_program_is_not_taken_for_damage_and_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    synced_demo(dir.path(), secrets.clone()).await;
    let db = dir.path().join("mirror.sqlite3");
    // Another program holds the file exclusively (SQLite's exclusive locking mode keeps the
    // lock after its first write) for longer than FlexDesk's 5 s busy timeout.
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; COMMIT;").unwrap();
    holder.execute("INSERT INTO settings (key, value) VALUES ('held', 'yes')", []).unwrap();

    let Err(err) = AppCore::open(config(dir.path(), secrets.clone())) else { panic!("a locked database was opened") };
    assert_eq!(err.code(), ErrorCode::Storage);
    let message = err.user_message();
    assert!(message.contains("left untouched") && message.contains("Another program has it open"), "{message}");
    assert!(message.contains("start FlexDesk again"), "{message}");
    let aside =
        std::fs::read_dir(dir.path()).unwrap().flatten().any(|e| e.file_name().to_string_lossy().contains("damaged"));
    assert!(!aside, "a locked database must not be set aside as damaged");

    // Once the other program lets go, FlexDesk opens it with everything in it.
    drop(holder);
    let app = AppCore::open(config(dir.path(), secrets)).unwrap();
    assert!(app.startup_notice().is_none());
    assert_eq!(app.operator(), "Dana Ortiz");
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), ORDERS as i64);
    assert_eq!(count(&db, "SELECT count(*) FROM settings WHERE key = 'held'"), 1);
}

#[tokio::test]
async fn a_damaged_database_is_set_aside_rebuilt_from_the_api_and_keeps_local_only_data() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let account_id = synced_demo(dir.path(), secrets.clone()).await;
    let db = dir.path().join("mirror.sqlite3");

    trash_order_pages(&db);
    let damaged_bytes = std::fs::read(&db).unwrap();

    let app = AppCore::open(config(dir.path(), secrets.clone())).unwrap();
    let notice = app.startup_notice().expect("the user is told the database was rebuilt");
    assert!(notice.message.contains("damaged"), "{}", notice.message);
    assert!(notice.message.contains("rebuilding"), "{}", notice.message);
    let aside = std::path::PathBuf::from(notice.set_aside.clone().expect("where the damaged file went"));
    assert!(aside.file_name().unwrap().to_string_lossy().starts_with("mirror.damaged-"));
    assert_eq!(std::fs::read(&aside).unwrap(), damaged_bytes, "the damaged file was not kept as it was");

    // Local-only data survived: the account (so no second Demo account), the operator name.
    assert_eq!(app.operator(), "Dana Ortiz");
    let accounts = app.list_accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, account_id);

    // The orders come back from the API and match the sandbox exactly.
    let account = app.start().await.unwrap();
    assert_eq!(account.id, account_id, "a new Demo account was created instead of reusing the salvaged one");
    let report = app.sync_once().await.unwrap();
    assert!(report.backfilled, "the rebuilt mirror must backfill: {report:?}");
    assert_eq!(app.app_status().unwrap().total_rows, ORDERS as u64);
    app.shutdown().await;
    drop(app);
    assert_eq!(count(&db, "SELECT count(*) FROM orders"), ORDERS as i64);
    let ok: String =
        rusqlite::Connection::open(&db).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");

    // The notice is shown once per start, until dismissed; the next start is quiet.
    let again = AppCore::open(config(dir.path(), secrets)).unwrap();
    assert!(again.startup_notice().is_none(), "a sound database must not raise a notice");
}

#[tokio::test]
async fn damage_in_a_large_mirror_found_by_the_background_check_is_rebuilt_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let account_id = synced_demo(dir.path(), secrets.clone()).await;
    let db = dir.path().join("mirror.sqlite3");
    trash_order_pages(&db);

    // As if the file were large: only the irreplaceable tables are checked before opening,
    // so the window opens at once, and the whole-file check runs in the background.
    let mut large = config(dir.path(), secrets.clone());
    large.whole_check_max_bytes = 0;
    let app = AppCore::open(large).unwrap();
    assert!(app.startup_notice().is_none(), "the damage is outside the tables checked before opening");
    let started = std::time::Instant::now();
    let notice = loop {
        if let Some(n) = app.startup_notice() {
            break n;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the background check never reported");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(notice.title.contains("damaged"), "{}", notice.title);
    assert!(notice.message.contains("start FlexDesk again"), "{}", notice.message);
    assert!(dir.path().join("mirror.sqlite3.needs-rebuild").exists(), "the next start must know");
    drop(app);

    // The next start sets it aside without checking again, keeps the local data, rebuilds.
    let app = AppCore::open(config(dir.path(), secrets)).unwrap();
    let notice = app.startup_notice().expect("the rebuild is announced");
    assert!(notice.set_aside.is_some());
    assert!(!dir.path().join("mirror.sqlite3.needs-rebuild").exists(), "the marker must go once acted on");
    assert_eq!(app.operator(), "Dana Ortiz");
    assert_eq!(app.start().await.unwrap().id, account_id);
    app.sync_once().await.unwrap();
    assert_eq!(app.app_status().unwrap().total_rows, ORDERS as u64);
    app.shutdown().await;
}

#[tokio::test]
async fn a_backup_is_a_consistent_copy_and_diagnostics_never_contain_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let exports = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let account_id = synced_demo(dir.path(), secrets.clone()).await;
    let app = AppCore::open(config(dir.path(), secrets.clone())).unwrap();
    app.start().await.unwrap();
    secrets
        .set(&account_key(&account_id, "relay-token"), &flexdesk_secrets::Secret::new("relay-token-do-not-leak-42"))
        .unwrap();
    // A log line holding a secret and a card number, as a careless component might write.
    let secret = secrets.get(&account_key(&account_id, "app-secret")).unwrap().expose().to_string();
    let logs = flexdesk_core::log_dir(dir.path());
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("flexdesk.2026-12-01.log"),
        format!("token={secret} relay relay-token-do-not-leak-42 card 4111111111111111 ok\n"),
    )
    .unwrap();

    let backup_path = exports.path().join("backup.sqlite3");
    let backup = app.backup_mirror(Some(backup_path.display().to_string())).await.unwrap();
    assert!(backup.bytes > 0);
    assert_eq!(count(&backup_path, "SELECT count(*) FROM orders"), ORDERS as i64);
    let ok: String = rusqlite::Connection::open(&backup_path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let again = app.backup_mirror(Some(backup_path.display().to_string())).await;
    assert!(again.is_err(), "a backup must never overwrite an existing file");

    let zip_path = exports.path().join("diagnostics.zip");
    let result = app.export_diagnostics(Some(zip_path.display().to_string())).await.unwrap();
    for expected in ["about.json", "status.json", "accounts.json", "settings.json", "database.json"] {
        assert!(result.files.iter().any(|f| f == expected), "{expected} missing from {:?}", result.files);
    }
    assert!(result.files.iter().any(|f| f.starts_with("logs/")), "{:?}", result.files);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut everything = String::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        entry.read_to_string(&mut everything).unwrap();
    }
    assert!(everything.contains("Demo merchant"), "the bundle is missing the account list");
    assert!(everything.contains("[secret removed]"), "the planted secret was not masked");
    assert!(!everything.contains(&secret), "the AppSecret leaked into diagnostics");
    assert!(!everything.contains("relay-token-do-not-leak-42"), "the relay token leaked into diagnostics");
    assert!(!everything.contains("4111111111111111"), "a card number leaked into diagnostics");
    app.shutdown().await;
}
