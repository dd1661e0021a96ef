//! The webhook relay: the small server a merchant runs at a public HTTPS URL so that
//! FlexFactor's webhooks reach every FlexDesk dashboard, even when none is online.
//!
//! What it does:
//! - `POST /webhooks` verifies the `x-fc-*` signature on the **raw bytes**, rejects stale
//!   `x-fc-date` values outside the replay window and bodies over the size limit, writes
//!   the event durably and only then answers 2xx. Retries of an event already stored
//!   (same `Event`, `OrderId`, `ConfirmationId`) are answered 200 and not stored again;
//!   their keys are kept at least 7 days. Rejected deliveries are answered 4xx, logged,
//!   and kept for inspection.
//! - `GET /feed?after=<seq>&limit=<n>&wait=<secs>` serves an authenticated (bearer token),
//!   resumable long-poll feed with monotonic sequence numbers; any number of dashboards,
//!   each with its own cursor. A cursor older than what retention keeps gets HTTP 410
//!   `cursor_too_old`: the dashboard must backfill from the API.
//! - `GET /rejected?limit=<n>` (same token): refused deliveries kept for inspection.
//! - `GET /healthz` (503 when storage fails or while stopping) and `GET /metrics`
//!   (Prometheus text: deliveries by outcome and reject reason, feed clients and lag,
//!   storage size, retention; see [`metrics`]).
//! - Retention and compaction ([`Relay::maintain_now`], also at start and every
//!   `maintenance_interval`): by age, optionally by size, then incremental auto-vacuum and a
//!   WAL checkpoint.
//! - Graceful shutdown ([`Relay::shutdown`]): stop accepting, answer waiting long-polls,
//!   let in-flight requests finish within `shutdown_grace`, checkpoint.
//! - [`settings`]: the layered configuration of `flexdesk relay serve` (defaults < TOML <
//!   environment < flags; secrets only from the environment or files).
//!
//! What it deliberately does not do: no FlexFactor API calls, no order state. It never
//! depends on the client or the mirror crates. Storage sits behind [`EventStore`], with
//! SQLite as the embedded default so a PostgreSQL backend can follow.
//!
//! Invariants: an acknowledged (2xx) event is committed before the answer is sent; a
//! sequence number is never reused; a duplicate never gets a new sequence number.

mod config;
mod error;
mod feed;
mod ingest;
pub mod metrics;
mod retention;
mod server;
pub mod settings;
mod sqlite_store;
mod store;

pub use config::{Clock, RelayConfig, TlsFiles};
pub use error::RelayError;
pub use metrics::{Metrics, RejectReason};
pub use retention::MIN_DEDUPE_KEEP;
pub use server::{router, Relay, RelayState};
pub use settings::{Settings, SettingsInput};
pub use sqlite_store::SqliteStore;
pub use store::{
    Appended, EventStore, FeedPage, IncomingEvent, MaintenancePlan, MaintenanceReport, RejectedDelivery, StoreStats,
    StoredEvent, REJECTED_BODY_KEPT,
};
