#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderFilter, OrderState};
use flexfactor_wire::{Cents, WireOrder};

fn account() -> Account {
    Account {
        id: "acct".into(),
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

fn order(i: u32, status: i32, decision: &str) -> WireOrder {
    WireOrder {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        external_order_id: Some(format!("WEB-{i:06}")),
        status: Some(status),
        decision: Some(decision.into()),
        is_mit: Some(i.is_multiple_of(2)),
        amount: Some(Cents(1000 + i as i64)),
        captured_amount: Some(Cents(if status == 7 { 1000 + i as i64 } else { 0 })),
        refunded_amount: Some(Cents(0)),
        currency_code: Some("USD".into()),
        email: Some(format!("buyer{i}@example.test")),
        first_name: Some("Ada".into()),
        last_name: Some(format!("Lovelace{i}")),
        card_last4: Some(format!("{:04}", i % 10000)),
        created_on: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i as i64)),
        modified_on: Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()),
        ..Default::default()
    }
}

fn mirror_with(orders: &[WireOrder]) -> Mirror {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    m.apply_orders("acct", orders, None).unwrap();
    m
}

#[test]
fn applying_the_same_page_twice_changes_nothing_the_second_time() {
    let orders: Vec<_> = (0..50).map(|i| order(i, 7, "APPROVED")).collect();
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    let first = m.apply_orders("acct", &orders, Some(("backfill", "page-1"))).unwrap();
    assert_eq!(first.inserted, 50);
    let second = m.apply_orders("acct", &orders, None).unwrap();
    assert_eq!((second.inserted, second.updated, second.unchanged), (0, 0, 50));
    assert_eq!(m.order_count("acct").unwrap(), 50);
    assert_eq!(m.cursor("acct", "backfill").unwrap().as_deref(), Some("page-1"));
}

#[test]
fn a_stale_version_of_an_order_never_overwrites_a_newer_one() {
    let mut m = mirror_with(&[]);
    let mut newer = order(1, 6, "APPROVED");
    newer.modified_on = Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap());
    newer.refunded_amount = Some(Cents(1001));
    newer.captured_amount = Some(Cents(1001));
    m.apply_orders("acct", &[newer], None).unwrap();
    let stale = order(1, 4, "SUBMITTED");
    let stats = m.apply_orders("acct", &[stale], None).unwrap();
    assert_eq!(stats.updated, 0);
    let stored = m.order("acct", &order(1, 0, "").id).unwrap().unwrap();
    assert_eq!(stored.state, OrderState::Refunded);
}

#[test]
fn a_copy_without_modified_on_never_moves_an_order_back_but_may_move_it_on() {
    let mut m = mirror_with(&[order(1, 7, "APPROVED")]);
    let key = order(1, 0, "").id;
    // No time to order it by, and an earlier state: kept out.
    let undated_stale = WireOrder { modified_on: None, ..order(1, 4, "SUBMITTED") };
    assert_eq!(m.apply_orders("acct", &[undated_stale], None).unwrap().unchanged, 1);
    assert_eq!(m.order("acct", &key).unwrap().unwrap().state, OrderState::Approved);
    // No time, but later in the lifecycle (refunded): applied.
    let undated_refund = WireOrder {
        modified_on: None,
        refunded_amount: Some(Cents(1001)),
        captured_amount: Some(Cents(1001)),
        ..order(1, 6, "APPROVED")
    };
    assert_eq!(m.apply_orders("acct", &[undated_refund], None).unwrap().updated, 1);
    assert_eq!(m.order("acct", &key).unwrap().unwrap().state, OrderState::Refunded);
    // It kept the stored modifiedOn, so an older dated copy still cannot undo the refund.
    let dated_stale =
        WireOrder { modified_on: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()), ..order(1, 7, "APPROVED") };
    assert_eq!(m.apply_orders("acct", &[dated_stale], None).unwrap().unchanged, 1);
    assert_eq!(m.order("acct", &key).unwrap().unwrap().state, OrderState::Refunded);

    // Between states that are not final, an undated copy may move either way (on hold back
    // to processing is a real move).
    m.apply_orders("acct", &[order(2, 1, "SUBMITTED")], None).unwrap();
    let on_hold = m.order("acct", &order(2, 0, "").id).unwrap().unwrap().state;
    assert_eq!(on_hold, OrderState::OnHold);
    let undated_processing = WireOrder { modified_on: None, ..order(2, 4, "SUBMITTED") };
    assert_eq!(m.apply_orders("acct", &[undated_processing], None).unwrap().updated, 1);
    assert_eq!(m.order("acct", &order(2, 0, "").id).unwrap().unwrap().state, OrderState::Pending);
}

