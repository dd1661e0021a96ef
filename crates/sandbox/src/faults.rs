//! Fault injection on every `/v1` request: 5xx ProblemDetails, added latency, 429 with
//! `Retry-After`, dropped connections, and "commit then drop" (the handler runs, its
//! effect stays, the client gets no answer). Draws come from a seeded ChaCha8 stream, so
//! a sequential test sees the same faults on every run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::problem::ApiError;
use crate::SandboxState;

/// Fault rates are probabilities in `[0, 1]` per request; all zero by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seed of the fault stream (reset by every `set_faults`).
    pub seed: u64,
    /// Answer 500 or 503 ProblemDetails without running the handler.
    pub error_rate: f64,
    /// Added before every request (real time).
    pub latency: Duration,
    /// Answer 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_rate: f64,
    /// Answer 403 ProblemDetails (not transient: a client must not retry it).
    pub forbidden_rate: f64,
    pub retry_after_secs: u64,
    /// Close the socket without running the handler or answering.
    pub drop_connection_rate: f64,
    /// Run the handler (its effect commits), then close the socket without answering.
    pub drop_response_after_commit_rate: f64,
    /// Real-time pause inside idempotent handlers after the key is claimed and before the
    /// effect commits: makes "same key still in flight → 409" observable.
    pub processing_delay: Duration,
    /// When set, faults hit only requests whose path ends with this (e.g. `/refund`), so a
    /// test can break one endpoint while reads keep working.
    pub only_path_suffix: Option<String>,
    /// When set, only this many requests draw a fault; every later one goes through
    /// untouched, so a test can break exactly the next request (`rate 1.0, max_hits 1`).
    pub max_hits: Option<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 0,
            error_rate: 0.0,
            latency: Duration::ZERO,
            rate_limit_rate: 0.0,
            forbidden_rate: 0.0,
            retry_after_secs: 1,
            drop_connection_rate: 0.0,
            drop_response_after_commit_rate: 0.0,
            processing_delay: Duration::ZERO,
            only_path_suffix: None,
            max_hits: None,
        }
    }
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    ServerError(StatusCode),
    RateLimited(u64),
    Forbidden,
    DropConnection,
    DropAfterCommit,
}

/// The configured faults and their random stream.
#[derive(Debug)]
pub struct FaultState {
    pub faults: Faults,
    rng: ChaCha8Rng,
    hits: u64,
}

impl FaultState {
    pub fn new(faults: Faults) -> FaultState {
        FaultState { rng: ChaCha8Rng::seed_from_u64(faults.seed), faults, hits: 0 }
    }

    /// Draws the fault for one request: drop, then 5xx, then 429, then 403, then
    /// drop-after-commit.
    pub fn draw(&mut self) -> Fault {
        if self.faults.max_hits.is_some_and(|max| self.hits >= max) {
            return Fault::None;
        }
        let fault = self.draw_unlimited();
        if fault != Fault::None {
            self.hits += 1;
        }
        fault
    }

    fn draw_unlimited(&mut self) -> Fault {
        let f = &self.faults;
        let (drop, error, limit, forbidden, commit) = (
            f.drop_connection_rate,
            f.error_rate,
            f.rate_limit_rate,
            f.forbidden_rate,
            f.drop_response_after_commit_rate,
        );
        let retry_after = f.retry_after_secs;
        let mut hit = |p: f64| p > 0.0 && self.rng.gen::<f64>() < p;
        if hit(drop) {
            Fault::DropConnection
        } else if hit(error) {
            Fault::ServerError(if self.rng.gen_bool(0.5) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            })
        } else if hit(limit) {
            Fault::RateLimited(retry_after)
        } else if hit(forbidden) {
            Fault::Forbidden
        } else if hit(commit) {
            Fault::DropAfterCommit
        } else {
            Fault::None
        }
    }
}

/// Per-connection switch: notifying it makes the server drop the connection at once.
#[derive(Debug, Clone, Default)]
pub struct ConnectionKill(pub Arc<Notify>);

/// Middleware applying the current faults to `/v1` requests.
pub async fn inject(State(state): State<SandboxState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/v1/") {
        return next.run(request).await;
    }
    let targeted = match &state.faults().faults.only_path_suffix {
        Some(suffix) => request.uri().path().ends_with(suffix.as_str()),
        None => true,
    };
    if !targeted {
        return next.run(request).await;
    }
    let (fault, latency) = {
        let mut faults = state.faults();
        (faults.draw(), faults.faults.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    match fault {
        Fault::None => next.run(request).await,
        Fault::ServerError(status) => {
            tracing::info!(status = status.as_u16(), "sandbox: injected server error");
            let title =
                if status == StatusCode::SERVICE_UNAVAILABLE { "Service Unavailable" } else { "Internal Server Error" };
            ApiError::problem(status, title, BTreeMap::new()).into_response()
        }
        Fault::RateLimited(secs) => {
            tracing::info!(retry_after = secs, "sandbox: injected 429");
            let mut response =
                ApiError::problem(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", BTreeMap::new()).into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Fault::Forbidden => {
            tracing::info!("sandbox: injected 403");
            ApiError::problem(StatusCode::FORBIDDEN, "Forbidden", BTreeMap::new()).into_response()
        }
        Fault::DropConnection => {
            tracing::info!("sandbox: injected dropped connection");
            drop_connection(kill).await
        }
        Fault::DropAfterCommit => {
            let response = next.run(request).await;
            tracing::info!(status = response.status().as_u16(), "sandbox: committed, dropping the response");
            drop(response);
            drop_connection(kill).await
        }
    }
}

/// Kills the connection and never answers. Without a connection switch (router driven
/// directly, no socket) it answers 502 instead, the closest observable equivalent.
async fn drop_connection(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(ConnectionKill(notify)) => {
            notify.notify_one();
            std::future::pending::<()>().await;
            StatusCode::BAD_GATEWAY.into_response()
        }
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_per_seed() {
        let faults = Faults { seed: 9, error_rate: 0.3, rate_limit_rate: 0.3, ..Faults::default() };
        let a: Vec<Fault> = (0..50)
            .map({
                let mut s = FaultState::new(faults.clone());
                move |_| s.draw()
            })
            .collect();
        let mut s = FaultState::new(faults);
        let b: Vec<Fault> = (0..50).map(|_| s.draw()).collect();
        assert_eq!(a, b);
        assert!(a.contains(&Fault::None));
        assert!(a.contains(&Fault::RateLimited(1)));
    }

    #[test]
    fn a_hit_limit_faults_exactly_that_many_requests_then_none() {
        let mut s = FaultState::new(Faults { drop_connection_rate: 1.0, max_hits: Some(2), ..Faults::default() });
        let drawn: Vec<Fault> = (0..5).map(|_| s.draw()).collect();
        assert_eq!(drawn, [Fault::DropConnection, Fault::DropConnection, Fault::None, Fault::None, Fault::None]);
    }

    #[test]
    fn no_faults_by_default() {
        let mut s = FaultState::new(Faults::default());
        assert!((0..100).all(|_| s.draw() == Fault::None));
    }
}
