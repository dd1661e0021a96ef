//! One error type for every failure the client reports, and the lenient parser of the
//! API's error bodies (ProblemDetails, the flat `{Field:[..], TraceId:[..]}` form, and the
//! envelope with `{item1..item4}` tuples).

use serde_json::Value;
use std::collections::BTreeMap;

/// What an error body said, whichever of the documented shapes it came in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiErrorDetail {
    pub title: Option<String>,
    pub trace_id: Option<String>,
    /// Field path → messages (ProblemDetails `errors`, or the flat form's keys).
    pub field_errors: BTreeMap<String, Vec<String>>,
    /// Envelope error tuples: (message, code).
    pub codes: Vec<(String, Option<String>)>,
    /// The envelope's `responseCode` (e.g. `"2001"`), when the body had one.
    pub response_code: Option<String>,
    /// The envelope's `status` word (e.g. `"FAILED"`), when the body had a string there.
    pub status_word: Option<String>,
    /// The envelope's `success` flag, when the body had one.
    pub success: Option<bool>,
    /// The raw body, truncated, for diagnostics.
    pub raw: String,
}

impl ApiErrorDetail {
    /// Parses any of the documented error shapes; never fails (an unknown body is kept raw).
    pub fn parse(body: &str) -> ApiErrorDetail {
        let raw: String = body.chars().take(2000).collect();
        let mut out = ApiErrorDetail { raw, ..Default::default() };
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return out;
        };
        for (key, value) in &map {
            let lower = key.to_ascii_lowercase();
            match (lower.as_str(), value) {
                ("title", Value::String(s)) => out.title = Some(s.clone()),
                ("traceid", Value::String(s)) => out.trace_id = Some(s.clone()),
                ("traceid", Value::Array(a)) => out.trace_id = a.iter().find_map(|v| v.as_str().map(str::to_string)),
                ("errors", Value::Object(fields)) => {
                    for (field, msgs) in fields {
                        out.field_errors.insert(field.clone(), strings_of(msgs));
                    }
                }
                ("errors", Value::Array(items)) => {
                    for item in items {
                        out.codes.push(tuple_of(item));
                    }
                }
                ("responsemessage", Value::String(s)) if out.title.is_none() => out.title = Some(s.clone()),
                ("responsecode", Value::String(s)) => out.response_code = Some(s.clone()),
                ("responsecode", Value::Number(n)) => out.response_code = Some(n.to_string()),
                ("status", Value::String(s)) => out.status_word = Some(s.clone()),
                ("success", Value::Bool(b)) => out.success = Some(*b),
                (_, Value::Array(a))
                    if !matches!(lower.as_str(), "errors" | "traceid")
                        && !a.is_empty()
                        && a.iter().all(Value::is_string) =>
                {
                    out.field_errors.insert(key.clone(), strings_of(value));
                }
                _ => {}
            }
        }
        out
    }

    /// The business error code: `responseCode`, else the first envelope tuple's code.
    pub fn code(&self) -> Option<&str> {
        self.response_code.as_deref().or_else(|| self.codes.iter().find_map(|(_, c)| c.as_deref()))
    }

    /// The first human message: the title/`responseMessage`, else the first tuple's message.
    pub fn message(&self) -> Option<&str> {
        self.title.as_deref().or_else(|| self.codes.iter().map(|(m, _)| m.as_str()).find(|m| !m.is_empty()))
    }

    /// True when the body is the business-failure envelope (`status:"FAILED"`, a
    /// `responseCode`, or coded error tuples) rather than a validation error.
    pub fn is_business_failure(&self) -> bool {
        self.status_word.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("FAILED"))
            || self.response_code.is_some()
            || self.codes.iter().any(|(_, c)| c.is_some())
    }

    /// True when a **2xx** body still reports failure: `status:"FAILED"`, or
    /// `success:false` without a status word (a decision such as DECLINED is an answer,
    /// not a failure).
    pub fn is_failed_success_body(&self) -> bool {
        self.status_word.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("FAILED"))
            || (self.success == Some(false) && self.status_word.is_none())
    }

    /// A one-line human summary: title, then field messages, then coded messages.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(t) = &self.title {
            parts.push(t.clone());
        }
        for (field, msgs) in &self.field_errors {
            parts.push(format!("{field}: {}", msgs.join("; ")));
        }
        for (msg, code) in &self.codes {
            match code {
                Some(c) => parts.push(format!("{msg} (code {c})")),
                None => parts.push(msg.clone()),
            }
        }
        if parts.is_empty() {
            self.raw.chars().take(200).collect()
        } else {
            parts.join(" — ")
        }
    }
}

