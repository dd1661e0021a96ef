//! The relay server: router, start, graceful shutdown, retention.

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
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
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    pruner: JoinHandle<()>,
}

impl Relay {
    /// Opens the SQLite store, binds, and serves until [`Relay::shutdown`].
    pub async fn start(config: RelayConfig) -> Result<Relay, RelayError> {
        let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(&config.db_path)?);
        let bind = config.bind;
        let state = RelayState::new(config, store)?;
        let listener =
            tokio::net::TcpListener::bind(bind).await.map_err(|source| RelayError::Bind { addr: bind, source })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind { addr: bind, source })?;
        let pruner = tokio::spawn(prune_loop(state.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "relay server stopped with an error");
            }
        });
        tracing::info!(%addr, "relay listening");
        Ok(Relay { addr, stop: Some(stop), server: Some(server), pruner })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.pruner.abort();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
