//! What the sandbox records for tests: accepted refunds, evaluations, transmits, and the
//! events it emitted (each one a webhook to every configured target).

use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::{EventKind, WebhookPayload};
use flexfactor_wire::Cents;

/// One accepted refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub order_id: String,
    pub amount: Cents,
    /// Virtual time of the refund.
    pub at: DateTime<Utc>,
    pub transaction_id: String,
    pub message: Option<String>,
}

/// One `/evaluate` call that reached the decision logic (replays of a stored idempotent
/// response are not evaluations and are not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationRecord {
    pub order_session_key: String,
    pub external_order_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub is_mit: bool,
    /// The `status` answered.
    pub status: String,
    /// False when a Sync/Managed MIT retry returned an existing order.
    pub created_order: bool,
    pub at: DateTime<Utc>,
}

/// One accepted `/transmit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransmitRecord {
    pub transmit_id: String,
    pub order_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// An event the sandbox emitted (and delivers as a webhook to every target).
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxEvent {
    pub kind: EventKind,
    /// FlexFactor id (orderSessionKey).
    pub order_id: String,
    pub external_order_id: Option<String>,
    /// Unique per event; kept on retries and duplicates.
    pub confirmation_id: String,
    /// Virtual time of the change.
    pub at: DateTime<Utc>,
    pub data: Option<serde_json::Value>,
}

impl SandboxEvent {
    /// The webhook body FlexFactor sends for this event (`is_resent` on a re-delivery).
    pub fn payload(&self, is_test_mode: bool, is_resent: bool) -> WebhookPayload {
        WebhookPayload {
            event: self.kind.clone(),
            time_stamp: Some(self.at),
            event_data: self.data.clone(),
            external_order_id: self.external_order_id.clone(),
            order_id: Some(self.order_id.clone()),
            confirmation_id: Some(self.confirmation_id.clone()),
            is_test_mode,
            is_resent,
            extra: serde_json::Map::new(),
        }
    }
}
