//! The POST machinery shared by every money-moving and submitting endpoint.
//!
//! - Every POST sends a JSON body with the bearer token; a 401 re-authenticates once and
//!   resends once (in [`FlexFactorClient::exchange`]).
//! - Only calls that carry an idempotency key (evaluate, capture, cancel) are retried, and
//!   only on transient failures (network, 408, 429, 5xx), with the client's
//!   [`crate::RetryPolicy`]. Every resend carries the same bytes, hence the same key.
//! - A 409 is [`ClientError::Conflict`]; a `FAILED` envelope (2xx or 4xx) is
//!   [`ClientError::Rejected`].

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

use crate::error::{ApiErrorDetail, ClientError};
use crate::http::{decode, Failure, JsonBody};
use crate::{FlexFactorClient, RetryPolicy};

/// The answer to a call that carried an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Idempotent<T> {
    /// The key every attempt carried: the caller's, or the one generated for this call.
    /// Store it (e.g. in an outbox) to resend the same logical request later.
    pub idempotency_key: String,
    /// How many requests were sent (1 = no retry).
    pub attempts: u32,
    pub response: T,
}

/// A fresh idempotency key (a random UUID v4). Generate it before sending and store it with
/// the intent, so a resend after a crash reuses it.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The caller's key when it is non-blank, else a new one.
pub(crate) fn key_or_new(key: Option<&str>) -> String {
    match key.map(str::trim) {
        Some(k) if !k.is_empty() => k.to_string(),
        _ => new_idempotency_key(),
    }
}

