#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! A bulk load's rows bring their chart rollups with them (summed in Rust), a change during
//! the load makes the end of the load recompute them, the word index fills in short steps
//! with searches right at every step, and a large apply (prepared on a helper thread) stores
//! exactly what small applies store.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderFilter, OrderState};
use flexfactor_wire::{Cents, WireOrder};

const RESCUED: [OrderState; 4] =
    [OrderState::Approved, OrderState::PartiallyRefunded, OrderState::Refunded, OrderState::Chargeback];
const PENDING: [OrderState; 3] = [OrderState::Pending, OrderState::Challenge, OrderState::CaptureRequired];

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

/// Orders over several days and months, with and without creation, placement and expiry
/// times, refunds, decline codes, two currencies, MIT and not, modified up to weeks later
/// (and a few modified before they were placed).
fn order(i: u32) -> WireOrder {
    let base = Utc.with_ymd_and_hms(2026, 3, 30, 22, 0, 0).unwrap();
    let (status, decision) = [(7, "APPROVED"), (4, "SUBMITTED"), (2, "DECLINED"), (6, "APPROVED")][i as usize % 4];
    let created = base + chrono::Duration::minutes(i64::from(i) * 97);
    WireOrder {
        id: format!("{:08x}-0000-4000-8000-{:012}", (u64::from(i) * 2_654_435_761) % 0xffff_ffff, i),
        external_order_id: Some(format!("SHOP-{i:05}")),
        status: Some(status),
        decision: Some(decision.into()),
        is_mit: Some(i.is_multiple_of(3)),
        amount: Some(Cents(1000 + i64::from(i % 7) * 100)),
        captured_amount: Some(Cents(if status == 7 || status == 6 { 1000 } else { 0 })),
        refunded_amount: Some(Cents(if status == 6 { 400 } else { 0 })),
        currency_code: (!i.is_multiple_of(11)).then(|| if i.is_multiple_of(5) { "EUR" } else { "USD" }.into()),
        email: Some(format!("client.{i}@mail-host.example")),
        first_name: Some("Grace".into()),
        last_name: Some(format!("Hopper{}", i % 13)),
        card_last4: Some(format!("{:04}", 4000 + i % 50)),
        decline_code: (i % 4 == 2).then(|| ["05", "51"][i as usize % 2].to_string()),
        created_on: (!i.is_multiple_of(17)).then_some(created),
        order_placed_date: (!i.is_multiple_of(19)).then(|| created - chrono::Duration::seconds(i64::from(i % 5))),
        modified_on: Some(created + chrono::Duration::milliseconds(i64::from(i) * 7_654_321 - 3_000_000)),
        expiry_date: (i.is_multiple_of(3) && !i.is_multiple_of(6))
            .then(|| created + chrono::Duration::days(i64::from(i % 9)) + chrono::Duration::hours(5)),
        ..Default::default()
    }
}

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, Mirror) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.sqlite3");
    let m = Mirror::open(&path).unwrap();
    m.insert_account(&account("acct")).unwrap();
    (dir, path, m)
}

fn stale_mark(path: &std::path::Path) -> Option<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT value FROM mirror_marks WHERE name = 'rollups_stale'", [], |r| r.get(0)).ok()
}

fn assert_rollups_match(m: &Mirror) {
    let days = |d: u32| Some(Utc.with_ymd_and_hms(2026, 4, d, 13, 30, 0).unwrap());
    for (from, to) in [(None, None), (days(1), days(9)), (days(3), None), (None, days(2))] {
        assert_eq!(
            m.order_facts("acct", from, to, &RESCUED, &PENDING).unwrap(),
            m.order_facts_from_orders("acct", from, to, &RESCUED, &PENDING).unwrap(),
            "range {from:?} .. {to:?}"
        );
    }
}