fn strings_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

fn tuple_of(item: &Value) -> (String, Option<String>) {
    match item {
        Value::Object(o) => {
            let get = |k: &str| {
                o.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let msg = get("item1").or_else(|| get("message")).unwrap_or_default();
            let code = get("item2").or_else(|| get("code"));
            (msg, code)
        }
        Value::String(s) => (s.clone(), None),
        other => (other.to_string(), None),
    }
}

/// Every failure of a client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `/oauth2/token` refused the AppKey/AppSecret (HTTP 400 or 401 there).
    #[error("FlexFactor rejected the API credentials: {}", .detail.summary())]
    CredentialsRejected { detail: Box<ApiErrorDetail> },
    /// A call was still unauthorized after re-authenticating once.
    #[error("FlexFactor refused the access token even after signing in again (HTTP 401)")]
    Unauthorized,
    /// The resource does not exist (HTTP 404).
    #[error("not found at FlexFactor: {path}")]
    NotFound { path: String },
    /// Any other non-success HTTP status, with the decoded body.
    #[error("FlexFactor answered HTTP {status} on {path}: {}", .detail.summary())]
    Api { status: u16, path: String, detail: Box<ApiErrorDetail> },
    /// The request did not get an HTTP answer (connect, TLS, timeout, reset).
    #[error("could not reach FlexFactor at {url}: {message}")]
    Network { url: String, message: String, timeout: bool },
    /// A 2xx answer whose body is not what the API documents.
    #[error("unexpected response body from {path}: {message}")]
    Decode { path: String, message: String },
    /// The caller's request cannot be sent as given (e.g. a refund of zero cents).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The configuration is unusable (e.g. a malformed base URL).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A money-moving request was sent but no clear answer came back (timeout, reset after
    /// sending, 408 or 5xx). It may or may not have taken effect: re-read the order before
    /// anything else. Never retried automatically.
    #[error("the outcome of the {operation} of order {order_id} is unknown: {detail}")]
    OutcomeUnknown { operation: &'static str, order_id: String, detail: String },
    /// FlexFactor answered clearly that it refused the operation (a `FAILED` envelope,
    /// with HTTP 200 or 4xx): e.g. refund code `2001`, amount exceeds refundable.
    #[error("FlexFactor rejected the {operation} on {path} (HTTP {status}): {}", .detail.summary())]
    Rejected {
        operation: &'static str,
        path: String,
        status: u16,
        /// `responseCode` or the first tuple code.
        code: Option<String>,
        /// `responseMessage` or the first tuple message.
        message: Option<String>,
        /// Every message and code the body carried.
        detail: Box<ApiErrorDetail>,
    },
    /// HTTP 409 on an idempotent call: a request with this idempotency key is still in
    /// flight, or the key was used before with a different payload. `after_retry` is true
    /// when this client had already sent the same request once in this call.
    #[error("FlexFactor reported an idempotency conflict on {path} (key {idempotency_key:?}, after retry: {after_retry}): {}", .detail.summary())]
    Conflict { path: String, idempotency_key: Option<String>, after_retry: bool, detail: Box<ApiErrorDetail> },
}

impl ClientError {
    /// True for failures worth retrying: network errors, 408, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { .. } => true,
            ClientError::Api { status, .. } => *status == 408 || *status == 429 || (500..=599).contains(status),
            _ => false,
        }
    }

    /// The trace id the API gave, if any (quote it to FlexFactor support).
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            ClientError::CredentialsRejected { detail }
            | ClientError::Api { detail, .. }
            | ClientError::Rejected { detail, .. }
            | ClientError::Conflict { detail, .. } => detail.trace_id.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_details_keep_every_field_message_and_trace_id() {
        let body = r#"{"type":"x","title":"One or more validation errors occurred.","status":400,
            "traceId":"00-abc-def-01","errors":{"Transaction.ResponseCode":["required"],"Mid":["bad","worse"]}}"#;
        let d = ApiErrorDetail::parse(body);
        assert_eq!(d.trace_id.as_deref(), Some("00-abc-def-01"));
        assert_eq!(d.field_errors["Mid"], vec!["bad", "worse"]);
        assert_eq!(d.field_errors["Transaction.ResponseCode"], vec!["required"]);
        assert!(d.summary().contains("Mid: bad; worse"));
    }

    #[test]
    fn flat_validation_form_is_read_as_field_errors() {
        let body = r#"{"TraceId":["00-1-2-01"],"IdempotencyKey":["The IdempotencyKey field is required."]}"#;
        let d = ApiErrorDetail::parse(body);
        assert_eq!(d.trace_id.as_deref(), Some("00-1-2-01"));
        assert_eq!(d.field_errors.len(), 1);
        assert!(d.field_errors.contains_key("IdempotencyKey"));
    }

    #[test]
    fn envelope_tuples_keep_their_codes() {
        let body = r#"{"success":false,"status":"FAILED","responseCode":"2001",
            "responseMessage":"Amount exceeds refundable",
            "errors":[{"item1":"Amount exceeds refundable","item2":"2001","item3":"2001","item4":false}]}"#;
        let d = ApiErrorDetail::parse(body);
        assert_eq!(d.codes, vec![("Amount exceeds refundable".into(), Some("2001".into()))]);
        assert!(d.summary().contains("code 2001"));
    }

    #[test]
    fn non_json_bodies_are_kept_raw() {
        let d = ApiErrorDetail::parse("<html>bad gateway</html>");
        assert!(d.field_errors.is_empty());
        assert_eq!(d.summary(), "<html>bad gateway</html>");
    }

    #[test]
    fn only_network_408_429_and_5xx_are_transient() {
        let api = |status| ClientError::Api { status, path: "/x".into(), detail: Default::default() };
        assert!(api(503).is_transient());
        assert!(api(429).is_transient());
        assert!(api(408).is_transient());
        assert!(!api(400).is_transient());
        assert!(!api(409).is_transient());
        assert!(!ClientError::Unauthorized.is_transient());
        let unknown = ClientError::OutcomeUnknown { operation: "refund", order_id: "o".into(), detail: "x".into() };
        assert!(!unknown.is_transient());
        let conflict = ClientError::Conflict {
            path: "/capture".into(),
            idempotency_key: Some("k".into()),
            after_retry: true,
            detail: Default::default(),
        };
        assert!(!conflict.is_transient());
    }

    #[test]
    fn business_failure_envelope_exposes_code_and_message() {
        let body = r#"{"success":false,"status":"FAILED","responseCode":2001,
            "responseMessage":"Amount exceeds refundable","traceId":"00-t-1-01",
            "errors":[{"item1":"Amount exceeds refundable","item2":"2001","item3":"2001","item4":false},
                      {"item1":"Second message","item2":"2002"}]}"#;
        let d = ApiErrorDetail::parse(body);
        assert!(d.is_business_failure());
        assert_eq!(d.code(), Some("2001"));
        assert_eq!(d.message(), Some("Amount exceeds refundable"));
        assert_eq!(d.codes.len(), 2);
        assert_eq!(d.status_word.as_deref(), Some("FAILED"));
        let problem = ApiErrorDetail::parse(
            r#"{"status":400,"title":"One or more validation errors occurred.","errors":{"Mid":["x"]}}"#,
        );
        assert!(!problem.is_business_failure());
    }
}
