//! Reading the webhook relay's feed (`GET /feed?after=<seq>`) into the mirror.

use chrono::{DateTime, Utc};
use flexdesk_mirror::Mirror;
use serde::Deserialize;
use std::time::Duration;

use crate::webhooks::apply_webhook;
use crate::SyncError;

/// The cursor (last applied sequence number) in `sync_cursors`.
pub const FEED_CURSOR: &str = "relay_feed";
/// The relay store whose numbering [`FEED_CURSOR`] counts in (its `storeId`; see
/// [`consume_once`]).
pub const FEED_STORE_CURSOR: &str = "relay_store";

/// One event as the relay serves it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    pub seq: i64,
    pub event: String,
    pub order_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedPage {
    events: Vec<FeedEvent>,
    latest_seq: i64,
    /// The relay store's id (a relay from before store ids sends none).
    #[serde(default)]
    store_id: Option<String>,
}

/// What one read of the feed gave.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedPoll {
    Events {
        events: Vec<FeedEvent>,
        latest_seq: i64,
        store_id: Option<String>,
    },
    /// The relay cannot continue from our cursor (events after it are no longer kept, or its
    /// store was reset and the cursor is past everything it has): backfill from the API,
    /// then continue with the events it still keeps, from `oldest_seq`.
    CursorTooOld {
        oldest_seq: i64,
        latest_seq: i64,
        store_id: Option<String>,
    },
}

/// A client of one relay's feed.
pub struct FeedClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl std::fmt::Debug for FeedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedClient").field("base_url", &self.base_url).field("token", &"<redacted>").finish()
    }
}

impl FeedClient {
    pub fn new(base_url: &str, token: &str) -> Result<FeedClient, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| SyncError::Feed { url: base_url.into(), message: e.to_string(), transient: false })?;
        Ok(FeedClient { http, base_url: base_url.trim_end_matches('/').to_string(), token: token.to_string() })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Events after `after`, waiting up to `wait` for one to arrive (long-poll).
    pub async fn poll(&self, after: i64, wait: Duration, limit: usize) -> Result<FeedPoll, SyncError> {
        let url = format!("{}/feed", self.base_url);
        let err = |message: String, transient: bool| SyncError::Feed { url: url.clone(), message, transient };
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .query(&[("after", after.to_string()), ("wait", wait.as_secs().to_string()), ("limit", limit.to_string())])
            .send()
            .await
            .map_err(|e| err(e.to_string(), true))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| err(e.to_string(), true))?;
        match status.as_u16() {
            200 => {
                let page: FeedPage =
                    serde_json::from_str(&text).map_err(|e| err(format!("unreadable feed page: {e}"), false))?;
                Ok(FeedPoll::Events { events: page.events, latest_seq: page.latest_seq, store_id: page.store_id })
            }
            410 => {
                let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let latest_seq = body["latestSeq"].as_i64().unwrap_or(0);
                let oldest_seq = body["oldestSeq"].as_i64().unwrap_or(latest_seq.saturating_add(1));
                let store_id = body["storeId"].as_str().map(str::to_string);
                Ok(FeedPoll::CursorTooOld { oldest_seq, latest_seq, store_id })
            }
            401 | 403 => Err(err("the relay refused the feed token; check it in Settings".into(), false)),
            s => Err(err(format!("HTTP {s}: {}", text.chars().take(200).collect::<String>()), s >= 500 || s == 429)),
        }
    }
}

/// A delivery the relay refused (bad signature, stale date, bad body), kept for inspection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedDelivery {
    pub received_at: DateTime<Utc>,
    pub status: u16,
    pub reason: String,
    pub body: String,
}

impl FeedClient {
    /// The relay's refused deliveries, newest first.
    pub async fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, SyncError> {
        #[derive(Deserialize)]
        struct Body {
            rejected: Vec<RejectedDelivery>,
        }
        let url = format!("{}/rejected", self.base_url);
        let err = |message: String| SyncError::Feed { url: url.clone(), message, transient: true };
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .query(&[("limit", limit.to_string())])
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("HTTP {}", resp.status())));
        }
        let body: Body = resp.json().await.map_err(|e| err(e.to_string()))?;
        Ok(body.rejected)
    }
}

/// What one [`consume_once`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumeReport {
    pub applied: u64,
    pub duplicates: u64,
    /// Events this FlexDesk could not read: kept in the mirror (see
    /// [`flexdesk_mirror::Mirror::unreadable_events`]) and skipped.
    pub unreadable: u64,
    pub last_received_at: Option<DateTime<Utc>>,
    /// The cursor was too old, or counted in another relay store's numbering: the caller
    /// must run a full sync.
    pub cursor_too_old: bool,
    /// `(event name, order)` of every newly applied webhook, in feed order (for desktop
    /// notifications).
    pub new_events: Vec<(String, Option<String>)>,
}

impl ConsumeReport {
    /// Events read from the feed (applied, duplicate or unreadable).
    pub fn events(&self) -> u64 {
        self.applied + self.duplicates + self.unreadable
    }
}

