#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! The order timeline opens with the evaluate result and records every read from the API
//! that changed the order; a state FlexFactor announces by webhook, seen first by polling,
//! is flagged as drift once its grace period is over if that webhook never came.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderEvent, OrderState};
use flexfactor_wire::{Cents, WireOrder};

fn account() -> Account {
    Account::new("acct", "Test", Environment::Sandbox, "http://127.0.0.1:1/v1", "mid", "key")
}

/// Order `i` as the API reports it at `version` (later versions are newer).
fn order(i: u32, status: i32, decision: &str, version: u32) -> WireOrder {
    WireOrder {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        status: Some(status),
        decision: Some(decision.into()),
        amount: Some(Cents(2500)),
        captured_amount: Some(Cents(if status == 7 { 2500 } else { 0 })),
        refunded_amount: Some(Cents(0)),
        currency_code: Some("USD".into()),
        order_placed_date: Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()),
        created_on: Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 1).unwrap()),
        modified_on: Some(
            Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + chrono::Duration::minutes(version.into()),
        ),
        ..Default::default()
    }
}

fn webhook(i: u32, event: &str, hint: OrderState) -> OrderEvent {
    OrderEvent {
        event_key: format!("webhook:{event}|{i}"),
        order_session_key: order(i, 4, "SUBMITTED", 0).id,
        at: Utc::now(),
        kind: format!("webhook:{event}"),
        summary: event.into(),
        payload: Some("{}".into()),
        state_hint: Some(hint),
    }
}

fn kinds(m: &Mirror, i: u32) -> Vec<String> {
    m.timeline("acct", &order(i, 4, "SUBMITTED", 0).id).unwrap().into_iter().map(|t| t.kind).collect()
}

fn flagged(m: &Mirror) -> Vec<String> {
    let mut keys: Vec<String> = m
        .drift("acct")
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == "missing_webhook")
        .map(|d| d.order_session_key)
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_timeline_opens_with_the_evaluate_result_and_records_only_reads_that_changed_the_order() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED", 1)], None).unwrap();
    let first = m.timeline("acct", &order(1, 4, "SUBMITTED", 0).id).unwrap();
    assert_eq!(first.len(), 1, "a new order has only its evaluate result: {first:?}");
    assert_eq!((first[0].kind.as_str(), first[0].summary.as_str()), ("evaluate", "Answered SUBMITTED"));
    assert_eq!(first[0].at, Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(), "at the time the order was placed");

    // The same record again, and an older one (in another status): nothing changed, nothing
    // recorded.
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED", 1)], None).unwrap();
    m.apply_orders("acct", &[order(1, 1, "SUBMITTED", 0)], None).unwrap();
    assert_eq!(kinds(&m, 1), ["evaluate"]);

    // FlexFactor approved it: one poll entry, saying what changed.
    m.apply_orders("acct", &[order(1, 7, "APPROVED", 2)], None).unwrap();
    let entries = m.timeline("acct", &order(1, 4, "SUBMITTED", 0).id).unwrap();
    assert_eq!(kinds(&m, 1), ["evaluate", "poll"]);
    assert_eq!(entries[0].summary, "Answered SUBMITTED (decision now APPROVED)");
    let poll = &entries[1];
    assert_eq!(poll.summary, "pending → approved, captured 25.00 USD");
    assert_eq!(poll.state_hint, Some(OrderState::Approved));
    assert!(poll.changed_state);
    m.apply_orders("acct", &[order(1, 7, "APPROVED", 2)], None).unwrap();
    assert_eq!(kinds(&m, 1), ["evaluate", "poll"], "re-reading the same record adds nothing");
    // A copy older than the first one seen, read late, says what FlexFactor answered first.
    let oldest = WireOrder {
        modified_on: Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap()),
        ..order(1, 4, "CHALLENGE", 0)
    };
    m.apply_orders("acct", &[oldest], None).unwrap();
    let entries = m.timeline("acct", &order(1, 4, "SUBMITTED", 0).id).unwrap();
    assert_eq!(entries[0].summary, "Answered CHALLENGE (decision now APPROVED)");
}

