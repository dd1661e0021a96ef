//! Benchmark: webhook sent by the sandbox → applied in a dashboard's mirror, p50/p95
//! (DESIGN.md §8: "webhook received by relay → visible in the UI", p95 < 500 ms).
//!
//! Pipeline, all on loopback in this process: the sandbox's own signed deliveries →
//! `flexdesk_relay::Relay` (SQLite file) → `flexdesk_sync::FeedClient` long-poll →
//! `consume_once` into a `Mirror` file. Events are chargebacks emitted one every
//! `interval` ms. Send time is the sandbox's `DeliveryRecord::at` (wall time of the
//! attempt, taken just before signing and POSTing); apply time is the wall time when the
//! `consume_once` that committed the event returned. So the figure is an upper bound
//! including the relay's durable write, the feed wake-up and the mirror's transaction.
//!
//! Run: `cargo run --release -p flexdesk-tests --bin webhook_latency -- [count] [interval_ms]`
//! (defaults 1000 webhooks, 5 ms apart).

use anyhow::{bail, Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use flexdesk_mirror::Mirror;
use flexdesk_relay::{Relay, RelayConfig};
use flexdesk_sync::{consume_once, FeedClient};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials, WebhookTarget};
use flexfactor_wire::{OrderStatus, WireOrder};
use std::collections::HashMap;
use std::time::Duration;

const SUBSCRIBER_KEY_B64: &str = "YmVuY2gtc3Vic2NyaWJlci1rZXktMDEyMzQ1Njc4OWFiY2RlZg==";
const FEED_TOKEN: &str = "bench-feed-token-0123456789";
const ACCOUNT: &str = "acct";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<()> {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let count = numbers.first().copied().unwrap_or(1000) as usize;
    let interval = Duration::from_millis(numbers.get(1).copied().unwrap_or(5));
    let dir = tempfile_dir()?;

    let key = flexfactor_wire::webhook::decode_key(SUBSCRIBER_KEY_B64).context("decoding the key")?;
    let relay = Relay::start(RelayConfig::new(dir.join("relay.sqlite3"), key, FEED_TOKEN)).await?;

    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().context("anchor")?;
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("bench-key", "bench-secret"));
    config.order_count = 2_000;
    config.clock_start = Some(anchor);
    let sb = Sandbox::start(config).await?;
    sb.set_webhook_targets(&[WebhookTarget {
        url: format!("{}/webhooks", relay.base_url()),
        subscriber_key_base64: SUBSCRIBER_KEY_B64.into(),
    }])?;
    let eligible: Vec<WireOrder> = sb
        .orders_snapshot()
        .into_iter()
        .filter(|o| matches!(o.status.map(OrderStatus::from), Some(OrderStatus::Completed | OrderStatus::Returned)))
        .collect();

    // The dashboard: a mirror file with the orders, long-polling the feed.
    let mirror_path = dir.join("mirror.sqlite3");
    let mut mirror = Mirror::open(&mirror_path)?;
    mirror.insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Bench", &sb.base_url(), sb.mid(), "bench-key"))?;
    mirror.apply_orders(ACCOUNT, &eligible, None)?;
    let feed = FeedClient::new(&relay.base_url(), FEED_TOKEN)?;
    let reader = rusqlite::Connection::open(&mirror_path)?;
    let consumer = tokio::spawn(async move {
        // event key → wall time the consume_once that committed it returned
        let mut applied_at: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut last_id: i64 = 0;
        while applied_at.len() < count {
            let report = consume_once(&feed, &mut mirror, ACCOUNT, Duration::from_secs(25)).await?;
            let now = Utc::now();
            if report.applied == 0 {
                continue;
            }
            let mut stmt = reader.prepare_cached("SELECT id, event_key FROM timeline WHERE id > ?1 ORDER BY id")?;
            let rows = stmt.query_map([last_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (id, key) = row?;
                last_id = last_id.max(id);
                applied_at.insert(key, now);
            }
        }
        anyhow::Ok(applied_at)
    });

    println!("webhook latency: {count} chargeback webhooks, one every {} ms", interval.as_millis());
    let mut ticker = tokio::time::interval(interval);
    for i in 0..count {
        ticker.tick().await;
        if !sb.chargeback(&eligible[i % eligible.len()].id) {
            bail!("chargeback refused");
        }
    }
    let applied_at =
        tokio::time::timeout(Duration::from_secs(120), consumer).await.context("consumer timed out")???;

    let mut latencies: Vec<f64> = Vec::with_capacity(count);
    for d in sb.delivered_webhooks().iter().filter(|d| d.succeeded()) {
        let key = format!("webhook:{}|{}|{}", d.event, d.order_id, d.confirmation_id);
        let applied = applied_at.get(&key).with_context(|| format!("{key} was acknowledged but never applied"))?;
        latencies.push((*applied - d.at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0);
    }
    if latencies.len() != count {
        bail!("{} deliveries acknowledged, expected {count}", latencies.len());
    }
    latencies.sort_by(f64::total_cmp);
    let p95 = percentile(&latencies, 0.95);
    println!(
        "sent → applied over {} webhooks: p50 {:.1} ms, p95 {p95:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
    println!("target p95 < 500 ms: {}", if p95 < 500.0 { "PASS" } else { "FAIL" });
    relay.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A fresh directory under the system temp dir (this binary has no tempfile dependency).
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("flexdesk-webhook-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
