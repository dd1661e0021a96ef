#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! Keyset pages, the search watermark and bulk loading give the same answers as the plain
//! paths they speed up.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderCursor, OrderFilter, OrderRecord, OrderSort, OrderState};
use flexfactor_wire::{Cents, WireOrder};

fn account(id: &str) -> Account {
    Account {
        id: id.into(),
        name: "Test".into(),
        environment: Environment::Sandbox,
        base_url: "http://127.0.0.1:1/v1".into(),
        mid: "mid".into(),
        app_key: "key".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: Utc::now(),
    }
}

/// Orders with ties in every sort key and some without a creation or expiry time.
fn order(i: u32) -> WireOrder {
    let base = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let (status, decision) = [(7, "APPROVED"), (4, "SUBMITTED"), (2, "DECLINED")][i as usize % 3];
    WireOrder {
        id: format!("{:08x}-0000-4000-8000-{:012}", (u64::from(i) * 2_654_435_761) % 0xffff_ffff, i),
        external_order_id: Some(format!("SHOP-{i:05}")),
        status: Some(status),
        decision: Some(decision.into()),
        is_mit: Some(i.is_multiple_of(4)),
        amount: Some(Cents(1000 + i64::from(i % 7) * 100)),
        captured_amount: Some(Cents(if status == 7 { 1000 } else { 0 })),
        refunded_amount: Some(Cents(0)),
        currency_code: Some(if i.is_multiple_of(5) { "EUR" } else { "USD" }.into()),
        email: Some(format!("client.{i}@mail-host.example")),
        first_name: Some("Grace".into()),
        last_name: Some(format!("Hopper{}", i % 13)),
        card_last4: Some(format!("{:04}", 4000 + i % 50)),
        decline_code: (i % 3 == 2).then(|| ["05", "51"][i as usize % 2].to_string()),
        created_on: (!i.is_multiple_of(17)).then(|| base + chrono::Duration::hours(i64::from(i / 3))),
        order_placed_date: (!i.is_multiple_of(17)).then(|| base + chrono::Duration::hours(i64::from(i / 3))),
        modified_on: Some(base + chrono::Duration::days(40) + chrono::Duration::hours(i64::from(i))),
        expiry_date: (i.is_multiple_of(4) && !i.is_multiple_of(8))
            .then(|| base + chrono::Duration::days(i64::from(i % 9))),
        ..Default::default()
    }
}

fn mirror(n: u32) -> Mirror {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account("acct")).unwrap();
    let orders: Vec<_> = (0..n).map(order).collect();
    for chunk in orders.chunks(37) {
        m.apply_orders("acct", chunk, None).unwrap();
    }
    m
}

fn keys(rows: &[OrderRecord]) -> Vec<String> {
    rows.iter().map(|r| r.order_session_key.clone()).collect()
}

fn all_by_keyset(m: &Mirror, base: &OrderFilter, page: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<OrderCursor> = None;
    loop {
        let rows = m.order_window("acct", &OrderFilter { after: after.clone(), limit: page, ..base.clone() }).unwrap();
        out.extend(keys(&rows));
        if (rows.len() as u64) < page {
            return out;
        }
        after = Some(OrderCursor::after(base.sort, rows.last().unwrap()));
    }
}

const SORTS: [OrderSort; 5] =
    [OrderSort::CreatedDesc, OrderSort::CreatedAsc, OrderSort::AmountDesc, OrderSort::AmountAsc, OrderSort::ExpiryAsc];

#[test]
fn keyset_pages_list_exactly_the_rows_of_one_offset_window_in_every_sort() {
    let m = mirror(300);
    for sort in SORTS {
        for state in [None, Some(OrderState::Pending)] {
            let base = OrderFilter { sort, state, ..Default::default() };
            let whole = keys(&m.order_window("acct", &OrderFilter { limit: 1000, ..base.clone() }).unwrap());
            let total = m.count_orders("acct", &base).unwrap();
            assert_eq!(whole.len() as u64, total);
            for page in [1, 7, 100] {
                assert_eq!(all_by_keyset(&m, &base, page), whole, "{sort:?} {state:?} page {page}");
            }
        }
    }
}

