//! `POST /v1/tokenize?mid=&environment=` (flexfactor-api.md §3): the snake_case body of
//! the current doc generation and the recorded (Spreedly-like) response.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lenient;

/// Query parameters: `mid` and `environment` (the Tokenization Key), both required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenizeQuery {
    pub mid: String,
    pub environment: String,
}

impl TokenizeQuery {
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        vec![("mid", self.mid.clone()), ("environment", self.environment.clone())]
    }
}

/// The body: `{ payment_method: { email?, sense_key?, credit_card: {...} } }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenizeRequest {
    pub payment_method: TokenizePaymentMethod,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenizePaymentMethod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sense_key: Option<String>,
    pub credit_card: CreditCard,
}

/// The card. `month` is `"MM"`, `year` `"YYYY"` (numbers accepted on input). `Debug`
/// masks the PAN and the CVV.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreditCard {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub number: String,
    /// CVV; empty when unknown.
    #[serde(default)]
    pub verification_value: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub month: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub year: Option<String>,
}

impl std::fmt::Debug for CreditCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last4 = self.number.get(self.number.len().saturating_sub(4)..).unwrap_or("");
        f.debug_struct("CreditCard")
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("number", &format!("****{last4}"))
            .field("verification_value", &"<redacted>")
            .field("month", &self.month)
            .field("year", &self.year)
            .finish()
    }
}

/// The recorded response: `transaction.payment_method.token` is the GUID to keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizeResponse {
    pub transaction: Option<TokenizeTransaction>,
    #[serde(rename = "cardBinInfo")]
    pub card_bin_info: Option<serde_json::Value>,
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status: Option<serde_json::Value>,
    #[serde(rename = "statusCode")]
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    #[serde(rename = "customProperties")]
    pub custom_properties: BTreeMap<String, String>,
}

impl TokenizeResponse {
    /// The vault token, when the call succeeded.
    pub fn token(&self) -> Option<&str> {
        self.transaction.as_ref()?.payment_method.as_ref()?.token.as_deref()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizeTransaction {
    pub succeeded: Option<bool>,
    pub on_test_gateway: Option<bool>,
    pub created_at: Option<String>,
    pub payment_method: Option<VaultedCard>,
}

/// The vaulted card as returned: never the PAN (`number` is null in recorded traffic).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultedCard {
    pub token: Option<String>,
    /// Eight digits in the recorded sample, despite the name.
    pub first_six_digits: Option<String>,
    pub last_four_digits: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub month: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub year: Option<i64>,
    pub card_type: Option<String>,
    pub fingerprint: Option<String>,
    pub number: Option<String>,
    pub verification_value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_serializes_snake_case_and_round_trips() {
        let r = TokenizeRequest {
            payment_method: TokenizePaymentMethod {
                email: Some("a@example.test".into()),
                sense_key: None,
                credit_card: CreditCard {
                    first_name: "Ada".into(),
                    last_name: "Lovelace".into(),
                    number: "4111111111111111".into(),
                    verification_value: "123".into(),
                    month: Some("09".into()),
                    year: Some("2027".into()),
                },
            },
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["payment_method"]["credit_card"]["verification_value"], "123");
        assert!(v["payment_method"].get("sense_key").is_none());
        assert_eq!(serde_json::from_value::<TokenizeRequest>(v).unwrap(), r);
        assert!(!format!("{r:?}").contains("4111111111111111"));
    }

    #[test]
    fn recorded_response_yields_the_token() {
        let body = r#"{"transaction":{"succeeded":true,"on_test_gateway":true,
            "created_at":"2025-01-15T10:00:00.0000000Z","state":"retained",
            "payment_method":{"token":"7c9e6679-7425-40de-944b-e07fc1f90ae7","first_six_digits":"41111111",
            "last_four_digits":"1111","first_name":"Ada","last_name":"Lovelace","month":9,"year":2027,
            "card_type":null,"fingerprint":null,"number":null,"verification_value":null}},
            "cardBinInfo":null,"success":true,"result":null,"status":null,"statusCode":null,
            "errors":[],"customProperties":{}}"#;
        let r: TokenizeResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.token(), Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"));
        let card = r.transaction.unwrap().payment_method.unwrap();
        assert_eq!((card.month, card.year), (Some(9), Some(2027)));
    }
}
