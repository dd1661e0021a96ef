//! `POST /v1/capture` (flexfactor-api.md §7): capture an order the `/evaluate` call left
//! CAPTUREREQUIRED, within the account's capture window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Cents;

/// Body of `POST /v1/capture`; every field is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// A fresh GUID per capture; retries reuse it.
    pub idempotency_key: String,
    /// FlexFactor's id as returned by `/evaluate` (= orderSessionKey).
    pub order_id: String,
    /// Integer cents.
    pub amount: Cents,
    /// ISO 4217 alpha-3.
    pub currency: String,
}

/// The answer: the envelope with `status` SUCCESS | FAILED, and `captureStatus` (a fork
/// reads that one; the sandbox sends both with the same value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CaptureResponse {
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status: Option<String>,
    pub capture_status: Option<String>,
    pub order_id: Option<String>,
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

impl CaptureResponse {
    /// `status`, or `captureStatus` when `status` is absent.
    pub fn outcome(&self) -> Option<&str> {
        self.status.as_deref().or(self.capture_status.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_request_uses_documented_names_and_cents() {
        let r = CaptureRequest {
            idempotency_key: "k".into(),
            order_id: "o".into(),
            amount: Cents(4999),
            currency: "USD".into(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"idempotencyKey":"k","orderId":"o","amount":4999,"currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<CaptureRequest>(&text).unwrap(), r);
    }

    #[test]
    fn capture_outcome_falls_back_to_capture_status() {
        let r: CaptureResponse = serde_json::from_str(r#"{"captureStatus":"SUCCESS","new":true}"#).unwrap();
        assert_eq!(r.outcome(), Some("SUCCESS"));
    }
}