#[test]
fn list_filters_by_state_and_pages_newest_first() {
    let mut orders: Vec<_> = (0..30).map(|i| order(i, 7, "APPROVED")).collect();
    orders.extend((30..40).map(|i| order(i, 4, "SUBMITTED")));
    let m = mirror_with(&orders);
    let (total, rows) = m
        .list_orders(
            "acct",
            &OrderFilter { state: Some(OrderState::Pending), offset: 0, limit: 5, ..Default::default() },
        )
        .unwrap();
    assert_eq!(total, 10);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].merchant_order_id.as_deref(), Some("WEB-000039"));
    assert!(rows.iter().all(|r| r.state == OrderState::Pending));
    let (_, tail) = m
        .list_orders(
            "acct",
            &OrderFilter { state: Some(OrderState::Pending), offset: 8, limit: 5, ..Default::default() },
        )
        .unwrap();
    assert_eq!(tail.len(), 2);
}

#[test]
fn search_finds_by_merchant_id_email_flexfactor_id_and_last4() {
    let orders: Vec<_> = (0..200).map(|i| order(i, 7, "APPROVED")).collect();
    let m = mirror_with(&orders);
    let find = |term: &str| {
        m.list_orders("acct", &OrderFilter { search: Some(term.into()), offset: 0, limit: 50, ..Default::default() })
            .unwrap()
    };
    let (n, rows) = find("WEB-000123");
    assert_eq!(n, 1);
    assert_eq!(rows[0].merchant_order_id.as_deref(), Some("WEB-000123"));
    assert_eq!(find("BUYER77@example").0, 1);
    assert_eq!(find("-000000000150").0, 1);
    assert_eq!(find("no-such-thing").0, 0);
    // Short terms use a prefix match.
    assert_eq!(find("WE").0, 200);
}

#[test]
fn every_filter_narrows_the_list_and_the_count_agrees() {
    use flexdesk_mirror::OrderSort;
    let mut orders: Vec<_> = (0..60).map(|i| order(i, 7, "APPROVED")).collect();
    orders.extend((60..80).map(|i| order(i, 2, "DECLINED")));
    let m = mirror_with(&orders);
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let check = |f: OrderFilter, want: u64| {
        let f = OrderFilter { limit: 1000, ..f };
        assert_eq!(m.count_orders("acct", &f).unwrap(), want, "{f:?}");
        assert_eq!(m.order_window("acct", &f).unwrap().len() as u64, want, "{f:?}");
    };
    check(OrderFilter { is_mit: Some(true), ..Default::default() }, 40);
    check(OrderFilter { created_from: Some(base + chrono::Duration::minutes(10)), ..Default::default() }, 70);
    check(
        OrderFilter {
            created_from: Some(base + chrono::Duration::minutes(10)),
            created_to: Some(base + chrono::Duration::minutes(20)),
            ..Default::default()
        },
        10,
    );
    check(OrderFilter { amount_min: Some(1010), amount_max: Some(1019), ..Default::default() }, 10);
    check(OrderFilter { states: vec![OrderState::Approved, OrderState::Declined], ..Default::default() }, 80);
    check(OrderFilter { state: Some(OrderState::Declined), is_mit: Some(false), ..Default::default() }, 10);
    check(OrderFilter { currency: Some("CAD".into()), ..Default::default() }, 0);
    let keys = vec![orders[3].id.clone(), orders[70].id.clone(), "not-an-order".to_string()];
    check(OrderFilter { keys: Some(keys.clone()), ..Default::default() }, 2);
    check(OrderFilter { keys: Some(keys), state: Some(OrderState::Declined), ..Default::default() }, 1);
    check(OrderFilter { keys: Some(Vec::new()), ..Default::default() }, 0);
    // More keys than SQLite takes bound variables.
    let many = (0..40_000).map(|i| format!("gone-{i}")).chain([orders[5].id.clone()]).collect();
    check(OrderFilter { keys: Some(many), ..Default::default() }, 1);
    let by_amount =
        m.order_window("acct", &OrderFilter { sort: OrderSort::AmountDesc, limit: 3, ..Default::default() }).unwrap();
    assert_eq!(by_amount[0].amount_cents, 1079);
    assert!(by_amount.windows(2).all(|w| w[0].amount_cents >= w[1].amount_cents));
}

