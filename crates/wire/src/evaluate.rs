//! `POST /v1/evaluate` (flexfactor-api.md §4): the request with every documented root
//! field and nested object, and the response.
//!
//! Every request field is optional in the type: which ones the service requires differs
//! between doc generations and the live sandbox (§4.3, open question 4), so the sandbox
//! validates a configurable set and the client decides what to send. `None` fields are not
//! serialized. Amounts are integer cents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{lenient, Cents};

/// Root `transactionType`: `AUTHORIZATION` makes the answer CAPTUREREQUIRED. Parsed
/// case-insensitively (active_merchant sends `"Authorization"`); written upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionType {
    Authorization,
    Purchase,
    Other(String),
}

impl TransactionType {
    pub fn parse(s: &str) -> TransactionType {
        match s.trim().to_ascii_uppercase().as_str() {
            "AUTHORIZATION" => TransactionType::Authorization,
            "PURCHASE" => TransactionType::Purchase,
            _ => TransactionType::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TransactionType::Authorization => "AUTHORIZATION",
            TransactionType::Purchase => "PURCHASE",
            TransactionType::Other(s) => s,
        }
    }
}

impl Serialize for TransactionType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TransactionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| TransactionType::parse(&s))
    }
}

/// The body of `POST /v1/evaluate` (§4.2). See the module docs for optionality.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EvaluateRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_declined: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<TransactionType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The merchant's own order id ("External Order Id"); identical on every Sync MIT retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// A new GUID per request (required by the service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(rename = "isMIT", alias = "isMit", skip_serializing_if = "Option::is_none")]
    pub is_mit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_recurring: Option<bool>,
    /// Managed MIT: until when FlexFactor may retry (ISO-8601 UTC). Kept as text so an
    /// invalid value reaches the server's validation unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sense_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// SFTP batches only: 1-based row position.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub sequence_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Transaction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_information: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_information: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_items: Option<Vec<OrderItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Merchant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub three_d_secure: Option<ThreeDSecure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_fields: Option<Vec<AdditionalField>>,
    /// Fields not documented: passed through as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_details: Option<serde_json::Value>,
    /// Undocumented; active_merchant sends `"Spreedly"`.
    #[serde(rename = "Source", alias = "source", skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(rename = "ExtraData", alias = "extraData", skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<String>,
}

impl EvaluateRequest {
    /// Managed MIT = MIT with an `expiryDateUtc`; Sync MIT = MIT without one.
    pub fn is_managed_mit(&self) -> bool {
        self.is_mit == Some(true) && self.expiry_date_utc.as_deref().is_some_and(|s| !s.trim().is_empty())
    }
}

/// `transaction`: the original declined PSP transaction (§4.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Transaction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_utc: Option<String>,
    /// Hours; a number or a numeric string on input, a number on output.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub timezone_utc_offset: Option<i64>,
    /// Minor units (cents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Cents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_sub_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avs_result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvv_result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cavv_result_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_not_present: Option<bool>,
    /// The PSP's transaction type (e.g. `CAPTURE`), not the root `transactionType`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_descriptor: Option<String>,
}

/// `payer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Payer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
}

/// `billingInformation` / `shippingInformation`. `zipcode` (older docs) is accepted;
/// `zipCode` is written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A country **name** ("United States").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(alias = "zipcode", skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

/// `paymentMethod`. `cardNumber` is the /tokenize token when `token` is true; `Debug`
/// masks it and `verificationValue`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PaymentMethod {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_brand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub expiration_month: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub expiration_year: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_bin_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_last4_digits: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    #[serde(alias = "Token", skip_serializing_if = "Option::is_none")]
    pub token: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_value: Option<String>,
}

impl std::fmt::Debug for PaymentMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentMethod")
            .field("card_brand", &self.card_brand)
            .field("card_bin_number", &self.card_bin_number)
            .field("card_last4_digits", &self.card_last4_digits)
            .field("card_number", &self.card_number.as_ref().map(|_| "<redacted>"))
            .field("token", &self.token)
            .field("verification_value", &self.verification_value.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// One `orderItems[]` entry; amounts in cents (INFERRED from the examples).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Cents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_amount: Option<Cents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax: Option<Cents>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub quantity: Option<i64>,
}

/// `merchant` (partners).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Merchant {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub mcc: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// `subscription` (MIT). `price` is cents (a numeric string is accepted, as older models
/// typed it); `paymentNumber`/`totalPayments` are strings in the examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_i64")]
    pub price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub payment_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub total_payments: Option<String>,
}

