//! Sandbox-only switches over HTTP, for end-to-end tests that drive the Demo account's
//! in-process sandbox from outside: `POST /sandbox/faults` (bearer token required, same as
//! the API). Not part of FlexFactor's API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::time::Duration;

use crate::faults::Faults;
use crate::state::SandboxState;

/// The JSON form of [`Faults`] (rates 0..=1, milliseconds for durations).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultsBody {
    pub seed: u64,
    pub error_rate: f64,
    pub latency_ms: u64,
    pub rate_limit_rate: f64,
    pub forbidden_rate: f64,
    pub retry_after_secs: Option<u64>,
    pub drop_connection_rate: f64,
    pub drop_response_after_commit_rate: f64,
    pub only_path_suffix: Option<String>,
    /// Fault only this many requests, then none.
    pub max_hits: Option<u64>,
}

/// Replaces the faults; `{}` clears them.
pub async fn set_faults(State(state): State<SandboxState>, Json(body): Json<FaultsBody>) -> Response {
    let rates = [
        body.error_rate,
        body.rate_limit_rate,
        body.forbidden_rate,
        body.drop_connection_rate,
        body.drop_response_after_commit_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": "rates must be between 0 and 1"})))
            .into_response();
    }
    let faults = Faults {
        seed: body.seed,
        error_rate: body.error_rate,
        latency: Duration::from_millis(body.latency_ms),
        rate_limit_rate: body.rate_limit_rate,
        forbidden_rate: body.forbidden_rate,
        retry_after_secs: body.retry_after_secs.unwrap_or(1),
        drop_connection_rate: body.drop_connection_rate,
        drop_response_after_commit_rate: body.drop_response_after_commit_rate,
        only_path_suffix: body.only_path_suffix.filter(|s| !s.is_empty()),
        max_hits: body.max_hits,
        ..Faults::default()
    };
    tracing::info!(?faults, "sandbox: faults set over HTTP");
    state.set_faults(faults);
    StatusCode::NO_CONTENT.into_response()
}
