//! The relay server: router, start, graceful shutdown, health and metrics.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;
use crate::store::{EventStore, MaintenanceReport};
use crate::{RelayConfig, RelayError, SqliteStore};

/// Shared by every handler.
#[derive(Clone)]
pub struct RelayState {
    pub(crate) store: Arc<dyn EventStore>,
    /// [`EventStore::store_id`], sent with every feed answer.
    pub(crate) store_id: Arc<str>,
    pub(crate) config: Arc<RelayConfig>,
    pub(crate) latest: Arc<watch::Sender<i64>>,
    pub(crate) metrics: Arc<Metrics>,
    /// Set when shutdown starts: long-polls return at once, `/healthz` answers 503.
    pub(crate) stopping: Arc<watch::Sender<bool>>,
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
        let store_id: Arc<str> = store.store_id()?.into();
        Ok(RelayState {
            store,
            store_id,
            config: Arc::new(config),
            latest: Arc::new(watch::channel(latest).0),
            metrics: Arc::new(Metrics::default()),
            stopping: Arc::new(watch::channel(false).0),
        })
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// `GET /healthz`: 200 `{"status":"ok",…}` when the store answers, 503 otherwise or while
/// shutting down.
async fn healthz(State(state): State<RelayState>) -> Response {
    let m = &state.metrics;
    let store = state.store.clone();
    let storage = tokio::task::spawn_blocking(move || store.latest_seq()).await;
    let (code, status) = match storage {
        _ if *state.stopping.borrow() => (StatusCode::SERVICE_UNAVAILABLE, "stopping"),
        Ok(Ok(_)) => (StatusCode::OK, "ok"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health check: storage unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
    };
    let body = serde_json::json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "latestSeq": *state.latest.borrow(),
        "received": m.received.load(Ordering::Relaxed),
        "accepted": m.accepted.load(Ordering::Relaxed),
        "duplicates": m.duplicates.load(Ordering::Relaxed),
        "rejected": m.rejected.load(Ordering::Relaxed),
        "feedReads": m.feed_reads.load(Ordering::Relaxed),
    });
    (code, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<RelayState>) -> Response {
    let store = state.store.clone();
    let stats = match tokio::task::spawn_blocking(move || store.stats()).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: storage figures unavailable");
            None
        }
        Err(_) => None,
    };
    let latest = *state.latest.borrow();
    let text = state.metrics.render(stats.as_ref(), latest);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// The relay's routes, for tests to drive directly.
pub fn router(state: RelayState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/webhooks", post(crate::ingest::receive).layer(DefaultBodyLimit::max(limit)))
        .route("/feed", get(crate::feed::feed))
        .route("/rejected", get(crate::feed::rejected))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    tls: bool,
    state: RelayState,
    handle: axum_server::Handle<SocketAddr>,
    server: Option<JoinHandle<()>>,
    maintenance: JoinHandle<()>,
}

impl Relay {
    /// Opens the SQLite store at `config.db_path`, binds (HTTPS when `config.tls` is set),
    /// runs maintenance once and then every `maintenance_interval`, and serves until
    /// [`Relay::shutdown`].
    pub async fn start(config: RelayConfig) -> Result<Relay, RelayError> {
        let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(&config.db_path)?);
        Relay::start_with_store(config, store).await
    }

    /// [`Relay::start`] on another storage backend (`config.db_path` is then not used): any
    /// [`EventStore`] that commits an event durably before `append` returns.
    pub async fn start_with_store(config: RelayConfig, store: Arc<dyn EventStore>) -> Result<Relay, RelayError> {
        let bind = config.bind;
        let tls_files = config.tls.clone();
        let state = RelayState::new(config, store)?;
        let listener = std::net::TcpListener::bind(bind).map_err(|source| RelayError::Bind { addr: bind, source })?;
        listener.set_nonblocking(true).map_err(|source| RelayError::Bind { addr: bind, source })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind { addr: bind, source })?;
        let handle = axum_server::Handle::new();
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let server = match &tls_files {
            Some(files) => {
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert_pem, &files.key_pem)
                    .await
                    .map_err(|e| RelayError::Config(format!("cannot load the TLS certificate or key: {e}")))?;
                let mut server = axum_server::from_tcp_rustls(listener, tls)
                    .map_err(|source| RelayError::Bind { addr: bind, source })?
                    .handle(handle.clone())
                    .first_request_timeout(state.config.request_timeout);
                server.http_builder().http1().header_read_timeout(state.config.request_timeout);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        tracing::error!(error = %e, "relay server stopped with an error");
                    }
                })
            }
            None => {
                let mut server = axum_server::from_tcp(listener)
                    .map_err(|source| RelayError::Bind { addr: bind, source })?
                    .handle(handle.clone())
                    .first_request_timeout(state.config.request_timeout);
                server.http_builder().http1().header_read_timeout(state.config.request_timeout);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app).await {
                        tracing::error!(error = %e, "relay server stopped with an error");
                    }
                })
            }
        };
        let maintenance = tokio::spawn(crate::retention::maintenance_loop(state.clone()));
        tracing::info!(%addr, tls = tls_files.is_some(), "relay listening");
        Ok(Relay { addr, tls: tls_files.is_some(), state, handle, server: Some(server), maintenance })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// The shared state (metrics, configuration).
    pub fn state(&self) -> &RelayState {
        &self.state
    }

    /// Runs retention and compaction now (it also runs every `maintenance_interval`).
    pub async fn maintain_now(&self) -> Result<MaintenanceReport, RelayError> {
        crate::retention::run_once(&self.state).await
    }

    /// Graceful shutdown: stops accepting connections, wakes long-polls, lets in-flight
    /// requests finish (up to `shutdown_grace`, then closes what is left), then checkpoints
    /// the store. Every acknowledged event was committed before its answer, so none is lost
    /// even when the grace period runs out.
    pub async fn shutdown(mut self) {
        self.state.stopping.send_replace(true);
        let in_flight = self.handle.connection_count();
        tracing::info!(connections = in_flight, "relay stopping: finishing in-flight requests");
        self.handle.graceful_shutdown(Some(self.state.config.shutdown_grace));
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        // Let a maintenance pass that is running finish its transaction, then stop the loop.
        let _ = (&mut self.maintenance).await;
        let store = self.state.store.clone();
        match tokio::task::spawn_blocking(move || store.close()).await {
            Ok(Ok(())) => tracing::info!("relay stopped cleanly"),
            Ok(Err(e)) => tracing::warn!(error = %e, "final checkpoint failed (the log is replayed at next start)"),
            Err(e) => tracing::warn!(error = %e, "final checkpoint task failed"),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.stopping.send_replace(true);
        self.handle.shutdown();
        self.maintenance.abort();
    }
}