#[test]
fn the_api_text_of_an_order_reads_back_byte_for_byte_from_its_packed_form() {
    // Keys out of the usual order, spacing, an unknown field and non-ASCII text: the API's
    // own bytes are what the mirror keeps, not a re-serialization.
    let text = r#"{ "externalOrderId":"WEB-9", "id":"00000000-0000-4000-8000-000000000009", "status":7,
        "decision":"APPROVED", "amount":1250, "capturedAmount":1250, "email":"zoë@example.test",
        "createdOn":"2026-01-01T00:09:00Z", "modifiedOn":"2026-01-02T00:00:00Z", "newField":{"x":[1,2]} }"#;
    let wire = WireOrder::from_api_json(text).unwrap();
    let others: Vec<_> = (0..700).map(|i| order(i, 7, "APPROVED")).chain([wire]).collect();
    // Large enough for the helper thread, and a small apply after it.
    let mut m = mirror_with(&others);
    assert_eq!(m.order_json("acct", "00000000-0000-4000-8000-000000000009").unwrap().as_deref(), Some(text));
    let late = r#"{"id":"00000000-0000-4000-8000-000000099999","status":2,"decision":"DECLINED","amount":1}"#;
    m.apply_orders("acct", &[WireOrder::from_api_json(late).unwrap()], None).unwrap();
    assert_eq!(m.order_json("acct", "00000000-0000-4000-8000-000000099999").unwrap().as_deref(), Some(late));
    assert_eq!(m.order_json("acct", "no-such-order").unwrap(), None);
}

#[test]
fn a_record_stored_as_text_before_packing_stays_unchanged_until_its_order_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let o = order(1, 7, "APPROVED");
    let text = serde_json::to_string(&o).unwrap();
    {
        let mut m = Mirror::open(&path).unwrap();
        m.insert_account(&account()).unwrap();
        m.apply_orders("acct", std::slice::from_ref(&o), None).unwrap();
    }
    // As a mirror written before migration 0010 holds it: plain text, no dictionary.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE order_json SET raw_json = ?1, dict_id = NULL", [&text]).unwrap();
    drop(conn);
    let mut m = Mirror::open(&path).unwrap();
    assert_eq!(m.order_json("acct", &o.id).unwrap(), Some(text.clone()));
    let same = m.apply_orders("acct", std::slice::from_ref(&o), None).unwrap();
    assert_eq!((same.updated, same.unchanged), (0, 1), "the same record as text is no change");
    let mut refunded = o.clone();
    refunded.refunded_amount = Some(Cents(100));
    refunded.modified_on = Some(Utc.with_ymd_and_hms(2026, 1, 3, 0, 0, 0).unwrap());
    assert_eq!(m.apply_orders("acct", std::slice::from_ref(&refunded), None).unwrap().updated, 1);
    assert_eq!(m.order_json("acct", &o.id).unwrap(), Some(serde_json::to_string(&refunded).unwrap()));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let packed: bool = conn
        .query_row("SELECT typeof(raw_json) = 'blob' AND dict_id IS NOT NULL FROM order_json", [], |r| r.get(0))
        .unwrap();
    assert!(packed, "a changed record is stored packed");
}

