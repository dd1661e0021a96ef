//! Webhook deliveries (flexfactor-api.md §9): the payload, its event vocabulary, and the
//! `x-fc-*` signature scheme, both directions (sign for senders and tests, verify for
//! receivers).
//!
//! Invariants: the payload deserializes case-insensitively (PascalCase, camelCase and
//! snake_case keys) and keeps unknown keys in [`WebhookPayload::extra`]; it serializes with
//! the PascalCase keys the live service sends. Every secret-dependent comparison in
//! [`verify`] is constant-time (`subtle`). Verification works on the **raw body bytes**:
//! re-serializing a parsed payload would not reproduce the signed bytes.
//!
//! The signature scheme lives in [`signature`]; its items are re-exported here.

pub mod signature;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use signature::{
    decode_key, format_date, parse_date, sign, verify, HeaderLookup, SignatureError, SignedHeaders,
    HEADER_AUTHORIZATION, HEADER_CONTENT_SHA512, HEADER_DATE, HEADER_NONCE, HEADER_SIGNATURE, SIGNED_HEADERS,
};

/// A webhook event name (§9). Unknown names are kept verbatim in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    OrderRefunded,
    OrderCompleted,
    OrderCancelled,
    OrderExpired,
    OrderCaptureRequired,
    PaymentChargebackReceived,
    ChallengePresented,
    ChallengeAttempted,
    ChallengePassed,
    ChallengeFailed,
    PayoutCreated,
    PayoutUpdated,
    Other(String),
}

impl EventKind {
    /// Parses an event name case-insensitively.
    pub fn parse(s: &str) -> EventKind {
        match s.trim().to_ascii_lowercase().as_str() {
            "order.refunded" => EventKind::OrderRefunded,
            "order.completed" => EventKind::OrderCompleted,
            "order.cancelled" | "order.canceled" => EventKind::OrderCancelled,
            "order.expired" => EventKind::OrderExpired,
            "order.capturerequired" => EventKind::OrderCaptureRequired,
            "payment.chargeback.received" => EventKind::PaymentChargebackReceived,
            "challenge.presented" => EventKind::ChallengePresented,
            "challenge.attempted" => EventKind::ChallengeAttempted,
            "challenge.passed" => EventKind::ChallengePassed,
            "challenge.failed" => EventKind::ChallengeFailed,
            "payout.created" => EventKind::PayoutCreated,
            "payout.updated" => EventKind::PayoutUpdated,
            _ => EventKind::Other(s.to_string()),
        }
    }

    /// The documented event name.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::OrderRefunded => "order.refunded",
            EventKind::OrderCompleted => "order.completed",
            EventKind::OrderCancelled => "order.cancelled",
            EventKind::OrderExpired => "order.expired",
            EventKind::OrderCaptureRequired => "order.capturerequired",
            EventKind::PaymentChargebackReceived => "payment.chargeback.received",
            EventKind::ChallengePresented => "challenge.presented",
            EventKind::ChallengeAttempted => "challenge.attempted",
            EventKind::ChallengePassed => "challenge.passed",
            EventKind::ChallengeFailed => "challenge.failed",
            EventKind::PayoutCreated => "payout.created",
            EventKind::PayoutUpdated => "payout.updated",
            EventKind::Other(s) => s,
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| EventKind::parse(&s))
    }
}

/// One webhook delivery body (§9).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookPayload {
    pub event: EventKind,
    /// `TimeStamp`; serialized with six fractional digits and `Z`.
    pub time_stamp: Option<DateTime<Utc>>,
    /// `EventData`; `None` for JSON null or absence.
    pub event_data: Option<Value>,
    /// The merchant's own order id.
    pub external_order_id: Option<String>,
    /// FlexFactor's order id (= orderSessionKey).
    pub order_id: Option<String>,
    pub confirmation_id: Option<String>,
    pub is_test_mode: bool,
    /// True on a manual or automatic re-delivery.
    pub is_resent: bool,
    /// Keys this version does not know, kept verbatim (serialized after the known keys).
    pub extra: Map<String, Value>,
}

impl WebhookPayload {
    /// The at-least-once dedupe key `(Event, OrderId, ConfirmationId)` (§9, INFERRED policy).
    /// A delivery with neither id (a payout event may have none) would share one key with
    /// every other such delivery of its event and be dropped as their duplicate: its third
    /// part is then a digest of the payload itself (with `IsResent` cleared, so a re-delivery
    /// of the same event still matches).
    pub fn dedupe_key(&self) -> (String, String, String) {
        let order = self.order_id.clone().unwrap_or_default();
        let confirmation = self.confirmation_id.clone().unwrap_or_default();
        let confirmation = if order.is_empty() && confirmation.is_empty() {
            use sha2::Digest;
            let first = WebhookPayload { is_resent: false, ..self.clone() };
            let bytes = serde_json::to_vec(&first).unwrap_or_default();
            let digest = sha2::Sha256::digest(&bytes);
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        } else {
            confirmation
        };
        (self.event.as_str().to_string(), order, confirmation)
    }
}

/// Formats a webhook `TimeStamp`: ISO-8601 UTC with six fractional digits.
pub fn format_time_stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a `TimeStamp`: RFC 3339 (any precision), or a naive ISO time taken as UTC.
pub fn parse_time_stamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| n.and_utc())
}

