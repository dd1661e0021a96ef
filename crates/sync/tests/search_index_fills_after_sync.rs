#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! After a bulk-loaded backfill the word index is filled in steps by `fill_search_index`,
//! leaving nothing past the search mark, and searches find the same orders before and after.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderFilter};
use flexdesk_sync::fill_search_index;
use flexfactor_wire::WireOrder;

fn order(i: u32) -> WireOrder {
    WireOrder {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        external_order_id: Some(format!("SHOP-{i:06}")),
        status: Some(7),
        email: Some(format!("buyer{i}@shop.example")),
        created_on: Some(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i64::from(i))),
        ..Default::default()
    }
}

#[tokio::test]
async fn fill_search_index_indexes_every_order_of_a_bulk_load_in_steps() {
    let mut m = Mirror::open_in_memory().unwrap();
    m.insert_account(&Account {
        id: "acct".into(),
        name: "Test".into(),
        environment: Environment::Sandbox,
        base_url: "http://127.0.0.1:1/v1".into(),
        mid: "mid".into(),
        app_key: "key".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: Utc::now(),
    })
    .unwrap();
    assert!(m.begin_bulk_load(0).unwrap());
    let n = flexdesk_mirror::SEARCH_INDEX_CHUNK as u32 + 1500;
    let orders: Vec<_> = (0..n).map(order).collect();
    for page in orders.chunks(1000) {
        m.apply_orders("acct", page, None).unwrap();
    }
    m.finish_bulk_load().unwrap();
    let find = |m: &Mirror, term: &str| {
        m.count_orders("acct", &OrderFilter { search: Some(term.into()), ..Default::default() }).unwrap()
    };
    let before = (find(&m, "SHOP-020700"), find(&m, "buyer7@shop"));
    assert_eq!(before, (1, 1));
    assert_eq!(m.search_pending().unwrap(), u64::from(n));
    let mut heard = Vec::new();
    assert_eq!(fill_search_index(&mut m, |pending| heard.push(pending)).await.unwrap(), u64::from(n));
    // What the status bar shows: the whole count, then what each step left, then done.
    let chunk = flexdesk_mirror::SEARCH_INDEX_CHUNK;
    assert_eq!(heard, vec![u64::from(n), u64::from(n) - chunk, 0, 0]);
    assert_eq!(m.search_pending().unwrap(), 0);
    assert!(!m.merge_search_step(1).unwrap(), "the fill in steps was merged before it returned");
    assert_eq!((find(&m, "SHOP-020700"), find(&m, "buyer7@shop")), before);
    let mut heard_again = Vec::new();
    assert_eq!(fill_search_index(&mut m, |p| heard_again.push(p)).await.unwrap(), 0, "nothing left");
    assert!(heard_again.is_empty(), "no work, no progress: {heard_again:?}");
}