#[test]
fn every_row_of_a_large_apply_holds_its_own_values_where_neighbours_repeat_or_lack_them() {
    // Rows prepared on the helper thread in reused buffers: a value missing in one row must
    // never be taken from the row before it.
    let orders: Vec<WireOrder> = (0..1200u32)
        .map(|i| {
            let mut o = order(i, if i % 3 == 0 { 7 } else { 2 }, if i % 3 == 0 { "APPROVED" } else { "DECLINED" });
            if i % 4 == 1 {
                o.email = None;
                o.external_order_id = None;
                o.first_name = None;
                o.last_name = None;
                o.card_last4 = None;
                o.created_on = None;
            }
            if i % 5 == 2 {
                o.currency_code = Some("EUR".into());
                o.site_id = Some(format!("site-{}", i % 2));
                o.expiry_date = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
                o.status_name = Some("Declined".into());
            }
            o
        })
        .collect();
    let m = mirror_with(&orders);
    for o in &orders {
        let stored = m.order("acct", &o.id).unwrap().unwrap();
        assert_eq!(stored, flexdesk_mirror::OrderRecord::from_wire(o), "order {}", o.id);
    }
}

#[test]
fn a_dictionary_made_from_a_near_empty_first_order_is_replaced_once_a_real_order_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let mut m = Mirror::open(&path).unwrap();
    m.insert_account(&account()).unwrap();
    let bare = r#"{"id":"00000000-0000-4000-8000-00000000b001"}"#;
    m.apply_orders("acct", &[WireOrder::from_api_json(bare).unwrap()], None).unwrap();
    let full = serde_json::to_string(&order(7, 7, "APPROVED")).unwrap();
    for _ in 0..2 {
        m.apply_orders("acct", &[WireOrder::from_api_json(&full).unwrap()], None).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sizes: Vec<i64> = conn
        .prepare("SELECT length(dict) FROM json_dicts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sizes.len(), 2, "one near-empty dictionary, then one real one: {sizes:?}");
    assert!(sizes[0] < 64 && sizes[1] > 200, "{sizes:?}");
    assert_eq!(m.order_json("acct", "00000000-0000-4000-8000-00000000b001").unwrap().as_deref(), Some(bare));
    assert_eq!(m.order_json("acct", &order(7, 7, "APPROVED").id).unwrap(), Some(full));
}

#[test]
fn copies_their_times_cannot_order_never_move_a_final_order_back_whatever_their_arrival_order() {
    let key = order(1, 0, "").id;
    let undated = |status: i32, decision: &str| WireOrder { modified_on: None, ..order(1, status, decision) };
    let state = |m: &Mirror| m.order("acct", &key).unwrap().unwrap().state;
    // Neither has a time: approved, whichever comes second.
    for pair in [[undated(7, "APPROVED"), undated(4, "SUBMITTED")], [undated(4, "SUBMITTED"), undated(7, "APPROVED")]] {
        let mut m = mirror_with(&pair[..1]);
        m.apply_orders("acct", &pair[1..], None).unwrap();
        assert_eq!(state(&m), OrderState::Approved, "{:?} then {:?}", pair[0].status, pair[1].status);
    }
    // The same pending copy listed again after an undated approval kept its time: it
    // changes nothing (applying a record the mirror already had).
    let mut m = mirror_with(&[order(1, 4, "SUBMITTED")]);
    m.apply_orders("acct", &[undated(7, "APPROVED")], None).unwrap();
    assert_eq!(m.apply_orders("acct", &[order(1, 4, "SUBMITTED")], None).unwrap().updated, 0);
    assert_eq!(state(&m), OrderState::Approved);
    // Stored approved without a time, a dated pending copy cannot be ordered after it.
    let mut m = mirror_with(&[undated(7, "APPROVED")]);
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED")], None).unwrap();
    assert_eq!(state(&m), OrderState::Approved);
    // A newer time still orders a copy, even one that moves a final order on.
    let mut refunded = order(1, 6, "APPROVED");
    refunded.modified_on = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    refunded.refunded_amount = Some(Cents(1001));
    m.apply_orders("acct", &[refunded], None).unwrap();
    assert_eq!(state(&m), OrderState::Refunded);
}

#[test]
fn a_refund_of_part_of_an_order_without_its_captured_amount_is_a_partial_refund() {
    let o = WireOrder { captured_amount: None, refunded_amount: Some(Cents(400)), ..order(1, 7, "APPROVED") };
    let m = mirror_with(&[o]);
    assert_eq!(m.order("acct", &order(1, 0, "").id).unwrap().unwrap().state, OrderState::PartiallyRefunded);
}

#[test]
fn a_completed_order_without_its_captured_amount_counts_its_amount_as_captured() {
    let completed = WireOrder { captured_amount: None, ..order(1, 7, "APPROVED") };
    let pending = WireOrder { captured_amount: None, ..order(2, 2, "DECLINED") };
    let amount = completed.amount.unwrap().0;
    // Through the apply (its page path) and through the bulk pipeline (a large apply).
    let many: Vec<_> = (10..1_000).map(|i| WireOrder { captured_amount: None, ..order(i, 7, "APPROVED") }).collect();
    let m = mirror_with(&[completed.clone(), pending.clone()]);
    let mut big = mirror_with(&[]);
    big.apply_orders("acct", &many, None).unwrap();
    let stored = |m: &flexdesk_mirror::Mirror, o: &WireOrder| m.order("acct", &o.id).unwrap().unwrap();
    assert_eq!(stored(&m, &completed).captured_cents, amount);
    assert_eq!(stored(&m, &pending).captured_cents, 0, "nothing is captured on a declined order");
    assert_eq!(stored(&big, &many[500]).captured_cents, many[500].amount.unwrap().0);
    assert_eq!(flexdesk_mirror::OrderRecord::from_wire(&completed).captured_cents, amount);
}

#[test]
fn a_search_in_any_script_answers_without_an_error_and_ignores_case_beyond_ascii() {
    let mut orders: Vec<_> = (0..20).map(|i| order(i, 7, "APPROVED")).collect();
    orders[3].first_name = Some("किरण".into());
    orders[4].first_name = Some("Émile".into());
    orders[5].last_name = Some("Ölund".into());
    orders[6].decline_code = Some("DO_NOT_HONOR".into());
    let mut m = mirror_with(&[]);
    m.apply_orders("acct", &orders, None).unwrap();
    m.index_search().unwrap();
    let find = |term: &str| {
        let filter = OrderFilter { search: Some(term.into()), offset: 0, limit: 50, ..Default::default() };
        let (n, rows) = m.list_orders("acct", &filter).unwrap();
        assert_eq!(m.count_orders("acct", &filter).unwrap(), n, "{term}");
        rows.into_iter().map(|r| r.merchant_order_id.unwrap_or_default()).collect::<Vec<_>>()
    };
    assert_eq!(find("किरण"), ["WEB-000003"]);
    assert_eq!(find("émile"), ["WEB-000004"]);
    assert_eq!(find("ÖLUND"), ["WEB-000005"]);
    assert_eq!(find("Ada Ölund"), ["WEB-000005"]);
    // A term of several words is also looked for whole in the decline code.
    assert_eq!(find("do_not_honor"), ["WEB-000006"]);
}
