mod common;

use std::collections::{BTreeMap, HashSet};

use chrono::Duration;
use common::TestResult;
use flexfactor_sandbox::seed_history;
use flexfactor_wire::{OrderStatus, WireOrder};

/// The fields every seeded order has, unwrapped.
struct Facts {
    status: OrderStatus,
    decision: String,
    is_mit: bool,
    amount: i64,
    captured: i64,
    refunded: i64,
}

fn facts(o: &WireOrder) -> TestResult<Facts> {
    Ok(Facts {
        status: OrderStatus::from(o.status.ok_or("no status")?),
        decision: o.decision.clone().ok_or("no decision")?,
        is_mit: o.is_mit.ok_or("no isMIT")?,
        amount: o.amount.ok_or("no amount")?.0,
        captured: o.captured_amount.ok_or("no capturedAmount")?.0,
        refunded: o.refunded_amount.ok_or("no refundedAmount")?.0,
    })
}

#[test]
fn same_config_gives_the_same_history_and_another_seed_a_different_one() {
    let a = seed_history(&common::config(7, 2_000));
    let b = seed_history(&common::config(7, 2_000));
    let c = seed_history(&common::config(8, 2_000));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a.first().map(|o| &o.id), c.first().map(|o| &o.id));
}

#[test]
fn history_has_exactly_order_count_orders_with_every_status_and_both_kinds() -> TestResult {
    let orders = seed_history(&common::config(1, 20_000));
    assert_eq!(orders.len(), 20_000);
    let mut by_status: BTreeMap<i32, usize> = BTreeMap::new();
    let (mut mit, mut cad) = (0, 0);
    for o in &orders {
        let f = facts(o)?;
        *by_status.entry(f.status.code()).or_default() += 1;
        mit += usize::from(f.is_mit);
        cad += usize::from(o.currency_code.as_deref() == Some("CAD"));
    }
    for code in 0..=7 {
        assert!(by_status.get(&code).is_some_and(|n| *n > 0), "status {code}: {by_status:?}");
    }
    let completed = by_status.get(&7).copied().unwrap_or(0) as f64 / 20_000.0;
    assert!((0.38..0.52).contains(&completed), "completed share {completed}");
    let mit_share = mit as f64 / 20_000.0;
    assert!((0.35..0.45).contains(&mit_share), "MIT share {mit_share}");
    assert!(cad > 0 && cad < 2_000, "CAD orders {cad}");
    Ok(())
}

#[test]
fn tiny_histories_still_show_every_status_and_both_kinds() {
    let orders = seed_history(&common::config(99, 10));
    let codes: HashSet<i32> = orders.iter().filter_map(|o| o.status).collect();
    assert_eq!(codes.len(), 8, "{codes:?}");
    assert!(orders.iter().any(|o| o.is_mit == Some(true)));
    assert!(orders.iter().any(|o| o.is_mit == Some(false)));
}

#[test]
fn external_order_ids_and_ids_are_unique_and_well_formed() -> TestResult {
    let orders = seed_history(&common::config(3, 20_000));
    let mut ext = HashSet::new();
    let mut ids = HashSet::new();
    for o in &orders {
        let e = o.external_order_id.as_deref().ok_or("no externalOrderId")?;
        let prefix = if o.is_mit == Some(true) { "SUB-" } else { "WEB-" };
        assert!(e.starts_with(prefix), "{e}");
        assert!(ext.insert(e), "{e} twice");
        uuid::Uuid::parse_str(&o.id)?;
        assert!(ids.insert(o.id.as_str()), "{} twice", o.id);
    }
    Ok(())
}

#[test]
fn amounts_and_money_follow_the_lifecycle() -> TestResult {
    for o in seed_history(&common::config(4, 20_000)) {
        let f = facts(&o)?;
        assert!((11..=19_999).contains(&f.amount), "{}", f.amount);
        assert_eq!(o.status_name.as_deref(), Some(f.status.name()));
        let decision = f.decision.as_str();
        match f.status {
            OrderStatus::Completed => {
                assert_eq!(f.captured, f.amount);
                assert!(f.refunded < f.amount);
                assert_eq!(decision, "APPROVED");
            }
            OrderStatus::Returned => {
                assert_eq!((f.captured, f.refunded), (f.amount, f.amount));
                assert_eq!(decision, "APPROVED");
            }
            OrderStatus::Cancelled => {
                assert!(["DECLINED", "EXPIRED", "CANCELLED"].contains(&decision), "{decision}");
                assert_eq!((f.captured, f.refunded), (0, 0));
            }
            OrderStatus::Draft => assert!(f.is_mit && decision == "SUBMITTED"),
            OrderStatus::CaptureRequired => assert_eq!(decision, "CAPTUREREQUIRED"),
            OrderStatus::Processing if f.is_mit => assert_eq!(decision, "SUBMITTED"),
            OrderStatus::Processing => assert_eq!(decision, "CHALLENGE"),
            _ => {}
        }
        if matches!(decision, "EXPIRED" | "CANCELLED") {
            assert!(f.is_mit);
        }
    }
    Ok(())
}

#[test]
fn timestamps_stay_in_the_window_and_mit_processing_orders_expire_after_the_anchor() -> TestResult {
    let config = common::config(5, 20_000);
    let anchor = config.anchor;
    let start = anchor - Duration::days(90);
    for o in seed_history(&config) {
        let created = o.created_on.ok_or("no createdOn")?;
        let modified = o.modified_on.ok_or("no modifiedOn")?;
        let placed = o.order_placed_date.ok_or("no orderPlacedDate")?;
        assert!(created >= start && created <= anchor, "{created}");
        assert!(modified >= created && modified <= anchor);
        assert!(placed < created);
        if o.is_mit == Some(true) {
            let expiry = o.expiry_date.ok_or("MIT without expiryDate")?;
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
    Ok(())
}

#[test]
fn recent_days_are_busier_than_old_ones() {
    let config = common::config(6, 20_000);
    let cutoff = config.anchor - Duration::days(45);
    let recent = seed_history(&config).iter().filter(|o| o.created_on.is_some_and(|c| c >= cutoff)).count();
    assert!(recent > 10_500 && recent < 13_000, "{recent} of 20000 in the newer half");
}

#[test]
fn two_hundred_thousand_orders_seed_in_full_with_distinct_ids() {
    // How fast seeding is belongs to the benchmarks (the Demo start-up); here only that a
    // crash-test-sized history comes out whole.
    let orders = seed_history(&common::config(12, 200_000));
    assert_eq!(orders.len(), 200_000);
    let ids: std::collections::HashSet<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids.len(), 200_000);
}
