//! `POST /v1/outcome` (flexfactor-api.md §8), **deprecated** in favour of
//! `GET /v1/orders/{id}`; kept for older integrations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{ "orderSessionKey": "<guid>" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRequest {
    pub order_session_key: String,
}

/// `status`: APPROVED | DECLINED | EXPIRED | CANCELLED | SUBMITTED | PROCESSING | NOTFOUND;
/// `confirmationId`: a short hex id; plus the envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OutcomeResponse {
    pub status: Option<String>,
    pub confirmation_id: Option<String>,
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trips() {
        let r = OutcomeRequest { order_session_key: "abc".into() };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"orderSessionKey":"abc"}"#);
        let resp: OutcomeResponse =
            serde_json::from_str(r#"{"status":"EXPIRED","confirmationId":"A1B2C3","success":true,"z":0}"#).unwrap();
        assert_eq!(resp.status.as_deref(), Some("EXPIRED"));
        assert_eq!(resp.confirmation_id.as_deref(), Some("A1B2C3"));
    }
}