/// Serializes a request body once, so retries resend identical bytes.
pub(crate) fn to_body<B: Serialize + ?Sized>(path: &str, body: &B) -> Result<JsonBody, ClientError> {
    serde_json::to_vec(body)
        .map(JsonBody)
        .map_err(|e| ClientError::InvalidRequest(format!("could not encode the body for {path}: {e}")))
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub(crate) enum Step {
    Retry(Duration),
    Stop(ClientError),
}

/// The retry decision for an idempotent POST after attempt number `attempt` failed.
pub(crate) fn after_failure(
    policy: &RetryPolicy,
    attempt: u32,
    failure: Failure,
    operation: &'static str,
    key: Option<&str>,
) -> Step {
    if failure.error.is_transient() && attempt < policy.max_attempts {
        return Step::Retry(policy.delay(attempt, failure.retry_after));
    }
    Step::Stop(classify(operation, key, attempt > 1, *failure.error))
}

/// Turns a final HTTP error into the typed error of a POST: 409 → `Conflict`, a 4xx
/// carrying the business-failure envelope → `Rejected`; everything else unchanged.
pub(crate) fn classify(
    operation: &'static str,
    key: Option<&str>,
    after_retry: bool,
    error: ClientError,
) -> ClientError {
    match error {
        ClientError::Api { status: 409, path, detail } => {
            ClientError::Conflict { path, idempotency_key: key.map(str::to_string), after_retry, detail }
        }
        ClientError::Api { status, path, detail }
            if (400..500).contains(&status) && !matches!(status, 408 | 429) && detail.is_business_failure() =>
        {
            rejected(operation, path, status, detail)
        }
        other => other,
    }
}

fn rejected(operation: &'static str, path: String, status: u16, detail: Box<ApiErrorDetail>) -> ClientError {
    ClientError::Rejected {
        operation,
        path,
        status,
        code: detail.code().map(str::to_string),
        message: detail.message().map(str::to_string),
        detail,
    }
}

/// Decodes a 2xx body of `operation`: a `FAILED` envelope is `Rejected`, an empty body reads
/// as `{}` (cancel answers 200 with no body), anything else must decode as `T`.
pub(crate) fn decode_answer<T: DeserializeOwned>(
    operation: &'static str,
    path: &str,
    body: &str,
) -> Result<T, ClientError> {
    let text = if body.trim().is_empty() { "{}" } else { body };
    let detail = ApiErrorDetail::parse(text);
    if detail.is_failed_success_body() {
        return Err(rejected(operation, path.to_string(), 200, Box::new(detail)));
    }
    decode(path, text)
}

impl FlexFactorClient {
    /// One POST (plus the 401 re-auth resend), returning the 2xx body or the failure as is.
    pub(crate) async fn post_once(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        body: &JsonBody,
    ) -> Result<String, Failure> {
        self.exchange(Method::POST, path, query, Some(body)).await?.into_success(path)
    }

    /// A POST without automatic retries (tokenize, transmit, outcome), decoded.
    pub(crate) async fn post_plain<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        query: &[(&'static str, String)],
        body: &JsonBody,
    ) -> Result<T, ClientError> {
        match self.post_once(path, query, body).await {
            Ok(text) => decode_answer(operation, path, &text),
            Err(f) => Err(classify(operation, None, false, *f.error)),
        }
    }

    /// A POST whose body carries idempotency key `key`: transient failures are retried
    /// with the same body. Returns the decoded answer and the number of attempts.
    pub(crate) async fn post_idempotent<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        body: &JsonBody,
        key: &str,
    ) -> Result<Idempotent<T>, ClientError> {
        let mut attempt = 1;
        loop {
            let failure = match self.post_once(path, &[], body).await {
                Ok(text) => {
                    let response = decode_answer(operation, path, &text)?;
                    return Ok(Idempotent { idempotency_key: key.to_string(), attempts: attempt, response });
                }
                Err(f) => f,
            };
            match after_failure(&self.retry, attempt, failure, operation, Some(key)) {
                Step::Retry(wait) => {
                    tracing::warn!(path, attempt, ?wait, "transient failure on an idempotent call, resending");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Step::Stop(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> Failure {
        Failure {
            error: Box::new(ClientError::Api {
                status,
                path: "/capture".into(),
                detail: Box::new(ApiErrorDetail::parse(body)),
            }),
            retry_after: None,
            maybe_processed: status >= 500,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(5) }
    }

    #[test]
    fn transient_failures_are_retried_until_the_attempt_budget_is_spent() {
        assert!(matches!(after_failure(&policy(), 1, api(503, ""), "capture", Some("k")), Step::Retry(_)));
        assert!(matches!(after_failure(&policy(), 2, api(429, ""), "capture", Some("k")), Step::Retry(_)));
        assert!(matches!(after_failure(&policy(), 2, api(408, ""), "capture", Some("k")), Step::Retry(_)));
        let net = Failure {
            error: Box::new(ClientError::Network { url: "u".into(), message: "reset".into(), timeout: false }),
            retry_after: None,
            maybe_processed: true,
        };
        assert!(matches!(after_failure(&policy(), 1, net, "capture", Some("k")), Step::Retry(_)));
        match after_failure(&policy(), 3, api(503, ""), "capture", Some("k")) {
            Step::Stop(ClientError::Api { status: 503, .. }) => {}
            other => panic!("expected the 503 after the last attempt, got {other:?}"),
        }
    }

    #[test]
    fn retry_after_sets_the_wait() {
        let mut f = api(429, "");
        f.retry_after = Some(Duration::from_secs(2));
        match after_failure(&policy(), 1, f, "evaluate", Some("k")) {
            Step::Retry(wait) => assert_eq!(wait, Duration::from_secs(2)),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn permanent_failures_are_never_retried() {
        for status in [400, 403, 404, 422] {
            assert!(matches!(after_failure(&policy(), 1, api(status, "{}"), "capture", Some("k")), Step::Stop(_)));
        }
    }

    #[test]
    fn conflict_is_typed_and_says_whether_a_retry_preceded_it() {
        match after_failure(&policy(), 2, api(409, r#"{"title":"in flight"}"#), "capture", Some("key-1")) {
            Step::Stop(ClientError::Conflict { idempotency_key, after_retry, detail, .. }) => {
                assert_eq!(idempotency_key.as_deref(), Some("key-1"));
                assert!(after_retry);
                assert_eq!(detail.title.as_deref(), Some("in flight"));
            }
            other => panic!("expected Conflict, got {other:?}"),
        }
        match after_failure(&policy(), 1, api(409, ""), "capture", Some("key-1")) {
            Step::Stop(ClientError::Conflict { after_retry: false, .. }) => {}
            other => panic!("expected Conflict, got {other:?}"),
        }
    }

    #[test]
    fn failed_envelope_in_a_4xx_is_a_rejection_with_code_and_messages() {
        let body = r#"{"success":false,"status":"FAILED","responseCode":"2001","responseMessage":"Amount exceeds refundable",
            "errors":[{"item1":"Amount exceeds refundable","item2":"2001","item3":"2001","item4":false}]}"#;
        match classify("refund", None, false, *api(400, body).error) {
            ClientError::Rejected { operation, status, code, message, detail, .. } => {
                assert_eq!((operation, status), ("refund", 400));
                assert_eq!(code.as_deref(), Some("2001"));
                assert_eq!(message.as_deref(), Some("Amount exceeds refundable"));
                assert_eq!(detail.codes.len(), 1);
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
        let validation =
            r#"{"status":400,"title":"One or more validation errors occurred.","errors":{"Amount":["bad"]}}"#;
        assert!(matches!(classify("capture", None, false, *api(400, validation).error), ClientError::Api { .. }));
    }

    #[test]
    fn failed_envelope_with_http_200_is_a_rejection() {
        let body = r#"{"success":false,"status":"FAILED","errors":[{"item1":"Order not capturable","item2":"3001"}]}"#;
        let err = decode_answer::<serde_json::Value>("capture", "/capture", body).unwrap_err();
        assert!(matches!(err, ClientError::Rejected { status: 200, code: Some(ref c), .. } if c == "3001"), "{err:?}");
        let declined = r#"{"success":true,"status":"DECLINED"}"#;
        assert!(decode_answer::<serde_json::Value>("evaluate", "/evaluate", declined).is_ok());
    }

    #[test]
    fn empty_2xx_body_reads_as_an_empty_object_and_garbage_is_a_decode_error() {
        let v: serde_json::Value = decode_answer("cancel", "/orders/x/cancel", "  ").unwrap();
        assert_eq!(v, serde_json::json!({}));
        let err = decode_answer::<serde_json::Map<String, serde_json::Value>>("capture", "/capture", "{not json")
            .unwrap_err();
        assert!(matches!(err, ClientError::Decode { ref path, .. } if path == "/capture"), "{err:?}");
    }

    #[test]
    fn caller_keys_are_kept_and_blank_keys_replaced() {
        assert_eq!(key_or_new(Some("abc")), "abc");
        let generated = key_or_new(Some("  "));
        assert_eq!(generated.len(), 36);
        assert_ne!(key_or_new(None), key_or_new(None));
    }
}
