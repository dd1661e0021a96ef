//! One sync run.

use chrono::{Duration, Utc};
use flexdesk_mirror::{Mirror, OrderState, SEARCH_INDEX_CHUNK, SEARCH_INDEX_PAUSE, SEARCH_MERGE_PAGES};
use flexfactor_client::{ClientError, FlexFactorClient};
use flexfactor_wire::{OrderStatus, OrdersQuery, WireOrder};
use std::collections::HashSet;

use crate::cursor::{
    refused_orders, store_refused_orders, BackfillCursor, CURSOR_NAME, RESYNC_CURSOR, UNKNOWN_RECHECKED_CURSOR,
};
use crate::{SyncError, UNKNOWN_ORDER};

/// Orders per `GET /orders` page.
pub const PAGE_SIZE: u32 = 1000;

/// A first backfill into a mirror holding at most this many orders (all accounts) runs in
/// the mirror's bulk-load mode: secondary indexes and rollup triggers off, rebuilt at the end.
pub const BULK_LOAD_MAX_EXISTING: u64 = 10_000;

/// How far before the watermark a catch-up starts (`from` is inclusive; clocks drift).
const OVERLAP: Duration = Duration::minutes(10);
/// How far past this machine's clock an order's time may move the watermark (FlexFactor's
/// clock may run a little ahead of ours).
const WATERMARK_SKEW: Duration = Duration::minutes(5);

/// How often orders flagged as unknown to the API are read again (see
/// [`crate::UNKNOWN_RECHECKED_CURSOR`]).
pub const UNKNOWN_RECHECK_EVERY: Duration = Duration::minutes(15);

/// States the API may still change.
const NON_FINAL_STATES: [OrderState; 5] =
    [OrderState::Pending, OrderState::Challenge, OrderState::CaptureRequired, OrderState::OnHold, OrderState::Problem];
const NON_FINAL_STATUSES: [OrderStatus; 5] = [
    OrderStatus::Draft,
    OrderStatus::OnHold,
    OrderStatus::Problem,
    OrderStatus::Processing,
    OrderStatus::CaptureRequired,
];

/// Progress of a run, reported after every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncProgress {
    /// True during the first full backfill.
    pub backfilling: bool,
    pub fetched: u64,
    pub expected: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub backfilled: bool,
    pub fetched: u64,
    pub inserted: u64,
    pub updated: u64,
    pub requests: u64,
    /// Non-final orders whose re-read failed for that order alone (a body FlexDesk cannot
    /// read, a 403 for it): logged, left as they are, tried again next run after the others
    /// (remembered in [`crate::RECHECK_REFUSED_CURSOR`]).
    pub recheck_failed: u64,
    /// Non-final orders the API answered 404 for in this run (flagged as drift).
    pub flagged_unknown: u64,
}

impl SyncReport {
    fn add(&mut self, stats: flexdesk_mirror::ApplyStats, fetched: usize) {
        self.fetched += fetched as u64;
        self.inserted += stats.inserted;
        self.updated += stats.updated;
        self.requests += 1;
    }
}

/// This many failed re-reads in a row end a run's re-check with the last error.
const MAX_REFUSED_IN_A_ROW: u32 = 5;

/// A failed read of one order that says nothing about the API as a whole: not the network,
/// not a transient status, not the credentials, and not the sign-in (a body from the token
/// endpoint that cannot be read, a firewall's 403 on it, would fail every order's read).
pub(crate) fn is_per_order(e: &ClientError) -> bool {
    let sign_in = match e {
        ClientError::Api { path, .. } | ClientError::Decode { path, .. } => path.contains("/oauth2/"),
        _ => false,
    };
    !sign_in
        && !e.is_transient()
        && !matches!(e, ClientError::Unauthorized | ClientError::CredentialsRejected { .. } | ClientError::Config(_))
}

