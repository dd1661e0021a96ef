#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! Metrics, retention and compaction, and shutdown behaviour of a running relay.

use chrono::{DateTime, Utc};
use flexdesk_relay::{Relay, RelayConfig};
use flexfactor_wire::webhook::{format_date, sign};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "feed-token-0123456789";

fn body(event: &str, order: &str, confirmation: &str, padding: usize) -> String {
    format!(
        r#"{{"Event":"{event}","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":{{"note":"{}"}},"ExternalOrderId":"EXT-{order}","OrderId":"{order}","ConfirmationId":"{confirmation}","IsTestMode":true,"IsResent":false}}"#,
        "x".repeat(padding)
    )
}

async fn deliver(r: &Relay, body: &str, key: &[u8], date: DateTime<Utc>) -> reqwest::Response {
    let host = r.local_addr().to_string();
    let headers = sign(key, &host, "0123456789abcdef0123456789abcdef", &format_date(date), body.as_bytes());
    let mut req = reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(body.to_string());
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    req.send().await.unwrap()
}

async fn feed(r: &Relay, query: &str) -> reqwest::Response {
    reqwest::Client::new().get(format!("{}/feed?{query}", r.base_url())).bearer_auth(TOKEN).send().await.unwrap()
}

async fn metrics(r: &Relay) -> String {
    let resp = reqwest::get(format!("{}/metrics", r.base_url())).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    resp.text().await.unwrap()
}

/// The value of one sample line (`name{labels} value`).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// A clock the test moves.
fn movable_clock(start: DateTime<Utc>) -> (Arc<Mutex<DateTime<Utc>>>, flexdesk_relay::Clock) {
    let now = Arc::new(Mutex::new(start));
    let reader = now.clone();
    (now, Arc::new(move || *reader.lock().unwrap()))
}

#[tokio::test]
async fn metrics_count_accepted_duplicate_and_rejected_deliveries_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    config.max_body_bytes = 4096;
    let r = Relay::start(config).await.unwrap();
    let good = body("order.completed", "o-1", "C1", 0);
    assert_eq!(deliver(&r, &good, KEY, Utc::now()).await.status(), 200);
    assert_eq!(deliver(&r, &good, KEY, Utc::now()).await.status(), 200);
    assert_eq!(deliver(&r, &body("order.refunded", "o-2", "C2", 0), KEY, Utc::now()).await.status(), 200);
    assert_eq!(deliver(&r, &good, b"the wrong key", Utc::now()).await.status(), 401);
    assert_eq!(deliver(&r, &good, KEY, Utc::now() - chrono::Duration::hours(1)).await.status(), 401);
    assert_eq!(deliver(&r, "[1,2", KEY, Utc::now()).await.status(), 400);
    assert_eq!(deliver(&r, &"y".repeat(10_000), KEY, Utc::now()).await.status(), 413);
    let unsigned = reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(good.clone()).send().await;
    assert_eq!(unsigned.unwrap().status(), 401);

    let m = metrics(&r).await;
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_received_total"), 8.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_accepted_total"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_duplicate_total"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"bad_signature\"}"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"stale_date\"}"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"bad_json\"}"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"too_large\"}"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"missing_signature\"}"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_webhooks_rejected_total{reason=\"bad_date\"}"), 0.0);
    assert_eq!(sample(&m, "flexdesk_relay_latest_seq"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_retained_events"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_oldest_retained_seq"), 1.0);
    assert_eq!(sample(&m, "flexdesk_relay_rejected_kept"), 5.0, "every refused delivery is kept for inspection");
    assert!(sample(&m, "flexdesk_relay_storage_bytes{file=\"db\"}") > 0.0);
    assert!(sample(&m, "flexdesk_relay_maintenance_runs_total") >= 1.0, "maintenance runs at start");
    // Every sample belongs to a declared metric family.
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(m.contains(&format!("# TYPE {name} ")), "undeclared sample {line}");
    }
    r.shutdown().await;
}

