//! SIGTERM to the real `flexdesk relay serve` in the middle of a burst of concurrent signed
//! webhooks: the process stops accepting, finishes what is in flight, exits 0, and every
//! webhook it answered 2xx is on the feed after a restart, exactly once.
//!
//! Build the binary first: `cargo build -p flexdesk-cli`.

use base64::Engine as _;
use chrono::Utc;
use flexfactor_wire::webhook::{format_date, sign};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

const SUBSCRIBER_KEY: &[u8] = b"shutdown-subscriber-key-0123456789abcdef0123456789abcdef";
const FEED_TOKEN: &str = "shutdown-feed-token-0123456789";
const SENDERS: usize = 24;

fn flexdesk_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/flexdesk");
    assert!(bin.exists(), "{} is missing: build it first with `cargo build -p flexdesk-cli`", bin.display());
    bin
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Waits until the relay has taken every connection opened before this call: the kernel
/// hands connections over in the order they arrived, so once a new one is answered the
/// earlier ones are the relay's (and a stop signal then counts them as in flight).
async fn accepted_so_far(addr: SocketAddr) {
    let mut probe = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    probe.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), probe.read_to_string(&mut answer))
        .await
        .expect("the relay did not answer /healthz within 30 s")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

async fn start_relay(addr: SocketAddr, db: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut child = Command::new(flexdesk_bin())
        .args(["relay", "serve", "--bind", &addr.to_string(), "--shutdown-grace-secs", "20", "--db"])
        .arg(db)
        .env("FLEXDESK_RELAY_SUBSCRIBER_KEY", base64::engine::general_purpose::STANDARD.encode(SUBSCRIBER_KEY))
        .env("FLEXDESK_RELAY_FEED_TOKEN", FEED_TOKEN)
        .env("FLEXDESK_LOG", "info")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the relay exited at start ({status})");
        }
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await {
            if r.status().is_success() {
                return child;
            }
        }
        assert!(Instant::now() < deadline, "the relay did not come up on {addr}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signed(addr: SocketAddr, i: usize) -> (String, Vec<(&'static str, String)>) {
    let body = format!(
        r#"{{"Event":"order.completed","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":null,"ExternalOrderId":"SHUT-{i}","OrderId":"00000000-0000-4000-8000-{i:012x}","ConfirmationId":"S{i:08}","IsTestMode":true,"IsResent":false}}"#
    );
    let h = sign(SUBSCRIBER_KEY, &addr.to_string(), &format!("{i:032x}"), &format_date(Utc::now()), body.as_bytes());
    (body, h.pairs().iter().map(|(k, v)| (*k, v.to_string())).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_burst_exits_cleanly_and_loses_no_acknowledged_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("relay.sqlite3"), dir.path().join("relay.log"));
    let addr = free_port();
    let mut relay = start_relay(addr, &db, &log).await;
    let pid = relay.id().unwrap();

    // Concurrent senders, each on its own keep-alive connection, until the relay stops answering.
    let next = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let signalled = Arc::new(AtomicBool::new(false));
    let acked_after_signal = Arc::new(AtomicUsize::new(0));
    let failed_after_signal = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (next, acked, signalled) = (next.clone(), acked.clone(), signalled.clone());
        let (acked_after_signal, failed_after_signal) = (acked_after_signal.clone(), failed_after_signal.clone());
        senders.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
            let mut consecutive_failures = 0;
            while consecutive_failures < 3 {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (body, headers) = signed(addr, i);
                let mut req = http.post(format!("http://{addr}/webhooks")).body(body);
                for (k, v) in &headers {
                    req = req.header(*k, v);
                }
                let after_signal = signalled.load(Ordering::SeqCst);
                match req.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let ack: serde_json::Value = resp.json().await.unwrap();
                        assert_eq!(ack["duplicate"], false);
                        acked.lock().unwrap().insert(format!("S{i:08}"), ack["seq"].as_i64().unwrap());
                        if after_signal {
                            acked_after_signal.fetch_add(1, Ordering::Relaxed);
                        }
                        consecutive_failures = 0;
                    }
                    Ok(resp) => panic!("webhook {i} refused with {} before shutdown", resp.status()),
                    Err(_) => {
                        // Not acknowledged: a real sender would retry later. Only after the signal.
                        assert!(signalled.load(Ordering::SeqCst), "a request failed before SIGTERM");
                        failed_after_signal.fetch_add(1, Ordering::Relaxed);
                        consecutive_failures += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }

    // Let the burst get going, then SIGTERM while every sender has a request in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 1_500 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // One request is surely in flight: its headers and half its body are sent before the
    // signal, the rest after. It must still be answered 200 and stored.
    let (slow_body, slow_headers) = signed(addr, 999_999_999);
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST /webhooks HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n", slow_body.len());
    for (k, v) in &slow_headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let (first_half, second_half) = slow_body.split_at(slow_body.len() / 2);
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(first_half.as_bytes()).await.unwrap();
    accepted_so_far(addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    signalled.store(true, Ordering::SeqCst);
    let sent = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(sent.success());
    let signalled_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(second_half.as_bytes()).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "the in-flight request was not finished: {answer:?}");
    let seq: i64 = answer
        .split("\"seq\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no seq in {answer:?}"));
    acked.lock().unwrap().insert("S999999999".into(), seq);
    let status =
        tokio::time::timeout(Duration::from_secs(30), relay.wait()).await.expect("no exit within 30 s").unwrap();
    let stopped_in = signalled_at.elapsed();
    for s in senders {
        s.await.unwrap();
    }
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "the relay exited with {status} after SIGTERM; log:\n{log_text}");
    assert!(log_text.contains("stopping: finishing in-flight requests"), "{log_text}");
    assert!(log_text.contains("relay stopped cleanly"), "no clean stop in the log:\n{log_text}");
    assert!(
        failed_after_signal.load(Ordering::Relaxed) > 0,
        "the relay never stopped answering: the test proved nothing"
    );
    let acked = acked.lock().unwrap().clone();

    // Restart on the same database and read the whole feed.
    let mut relay = start_relay(addr, &db, &log).await;
    let http = reqwest::Client::new();
    let mut on_feed: HashMap<String, i64> = HashMap::new();
    let mut after = 0i64;
    loop {
        let page: serde_json::Value = http
            .get(format!("http://{addr}/feed?after={after}&limit=5000"))
            .bearer_auth(FEED_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            break;
        }
        for e in events {
            let id = e["confirmationId"].as_str().unwrap().to_string();
            let seq = e["seq"].as_i64().unwrap();
            assert!(on_feed.insert(id.clone(), seq).is_none(), "{id} is on the feed twice");
        }
        after = page["nextAfter"].as_i64().unwrap();
    }
    let missing: Vec<_> = acked.keys().filter(|id| !on_feed.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged webhooks were lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    for (id, seq) in &acked {
        assert_eq!(on_feed[id], *seq, "{id} was acknowledged with seq {seq} but is stored under another");
    }
    let unique_seqs: HashSet<i64> = on_feed.values().copied().collect();
    assert_eq!(unique_seqs.len(), on_feed.len());
    relay.start_kill().unwrap();
    let _ = relay.wait().await;
    println!(
        "relay_shutdown: {} acknowledged ({} of them after SIGTERM), {} on the feed, {} refused connections after SIGTERM, exit in {:.2} s",
        acked.len(),
        acked_after_signal.load(Ordering::Relaxed),
        on_feed.len(),
        failed_after_signal.load(Ordering::Relaxed),
        stopped_in.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_during_the_drain_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("relay.sqlite3"), dir.path().join("relay.log"));
    let addr = free_port();
    let mut relay = start_relay(addr, &db, &log).await;
    let pid = relay.id().unwrap().to_string();

    // A request that never finishes its body holds the drain open (grace is 20 s).
    let mut stuck = tokio::net::TcpStream::connect(addr).await.unwrap();
    stuck
        .write_all(format!("POST /webhooks HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{").as_bytes())
        .await
        .unwrap();
    accepted_so_far(addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(relay.try_wait().unwrap().is_none(), "the relay did not wait for the in-flight request");
    let second = Instant::now();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(5), relay.wait())
        .await
        .expect("no exit after a second signal")
        .unwrap();
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(second.elapsed() < Duration::from_secs(3));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("second stop signal"), "{log_text}");
    drop(stuck);
}