/// Brings `account_id`'s mirror in line with the API (see the crate docs for the steps).
#[tracing::instrument(skip_all, err, fields(account = account_id))]
pub async fn sync_account(
    client: &FlexFactorClient,
    mirror: &mut Mirror,
    account_id: &str,
    mut on_progress: impl FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    let mut cursor = BackfillCursor::parse(mirror.cursor(account_id, CURSOR_NAME)?.as_deref());
    let mut report = SyncReport::default();
    let resync = mirror.cursor(account_id, RESYNC_CURSOR)?;
    if resync.is_some() && cursor.serves != resync {
        // A full re-listing no pass has started for yet: requested while another run was
        // finishing (which then marked its cursor complete), or while a pass was under way
        // (whose next page overwrote the request's reset before it stopped). Pages listed
        // before the request do not count for it.
        cursor.complete = false;
        cursor.next_page = 1;
        cursor.serves = resync.clone();
    }

    // 1 + 2: backfill from the stored page, or catch up from the watermark.
    let backfilling = !cursor.complete;
    report.backfilled = backfilling;
    if backfilling {
        // Also resumes a bulk load a crash interrupted (the mode is stored in the mirror).
        mirror.begin_bulk_load(BULK_LOAD_MAX_EXISTING)?;
    }
    let mut page = if backfilling { cursor.next_page.max(1) } else { 1 };
    // A watermark in the future (stored by a build that did not cap it) is taken as now.
    let cap = Utc::now() + WATERMARK_SKEW;
    cursor.watermark = cursor.watermark.map(|w| w.min(cap));
    let from = if backfilling { None } else { cursor.watermark.map(|w| w - OVERLAP) };
    let mut fetched_before = if backfilling { u64::from(page - 1) * u64::from(PAGE_SIZE) } else { 0 };
    loop {
        let query = OrdersQuery {
            from,
            order_by: Some("createdOn".into()),
            sort: Some("asc".into()),
            page_size: Some(PAGE_SIZE),
            page_number: Some(page),
            ..Default::default()
        };
        let result = client.list_orders(&query).await?;
        let n = result.orders.len();
        let has_next = result.has_next_page.unwrap_or(n as u32 >= PAGE_SIZE) && n > 0;
        if let Some(newest) = result.orders.iter().filter_map(|o| o.created_on.or(o.order_placed_date)).max() {
            // A time in the future (the merchant's own `orderPlacedDate` where `createdOn` is
            // missing, a clock set wrong) would move every later catch-up past orders not
            // listed yet: the watermark goes no further than now.
            let newest = newest.min(Utc::now() + WATERMARK_SKEW);
            cursor.watermark = Some(cursor.watermark.map_or(newest, |w| w.max(newest)));
        }
        cursor.next_page = page + 1;
        if backfilling && !has_next {
            cursor.complete = true;
        }
        // A catch-up's orders the mirror does not have yet: a webhook is expected for those
        // already in an announced state (see `expect_new_orders_webhooks`).
        let new_keys = if backfilling {
            HashSet::new()
        } else {
            let keys: Vec<&str> = result.orders.iter().map(|o| o.id.as_str()).collect();
            let stored = mirror.stored_order_keys(account_id, &keys)?;
            keys.into_iter().filter(|k| !stored.contains(*k)).map(str::to_string).collect()
        };
        // The webhooks of new orders are expected in the same transaction as their rows.
        let expected = new_orders_expectations(mirror, account_id, &result.orders, &new_keys)?;
        let stats = mirror.apply_orders_expecting(
            account_id,
            &result.orders,
            Some((CURSOR_NAME, &cursor.to_json())),
            &expected,
        )?;
        // The word index keeps up page by page (a few milliseconds per 1,000 orders, beside a
        // request that takes far longer), in a first backfill and in a catch-up after a long
        // time offline alike: a run ends with every search answered from the index (a crash
        // leaves at most one page past its mark), and `fill_search_index` then only merges.
        mirror.index_search_step(n.max(1) as u64)?;
        report.add(stats, n);
        fetched_before += n as u64;
        on_progress(SyncProgress { backfilling, fetched: fetched_before, expected: result.total_item_count });
        if !has_next {
            break;
        }
        page += 1;
    }
    // The indexes catch up in bulk (a no-op when there is nothing to do); a crash before this
    // point leaves a correct, slower mirror that the next run finishes. The word index is
    // filled afterwards, in steps: see [`fill_search_index`].
    mirror.finish_bulk_load()?;
    // A full re-listing asked for before this run began is done (the listing is, whatever
    // the re-check below meets); one asked for since stays.
    if let Some(requested) = resync.as_deref() {
        mirror.update_cursors(account_id, &[], &[(RESYNC_CURSOR, requested)])?;
    }

    // 3: re-check orders that may have changed status.
    recheck_non_final(client, mirror, account_id, &mut report).await?;

    cursor.complete = true;
    cursor.last_sync_at = Some(Utc::now());
    mirror.update_cursors(account_id, &[(CURSOR_NAME, &cursor.to_json())], &[])?;
    tracing::info!(?report, "sync finished");
    Ok(report)
}

/// How recent an order first seen by a catch-up must be for its webhook to be expected: an
/// older one's webhook may have come before this dashboard was connected to a relay.
const NEW_ORDER_WEBHOOK_WINDOW: Duration = Duration::days(1);