#[test]
fn a_state_seen_first_by_polling_is_flagged_after_the_grace_period_unless_its_own_webhook_came() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    let pending: Vec<WireOrder> = (1..=4).map(|i| order(i, 4, "SUBMITTED", 0)).collect();
    m.apply_orders("acct", &pending, None).unwrap();
    // Order 1 gets its order.completed webhook. Order 2 only got challenge.presented: a webhook,
    // but not the one announcing approval. Order 3 gets none. Order 4 is declined (FlexFactor
    // sends no webhook for that), so nothing is expected of it.
    m.apply_event("acct", &webhook(1, "order.completed", OrderState::Approved), None).unwrap();
    m.apply_event("acct", &webhook(2, "challenge.presented", OrderState::Challenge), None).unwrap();
    let polled: Vec<WireOrder> = vec![
        order(1, 7, "APPROVED", 1),
        order(2, 7, "APPROVED", 1),
        order(3, 7, "APPROVED", 1),
        order(4, 2, "DECLINED", 1),
    ];
    m.apply_orders("acct", &polled, None).unwrap();
    // One read, four orders changed alike: each gets its own poll entry.
    for i in 1..=4 {
        assert_eq!(kinds(&m, i).iter().filter(|k| *k == "poll").count(), 1, "order {i}: {:?}", kinds(&m, i));
    }

    let grace_start = Utc::now() - chrono::Duration::minutes(5);
    assert_eq!(m.check_webhook_expectations("acct", grace_start, true).unwrap(), 0, "still inside the grace period");
    assert!(flagged(&m).is_empty());

    let later = Utc::now() + chrono::Duration::seconds(1);
    let n = m.check_webhook_expectations("acct", later, true).unwrap();
    assert_eq!(n, 2, "{:?}", m.drift("acct").unwrap());
    assert_eq!(flagged(&m), [order(2, 4, "SUBMITTED", 0).id, order(3, 4, "SUBMITTED", 0).id]);
    let detail = m.drift("acct").unwrap().into_iter().find(|d| d.order_session_key == order(3, 4, "S", 0).id).unwrap();
    assert!(detail.detail.starts_with("polling saw it become approved at 20"), "{}", detail.detail);
    assert!(detail.detail.ends_with(" UTC, but no webhook announcing it arrived"), "{}", detail.detail);
    assert_eq!(m.check_webhook_expectations("acct", later, true).unwrap(), 0, "each change is checked once");

    // Without a relay, changes are settled without flags.
    m.apply_orders("acct", &[order(5, 4, "SUBMITTED", 0)], None).unwrap();
    m.apply_orders("acct", &[order(5, 7, "APPROVED", 1)], None).unwrap();
    assert_eq!(m.check_webhook_expectations("acct", later + chrono::Duration::seconds(1), false).unwrap(), 0);
    assert_eq!(m.check_webhook_expectations("acct", later + chrono::Duration::seconds(1), true).unwrap(), 0);
    assert_eq!(flagged(&m).len(), 2);
}

#[test]
fn each_refund_seen_by_polling_needs_its_own_webhook() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    let refunded = |i: u32, cents: i64, version: u32| WireOrder {
        refunded_amount: Some(Cents(cents)),
        ..order(i, if cents > 0 { 6 } else { 7 }, "APPROVED", version)
    };
    m.apply_orders("acct", &[refunded(1, 0, 1), refunded(2, 0, 1)], None).unwrap();
    // Two partial refunds each, seen by two polls. Order 1 got one order.refunded webhook,
    // order 2 got both.
    m.apply_orders("acct", &[refunded(1, 500, 2), refunded(2, 500, 2)], None).unwrap();
    m.apply_event("acct", &webhook(1, "order.refunded", OrderState::PartiallyRefunded), None).unwrap();
    m.apply_event("acct", &webhook(2, "order.refunded", OrderState::PartiallyRefunded), None).unwrap();
    m.apply_orders("acct", &[refunded(1, 1000, 3), refunded(2, 1000, 3)], None).unwrap();
    let second = OrderEvent {
        event_key: "webhook:order.refunded|2|second".into(),
        ..webhook(2, "order.refunded", OrderState::PartiallyRefunded)
    };
    m.apply_event("acct", &second, None).unwrap();
    for i in [1, 2] {
        let polls = kinds(&m, i).iter().filter(|k| *k == "poll").count();
        assert_eq!(polls, 2, "order {i}: {:?}", kinds(&m, i));
    }

    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", later, true).unwrap(), 1);
    assert_eq!(flagged(&m), [order(1, 4, "SUBMITTED", 0).id], "one webhook cannot answer for two refunds");
}

