//! The active account's live parts: API client, Demo sandbox (if any), and sync task.

use flexdesk_mirror::{Account, Mirror};
use flexdesk_sync::{
    consume_into, fill_search_index, refresh_named_orders, refused_orders, sync_account, BackfillCursor, ConsumeReport,
    FeedClient, SyncError, SyncProgress, SyncReport, CURSOR_NAME, REFRESH_BATCH,
};
use flexfactor_client::FlexFactorClient;
use flexfactor_sandbox::Sandbox;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::core::Inner;
use crate::demo::DemoRelay;
use crate::dto::{SyncPhase, SyncStatus};
use crate::{CoreError, ErrorCode};

/// What runs for the active account. Dropping it stops the sync task; the sandbox shuts
/// down with it.
pub(crate) struct Session {
    pub account: Account,
    pub client: Arc<FlexFactorClient>,
    pub sandbox: Option<Sandbox>,
    pub demo_relay: Option<DemoRelay>,
    /// The relay feed (URL, token) this session follows, if any.
    pub feed: Option<(String, String)>,
    pub generation: u64,
    pub trigger: Arc<Notify>,
    pub task: Option<JoinHandle<()>>,
    pub feed_task: Option<JoinHandle<()>>,
    /// Re-reads the orders the feed's webhooks named (see [`refresh_loop`]).
    pub refresh_task: Option<JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in [self.task.take(), self.feed_task.take(), self.refresh_task.take()].into_iter().flatten() {
            task.abort();
        }
    }
}

/// The status shown before the first run of a session: last sync time from the cursor.
pub(crate) fn initial_status(mirror: &Mirror, account_id: &str) -> SyncStatus {
    let cursor = mirror.cursor(account_id, CURSOR_NAME).ok().flatten();
    let cursor = BackfillCursor::parse(cursor.as_deref());
    // Until the first full backfill has finished, the phase says so from the very start (an
    // "idle" before the sync task's first step would read as "done").
    let phase = if cursor.complete { SyncPhase::Idle } else { SyncPhase::Backfilling };
    SyncStatus {
        phase,
        last_sync_at: cursor.last_sync_at.map(|d| d.to_rfc3339()),
        unreadable_orders: unreadable_orders(mirror, account_id),
        ..SyncStatus::default()
    }
}

/// How many of the account's pending orders FlexFactor refused to show at their last re-read
/// (kept by the sync engine, so the count is right after a failed run and a restart too).
fn unreadable_orders(mirror: &Mirror, account_id: &str) -> u64 {
    match refused_orders(mirror, account_id) {
        Ok(keys) => keys.len() as u64,
        Err(e) => {
            tracing::warn!(error = %e, "could not count the orders FlexFactor refused to show");
            0
        }
    }
}

