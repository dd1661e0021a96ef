#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! While a bulk load has the order-key index off, every writer still stores each order once:
//! orders seen again are updated in place, whichever connection wrote them first, and a
//! delete during the load (which can free an id for reuse) does not confuse the loader.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderCursor, OrderEvent, OrderFilter, OrderSort, OrderState};
use flexfactor_wire::{Cents, WireOrder};

fn account(id: &str) -> Account {
    Account::new(id, "Test", Environment::Sandbox, "http://127.0.0.1:1/v1", "mid", "key")
}

/// Order `i` with a random-looking GUID key, as FlexFactor's are; `version` moves its
/// `modifiedOn` and state on.
fn order(i: u32, version: u32) -> WireOrder {
    let base = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
    let h = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let (status, refunded) = if version == 0 { (7, 0) } else { (6, 500) };
    WireOrder {
        id: format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xfff, i % 4096, i),
        external_order_id: Some(format!("SHOP-{i:06}")),
        status: Some(status),
        decision: Some("APPROVED".into()),
        amount: Some(Cents(1000 + i64::from(i % 90))),
        captured_amount: Some(Cents(1000 + i64::from(i % 90))),
        refunded_amount: Some(Cents(refunded)),
        currency_code: Some("USD".into()),
        email: Some(format!("buyer{i}@example.test")),
        created_on: Some(base + chrono::Duration::minutes(i64::from(i))),
        order_placed_date: Some(base + chrono::Duration::minutes(i64::from(i))),
        modified_on: Some(
            base + chrono::Duration::days(1 + i64::from(version)) + chrono::Duration::minutes(i64::from(i)),
        ),
        ..Default::default()
    }
}

fn orders(range: std::ops::Range<u32>, version: u32) -> Vec<WireOrder> {
    range.map(|i| order(i, version)).collect()
}

/// (order key, copies) of every key stored more than once.
fn copies(path: &std::path::Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT order_session_key, COUNT(*) FROM orders GROUP BY account_id, order_session_key HAVING COUNT(*) > 1",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn key_index_present(path: &std::path::Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'orders_by_key')", [], |r| r.get(0))
        .unwrap()
}

fn open(dir: &std::path::Path) -> (std::path::PathBuf, Mirror) {
    let path = dir.join("m.sqlite3");
    let m = Mirror::open(&path).unwrap();
    m.insert_account(&account("acct")).unwrap();
    (path, m)
}

fn all_keys_newest_first(m: &Mirror) -> Vec<(String, OrderState)> {
    let f = OrderFilter { sort: OrderSort::CreatedDesc, limit: 100_000, ..Default::default() };
    m.order_window("acct", &f).unwrap().into_iter().map(|o| (o.order_session_key, o.state)).collect()
}

#[test]
fn during_a_bulk_load_an_order_seen_again_is_updated_in_place_and_never_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut m) = open(dir.path());
    assert!(m.begin_bulk_load(0).unwrap());
    assert!(!key_index_present(&path), "the key index is off during the load");
    // 600 orders take the pipelined path, the overlap below the small one.
    let first = m.apply_orders("acct", &orders(0..600, 0), None).unwrap();
    assert_eq!(first.inserted, 600);
    // Pages overlap, a later version arrives, and one apply holds the same order twice.
    let mut again = orders(550..650, 1);
    again.push(order(600, 1));
    let second = m.apply_orders("acct", &again, None).unwrap();
    assert_eq!((second.inserted, second.updated, second.unchanged), (50, 50, 1));
    // An older copy changes nothing.
    let stale = m.apply_orders("acct", &orders(560..570, 0), None).unwrap();
    assert_eq!((stale.inserted, stale.updated, stale.unchanged), (0, 0, 10));
    assert_eq!(m.order_count("acct").unwrap(), 650);
    assert!(copies(&path).is_empty());

    m.finish_bulk_load().unwrap();
    assert!(key_index_present(&path));
    // The same history applied with the index on from the start gives the same orders.
    let plain_dir = tempfile::tempdir().unwrap();
    let (_, mut plain) = open(plain_dir.path());
    plain.apply_orders("acct", &orders(0..600, 0), None).unwrap();
    plain.apply_orders("acct", &again, None).unwrap();
    plain.apply_orders("acct", &orders(560..570, 0), None).unwrap();
    assert_eq!(all_keys_newest_first(&m), all_keys_newest_first(&plain));
    let refunded = all_keys_newest_first(&m).iter().filter(|(_, s)| *s == OrderState::PartiallyRefunded).count();
    assert_eq!(refunded, 100, "orders 550..650 moved on");
}

