//! Webhook delivery (flexfactor-api.md §9): every emitted event is POSTed to every target
//! as a `text/plain` body holding the PascalCase JSON payload, signed with
//! `flexfactor_wire::webhook::sign` (the sandbox has no HMAC code of its own). A
//! background task delivers in emission order; a failed attempt (non-2xx, connect error,
//! timeout) is retried on its own task with exponential backoff and `IsResent: true`.
//! `duplicate_rate` re-sends a delivered event once more (same body, new nonce);
//! `reorder` delivers the events of each burst (those emitted within 50 ms) newest first.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, Method, Request, Uri};
use chrono::{DateTime, Utc};
use flexfactor_wire::webhook;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;

use crate::clock::{Clock, SystemClock};
use crate::ledger::SandboxEvent;
use crate::problem::hex;
use crate::SandboxState;

/// One subscriber: where to POST and the base64 subscriber key to sign with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    pub subscriber_key_base64: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget").field("url", &self.url).field("subscriber_key_base64", &"<redacted>").finish()
    }
}

/// Delivery behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// First retry delay; doubles per attempt (default 1 s).
    pub retry_base: Duration,
    /// Attempts per event and target, the first included (default 6).
    pub max_attempts: u32,
    /// Per-attempt timeout (default 10 s).
    pub timeout: Duration,
    /// Probability that a delivered event is sent once more (default 0).
    pub duplicate_rate: f64,
    /// Deliver each burst of events newest first (default false).
    pub reorder: bool,
    /// `IsTestMode` in payloads (default true).
    pub test_mode: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_base: Duration::from_secs(1),
            max_attempts: 6,
            timeout: Duration::from_secs(10),
            duplicate_rate: 0.0,
            reorder: false,
            test_mode: true,
        }
    }
}

/// One delivery attempt, as logged by [`crate::Sandbox::delivered_webhooks`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub url: String,
    pub event: String,
    pub order_id: String,
    pub confirmation_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub is_resent: bool,
    /// A deliberate duplicate (`duplicate_rate`).
    pub duplicate: bool,
    /// The receiver's status, or `None` when no answer came.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The exact body sent.
    pub body: String,
    /// Wall time of the attempt.
    pub at: DateTime<Utc>,
}

impl DeliveryRecord {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A target with its key decoded and URL parsed.
#[derive(Clone)]
pub struct ResolvedTarget {
    pub url: Uri,
    pub host: String,
    pub key: Vec<u8>,
}

impl ResolvedTarget {
    /// # Errors
    /// A reason when the URL is not `http://host[:port]/...` or the key is not base64.
    pub fn resolve(t: &WebhookTarget) -> Result<ResolvedTarget, String> {
        let url: Uri = t.url.parse().map_err(|e| format!("{}: {e}", t.url))?;
        if url.scheme_str() != Some("http") {
            return Err(format!("{}: only http:// targets are supported by the sandbox", t.url));
        }
        let host = url.authority().map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string()).unwrap_or_default();
        if host.is_empty() {
            return Err(format!("{}: no host", t.url));
        }
        let key = webhook::decode_key(&t.subscriber_key_base64).map_err(|e| e.to_string())?;
        Ok(ResolvedTarget { url, host, key })
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Clone, Copy)]
struct Attempt {
    number: u32,
    duplicate: bool,
}

/// Starts the delivery task; events sent on the returned channel are delivered.
pub fn spawn_dispatcher(
    state: SandboxState,
    seed: u64,
) -> (mpsc::UnboundedSender<SandboxEvent>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<SandboxEvent>();
    let task = tokio::spawn(async move {
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5745_4248_4f4f_4b53);
        while let Some(first) = rx.recv().await {
            let settings = state.webhook_settings();
            let mut batch = vec![first];
            if settings.reorder {
                while let Ok(Some(next)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
                    batch.push(next);
                }
                batch.reverse();
            }
            for event in batch {
                for target in state.webhook_targets() {
                    let nonce = random_nonce(&mut rng);
                    let ok = deliver(
                        &state,
                        &client,
                        &target,
                        &event,
                        Attempt { number: 1, duplicate: false },
                        &nonce,
                        &settings,
                    )
                    .await;
                    if !ok {
                        tokio::spawn(retry(
                            state.clone(),
                            client.clone(),
                            target.clone(),
                            event.clone(),
                            settings.clone(),
                            rng.next_u64(),
                        ));
                    } else if settings.duplicate_rate > 0.0 && rng.gen::<f64>() < settings.duplicate_rate {
                        let nonce = random_nonce(&mut rng);
                        deliver(
                            &state,
                            &client,
                            &target,
                            &event,
                            Attempt { number: 1, duplicate: true },
                            &nonce,
                            &settings,
                        )
                        .await;
                    }
                }
            }
        }
    });
    (tx, task)
}

fn random_nonce(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    hex(&b)
}

async fn retry(
    state: SandboxState,
    client: HttpClient,
    target: ResolvedTarget,
    event: SandboxEvent,
    settings: WebhookSettings,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut delay = settings.retry_base;
    for number in 2..=settings.max_attempts.max(1) {
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2);
        let nonce = random_nonce(&mut rng);
        if deliver(&state, &client, &target, &event, Attempt { number, duplicate: false }, &nonce, &settings).await {
            return;
        }
    }
    tracing::warn!(url = %target.url, event = %event.kind.as_str(), "sandbox: webhook given up");
}

/// One signed POST; logs the attempt and reports whether the receiver answered 2xx.
async fn deliver(
    state: &SandboxState,
    client: &HttpClient,
    target: &ResolvedTarget,
    event: &SandboxEvent,
    attempt: Attempt,
    nonce: &str,
    settings: &WebhookSettings,
) -> bool {
    let payload = event.payload(settings.test_mode, attempt.number > 1);
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let now = SystemClock.now();
    let signed = webhook::sign(&target.key, &target.host, nonce, &webhook::format_date(now), &body);
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(target.url.clone())
        .header(header::HOST, target.host.as_str())
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    for (name, value) in signed.pairs() {
        builder = builder.header(name, value);
    }
    let (status, error) = match builder.body(Full::new(Bytes::from(body.clone()))) {
        Err(e) => (None, Some(e.to_string())),
        Ok(request) => match tokio::time::timeout(settings.timeout, client.request(request)).await {
            Err(_) => (None, Some("timed out".to_string())),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Ok(Ok(response)) => (Some(response.status().as_u16()), None),
        },
    };
    let record = DeliveryRecord {
        url: target.url.to_string(),
        event: event.kind.as_str().to_string(),
        order_id: event.order_id.clone(),
        confirmation_id: event.confirmation_id.clone(),
        attempt: attempt.number,
        is_resent: attempt.number > 1,
        duplicate: attempt.duplicate,
        status,
        error,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: now,
    };
    tracing::debug!(url = %record.url, event = %record.event, attempt = record.attempt, status = ?record.status, "sandbox: webhook attempt");
    let ok = record.succeeded();
    state.record_delivery(record);
    ok
}
