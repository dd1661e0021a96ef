//! Client + sync + mirror against the sandbox on a loopback port.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Mirror, OrderFilter, OrderRecord, OrderState};
use flexdesk_sync::{
    apply_webhook, refresh_named_orders, request_full_resync, sync_account, BackfillCursor, CURSOR_NAME, RESYNC_CURSOR,
    UNKNOWN_RECHECKED_CURSOR, UNKNOWN_RECHECK_EVERY,
};
use flexfactor_client::{ClientConfig, ClientError, FlexFactorClient};
use flexfactor_sandbox::{Faults, Sandbox, SandboxConfig, SandboxCredentials};
use flexfactor_wire::Cents;
use std::collections::HashMap;

const KEY: &str = "test-app-key";
const SECRET: &str = "test-app-secret";

async fn sandbox(orders: usize) -> Sandbox {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(7, anchor, SandboxCredentials::new(KEY, SECRET));
    config.order_count = orders;
    Sandbox::start(config).await.unwrap()
}

fn client(sb: &Sandbox, secret: &str) -> FlexFactorClient {
    FlexFactorClient::new(ClientConfig::new(sb.base_url(), KEY, secret)).unwrap()
}

fn mirror(dir: &tempfile::TempDir) -> Mirror {
    let m = Mirror::open(&dir.path().join("mirror.sqlite3")).unwrap();
    if m.account("acct").unwrap().is_none() {
        m.insert_account(&flexdesk_tests::sandbox_account("acct", "Sandbox", "http://127.0.0.1/v1", "mid", KEY))
            .unwrap();
    }
    m
}

#[tokio::test]
async fn backfill_mirrors_exactly_the_sandbox_orders_with_derived_states() {
    let sb = sandbox(2_500).await;
    let dir = tempfile::tempdir().unwrap();
    let mut m = mirror(&dir);
    let mut progress = Vec::new();
    let report = sync_account(&client(&sb, SECRET), &mut m, "acct", |p| progress.push(p)).await.unwrap();
    assert!(report.backfilled);
    assert_eq!(report.inserted, 2_500);
    assert_eq!(m.order_count("acct").unwrap(), sb.order_count() as u64);
    assert_eq!(progress.last().unwrap().expected, Some(2_500));
    assert_eq!(progress.last().unwrap().fetched, 2_500);
    assert_eq!(m.search_pending().unwrap(), 0, "the word index kept up with the pages");

    let expected: HashMap<String, OrderRecord> =
        sb.orders_snapshot().iter().map(|o| (o.id.clone(), OrderRecord::from_wire(o))).collect();
    let (total, rows) = m.list_orders("acct", &OrderFilter { offset: 0, limit: 1000, ..Default::default() }).unwrap();
    assert_eq!(total, 2_500);
    for row in rows {
        let want = &expected[&row.order_session_key];
        assert_eq!(&row, want, "order {} differs from the sandbox", row.order_session_key);
    }
    assert!(m.quick_check().unwrap());
}

#[tokio::test]
async fn a_second_sync_fetches_only_what_changed() {
    let sb = sandbox(1_500).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    drop(m);
    let mut reopened = mirror(&dir);
    let again = sync_account(&c, &mut reopened, "acct", |_| {}).await.unwrap();
    assert!(!again.backfilled);
    assert_eq!((again.inserted, again.updated), (0, 0));
    assert!(again.fetched < 1_500, "catch-up re-fetched the whole history: {again:?}");
    assert_eq!(reopened.order_count("acct").unwrap(), 1_500);

    // After a long time offline, 2,500 new orders: the catch-up's pages are indexed for
    // search as they come, like a backfill's.
    let newest = sb.orders_snapshot().iter().filter_map(|o| o.created_on).max().unwrap();
    let template = sb.orders_snapshot()[0].clone();
    for i in 0..2_500 {
        let mut o = template.clone();
        o.id = format!("00000000-0000-4000-8000-{i:012}");
        o.external_order_id = Some(format!("LATE-{i:05}"));
        o.created_on = Some(newest + chrono::Duration::minutes(i + 1));
        sb.upsert_order(o);
    }
    let late = sync_account(&c, &mut reopened, "acct", |_| {}).await.unwrap();
    assert_eq!(late.inserted, 2_500, "{late:?}");
    assert_eq!(reopened.search_pending().unwrap(), 0, "the catch-up left orders out of the word index");
    let found = reopened
        .count_orders("acct", &OrderFilter { search: Some("LATE-02499".into()), ..Default::default() })
        .unwrap();
    assert_eq!(found, 1);
}

