//! kill -9 of the relay process in the middle of a 10,000-webhook burst: every webhook the
//! relay acknowledged reaches a dashboard's mirror exactly once, and nothing twice.
//!
//! The relay runs as the real `flexdesk relay serve` binary (build it first:
//! `cargo build -p flexdesk-cli`), fed by the sandbox's own signed deliveries, whose
//! retries (`IsResent: true`, exponential backoff) cover the downtime.

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use flexdesk_mirror::Mirror;
use flexdesk_sync::{consume_once, FeedClient};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials, WebhookSettings, WebhookTarget};
use flexfactor_wire::{OrderStatus, WireOrder};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const APP_KEY: &str = "chaos-app-key";
const APP_SECRET: &str = "chaos-app-secret";
const SUBSCRIBER_KEY: &[u8] = b"chaos-subscriber-key-0123456789abcdef0123456789abcdef";
const FEED_TOKEN: &str = "chaos-feed-token-0123456789";
const ACCOUNT: &str = "acct";
const BURST: usize = 10_000;
/// At most this many emitted events may wait for their first delivery attempt.
const BACKLOG: usize = 500;

fn flexdesk_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/flexdesk");
    assert!(
        bin.exists(),
        "{} is missing: build the relay binary first with `cargo build -p flexdesk-cli`",
        bin.display()
    );
    bin
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

struct RelayProcess {
    child: Child,
}

