//! A dashboard that fell behind the relay's retention (here: its size cap) is told so through
//! the sync client, moves its cursor past the events the relay dropped and asks the next sync
//! to list every order again from the API, then applies the events the relay still keeps and
//! follows new ones normally. A dashboard's very first read only moves its cursor. A relay
//! whose store was replaced is recognised by its store id even once its new numbers have
//! passed the dashboard's cursor, and an event the dashboard cannot read is kept and skipped.

use chrono::Utc;
use flexdesk_mirror::Mirror;
use flexdesk_relay::{Relay, RelayConfig};
use flexdesk_sync::{
    consume_once, BackfillCursor, FeedClient, CURSOR_NAME, FEED_CURSOR, FEED_STORE_CURSOR, RESYNC_CURSOR,
};
use flexfactor_wire::webhook::{format_date, sign};
use std::time::Duration;

const KEY: &[u8] = b"retention-subscriber-key-0123456789abcdef0123456789abcdef";
const TOKEN: &str = "retention-feed-token-0123456789";
const ACCOUNT: &str = "acct";

async fn deliver(r: &Relay, i: usize, padding: usize) {
    let body = format!(
        r#"{{"Event":"order.completed","TimeStamp":"2026-11-23T10:00:00.000000Z","EventData":{{"pad":"{}"}},"ExternalOrderId":"RET-{i}","OrderId":"00000000-0000-4000-8000-{i:012x}","ConfirmationId":"R{i:08}","IsTestMode":true,"IsResent":false}}"#,
        "p".repeat(padding)
    );
    let h = sign(KEY, &r.local_addr().to_string(), &format!("{i:032x}"), &format_date(Utc::now()), body.as_bytes());
    let mut req = reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(body);
    for (k, v) in h.pairs() {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_dashboard_behind_retention_is_told_to_backfill_and_then_follows_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().join("relay.sqlite3"), KEY.to_vec(), TOKEN);
    config.max_body_bytes = 64 * 1024;
    config.max_db_bytes = Some(512 * 1024);
    let relay = Relay::start(config).await.unwrap();

    let mut m = Mirror::open(&dir.path().join("mirror.sqlite3")).unwrap();
    m.insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Retention", "http://127.0.0.1:1", "mid", "key"))
        .unwrap();
    let feed = FeedClient::new(&relay.base_url(), TOKEN).unwrap();

    // The dashboard reads the first event, then goes offline while 100 large events arrive.
    deliver(&relay, 0, 0).await;
    let first = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert_eq!((first.applied, first.cursor_too_old), (1, false));
    for i in 1..=100 {
        deliver(&relay, i, 16 * 1024).await;
    }
    let report = relay.maintain_now().await.unwrap();
    assert!(report.pruned_by_size > 0, "the size cap dropped nothing: {report:?}");

    let behind = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert!(behind.cursor_too_old, "the dashboard was not told its cursor is too old");
    assert_eq!(behind.applied, 0);
    // The cursor moves to just before the oldest event the relay still keeps ...
    let resumed: i64 = m.cursor(ACCOUNT, FEED_CURSOR).unwrap().unwrap().parse().unwrap();
    assert!(resumed > 1 && resumed < 101, "the cursor did not move past the dropped events: {resumed}");
    // ... and the next sync lists every order again from page 1 (the events in between are gone).
    let backfill = BackfillCursor::parse(m.cursor(ACCOUNT, CURSOR_NAME).unwrap().as_deref());
    assert_eq!((backfill.complete, backfill.next_page), (false, 1));
    assert!(m.cursor(ACCOUNT, RESYNC_CURSOR).unwrap().is_some(), "no full re-listing was asked for");

    // ... and the dashboard then applies those kept events and every new one.
    deliver(&relay, 101, 0).await;
    let next = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert_eq!((next.applied, next.cursor_too_old), (102 - resumed as u64, false));
    assert_eq!(m.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some("102"));

    // A new dashboard (no cursor yet) reading the same relay: its first backfill lists every
    // order anyway, so no second full listing is asked for.
    let mut fresh = Mirror::open(&dir.path().join("fresh.sqlite3")).unwrap();
    fresh
        .insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Fresh", "http://127.0.0.1:1", "mid", "key"))
        .unwrap();
    let first_read = consume_once(&feed, &mut fresh, ACCOUNT, Duration::ZERO).await.unwrap();
    assert!(first_read.cursor_too_old);
    assert_eq!(fresh.cursor(ACCOUNT, RESYNC_CURSOR).unwrap(), None);
    assert_eq!(fresh.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some(resumed.to_string().as_str()));

    // A mirror listed in full before it was ever connected to this relay (the relay was set
    // up later): what the dropped events said about its final orders is in neither, so its
    // first read asks for a full re-listing.
    let mut listed = Mirror::open(&dir.path().join("listed.sqlite3")).unwrap();
    listed
        .insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Listed", "http://127.0.0.1:1", "mid", "key"))
        .unwrap();
    let done = BackfillCursor { complete: true, next_page: 3, watermark: Some(Utc::now()), ..Default::default() };
    listed.set_cursor(ACCOUNT, CURSOR_NAME, &done.to_json()).unwrap();
    let first_read = consume_once(&feed, &mut listed, ACCOUNT, Duration::ZERO).await.unwrap();
    assert!(first_read.cursor_too_old);
    assert!(listed.cursor(ACCOUNT, RESYNC_CURSOR).unwrap().is_some(), "no full re-listing was asked for");
    let backfill = BackfillCursor::parse(listed.cursor(ACCOUNT, CURSOR_NAME).unwrap().as_deref());
    assert_eq!((backfill.complete, backfill.next_page), (false, 1));
    assert_eq!(listed.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some(resumed.to_string().as_str()));
    relay.shutdown().await;
}