/// A mirror synced from a sandbox of `orders`, then a refund of `cents` made at FlexFactor
/// (not through FlexDesk) on one of its approved, final orders.
struct RefundedElsewhere {
    sb: Sandbox,
    dir: tempfile::TempDir,
    c: FlexFactorClient,
    m: Mirror,
    /// The refunded order.
    key: String,
    /// Its refunded cents in the mirror before the refund.
    before: i64,
}

async fn refunded_elsewhere(orders: usize, cents: i64) -> RefundedElsewhere {
    let sb = sandbox(orders).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    let key = m.order_keys_in_states("acct", &[OrderState::Approved]).unwrap()[0].clone();
    let before = m.order("acct", &key).unwrap().unwrap().refunded_cents;
    c.refund(&key, Cents(cents), None).await.unwrap();
    RefundedElsewhere { sb, dir, c, m, key, before }
}

#[tokio::test]
async fn a_requested_full_resync_lists_every_order_again_and_finds_a_refund_a_catch_up_cannot_see() {
    // The refund's webhook never reached this dashboard (the relay dropped it: its feed
    // cursor fell behind retention).
    let RefundedElsewhere { sb: _sb, dir: _dir, c, mut m, key, before } = refunded_elsewhere(1_500, 100).await;
    let catch_up = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(!catch_up.backfilled);
    assert_eq!(
        m.order("acct", &key).unwrap().unwrap().refunded_cents,
        before,
        "a catch-up does not re-list final orders"
    );

    request_full_resync(&mut m, "acct", None, "test").unwrap();
    assert!(m.cursor("acct", RESYNC_CURSOR).unwrap().is_some());
    let full = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(full.backfilled);
    assert!(full.fetched >= 1_500, "{full:?}");
    assert_eq!(m.order("acct", &key).unwrap().unwrap().refunded_cents, before + 100);
    assert_eq!(m.cursor("acct", RESYNC_CURSOR).unwrap(), None, "the request is done");
    let next = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(!next.backfilled, "one request, one full re-listing");
}

#[tokio::test]
async fn an_order_a_webhook_names_is_re_read_and_stays_queued_across_a_restart_until_a_read_succeeds() {
    let RefundedElsewhere { sb, dir, c, mut m, key, before } = refunded_elsewhere(300, 150).await;
    let refunded = sb.events().into_iter().rev().find(|e| e.order_id == key && e.kind.as_str() == "order.refunded");
    let body = serde_json::to_string(&refunded.expect("the refund's event").payload(true, false)).unwrap();
    apply_webhook(&mut m, "acct", &body, Utc::now(), None).unwrap();
    assert_eq!(m.queued_refreshes("acct", 10).unwrap().len(), 1, "the webhook queued its order");

    // The API fails for this order: it stays queued, also across a restart.
    sb.set_faults(Faults { error_rate: 1.0, only_path_suffix: Some(key.clone()), ..Default::default() });
    let failed = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
    assert_eq!((failed.refreshed, failed.failed), (0, 1));
    drop(m);
    let mut m = mirror(&dir);
    let queued = m.queued_refreshes("acct", 10).unwrap();
    // Server errors say nothing about the order: not counted against it.
    assert_eq!((queued.len(), queued[0].attempts), (1, 0));
    assert_eq!(m.order("acct", &key).unwrap().unwrap().refunded_cents, before, "not re-read yet");

    sb.set_faults(Faults::default());
    let done = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
    assert_eq!((done.refreshed, done.failed), (1, 0));
    assert_eq!(m.order("acct", &key).unwrap().unwrap().refunded_cents, before + 150);
    assert!(m.queued_refreshes("acct", 10).unwrap().is_empty());
    apply_webhook(&mut m, "acct", &body, Utc::now(), None).unwrap();
    assert!(m.queued_refreshes("acct", 10).unwrap().is_empty(), "a duplicate webhook queues nothing");
}

