//! Relay configuration.

use chrono::{DateTime, Utc};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where "now" comes from (tests inject a fixed or moving clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How the relay runs.
#[derive(Clone)]
pub struct RelayConfig {
    pub bind: SocketAddr,
    /// The SQLite file; created if missing.
    pub db_path: PathBuf,
    /// The webhook subscriber key from the FlexFactor portal, decoded from base64.
    pub subscriber_key: Vec<u8>,
    /// The host name FlexFactor signs (`host` in the string to sign). `None`: the request's
    /// `Host` header, which is right unless a proxy rewrites it.
    pub public_host: Option<String>,
    /// Bearer token dashboards present on `/feed`.
    pub feed_token: String,
    /// Deliveries whose `x-fc-date` is further than this from now are rejected.
    pub replay_window: Duration,
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Events older than this are pruned from the feed (dedupe keys stay ≥ 7 days).
    pub retention: Duration,
    /// When set, maintenance drops the oldest events until the database is under this size.
    pub max_db_bytes: Option<u64>,
    /// How often retention, compaction and the WAL checkpoint run (also once at start).
    pub maintenance_interval: Duration,
    /// Refused deliveries kept for inspection (newest first); older ones are dropped.
    pub rejected_keep: u64,
    /// On shutdown, how long in-flight requests may take before connections are closed.
    pub shutdown_grace: Duration,
    /// The longest a client may take to send a request's headers (the first on a
    /// connection, and each after it) and a webhook's body: a connection that trickles or
    /// stops mid-request is closed (408 for a body) instead of holding a socket forever.
    /// Storing the event afterwards is not timed.
    pub request_timeout: Duration,
    pub clock: Clock,
    /// Serve HTTPS with this certificate chain and key (PEM files). `None`: plain HTTP,
    /// for use behind a TLS-terminating proxy or on loopback.
    pub tls: Option<TlsFiles>,
}

/// PEM files for HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl RelayConfig {
    pub fn new(db_path: PathBuf, subscriber_key: Vec<u8>, feed_token: impl Into<String>) -> RelayConfig {
        RelayConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_path,
            subscriber_key,
            public_host: None,
            feed_token: feed_token.into(),
            replay_window: Duration::from_secs(300),
            max_body_bytes: 256 * 1024,
            retention: Duration::from_secs(30 * 24 * 3600),
            max_db_bytes: None,
            maintenance_interval: Duration::from_secs(600),
            rejected_keep: 10_000,
            shutdown_grace: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            clock: Arc::new(Utc::now),
            tls: None,
        }
    }
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("bind", &self.bind)
            .field("db_path", &self.db_path)
            .field("subscriber_key", &"<redacted>")
            .field("feed_token", &"<redacted>")
            .field("public_host", &self.public_host)
            .field("replay_window", &self.replay_window)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("retention", &self.retention)
            .field("max_db_bytes", &self.max_db_bytes)
            .field("maintenance_interval", &self.maintenance_interval)
            .field("rejected_keep", &self.rejected_keep)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("request_timeout", &self.request_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}
