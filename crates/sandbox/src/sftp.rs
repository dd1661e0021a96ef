//! The sandbox's SFTP endpoint (flexfactor-api.md §11): an SSH server with key-only
//! authentication and one folder pair, `/inbound` (merchant → FlexFactor) and `/outbound`
//! (FlexFactor → merchant), over a real directory.
//!
//! Uploaded batches are picked up from `/inbound` (names starting with `.` are
//! in-progress uploads and ignored), run row by row through the same `POST /v1/evaluate`
//! (or `/v1/transmit`) handler HTTP clients reach — with the header's
//! `authorizationToken` as bearer, so orders appear in `GET /orders` and webhooks fire —
//! and answered with `/outbound/<base>_response.json` (INFERRED format, see
//! `flexdesk-batch`'s `files` module: `sourceFile`, `processedAt`, `rows[]` of
//! `sequenceNumber`, `orderId`, `orderSessionKey`, `status`, `errors`). The response is
//! written under a dot-name and renamed, and only then is the input removed, so a client
//! always finds either the input or the answer.
//!
//! INFERRED choices: the header's `expiryDateUtc` is copied to rows without their own and
//! `mid` to rows without one; a row the API rejects gets `status: "ERROR"` and the
//! validation messages as `errors` (`"Transaction.Amount: …"`); a file that is not a batch
//! gets a response with no rows and one error; transmit CSV files (which carry no token)
//! are acknowledged row by row with `status: "RECEIVED"` without calling `/transmit`.

mod fs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::{router, SandboxError, SandboxState};

/// How the endpoint is set up.
#[derive(Debug, Clone)]
pub struct SftpConfig {
    /// The directory holding `inbound/` and `outbound/` (created if missing).
    pub root: PathBuf,
    /// OpenSSH public-key lines allowed to log in (any user name).
    pub authorized_keys: Vec<String>,
    /// Where to listen (e.g. `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// How often `/inbound` is scanned.
    pub poll_every: Duration,
}

impl SftpConfig {
    pub fn new(root: PathBuf, authorized_keys: Vec<String>) -> SftpConfig {
        SftpConfig {
            root,
            authorized_keys,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            poll_every: Duration::from_millis(250),
        }
    }
}

/// A running SFTP endpoint; dropping it stops it.
#[derive(Debug)]
pub struct SftpEndpoint {
    addr: SocketAddr,
    host_key: String,
    root: PathBuf,
    tasks: Vec<JoinHandle<()>>,
}

impl SftpEndpoint {
    /// Starts an endpoint on a sandbox's shared state (as [`crate::Sandbox::start_sftp`]).
    ///
    /// # Errors
    /// As [`crate::Sandbox::start_sftp`].
    pub async fn start(state: SandboxState, config: SftpConfig) -> Result<SftpEndpoint, SandboxError> {
        start(state, config).await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// The server's host public key as an OpenSSH line (`ssh-ed25519 AAAA…`).
    pub fn host_key(&self) -> &str {
        &self.host_key
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The SFTP path of the inbound folder.
    pub fn inbound_dir(&self) -> &'static str {
        "/inbound"
    }
    pub fn outbound_dir(&self) -> &'static str {
        "/outbound"
    }
}

impl Drop for SftpEndpoint {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// Starts the endpoint for `state`.
pub(crate) async fn start(state: SandboxState, config: SftpConfig) -> Result<SftpEndpoint, SandboxError> {
    let invalid = |reason: String| SandboxError::InvalidConfig { field: "sftp", reason };
    for dir in ["inbound", "outbound"] {
        std::fs::create_dir_all(config.root.join(dir)).map_err(|e| invalid(format!("cannot create {dir}: {e}")))?;
    }
    let keys: Vec<PublicKey> = config
        .authorized_keys
        .iter()
        .map(|k| PublicKey::from_openssh(k.trim()).map_err(|e| invalid(format!("bad authorized key: {e}"))))
        .collect::<Result<_, _>>()?;
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
    let host = PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed));
    let host_key = host.public_key().to_openssh().map_err(|e| invalid(e.to_string()))?;
    let ssh_config = Arc::new(russh::server::Config {
        keys: vec![host],
        auth_rejection_time: Duration::from_millis(200),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(120)),
        ..Default::default()
    });
    let listener =
        TcpListener::bind(config.bind).await.map_err(|source| SandboxError::Bind { addr: config.bind, source })?;
    let addr = listener.local_addr().map_err(SandboxError::LocalAddr)?;
    let keys = Arc::new(keys);
    let root = config.root.clone();
    let accept_root = root.clone();
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = SshSession { keys: keys.clone(), root: accept_root.clone(), channels: Default::default() };
            let cfg = ssh_config.clone();
            tokio::spawn(async move {
                match russh::server::run_stream(cfg, stream, handler).await {
                    Ok(session) => {
                        if let Err(e) = session.await {
                            tracing::debug!(error = %e, "sandbox sftp: session ended");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "sandbox sftp: handshake failed"),
                }
            });
        }
    });
    let poll_root = root.clone();
    let poll = tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.poll_every);
        loop {
            tick.tick().await;
            process_inbound(&state, &poll_root).await;
        }
    });
    tracing::info!(%addr, root = %root.display(), "sandbox: SFTP endpoint listening");
    Ok(SftpEndpoint { addr, host_key, root, tasks: vec![accept, poll] })
}

