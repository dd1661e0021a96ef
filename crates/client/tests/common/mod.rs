//! A scripted FlexFactor stand-in for the client's integration tests: an axum server on
//! port 0 that answers each path from a queue of replies and records every request, plus
//! a raw TCP server that can drop connections mid-request. Written for these tests only:
//! the client never shares code with the real sandbox.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use flexfactor_client::{ClientConfig, ClientError, FlexFactorClient, RetryPolicy};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply { status, body: body.to_string(), headers: Vec::new(), delay: Duration::ZERO }
    }
    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_string()));
        self
    }
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A request the server saw (token requests are only counted).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub bearer: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
pub struct Script {
    replies: Mutex<HashMap<String, VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    token_requests: AtomicUsize,
    token_ttls: Mutex<VecDeque<i64>>,
    token_delay: Mutex<Duration>,
    reject_credentials: Mutex<bool>,
}

impl Script {
    /// Queues replies for `path` (under /v1); the last one repeats once the queue is down to it.
    pub fn on(&self, path: &str, replies: Vec<Reply>) {
        lock(&self.replies).entry(format!("/v1{path}")).or_default().extend(replies);
    }
    /// Lifetimes (seconds) of the next tokens issued; afterwards tokens live 600 s.
    pub fn token_ttls(&self, ttls: &[i64]) {
        lock(&self.token_ttls).extend(ttls);
    }
    pub fn token_delay(&self, d: Duration) {
        *lock(&self.token_delay) = d;
    }
    pub fn reject_credentials(&self) {
        *lock(&self.reject_credentials) = true;
    }
    pub fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let full = format!("/v1{path}");
        lock(&self.seen).iter().filter(|s| s.path == full).cloned().collect()
    }
}

pub struct Server {
    pub base: String,
    pub script: Arc<Script>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start() -> std::io::Result<Server> {
        let script = Arc::new(Script::default());
        let app = Router::new().fallback(handle).with_state(script.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Server { base: format!("http://{addr}/v1"), script, task })
    }

    pub fn client(&self) -> Result<FlexFactorClient, ClientError> {
        client_for(&self.base, Duration::from_secs(5))
    }

    pub fn client_with_timeout(&self, timeout: Duration) -> Result<FlexFactorClient, ClientError> {
        client_for(&self.base, timeout)
    }
}

pub fn client_for(base: &str, timeout: Duration) -> Result<FlexFactorClient, ClientError> {
    let mut config = ClientConfig::new(base, "app-key", "app-secret");
    config.timeout = timeout;
    config.retry =
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(20), max_delay: Duration::from_secs(3) };
    FlexFactorClient::new(config)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

async fn handle(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if path == "/v1/oauth2/token" {
        let n = script.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let delay = *lock(&script.token_delay);
        tokio::time::sleep(delay).await;
        if *lock(&script.reject_credentials) {
            let problem = r#"{"status":400,"title":"Invalid credentials","traceId":"00-cred-01","errors":{"AppKey":["unknown key"]}}"#;
            return (StatusCode::BAD_REQUEST, problem).into_response();
        }
        let ttl = lock(&script.token_ttls).pop_front().unwrap_or(600);
        let body = serde_json::json!({"accessToken": format!("tok-{n}"), "refreshToken": "r", "expires": now_ms() + ttl * 1000,
            "id": "client", "success": true, "result": null, "errors": [], "customProperties": {}});
        return axum::Json(body).into_response();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    lock(&script.seen).push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        bearer: header("authorization").and_then(|a| a.strip_prefix("Bearer ").map(str::to_string)),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = {
        let mut replies = lock(&script.replies);
        match replies.get_mut(&path) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    };
    let Some(reply) = reply else {
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body).into_response();
    for (name, value) in reply.headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// What the raw server does with one non-token request.
#[derive(Clone, Debug)]
pub enum RawStep {
    /// Read the whole request, then close the connection without answering.
    Drop,
    /// Answer 200 with this JSON body.
    Respond(String),
}

/// A raw HTTP/1.1 server on port 0 (for dropped connections). Answers token requests
/// itself, plays `steps` for everything else, and counts those requests.
pub struct RawServer {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    pub async fn start(steps: Vec<RawStep>) -> std::io::Result<RawServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            let mut steps: VecDeque<RawStep> = steps.into();
            while let Ok((mut stream, _)) = listener.accept().await {
                let Some(head) = read_request(&mut stream).await else { continue };
                let body = if head.starts_with("POST /v1/oauth2/token") {
                    format!(r#"{{"accessToken":"raw-token","expires":{}}}"#, now_ms() + 600_000)
                } else {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let step = if steps.len() > 1 { steps.pop_front() } else { steps.front().cloned() };
                    match step {
                        Some(RawStep::Respond(b)) => b,
                        Some(RawStep::Drop) | None => {
                            drop(stream);
                            continue;
                        }
                    }
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        Ok(RawServer { base: format!("http://{addr}/v1"), requests, task })
    }
}

/// Reads one request (head and `content-length` body); returns the head.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(head);
        }
    }
}
