#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! Two connections writing the same mirror file at once (the feed's webhook applies beside
//! the sync engine's pages, an operator's action beside both) wait for each other instead
//! of failing: every write transaction that reads first takes the write lock up front.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderEvent, OrderState};
use flexfactor_wire::{Cents, WireOrder};

fn account() -> Account {
    Account::new("acct", "Test", Environment::Sandbox, "http://127.0.0.1:1/v1", "mid", "key")
}

fn order(i: u32) -> WireOrder {
    WireOrder {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        status: Some(4),
        decision: Some("SUBMITTED".into()),
        amount: Some(Cents(1000)),
        created_on: Some(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i64::from(i))),
        ..Default::default()
    }
}

#[test]
fn webhook_events_and_order_pages_applied_at_once_from_two_connections_all_land() {
    const N: u32 = 400;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.sqlite3");
    {
        let mut m = Mirror::open(&path).unwrap();
        m.insert_account(&account()).unwrap();
        m.apply_orders("acct", &(0..N).map(order).collect::<Vec<_>>(), None).unwrap();
    }
    let pages = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut m = Mirror::open(&path).unwrap();
            for round in 0..4 {
                for chunk in (0..N).collect::<Vec<_>>().chunks(20) {
                    let mut orders: Vec<WireOrder> = chunk.iter().map(|&i| order(i)).collect();
                    for o in &mut orders {
                        o.modified_on = Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, round).unwrap());
                    }
                    m.apply_orders("acct", &orders, None).unwrap();
                }
            }
        })
    };
    let mut m = Mirror::open(&path).unwrap();
    for i in 0..N {
        let event = OrderEvent {
            event_key: format!("webhook:{i}"),
            order_session_key: order(i).id,
            at: Utc::now(),
            kind: "webhook:order.completed".into(),
            summary: "Order completed".into(),
            payload: Some("{}".into()),
            state_hint: Some(OrderState::Approved),
        };
        m.apply_event("acct", &event, None).unwrap_or_else(|e| panic!("event {i}: {e}"));
    }
    pages.join().unwrap();
    let approved = m.order_keys_in_states("acct", &[OrderState::Approved]).unwrap();
    assert_eq!(approved.len(), N as usize, "every webhook's state stuck");
}
