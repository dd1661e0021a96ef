//! The storage interface behind the relay (SQLite now; PostgreSQL can implement it later).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::RelayError;

/// A verified delivery about to be stored.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    /// `Event|OrderId|ConfirmationId`: retries of one event share it.
    pub dedupe_key: String,
    pub event: String,
    pub order_id: Option<String>,
    pub external_order_id: Option<String>,
    pub confirmation_id: Option<String>,
    pub is_resent: bool,
    pub received_at: DateTime<Utc>,
    /// The raw body as received (valid UTF-8 JSON text).
    pub body: String,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: i64,
    /// True when the event was already stored (a retry): nothing was written.
    pub duplicate: bool,
}

/// One event as the feed serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    pub seq: i64,
    pub event: String,
    pub order_id: Option<String>,
    pub external_order_id: Option<String>,
    pub confirmation_id: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The raw webhook body, verbatim.
    pub body: String,
}

/// A page of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    pub events: Vec<StoredEvent>,
    /// Pass this as `after` next time.
    pub next_after: i64,
    /// The oldest sequence number still kept (0 when empty).
    pub oldest_seq: i64,
    pub latest_seq: i64,
}

/// A delivery that was refused, kept for inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedDelivery {
    pub received_at: DateTime<Utc>,
    pub status: u16,
    pub reason: String,
    /// The body, truncated to 64 KiB, lossily decoded.
    pub body: String,
}

/// Durable event storage. Implementations must commit before returning from `append`.
pub trait EventStore: Send + Sync + 'static {
    fn append(&self, event: &IncomingEvent) -> Result<Appended, RelayError>;
    /// Events with `seq > after`, oldest first, at most `limit`.
    fn read_after(&self, after: i64, limit: usize) -> Result<FeedPage, RelayError>;
    fn latest_seq(&self) -> Result<i64, RelayError>;
    fn reject(&self, rejected: &RejectedDelivery) -> Result<(), RelayError>;
    fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, RelayError>;
    /// Drops events received before `events_before` and dedupe keys before `keys_before`.
    /// Returns the number of events dropped.
    fn prune(&self, events_before: DateTime<Utc>, keys_before: DateTime<Utc>) -> Result<u64, RelayError>;
}
