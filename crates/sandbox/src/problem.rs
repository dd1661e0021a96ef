//! ASP.NET-style error responses: `ValidationProblemDetails` bodies (flexfactor-api.md §4.6)
//! and the bare 401 that ASP.NET's JWT bearer handler sends.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flexfactor_wire::ProblemDetails;
use rand::RngCore;

/// The title ASP.NET gives model-validation failures.
pub const VALIDATION_TITLE: &str = "One or more validation errors occurred.";

/// An HTTP error answer of the sandbox. Converting it into a response never fails.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// A `ProblemDetails` body with this status.
    Problem(StatusCode, ProblemDetails),
    /// 401 with an empty body and a `WWW-Authenticate` challenge, as ASP.NET sends it.
    Unauthorized { challenge: &'static str },
}

impl ApiError {
    /// A 400 whose `errors` map names each offending field.
    pub fn validation(errors: BTreeMap<String, Vec<String>>) -> ApiError {
        ApiError::problem(StatusCode::BAD_REQUEST, VALIDATION_TITLE, errors)
    }

    /// A 400 with a single field error.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_string(), vec![message.into()]);
        ApiError::validation(errors)
    }

    /// Any status with a title and field errors.
    pub fn problem(status: StatusCode, title: &str, errors: BTreeMap<String, Vec<String>>) -> ApiError {
        ApiError::Problem(
            status,
            ProblemDetails {
                status: status.as_u16(),
                title: title.to_string(),
                trace_id: Some(new_trace_id()),
                errors,
            },
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem(status, body) => {
                let json = serde_json::to_vec(&body).unwrap_or_default();
                (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"))], json)
                    .into_response()
            }
            ApiError::Unauthorized { challenge } => {
                (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge))])
                    .into_response()
            }
        }
    }
}

/// A W3C traceparent-like id: `00-<32 hex>-<16 hex>-01`.
pub fn new_trace_id() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let (trace, span) = bytes.split_at(16);
    format!("00-{}-{}-01", hex(trace), hex(span))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_have_the_traceparent_shape() {
        let id = new_trace_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 16);
        assert_eq!(parts[3], "01");
        assert!(parts[1].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
