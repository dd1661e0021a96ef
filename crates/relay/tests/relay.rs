#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

use chrono::Utc;
use flexdesk_relay::{Relay, RelayConfig};
use flexfactor_wire::webhook::{format_date, sign};
use std::io::Write;
use std::time::Duration;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN: &str = "feed-token-0123456789";

async fn relay(dir: &tempfile::TempDir) -> Relay {
    let config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    Relay::start(config).await.unwrap()
}

fn body(event: &str, order: &str, confirmation: &str) -> String {
    format!(
        r#"{{"Event":"{event}","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":null,"ExternalOrderId":"EXT-{order}","OrderId":"{order}","ConfirmationId":"{confirmation}","IsTestMode":true,"IsResent":false}}"#
    )
}

async fn deliver(r: &Relay, body: &str, key: &[u8], date: chrono::DateTime<Utc>) -> reqwest::Response {
    let host = r.local_addr().to_string();
    let headers = sign(key, &host, "0123456789abcdef0123456789abcdef", &format_date(date), body.as_bytes());
    let mut req = reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(body.to_string());
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    req.header("content-type", "text/plain").send().await.unwrap()
}

async fn feed(r: &Relay, after: i64, wait: u64) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/feed?after={after}&wait={wait}", r.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_webhook_is_stored_once_and_served_verbatim_on_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    let b = body("order.completed", "o-1", "ABCD1234");
    let first = deliver(&r, &b, KEY, Utc::now()).await;
    assert_eq!(first.status(), 200);
    let retry = deliver(&r, &b, KEY, Utc::now()).await;
    assert_eq!(retry.status(), 200);
    let ack: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(ack["duplicate"], true);
    let page: serde_json::Value = feed(&r, 0, 0).await.json().await.unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["body"], b);
    assert_eq!(page["events"][0]["seq"], 1);
    assert_eq!(page["nextAfter"], 1);
}

#[tokio::test]
async fn bad_signatures_stale_dates_bad_json_and_huge_bodies_are_refused_and_unknown_events_kept_without_blocking_good_ones(
) {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    let good = body("order.refunded", "o-2", "C2");
    assert_eq!(deliver(&r, &good, b"another key entirely", Utc::now()).await.status(), 401);
    assert_eq!(deliver(&r, &good, KEY, Utc::now() - chrono::Duration::minutes(30)).await.status(), 401);
    assert_eq!(deliver(&r, "{not json", KEY, Utc::now()).await.status(), 400);
    let huge = "x".repeat(10 * 1024 * 1024);
    assert_eq!(deliver(&r, &huge, KEY, Utc::now()).await.status(), 413);
    let unsigned =
        reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(good.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    // A truncated request: the connection closes mid-body.
    let mut raw = std::net::TcpStream::connect(r.local_addr()).unwrap();
    write!(raw, "POST /webhooks HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000\r\n\r\n{{\"Event\"", r.local_addr())
        .unwrap();
    drop(raw);

    // An event this version does not know, signed by FlexFactor: accepted and kept verbatim
    // (refusing it would have FlexFactor retry it forever); the dashboard records it in the
    // order's timeline without moving the order's state.
    let unknown = body("order.teleported", "o-2", "C9");
    assert_eq!(deliver(&r, &unknown, KEY, Utc::now()).await.status(), 200);

    assert_eq!(deliver(&r, &good, KEY, Utc::now()).await.status(), 200);
    let page: serde_json::Value = feed(&r, 0, 0).await.json().await.unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "only the signed, well-formed deliveries are on the feed");
    assert_eq!(
        (events[0]["event"].as_str(), events[0]["body"].as_str()),
        (Some("order.teleported"), Some(unknown.as_str()))
    );
    assert_eq!(events[1]["event"], "order.refunded");
}