/// Which `order(i)` a row is (its FlexFactor id ends with `i`); `mirror` applies them in
/// that order, so it is also the order in which they arrived.
fn arrival(row: &OrderRecord) -> u64 {
    row.order_session_key.rsplit('-').next().unwrap().parse().unwrap()
}

#[test]
fn ties_break_by_arrival_in_the_sorts_direction() {
    let m = mirror(120);
    for (sort, desc) in [(OrderSort::AmountDesc, true), (OrderSort::AmountAsc, false)] {
        let rows = m.order_window("acct", &OrderFilter { sort, limit: 1000, ..Default::default() }).unwrap();
        let mut ties = 0;
        for pair in rows.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.amount_cents == b.amount_cents {
                ties += 1;
                assert_eq!(arrival(a) > arrival(b), desc, "{sort:?}: {} then {}", arrival(a), arrival(b));
            } else {
                assert_eq!(a.amount_cents > b.amount_cents, desc, "{sort:?}");
            }
        }
        // The FlexFactor ids of these orders are not in arrival order: ties sorted by them
        // would fail the check above.
        assert!(ties > 100, "{sort:?}: {ties} ties");
    }
}

fn search(m: &Mirror, term: &str) -> Vec<String> {
    let mut found = keys(
        &m.order_window("acct", &OrderFilter { search: Some(term.into()), limit: 1000, ..Default::default() }).unwrap(),
    );
    let n = m.count_orders("acct", &OrderFilter { search: Some(term.into()), ..Default::default() }).unwrap();
    assert_eq!(found.len() as u64, n, "count and rows disagree for {term:?}");
    found.sort();
    found
}

const TERMS: [&str; 9] =
    ["SHOP-00042", "shop", "client.7@", "mail-host", "hopper1", "4012", "0000-4000", "51", "grace hopper3"];

#[test]
fn search_answers_the_same_before_and_after_the_word_index_catches_up() {
    let mut m = mirror(250);
    let before: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    assert!(before.iter().all(|f| !f.is_empty()), "every term should find something: {before:?}");
    assert_eq!(m.index_search().unwrap(), 250);
    assert_eq!(m.index_search().unwrap(), 0, "nothing left to index");
    let after: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    assert_eq!(before, after);
    // Half indexed, half not.
    let more: Vec<_> = (250..400).map(order).collect();
    m.apply_orders("acct", &more, None).unwrap();
    let mixed: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    m.index_search().unwrap();
    let indexed: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    assert_eq!(mixed, indexed);
}

#[test]
fn an_indexed_order_whose_email_changes_is_found_by_the_new_one_only() {
    let mut m = mirror(40);
    m.index_search().unwrap();
    let mut changed = order(5);
    changed.email = Some("renamed.person@elsewhere.example".into());
    changed.modified_on = changed.modified_on.map(|t| t + chrono::Duration::days(1));
    m.apply_orders("acct", &[changed.clone()], None).unwrap();
    assert_eq!(search(&m, "renamed.person"), vec![changed.id.clone()]);
    assert!(search(&m, "client.5@mail").is_empty());
}

