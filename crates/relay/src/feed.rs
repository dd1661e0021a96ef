//! `GET /feed`: the authenticated, resumable long-poll feed.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use subtle::ConstantTimeEq;

use crate::server::RelayState;
use crate::store::FeedPage;

#[derive(Debug, Deserialize)]
pub(crate) struct FeedParams {
    after: Option<i64>,
    limit: Option<usize>,
    /// Seconds to wait for new events when there are none (long-poll), at most 60.
    wait: Option<u64>,
    /// A name for this dashboard, for the client count and lag metrics (optional).
    client: Option<String>,
}

/// How `/metrics` tells feed clients apart: their `client` name, else their connection.
fn client_id(p: &FeedParams, extensions: &Extensions) -> String {
    if let Some(name) = p.client.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        return format!("name:{}", name.chars().take(64).collect::<String>());
    }
    match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("conn:{addr}"),
        None => "conn:unknown".to_string(),
    }
}

/// Decrements the long-poll gauge however the request ends (even if the client leaves).
struct Waiting<'a>(&'a std::sync::atomic::AtomicI64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn authorized(state: &RelayState, headers: &HeaderMap) -> bool {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = state.config.feed_token.as_bytes();
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected))
}

async fn read(state: &RelayState, after: i64, limit: usize) -> Result<FeedPage, Response> {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.read_after(after, limit)).await {
        Ok(Ok(page)) => Ok(page),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "feed read failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"error": "storage unavailable"})))
                .into_response())
        }
        Err(e) => {
            Err((StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"error": e.to_string()}))).into_response())
        }
    }
}

/// `410 Gone`: the feed cannot continue from the dashboard's cursor; it must backfill from the
/// API, then read on from `oldestSeq` (the oldest event still kept).
fn backfill_first(state: &RelayState, error: &str, why: &str, page: &FeedPage) -> Response {
    state.metrics.feed_too_old.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({
        "error": error,
        "message": format!("{why}; backfill from the FlexFactor API, then read on from oldestSeq"),
        "oldestSeq": page.oldest_seq,
        "latestSeq": page.latest_seq,
        "storeId": &*state.store_id,
    });
    (StatusCode::GONE, Json(body)).into_response()
}

pub(crate) async fn feed(
    State(state): State<RelayState>,
    headers: HeaderMap,
    extensions: Extensions,
    Query(p): Query<FeedParams>,
) -> Response {
    if !authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "a valid feed token is required"})))
            .into_response();
    }
    let after = p.after.unwrap_or(0).max(0);
    state.metrics.saw_client(client_id(&p, &extensions), after);
    let limit = p.limit.unwrap_or(500).clamp(1, 5000);
    let wait = Duration::from_secs(p.wait.unwrap_or(0).min(60));
    let mut latest = state.latest.subscribe();
    let mut page = match read(&state, after, limit).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if after.saturating_add(1) < page.oldest_seq {
        let why = format!("events after {after} are no longer kept (oldest is {})", page.oldest_seq);
        return backfill_first(&state, "cursor_too_old", &why, &page);
    }
    if after > page.latest_seq {
        // A cursor past every sequence number this relay ever gave: its store was reset or
        // replaced, and events the dashboard never saw may be gone. Waiting would only serve
        // nothing until the new numbers pass the old cursor.
        let why = format!(
            "this relay has given sequence numbers only up to {} (its store was reset or replaced), not {after}",
            page.latest_seq
        );
        return backfill_first(&state, "cursor_ahead", &why, &page);
    }
    if page.events.is_empty() && !wait.is_zero() && !*state.stopping.borrow() {
        state.metrics.feed_waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&state.metrics.feed_waiting);
        let mut stopping = state.stopping.subscribe();
        // Shutdown ends the wait at once so that draining does not sit out long-polls.
        tokio::select! {
            _ = tokio::time::timeout(wait, latest.wait_for(|seq| *seq > after)) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        page = match read(&state, after, limit).await {
            Ok(p) => p,
            Err(r) => return r,
        };
        // Retention may have run during the wait and taken events this cursor has not seen.
        if after.saturating_add(1) < page.oldest_seq {
            let why = format!("events after {after} are no longer kept (oldest is {})", page.oldest_seq);
            return backfill_first(&state, "cursor_too_old", &why, &page);
        }
    }
    state.metrics.feed_reads.fetch_add(1, Ordering::Relaxed);
    Json(FeedBody { page: &page, store_id: &state.store_id }).into_response()
}

/// A feed page as served: the page and the store's id (see [`crate::EventStore::store_id`]).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FeedBody<'a> {
    #[serde(flatten)]
    page: &'a FeedPage,
    store_id: &'a str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RejectedParams {
    limit: Option<usize>,
}

/// `GET /rejected?limit=`: refused deliveries, newest first, for the Webhooks screen.
pub(crate) async fn rejected(
    State(state): State<RelayState>,
    headers: HeaderMap,
    Query(p): Query<RejectedParams>,
) -> Response {
    if !authorized(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "a valid feed token is required"})))
            .into_response();
    }
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.rejected(limit)).await {
        Ok(Ok(list)) => Json(serde_json::json!({ "rejected": list })).into_response(),
        _ => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"error": "storage unavailable"}))).into_response()
        }
    }
}