#[tokio::test]
async fn an_order_whose_re_read_flexfactor_keeps_refusing_leaves_the_queue_and_holds_up_no_other() {
    let RefundedElsewhere { sb, dir: _dir, c, mut m, key, before } = refunded_elsewhere(300, 150).await;
    let refunded = sb.events().into_iter().rev().find(|e| e.order_id == key && e.kind.as_str() == "order.refunded");
    let body = serde_json::to_string(&refunded.expect("the refund's event").payload(true, false)).unwrap();
    apply_webhook(&mut m, "acct", &body, Utc::now(), None).unwrap();
    // FlexFactor refuses to show that order (403); later, webhooks name other orders.
    sb.set_faults(Faults { forbidden_rate: 1.0, only_path_suffix: Some(key.clone()), ..Default::default() });
    let others: Vec<String> = sb.orders_snapshot().into_iter().map(|o| o.id).filter(|id| *id != key).take(2).collect();
    let webhook_for = |m: &mut Mirror, id: &str| {
        let event = flexdesk_mirror::OrderEvent {
            event_key: format!("webhook:test|{id}"),
            order_session_key: id.to_string(),
            at: Utc::now(),
            kind: "webhook:order.completed".into(),
            summary: "a webhook for another order".into(),
            payload: None,
            state_hint: None,
        };
        m.apply_event("acct", &event, None).unwrap();
    };
    webhook_for(&mut m, &others[0]);
    // Refused before any read worked (the API might be refusing every order): the call ends.
    let first = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
    assert_eq!((first.refreshed, first.failed), (0, 1), "{first:?}");
    // Next time the other order goes first (tried less often) and is read; the refused one
    // is tried after it.
    let second = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
    assert_eq!((second.refreshed, second.failed), (1, 1), "{second:?}");

    // Alone in the queue, it is refused call after call and counted, but never dropped
    // while no read shows that the API works.
    for _ in 3..=flexdesk_sync::MAX_REFRESH_ATTEMPTS + 2 {
        let r = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
        assert_eq!((r.failed, r.given_up), (1, 0), "{r:?}");
    }
    assert_eq!(m.queued_refreshes("acct", 10).unwrap().len(), 1);
    // Once another order is read in the same call, it leaves the queue.
    webhook_for(&mut m, &others[1]);
    let last = refresh_named_orders(&c, &mut m, "acct").await.unwrap();
    assert_eq!((last.refreshed, last.given_up), (1, 1), "{last:?}");
    assert!(m.queued_refreshes("acct", 10).unwrap().is_empty());
    assert_eq!(m.order("acct", &key).unwrap().unwrap().refunded_cents, before, "left as it was");
}

#[tokio::test]
async fn a_wrong_app_secret_is_a_credentials_rejected_error() {
    let sb = sandbox(10).await;
    let err = client(&sb, "not-the-secret").authenticate().await.unwrap_err();
    assert!(matches!(err, ClientError::CredentialsRejected { .. }), "{err:?}");
    assert!(err.to_string().contains("rejected"));
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_succeeds() {
    let sb = sandbox(50).await;
    let c = client(&sb, SECRET);
    c.authenticate().await.unwrap();
    sb.force_token_expiry();
    let order = sb.orders_snapshot()[3].clone();
    let fetched = c.get_order(&order.id).await.unwrap();
    assert_eq!(fetched.id, order.id);
}

#[tokio::test]
async fn an_unknown_order_is_not_found() {
    let sb = sandbox(10).await;
    let err = client(&sb, SECRET).get_order("00000000-0000-0000-0000-000000000000").await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn a_dead_network_is_a_network_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}/v1"), KEY, SECRET);
    config.retry.base_delay = std::time::Duration::from_millis(5);
    let err = FlexFactorClient::new(config).unwrap().authenticate().await.unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
}

