mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use chrono::Duration;
use flexfactor_sandbox::seed_history;
use flexfactor_wire::OrderStatus;

#[test]
fn same_config_gives_the_same_history_and_another_seed_a_different_one() {
    let a = seed_history(&common::config(7, 2_000));
    let b = seed_history(&common::config(7, 2_000));
    let c = seed_history(&common::config(8, 2_000));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a[0].id, c[0].id);
}

#[test]
fn history_has_exactly_order_count_orders_with_every_status_and_both_kinds() {
    let orders = seed_history(&common::config(1, 20_000));
    assert_eq!(orders.len(), 20_000);
    let mut by_status: BTreeMap<i32, usize> = BTreeMap::new();
    for o in &orders {
        *by_status.entry(o.status.unwrap()).or_default() += 1;
    }
    for code in 0..=7 {
        assert!(by_status.get(&code).copied().unwrap_or(0) > 0, "status {code} missing: {by_status:?}");
    }
    let completed = by_status[&7] as f64 / orders.len() as f64;
    assert!((0.38..0.52).contains(&completed), "completed share {completed}");
    let mit = orders.iter().filter(|o| o.is_mit == Some(true)).count() as f64 / 20_000.0;
    assert!((0.35..0.45).contains(&mit), "MIT share {mit}");
    let cad = orders.iter().filter(|o| o.currency_code.as_deref() == Some("CAD")).count();
    assert!(cad > 0 && cad < 2_000, "CAD orders {cad}");
}

#[test]
fn tiny_histories_still_show_every_status() {
    let orders = seed_history(&common::config(99, 10));
    let codes: HashSet<i32> = orders.iter().filter_map(|o| o.status).collect();
    assert_eq!(codes.len(), 8, "{codes:?}");
    assert!(orders.iter().any(|o| o.is_mit == Some(true)));
    assert!(orders.iter().any(|o| o.is_mit == Some(false)));
}

#[test]
fn external_order_ids_and_ids_are_unique() {
    let orders = seed_history(&common::config(3, 20_000));
    let ext: HashSet<&str> = orders.iter().filter_map(|o| o.external_order_id.as_deref()).collect();
    let ids: HashSet<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ext.len(), orders.len());
    assert_eq!(ids.len(), orders.len());
    for o in &orders {
        let e = o.external_order_id.as_deref().unwrap();
        let prefix = if o.is_mit == Some(true) { "SUB-" } else { "WEB-" };
        assert!(e.starts_with(prefix), "{e}");
        assert!(uuid::Uuid::parse_str(&o.id).is_ok());
    }
}

#[test]
fn amounts_and_money_follow_the_lifecycle() {
    for o in seed_history(&common::config(4, 20_000)) {
        let amount = o.amount.unwrap().0;
        assert!((11..=19_999).contains(&amount), "{amount}");
        let captured = o.captured_amount.unwrap().0;
        let refunded = o.refunded_amount.unwrap().0;
        let status = OrderStatus::from(o.status.unwrap());
        assert_eq!(o.status_name.as_deref(), Some(status.name()));
        let decision = o.decision.as_deref().unwrap();
        match status {
            OrderStatus::Completed => {
                assert_eq!(captured, amount);
                assert!(refunded < amount);
                assert_eq!(decision, "APPROVED");
            }
            OrderStatus::Returned => {
                assert_eq!((captured, refunded), (amount, amount));
                assert_eq!(decision, "APPROVED");
            }
            OrderStatus::Cancelled => {
                assert!(["DECLINED", "EXPIRED", "CANCELLED"].contains(&decision));
                assert_eq!((captured, refunded), (0, 0));
            }
            OrderStatus::Draft => {
                assert_eq!(decision, "SUBMITTED");
                assert_eq!(o.is_mit, Some(true));
            }
            OrderStatus::CaptureRequired => assert_eq!(decision, "CAPTUREREQUIRED"),
            OrderStatus::Processing if o.is_mit == Some(true) => assert_eq!(decision, "SUBMITTED"),
            OrderStatus::Processing => assert_eq!(decision, "CHALLENGE"),
            _ => {}
        }
        if matches!(decision, "EXPIRED" | "CANCELLED") {
            assert_eq!(o.is_mit, Some(true));
        }
    }
}

#[test]
fn timestamps_stay_in_the_window_and_mit_processing_orders_expire_after_the_anchor() {
    let config = common::config(5, 20_000);
    let anchor = config.anchor;
    let start = anchor - Duration::days(90);
    for o in seed_history(&config) {
        let created = o.created_on.unwrap();
        let modified = o.modified_on.unwrap();
        let placed = o.order_placed_date.unwrap();
        assert!(created >= start && created <= anchor, "{created}");
        assert!(modified >= created && modified <= anchor);
        assert!(placed < created);
        if o.is_mit == Some(true) {
            let expiry = o.expiry_date.unwrap();
            let window = expiry - placed;
            assert!(window >= Duration::days(14) && window <= Duration::days(28));
            if o.status == Some(4) {
                assert!(expiry > anchor, "Processing MIT {} expired at {expiry}", o.id);
            }
            if o.decision.as_deref() == Some("EXPIRED") {
                assert!(expiry <= anchor);
                assert_eq!(modified, expiry);
            }
        } else {
            assert_eq!(o.expiry_date, None);
        }
        if o.status == Some(0) {
            assert!(anchor - created < Duration::days(2));
        }
    }
}

#[test]
fn recent_days_are_busier_than_old_ones() {
    let config = common::config(6, 20_000);
    let cutoff = config.anchor - Duration::days(45);
    let recent = seed_history(&config).iter().filter(|o| o.created_on.unwrap() >= cutoff).count();
    assert!(recent > 10_500 && recent < 13_000, "{recent} of 20000 in the newer half");
}

#[test]
fn seeding_twenty_thousand_orders_is_fast() {
    let started = Instant::now();
    let orders = seed_history(&common::config(11, 20_000));
    let elapsed = started.elapsed();
    assert_eq!(orders.len(), 20_000);
    // Generous for unoptimised test builds on a busy 2-core machine.
    assert!(elapsed.as_millis() < 1_500, "took {elapsed:?}");
}

#[test]
fn seeding_two_hundred_thousand_orders_takes_seconds_not_minutes() {
    let started = Instant::now();
    let orders = seed_history(&common::config(12, 200_000));
    let elapsed = started.elapsed();
    assert_eq!(orders.len(), 200_000);
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
}