#[test]
fn rollups_summed_during_a_bulk_load_equal_a_recomputation_and_need_none() {
    let (_dir, path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    let orders: Vec<_> = (0..700).map(order).collect();
    for chunk in orders.chunks(97) {
        m.apply_orders("acct", chunk, None).unwrap();
    }
    // Re-applying identical pages changes nothing and so does not mark anything.
    m.apply_orders("acct", &orders[..50], None).unwrap();
    assert_eq!(stale_mark(&path), None, "inserts alone never ask for a recomputation");
    m.finish_bulk_load().unwrap();
    assert_rollups_match(&m);
    let facts = m.order_facts("acct", None, None, &RESCUED, &PENDING).unwrap();
    m.rebuild_rollups().unwrap();
    assert_eq!(m.order_facts("acct", None, None, &RESCUED, &PENDING).unwrap(), facts);
}

#[test]
fn an_order_updated_during_a_bulk_load_has_the_rollups_recomputed_when_it_finishes() {
    let (_dir, path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    let orders: Vec<_> = (0..300).map(order).collect();
    m.apply_orders("acct", &orders, None).unwrap();
    // A later page brings a newer version: another day, state, currency and expiry.
    let mut moved = order(7);
    moved.created_on = moved.created_on.map(|t| t + chrono::Duration::days(3));
    moved.status = Some(2);
    moved.decision = Some("DECLINED".into());
    moved.currency_code = Some("EUR".into());
    moved.expiry_date = moved.created_on;
    moved.modified_on = moved.modified_on.map(|t| t + chrono::Duration::days(30));
    let stats = m.apply_orders("acct", &[moved], None).unwrap();
    assert_eq!(stats.updated, 1);
    assert_eq!(stale_mark(&path), Some(1), "an update during the load marks the rollups");
    m.finish_bulk_load().unwrap();
    assert_eq!(stale_mark(&path), None, "the mark goes with the recomputation");
    assert_rollups_match(&m);
    // After the load the triggers keep them, as before.
    let mut back = order(7);
    back.modified_on = back.modified_on.map(|t| t + chrono::Duration::days(60));
    m.apply_orders("acct", &[back], None).unwrap();
    assert_rollups_match(&m);
}

#[test]
fn an_account_deleted_during_a_bulk_load_leaves_no_rollups_behind() {
    let (_dir, path, mut m) = fresh();
    m.insert_account(&account("other")).unwrap();
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("other", &(0..40).map(order).collect::<Vec<_>>(), None).unwrap();
    m.apply_orders("acct", &(100..160).map(order).collect::<Vec<_>>(), None).unwrap();
    m.delete_account("other").unwrap();
    assert_eq!(stale_mark(&path), Some(1));
    m.finish_bulk_load().unwrap();
    assert_rollups_match(&m);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let left: i64 =
        conn.query_row("SELECT COUNT(*) FROM rollup_days WHERE account_id = 'other'", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
}

fn search(m: &Mirror, term: &str) -> Vec<String> {
    let rows =
        m.order_window("acct", &OrderFilter { search: Some(term.into()), limit: 5000, ..Default::default() }).unwrap();
    let mut keys: Vec<String> = rows.into_iter().map(|r| r.order_session_key).collect();
    keys.sort();
    keys
}

const TERMS: [&str; 6] = ["SHOP-00042", "client.7@", "mail-host", "hopper1", "4012", "grace hopper3"];

#[test]
fn the_word_index_fills_in_steps_and_every_step_answers_searches_alike() {
    let (_dir, _path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &(0..450).map(order).collect::<Vec<_>>(), None).unwrap();
    m.finish_bulk_load().unwrap();
    let expected: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    assert!(expected.iter().all(|f| !f.is_empty()));
    assert_eq!(m.search_pending().unwrap(), 450);
    let mut steps = 0;
    loop {
        let n = m.index_search_step(100).unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= 100);
        steps += 1;
        assert_eq!(TERMS.iter().map(|t| search(&m, t)).collect::<Vec<_>>(), expected, "after step {steps}");
    }
    assert_eq!(steps, 5);
    assert_eq!(m.search_pending().unwrap(), 0);
}

/// The word index's `automerge` and `crisismerge` settings and its number of segments.
fn word_index_shape(path: &std::path::Path) -> (Option<i64>, Option<i64>, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let setting = |k: &str| conn.query_row("SELECT v FROM orders_search_config WHERE k = ?1", [k], |r| r.get(0)).ok();
    let segments = conn.query_row("SELECT count(DISTINCT segid) FROM orders_search_idx", [], |r| r.get(0)).unwrap();
    (setting("automerge"), setting("crisismerge"), segments)
}

#[test]
fn a_fill_in_steps_defers_merging_then_merges_in_steps_and_restores_the_merge_settings() {
    let (_dir, path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &(0..450).map(order).collect::<Vec<_>>(), None).unwrap();
    m.finish_bulk_load().unwrap();
    let expected: Vec<Vec<String>> = TERMS.iter().map(|t| search(&m, t)).collect();
    assert!(!m.merge_search_step(5).unwrap(), "nothing to merge before a fill");

    while m.index_search_step(30).unwrap() > 0 {}
    let (automerge, crisismerge, segments) = word_index_shape(&path);
    assert_eq!((automerge, crisismerge), (Some(0), Some(64)), "merging off while the fill ran");
    assert!(segments >= 15, "one segment per step, none merged: {segments}");

    let mut steps = 0;
    while m.merge_search_step(1).unwrap() {
        steps += 1;
        assert_eq!(TERMS.iter().map(|t| search(&m, t)).collect::<Vec<_>>(), expected, "after merge step {steps}");
        assert!(steps < 10_000, "merging never ends");
    }
    assert!(steps > 1, "a page at a time takes several steps: {steps}");
    assert_eq!(word_index_shape(&path), (Some(4), Some(16), 1), "one segment, FTS5's default settings");
    assert!(!m.merge_search_step(5).unwrap(), "done");

    // A later small fill (one step) keeps FTS5's own merging.
    m.apply_orders("acct", &(450..460).map(order).collect::<Vec<_>>(), None).unwrap();
    assert_eq!(m.index_search_step(30).unwrap(), 10);
    assert_eq!(word_index_shape(&path).0, Some(4));
    assert!(!m.merge_search_step(5).unwrap());
    assert_eq!(search(&m, "SHOP-00455"), vec![order(455).id]);
}

#[test]
fn a_fill_in_one_step_leaves_the_merge_settings_alone() {
    let (_dir, path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &(0..120).map(order).collect::<Vec<_>>(), None).unwrap();
    m.finish_bulk_load().unwrap();
    assert_eq!(m.index_search().unwrap(), 120);
    let (automerge, crisismerge, _) = word_index_shape(&path);
    assert_ne!(automerge, Some(0));
    assert_ne!(crisismerge, Some(64));
    assert!(!m.merge_search_step(5).unwrap());
}

#[test]
fn orders_bulk_loaded_after_their_account_was_deleted_and_re_added_stay_searchable() {
    // The word index's insert trigger is off during a bulk load; new rows must land past the
    // search mark even when deletions left the mark above the largest id.
    let (_dir, _path, mut m) = fresh();
    m.apply_orders("acct", &(0..200).map(order).collect::<Vec<_>>(), None).unwrap();
    m.index_search().unwrap();
    m.delete_account("acct").unwrap();
    m.insert_account(&account("acct")).unwrap();
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &(0..60).map(order).collect::<Vec<_>>(), None).unwrap();
    let key = order(42).id;
    assert_eq!(search(&m, "SHOP-00042"), vec![key.clone()], "while bulk loading");
    m.finish_bulk_load().unwrap();
    assert_eq!(search(&m, "SHOP-00042"), vec![key.clone()], "after the load");
    while m.index_search_step(25).unwrap() > 0 {}
    assert_eq!(search(&m, "SHOP-00042"), vec![key], "after indexing");
}

#[test]
fn a_large_apply_prepared_on_a_helper_thread_stores_what_small_applies_store() {
    let orders: Vec<_> = (0..1500).map(order).collect();
    let (_d1, p1, mut large) = fresh();
    assert_eq!(large.apply_orders("acct", &orders, None).unwrap().inserted, 1500);
    let (_d2, p2, mut small) = fresh();
    for chunk in orders.chunks(40) {
        small.apply_orders("acct", chunk, None).unwrap();
    }
    let dump = |path: &std::path::Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT o.order_session_key || '|' || coalesce(o.merchant_order_id, '') || '|' || o.state || '|' ||
                        coalesce(o.created_at, '') || '|' || coalesce(o.placed_at, '') || '|' || coalesce(o.modified_at, '')
                        || '|' || coalesce(o.expiry_at, '') || '|' || coalesce(o.customer_name, '') || '|' || o.currency
                        || '|' || o.amount_cents || '|' || hex(j.raw_json) || '|' || coalesce(j.dict_id, 'text')
                 FROM orders o JOIN order_json j ON j.order_id = o.id ORDER BY o.id",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(dump(&p1), dump(&p2));
    assert_eq!(large.order_json("acct", &orders[3].id).unwrap(), Some(serde_json::to_string(&orders[3]).unwrap()));
    // Applying the same large batch again inserts nothing and changes nothing.
    let again = large.apply_orders("acct", &orders, None).unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 1500));
}

