//! The router and a running server bound to a local port.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use flexfactor_wire::WireOrder;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::faults::{ConnectionKill, Faults};
use crate::ledger::{EvaluationRecord, RefundRecord, SandboxEvent, TransmitRecord};
use crate::webhooks::{DeliveryRecord, ResolvedTarget, WebhookSettings, WebhookTarget};
use crate::{
    admin, auth, cancel, capture, checkout, evaluate, faults, orders, outcome, refund, tokenize, traffic, webhooks,
};
use crate::{SandboxConfig, SandboxError, SandboxState};

/// How long [`Sandbox::shutdown`] waits for in-flight requests before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often due steps are applied when the clock runs with wall time.
const TICK_EVERY: Duration = Duration::from_secs(1);

/// All routes. Unknown paths answer 404 with an empty body (ASP.NET's behaviour when no
/// endpoint matches); unknown methods 405. Faults apply to `/v1` paths only.
pub fn router(state: SandboxState) -> Router {
    let protected = Router::new()
        .route("/v1/orders", get(orders::list_orders))
        .route("/v1/orders/{id}", get(orders::get_order))
        .route("/v1/evaluate", post(evaluate::evaluate))
        .route("/v1/transmit", post(outcome::transmit))
        .route("/v1/outcome", post(outcome::outcome))
        .route("/v1/capture", post(capture::capture))
        .route("/v1/orders/{id}/refund", post(refund::refund))
        .route("/v1/orders/{id}/cancel", post(cancel::cancel))
        .route("/v1/orders/{id}/external-cancel", post(cancel::external_cancel))
        .route("/sandbox/faults", post(admin::set_faults))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_bearer));
    Router::new()
        .route("/v1/oauth2/token", post(auth::issue_token))
        .route("/v1/tokenize", post(tokenize::tokenize))
        .route("/checkout", get(checkout::page))
        .route("/widget.js", get(checkout::widget))
        .route("/checkout/session", post(checkout::session))
        .merge(protected)
        .fallback(|| async { StatusCode::NOT_FOUND.into_response() })
        .layer(middleware::from_fn_with_state(state.clone(), faults::inject))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: method, path (never the query or headers), status, latency.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sandbox: request"
    );
    response
}

/// A sandbox serving on a local port. Dropping it stops the server and its background
/// tasks (best effort, without waiting); [`Sandbox::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: SandboxState,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
    traffic: Mutex<Option<JoinHandle<()>>>,
}