struct SshSession {
    keys: Arc<Vec<PublicKey>>,
    root: PathBuf,
    channels: std::collections::HashMap<ChannelId, Channel<Msg>>,
}

impl russh::server::Handler for SshSession {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.keys.iter().any(|k| k.key_data() == key.public_key.key_data()) {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_eof(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        session.close(channel)?;
        Ok(())
    }

    async fn subsystem_request(&mut self, id: ChannelId, name: &str, session: &mut Session) -> Result<(), Self::Error> {
        match (name, self.channels.remove(&id)) {
            ("sftp", Some(channel)) => {
                session.channel_success(id)?;
                russh_sftp::server::run(channel.into_stream(), fs::FsSession::new(self.root.clone())).await;
            }
            _ => session.channel_failure(id)?,
        }
        Ok(())
    }
}

/// Processes every complete file in `inbound/`.
async fn process_inbound(state: &SandboxState, root: &Path) {
    let Ok(mut rd) = tokio::fs::read_dir(root.join("inbound")).await else { return };
    let mut names = Vec::new();
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && e.file_type().await.map(|t| t.is_file()).unwrap_or(false) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let input = root.join("inbound").join(&name);
        let Ok(bytes) = tokio::fs::read(&input).await else { continue };
        let rows = process_file(state, &name, &bytes).await;
        let base = name.rsplit_once('.').map(|(b, _)| b).unwrap_or(&name);
        let out_name = format!("{base}_response.json");
        let doc = json!({
            "sourceFile": name,
            "processedAt": state.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "rows": rows,
        });
        let tmp = root.join("outbound").join(format!(".{out_name}.part"));
        let body = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        if tokio::fs::write(&tmp, body).await.is_err()
            || tokio::fs::rename(&tmp, root.join("outbound").join(&out_name)).await.is_err()
        {
            tracing::warn!(file = %name, "sandbox sftp: could not write the response");
            continue;
        }
        let _ = tokio::fs::remove_file(&input).await;
        tracing::info!(file = %name, "sandbox sftp: batch processed");
    }
}

fn row(seq: &Value, order_id: Option<&str>, key: Option<&str>, status: &str, errors: Vec<String>) -> Value {
    let seq = match seq {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    json!({ "sequenceNumber": seq, "orderId": order_id, "orderSessionKey": key, "status": status, "errors": errors })
}

async fn process_file(state: &SandboxState, name: &str, bytes: &[u8]) -> Vec<Value> {
    let transmit = name.starts_with("transmit_");
    if name.ends_with(".csv") {
        if !transmit {
            return vec![row(&Value::Null, None, None, "ERROR", vec!["evaluate batches must be JSON".into()])];
        }
        let text = String::from_utf8_lossy(bytes);
        return text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, _)| row(&Value::String((i + 1).to_string()), None, None, "RECEIVED", Vec::new()))
            .collect();
    }
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return vec![row(&Value::Null, None, None, "ERROR", vec![format!("not a JSON batch: {e}")])],
    };
    let header = doc.get("header").cloned().unwrap_or(Value::Null);
    let Some(body) = doc.get("body").and_then(Value::as_array) else {
        return vec![row(&Value::Null, None, None, "ERROR", vec!["the batch has no \"body\" array".into()])];
    };
    let token = header
        .get("authorizationToken")
        .or_else(|| header.get("authorization"))
        .and_then(Value::as_str)
        .map(|t| t.trim_start_matches("bearer ").trim_start_matches("Bearer ").to_string())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(body.len());
    for r in body {
        let mut obj: Map<String, Value> = r.as_object().cloned().unwrap_or_default();
        for key in ["mid", "expiryDateUtc"] {
            let skip = obj.contains_key(key) || (transmit && key == "expiryDateUtc");
            if !skip {
                if let Some(v) = header.get(key).filter(|v| !v.is_null()) {
                    obj.insert(key.into(), v.clone());
                }
            }
        }
        let seq = obj.get("sequenceNumber").cloned().unwrap_or(Value::Null);
        let order_id = obj.get("orderId").and_then(Value::as_str).map(str::to_string);
        let path = if transmit { "/v1/transmit" } else { "/v1/evaluate" };
        let (status, reply) = call(state, path, &token, &Value::Object(obj)).await;
        if (200..300).contains(&status) {
            let key = reply.get("orderSessionKey").and_then(Value::as_str);
            let word = match (transmit, reply.get("status")) {
                (true, _) => "RECEIVED".to_string(),
                (false, Some(Value::String(s))) => s.clone(),
                _ => "UNKNOWN".to_string(),
            };
            out.push(row(&seq, order_id.as_deref(), key, &word, Vec::new()));
        } else {
            out.push(row(&seq, order_id.as_deref(), None, "ERROR", problem_messages(status, &reply)));
        }
    }
    out
}

fn problem_messages(status: u16, reply: &Value) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(errors) = reply.get("errors").and_then(Value::as_object) {
        for (field, msgs) in errors {
            for m in msgs.as_array().into_iter().flatten() {
                v.push(format!("{field}: {}", m.as_str().unwrap_or_default()));
            }
        }
    }
    if v.is_empty() {
        v.push(match status {
            401 => "the batch's authorizationToken was not accepted (expired or unknown)".into(),
            _ => format!("HTTP {status}"),
        });
    }
    v
}

async fn call(state: &SandboxState, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()));
    let Ok(request) = request else { return (500, Value::Null) };
    match router(state.clone()).oneshot(request).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap_or_default();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
        Err(e) => match e {},
    }
}