#[test]
fn a_bulk_load_begun_before_rollups_were_summed_recomputes_them_when_it_finishes() {
    // A load interrupted under the previous version: its rows have no rollups and it has no
    // marking triggers. Resuming it must not trust the (empty) rollup tables.
    let (_dir, path, mut m) = fresh();
    assert!(m.begin_bulk_load(0).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP TRIGGER orders_bulk_stale_au; DROP TRIGGER orders_bulk_stale_ad;").unwrap();
    }
    m.apply_orders("acct", &(0..120).map(order).collect::<Vec<_>>(), None).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DELETE FROM rollup_days; DELETE FROM rollup_rescue; DELETE FROM rollup_rescue_month;
             DELETE FROM rollup_expiry; DELETE FROM mirror_marks WHERE name = 'rollups_stale';",
        )
        .unwrap();
    }
    drop(m);
    let mut m = Mirror::open(&path).unwrap();
    assert!(m.begin_bulk_load(0).unwrap(), "the interrupted load resumes");
    assert_eq!(stale_mark(&path), Some(1));
    m.apply_orders("acct", &(120..200).map(order).collect::<Vec<_>>(), None).unwrap();
    m.finish_bulk_load().unwrap();
    assert_rollups_match(&m);
}

#[test]
fn a_bulk_load_copies_committed_pages_into_the_database_beside_the_writer() {
    // The writer's own auto-checkpoint is off during the load: without the checkpointer
    // thread the rows would stay in the WAL and the database file would not grow.
    let (_dir, path, mut m) = fresh();
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = size(&path);
    assert!(m.begin_bulk_load(0).unwrap());
    m.apply_orders("acct", &(0..3000).map(order).collect::<Vec<_>>(), None).unwrap();
    let wal = path.with_extension("sqlite3-wal");
    assert!(size(&wal) > 2_000_000, "the rows went to the WAL first");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size(&path) < before + 2_000_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(size(&path) >= before + 2_000_000, "checkpointed while the load is open: {} bytes", size(&path));
    m.finish_bulk_load().unwrap();
    m.apply_orders("acct", &[order(5000)], None).unwrap();
    assert_rollups_match(&m);
    assert!(m.quick_check().unwrap());
}