#[tokio::test]
async fn the_feed_needs_the_token_and_long_polls_until_an_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    let anonymous = reqwest::get(format!("{}/feed", r.base_url())).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let waiting = tokio::spawn({
        let url = format!("{}/feed?after=0&wait=10", r.base_url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    deliver(&r, &body("order.expired", "o-3", "C3"), KEY, Utc::now()).await;
    let page = waiting.await.unwrap();
    assert_eq!(page["events"][0]["event"], "order.expired");
    assert!(started.elapsed() < Duration::from_secs(5), "the long-poll did not wake on the new event");
}

#[tokio::test]
async fn events_survive_a_restart_and_sequence_numbers_continue() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    deliver(&r, &body("order.completed", "o-4", "C4"), KEY, Utc::now()).await;
    r.shutdown().await;
    let again = relay(&dir).await;
    let ack: serde_json::Value =
        deliver(&again, &body("order.completed", "o-5", "C5"), KEY, Utc::now()).await.json().await.unwrap();
    assert_eq!(ack["seq"], 2);
    let page: serde_json::Value = feed(&again, 0, 0).await.json().await.unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_cursor_older_than_retention_is_told_to_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let clock_start = Utc::now() - chrono::Duration::days(60);
    {
        let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
        config.clock = std::sync::Arc::new(move || clock_start);
        let old = Relay::start(config).await.unwrap();
        assert_eq!(deliver(&old, &body("order.completed", "o-6", "C6"), KEY, clock_start).await.status(), 200);
        old.shutdown().await;
    }
    // Restarting with the real clock runs retention (30 days), which drops that event.
    let r = relay(&dir).await;
    deliver(&r, &body("order.completed", "o-7", "C7"), KEY, Utc::now()).await;
    // Retention runs in the background right after the start: wait for it, not a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let gone = loop {
        let answer = feed(&r, 0, 0).await;
        if answer.status() != 200 || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(gone.status(), 410);
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["error"], "cursor_too_old");
    assert_eq!(feed(&r, 1, 0).await.status(), 200);
}

#[tokio::test]
async fn a_cursor_past_every_sequence_number_is_told_to_backfill_at_once() {
    // A dashboard that read up to 50 from a relay whose store was since reset.
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    deliver(&r, &body("order.completed", "o-8", "C8"), KEY, Utc::now()).await;
    let started = std::time::Instant::now();
    let ahead = feed(&r, 50, 20).await;
    assert!(started.elapsed() < Duration::from_secs(5), "answered at once, not after the long-poll");
    assert_eq!(ahead.status(), 410);
    let body: serde_json::Value = ahead.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["latestSeq"].as_i64()), (Some("cursor_ahead"), Some(1)));
    assert_eq!(feed(&r, 1, 0).await.status(), 200, "the cursor it names works");
    r.shutdown().await;
}

#[tokio::test]
async fn the_largest_cursor_there_is_is_told_to_backfill_without_breaking_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let r = relay(&dir).await;
    deliver(&r, &body("order.completed", "o-9", "C9"), KEY, Utc::now()).await;
    let ahead = feed(&r, i64::MAX, 0).await;
    assert_eq!(ahead.status(), 410);
    let body: serde_json::Value = ahead.json().await.unwrap();
    assert_eq!(body["error"].as_str(), Some("cursor_ahead"));
    assert_eq!(feed(&r, 0, 0).await.status(), 200);
    r.shutdown().await;
}

#[tokio::test]
async fn a_flood_of_refused_deliveries_keeps_only_the_newest_and_only_their_first_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    config.rejected_keep = 5;
    let r = Relay::start(config).await.unwrap();
    let big = format!("{}{}", "y".repeat(100 * 1024), "END");
    for i in 0..20 {
        let refused = format!("{i:02}{big}");
        assert_eq!(deliver(&r, &refused, b"not the subscriber key", Utc::now()).await.status(), 401);
    }
    // No maintenance has run: the cap holds at every insert.
    let store = flexdesk_relay::SqliteStore::open(&dir.path().join("relay.db")).unwrap();
    let kept = flexdesk_relay::EventStore::rejected(&store, 100).unwrap();
    assert_eq!(kept.len(), 5);
    assert!(kept[0].body.starts_with("19"), "the newest first: {}", &kept[0].body[..8]);
    assert!(kept.iter().all(|k| k.body.len() == flexdesk_relay::REJECTED_BODY_KEPT));
    // A good delivery right after is stored and served.
    assert_eq!(deliver(&r, &body("order.completed", "o-1", "C1"), KEY, Utc::now()).await.status(), 200);
    assert_eq!(feed(&r, 0, 0).await.status(), 200);
    r.shutdown().await;
}