/// A synced mirror holding a pending order (`id`) the sandbox does not know, which the
/// next sync's re-check flagged as unknown to the API (its read answered 404).
struct FlaggedUnknown {
    sb: Sandbox,
    _dir: tempfile::TempDir,
    c: FlexFactorClient,
    m: Mirror,
    order: flexfactor_wire::WireOrder,
}

async fn flagged_unknown(id: &str) -> FlaggedUnknown {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    let mut order = sb
        .orders_snapshot()
        .into_iter()
        .find(|o| !OrderRecord::from_wire(o).state.is_final())
        .expect("the sandbox has a pending order");
    order.id = id.into();
    m.apply_orders("acct", std::slice::from_ref(&order), None).unwrap();
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    FlaggedUnknown { sb, _dir: dir, c, m, order }
}

#[tokio::test]
async fn a_pending_order_the_api_does_not_know_is_flagged_once_then_cleared_when_listed() {
    let FlaggedUnknown { sb, _dir, c, mut m, order: stranger } =
        flagged_unknown("5c1f0c2e-0000-4000-8000-00000000beef").await;
    let drift = m.drift("acct").unwrap();
    let flagged: Vec<_> = drift.iter().filter(|d| d.order_session_key == stranger.id).collect();
    assert_eq!(flagged.len(), 1, "{drift:?}");
    assert_eq!(flagged[0].kind, flexdesk_sync::UNKNOWN_ORDER);
    assert!(flagged[0].detail.contains("404"), "{}", flagged[0].detail);

    // Asking for it again would now fail the sync: the next sync does not ask.
    sb.set_faults(Faults { error_rate: 1.0, only_path_suffix: Some(stranger.id.clone()), ..Default::default() });
    sync_account(&c, &mut m, "acct", |_| {}).await.expect("the flagged order is not fetched again");
    sb.set_faults(Faults::default());

    // Once the API lists it, applying it clears the flag.
    sb.upsert_order(stranger.clone());
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(
        !m.drift("acct").unwrap().iter().any(|d| d.order_session_key == stranger.id),
        "the order is known now: {:?}",
        m.drift("acct").unwrap()
    );
}

#[tokio::test]
async fn an_order_flagged_unknown_after_a_passing_404_is_read_again_later_and_follows_the_api() {
    // A pending order the API answered 404 for (it was not there yet, as a replica behind
    // would answer), which FlexFactor then completed: it is never in the listing of
    // non-final orders again.
    let FlaggedUnknown { sb, _dir, c, mut m, order: late } =
        flagged_unknown("5c1f0c2e-0000-4000-8000-0000000010e5").await;
    assert!(m.drift("acct").unwrap().iter().any(|d| d.order_session_key == late.id), "flagged");
    let mut completed = late.clone();
    completed.status = Some(7);
    completed.modified_on = completed.modified_on.map(|t| t + chrono::Duration::hours(1));
    sb.upsert_order(completed.clone());

    // Within the pause it is not asked for again.
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(!m.order("acct", &late.id).unwrap().unwrap().state.is_final());
    // Once the pause has passed, it is read, follows the API and the flag clears.
    let long_ago = Utc::now() - UNKNOWN_RECHECK_EVERY - chrono::Duration::minutes(1);
    m.set_cursor("acct", UNKNOWN_RECHECKED_CURSOR, &long_ago.to_rfc3339()).unwrap();
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert_eq!(m.order("acct", &late.id).unwrap().unwrap().state, OrderRecord::from_wire(&completed).state);
    assert!(!m.drift("acct").unwrap().iter().any(|d| d.order_session_key == late.id), "{:?}", m.drift("acct").unwrap());
}

#[tokio::test]
async fn any_read_of_an_order_from_the_api_clears_its_unknown_flag() {
    let FlaggedUnknown { sb, _dir, c, mut m, order: late } =
        flagged_unknown("5c1f0c2e-0000-4000-8000-0000000010e6").await;
    assert!(m.drift("acct").unwrap().iter().any(|d| d.order_session_key == late.id));
    // Its webhook's re-read (or a user's action) reads it from the API: the same copy, no
    // change to apply, and the API knows it.
    sb.upsert_order(late.clone());
    let read = c.get_order(&late.id).await.unwrap();
    m.apply_orders("acct", std::slice::from_ref(&read), None).unwrap();
    assert!(!m.drift("acct").unwrap().iter().any(|d| d.order_session_key == late.id), "{:?}", m.drift("acct").unwrap());
}