#[test]
fn only_the_webhook_announcing_the_state_polling_saw_clears_its_missing_webhook_flag() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED", 0)], None).unwrap();
    m.apply_orders("acct", &[order(1, 7, "APPROVED", 1)], None).unwrap();
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", later, true).unwrap(), 1);
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id]);

    // Other webhooks for the order (a refund, a challenge step without a state) leave the
    // flag: the order.completed FlexFactor should have sent is still missing.
    m.apply_event("acct", &webhook(1, "order.refunded", OrderState::PartiallyRefunded), None).unwrap();
    let no_state = OrderEvent { state_hint: None, ..webhook(1, "challenge.attempted", OrderState::Challenge) };
    m.apply_event("acct", &no_state, None).unwrap();
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id]);

    // The late order.completed clears it.
    m.apply_event("acct", &webhook(1, "order.completed", OrderState::Approved), None).unwrap();
    assert!(flagged(&m).is_empty(), "{:?}", m.drift("acct").unwrap());
}

#[test]
fn a_late_webhook_that_cleared_its_flag_does_not_answer_for_a_later_refund_too() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    let refunded = |cents: i64, version: u32| WireOrder {
        refunded_amount: Some(Cents(cents)),
        ..order(1, if cents > 0 { 6 } else { 7 }, "APPROVED", version)
    };
    m.apply_orders("acct", &[refunded(0, 1)], None).unwrap();
    // A first refund seen by polling, its webhook late: flagged, then cleared by it.
    m.apply_orders("acct", &[refunded(500, 2)], None).unwrap();
    let first_check = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", first_check, true).unwrap(), 1);
    m.apply_event("acct", &webhook(1, "order.refunded", OrderState::PartiallyRefunded), None).unwrap();
    assert!(flagged(&m).is_empty());
    // A second refund whose webhook never comes: the first one's does not answer for it.
    m.apply_orders("acct", &[refunded(1000, 3)], None).unwrap();
    let second_check = Utc::now() + chrono::Duration::seconds(2);
    assert_eq!(m.check_webhook_expectations("acct", second_check, true).unwrap(), 1);
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id]);
}