fn schema(m: &Mirror, path: &std::path::Path) -> Vec<(String, String)> {
    let _ = m;
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT name, coalesce(sql, '') FROM sqlite_master ORDER BY name").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_bulk_load_restores_the_schema_and_answers_like_the_row_by_row_path() {
    let dir = tempfile::tempdir().unwrap();
    let orders: Vec<_> = (0..500).map(order).collect();

    let plain_path = dir.path().join("plain.sqlite3");
    let mut plain = Mirror::open(&plain_path).unwrap();
    plain.insert_account(&account("acct")).unwrap();
    for chunk in orders.chunks(50) {
        plain.apply_orders("acct", chunk, None).unwrap();
    }
    plain.index_search().unwrap();

    let bulk_path = dir.path().join("bulk.sqlite3");
    let mut bulk = Mirror::open(&bulk_path).unwrap();
    bulk.insert_account(&account("acct")).unwrap();
    let before = schema(&bulk, &bulk_path);
    assert!(bulk.begin_bulk_load(100).unwrap());
    assert!(bulk.bulk_loading().unwrap());
    assert_ne!(schema(&bulk, &bulk_path), before, "the indexes should be off during the load");
    for chunk in orders.chunks(50) {
        bulk.apply_orders("acct", chunk, None).unwrap();
    }
    // Still right mid-load: lists, search and charts.
    assert_eq!(search(&bulk, "hopper1"), search(&plain, "hopper1"));
    let all = |m: &Mirror| m.order_facts("acct", None, None, &[OrderState::Approved], &[OrderState::Pending]).unwrap();
    assert_eq!(all(&bulk), all(&plain));
    bulk.finish_bulk_load().unwrap();
    assert!(!bulk.bulk_loading().unwrap());
    // The same schema, but for the order key: an index of its own now instead of the table's
    // inline one (so that a load can take it off).
    let key_apart = |schema: Vec<(String, String)>| -> Vec<(String, String)> {
        schema
            .into_iter()
            .filter(|(n, _)| !matches!(n.as_str(), "orders" | "sqlite_autoindex_orders_1" | "orders_by_key"))
            .collect()
    };
    let after = schema(&bulk, &bulk_path);
    assert!(after.iter().any(|(n, sql)| n == "orders_by_key" && sql.starts_with("CREATE UNIQUE INDEX")), "{after:?}");
    assert_eq!(key_apart(after), key_apart(before));
    for sort in SORTS {
        let f = OrderFilter { sort, limit: 1000, ..Default::default() };
        assert_eq!(keys(&bulk.order_window("acct", &f).unwrap()), keys(&plain.order_window("acct", &f).unwrap()));
    }
    for t in TERMS {
        assert_eq!(search(&bulk, t), search(&plain, t), "{t}");
    }
    assert_eq!(all(&bulk), all(&plain));
    // The triggers are back: a later change reaches the rollups.
    let mut refunded = order(3);
    refunded.status = Some(6);
    refunded.refunded_amount = Some(Cents(1000));
    refunded.modified_on = refunded.modified_on.map(|t| t + chrono::Duration::days(3));
    bulk.apply_orders("acct", &[refunded.clone()], None).unwrap();
    plain.apply_orders("acct", &[refunded], None).unwrap();
    assert_eq!(all(&bulk), all(&plain));
}

#[test]
fn a_bulk_load_is_refused_on_a_mirror_that_already_holds_orders() {
    let mut m = mirror(50);
    assert!(!m.begin_bulk_load(10).unwrap());
    assert!(!m.bulk_loading().unwrap());
}

#[test]
fn the_api_json_is_kept_beside_the_row_and_follows_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let mut m = Mirror::open(&path).unwrap();
    m.insert_account(&account("acct")).unwrap();
    m.apply_orders("acct", &(0..3).map(order).collect::<Vec<_>>(), None).unwrap();
    let first = order(1);
    assert_eq!(m.order_json("acct", &first.id).unwrap(), Some(serde_json::to_string(&first).unwrap()));
    let mut newer = first.clone();
    newer.email = Some("new@mail-host.example".into());
    newer.modified_on = newer.modified_on.map(|t| t + chrono::Duration::days(1));
    assert_eq!(m.apply_orders("acct", &[newer.clone()], None).unwrap().updated, 1);
    assert_eq!(m.order_json("acct", &first.id).unwrap(), Some(serde_json::to_string(&newer).unwrap()));
    // The same JSON again is no change.
    assert_eq!(m.apply_orders("acct", &[newer], None).unwrap().unchanged, 1);
    m.delete_account("acct").unwrap();
    assert_eq!(m.order_json("acct", &first.id).unwrap(), None);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = conn.query_row("SELECT COUNT(*) FROM order_json", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the JSON of deleted orders must go with them");
}