/// Reads one feed page after the stored cursor and applies each event, committing the
/// cursor with each event, so a crash never skips or double-applies one.
pub async fn consume_once(
    feed: &FeedClient,
    mirror: &mut Mirror,
    account_id: &str,
    wait: Duration,
) -> Result<ConsumeReport, SyncError> {
    let mut report = ConsumeReport::default();
    consume_into(feed, mirror, account_id, wait, &mut report).await.map(|()| report)
}

/// [`consume_once`], reporting into `report` as it goes: after an error, `report` still
/// says what was applied before it (those events are committed; their notifications and
/// re-reads are due).
///
/// - The relay names its store's numbering (`storeId`). A page from another store than the
///   one the cursor counts in (the relay's database was reset or replaced, or the dashboard
///   now reads another relay) is not applied: the cursor restarts at 0 in the new numbering
///   and the next sync lists every order again, since events of the old store this mirror
///   never saw are gone. Without this, new numbers past the old cursor would be skipped.
/// - An event whose body FlexDesk cannot read is kept in the mirror with the error and the
///   cursor moves past it in the same transaction: it never holds up the events behind it.
pub async fn consume_into(
    feed: &FeedClient,
    mirror: &mut Mirror,
    account_id: &str,
    wait: Duration,
    report: &mut ConsumeReport,
) -> Result<(), SyncError> {
    let after: i64 = mirror.cursor(account_id, FEED_CURSOR)?.and_then(|c| c.parse().ok()).unwrap_or(0);
    match feed.poll(after, wait, 500).await? {
        FeedPoll::CursorTooOld { oldest_seq, latest_seq, store_id } => {
            // The feed resumes with the events the relay still keeps (applying them is
            // harmless and keeps their orders' timelines whole).
            let resume = oldest_seq.saturating_sub(1).clamp(0, latest_seq.max(0)).to_string();
            let listed_before =
                crate::cursor::BackfillCursor::parse(mirror.cursor(account_id, crate::cursor::CURSOR_NAME)?.as_deref())
                    .complete;
            if mirror.cursor(account_id, FEED_CURSOR)?.is_none() && !listed_before {
                // A dashboard's first read before its first full listing, which lists every
                // order anyway.
                mirror.set_cursor(account_id, FEED_CURSOR, &resume)?;
            } else if mirror.cursor(account_id, FEED_CURSOR)?.is_none() {
                // A first read from a relay that no longer has its first events, for a mirror
                // listed before: what happened to final orders in between (refunds,
                // chargebacks) is in neither, so the next sync lists every order again.
                let reason = format!("the relay's first events are gone (oldest kept is {oldest_seq})");
                crate::cursor::request_full_resync(mirror, account_id, Some((FEED_CURSOR, &resume)), &reason)?;
            } else {
                // Events this mirror never saw are gone: the next sync lists every order again
                // (refunds and chargebacks on final orders included).
                let reason = format!("the relay no longer serves feed cursor {after}; resuming after {resume}");
                crate::cursor::request_full_resync(mirror, account_id, Some((FEED_CURSOR, &resume)), &reason)?;
            }
            // The resumed cursor counts in this store's numbering.
            if let Some(id) = store_id {
                mirror.set_cursor(account_id, FEED_STORE_CURSOR, &id)?;
            }
            report.cursor_too_old = true;
        }
        FeedPoll::Events { events, store_id, .. } => {
            match (mirror.cursor(account_id, FEED_STORE_CURSOR)?, store_id.as_deref()) {
                (Some(known), Some(id)) if known != id => {
                    let listed_before = crate::cursor::BackfillCursor::parse(
                        mirror.cursor(account_id, crate::cursor::CURSOR_NAME)?.as_deref(),
                    )
                    .complete;
                    if listed_before {
                        // The reset first (a crash before the new id is stored only repeats it).
                        let reason = format!(
                            "the relay's event store changed (it was {known}, now {id}): feed cursor {after} \
                             counts in the old one's numbering"
                        );
                        crate::cursor::request_full_resync(mirror, account_id, Some((FEED_CURSOR, "0")), &reason)?;
                        mirror.set_cursor(account_id, FEED_STORE_CURSOR, id)?;
                        tracing::warn!(%reason, "reading the relay's feed from its start; the next sync lists every order");
                    } else {
                        // The first listing, still going on, lists every order anyway.
                        mirror.update_cursors(account_id, &[(FEED_CURSOR, "0"), (FEED_STORE_CURSOR, id)], &[])?;
                    }
                    report.cursor_too_old = true;
                    return Ok(());
                }
                (Some(_), Some(_)) => {}
                // A first read (or a mirror read by a build from before store ids).
                (None, Some(id)) => mirror.set_cursor(account_id, FEED_STORE_CURSOR, id)?,
                // A relay from before store ids: the id of another relay read before no
                // longer says which numbering the cursor counts in.
                (Some(known), None) => mirror.update_cursors(account_id, &[], &[(FEED_STORE_CURSOR, &known)])?,
                (None, None) => {}
            }
            for e in events {
                let seq = e.seq.to_string();
                match apply_webhook(mirror, account_id, &e.body, e.received_at, Some((FEED_CURSOR, &seq))) {
                    Ok(applied) if applied.applied.duplicate => report.duplicates += 1,
                    Ok(applied) => {
                        report.applied += 1;
                        // The order itself is queued for a re-read in the mirror, with the
                        // event (see [`refresh_named_orders`]).
                        report.new_events.push((applied.event.clone(), applied.order_session_key.clone()));
                    }
                    Err(SyncError::BadEvent(error)) => {
                        tracing::warn!(seq = e.seq, %error, "a feed event FlexDesk cannot read: kept, and skipped");
                        let unreadable = flexdesk_mirror::UnreadableEvent {
                            seq: e.seq,
                            order_session_key: e.order_id.clone(),
                            received_at: e.received_at,
                            error,
                            body: e.body,
                        };
                        mirror.keep_unreadable_event(account_id, &unreadable, (FEED_CURSOR, &seq))?;
                        report.unreadable += 1;
                    }
                    Err(other) => return Err(other),
                }
                report.last_received_at = Some(e.received_at);
            }
        }
    }
    Ok(())
}

