#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! Property: after any sequence of API snapshots and webhooks (inserts, updates that move
//! an order between days, currencies, states and expiry days, state hints), with or without
//! a bulk load around them, the chart facts read from the trigger-maintained rollups equal
//! the facts grouped straight from the orders, for ranges that start and end mid-day, at
//! midnight, or not at all, and within a month or across whole months.

use chrono::{DateTime, Duration, TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderState};
use flexdesk_sync::apply_webhook;
use flexfactor_wire::{Cents, WireOrder};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Input {
    Snapshot {
        order: usize,
        status: usize,
        created_hours: Option<i64>,
        placed_back_hours: Option<i64>,
        modified_hours: i64,
        expiry_days: Option<i64>,
        euro: bool,
        mit: bool,
        decline: Option<&'static str>,
        refunded: i64,
    },
    Webhook {
        order: usize,
        event: usize,
        n: u8,
    },
}

const STATUSES: [(i32, &str); 7] = [
    (0, "SUBMITTED"),
    (4, "CHALLENGE"),
    (7, "APPROVED"),
    (6, "APPROVED"),
    (2, "DECLINED"),
    (2, "EXPIRED"),
    (5, "CAPTUREREQUIRED"),
];
const EVENTS: [&str; 5] =
    ["order.completed", "order.cancelled", "order.expired", "order.refunded", "payment.chargeback.received"];

fn order_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()
}

fn input() -> impl Strategy<Value = Input> {
    let snapshot = (
        (
            0..6usize,
            0..STATUSES.len(),
            prop::option::weighted(0.9, prop_oneof![0..(24 * 6i64), 0..(24 * 75i64)]),
            prop::option::of(0..(24 * 9i64)),
        ),
        (0..(24 * 20i64), prop::option::of(-3..20i64), any::<bool>(), any::<bool>()),
        (prop::option::of(prop::sample::select(vec!["05", "51", ""])), 0..3000i64),
    )
        .prop_map(
            |(
                (order, status, created_hours, placed_back_hours),
                (modified_hours, expiry_days, euro, mit),
                (decline, refunded),
            )| Input::Snapshot {
                order,
                status,
                created_hours,
                placed_back_hours,
                modified_hours,
                expiry_days,
                euro,
                mit,
                decline,
                refunded,
            },
        );
    let webhook =
        (0..6usize, 0..EVENTS.len(), any::<u8>()).prop_map(|(order, event, n)| Input::Webhook { order, event, n });
    prop_oneof![3 => snapshot, 1 => webhook]
}

fn apply(m: &mut Mirror, input: &Input) {
    match input {
        Input::Snapshot {
            order,
            status,
            created_hours,
            placed_back_hours,
            modified_hours,
            expiry_days,
            euro,
            mit,
            decline,
            refunded,
        } => {
            let created = created_hours.map(|h| base() + Duration::minutes(h * 60 + 17));
            let (code, decision) = STATUSES[*status];
            let wire = WireOrder {
                id: order_id(*order),
                status: Some(code),
                decision: Some(decision.into()),
                is_mit: Some(*mit),
                amount: Some(Cents(5000 + *order as i64)),
                captured_amount: Some(Cents(if code == 7 || code == 6 { 5000 } else { 0 })),
                refunded_amount: Some(Cents(*refunded)),
                currency_code: Some(if *euro { "EUR" } else { "USD" }.into()),
                decline_code: decline.map(str::to_string),
                created_on: created,
                order_placed_date: match (created, placed_back_hours) {
                    (Some(c), Some(b)) => Some(c - Duration::hours(*b)),
                    _ => None,
                },
                modified_on: Some(base() + Duration::hours(*modified_hours) + Duration::seconds(7)),
                expiry_date: expiry_days.map(|d| base() + Duration::days(d) + Duration::hours(5)),
                ..Default::default()
            };
            m.apply_orders("acct", &[wire], None).unwrap();
        }
        Input::Webhook { order, event, n } => {
            let body = format!(
                r#"{{"Event":"{}","TimeStamp":"2026-10-05T10:00:00.000000Z","OrderId":"{}","ConfirmationId":"C{n}","IsTestMode":true,"IsResent":false}}"#,
                EVENTS[*event],
                order_id(*order)
            );
            apply_webhook(m, "acct", &body, Utc::now(), None).unwrap();
        }
    }
}

