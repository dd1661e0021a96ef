//! The relay server: router, start, graceful shutdown, retention.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::EventStore;
use crate::{RelayConfig, RelayError, SqliteStore};

/// Counters for `/healthz` (and metrics later).
#[derive(Debug, Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub feed_reads: AtomicU64,
}

/// Shared by every handler.
#[derive(Clone)]
pub struct RelayState {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) config: Arc<RelayConfig>,
    pub(crate) latest: Arc<watch::Sender<i64>>,
    pub(crate) metrics: Arc<Metrics>,
}

impl RelayState {
    pub fn new(config: RelayConfig, store: Arc<dyn EventStore>) -> Result<RelayState, RelayError> {
        if config.subscriber_key.is_empty() {
            return Err(RelayError::Config("the webhook subscriber key is empty".into()));
        }
        if config.feed_token.len() < 16 {
            return Err(RelayError::Config("the feed token must be at least 16 characters".into()));
        }
        let latest = store.latest_seq()?;
        Ok(RelayState {
            store,
            config: Arc::new(config),
            latest: Arc::new(watch::channel(latest).0),
            metrics: Arc::new(Metrics::default()),
        })
    }
}

async fn healthz(State(state): State<RelayState>) -> Json<serde_json::Value> {
    let m = &state.metrics;
    Json(serde_json::json!({
        "status": "ok",
        "latestSeq": *state.latest.borrow(),
        "received": m.received.load(Ordering::Relaxed),
        "duplicates": m.duplicates.load(Ordering::Relaxed),
        "rejected": m.rejected.load(Ordering::Relaxed),
        "feedReads": m.feed_reads.load(Ordering::Relaxed),
    }))
}

/// The relay's routes, for tests to drive directly.
pub fn router(state: RelayState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/webhooks", post(crate::ingest::receive).layer(DefaultBodyLimit::max(limit)))
        .route("/feed", get(crate::feed::feed))
        .route("/rejected", get(crate::feed::rejected))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    tls: bool,
    handle: axum_server::Handle<SocketAddr>,
    server: Option<JoinHandle<()>>,
    pruner: JoinHandle<()>,
}

impl Relay {
    /// Opens the SQLite store, binds (HTTPS when `config.tls` is set), and serves until
    /// [`Relay::shutdown`].
    pub async fn start(config: RelayConfig) -> Result<Relay, RelayError> {
        let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(&config.db_path)?);
        let bind = config.bind;
        let tls_files = config.tls.clone();
        let state = RelayState::new(config, store)?;
        let listener = std::net::TcpListener::bind(bind).map_err(|source| RelayError::Bind { addr: bind, source })?;
        listener.set_nonblocking(true).map_err(|source| RelayError::Bind { addr: bind, source })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind { addr: bind, source })?;
        let pruner = tokio::spawn(prune_loop(state.clone()));
        let handle = axum_server::Handle::new();
        let app = router(state).into_make_service();
        let server = match &tls_files {
            Some(files) => {
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert_pem, &files.key_pem)
                    .await
                    .map_err(|e| RelayError::Config(format!("cannot load the TLS certificate or key: {e}")))?;
                let server = axum_server::from_tcp_rustls(listener, tls)
                    .map_err(|source| RelayError::Bind { addr: bind, source })?
                    .handle(handle.clone());
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        tracing::error!(error = %e, "relay server stopped with an error");
                    }
                })
            }
            None => {
                let server = axum_server::from_tcp(listener)
                    .map_err(|source| RelayError::Bind { addr: bind, source })?
                    .handle(handle.clone());
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        tracing::error!(error = %e, "relay server stopped with an error");
                    }
                })
            }
        };
        tracing::info!(%addr, tls = tls_files.is_some(), "relay listening");
        Ok(Relay { addr, tls: tls_files.is_some(), handle, server: Some(server), pruner })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting connections and waits (up to 30 s) for in-flight requests, so no
    /// acknowledged event is lost.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(30)));
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.pruner.abort();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.handle.shutdown();
        self.pruner.abort();
    }
}

/// Drops events past retention and dedupe keys past max(retention, 7 days), hourly.
async fn prune_loop(state: RelayState) {
    let week = Duration::from_secs(7 * 24 * 3600);
    loop {
        let now = (state.config.clock)();
        let keep_events = chrono::Duration::from_std(state.config.retention).unwrap_or_default();
        let keep_keys = chrono::Duration::from_std(state.config.retention.max(week)).unwrap_or_default();
        let store = state.store.clone();
        let result = tokio::task::spawn_blocking(move || store.prune(now - keep_events, now - keep_keys)).await;
        match result {
            Ok(Ok(n)) if n > 0 => tracing::info!(pruned = n, "retention pruned old events"),
            Ok(Err(e)) => tracing::warn!(error = %e, "retention prune failed"),
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
