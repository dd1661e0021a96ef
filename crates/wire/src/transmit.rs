//! `POST /v1/transmit` (flexfactor-api.md §5): copies of approved transactions, fire and
//! forget. Same building blocks as `/evaluate`; `paymentMethod` carries no PAN.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluate::{AdditionalField, Address, Merchant, OrderItem, Payer, PaymentMethod, Subscription, Transaction};
use crate::lenient;

/// The body of `POST /v1/transmit`. All fields optional in the type (see `evaluate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransmitRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_declined: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "lenient::opt_string")]
    pub sequence_number: Option<String>,
    #[serde(rename = "isMIT", alias = "isMit", skip_serializing_if = "Option::is_none")]
    pub is_mit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_recurring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Transaction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<PaymentMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_information: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_information: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant: Option<Merchant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_details: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_items: Option<Vec<OrderItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_fields: Option<Vec<AdditionalField>>,
}

/// The answer: the envelope (with `status` a number in the sample-client model, kept as
/// raw JSON) plus `transmitId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransmitResponse {
    pub transmit_id: Option<String>,
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status: Option<serde_json::Value>,
    pub status_code: Option<String>,
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cents;

    #[test]
    fn transmit_round_trips_and_tolerates_numeric_status() {
        let r = TransmitRequest {
            is_declined: Some(false),
            order_id: Some("WEB-1".into()),
            is_mit: Some(false),
            transaction: Some(Transaction { amount: Some(Cents(1000)), ..Default::default() }),
            ..Default::default()
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["isMIT"], false);
        assert_eq!(v["transaction"]["amount"], 1000);
        assert_eq!(serde_json::from_value::<TransmitRequest>(v).unwrap(), r);
        let resp: TransmitResponse =
            serde_json::from_str(r#"{"transmitId":"t1","success":true,"status":0,"errors":[],"x":1}"#).unwrap();
        assert_eq!(resp.transmit_id.as_deref(), Some("t1"));
        assert_eq!(resp.status, Some(serde_json::json!(0)));
    }
}