#[tokio::test]
async fn a_full_resync_requested_during_a_backfill_that_then_stops_lists_from_page_one() {
    let RefundedElsewhere { sb: _sb, dir: _dir, c, mut m, key, before } = refunded_elsewhere(2_500, 100).await;
    // The request is made while a listing is under way, whose next page's cursor write then
    // overwrites the request's reset (page 2 of 3), and the run stops there.
    request_full_resync(&mut m, "acct", None, "relay cursor too old").unwrap();
    let mut cursor = BackfillCursor::parse(m.cursor("acct", CURSOR_NAME).unwrap().as_deref());
    cursor.next_page = 2;
    m.set_cursor("acct", CURSOR_NAME, &cursor.to_json()).unwrap();

    let mut first_fetched = None;
    let run = sync_account(&c, &mut m, "acct", |p| {
        first_fetched.get_or_insert(p.fetched);
    })
    .await
    .unwrap();
    assert!(run.backfilled);
    assert_eq!(first_fetched, Some(1_000), "the listing starts again at page 1");
    assert_eq!(m.order("acct", &key).unwrap().unwrap().refunded_cents, before + 100, "the refund is found");
    assert_eq!(m.cursor("acct", RESYNC_CURSOR).unwrap(), None, "the request is done");
    let next = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(!next.backfilled, "one request, one full re-listing");
}

#[tokio::test]
async fn an_order_dated_in_the_future_does_not_move_catch_ups_past_orders_not_listed_yet() {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    // The first listing has an order without `createdOn` whose merchant-given placing date
    // is years ahead (a local time sent as UTC, a mistyped year).
    let template = sb.orders_snapshot().into_iter().find(|o| OrderRecord::from_wire(o).state.is_final()).unwrap();
    let mut odd = template.clone();
    odd.id = "5c1f0c2e-0000-4000-8000-0000000f0707".into();
    odd.created_on = None;
    odd.order_placed_date = Some(Utc::now() + chrono::Duration::days(3 * 365));
    sb.upsert_order(odd);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    let watermark = BackfillCursor::parse(m.cursor("acct", CURSOR_NAME).unwrap().as_deref()).watermark.unwrap();
    assert!(watermark < Utc::now() + chrono::Duration::minutes(10), "{watermark}");

    // An order completed right now is still found by the next catch-up.
    let mut fresh = template;
    fresh.id = "5c1f0c2e-0000-4000-8000-0000000f0708".into();
    fresh.created_on = Some(Utc::now());
    sb.upsert_order(fresh.clone());
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(m.order("acct", &fresh.id).unwrap().is_some(), "the new order is mirrored");
}

#[tokio::test]
async fn an_order_a_catch_up_first_sees_already_completed_expects_its_webhook() {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    // Two checkouts approved at once while the dashboard was closed: one's webhook came
    // through the relay, the other's never did.
    let completed = sb
        .orders_snapshot()
        .into_iter()
        .find(|o| OrderRecord::from_wire(o).state == OrderState::Approved && o.refunded_amount.is_none_or(|r| r.0 == 0))
        .expect("the sandbox has a completed order");
    let new_order = |id: &str| {
        let mut o = completed.clone();
        o.id = id.into();
        o.created_on = Some(Utc::now() - chrono::Duration::minutes(3));
        o
    };
    let (heard, silent) =
        (new_order("5c1f0c2e-0000-4000-8000-00000000a001"), new_order("5c1f0c2e-0000-4000-8000-00000000a002"));
    // And one refunded in full at once, whose record has no `refundedAmount`: its
    // `order.refunded` came.
    let mut refunded = new_order("5c1f0c2e-0000-4000-8000-00000000a003");
    refunded.status = Some(6);
    refunded.refunded_amount = None;
    assert_eq!(OrderRecord::from_wire(&refunded).state, OrderState::Refunded);
    for o in [&heard, &silent, &refunded] {
        sb.upsert_order(o.clone());
    }
    let webhook = |event: &str, order: &str| {
        format!(
            r#"{{"Event":"{event}","TimeStamp":"{}","EventData":null,"ExternalOrderId":"X","OrderId":"{order}","ConfirmationId":"A0010001","IsTestMode":true,"IsResent":false}}"#,
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        )
    };
    apply_webhook(&mut m, "acct", &webhook("order.completed", &heard.id), Utc::now(), None).unwrap();
    apply_webhook(&mut m, "acct", &webhook("order.refunded", &refunded.id), Utc::now(), None).unwrap();

    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(m.order("acct", &silent.id).unwrap().is_some());
    let grace_over = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", grace_over, true).unwrap(), 1, "only the silent one");
    let missing: Vec<String> = m
        .drift("acct")
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == flexdesk_sync::MISSING_WEBHOOK)
        .map(|d| d.order_session_key)
        .collect();
    assert_eq!(missing, [silent.id]);
}

