#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary fails loudly

//! Relay durable ingest rate (DESIGN.md §8: ≥ 2,000 signed webhooks/s durable on 2 cores).
//!
//! Starts a [`Relay`] on loopback with a SQLite file, then sends N distinct signed webhooks
//! (default 20,000) from `CONCURRENCY` concurrent requests over a shared keep-alive client.
//! Every answer must be 200 and not a duplicate; afterwards `/healthz` must report
//! `latestSeq = N` (every acknowledged event was committed). The load generator runs in
//! the same process, on the same cores, as the relay.
//!
//! Run: `cargo bench -p flexdesk-relay --bench ingest -- [N] [concurrency]`.

use chrono::Utc;
use flexdesk_relay::{Relay, RelayConfig};
use flexfactor_wire::webhook::{format_date, sign};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &[u8] = b"bench-subscriber-key-0123456789abcdef0123456789abcdef";
const TOKEN: &str = "bench-feed-token-0123456789";

struct Signed {
    body: String,
    headers: Vec<(&'static str, String)>,
}

fn signed_webhooks(n: usize, host: &str) -> Vec<Signed> {
    let date = format_date(Utc::now());
    (0..n)
        .map(|i| {
            let body = format!(
                r#"{{"Event":"order.completed","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":null,"ExternalOrderId":"WEB-{i:08}","OrderId":"00000000-0000-4000-8000-{i:012x}","ConfirmationId":"{i:08X}","IsTestMode":true,"IsResent":false}}"#
            );
            let nonce = format!("{i:032x}");
            let h = sign(KEY, host, &nonce, &date, body.as_bytes());
            let headers = h.pairs().iter().map(|(k, v)| (*k, v.to_string())).collect();
            Signed { body, headers }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let numbers: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = numbers.first().copied().unwrap_or(20_000);
    let concurrency = numbers.get(1).copied().unwrap_or(16);

    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(RelayConfig::new(dir.path().join("relay.sqlite3"), KEY.to_vec(), TOKEN)).await.unwrap();
    let host = relay.local_addr().to_string();
    let url = format!("{}/webhooks", relay.base_url());
    let webhooks = Arc::new(signed_webhooks(n, &host));
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));

    println!("relay ingest: {n} signed webhooks, {concurrency} in flight, SQLite WAL (synchronous=FULL: each append fsynced)");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, webhooks, next) = (http.clone(), url.clone(), webhooks.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(w) = webhooks.get(i) else { break };
                let mut req = http.post(&url).header("content-type", "text/plain").body(w.body.clone());
                for (k, v) in &w.headers {
                    req = req.header(*k, v);
                }
                let t = Instant::now();
                let resp = req.send().await.unwrap();
                let status = resp.status();
                let ack: serde_json::Value = resp.json().await.unwrap();
                latencies.push(t.elapsed());
                assert_eq!(status, 200, "webhook {i} refused: {ack}");
                assert_eq!(ack["duplicate"], false, "webhook {i} reported as a duplicate");
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();

    let health: serde_json::Value =
        http.get(format!("{}/healthz", relay.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["latestSeq"].as_u64(), Some(n as u64), "not every acknowledged webhook was stored: {health}");
    relay.shutdown().await;

    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "ingested {n} in {:.2} s = {rate:.0} webhooks/s; request latency p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!("target ≥ 2,000 webhooks/s: {}", if rate >= 2000.0 { "PASS" } else { "FAIL" });
}