/// Orders a catch-up inserts already in a state FlexFactor announces by webhook (a checkout
/// approved at once, a rebill completed while the dashboard was closed): their webhook is
/// expected like that of a change seen by polling, so one that never arrives is flagged.
/// Only orders created within [`NEW_ORDER_WEBHOOK_WINDOW`].
/// Returns `(order key, state hint)` for [`Mirror::apply_orders_expecting`].
fn new_orders_expectations<'a>(
    mirror: &Mirror,
    account_id: &str,
    orders: &'a [WireOrder],
    new_keys: &HashSet<String>,
) -> Result<Vec<(&'a str, &'static str)>, SyncError> {
    // A full re-listing asked for meanwhile (the relay lost events): their webhooks may be
    // among the lost ones, so none is expected.
    if new_keys.is_empty() || mirror.cursor(account_id, RESYNC_CURSOR)?.is_some() {
        return Ok(Vec::new());
    }
    let since = Utc::now() - NEW_ORDER_WEBHOOK_WINDOW;
    let hints: Vec<(&str, &'static str)> = orders
        .iter()
        .filter(|o| new_keys.contains(&o.id) && o.created_on.is_some_and(|t| t >= since))
        .map(|o| {
            let record = flexdesk_mirror::OrderRecord::from_wire(o);
            // As the poll trigger writes it: `order.refunded` announces any refund.
            let refund = record.refunded_cents > 0 || record.state == OrderState::Refunded;
            let hint = if refund { "partiallyRefunded" } else { record.state.as_str() };
            (o.id.as_str(), hint)
        })
        .collect();
    Ok(hints)
}

/// Fills the word index past its mark in short steps (one transaction each), pausing between
/// them so another writer waiting for the lock gets it. Searches are right before it ends
/// (they scan the orders past the mark), only slower. `on_pending` hears how many orders are
/// still to index: first the count (when there is any work), then after every step, ending
/// with 0. A fill in several steps leaves the index's segments unmerged (faster); they are
/// merged afterwards in short steps too, with searches complete meanwhile (also when an
/// earlier run stopped before). Returns how many orders it indexed.
pub async fn fill_search_index(mirror: &mut Mirror, mut on_pending: impl FnMut(u64)) -> Result<u64, SyncError> {
    let mut pending = mirror.search_pending()?;
    let mut total = 0;
    if pending > 0 {
        on_pending(pending);
        loop {
            let n = mirror.index_search_step(SEARCH_INDEX_CHUNK)?;
            if n == 0 {
                on_pending(0);
                break;
            }
            total += n;
            // Orders a writer adds meanwhile are indexed too, without being counted here.
            pending = pending.saturating_sub(n);
            on_pending(pending);
            tokio::time::sleep(SEARCH_INDEX_PAUSE).await;
        }
    }
    while mirror.merge_search_step(SEARCH_MERGE_PAGES)? {
        tokio::time::sleep(SEARCH_INDEX_PAUSE).await;
    }
    Ok(total)
}

async fn recheck_non_final(
    client: &FlexFactorClient,
    mirror: &mut Mirror,
    account_id: &str,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut listed: HashSet<String> = HashSet::new();
    let mut page = 1;
    loop {
        let query = OrdersQuery {
            status: NON_FINAL_STATUSES.iter().map(|s| s.code()).collect(),
            order_by: Some("createdOn".into()),
            sort: Some("asc".into()),
            page_size: Some(PAGE_SIZE),
            page_number: Some(page),
            ..Default::default()
        };
        let result = client.list_orders(&query).await?;
        let n = result.orders.len();
        listed.extend(result.orders.iter().map(|o| o.id.clone()));
        let stats = mirror.apply_orders(account_id, &result.orders, None)?;
        report.add(stats, n);
        if !(result.has_next_page.unwrap_or(n as u32 >= PAGE_SIZE) && n > 0) {
            break;
        }
        page += 1;
    }
    // Orders already flagged unknown to the API are listed for the user and read again only
    // every `UNKNOWN_RECHECK_EVERY` (a 404 may have been a passing fault, and an order that
    // went final meanwhile is never in the listing of non-final ones); the flag clears once
    // the API lists or shows the order (any apply of it does).
    let mut flagged_unknown: HashSet<String> = HashSet::new();
    for d in mirror.drift(account_id)?.into_iter().filter(|d| d.kind == UNKNOWN_ORDER) {
        if listed.contains(&d.order_session_key) {
            mirror.resolve_drift(account_id, &d.order_session_key, UNKNOWN_ORDER)?;
        } else {
            flagged_unknown.insert(d.order_session_key);
        }
    }
    let now = Utc::now();
    let unknown_due = !flagged_unknown.is_empty()
        && mirror
            .cursor(account_id, UNKNOWN_RECHECKED_CURSOR)?
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
            // A time ahead of now (a clock set back) does not hold the reads off.
            .is_none_or(|at| at > now || now - at.with_timezone(&Utc) >= UNKNOWN_RECHECK_EVERY);
    // Orders refused last time are read after all the others, so that a few the API always
    // refuses never keep the rest from being re-checked; flagged ones (when due) after those.
    let refused_before: HashSet<String> = refused_orders(mirror, account_id)?.into_iter().collect();
    let (mut moved_on, again): (Vec<String>, Vec<String>) = mirror
        .order_keys_in_states(account_id, &NON_FINAL_STATES)?
        .into_iter()
        .filter(|k| !listed.contains(k) && (unknown_due || !flagged_unknown.contains(k)))
        .partition(|k| !refused_before.contains(k) && !flagged_unknown.contains(k));
    let (flagged, again): (Vec<String>, Vec<String>) = again.into_iter().partition(|k| flagged_unknown.contains(k));
    moved_on.extend(again);
    moved_on.extend(flagged);
    let mut refused_now: Vec<String> = Vec::new();
    let outcome = reread_orders(client, mirror, account_id, &moved_on, &refused_before, &mut refused_now, report).await;
    if outcome.is_err() {
        // The run stopped: the orders refused before that it did not reach are still refused
        // as far as anyone knows.
        let reached: HashSet<&String> = refused_now.iter().collect();
        let unreached: Vec<String> =
            moved_on.iter().filter(|k| refused_before.contains(*k) && !reached.contains(k)).cloned().collect();
        refused_now.extend(unreached);
    }
    if let Err(e) = store_refused_orders(mirror, account_id, &refused_now) {
        if outcome.is_ok() {
            return Err(e.into());
        }
        tracing::warn!(error = %e, "could not remember the orders FlexFactor refused to show");
    }
    // The pause starts at the read of the flagged orders, or at the first flag of none
    // flagged before (new flags while older ones wait do not put the older ones off).
    if outcome.is_ok() && (unknown_due || (flagged_unknown.is_empty() && report.flagged_unknown > 0)) {
        mirror.set_cursor(account_id, UNKNOWN_RECHECKED_CURSOR, &now.to_rfc3339())?;
    }
    outcome
}

/// Re-reads `keys` one by one (see [`recheck_non_final`]), collecting the ones refused for
/// that order alone in `refused_now`. Refusals count towards [`MAX_REFUSED_IN_A_ROW`],
/// except those of orders refused before (`refused_before`, read last) once this run has
/// read an order: the API works, and such an order says nothing new about it. Before any
/// read succeeded they count, so a run where every read is refused still stops and says so
/// (the list of refused orders cannot grow run by run until it excuses every refusal).
async fn reread_orders(
    client: &FlexFactorClient,
    mirror: &mut Mirror,
    account_id: &str,
    keys: &[String],
    refused_before: &HashSet<String>,
    refused_now: &mut Vec<String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    // Failures one after the other, none for the whole API: that many and the API refuses
    // them all (a permission, a changed body), so the run stops and says so.
    let mut refused_in_a_row = 0u32;
    let mut read_one = false;
    for key in keys {
        let order: WireOrder = match client.get_order(key).await {
            Ok(o) => {
                refused_in_a_row = 0;
                read_one = true;
                o
            }
            Err(ClientError::NotFound { .. }) => {
                refused_in_a_row = 0;
                read_one = true;
                tracing::warn!(order = %key, "order in the mirror is unknown to the API: flagged as drift");
                report.flagged_unknown += 1;
                mirror.flag_drift(
                    account_id,
                    key,
                    UNKNOWN_ORDER,
                    "the mirror has this order as pending, but the API answers 404 Not Found for it",
                )?;
                continue;
            }
            Err(e) if is_per_order(&e) && read_one && refused_before.contains(key) => {
                tracing::warn!(order = %key, error = %e, "an order refused before is refused again; left as it is");
                report.recheck_failed += 1;
                refused_now.push(key.clone());
                continue;
            }
            Err(e) if is_per_order(&e) && refused_in_a_row + 1 < MAX_REFUSED_IN_A_ROW => {
                // This order alone (an odd body, a refusal for it): the others are still
                // re-checked and the run completes; it is tried again next run, last.
                tracing::warn!(order = %key, error = %e, "could not re-read an order; left as it is");
                refused_in_a_row += 1;
                report.recheck_failed += 1;
                refused_now.push(key.clone());
                continue;
            }
            Err(e) => {
                if is_per_order(&e) {
                    refused_now.push(key.clone());
                }
                return Err(e.into());
            }
        };
        // A change lands in the order's timeline, and is checked later for its webhook (the
        // mirror's `poll` trigger; see `Mirror::check_webhook_expectations`).
        let stats = mirror.apply_orders(account_id, std::slice::from_ref(&order), None)?;
        report.add(stats, 1);
    }
    Ok(())
}
