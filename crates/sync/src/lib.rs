//! The sync engine: brings one account's mirror in line with FlexFactor.
//!
//! What it does, in one [`sync_account`] run:
//! 1. **Backfill** (first run): pages through `GET /orders` oldest first and applies each
//!    page in one transaction together with the cursor that says how far it got, so a
//!    crash resumes at the next page. Into an (almost) empty mirror this runs in the
//!    mirror's bulk-load mode: each page brings its chart rollups with it, and the indexes
//!    are built in bulk when the last page is in (also after a crash, by the next run). The
//!    word index is filled afterwards in short steps ([`fill_search_index`], which the app
//!    core runs after a sync); searches are right meanwhile, only slower.
//! 2. **Catch-up** (later runs): fetches only orders created since the stored watermark
//!    (minus an overlap, because `from` is inclusive and clocks drift).
//! 3. **Re-check**: asks the API for all orders currently in non-final statuses and
//!    re-reads (`GET /orders/{id}`) the mirror's non-final orders the API no longer lists
//!    as such: that is how status changes of existing orders arrive without webhooks. One
//!    the API answers 404 for is flagged as `unknown_order` drift and not asked for again
//!    until the API lists it. One the API refuses to show (a 403, an unreadable body) is
//!    left as it is and remembered ([`RECHECK_REFUSED_CURSOR`]): the next re-check reads it
//!    after every other order, so a few such orders never keep the others from being read.
//!
//! What it does not do: no scheduling (the app core decides when to run), no webhooks yet.
//! Invariants: every write goes through [`flexdesk_mirror::Mirror::apply_orders`]; cursors
//! never run ahead of the rows they cover.

mod cursor;
mod engine;
mod error;
mod feed;
mod webhooks;

pub use cursor::{
    refused_orders, request_full_resync, BackfillCursor, CURSOR_NAME, RECHECK_REFUSED_CURSOR, RESYNC_CURSOR,
    UNKNOWN_RECHECKED_CURSOR,
};
pub use engine::{
    fill_search_index, sync_account, SyncProgress, SyncReport, BULK_LOAD_MAX_EXISTING, PAGE_SIZE, UNKNOWN_RECHECK_EVERY,
};
pub use error::SyncError;
pub use feed::{
    consume_into, consume_once, refresh_named_orders, ConsumeReport, FeedClient, FeedEvent, FeedPoll, RefreshReport,
    RejectedDelivery, FEED_CURSOR, FEED_STORE_CURSOR, MAX_REFRESH_ATTEMPTS, REFRESH_BATCH,
};
/// Drift kind (the mirror's `drift.kind`): an order the API does not know.
pub const UNKNOWN_ORDER: &str = "unknown_order";
/// Drift kind: a state change that arrived by polling while its webhook never did.
pub const MISSING_WEBHOOK: &str = "missing_webhook";

pub use webhooks::{apply_webhook, state_hint, webhook_event, WebhookApplied};