#[tokio::test]
async fn a_watermark_an_older_build_stored_in_the_future_is_taken_as_now() {
    let sb = sandbox(200).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    let mut cursor = BackfillCursor::parse(m.cursor("acct", CURSOR_NAME).unwrap().as_deref());
    cursor.watermark = Some(Utc::now() + chrono::Duration::days(3 * 365));
    m.set_cursor("acct", CURSOR_NAME, &cursor.to_json()).unwrap();

    let template = sb.orders_snapshot().into_iter().find(|o| OrderRecord::from_wire(o).state.is_final()).unwrap();
    let mut fresh = template;
    fresh.id = "5c1f0c2e-0000-4000-8000-0000000f0709".into();
    fresh.created_on = Some(Utc::now());
    sb.upsert_order(fresh.clone());
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(m.order("acct", &fresh.id).unwrap().is_some(), "the new order is mirrored");
}

/// Two pending rebills (MIT), which can be cancelled.
fn two_pending_rebills(sb: &Sandbox) -> (flexfactor_wire::WireOrder, flexfactor_wire::WireOrder) {
    let mut rebills = sb
        .orders_snapshot()
        .into_iter()
        .filter(|o| o.is_mit == Some(true) && OrderRecord::from_wire(o).state == OrderState::Pending);
    let first = rebills.next().expect("the sandbox has a pending rebill");
    (first, rebills.next().expect("the sandbox has two pending rebills"))
}

#[tokio::test]
async fn an_order_the_api_refuses_to_show_is_skipped_and_the_other_pending_orders_are_still_re_checked() {
    let sb = sandbox(300).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    // Both are cancelled elsewhere (their webhooks never came), so the re-check reads each
    // by itself; the API refuses to show one of them.
    let (refused, cancelled) = two_pending_rebills(&sb);
    c.cancel(&cancelled.id, None).await.unwrap();
    c.cancel(&refused.id, None).await.unwrap();
    sb.set_faults(Faults { forbidden_rate: 1.0, only_path_suffix: Some(refused.id.clone()), ..Default::default() });

    let report = sync_account(&c, &mut m, "acct", |_| {}).await.expect("one refused order does not fail the sync");
    assert_eq!(report.recheck_failed, 1, "{report:?}");
    assert!(m.order("acct", &cancelled.id).unwrap().unwrap().state.is_final(), "the cancellation was read");
    let kept = m.order("acct", &refused.id).unwrap().unwrap();
    assert_eq!(kept, OrderRecord::from_wire(&refused), "the refused order is left as it was");

    // Once the API shows it again, it is re-checked like the others.
    sb.set_faults(Faults::default());
    let report = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert_eq!(report.recheck_failed, 0, "{report:?}");
    assert!(m.order("acct", &refused.id).unwrap().unwrap().state.is_final());
}