fn fresh() -> Mirror {
    let m = Mirror::open_in_memory().unwrap();
    m.insert_account(&Account {
        id: "acct".into(),
        name: "t".into(),
        environment: Environment::Sandbox,
        base_url: "http://x/v1".into(),
        mid: "m".into(),
        app_key: "k".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: Utc::now(),
    })
    .unwrap();
    m
}

const RESCUED: [OrderState; 4] =
    [OrderState::Approved, OrderState::PartiallyRefunded, OrderState::Refunded, OrderState::Chargeback];
const PENDING: [OrderState; 3] = [OrderState::Pending, OrderState::Challenge, OrderState::CaptureRequired];

type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn ranges() -> Vec<Range> {
    let mid_day = base() + Duration::hours(30) + Duration::minutes(17);
    let midnight = base() + Duration::days(2);
    let late = base() + Duration::days(4) + Duration::hours(13);
    vec![
        (None, None),
        (Some(mid_day), None),
        (None, Some(late)),
        (Some(mid_day), Some(late)),
        (Some(midnight), Some(late)),
        (Some(mid_day), Some(midnight + Duration::days(1))),
        (Some(midnight), Some(midnight + Duration::hours(5))),
        (Some(base()), Some(base() + Duration::days(6))),
        // Across months: partial days, days of partial months, and a whole month between.
        (Some(base() + Duration::days(5) + Duration::hours(1)), Some(base() + Duration::days(70) + Duration::hours(2))),
        (Some(base() + Duration::days(10)), Some(base() + Duration::days(50) + Duration::hours(7))),
        (Some(base() + Duration::days(31)), Some(base() + Duration::days(61))),
    ]
}

fn assert_rollups_match(m: &Mirror) {
    for (from, to) in ranges() {
        let fast = m.order_facts("acct", from, to, &RESCUED, &PENDING).unwrap();
        let slow = m.order_facts_from_orders("acct", from, to, &RESCUED, &PENDING).unwrap();
        assert_eq!(fast, slow, "range {from:?} .. {to:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn the_rollups_always_equal_a_recomputation_from_the_orders(
        inputs in prop::collection::vec(input(), 1..40),
        bulk in any::<bool>(),
    ) {
        let mut m = fresh();
        if bulk {
            prop_assert!(m.begin_bulk_load(0).unwrap());
        }
        let half = inputs.len() / 2;
        for i in &inputs[..half] {
            apply(&mut m, i);
        }
        // Mid-way the facts already agree (from the orders themselves while bulk loading).
        assert_rollups_match(&m);
        if bulk {
            m.finish_bulk_load().unwrap();
        }
        for i in &inputs[half..] {
            apply(&mut m, i);
        }
        assert_rollups_match(&m);
        // And the rollups hold no group the orders do not explain.
        let mut rebuilt = fresh();
        for i in &inputs {
            apply(&mut rebuilt, i);
        }
        rebuilt.rebuild_rollups().unwrap();
        prop_assert_eq!(
            m.order_facts("acct", None, None, &RESCUED, &PENDING).unwrap(),
            rebuilt.order_facts("acct", None, None, &RESCUED, &PENDING).unwrap()
        );
    }
}

#[test]
fn the_facts_of_a_range_are_not_empty_when_orders_fall_in_it() {
    // Guards the property against vacuous ranges: the generator's orders do land in them.
    let mut m = fresh();
    let hours = [30, 35, 40, 45, 50, 55, 8 * 24 + 3, 20 * 24 + 3, 35 * 24 + 3, 45 * 24 + 3, 55 * 24 + 3, 65 * 24 + 3];
    for (order, h) in hours.into_iter().enumerate() {
        apply(
            &mut m,
            &Input::Snapshot {
                order,
                status: 2,
                created_hours: Some(h),
                placed_back_hours: Some(30),
                modified_hours: 200,
                expiry_days: Some(4),
                euro: false,
                mit: true,
                decline: None,
                refunded: 0,
            },
        );
    }
    for (from, to) in ranges() {
        let facts = m.order_facts("acct", from, to, &RESCUED, &PENDING).unwrap();
        assert!(!facts.days.is_empty(), "no orders in {from:?} .. {to:?}");
    }
    assert_rollups_match(&m);
}
