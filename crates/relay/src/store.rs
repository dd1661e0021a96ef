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

/// How much of a refused delivery's body is kept: a webhook's JSON fits many times over,
/// and 10,000 refused deliveries (the default cap) stay under 80 MB.
pub const REJECTED_BODY_KEPT: usize = 8 * 1024;

/// A delivery that was refused, kept for inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedDelivery {
    pub received_at: DateTime<Utc>,
    pub status: u16,
    pub reason: String,
    /// The body, truncated to [`REJECTED_BODY_KEPT`] bytes, lossily decoded.
    pub body: String,
}

/// Storage figures for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStats {
    /// The main database file on disk.
    pub db_bytes: u64,
    /// The write-ahead log on disk (0 after a TRUNCATE checkpoint).
    pub wal_bytes: u64,
    pub retained_events: u64,
    /// The oldest sequence number kept (latest + 1 when nothing is kept).
    pub oldest_seq: i64,
    pub latest_seq: i64,
    pub dedupe_keys: u64,
    pub rejected_kept: u64,
}

/// What one maintenance run must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenancePlan {
    /// Drop events (and refused deliveries) received before this.
    pub events_before: DateTime<Utc>,
    /// Drop dedupe ids received before this (at least 7 days back).
    pub keys_before: DateTime<Utc>,
    /// Then drop the oldest events until the live data fits in this many bytes.
    pub max_bytes: Option<u64>,
    /// Keep at most this many refused deliveries.
    pub rejected_keep: u64,
}

/// What one maintenance run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReport {
    pub pruned_by_age: u64,
    pub pruned_by_size: u64,
    pub dedupe_keys_pruned: u64,
    pub rejected_pruned: u64,
    /// Database + WAL bytes on disk before and after (compaction and checkpoint included).
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// True when `max_bytes` could not be met by dropping events (dedupe ids, which must be
    /// kept 7 days, take more room than allowed).
    pub size_limit_unmet: bool,
}

/// Durable event storage. Implementations must commit before returning from `append`.
pub trait EventStore: Send + Sync + 'static {
    fn append(&self, event: &IncomingEvent) -> Result<Appended, RelayError>;
    /// Events with `seq > after`, oldest first, at most `limit`.
    fn read_after(&self, after: i64, limit: usize) -> Result<FeedPage, RelayError>;
    fn latest_seq(&self) -> Result<i64, RelayError>;
    /// Names this store's numbering: made once when the store is created and kept for its
    /// life, so that a store reset or replaced (whose numbers start again at 1) has another.
    /// Dashboards compare it to tell a cursor from another numbering, which `after > latest`
    /// alone misses once the new numbers have passed the old cursor.
    fn store_id(&self) -> Result<String, RelayError>;
    /// Keeps a refused delivery for inspection, and at most `keep` of them (the newest).
    fn reject(&self, rejected: &RejectedDelivery, keep: u64) -> Result<(), RelayError>;
    fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, RelayError>;
    /// Retention and compaction: drops what `plan` says, returns space to the file system
    /// and checkpoints the log. Sequence numbers are never reused afterwards.
    fn maintain(&self, plan: &MaintenancePlan) -> Result<MaintenanceReport, RelayError>;
    fn stats(&self) -> Result<StoreStats, RelayError>;
    /// Called once on a clean shutdown, after the last request (e.g. a final checkpoint).
    fn close(&self) -> Result<(), RelayError>;
}
