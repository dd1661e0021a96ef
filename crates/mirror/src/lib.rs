//! The local SQLite mirror of a merchant's FlexFactor orders: every screen reads it.
//!
//! What it does: opens the database (bundled SQLite, WAL, foreign keys, busy timeout),
//! runs the embedded append-only migrations, stores accounts (non-secret settings only),
//! orders with their derived [`OrderState`], and sync cursors, and answers the queries
//! the screens need (filtered, searched, keyset pages and offset jumps for the virtual table;
//! chart aggregates from trigger-maintained rollups).
//!
//! What it deliberately does not do: no HTTP and no secrets. Secrets never enter SQLite.
//!
//! Invariants:
//! - Money is integer cents; `amountToRefund`-style decimals never reach this crate.
//! - A cursor is written in the same transaction as the rows it covers
//!   ([`Mirror::apply_orders`]), so a crash never leaves a cursor ahead of its rows.
//! - A database written by a newer FlexDesk (higher schema version) is refused, never
//!   migrated down.

mod account_webhooks;
mod accounts;
mod aggregates;
mod annotations;
mod audit;
mod batches;
mod bulk;
mod cursors;
mod db;
mod error;
mod health;
mod load_keys;
mod migrations;
mod order_list;
mod orders;
mod outbox;
mod packed_json;
mod refresh;
mod rollups;
mod state;
mod timeline;
mod unreadable;

pub use account_webhooks::AccountWebhook;
pub use accounts::{Account, Environment};
pub use aggregates::{DayFacts, ExpiryFacts, OrderFacts, RescueFacts};
pub use annotations::{Note, ReviewDecision, SavedView};
pub use audit::{AuditDraft, AuditEntry, AuditVerification, GENESIS};
pub use batches::{BatchFileRecord, BatchRecord, BatchRowRecord, NewBatchFile};
pub use bulk::{SEARCH_INDEX_CHUNK, SEARCH_INDEX_PAUSE, SEARCH_MERGE_PAGES};
pub use db::Mirror;
pub use error::MirrorError;
pub use health::{
    inspect_file, inspect_file_scoped, CheckScope, FileHealth, SalvageReport, Unavailable, IRREPLACEABLE_TABLES,
};
pub use migrations::{MIGRATIONS, SCHEMA_VERSION};
pub use order_list::{OrderCursor, OrderFilter, OrderSort};
pub use orders::{ApplyStats, OrderRecord};
pub use outbox::{Intent, IntentKind, IntentState, Recorded};
/// The stored form of an order's JSON (for tools that write mirror rows themselves, such as
/// the mirror benchmark's bare insert).
pub use packed_json::{pack as pack_json, skeleton as json_skeleton};
pub use refresh::QueuedRefresh;
pub use state::OrderState;
pub use timeline::{DriftEntry, EventApplied, OrderEvent, TimelineEntry, WebhookRecord};
pub use unreadable::UnreadableEvent;