/// What one [`refresh_named_orders`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    /// Orders re-read and applied (their queue entries removed).
    pub refreshed: u64,
    /// Orders the API does not know (dropped from the queue; the webhook already flagged them).
    pub unknown: u64,
    /// Orders left queued because the read failed (tried again next time).
    pub failed: u64,
    /// Orders FlexFactor refused to show [`MAX_REFRESH_ATTEMPTS`] times: taken off the queue
    /// (the sync's re-check reads a pending one again; see the log for the error).
    pub given_up: u64,
}

/// Refusals of one order's re-read (a 403, a body FlexDesk cannot read: not the network,
/// the API as a whole or the sign-in) after which it leaves the refresh queue, instead of
/// costing a request at every feed read for ever.
pub const MAX_REFRESH_ATTEMPTS: u32 = 10;

/// How many queued orders one [`refresh_named_orders`] call reads at most.
pub const REFRESH_BATCH: u32 = 200;

/// Re-reads from the API every order a webhook named (the mirror's refresh queue, filled in
/// each webhook's own transaction) and applies it: polling is the source of truth, webhooks
/// make it fast. An order leaves the queue once its re-read is applied, the API answers 404,
/// or its read was refused [`MAX_REFRESH_ATTEMPTS`] times (the last one in a call that read
/// another order); a failed read stays queued for the next call (the app makes one after
/// every read of the feed, at most every 25 s when idle, in a task of its own). Any failure
/// before a read succeeded ends the call (one request, not one per order, while the API
/// refuses everything); after one, a refusal of one order's read goes on with the others.
pub async fn refresh_named_orders(
    client: &flexfactor_client::FlexFactorClient,
    mirror: &mut Mirror,
    account_id: &str,
) -> Result<RefreshReport, SyncError> {
    let mut report = RefreshReport::default();
    // Refusals count only once this call has read an order: before that, the API may be
    // refusing every order (a revoked permission, a firewall), which says nothing of this one.
    let mut read_one = false;
    for queued in mirror.queued_refreshes(account_id, REFRESH_BATCH)? {
        match client.get_order(&queued.order_session_key).await {
            Ok(order) => {
                mirror.apply_orders(account_id, std::slice::from_ref(&order), None)?;
                mirror.refresh_done(account_id, &queued)?;
                report.refreshed += 1;
                read_one = true;
            }
            Err(flexfactor_client::ClientError::NotFound { .. }) => {
                tracing::warn!(order = %queued.order_session_key, "a webhook named an order the API does not know");
                mirror.refresh_done(account_id, &queued)?;
                report.unknown += 1;
                read_one = true;
            }
            Err(e) if crate::engine::is_per_order(&e) => {
                // Refused for this order: counted (orders tried least often go first, so one
                // that keeps failing does not hold up others). Once another read worked, the
                // others are still read, and after the last allowed attempt it leaves the queue.
                tracing::warn!(order = %queued.order_session_key, error = %e, "could not re-read an order after its webhook");
                if read_one && queued.attempts + 1 >= MAX_REFRESH_ATTEMPTS {
                    tracing::warn!(order = %queued.order_session_key, attempts = queued.attempts + 1,
                        "giving up re-reading an order after its webhook");
                    mirror.refresh_done(account_id, &queued)?;
                    report.given_up += 1;
                    continue;
                }
                mirror.refresh_failed(account_id, &queued.order_session_key, &e.to_string())?;
                report.failed += 1;
                if !read_one {
                    break;
                }
            }
            Err(e) => {
                // The API, the network or the sign-in are in trouble: one failed request per
                // call, not one per queued order, and no attempt counted against the order.
                tracing::warn!(order = %queued.order_session_key, error = %e, "could not re-read an order after its webhook");
                mirror.refresh_interrupted(account_id, &queued.order_session_key, &e.to_string())?;
                report.failed += 1;
                break;
            }
        }
    }
    Ok(report)
}
