//! kill -9 in the middle of a 200,000-order backfill: the mirror file stays sound, the
//! cursor never runs ahead of the rows it covers, and a restarted worker resumes where the
//! last committed page left off and converges to exactly the sandbox's orders.
//!
//! The worker is a separate process (`src/bin/backfill_worker.rs`) so the kill is a real
//! SIGKILL of a process holding the SQLite file open mid-transaction.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Mirror, OrderFilter, OrderRecord};
use flexdesk_sync::{BackfillCursor, CURSOR_NAME, PAGE_SIZE};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

const KEY: &str = "crash-app-key";
const SECRET: &str = "crash-app-secret";
const ACCOUNT: &str = "acct";
const ORDERS: usize = 200_000;

async fn sandbox() -> Sandbox {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(4242, anchor, SandboxCredentials::new(KEY, SECRET));
    config.order_count = ORDERS;
    // Frozen virtual time: nothing changes between the kill and the final comparison.
    config.clock_start = Some(anchor);
    Sandbox::start(config).await.unwrap()
}

fn spawn_worker(sb: &Sandbox, db: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_backfill_worker"))
        .arg(sb.base_url())
        .arg(KEY)
        .arg(db)
        .env("FLEXDESK_WORKER_APP_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Rows and backfill cursor as another process sees them (a separate connection).
fn observe(db: &Path) -> (u64, Option<BackfillCursor>) {
    if !db.exists() {
        return (0, None);
    }
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let has_tables: bool = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('orders', 'sync_cursors')", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
        == 2;
    if !has_tables {
        return (0, None);
    }
    let rows: i64 =
        conn.query_row("SELECT COUNT(*) FROM orders WHERE account_id = ?1", [ACCOUNT], |r| r.get(0)).unwrap();
    let cursor: Option<String> = conn
        .query_row("SELECT value FROM sync_cursors WHERE account_id = ?1 AND name = ?2", [ACCOUNT, CURSOR_NAME], |r| {
            r.get(0)
        })
        .optional()
        .unwrap();
    (rows as u64, cursor.map(|c| BackfillCursor::parse(Some(&c))))
}

/// Polls until the mirror holds between `low` and `high` rows, then SIGKILLs the worker.
/// Returns the rows seen just before the kill.
async fn kill_between(worker: &mut Child, db: &Path, low: u64, high: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        assert!(Instant::now() < deadline, "the backfill did not reach {low} rows in time");
        if let Some(status) = worker.try_wait().unwrap() {
            panic!("the worker exited ({status}) before it could be killed mid-backfill");
        }
        let (rows, _) = observe(db);
        assert!(rows <= high, "missed the kill window: {rows} rows already (> {high}); poll faster");
        if rows >= low {
            worker.start_kill().unwrap();
            let status = worker.wait().await.unwrap();
            assert!(!status.success(), "the worker was not killed: {status}");
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a kill must leave behind: a sound file and a cursor that covers no row it lacks.
fn assert_consistent_after_kill(db: &Path, round: u32) -> u64 {
    let conn = Connection::open(db).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok", "kill {round}: integrity_check");
    drop(conn);
    let (rows, cursor) = observe(db);
    let cursor = cursor.unwrap_or_else(|| panic!("kill {round}: no cursor after {rows} rows"));
    assert!(!cursor.complete, "kill {round}: the cursor says complete mid-backfill");
    let covered = u64::from(cursor.next_page.saturating_sub(1)) * u64::from(PAGE_SIZE);
    assert!(rows >= covered, "kill {round}: the cursor ran ahead: {rows} rows but nextPage {}", cursor.next_page);
    assert_eq!(rows, covered, "kill {round}: rows of a half-applied page are visible");
    println!("kill {round}: {rows} rows, cursor nextPage {}, integrity ok", cursor.next_page);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_backfill_leaves_a_sound_mirror_that_resumes_and_converges() {
    let started = Instant::now();
    let sb = sandbox().await;
    assert_eq!(sb.order_count(), ORDERS);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mirror.sqlite3");
    let total = ORDERS as u64;

    // Kill 1 between 20 % and 45 %, kill 2 (after a resume) between 55 % and 80 %.
    let mut worker = spawn_worker(&sb, &db);
    let seen = kill_between(&mut worker, &db, total / 5, total * 45 / 100).await;
    let after_first = assert_consistent_after_kill(&db, 1);
    assert!(after_first + u64::from(PAGE_SIZE) >= seen);

    let mut worker = spawn_worker(&sb, &db);
    kill_between(&mut worker, &db, total * 55 / 100, total * 80 / 100).await;
    let after_second = assert_consistent_after_kill(&db, 2);
    assert!(after_second > after_first, "the second run did not resume and progress");

    // The last run resumes at the committed page and finishes.
    let mut worker = spawn_worker(&sb, &db);
    let status = tokio::time::timeout(Duration::from_secs(600), worker.wait()).await.unwrap().unwrap();
    let mut out = String::new();
    worker.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    assert!(status.success(), "the final worker run failed: {status}; stdout: {out}");
    let inserted: u64 = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("inserted="))
        .unwrap_or_else(|| panic!("no report from the worker: {out}"))
        .parse()
        .unwrap();
    assert_eq!(inserted, total - after_second, "the final run did not resume at the committed page");

    // Converged: exactly the sandbox's orders, each equal to its wire form.
    let m = Mirror::open(&db).unwrap();
    assert!(m.quick_check().unwrap());
    assert_eq!(m.order_count(ACCOUNT).unwrap(), total);
    let mut expected: HashMap<String, OrderRecord> =
        sb.orders_snapshot().iter().map(|o| (o.id.clone(), OrderRecord::from_wire(o))).collect();
    let mut offset = 0;
    loop {
        let rows = m.order_window(ACCOUNT, &OrderFilter { offset, limit: 1000, ..Default::default() }).unwrap();
        if rows.is_empty() {
            break;
        }
        offset += rows.len() as u64;
        for row in rows {
            let want = expected.remove(&row.order_session_key).unwrap_or_else(|| {
                panic!("order {} is in the mirror twice or not in the sandbox", row.order_session_key)
            });
            assert_eq!(row, want, "order {} differs from the sandbox", row.order_session_key);
        }
    }
    assert!(expected.is_empty(), "{} sandbox orders are missing from the mirror", expected.len());
    let cursor = observe(&db).1.unwrap();
    assert!(cursor.complete);
    println!(
        "crash_backfill: {total} orders, killed at {after_first} and {after_second} rows, final run inserted {inserted}, converged in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
