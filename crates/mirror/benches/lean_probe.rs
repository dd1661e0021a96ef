#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary fails loudly

//! What the shape of the `orders` row costs a 1M-order bulk load through rusqlite, with the
//! bulk load's own settings (WAL, a checkpointer thread, 10,000-row commits, the creation,
//! state and expiry indexes kept on, the key, amount and merchant-id indexes built sorted at
//! the end, the packed JSON in its own table): today's shape (text account id, ISO-8601 text
//! timestamps) against a lean one (integer account, integer-millisecond timestamps), the two
//! alternated in the same minutes. A probe for a schema decision, not the app's apply (no
//! rollups, no key map, no helper thread): see BENCHMARKS.md, "Mirror at 1M orders".
//!
//! Run: `cargo bench -p flexdesk-mirror --bench lean_probe -- [orders] [rounds]`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 10_000;
const ACCOUNT: &str = "acct-0f8e4a6c2b1d";
type Param<'a> = Box<dyn rusqlite::ToSql + 'a>;
const BASE_MS: i64 = 1_785_542_400_000; // 2026-08-01T00:00:00Z

struct Row {
    key: String,
    merchant_id: String,
    status: i64,
    decision: &'static str,
    state: &'static str,
    is_mit: bool,
    amount: i64,
    email: String,
    name: String,
    last4: String,
    decline: &'static str,
    created_ms: i64,
    expiry_ms: Option<i64>,
    // The text forms, made before the timing (the app formats them on a helper thread).
    created_iso: String,
    expiry_iso: Option<String>,
    json: Vec<u8>,
}

fn rows(n: usize) -> Vec<Row> {
    let states = [(7, "APPROVED", "approved"), (2, "DECLINED", "declined"), (4, "SUBMITTED", "pending")];
    (0..n)
        .map(|i| {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let (status, decision, state) = states[(i * 7919) % states.len()];
            let created_ms = BASE_MS + i as i64 * 7000;
            let expiry_ms = (i % 5 < 2).then_some(created_ms + 30 * 86_400_000);
            Row {
                key: format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    h >> 32,
                    (h >> 16) & 0xffff,
                    h & 0xfff,
                    i % 4096,
                    i
                ),
                merchant_id: format!("WEB-{i:08}"),
                status,
                decision,
                state,
                is_mit: i % 5 < 2,
                amount: 1000 + (i as i64 % 19000),
                email: format!("shopper{i}@example.com"),
                name: format!("Ada Name{}", i % 1000),
                last4: format!("{:04}", i % 10000),
                decline: ["05", "51", "14", "NSF"][i % 4],
                created_ms,
                expiry_ms,
                created_iso: iso(created_ms),
                expiry_iso: expiry_ms.map(iso),
                // About what the packed JSON weighs per order (~210 bytes).
                json: (0..210).map(|b| ((h >> (b % 56)) as u8) ^ b as u8).collect(),
            }
        })
        .collect()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn checkpointer(path: &std::path::Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let conn = rusqlite::Connection::open(path).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

fn load(path: &std::path::Path, data: &[Row], lean: bool) -> (Duration, Duration) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "page_size", 16384).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.pragma_update(None, "cache_size", -64 * 1024).unwrap();
    let (acct, ts) = if lean { ("INTEGER", "INTEGER") } else { ("TEXT", "TEXT") };
    conn.execute_batch(&format!(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, account_id {acct} NOT NULL, order_session_key TEXT NOT NULL,
           merchant_order_id TEXT, status_code INTEGER, status_name TEXT, decision TEXT, state TEXT NOT NULL,
           is_mit INTEGER NOT NULL, amount_cents INTEGER NOT NULL, captured_cents INTEGER NOT NULL,
           refunded_cents INTEGER NOT NULL, currency TEXT NOT NULL, email TEXT, customer_name TEXT, card_bin TEXT,
           card_last4 TEXT, decline_code TEXT, site_id TEXT, placed_at {ts}, created_at {ts}, modified_at {ts},
           expiry_at {ts}, synced_at {ts} NOT NULL, api_state TEXT, first_decision TEXT, first_decision_at {ts});
         CREATE TABLE order_json (order_id INTEGER PRIMARY KEY, raw_json BLOB NOT NULL, dict_id INTEGER);
         CREATE INDEX orders_by_created ON orders (account_id, created_at);
         CREATE INDEX orders_by_state ON orders (account_id, state, created_at);
         CREATE INDEX orders_by_expiry ON orders (account_id, expiry_at);"
    ))
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ckpt = checkpointer(path, stop.clone());
    let start = Instant::now();
    let synced_ms = chrono::Utc::now().timestamp_millis();
    let synced = chrono::Utc::now().to_rfc3339();
    for chunk in data.chunks(BATCH) {
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO orders (account_id, order_session_key, merchant_order_id, status_code, decision, state,
                       is_mit, amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin,
                       card_last4, decline_code, placed_at, created_at, modified_at, expiry_at, synced_at, api_state,
                       first_decision, first_decision_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17, ?17, ?18,
                       ?19, ?6, ?5, ?17)",
                )
                .unwrap();
            let mut json =
                tx.prepare_cached("INSERT INTO order_json (order_id, raw_json, dict_id) VALUES (?1, ?2, 1)").unwrap();
            for r in chunk {
                let captured = if r.status == 7 { r.amount } else { 0 };
                // The columns whose type differs (both shapes pay the same boxing).
                let [account, created, expiry, synced]: [Param; 4] = if lean {
                    [Box::new(1_i64), Box::new(r.created_ms), Box::new(r.expiry_ms), Box::new(synced_ms)]
                } else {
                    [Box::new(ACCOUNT), Box::new(&r.created_iso), Box::new(&r.expiry_iso), Box::new(&*synced)]
                };
                insert
                    .execute(rusqlite::params![
                        account,
                        r.key,
                        r.merchant_id,
                        r.status,
                        r.decision,
                        r.state,
                        r.is_mit,
                        r.amount,
                        captured,
                        0_i64,
                        "USD",
                        r.email,
                        r.name,
                        "411111",
                        r.last4,
                        r.decline,
                        created,
                        expiry,
                        synced,
                    ])
                    .unwrap();
                json.execute(rusqlite::params![tx.last_insert_rowid(), r.json]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let rows_in = start.elapsed();
    conn.pragma_update(None, "cache_size", -16 * 1024).unwrap();
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE UNIQUE INDEX orders_by_key ON orders (order_session_key, account_id);
         CREATE INDEX orders_by_amount ON orders (account_id, amount_cents);
         CREATE INDEX orders_by_merchant_id ON orders (merchant_order_id);
         COMMIT;",
    )
    .unwrap();
    let all = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    ckpt.join().unwrap();
    (rows_in, all - rows_in)
}

fn main() {
    let mut args = std::env::args().skip(1).filter_map(|a| a.parse::<usize>().ok());
    let n = args.next().unwrap_or(1_000_000);
    let rounds = args.next().unwrap_or(2);
    let data = rows(n);
    let dir = tempfile::tempdir().unwrap();
    println!("{n} orders, seconds: rows (with live indexes), then the sorted builds");
    for round in 1..=rounds {
        for lean in [false, true] {
            let path = dir.path().join(format!("probe-{round}-{lean}.sqlite3"));
            let (rows_in, builds) = load(&path, &data, lean);
            println!(
                "{:<6} rows {:.2} s, indexes {:.2} s, total {:.2} s",
                if lean { "lean" } else { "today" },
                rows_in.as_secs_f64(),
                builds.as_secs_f64(),
                (rows_in + builds).as_secs_f64()
            );
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}