#[tokio::test]
async fn a_requested_full_resync_is_done_once_its_listing_is_even_if_the_re_check_then_fails() {
    let sb = sandbox(300).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    // The mirror also holds a pending order the API's listing does not have, which the
    // re-check then reads by itself: that read fails with server errors.
    let (pending, _) = two_pending_rebills(&sb);
    let mut troubled = pending.clone();
    troubled.id = "5c1f0c2e-0000-4000-8000-00000000cafe".into();
    m.apply_orders("acct", std::slice::from_ref(&troubled), None).unwrap();
    request_full_resync(&mut m, "acct", None, "test").unwrap();
    sb.set_faults(Faults { error_rate: 1.0, only_path_suffix: Some(troubled.id.clone()), ..Default::default() });
    let err = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 50"), "{err}");
    assert_eq!(m.cursor("acct", RESYNC_CURSOR).unwrap(), None, "the full listing was done");

    sb.set_faults(Faults::default());
    let next = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert!(!next.backfilled, "the next run catches up instead of listing everything again");
}

#[tokio::test]
async fn orders_the_api_always_refuses_are_re_read_last_so_the_others_are_still_re_checked() {
    let sb = sandbox(300).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client(&sb, SECRET);
    let mut m = mirror(&dir);
    sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    // Five pending orders older than any other, which the API refuses to show, and one
    // cancelled elsewhere (its webhook never came), which the re-check reads by itself.
    let (pending, cancelled) = two_pending_rebills(&sb);
    c.cancel(&cancelled.id, None).await.unwrap();
    const REFUSED_SUFFIX: &str = "-4000-8000-00000c0ffee0";
    let refused: Vec<String> = (0..5).map(|n| format!("5c1f0c2e-000{n}{REFUSED_SUFFIX}")).collect();
    let add_old_orders = |m: &mut Mirror, keys: &[String], year: i32| {
        for (n, key) in keys.iter().enumerate() {
            let mut old = pending.clone();
            old.id = key.clone();
            old.created_on = Some(Utc.with_ymd_and_hms(year, 1, 1, 0, n as u32, 0).unwrap());
            m.apply_orders("acct", std::slice::from_ref(&old), None).unwrap();
        }
    };
    add_old_orders(&mut m, &refused, 2020);
    sb.set_faults(Faults { forbidden_rate: 1.0, only_path_suffix: Some(REFUSED_SUFFIX.into()), ..Default::default() });

    // Five refusals in a row, none read before: the API may refuse every order, so the run
    // stops and says so.
    let err = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(flexdesk_sync::refused_orders(&m, "acct").unwrap(), refused, "the refused orders are remembered");

    // The next run reads them after the others: the cancellation is read, and their
    // refusals, already known, do not stop the run.
    let report = sync_account(&c, &mut m, "acct", |_| {}).await.expect("known refusals do not fail the sync");
    assert_eq!(report.recheck_failed, 5, "{report:?}");
    assert!(m.order("acct", &cancelled.id).unwrap().unwrap().state.is_final(), "the cancellation was read");
    assert_eq!(flexdesk_sync::refused_orders(&m, "acct").unwrap(), refused);

    // Five more, refused too (newer, so read before the known ones): the run stops on them,
    // and the known ones it never reached stay listed.
    let more: Vec<String> = (0..5).map(|n| format!("5c1f0c2e-001{n}-4100-8000-00000c0ffee0")).collect();
    add_old_orders(&mut m, &more, 2021);
    sb.set_faults(Faults {
        forbidden_rate: 1.0,
        only_path_suffix: Some("-8000-00000c0ffee0".into()),
        ..Default::default()
    });
    let err = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let both: Vec<String> = more.iter().chain(&refused).cloned().collect();
    assert_eq!(flexdesk_sync::refused_orders(&m, "acct").unwrap(), both);
    // With nothing else to read, no read succeeds: known refusals then count, and the run
    // still stops (the list never grows into an excuse for an API that refuses everything).
    let err = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(flexdesk_sync::refused_orders(&m, "acct").unwrap().len(), 10);

    // Once the API answers for them (here: it does not know them), they are no longer
    // counted as refused.
    sb.set_faults(Faults::default());
    let report = sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    assert_eq!(report.recheck_failed, 0, "{report:?}");
    assert!(flexdesk_sync::refused_orders(&m, "acct").unwrap().is_empty());
    assert_eq!(m.cursor("acct", flexdesk_sync::RECHECK_REFUSED_CURSOR).unwrap(), None, "the list is removed");
}
