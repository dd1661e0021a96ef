//! Fault injection and signed webhook delivery over real sockets.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{anchor, config, Api, TestResult};
use flexfactor_sandbox::{Faults, Sandbox, WebhookSettings, WebhookTarget};
use flexfactor_wire::webhook::{self, WebhookPayload};

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

#[tokio::test]
async fn injected_faults_produce_5xx_429_and_dropped_connections() -> TestResult {
    let mut c = config(42, 10);
    c.clock_start = Some(anchor());
    let sandbox = Sandbox::start(c).await?;
    let api = Api::new(&sandbox).await?;

    sandbox.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let a = api.get("/orders").await?;
    assert!(a.status == 500 || a.status == 503, "{}", a.status);
    assert!(a.json["traceId"].is_string());

    sandbox.set_faults(Faults { rate_limit_rate: 1.0, retry_after_secs: 7, ..Faults::default() });
    let a = api.get("/orders").await?;
    assert_eq!(a.status, 429);
    assert_eq!(a.headers["retry-after"], "7");

    sandbox.set_faults(Faults { drop_connection_rate: 1.0, ..Faults::default() });
    assert!(api.get("/orders").await.is_err(), "a dropped connection gives no answer");

    sandbox.set_faults(Faults { seed: 3, error_rate: 0.5, ..Faults::default() });
    let mut first = Vec::new();
    for _ in 0..10 {
        first.push(api.get("/orders?pageSize=1").await?.status);
    }
    sandbox.set_faults(Faults { seed: 3, error_rate: 0.5, ..Faults::default() });
    let mut second = Vec::new();
    for _ in 0..10 {
        second.push(api.get("/orders?pageSize=1").await?.status);
    }
    assert_eq!(first, second, "faults are deterministic per seed");
    assert!(first.contains(&200) && first.iter().any(|s| *s >= 500));

    sandbox.set_faults(Faults { latency: Duration::from_millis(150), ..Faults::default() });
    let started = std::time::Instant::now();
    assert_eq!(api.get("/orders?pageSize=1").await?.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    Ok(())
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.lock().unwrap_or_else(|e| e.into_inner()).push((headers, body));
    let mut fail = r.fail_first.lock().unwrap_or_else(|e| e.into_inner());
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn start_receiver(fail_first: u32) -> TestResult<(Receiver, String)> {
    let r = Receiver { fail_first: Arc::new(Mutex::new(fail_first)), ..Receiver::default() };
    let app = Router::new().route("/hooks", post(receive)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((r, url))
}

async fn wait_for(r: &Receiver, n: usize) {
    for _ in 0..1500 {
        if r.seen.lock().unwrap_or_else(|e| e.into_inner()).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sandbox_with_hook(url: &str) -> TestResult<Sandbox> {
    let mut c = config(42, 10);
    c.clock_start = Some(anchor());
    c.webhooks = vec![WebhookTarget { url: url.to_string(), subscriber_key_base64: KEY_B64.to_string() }];
    c.webhook_settings = WebhookSettings { retry_base: Duration::from_millis(20), ..WebhookSettings::default() };
    Ok(Sandbox::start(c).await?)
}

#[tokio::test]
async fn webhooks_arrive_signed_as_text_with_pascal_case_payloads() -> TestResult {
    let (receiver, url) = start_receiver(0).await?;
    let sandbox = sandbox_with_hook(&url).await?;
    let api = Api::new(&sandbox).await?;
    let (id, _) = api.evaluate_cit("4000002760003184", 4999, "HOOK-1").await?;
    api.post_raw(&format!("/orders/{id}/refund"), r#"{"amountToRefund": 49.99}"#).await?;
    wait_for(&receiver, 2).await;
    let key = webhook::decode_key(KEY_B64)?;
    let host = url.trim_start_matches("http://").trim_end_matches("/hooks").to_string();
    let seen = receiver.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(seen.len(), 2);
    let mut events = Vec::new();
    for (headers, body) in &seen {
        let pairs: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
        webhook::verify(&key, &host, &pairs, body)?;
        assert!(headers["content-type"].to_str()?.starts_with("text/plain"));
        assert_eq!(headers[webhook::HEADER_NONCE].len(), 32);
        assert!(webhook::parse_date(headers[webhook::HEADER_DATE].to_str()?).is_some());
        let raw: serde_json::Value = serde_json::from_slice(body)?;
        assert!(raw.get("ExternalOrderId").is_some() && raw.get("IsResent").is_some());
        let payload: WebhookPayload = serde_json::from_slice(body)?;
        assert_eq!(payload.order_id.as_deref(), Some(id.as_str()));
        assert_eq!(payload.external_order_id.as_deref(), Some("HOOK-1"));
        assert!(payload.is_test_mode && !payload.is_resent);
        events.push(payload.event.as_str().to_string());
    }
    assert_eq!(events, ["order.completed", "order.refunded"]);
    let pairs: Vec<(String, String)> =
        seen[0].0.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    assert!(webhook::verify(&key, "other.host:1", &pairs, &seen[0].1).is_err(), "the host is signed");
    Ok(())
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_is_resent() -> TestResult {
    let (receiver, url) = start_receiver(2).await?;
    let sandbox = sandbox_with_hook(&url).await?;
    let api = Api::new(&sandbox).await?;
    let (id, _) = api.evaluate_cit("4000002760003184", 4999, "HOOK-2").await?;
    wait_for(&receiver, 3).await;
    let seen = receiver.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(seen.len(), 3);
    let flags: Vec<bool> = seen
        .iter()
        .map(|(_, b)| serde_json::from_slice::<WebhookPayload>(b).map(|p| p.is_resent).unwrap_or(false))
        .collect();
    assert_eq!(flags, [false, true, true]);
    let confirmation: Vec<String> =
        seen.iter().filter_map(|(_, b)| serde_json::from_slice::<WebhookPayload>(b).ok()?.confirmation_id).collect();
    assert!(confirmation.windows(2).all(|w| w[0] == w[1]), "retries keep the ConfirmationId");
    // The sandbox logs an attempt once its answer is back, a moment after the receiver saw it.
    for _ in 0..1500 {
        if sandbox.delivered_webhooks().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = sandbox.delivered_webhooks();
    assert_eq!(log.iter().map(|d| d.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(log[2].succeeded() && !log[0].succeeded());
    assert!(log.iter().all(|d| d.order_id == id));
    Ok(())
}

#[tokio::test]
async fn duplicates_and_reordering_can_be_switched_on() -> TestResult {
    let (receiver, url) = start_receiver(0).await?;
    let sandbox = sandbox_with_hook(&url).await?;
    sandbox.set_webhook_settings(WebhookSettings { duplicate_rate: 1.0, reorder: true, ..WebhookSettings::default() });
    let api = Api::new(&sandbox).await?;
    let (id, _) = api.evaluate_cit("4111111111111111", 4999, "HOOK-3").await?;
    assert!(sandbox.resolve_challenge(&id, true));
    wait_for(&receiver, 8).await;
    let events: Vec<String> = receiver
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, b)| Some(serde_json::from_slice::<WebhookPayload>(b).ok()?.event.as_str().to_string()))
        .collect();
    assert_eq!(events.len(), 8, "{events:?}");
    assert_eq!(events[0], events[1], "each event is sent twice");
    // `challenge.presented` goes out during the evaluate, alone or in the next burst
    // depending on how soon the challenge is resolved; the resolution's own events are one
    // burst, delivered newest first.
    let resolution: Vec<&str> = events.iter().map(String::as_str).filter(|e| *e != "challenge.presented").collect();
    assert_eq!(resolution.len(), 6, "{events:?}");
    assert_ne!(resolution[0], "challenge.attempted", "the burst arrives newest first: {events:?}");
    assert_eq!(resolution[4..], ["challenge.attempted", "challenge.attempted"], "{events:?}");
    Ok(())
}