/// `threeDSecure` [CODE]. `EcommerceIndicator` is PascalCase in the recorded traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ThreeDSecure {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub three_ds_version: Option<String>,
    #[serde(rename = "EcommerceIndicator", alias = "ecommerceIndicator", skip_serializing_if = "Option::is_none")]
    pub ecommerce_indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_server_transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_value_algorithm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_response_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_response_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub enrolled: Option<String>,
}

/// One `additionalFields[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdditionalField {
    pub key: String,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
}

/// The `/evaluate` answer (§4.5): the envelope plus `orderSessionKey`, `orderId`
/// (= orderSessionKey in recorded traffic) and the decision in `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EvaluateResponse {
    pub order_session_key: Option<String>,
    pub sense_key: Option<String>,
    pub order_id: Option<String>,
    pub success: Option<bool>,
    pub result: Option<String>,
    /// APPROVED, DECLINED, CHALLENGE, SUBMITTED, CAPTUREREQUIRED (or PROCESSING).
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIT: &str = r#"{
      "isDeclined": true, "isMIT": false, "mid": "m", "orderId": "WEB-1",
      "idempotencyKey": "k", "customerIp": "203.0.113.7", "transactionType": "Authorization",
      "transaction": {"id":"psp","amount":4999,"currency":"USD","timestampUtc":"2025-01-15T09:59:12Z",
                      "timezoneUtcOffset":"-5","responseCode":"05"},
      "payer": {"email":"a@example.test"},
      "billingInformation": {"firstName":"Ada","zipcode":"73301"},
      "paymentMethod": {"cardNumber":"tok","Token":true,"expirationMonth":9,"expirationYear":"2027"},
      "subscription": {"price":"1999","paymentNumber":4},
      "threeDSecure": {"EcommerceIndicator":"05"},
      "additionalFields": [{"key":"a","value":1}], "deviceDetails": {"x":1}, "Source":"Spreedly",
      "somethingNew": 1
    }"#;

    #[test]
    fn evaluate_request_reads_documented_and_legacy_spellings() {
        let r: EvaluateRequest = serde_json::from_str(CIT).unwrap();
        assert_eq!(r.transaction_type, Some(TransactionType::Authorization));
        let t = r.transaction.as_ref().unwrap();
        assert_eq!((t.amount, t.timezone_utc_offset), (Some(Cents(4999)), Some(-5)));
        assert_eq!(r.billing_information.as_ref().unwrap().zip_code.as_deref(), Some("73301"));
        let pm = r.payment_method.as_ref().unwrap();
        assert_eq!((pm.token, pm.expiration_year), (Some(true), Some(2027)));
        assert_eq!(r.subscription.as_ref().unwrap().price, Some(1999));
        assert_eq!(r.subscription.as_ref().unwrap().payment_number.as_deref(), Some("4"));
        assert_eq!(r.three_d_secure.as_ref().unwrap().ecommerce_indicator.as_deref(), Some("05"));
        assert_eq!(r.source.as_deref(), Some("Spreedly"));
        assert!(!r.is_managed_mit());
    }

    #[test]
    fn evaluate_request_round_trips_with_documented_names() {
        let r: EvaluateRequest = serde_json::from_str(CIT).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["isMIT"], false);
        assert_eq!(v["transactionType"], "AUTHORIZATION");
        assert_eq!(v["billingInformation"]["zipCode"], "73301");
        assert_eq!(v["paymentMethod"]["token"], true);
        assert_eq!(v["transaction"]["timezoneUtcOffset"], -5);
        assert!(v.get("shippingInformation").is_none());
        let back: EvaluateRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn evaluate_response_accepts_unknown_fields() {
        let body = r#"{"orderSessionKey":"e3b0","senseKey":null,"orderId":"e3b0","success":true,
            "result":"Success","status":"SUBMITTED","statusCode":null,"errors":[],"customProperties":{},"new":1}"#;
        let r: EvaluateResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.status.as_deref(), Some("SUBMITTED"));
        assert_eq!(r.order_id, r.order_session_key);
    }

    #[test]
    fn debug_masks_the_card_number() {
        let pm = PaymentMethod { card_number: Some("4111111111111111".into()), ..Default::default() };
        assert!(!format!("{pm:?}").contains("4111"));
    }
}