#[test]
fn an_order_read_from_the_api_is_stored_with_the_apis_own_text_in_small_and_large_applies() {
    // Small applies write on the caller's thread, large ones prepare rows on a helper thread.
    for n in [3usize, 700] {
        let mut m = Mirror::open_in_memory().unwrap();
        m.insert_account(&account("acct")).unwrap();
        let text = |i: usize| {
            format!(r#"{{ "id": "{}", "status": 7, "riskScore": {i}, "isMIT": false }}"#, order(i as u32).id)
        };
        let orders: Vec<WireOrder> = (0..n).map(|i| WireOrder::from_api_json(&text(i)).unwrap()).collect();
        m.apply_orders("acct", &orders, None).unwrap();
        for i in [0, n - 1] {
            assert_eq!(m.order_json("acct", &orders[i].id).unwrap(), Some(text(i)), "order {i} of {n}");
        }
        // The same text again is no change; a change of a field FlexDesk does not model is one.
        assert_eq!(m.apply_orders("acct", &orders[..1], None).unwrap().unchanged, 1);
        let changed = WireOrder::from_api_json(&text(0).replace(r#""riskScore": 0"#, r#""riskScore": 99"#)).unwrap();
        assert_eq!(m.apply_orders("acct", &[changed], None).unwrap().updated, 1);
        assert!(m.order_json("acct", &orders[0].id).unwrap().unwrap().contains(r#""riskScore": 99"#));
    }
}

/// Rows matching `filter`, counted by walking its windows (the path that reads `orders`).
fn walk_count(m: &Mirror, filter: &OrderFilter) -> u64 {
    let mut n = 0;
    let mut after: Option<OrderCursor> = None;
    loop {
        let page = OrderFilter { after: after.clone(), limit: 500, ..filter.clone() };
        let rows = m.order_window("acct", &page).unwrap();
        n += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() == 500 => after = Some(OrderCursor::after(page.sort, last)),
            _ => return n,
        }
    }
}

#[test]
fn counts_answered_from_the_rollups_equal_the_rows_a_filter_lists() {
    let mut m = mirror(1200);
    m.insert_account(&account("other")).unwrap();
    m.apply_orders("other", &(0..300).map(order).collect::<Vec<_>>(), None).unwrap();
    // Orders move on: states change, so groups lose and gain members.
    let moved: Vec<WireOrder> = (0..1200)
        .step_by(7)
        .map(|i| WireOrder {
            status: Some(6),
            decision: Some("APPROVED".into()),
            modified_on: Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()),
            ..order(i)
        })
        .collect();
    m.apply_orders("acct", &moved, None).unwrap();

    let filters = [
        OrderFilter::default(),
        OrderFilter { state: Some(OrderState::Approved), ..Default::default() },
        OrderFilter { state: Some(OrderState::Refunded), ..Default::default() },
        OrderFilter { states: vec![OrderState::Pending, OrderState::Declined], ..Default::default() },
        OrderFilter { is_mit: Some(true), currency: Some("EUR".into()), ..Default::default() },
        OrderFilter { decline_code: Some("51".into()), ..Default::default() },
        OrderFilter { state: Some(OrderState::Declined), states: vec![OrderState::Approved], ..Default::default() },
    ];
    for f in &filters {
        assert_eq!(m.count_orders("acct", f).unwrap(), walk_count(&m, f), "{f:?}");
    }
    assert_eq!(m.order_count("acct").unwrap(), 1200);
    assert_eq!(m.order_count("other").unwrap(), 300);

    // During a bulk load the rollups are not kept: counts read the orders instead.
    let mut bulk = Mirror::open_in_memory().unwrap();
    bulk.insert_account(&account("acct")).unwrap();
    assert!(bulk.begin_bulk_load(0).unwrap());
    bulk.apply_orders("acct", &(0..400).map(order).collect::<Vec<_>>(), None).unwrap();
    for f in &filters {
        assert_eq!(bulk.count_orders("acct", f).unwrap(), walk_count(&bulk, f), "bulk loading, {f:?}");
    }
    bulk.finish_bulk_load().unwrap();
    for f in &filters {
        assert_eq!(bulk.count_orders("acct", f).unwrap(), walk_count(&bulk, f), "after the bulk load, {f:?}");
    }
}
