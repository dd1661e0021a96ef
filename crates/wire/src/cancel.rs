//! `POST /v1/orders/{id}/cancel` and `POST /v1/orders/{externalOrderId}/external-cancel`
//! (flexfactor-api.md §7). The body is `{}` or `{"idempotencyKey": "<guid>"}`; success is
//! HTTP 200 with an empty body (one example shows `{}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Body of both cancel endpoints. Serializes to `{}` without a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CancelRequest {
    /// Optional (newest docs): a retry within 24 h replays the first answer; the same key
    /// with a different payload gets 409.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A successful cancel's body: usually empty, sometimes `{}` or an envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CancelResponse {
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status: Option<serde_json::Value>,
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

impl CancelResponse {
    /// Parses a 2xx body; an empty or all-whitespace body is the documented success.
    ///
    /// # Errors
    /// The JSON error when a non-empty body is not a JSON object of this shape.
    pub fn parse(body: &[u8]) -> Result<CancelResponse, serde_json::Error> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(CancelResponse::default());
        }
        serde_json::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_request_without_key_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&CancelRequest::default()).unwrap(), "{}");
        let r = CancelRequest { idempotency_key: Some("k".into()) };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"idempotencyKey":"k"}"#);
        assert_eq!(serde_json::from_str::<CancelRequest>("{}").unwrap(), CancelRequest::default());
    }

    #[test]
    fn empty_and_object_bodies_both_parse_as_success() {
        assert_eq!(CancelResponse::parse(b"").unwrap(), CancelResponse::default());
        assert_eq!(CancelResponse::parse(b" \n").unwrap(), CancelResponse::default());
        assert_eq!(CancelResponse::parse(b"{}").unwrap(), CancelResponse::default());
        assert_eq!(CancelResponse::parse(br#"{"success":true,"x":1}"#).unwrap().success, Some(true));
        assert!(CancelResponse::parse(b"oops").is_err());
    }
}
