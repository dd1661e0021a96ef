//! The router and a running server bound to a local port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use flexfactor_wire::WireOrder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{auth, orders, SandboxConfig, SandboxError, SandboxState};

/// How long [`Sandbox::shutdown`] waits for in-flight requests before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// All routes, under `/v1`. Unknown paths answer 404 with an empty body (ASP.NET's
/// behaviour when no endpoint matches); unknown methods 405.
pub fn router(state: SandboxState) -> Router {
    let protected = Router::new()
        .route("/v1/orders", get(orders::list_orders))
        .route("/v1/orders/{id}", get(orders::get_order))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_bearer));
    Router::new()
        .route("/v1/oauth2/token", post(auth::issue_token))
        .merge(protected)
        .fallback(|| async { StatusCode::NOT_FOUND.into_response() })
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

/// A sandbox serving on a local port. Dropping it stops the server (best effort, without
/// waiting); [`Sandbox::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: SandboxState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Seeds the history, binds `config.bind` and serves on the current tokio runtime.
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
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A send or a dropped sender both mean "stop".
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "sandbox: server stopped with an error");
            }
        });
        tracing::info!(%addr, orders = state.order_count(), "sandbox: listening");
        Ok(Sandbox { addr, state, stop: Some(stop), task: Some(task) })
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

    pub fn order_count(&self) -> usize {
        self.state.order_count()
    }

    /// Every order as currently served.
    pub fn orders_snapshot(&self) -> Vec<WireOrder> {
        self.state.orders_snapshot()
    }

    /// Replaces (by id) or adds an order; the next request sees it.
    pub fn upsert_order(&self, order: WireOrder) {
        self.state.upsert_order(order);
    }

    /// Every issued token answers 401 from now on; new tokens can be requested.
    pub fn force_token_expiry(&self) {
        self.state.force_token_expiry();
    }

    /// A handle on the shared state (same orders and tokens as the server).
    pub fn state(&self) -> SandboxState {
        self.state.clone()
    }

    /// Stops accepting connections, lets in-flight requests finish (at most 5 s, then
    /// aborts) and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                tracing::warn!("sandbox: graceful shutdown timed out, aborting");
                task.abort();
            }
        }
        tracing::info!(addr = %self.addr, "sandbox: stopped");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