async fn start_relay(bin: &Path, addr: SocketAddr, db: &Path, log: &Path) -> RelayProcess {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let child = Command::new(bin)
        .args(["relay", "serve", "--bind", &addr.to_string(), "--db"])
        .arg(db)
        .env("FLEXDESK_RELAY_SUBSCRIBER_KEY", base64::engine::general_purpose::STANDARD.encode(SUBSCRIBER_KEY))
        .env("FLEXDESK_RELAY_FEED_TOKEN", FEED_TOKEN)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut relay = RelayProcess { child };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = relay.child.try_wait().unwrap() {
            panic!("the relay exited at start ({status})");
        }
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await {
            if r.status().is_success() {
                return relay;
            }
        }
        assert!(Instant::now() < deadline, "the relay did not come up on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `webhook:{Event}|{OrderId}|{ConfirmationId}`, the mirror's event key.
fn event_key(event: &str, order: &str, confirmation: &str) -> String {
    format!("webhook:{event}|{order}|{confirmation}")
}

fn timeline_counts(db: &Path) -> HashMap<String, i64> {
    let conn = Connection::open(db).unwrap();
    let mut stmt =
        conn.prepare("SELECT event_key, COUNT(*) FROM timeline WHERE account_id = ?1 GROUP BY event_key").unwrap();
    let rows = stmt.query_map([ACCOUNT], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_mid_burst_loses_and_duplicates_no_acknowledged_webhook() {
    let started = Instant::now();
    let bin = flexdesk_bin();
    let dir = tempfile::tempdir().unwrap();
    let relay_db = dir.path().join("relay.sqlite3");
    let relay_log = dir.path().join("relay.log");
    let addr = free_port();
    let mut relay = start_relay(&bin, addr, &relay_db, &relay_log).await;

    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(99, anchor, SandboxCredentials::new(APP_KEY, APP_SECRET));
    config.order_count = 4_000;
    config.clock_start = Some(anchor);
    config.webhook_settings = WebhookSettings {
        retry_base: Duration::from_millis(250),
        max_attempts: 10,
        timeout: Duration::from_secs(10),
        ..WebhookSettings::default()
    };
    let sb = Sandbox::start(config).await.unwrap();
    sb.set_webhook_targets(&[WebhookTarget {
        url: format!("http://{addr}/webhooks"),
        subscriber_key_base64: base64::engine::general_purpose::STANDARD.encode(SUBSCRIBER_KEY),
    }])
    .unwrap();

    // The burst: chargebacks on completed/returned orders, each a new signed event.
    let eligible: Vec<WireOrder> = sb
        .orders_snapshot()
        .into_iter()
        .filter(|o| matches!(o.status.map(OrderStatus::from), Some(OrderStatus::Completed | OrderStatus::Returned)))
        .collect();
    assert!(eligible.len() > 500, "too few completed orders for the burst");
    let mut emitted = 0usize;
    let mut killed_at: Option<usize> = None;
    while emitted < BURST {
        let deliveries = sb.delivered_webhooks();
        let first_attempts = deliveries.iter().filter(|d| d.attempt == 1 && !d.duplicate).count();
        let acknowledged = deliveries.iter().filter(|d| d.succeeded()).count();
        if killed_at.is_none() && acknowledged >= BURST * 3 / 10 {
            // kill -9 mid-burst, then restart on the same port and database at once.
            relay.child.start_kill().unwrap();
            relay.child.wait().await.unwrap();
            killed_at = Some(acknowledged);
            relay = start_relay(&bin, addr, &relay_db, &relay_log).await;
        }
        let room = (first_attempts + BACKLOG).saturating_sub(emitted).min(BURST - emitted);
        for _ in 0..room {
            let order = &eligible[emitted % eligible.len()];
            assert!(sb.chargeback(&order.id));
            emitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Wait until the sandbox has delivered every event (first attempt or retry).
    let events = sb.events();
    assert_eq!(events.len(), BURST);
    let wanted: HashSet<String> = events.iter().map(|e| e.confirmation_id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let deliveries = loop {
        let deliveries = sb.delivered_webhooks();
        let done: HashSet<&str> =
            deliveries.iter().filter(|d| d.succeeded()).map(|d| d.confirmation_id.as_str()).collect();
        if wanted.iter().all(|c| done.contains(c.as_str())) {
            break deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {BURST} events were never acknowledged (relay log: {})",
            wanted.iter().filter(|c| !done.contains(c.as_str())).count(),
            relay_log.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let killed_at = killed_at.expect("the relay was never killed");
    let failed_attempts = deliveries.iter().filter(|d| !d.succeeded()).count();
    assert!(failed_attempts > 0, "the kill did not interrupt any delivery: the test proved nothing");
    let acked: Vec<_> = deliveries.iter().filter(|d| d.succeeded()).collect();
    let resent = acked.iter().filter(|d| d.is_resent).count();

    // A fresh dashboard mirror, with the burst's orders, reads the feed until it is empty.
    let mirror_db = dir.path().join("mirror.sqlite3");
    let mut m = Mirror::open(&mirror_db).unwrap();
    m.insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Chaos", &sb.base_url(), sb.mid(), APP_KEY)).unwrap();
    m.apply_orders(ACCOUNT, &eligible, None).unwrap();
    let feed = FeedClient::new(&format!("http://{addr}"), FEED_TOKEN).unwrap();
    let (mut applied, mut duplicates) = (0u64, 0u64);
    loop {
        let report = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
        assert!(!report.cursor_too_old);
        if report.applied + report.duplicates == 0 {
            break;
        }
        applied += report.applied;
        duplicates += report.duplicates;
    }

    // Every acknowledged webhook is in the timeline exactly once; nothing appears twice.
    let counts = timeline_counts(&mirror_db);
    for d in &acked {
        let key = event_key(&d.event, &d.order_id, &d.confirmation_id);
        assert_eq!(
            counts.get(&key).copied(),
            Some(1),
            "acknowledged webhook {key} is not in the timeline exactly once"
        );
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "events in the timeline more than once: {twice:?}");
    assert_eq!(duplicates, 0, "the relay served an event under two sequence numbers");
    assert_eq!(applied as usize, BURST, "the feed did not carry exactly the burst");
    assert_eq!(counts.len(), BURST);
    assert!(m.quick_check().unwrap());

    relay.child.start_kill().unwrap();
    let _ = relay.child.wait().await;
    println!(
        "relay_chaos: acknowledged {} deliveries ({} distinct events), resent {resent}, failed attempts {failed_attempts}, killed after {killed_at} acks, applied {applied}, duplicates 0, {:.1} s",
        acked.len(),
        wanted.len(),
        started.elapsed().as_secs_f64()
    );
}