impl Serialize for WebhookPayload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8 + self.extra.len()))?;
        m.serialize_entry("Event", &self.event)?;
        m.serialize_entry("TimeStamp", &self.time_stamp.map(format_time_stamp))?;
        m.serialize_entry("EventData", &self.event_data)?;
        m.serialize_entry("ExternalOrderId", &self.external_order_id)?;
        m.serialize_entry("OrderId", &self.order_id)?;
        m.serialize_entry("ConfirmationId", &self.confirmation_id)?;
        m.serialize_entry("IsTestMode", &self.is_test_mode)?;
        m.serialize_entry("IsResent", &self.is_resent)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for WebhookPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let mut event = None;
        let mut out = WebhookPayload {
            event: EventKind::Other(String::new()),
            time_stamp: None,
            event_data: None,
            external_order_id: None,
            order_id: None,
            confirmation_id: None,
            is_test_mode: false,
            is_resent: false,
            extra: Map::new(),
        };
        for (key, value) in map {
            let norm: String = key.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
            match norm.as_str() {
                "event" => event = Some(EventKind::parse(&text(&key, &value)?.unwrap_or_default())),
                "timestamp" => {
                    out.time_stamp = match text(&key, &value)? {
                        None => None,
                        Some(s) => Some(
                            parse_time_stamp(&s)
                                .ok_or_else(|| D::Error::custom(format!("{key}: {s:?} is not an ISO-8601 time")))?,
                        ),
                    }
                }
                "eventdata" => out.event_data = (!value.is_null()).then_some(value),
                "externalorderid" => out.external_order_id = text(&key, &value)?,
                "orderid" => out.order_id = text(&key, &value)?,
                "confirmationid" => out.confirmation_id = text(&key, &value)?,
                "istestmode" => out.is_test_mode = flag(&key, &value)?,
                "isresent" => out.is_resent = flag(&key, &value)?,
                _ => {
                    out.extra.insert(key, value);
                }
            }
        }
        out.event = event.ok_or_else(|| D::Error::missing_field("Event"))?;
        Ok(out)
    }
}

/// A string field; numbers keep their text, null is `None`.
fn text<E: serde::de::Error>(key: &str, v: &Value) -> Result<Option<String>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(E::custom(format!("{key}: expected a string, got {other}"))),
    }
}

/// A boolean field; null is `false`, and `"true"`/`"false"` strings are accepted.
fn flag<E: serde::de::Error>(key: &str, v: &Value) -> Result<bool, E> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(E::custom(format!("{key}: expected a boolean, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of the §9 test vector.
    const BODY: &str = r#"{"Event":"order.expired","TimeStamp":"2025-01-15T10:00:00.000000Z","EventData":null,"ExternalOrderId":"SIM-ORDER-1","OrderId":"11111111-2222-3333-4444-555555555555","ConfirmationId":"ABCD1234","IsTestMode":true,"IsResent":false}"#;

    #[test]
    fn payload_round_trips_the_vector_body_exactly() {
        let p: WebhookPayload = serde_json::from_str(BODY).unwrap();
        assert_eq!(p.event, EventKind::OrderExpired);
        assert_eq!(p.order_id.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(p.external_order_id.as_deref(), Some("SIM-ORDER-1"));
        assert!(p.is_test_mode && !p.is_resent && p.event_data.is_none());
        assert_eq!(serde_json::to_string(&p).unwrap(), BODY);
    }

    #[test]
    fn payload_reads_camel_case_and_keeps_unknown_keys() {
        let body = r#"{"event":"Order.Refunded","timeStamp":"2025-01-15T10:00:00.123456Z",
            "eventData":{"amount":1999},"externalOrderId":"E1","orderId":"O1","confirmationId":"C1",
            "isTestMode":false,"isResent":true,"newField":[1,2]}"#;
        let p: WebhookPayload = serde_json::from_str(body).unwrap();
        assert_eq!(p.event, EventKind::OrderRefunded);
        assert!(p.is_resent);
        assert_eq!(p.event_data, Some(serde_json::json!({"amount":1999})));
        assert_eq!(p.extra.get("newField"), Some(&serde_json::json!([1, 2])));
        assert_eq!(p.time_stamp.map(format_time_stamp).as_deref(), Some("2025-01-15T10:00:00.123456Z"));
        let out = serde_json::to_value(&p).unwrap();
        assert_eq!(out["Event"], "order.refunded");
        assert_eq!(out["newField"], serde_json::json!([1, 2]));
        assert_eq!(p.dedupe_key(), ("order.refunded".into(), "O1".into(), "C1".into()));
    }

    #[test]
    fn deliveries_without_ids_dedupe_on_their_content_and_a_resend_still_matches() {
        let payout = |amount: u32, resent: bool| -> WebhookPayload {
            serde_json::from_str(&format!(
                r#"{{"Event":"payout.created","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":{{"amount":{amount}}},"IsResent":{resent}}}"#
            ))
            .unwrap()
        };
        let (a, b) = (payout(100, false).dedupe_key(), payout(200, false).dedupe_key());
        assert_ne!(a, b, "two different payouts are two events");
        assert_eq!(payout(100, true).dedupe_key(), a, "a re-delivery is the same event");
        assert!(a.2.starts_with("sha256:"), "{a:?}");
    }

    #[test]
    fn unknown_events_are_kept_and_a_missing_event_is_an_error() {
        let p: WebhookPayload = serde_json::from_str(r#"{"Event":"order.teleported"}"#).unwrap();
        assert_eq!(p.event, EventKind::Other("order.teleported".into()));
        assert_eq!(serde_json::to_value(&p).unwrap()["Event"], "order.teleported");
        assert!(serde_json::from_str::<WebhookPayload>(r#"{"OrderId":"x"}"#).is_err());
        assert!(serde_json::from_str::<WebhookPayload>(r#"{"Event":"x","TimeStamp":"yesterday"}"#).is_err());
    }
}