#[test]
fn an_order_another_connection_stores_during_a_bulk_load_is_found_by_the_loader_and_the_other_way_round() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loader) = open(dir.path());
    assert!(loader.begin_bulk_load(0).unwrap());
    loader.apply_orders("acct", &orders(0..100, 0), None).unwrap();
    // The relay feed's connection: an order the backfill has not reached, and a newer
    // version of one it has.
    let mut feed = Mirror::open(&path).unwrap();
    let fed = feed.apply_orders("acct", &[order(500, 0), order(5, 1)], None).unwrap();
    assert_eq!((fed.inserted, fed.updated), (1, 1));
    // The backfill reaches order 500 and passes 5 again with its old copy.
    let page = loader.apply_orders("acct", &orders(450..550, 0), None).unwrap();
    assert_eq!((page.inserted, page.unchanged), (99, 1));
    let old = loader.apply_orders("acct", &[order(5, 0)], None).unwrap();
    assert_eq!(old.unchanged, 1);
    // And the feed sees the loader's newest orders.
    let later = feed.apply_orders("acct", &[order(540, 1)], None).unwrap();
    assert_eq!((later.inserted, later.updated), (0, 1));
    assert!(copies(&path).is_empty());
    loader.finish_bulk_load().unwrap();
    assert_eq!(loader.order_count("acct").unwrap(), 200);
    assert_eq!(loader.order("acct", &order(5, 0).id).unwrap().unwrap().state, OrderState::PartiallyRefunded);
}

#[test]
fn an_id_freed_by_a_delete_during_a_bulk_load_does_not_hide_or_double_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loader) = open(dir.path());
    assert!(loader.begin_bulk_load(0).unwrap());
    loader.apply_orders("acct", &orders(0..50, 0), None).unwrap();
    // Another connection deletes the newest order and stores a new one, which takes the
    // freed id (SQLite reuses the largest id once it is gone).
    let conn = rusqlite::Connection::open(&path).unwrap();
    let freed: i64 = conn.query_row("SELECT MAX(id) FROM orders", [], |r| r.get(0)).unwrap();
    conn.execute("DELETE FROM orders WHERE id = ?1", [freed]).unwrap();
    let mut feed = Mirror::open(&path).unwrap();
    feed.apply_orders("acct", &[order(900, 0)], None).unwrap();
    let reused: i64 = conn.query_row("SELECT MAX(id) FROM orders", [], |r| r.get(0)).unwrap();
    assert_eq!(reused, freed, "the new order took the freed id");
    // The loader knows neither change yet: it must store the deleted order again and find
    // the new one.
    let page = loader.apply_orders("acct", &[order(49, 0), order(900, 1)], None).unwrap();
    assert_eq!((page.inserted, page.updated), (1, 1));
    assert!(copies(&path).is_empty());
    loader.finish_bulk_load().unwrap();
    assert_eq!(loader.order_count("acct").unwrap(), 51);
}

#[test]
fn copies_left_by_a_bulk_load_are_cut_to_the_newest_one_with_the_first_evaluate_result_when_the_key_index_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut m) = open(dir.path());
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &orders(0..20, 0), None).unwrap();
    // A copy written around the key maps (none of FlexDesk's writers does this): the same
    // order with a later state and modification time.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO orders (account_id, order_session_key, merchant_order_id, status_code, decision, state, is_mit,
           amount_cents, captured_cents, refunded_cents, currency, created_at, modified_at, synced_at, api_state)
         SELECT account_id, order_session_key, merchant_order_id, status_code, 'DECLINED', 'refunded', is_mit,
           amount_cents, captured_cents, amount_cents, currency, created_at, '2027-01-01T00:00:00.000Z', synced_at, 'refunded'
         FROM orders WHERE order_session_key = ?1",
        [&order(7, 0).id],
    )
    .unwrap();
    assert_eq!(copies(&path).len(), 1);
    m.finish_bulk_load().unwrap();
    assert!(copies(&path).is_empty());
    assert!(key_index_present(&path));
    assert_eq!(m.order_count("acct").unwrap(), 20);
    assert_eq!(m.order("acct", &order(7, 0).id).unwrap().unwrap().state, OrderState::Refunded, "the newest copy stays");
    // With the evaluate result of the first copy.
    let evaluated = m.timeline("acct", &order(7, 0).id).unwrap().remove(0);
    assert_eq!(evaluated.summary, "Answered APPROVED (decision now DECLINED)");
    assert!(m.quick_check().unwrap());
}