/// One sync run with its own writer connection, reporting progress into the shared status
/// while `generation` is still the active session.
pub(crate) async fn run_sync(
    inner: &Inner,
    generation: u64,
    account_id: &str,
    client: &FlexFactorClient,
) -> Result<SyncReport, CoreError> {
    // A mirror that cannot be opened (a full disk, a newer FlexDesk's schema) fails the run
    // like any other error: the status bar says so.
    let opened = Mirror::open(&inner.db_path).map_err(CoreError::from).and_then(|writer| {
        let cursor = writer.cursor(account_id, CURSOR_NAME)?;
        Ok((writer, !BackfillCursor::parse(cursor.as_deref()).complete))
    });
    let (mut writer, backfilling) = match opened {
        Ok(opened) => opened,
        Err(e) => return Err(report_sync_error(inner, generation, e)),
    };
    inner.update_sync(generation, |s| {
        s.phase = if backfilling { SyncPhase::Backfilling } else { SyncPhase::Syncing };
        s.fetched = 0;
        s.expected = None;
    });
    let result = sync_account(client, &mut writer, account_id, |p: SyncProgress| {
        inner.notify_changed();
        inner.update_sync(generation, |s| {
            s.phase = if p.backfilling { SyncPhase::Backfilling } else { SyncPhase::Syncing };
            s.fetched = p.fetched;
            s.expected = p.expected;
        });
    })
    .await;
    let unreadable = unreadable_orders(&writer, account_id);
    inner.update_sync(generation, |s| s.unreadable_orders = unreadable);
    match result {
        Ok(report) => {
            if report.inserted + report.updated > 0 {
                // The re-check of non-final orders comes after the last page's progress call.
                inner.notify_changed();
            }
            flag_missing_webhooks(inner, &mut writer, account_id);
            inner.update_sync(generation, |s| {
                s.phase = SyncPhase::Idle;
                s.last_sync_at = Some(chrono::Utc::now().to_rfc3339());
                s.last_error = None;
            });
            // The word index catches up after the rows are shown (after a first backfill of a
            // million orders, some seconds); searches scan the rest until then.
            let filled = fill_search_index(&mut writer, |pending| {
                inner.update_sync(generation, |s| s.search_pending = pending);
            })
            .await;
            if let Err(e) = filled {
                inner.update_sync(generation, |s| s.search_pending = 0);
                tracing::warn!(error = %e, "filling the search index failed; the next sync retries");
            }
            Ok(report)
        }
        Err(e) => Err(report_sync_error(inner, generation, CoreError::from(e))),
    }
}

/// Puts a failed run's error in the status (phase `Error`), and hands it back.
fn report_sync_error(inner: &Inner, generation: u64, e: CoreError) -> CoreError {
    tracing::warn!(error = %e, "sync failed");
    let mut ipc = e.to_ipc();
    if ipc.code == ErrorCode::DiskFull {
        ipc.message.push_str(" Syncing carries on by itself, from where it stopped, once there is space.");
    }
    inner.update_sync(generation, |s| {
        s.phase = SyncPhase::Error;
        s.last_error = Some(ipc.clone());
    });
    e
}

/// How long start-up work waits for the UI to draw the mirror's first rows (the default of
/// [`crate::CoreConfig::first_screen_grace`]).
pub(crate) const FIRST_SCREEN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// At start-up, when the mirror already holds the account's orders, waits until the UI has
/// drawn them (at most `first_screen_grace`; at once when they were drawn before, e.g. on
/// an account switch): the first screen comes from the mirror, and background work (the
/// first sync, the Demo's sandbox) does not compete with it for the CPU and the disk.
pub(crate) async fn after_first_screen(inner: &Inner, account_id: &str) {
    if !inner.config.first_screen_gate {
        return;
    }
    let has_rows = inner.reader().and_then(|r| Ok(r.order_count(account_id)? > 0)).unwrap_or(false);
    if !has_rows {
        return;
    }
    let mut shown = inner.first_screen.subscribe();
    let waited = std::time::Instant::now();
    let drawn = tokio::time::timeout(inner.config.first_screen_grace, shown.wait_for(|drawn| *drawn)).await.is_ok();
    tracing::debug!(drawn, waited_ms = waited.elapsed().as_millis() as u64, "start-up work after the first screen");
}

/// Syncs now (after the first screen, see [`after_first_screen`]), then every
/// `poll_interval`, or sooner when `trigger` fires.
pub(crate) async fn sync_loop(
    inner: Arc<Inner>,
    generation: u64,
    account_id: String,
    client: Arc<FlexFactorClient>,
    trigger: Arc<Notify>,
) {
    after_first_screen(&inner, &account_id).await;
    loop {
        let _ = run_sync(&inner, generation, &account_id, &client).await;
        tokio::select! {
            _ = tokio::time::sleep(inner.poll_interval()) => {}
            _ = trigger.notified() => {}
        }
    }
}