#[tokio::test]
async fn with_a_certificate_the_relay_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed to make a test certificate");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    config.tls = Some(flexdesk_relay::TlsFiles { cert_pem: cert.clone(), key_pem: key });
    let r = Relay::start(config).await.unwrap();
    assert!(r.base_url().starts_with("https://"));
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap()])
        .build()
        .unwrap();
    let health = client.get(format!("{}/healthz", r.base_url())).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A webhook over HTTPS, once over HTTP/1.1 and once over HTTP/2 (negotiated by ALPN),
    // where the host the signature covers arrives as `:authority` instead of a Host header.
    let host = r.local_addr().to_string();
    for (n, version) in [(1, reqwest::Version::HTTP_11), (2, reqwest::Version::HTTP_2)] {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap()]);
        let client = if n == 2 { client.http2_prior_knowledge() } else { client.http1_only() };
        let b = body("order.completed", &format!("o-{n}"), "ABCD1234");
        let headers = sign(KEY, &host, "0123456789abcdef0123456789abcdef", &format_date(Utc::now()), b.as_bytes());
        let mut req = client.build().unwrap().post(format!("{}/webhooks", r.base_url())).body(b);
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        let answer = req.send().await.unwrap();
        assert_eq!(answer.version(), version);
        assert_eq!(answer.status(), 200, "{version:?}: {}", answer.text().await.unwrap());
    }
    let plain = reqwest::get(format!("http://{}/healthz", r.local_addr())).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP must not be served");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_webhooks_arriving_during_a_flood_of_refused_ones_are_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let r = std::sync::Arc::new(relay(&dir).await);
    let http = reqwest::Client::new();
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(48));
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (r, http, in_flight) = (r.clone(), http.clone(), in_flight.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = in_flight.acquire().await.unwrap();
            let (body, key): (String, &[u8]) = if i % 4 == 0 {
                (body("order.completed", &format!("o-{i}"), &format!("C{i}")), KEY)
            } else {
                (body("order.completed", &format!("x-{i}"), "X"), b"not the subscriber key")
            };
            let host = r.local_addr().to_string();
            let headers =
                sign(key, &host, "0123456789abcdef0123456789abcdef", &format_date(Utc::now()), body.as_bytes());
            let mut req = http.post(format!("{}/webhooks", r.base_url())).body(body);
            for (name, value) in headers.pairs() {
                req = req.header(name, value);
            }
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let good: Vec<u16> = statuses.iter().step_by(4).copied().collect();
    assert!(good.iter().all(|s| *s == 200), "good deliveries refused: {good:?}");
    assert!(statuses.iter().enumerate().filter(|(i, _)| i % 4 != 0).all(|(_, s)| *s == 401));
    let page: serde_json::Value = feed(&r, 0, 0).await.json().await.unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 100);
    if let Ok(r) = std::sync::Arc::try_unwrap(r) {
        r.shutdown().await;
    }
}

#[tokio::test]
async fn a_sender_that_stalls_mid_headers_or_mid_body_is_cut_off_and_good_webhooks_still_arrive() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay.db"), KEY.to_vec(), TOKEN);
    config.request_timeout = Duration::from_millis(500);
    let r = Relay::start(config).await.unwrap();
    let addr = r.local_addr();

    // One stops half-way through its headers, one half-way through its body; both keep
    // the connection open.
    let mut headers = std::net::TcpStream::connect(addr).unwrap();
    write!(headers, "POST /webhooks HTTP/1.1\r\nHost: {addr}\r\nContent-Le").unwrap();
    let mut stalled_body = std::net::TcpStream::connect(addr).unwrap();
    write!(stalled_body, "POST /webhooks HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{\"Event\"").unwrap();

    // Meanwhile a good delivery is stored at once.
    let good = body("order.completed", "o-9", "C9");
    assert_eq!(deliver(&r, &good, KEY, Utc::now()).await.status(), 200);

    // Both stalled connections are answered or closed once the time is up.
    let read_all = |mut s: std::net::TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        let started = std::time::Instant::now();
        let _ = s.read_to_string(&mut answer);
        (answer, started.elapsed())
    };
    let ((after_headers, t1), (after_body, t2)) =
        tokio::task::spawn_blocking(move || (read_all(headers), read_all(stalled_body))).await.unwrap();
    assert!(t1 < Duration::from_secs(5) && t2 < Duration::from_secs(5), "closed in time: {t1:?}, {t2:?}");
    assert!(!after_headers.starts_with("HTTP/1.1 2"), "{after_headers}");
    assert!(after_body.starts_with("HTTP/1.1 408"), "{after_body}");

    // The cut-off delivery is listed with the refused ones, with its reason (its partial
    // body is not kept); the feed has the good event only.
    let rejected: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/rejected", r.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rejected.to_string().contains("did not arrive in full"), "{rejected}");
    let page: serde_json::Value = feed(&r, 0, 0).await.json().await.unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
}