#[test]
fn an_apply_that_fails_during_a_bulk_load_leaves_no_trace_in_its_connections_key_map() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loader) = open(dir.path());
    assert!(loader.begin_bulk_load(0).unwrap());
    loader.apply_orders("acct", &orders(0..50, 0), None).unwrap();
    let mut feed = Mirror::open(&path).unwrap();
    feed.apply_orders("acct", &[order(7, 1)], None).unwrap();
    // The feed's next order fails after its row went in (its JSON is refused), so the
    // transaction rolls back and the id it was given is free again.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER refuse_json BEFORE INSERT ON order_json
         WHEN (SELECT order_session_key FROM orders WHERE id = NEW.order_id) = '{}'
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        order(800, 0).id
    ))
    .unwrap();
    assert!(feed.apply_orders("acct", &[order(800, 0)], None).is_err());
    conn.execute_batch("DROP TRIGGER refuse_json").unwrap();
    // The backfill takes that id for another order, which the feed must then find.
    loader.apply_orders("acct", &orders(50..60, 0), None).unwrap();
    let fed = feed.apply_orders("acct", &[order(50, 1), order(800, 0)], None).unwrap();
    assert_eq!((fed.inserted, fed.updated), (1, 1));
    assert!(copies(&path).is_empty());
    loader.finish_bulk_load().unwrap();
    assert_eq!(loader.order_count("acct").unwrap(), 61);
}

#[test]
fn a_key_map_from_an_earlier_bulk_load_is_not_trusted_in_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loader) = open(dir.path());
    assert!(loader.begin_bulk_load(0).unwrap());
    loader.apply_orders("acct", &orders(0..30, 0), None).unwrap();
    let mut feed = Mirror::open(&path).unwrap();
    feed.apply_orders("acct", &[order(3, 1)], None).unwrap();
    loader.finish_bulk_load().unwrap();
    // Between loads (nothing counts deletes then) the newest order goes and a new one takes
    // its id; the feed applies nothing meanwhile.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let freed: i64 = conn.query_row("SELECT MAX(id) FROM orders", [], |r| r.get(0)).unwrap();
    conn.execute("DELETE FROM orders WHERE id = ?1", [freed]).unwrap();
    loader.apply_orders("acct", &[order(700, 0)], None).unwrap();
    assert!(loader.begin_bulk_load(1000).unwrap());
    let fed = feed.apply_orders("acct", &[order(700, 1)], None).unwrap();
    assert_eq!((fed.inserted, fed.updated), (0, 1));
    assert!(copies(&path).is_empty());
    loader.finish_bulk_load().unwrap();
}

#[test]
fn during_a_bulk_load_list_pages_and_webhook_states_work_without_the_key_index() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut m) = open(dir.path());
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &orders(0..300, 0), None).unwrap();
    // Keyset pages, newest first, list every order once.
    let mut seen = Vec::new();
    let mut f = OrderFilter { sort: OrderSort::CreatedDesc, limit: 70, ..Default::default() };
    loop {
        let page = m.order_window("acct", &f).unwrap();
        let Some(last) = page.last() else { break };
        f.after = Some(OrderCursor::after(f.sort, last));
        seen.extend(page.into_iter().map(|o| o.order_session_key));
    }
    let all: Vec<String> = all_keys_newest_first(&m).into_iter().map(|(k, _)| k).collect();
    assert_eq!(seen, all);
    assert_eq!(seen.len(), 300);
    // A webhook's state moves the order it names, and one for an unknown order is told apart.
    let event = |i: u32| OrderEvent {
        event_key: format!("webhook:order.refunded|{i}"),
        order_session_key: order(i, 0).id,
        at: Utc::now(),
        kind: "webhook:order.refunded".into(),
        summary: "refunded".into(),
        payload: Some("{}".into()),
        state_hint: Some(OrderState::Refunded),
    };
    let known = m.apply_event("acct", &event(12), None).unwrap();
    assert!(known.known_order && known.state_changed);
    let unknown = m.apply_event("acct", &event(9_999), None).unwrap();
    assert!(!unknown.known_order && !unknown.state_changed);
    assert_eq!(m.order("acct", &order(12, 0).id).unwrap().unwrap().state, OrderState::Refunded);
    m.finish_bulk_load().unwrap();
    assert_eq!(m.order("acct", &order(12, 0).id).unwrap().unwrap().state, OrderState::Refunded);
}