#[tokio::test]
async fn metrics_count_feed_clients_and_the_slowest_ones_lag() {
    let dir = tempfile::tempdir().unwrap();
    let r = Relay::start(RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN)).await.unwrap();
    for i in 0..5 {
        let b = body("order.completed", &format!("o-{i}"), &format!("C{i}"), 0);
        assert_eq!(deliver(&r, &b, KEY, Utc::now()).await.status(), 200);
    }
    let m = metrics(&r).await;
    assert_eq!(sample(&m, "flexdesk_relay_feed_clients"), 0.0);
    assert_eq!(sample(&m, "flexdesk_relay_feed_lag_events"), 0.0, "no client, no lag");

    assert_eq!(feed(&r, "after=5&client=front-desk").await.status(), 200);
    assert_eq!(feed(&r, "after=2&client=finance").await.status(), 200);
    let m = metrics(&r).await;
    assert_eq!(sample(&m, "flexdesk_relay_feed_clients"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_feed_lag_events"), 3.0, "latest 5 minus the slowest cursor 2");

    // The slow dashboard catches up; the lag follows its newest cursor.
    assert_eq!(feed(&r, "after=5&client=finance").await.status(), 200);
    let m = metrics(&r).await;
    assert_eq!(sample(&m, "flexdesk_relay_feed_clients"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_feed_lag_events"), 0.0);
    assert_eq!(sample(&m, "flexdesk_relay_feed_reads_total"), 3.0);

    // A long-poll held open shows in the waiting gauge.
    let url = format!("{}/feed?after=5&wait=20&client=waiter", r.base_url());
    let waiting = tokio::spawn(async move { reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while sample(&metrics(&r).await, "flexdesk_relay_feed_waiting") < 1.0 {
        assert!(Instant::now() < deadline, "the long-poll never showed as waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    deliver(&r, &body("order.completed", "o-9", "C9", 0), KEY, Utc::now()).await;
    assert_eq!(waiting.await.unwrap().unwrap().status(), 200);
    assert_eq!(sample(&metrics(&r).await, "flexdesk_relay_feed_waiting"), 0.0);
    r.shutdown().await;
}

#[tokio::test]
async fn retention_by_age_drops_old_events_but_keeps_dedupe_ids_for_seven_days() {
    let dir = tempfile::tempdir().unwrap();
    let start = Utc::now();
    let (now, clock) = movable_clock(start);
    let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    config.clock = clock;
    config.retention = Duration::from_secs(24 * 3600);
    let r = Relay::start(config).await.unwrap();
    let old = body("order.completed", "o-old", "OLD", 0);
    assert_eq!(deliver(&r, &old, KEY, start).await.status(), 200);

    // Two days later: the event is past the 1-day retention, its dedupe id is not (7 days).
    let later = start + chrono::Duration::days(2);
    *now.lock().unwrap() = later;
    assert_eq!(deliver(&r, &body("order.completed", "o-new", "NEW", 0), KEY, later).await.status(), 200);
    let report = r.maintain_now().await.unwrap();
    assert_eq!((report.pruned_by_age, report.dedupe_keys_pruned), (1, 0));
    let gone = feed(&r, "after=0").await;
    assert_eq!(gone.status(), 410);
    let answer: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(answer["error"], "cursor_too_old");
    assert_eq!(answer["oldestSeq"], 2);
    let retry: serde_json::Value = deliver(&r, &old, KEY, later).await.json().await.unwrap();
    assert_eq!(retry["duplicate"], true, "a retry two days later is still recognised");

    // Eight days later the dedupe id goes too: the same delivery is now a new event.
    let much_later = start + chrono::Duration::days(8);
    *now.lock().unwrap() = much_later;
    let report = r.maintain_now().await.unwrap();
    assert_eq!(report.dedupe_keys_pruned, 1);
    let again: serde_json::Value = deliver(&r, &old, KEY, much_later).await.json().await.unwrap();
    assert_eq!((again["duplicate"].as_bool(), again["seq"].as_i64()), (Some(false), Some(3)));
    let m = metrics(&r).await;
    assert_eq!(sample(&m, "flexdesk_relay_pruned_events_total{cause=\"age\"}"), 2.0);
    assert_eq!(sample(&m, "flexdesk_relay_feed_cursor_too_old_total"), 1.0);
    r.shutdown().await;
}

#[tokio::test]
async fn a_size_limit_drops_the_oldest_events_and_gives_the_space_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let mut config = RelayConfig::new(db.clone(), KEY.to_vec(), TOKEN);
    config.max_body_bytes = 64 * 1024;
    let r = Relay::start(config.clone()).await.unwrap();
    for i in 0..200 {
        let b = body("order.completed", &format!("o-{i}"), &format!("C{i}"), 16 * 1024);
        assert_eq!(deliver(&r, &b, KEY, Utc::now()).await.status(), 200);
    }
    let full = r.maintain_now().await.unwrap();
    assert!(full.bytes_after > 3 * 1024 * 1024, "200 × 16 KiB should take > 3 MiB, got {}", full.bytes_after);
    r.shutdown().await;

    config.max_db_bytes = Some(1024 * 1024);
    let r = Relay::start(config).await.unwrap();
    // Maintenance also runs at start, in the background; run it now to read its outcome.
    let report = r.maintain_now().await.unwrap();
    assert!(!report.size_limit_unmet, "{report:?}");
    let m = metrics(&r).await;
    let size = sample(&m, "flexdesk_relay_storage_bytes{file=\"db\"}")
        + sample(&m, "flexdesk_relay_storage_bytes{file=\"wal\"}");
    assert!(size <= 1024.0 * 1024.0, "the database is still {size} bytes on disk");
    let kept = sample(&m, "flexdesk_relay_retained_events");
    assert!(kept > 5.0 && kept < 75.0, "kept {kept} events");
    assert_eq!(sample(&m, "flexdesk_relay_pruned_events_total{cause=\"size\"}"), 200.0 - kept);
    assert_eq!(sample(&m, "flexdesk_relay_oldest_retained_seq"), 201.0 - kept, "the newest events are the ones kept");
    assert_eq!(sample(&m, "flexdesk_relay_dedupe_keys"), 200.0, "dedupe ids are not dropped for size");
    assert_eq!(feed(&r, "after=0").await.status(), 410);
    assert_eq!(feed(&r, &format!("after={}", 200.0 - kept)).await.status(), 200);
    // New events keep counting from where they were.
    let ack: serde_json::Value =
        deliver(&r, &body("order.completed", "o-x", "CX", 0), KEY, Utc::now()).await.json().await.unwrap();
    assert_eq!(ack["seq"], 201);
    r.shutdown().await;
}

#[tokio::test]
async fn a_database_from_before_compaction_is_converted_to_incremental_auto_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE legacy (x TEXT);").unwrap();
        let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, 0);
    }
    let _store = flexdesk_relay::SqliteStore::open(&db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, 2, "auto_vacuum is not INCREMENTAL");
}

#[tokio::test]
async fn shutdown_answers_waiting_long_polls_at_once_and_then_refuses_connections() {
    let dir = tempfile::tempdir().unwrap();
    let r = Relay::start(RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN)).await.unwrap();
    let base = r.base_url();
    let url = format!("{base}/feed?after=0&wait=60");
    let waiting = tokio::spawn(async move { reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sample(&metrics(&r).await, "flexdesk_relay_feed_waiting") < 1.0 {
        assert!(Instant::now() < deadline, "the long-poll never showed as waiting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    r.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown sat out the long-poll ({:?})", started.elapsed());
    let answer = waiting.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200, "the long-poll got an answer, not a dropped connection");
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err(), "still accepting after shutdown");
}