fn mirror_listed_in_full(path: &std::path::Path) -> Mirror {
    let m = Mirror::open(path).unwrap();
    m.insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Listed", "http://127.0.0.1:1", "mid", "key")).unwrap();
    let done = BackfillCursor { complete: true, next_page: 3, watermark: Some(Utc::now()), ..Default::default() };
    m.set_cursor(ACCOUNT, CURSOR_NAME, &done.to_json()).unwrap();
    m
}

#[tokio::test]
async fn a_relay_whose_store_was_replaced_is_read_from_its_start_even_once_its_numbers_passed_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(RelayConfig::new(dir.path().join("relay.sqlite3"), KEY.to_vec(), TOKEN)).await.unwrap();
    let addr = relay.local_addr();
    let mut m = mirror_listed_in_full(&dir.path().join("mirror.sqlite3"));
    let feed = FeedClient::new(&relay.base_url(), TOKEN).unwrap();
    for i in 0..3 {
        deliver(&relay, i, 0).await;
    }
    let first = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert_eq!(first.applied, 3);
    let old_store = m.cursor(ACCOUNT, FEED_STORE_CURSOR).unwrap().expect("the relay's store id is kept");

    // The relay is redeployed on the same address without its database, and gets 10 new
    // events while the dashboard is away: its numbers pass the dashboard's cursor (3).
    relay.shutdown().await;
    let mut config = RelayConfig::new(dir.path().join("relay-new.sqlite3"), KEY.to_vec(), TOKEN);
    config.bind = addr;
    let relay = Relay::start(config).await.unwrap();
    let feed = FeedClient::new(&relay.base_url(), TOKEN).unwrap();
    for i in 100..110 {
        deliver(&relay, i, 0).await;
    }
    let changed = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert!(changed.cursor_too_old, "the new store was not noticed: {changed:?}");
    assert_eq!(changed.applied, 0, "events past the old cursor are not applied out of their numbering");
    assert_eq!(m.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some("0"));
    assert_ne!(m.cursor(ACCOUNT, FEED_STORE_CURSOR).unwrap().unwrap(), old_store);
    assert!(m.cursor(ACCOUNT, RESYNC_CURSOR).unwrap().is_some(), "no full re-listing was asked for");
    // Every event of the new store is then applied, the first three included.
    let next = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.unwrap();
    assert_eq!((next.applied, next.cursor_too_old), (10, false));
    assert_eq!(m.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some("10"));
    relay.shutdown().await;
}

#[tokio::test]
async fn a_feed_event_the_dashboard_cannot_read_is_kept_and_skipped_and_holds_nothing_up() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(RelayConfig::new(dir.path().join("relay.sqlite3"), KEY.to_vec(), TOKEN)).await.unwrap();
    let mut m = mirror_listed_in_full(&dir.path().join("mirror.sqlite3"));
    let feed = FeedClient::new(&relay.base_url(), TOKEN).unwrap();
    deliver(&relay, 0, 0).await;
    // An event the relay stored that this dashboard cannot read: written into the relay's
    // store as another version of the relay would have accepted it (this version's relay
    // and dashboard share one parser, so no delivery can produce it).
    const ODD_ORDER: &str = "00000000-0000-4000-8000-0000000000dd";
    let odd = r#"{"Event":"order.completed","TimeStamp":"not a time","OrderId":["a list"]}"#;
    let store = rusqlite::Connection::open(dir.path().join("relay.sqlite3")).unwrap();
    store.busy_timeout(Duration::from_secs(5)).unwrap();
    store
        .execute(
            "INSERT INTO events (dedupe_key, event, order_id, is_resent, received_at, body)
             VALUES ('odd', 'order.completed', ?3, 0, ?1, ?2)",
            rusqlite::params![Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true), odd, ODD_ORDER],
        )
        .unwrap();
    drop(store);
    deliver(&relay, 2, 0).await;

    let report = consume_once(&feed, &mut m, ACCOUNT, Duration::ZERO).await.expect("one odd event fails nothing");
    assert_eq!((report.applied, report.unreadable), (2, 1), "{report:?}");
    assert_eq!(m.cursor(ACCOUNT, FEED_CURSOR).unwrap().as_deref(), Some("3"));
    let kept = m.unreadable_events(ACCOUNT, 10).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].seq, kept[0].body.as_str()), (2, odd));
    assert_eq!(kept[0].order_session_key.as_deref(), Some(ODD_ORDER));
    let queued: Vec<String> =
        m.queued_refreshes(ACCOUNT, 10).unwrap().into_iter().map(|q| q.order_session_key).collect();
    assert!(queued.iter().any(|k| k == ODD_ORDER), "its order is queued to be re-read: {queued:?}");
    assert!(!kept[0].error.is_empty());
    relay.shutdown().await;
}