#[test]
fn an_order_missing_two_webhooks_stays_flagged_until_both_came() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    let refunded = |cents: i64, version: u32| WireOrder {
        refunded_amount: Some(Cents(cents)),
        ..order(1, if cents > 0 { 6 } else { 7 }, "APPROVED", version)
    };
    // Polling sees it approved (order.completed missing), then refunded twice (two
    // order.refunded missing), over two checks.
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED", 0)], None).unwrap();
    m.apply_orders("acct", &[refunded(0, 1)], None).unwrap();
    let first_check = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", first_check, true).unwrap(), 1);
    m.apply_orders("acct", &[refunded(500, 2)], None).unwrap();
    m.apply_orders("acct", &[refunded(1000, 3)], None).unwrap();
    let second_check = Utc::now() + chrono::Duration::seconds(2);
    assert_eq!(m.check_webhook_expectations("acct", second_check, true).unwrap(), 1);
    let detail = |m: &Mirror| m.drift("acct").unwrap().into_iter().map(|d| d.detail).collect::<Vec<_>>().join(" | ");
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id]);
    assert!(detail(&m).contains("none of these 3 changes"), "{}", detail(&m));
    assert_eq!(m.drift("acct").unwrap().len(), 1, "one entry per order");

    // The late webhooks arrive one by one: the flag stays until the last.
    let refund = |n: u32| OrderEvent {
        event_key: format!("webhook:order.refunded|1|{n}"),
        ..webhook(1, "order.refunded", OrderState::PartiallyRefunded)
    };
    m.apply_event("acct", &refund(1), None).unwrap();
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id], "the order.completed and a refund are still missing");
    m.apply_event("acct", &refund(2), None).unwrap();
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id], "the order.completed is still missing");
    assert!(detail(&m).contains("approved"), "{}", detail(&m));
    assert!(detail(&m).contains("no webhook announcing it arrived"), "{}", detail(&m));
    // A third refund webhook answers for nothing polling saw: the flag stays.
    m.apply_event("acct", &refund(3), None).unwrap();
    assert_eq!(flagged(&m), [order(1, 4, "S", 0).id]);
    m.apply_event("acct", &webhook(1, "order.completed", OrderState::Approved), None).unwrap();
    assert!(flagged(&m).is_empty(), "{:?}", m.drift("acct").unwrap());
}

#[test]
fn resolving_an_orders_missing_webhooks_lets_a_new_one_be_flagged_afresh() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&account()).unwrap();
    m.apply_orders("acct", &[order(1, 4, "SUBMITTED", 0)], None).unwrap();
    m.apply_orders("acct", &[order(1, 7, "APPROVED", 1)], None).unwrap();
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", later, true).unwrap(), 1);
    m.resolve_drift("acct", &order(1, 4, "S", 0).id, "missing_webhook").unwrap();
    assert!(flagged(&m).is_empty());
    // The approval's webhook no longer counts as missing: a late one changes nothing, and
    // a new missing webhook is listed alone.
    m.apply_event("acct", &webhook(1, "order.completed", OrderState::Approved), None).unwrap();
    assert!(flagged(&m).is_empty());
    let refunded = WireOrder { refunded_amount: Some(Cents(500)), ..order(1, 6, "APPROVED", 2) };
    m.apply_orders("acct", &[refunded], None).unwrap();
    let second = Utc::now() + chrono::Duration::seconds(2);
    assert_eq!(m.check_webhook_expectations("acct", second, true).unwrap(), 1);
    let detail = m.drift("acct").unwrap().remove(0).detail;
    assert!(detail.contains("partially refunded") && !detail.contains("approved"), "{detail}");
}

#[test]
fn new_orders_and_the_webhooks_they_expect_are_stored_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.sqlite3");
    let mut m = Mirror::open(&path).unwrap();
    m.insert_account(&account()).unwrap();
    let approved = order(1, 7, "APPROVED", 0);
    let expected = [(approved.id.as_str(), "approved")];
    // Writing the expectation fails (as on a damaged disk): the order is not stored either,
    // and neither is the cursor, so the page is read and applied again.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER test_fail BEFORE INSERT ON webhook_expectations \
             BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;",
        )
        .unwrap();
    let err = m.apply_orders_expecting("acct", std::slice::from_ref(&approved), Some(("page", "2")), &expected);
    assert!(err.is_err());
    assert_eq!(m.order_count("acct").unwrap(), 0);
    assert_eq!(m.cursor("acct", "page").unwrap(), None);

    other.execute_batch("DROP TRIGGER test_fail").unwrap();
    m.apply_orders_expecting("acct", std::slice::from_ref(&approved), Some(("page", "2")), &expected).unwrap();
    assert_eq!(m.order_count("acct").unwrap(), 1);
    assert_eq!(m.cursor("acct", "page").unwrap().as_deref(), Some("2"));
    // No webhook came: the order is flagged once the grace period is over.
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", later, true).unwrap(), 1);
    assert_eq!(flagged(&m), vec![approved.id]);
}