/// The lag the status bar shows for the newest event of a feed read: from the relay
/// receiving it to the mirror applying it, when it arrived while this read was waiting (a
/// live webhook). An event the relay held from before the read (the app was closed, the
/// network was down) is a backlog caught up, not a lag: none is shown for it, rather than
/// hours. The relay's clock stamps `received`, this machine's the other two; a relay clock
/// ahead shows 0.
fn live_lag_ms(
    polled_at: chrono::DateTime<chrono::Utc>,
    received: chrono::DateTime<chrono::Utc>,
    applied_at: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    // A second's allowance for the two clocks.
    (received >= polled_at - chrono::Duration::seconds(1)).then(|| (applied_at - received).num_milliseconds().max(0))
}

/// A writer connection to the mirror, tried again (with a growing pause) until it opens: a
/// mirror locked by an upgrade or on a full disk does not end a live loop. `on_error` says
/// each failure where the user sees it.
async fn open_writer_retrying(inner: &Inner, what: &str, on_error: impl Fn(&CoreError)) -> Mirror {
    let mut backoff = std::time::Duration::from_secs(1);
    loop {
        match Mirror::open(&inner.db_path) {
            Ok(m) => return m,
            Err(e) => {
                let e = CoreError::from(e);
                tracing::warn!(error = %e, "{what} cannot open the mirror yet");
                on_error(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(FEED_BACKOFF_MAX);
            }
        }
    }
}

/// Follows the relay feed: applies each webhook (with its cursor), then asks
/// [`refresh_loop`] to re-read the orders it named from the API, since polling is the source
/// of truth and webhooks make it fast. Whatever a read applied before failing is reported,
/// queued for its re-read and notified all the same.
pub(crate) async fn feed_loop(
    inner: Arc<Inner>,
    generation: u64,
    account_id: String,
    feed: FeedClient,
    sync_trigger: Arc<Notify>,
    refresh_trigger: Arc<Notify>,
) {
    let mut writer = open_writer_retrying(&inner, "the relay feed", |e| {
        inner.update_relay(generation, |r| r.last_error = Some(e.to_ipc()));
    })
    .await;
    let mut backoff = std::time::Duration::from_secs(1);
    // The first read does not wait, so the status shows "connected" at once.
    let mut wait = std::time::Duration::ZERO;
    loop {
        let started = std::time::Instant::now();
        let polled_at = chrono::Utc::now();
        let mut report = ConsumeReport::default();
        let result = consume_into(&feed, &mut writer, &account_id, wait, &mut report).await;
        let applied_at = chrono::Utc::now();
        inner.update_relay(generation, |r| {
            r.events_applied += report.applied;
            if let Some(at) = report.last_received_at {
                r.last_event_at = Some(at.to_rfc3339());
                r.last_lag_ms = live_lag_ms(polled_at, at, applied_at);
            }
        });
        if result.is_ok() {
            // Connected, said at once (before the re-reads below, which may take a while).
            inner.update_relay(generation, |r| {
                r.connected = true;
                r.last_error = None;
            });
        }
        if report.applied + report.unreadable > 0 {
            inner.notify_changed();
        }
        if report.cursor_too_old {
            tracing::warn!("the relay cannot continue from our cursor; running a full sync");
            sync_trigger.notify_one();
        }
        if report.events() > 0 || result.is_ok() {
            // Every order a webhook named, re-read from the API by the refresh task (queued
            // in the mirror with the webhook; a failed read is tried again after each read
            // of the feed). The next read of the feed does not wait for those re-reads.
            refresh_trigger.notify_one();
        }
        if !report.new_events.is_empty() {
            crate::AppCore::from_inner(inner.clone()).notify_webhooks(&account_id, &report.new_events);
        }
        match result {
            Ok(()) => {
                backoff = std::time::Duration::from_secs(1);
                wait = FEED_WAIT;
                // An answer at once with nothing in it (a relay shutting down, a proxy that
                // ignores the wait, a cursor it cannot continue from) is not read again at once.
                if report.events() == 0 && started.elapsed() < FEED_MIN_ROUND {
                    tokio::time::sleep(FEED_MIN_ROUND).await;
                }
            }
            Err(e) => {
                // The mirror could not be written (a full disk, a damaged file, a lock held too
                // long): the relay keeps its webhooks, and the status says the mirror is in
                // trouble, not that the relay went offline (`connected` stays as it was).
                let storage = matches!(e, SyncError::Mirror(_));
                let e = CoreError::from(e);
                if storage {
                    tracing::warn!(error = %e, "webhooks from the relay could not be saved in the mirror yet");
                } else {
                    tracing::warn!(error = %e, "relay feed read failed");
                }
                inner.update_relay(generation, |r| {
                    r.connected = r.connected && storage;
                    r.last_error = Some(e.to_ipc());
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(FEED_BACKOFF_MAX);
            }
        }
    }
}

/// Re-reads from the API the orders the feed's webhooks named, each time [`feed_loop`] asks,
/// in a task and on a connection of its own: a slow FlexFactor API delays these re-reads,
/// never the next webhooks. A full batch is followed by the next one at once.
pub(crate) async fn refresh_loop(
    inner: Arc<Inner>,
    generation: u64,
    account_id: String,
    client: Arc<FlexFactorClient>,
    trigger: Arc<Notify>,
) {
    let mut writer = open_writer_retrying(&inner, "re-reading the orders webhooks named", |e| {
        inner.update_relay(generation, |r| r.last_error = Some(e.to_ipc()));
    })
    .await;
    loop {
        trigger.notified().await;
        loop {
            match refresh_named_orders(&client, &mut writer, &account_id).await {
                Ok(r) => {
                    if r.refreshed + r.unknown > 0 {
                        inner.notify_changed();
                    }
                    let taken = r.refreshed + r.unknown + r.given_up;
                    if r.failed == 0 && taken >= u64::from(REFRESH_BATCH) {
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not re-read the orders webhooks named"),
            }
            break;
        }
    }
}

/// How long a feed read waits for an event (long-poll).
const FEED_WAIT: std::time::Duration = std::time::Duration::from_secs(25);
/// The shortest time between two feed reads that brought nothing.
const FEED_MIN_ROUND: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest pause after a failed feed read.
const FEED_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// Drift: an order whose state FlexFactor announces by webhook, seen first by polling, should
/// have had that webhook. Once [`WEBHOOK_GRACE`] has passed since polling saw the change
/// (the webhook may simply be on its way), an order with no such webhook is flagged when a
/// relay is in use (a webhook arriving later clears the flag); without one, nothing is.
fn flag_missing_webhooks(inner: &Inner, writer: &mut Mirror, account_id: &str) {
    let seen_before = chrono::Utc::now() - WEBHOOK_GRACE;
    match writer.check_webhook_expectations(account_id, seen_before, inner.relay_configured()) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(orders = n, "orders changed by polling without their webhook: flagged as drift"),
        Err(e) => tracing::warn!(error = %e, "could not check for missing webhooks"),
    }
}

/// How long after polling saw a change its webhook may still arrive before it counts as missing.
const WEBHOOK_GRACE: chrono::Duration = chrono::Duration::minutes(5);

#[cfg(test)]
mod tests {
    use super::live_lag_ms;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_webhook_that_arrived_during_the_wait_shows_its_lag_and_a_backlog_shows_none() {
        let polled = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let applied = polled + Duration::seconds(20);
        assert_eq!(live_lag_ms(polled, applied - Duration::milliseconds(35), applied), Some(35));
        assert_eq!(live_lag_ms(polled, polled - Duration::hours(4), applied), None, "held overnight");
        // The relay's clock a little ahead of ours: no negative lag.
        assert_eq!(live_lag_ms(polled, applied + Duration::milliseconds(200), applied), Some(0));
    }
}
