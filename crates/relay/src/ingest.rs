//! `POST /webhooks`: verify, check freshness, store durably, then acknowledge.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use flexfactor_wire::webhook::{self, HeaderLookup, SignatureError, WebhookPayload};
use std::sync::atomic::Ordering;

use crate::metrics::RejectReason;
use crate::server::RelayState;
use crate::store::{IncomingEvent, RejectedDelivery, REJECTED_BODY_KEPT};

struct Headers<'a>(&'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Answers a refused delivery and keeps it for inspection (off the async threads).
async fn refuse(state: &RelayState, why: RejectReason, status: StatusCode, reason: String, body: &[u8]) -> Response {
    tracing::warn!(status = status.as_u16(), reason = why.label(), detail = %reason, "webhook rejected");
    state.metrics.reject(why);
    let kept: Vec<u8> = body.iter().take(REJECTED_BODY_KEPT).copied().collect();
    let rejected = RejectedDelivery {
        received_at: (state.config.clock)(),
        status: status.as_u16(),
        reason: reason.clone(),
        body: String::from_utf8_lossy(&kept).into_owned(),
    };
    let (store, keep) = (state.store.clone(), state.config.rejected_keep);
    match tokio::task::spawn_blocking(move || store.reject(&rejected, keep)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not keep a rejected delivery"),
        Err(e) => tracing::error!(error = %e, "the task keeping a rejected delivery failed"),
    }
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}

/// Handles one delivery. The answer is 2xx only after the event is committed. The body
/// must arrive within the configured request timeout: a sender that stops mid-body gets 408
/// (kept with the refused deliveries) and its connection is freed. The checks and the
/// durable write after it are not timed (a slow disk answers 503 or, late, 2xx).
pub(crate) async fn receive(
    State(state): State<RelayState>,
    uri: Uri,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    state.metrics.received.fetch_add(1, Ordering::Relaxed);
    let limit = state.config.request_timeout;
    // The size limit (`DefaultBodyLimit`) applies as it would to a `Bytes` argument.
    let read: Result<Result<Bytes, BytesRejection>, _> =
        tokio::time::timeout(limit, Bytes::from_request(request, &state)).await;
    let body = match read {
        Err(_) => {
            let reason = format!("the body did not arrive in full within {} s", limit.as_secs_f64());
            return refuse(&state, RejectReason::UnreadableBody, StatusCode::REQUEST_TIMEOUT, reason, b"").await;
        }
        Ok(body) => body,
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let reason = format!("the body is over the {} byte limit", state.config.max_body_bytes);
            return refuse(&state, RejectReason::TooLarge, StatusCode::PAYLOAD_TOO_LARGE, reason, b"").await;
        }
        Err(e) => {
            let reason = format!("the body could not be read: {e}");
            return refuse(&state, RejectReason::UnreadableBody, e.status(), reason, b"").await;
        }
    };
    let host = match state.config.public_host.clone() {
        Some(h) => h,
        // HTTP/2 carries the host as the `:authority` pseudo-header, which is the URI's.
        None => match headers.get("host").and_then(|v| v.to_str().ok()).or(uri.authority().map(|a| a.as_str())) {
            Some(h) => h.to_string(),
            None => {
                let reason = "the request has no Host header".to_string();
                return refuse(&state, RejectReason::NoHost, StatusCode::BAD_REQUEST, reason, &body).await;
            }
        },
    };
    if let Err(e) = webhook::verify(&state.config.subscriber_key, &host, &Headers(&headers), &body) {
        let why = match e {
            SignatureError::MissingHeader(_) => RejectReason::MissingSignature,
            _ => RejectReason::BadSignature,
        };
        return refuse(&state, why, StatusCode::UNAUTHORIZED, format!("signature: {e}"), &body).await;
    }
    let now = (state.config.clock)();
    let date = headers.get(webhook::HEADER_DATE).and_then(|v| v.to_str().ok()).and_then(webhook::parse_date);
    let Some(date) = date else {
        let reason = "x-fc-date is not an RFC 1123 date".to_string();
        return refuse(&state, RejectReason::BadDate, StatusCode::BAD_REQUEST, reason, &body).await;
    };
    let window = chrono::Duration::from_std(state.config.replay_window).unwrap_or_default();
    if (now - date).abs() > window {
        return refuse(
            &state,
            RejectReason::StaleDate,
            StatusCode::UNAUTHORIZED,
            format!("x-fc-date {date} is outside the replay window"),
            &body,
        )
        .await;
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        let reason = "the body is not UTF-8 text".to_string();
        return refuse(&state, RejectReason::BadJson, StatusCode::BAD_REQUEST, reason, &body).await;
    };
    let payload: WebhookPayload = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let reason = format!("the body is not a webhook payload: {e}");
            return refuse(&state, RejectReason::BadJson, StatusCode::BAD_REQUEST, reason, &body).await;
        }
    };
    let (event, order, confirmation) = payload.dedupe_key();
    let incoming = IncomingEvent {
        dedupe_key: format!("{event}|{order}|{confirmation}"),
        event,
        order_id: payload.order_id.clone(),
        external_order_id: payload.external_order_id.clone(),
        confirmation_id: payload.confirmation_id.clone(),
        is_resent: payload.is_resent,
        received_at: now,
        body: text.to_string(),
    };
    let store = state.store.clone();
    let appended = tokio::task::spawn_blocking(move || store.append(&incoming)).await;
    match appended {
        Ok(Ok(a)) => {
            if a.duplicate {
                state.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            } else {
                state.metrics.accepted.fetch_add(1, Ordering::Relaxed);
                // Concurrent appends may finish out of order: the watched value only grows.
                let seq = a.seq;
                state.latest.send_if_modified(|latest| {
                    let newer = seq > *latest;
                    if newer {
                        *latest = seq;
                    }
                    newer
                });
            }
            (StatusCode::OK, Json(serde_json::json!({ "seq": a.seq, "duplicate": a.duplicate }))).into_response()
        }
        Ok(Err(e)) => {
            state.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "could not store a webhook; not acknowledging it");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": "storage unavailable" })))
                .into_response()
        }
        Err(e) => {
            state.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "storage task failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": "storage unavailable" })))
                .into_response()
        }
    }
}
