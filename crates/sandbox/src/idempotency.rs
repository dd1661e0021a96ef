//! The idempotency store of `/evaluate`, `/capture` and cancel, keyed by
//! `(mid, endpoint, idempotencyKey)` (flexfactor-api.md §13): the same payload within the
//! TTL (virtual time, default 24 h) replays the stored answer; a different payload, or the
//! same key while the first request is still in flight, is 409. Only answers below 400
//! are stored: a rejected request may be corrected and sent again with its key.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::problem::ApiError;
use crate::SandboxState;

/// Header set on a replayed answer (sandbox-only diagnostics).
pub const REPLAY_HEADER: &str = "x-idempotent-replay";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdemKey {
    pub mid: String,
    pub endpoint: &'static str,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Stored {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: axum::body::Bytes,
}

#[derive(Debug)]
enum Entry {
    InFlight { fingerprint: String },
    Done { fingerprint: String, response: Stored, at: DateTime<Utc> },
}

/// What a new request with a key may do.
#[derive(Debug)]
pub enum Claim {
    Proceed,
    Replay(Stored),
    Conflict(&'static str),
}

#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: HashMap<IdemKey, Entry>,
}

impl IdempotencyStore {
    pub fn claim(&mut self, key: &IdemKey, fingerprint: &str, now: DateTime<Utc>, ttl: chrono::Duration) -> Claim {
        self.entries.retain(|_, e| match e {
            Entry::Done { at, .. } => *at + ttl > now,
            Entry::InFlight { .. } => true,
        });
        match self.entries.get(key) {
            Some(Entry::InFlight { .. }) => {
                Claim::Conflict("A request with this idempotency key is still in progress.")
            }
            Some(Entry::Done { fingerprint: f, .. }) if f != fingerprint => {
                Claim::Conflict("The idempotency key was already used with a different payload.")
            }
            Some(Entry::Done { response, .. }) => Claim::Replay(response.clone()),
            None => {
                self.entries.insert(key.clone(), Entry::InFlight { fingerprint: fingerprint.to_string() });
                Claim::Proceed
            }
        }
    }

    fn complete(&mut self, key: &IdemKey, response: Option<Stored>, now: DateTime<Utc>) {
        let Some(Entry::InFlight { fingerprint }) = self.entries.remove(key) else {
            return;
        };
        if let Some(response) = response {
            self.entries.insert(key.clone(), Entry::Done { fingerprint, response, at: now });
        }
    }

    fn release(&mut self, key: &IdemKey) {
        if matches!(self.entries.get(key), Some(Entry::InFlight { .. })) {
            self.entries.remove(key);
        }
    }
}

/// Frees an in-flight claim if the handler is dropped before completing.
struct ClaimGuard {
    state: SandboxState,
    key: Option<IdemKey>,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.state.idempotency().release(&key);
        }
    }
}

/// Runs `handler` under the idempotency rules. Without a key it just runs.
pub async fn run<F, Fut>(
    state: &SandboxState,
    endpoint: &'static str,
    key: Option<String>,
    fingerprint: String,
    handler: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Response>,
{
    let Some(key) = key.filter(|k| !k.trim().is_empty()) else {
        return handler().await;
    };
    let key = IdemKey { mid: state.mid().to_string(), endpoint, key };
    let ttl = chrono::Duration::from_std(state.idempotency_ttl()).unwrap_or(chrono::Duration::MAX);
    let claim = state.idempotency().claim(&key, &fingerprint, state.now(), ttl);
    match claim {
        Claim::Conflict(why) => {
            tracing::info!(endpoint, "sandbox: idempotency conflict");
            let mut errors = BTreeMap::new();
            errors.insert("IdempotencyKey".to_string(), vec![why.to_string()]);
            ApiError::problem(StatusCode::CONFLICT, "Conflict", errors).into_response()
        }
        Claim::Replay(stored) => {
            tracing::debug!(endpoint, "sandbox: idempotent replay");
            let mut response = (stored.status, stored.body).into_response();
            if let Some(ct) = stored.content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            response.headers_mut().insert(REPLAY_HEADER, HeaderValue::from_static("true"));
            response
        }
        Claim::Proceed => {
            let mut guard = ClaimGuard { state: state.clone(), key: Some(key.clone()) };
            let delay = state.faults().faults.processing_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let response = handler().await;
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let stored = (parts.status.as_u16() < 400).then(|| Stored {
                status: parts.status,
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                body: bytes.clone(),
            });
            guard.key = None;
            state.idempotency().complete(&key, stored, state.now());
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_payload_replays_and_other_payload_conflicts_until_expiry() {
        let mut s = IdempotencyStore::default();
        let k = IdemKey { mid: "m".into(), endpoint: "evaluate", key: "k".into() };
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let ttl = chrono::Duration::hours(24);
        assert!(matches!(s.claim(&k, "a", t0, ttl), Claim::Proceed));
        assert!(matches!(s.claim(&k, "a", t0, ttl), Claim::Conflict(_)), "in flight");
        let stored = Stored { status: StatusCode::OK, content_type: None, body: "x".into() };
        s.complete(&k, Some(stored), t0);
        assert!(matches!(s.claim(&k, "a", t0, ttl), Claim::Replay(_)));
        assert!(matches!(s.claim(&k, "b", t0, ttl), Claim::Conflict(_)));
        assert!(matches!(s.claim(&k, "b", t0 + ttl, ttl), Claim::Proceed), "expired keys are forgotten");
    }
}