impl Sandbox {
    /// Seeds the history, binds `config.bind` and serves on the current tokio runtime,
    /// with the webhook dispatcher and (wall-clock mode) the step ticker.
    ///
    /// # Errors
    /// [`SandboxError::InvalidConfig`] for an unusable config, [`SandboxError::Bind`] when
    /// the address cannot be bound, [`SandboxError::LocalAddr`] when the bound address
    /// cannot be read.
    #[tracing::instrument(skip_all, err, fields(bind = %config.bind, orders = config.order_count))]
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        config.validate()?;
        let state = SandboxState::new(&config);
        let listener =
            TcpListener::bind(config.bind).await.map_err(|source| SandboxError::Bind { addr: config.bind, source })?;
        let addr = listener.local_addr().map_err(SandboxError::LocalAddr)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router(state.clone()), stopped));
        let (events, dispatcher) = webhooks::spawn_dispatcher(state.clone(), config.seed);
        state.set_event_sink(events);
        let mut background = vec![dispatcher];
        if config.clock_start.is_none() {
            let ticking = state.clone();
            background.push(tokio::spawn(async move {
                let mut interval = tokio::time::interval(TICK_EVERY);
                loop {
                    interval.tick().await;
                    ticking.tick();
                }
            }));
        }
        tracing::info!(%addr, orders = state.order_count(), "sandbox: listening");
        Ok(Sandbox { addr, state, stop: Some(stop), task: Some(task), background, traffic: Mutex::new(None) })
    }

    /// `http://127.0.0.1:<port>/v1`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The merchant id the orders belong to.
    pub fn mid(&self) -> &str {
        self.state.mid()
    }

    /// The `environment` value `/tokenize` requires.
    pub fn tokenization_key(&self) -> &str {
        self.state.tokenization_key()
    }

    pub fn order_count(&self) -> usize {
        self.state.order_count()
    }

    /// Every order as currently served.
    pub fn orders_snapshot(&self) -> Vec<WireOrder> {
        self.state.orders_snapshot()
    }

    /// One order as `GET /orders/{id}` would serve it.
    pub fn order(&self, id: &str) -> Option<WireOrder> {
        self.state.tick();
        self.state.orders().get(id).cloned()
    }

    /// Replaces (by id) or adds an order; the next request sees it.
    pub fn upsert_order(&self, order: WireOrder) {
        self.state.upsert_order(order);
    }

    /// Every issued token answers 401 from now on; new tokens can be requested.
    pub fn force_token_expiry(&self) {
        self.state.force_token_expiry();
    }

    /// Virtual now.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.now()
    }

    /// Moves virtual time forward and applies every step that became due (MIT
    /// completion/expiry, challenge steps, capture auto-void), emitting their events.
    pub fn advance_clock(&self, by: Duration) {
        self.state.advance_clock(by);
    }

    /// Replaces the injected faults (and restarts their random stream from `faults.seed`).
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// Every accepted refund of `order_id`, oldest first.
    pub fn refunds(&self, order_id: &str) -> Vec<RefundRecord> {
        self.state.engine().refunds_of(order_id)
    }

    /// Every evaluation that reached the decision logic (idempotent replays excluded).
    pub fn evaluations(&self) -> Vec<EvaluationRecord> {
        self.state.engine().evaluations.clone()
    }

    /// Every accepted `/transmit`.
    pub fn transmits(&self) -> Vec<TransmitRecord> {
        self.state.engine().transmits.clone()
    }

    /// Every event emitted so far (each one delivered to every webhook target).
    pub fn events(&self) -> Vec<SandboxEvent> {
        self.state.events()
    }

    /// Every webhook delivery attempt so far.
    pub fn delivered_webhooks(&self) -> Vec<DeliveryRecord> {
        self.state.delivered_webhooks()
    }

    /// Replaces the webhook targets; later events go to the new list.
    ///
    /// # Errors
    /// [`SandboxError::InvalidConfig`] for a target that is not `http://` or whose key is
    /// not base64.
    pub fn set_webhook_targets(&self, targets: &[WebhookTarget]) -> Result<(), SandboxError> {
        let resolved = targets
            .iter()
            .map(ResolvedTarget::resolve)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| SandboxError::InvalidConfig { field: "webhooks", reason })?;
        self.state.set_webhook_targets(resolved);
        Ok(())
    }

    pub fn set_webhook_settings(&self, settings: WebhookSettings) {
        self.state.set_webhook_settings(settings);
    }

    /// Records a chargeback on a Completed/Returned order (`payment.chargeback.received`).
    pub fn chargeback(&self, order_id: &str) -> bool {
        self.state.with_engine(|engine, book, now| engine.chargeback(book, order_id, now))
    }

    /// Resolves an open CHALLENGE now (see `Engine::resolve_challenge`).
    pub fn resolve_challenge(&self, order_id: &str, passed: bool) -> bool {
        self.state.with_engine(|engine, book, now| engine.resolve_challenge(book, order_id, passed, now))
    }

    /// Starts (or restarts at a new rate) the live traffic generator.
    pub fn start_traffic(&self, rate_per_minute: u32) {
        let handle = traffic::spawn(self.state.clone(), rate_per_minute);
        let mut slot = self.traffic.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = slot.replace(handle) {
            old.abort();
        }
    }

    pub fn stop_traffic(&self) {
        if let Some(old) = self.traffic.lock().unwrap_or_else(|e| e.into_inner()).take() {
            old.abort();
        }
    }

    /// Starts an SFTP endpoint (inbound/outbound folders) whose uploaded batches become
    /// orders through this sandbox's `/evaluate`, answered by response files.
    ///
    /// # Errors
    /// [`SandboxError::InvalidConfig`] (folders, keys) or [`SandboxError::Bind`].
    pub async fn start_sftp(&self, config: crate::SftpConfig) -> Result<crate::SftpEndpoint, SandboxError> {
        crate::sftp::start(self.state.clone(), config).await
    }

    /// A handle on the shared state (same orders and tokens as the server).
    pub fn state(&self) -> SandboxState {
        self.state.clone()
    }

    /// Stops accepting connections, lets in-flight requests finish (at most 5 s, then
    /// aborts) and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop_background();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                tracing::warn!("sandbox: graceful shutdown timed out, aborting");
                task.abort();
            }
        }
        tracing::info!(addr = %self.addr, "sandbox: stopped");
    }

    fn stop_background(&mut self) {
        self.stop_traffic();
        for task in self.background.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_background();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

/// The accept loop. Each connection carries a [`ConnectionKill`] switch so fault
/// injection can close it without an answer.
async fn serve(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let kill = ConnectionKill::default();
                    let service = app.clone().layer(Extension(kill.clone()));
                    connections.spawn(serve_connection(stream, service, kill, stopped.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = stopped.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(stream: TcpStream, app: Router, kill: ConnectionKill, mut stopped: watch::Receiver<bool>) {
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "sandbox: connection ended with an error");
                }
                break;
            }
            _ = kill.0.notified() => break,
            _ = stopped.changed(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
