#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary fails loudly

//! Mirror benchmarks (DESIGN.md §8): apply N orders into an empty mirror vs a bare rusqlite
//! insert of the same rows; list-page and search latency percentiles over the result.
//!
//! Both loads run the way the sync engine's first backfill does: `begin_bulk_load`, the rows
//! in 10,000-order transactions, then `finish_bulk_load` (indexes built sorted). Apply's
//! rows bring their chart rollups with them (summed in Rust, same transaction); the bare
//! insert writes no rollups at all (a floor, not a handicap). Neither fills the word index:
//! the sync engine does that page by page during a real backfill, between its requests (which
//! this benchmark does not make), and the app fills what is left afterwards in chunks
//! (`index_search_step`). That fill is timed separately here, after the apply, as if nothing
//! had been indexed, with the search latency both before and after it.
//!
//! Run: `cargo bench -p flexdesk-mirror --bench mirror -- [orders]` (default 1,000,000).
//! With `FLEXDESK_BENCH_APPLY_ONLY=1` it runs only the apply (no bare insert, no queries):
//! for comparing two builds of the apply quickly, several runs each.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{
    json_skeleton, pack_json, Account, Environment, Mirror, OrderCursor, OrderFilter, OrderRecord, OrderSort,
    OrderState, SEARCH_INDEX_CHUNK, SEARCH_INDEX_PAUSE, SEARCH_MERGE_PAGES,
};
use flexfactor_wire::{Cents, WireOrder};
use std::time::{Duration, Instant};

const BATCH: usize = 10_000;
/// An account id in the format the app gives a new account (`acct-` and 12 hex digits):
/// every order row and every index entry carries it.
const ACCOUNT: &str = "acct-0f8e4a6c2b1d";

fn orders(n: usize) -> Vec<WireOrder> {
    (0..n).map(order).collect()
}

/// Order `i` of the generated history (one every 7 s from 2026-08-01), as the API client
/// hands it over: parsed from the API's JSON text, which it keeps (the sandbox's text is this
/// serialization). MIT orders (2 in 5) carry the expiry date FlexFactor gives rebills.
fn order(i: usize) -> WireOrder {
    let o = order_fields(i);
    WireOrder::from_api_json(&serde_json::to_string(&o).unwrap()).unwrap()
}

fn order_fields(i: usize) -> WireOrder {
    let base = Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap();
    let statuses = [(7, "APPROVED"), (2, "DECLINED"), (4, "SUBMITTED"), (6, "APPROVED"), (5, "CAPTUREREQUIRED")];
    let (status, decision) = statuses[(i * 7919) % statuses.len()];
    let created = base + chrono::Duration::seconds((i as i64) * 7);
    WireOrder {
        // A random-looking GUID, as FlexFactor's keys are (the sandbox's too): keys in
        // arrival order would make the key index's inserts appends, which real ones are not.
        id: {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xfff, i % 4096, i)
        },
        external_order_id: Some(format!("WEB-{:08}", i)),
        status: Some(status),
        decision: Some(decision.into()),
        is_mit: Some(i % 5 < 2),
        amount: Some(Cents(1000 + (i as i64 % 19000))),
        captured_amount: Some(Cents(if status == 7 || status == 6 { 1000 + (i as i64 % 19000) } else { 0 })),
        refunded_amount: Some(Cents(if status == 6 { 1000 + (i as i64 % 19000) } else { 0 })),
        currency_code: Some("USD".into()),
        email: Some(format!("shopper{}@example.com", i)),
        first_name: Some(["Ada", "Grace", "Alan", "Edsger", "Barbara"][i % 5].into()),
        last_name: Some(format!("Name{}", i % 1000)),
        card_bin: Some("411111".into()),
        card_last4: Some(format!("{:04}", i % 10000)),
        decline_code: Some(["05", "51", "14", "NSF"][i % 4].into()),
        created_on: Some(created),
        order_placed_date: Some(created),
        modified_on: Some(created),
        expiry_date: (i % 5 < 2).then(|| created + chrono::Duration::days(30)),
        ..Default::default()
    }
}

fn account() -> Account {
    Account {
        id: ACCOUNT.into(),
        name: "Bench".into(),
        environment: Environment::Sandbox,
        base_url: "http://127.0.0.1/v1".into(),
        mid: "mid".into(),
        app_key: "key".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: Utc::now(),
    }
}

/// CPU seconds (user + system) used so far by the whole process (`/proc/self/stat`) and by
/// the calling thread (`/proc/thread-self/stat`): unlike wall time, barely moved by what
/// else runs on the machine, so it compares two builds on a shared machine.
fn cpu_seconds() -> (f64, f64) {
    let read = |path: &str| {
        let stat = std::fs::read_to_string(path).unwrap();
        // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0 // USER_HZ
    };
    (read("/proc/self/stat"), read("/proc/thread-self/stat"))
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// The same rows through one prepared INSERT, no upsert logic and no rollups: the floor to
/// compare with.
fn bare_insert(path: &std::path::Path, data: &[WireOrder]) -> Duration {
    let mut m = Mirror::open(path).unwrap();
    m.insert_account(&account()).unwrap();
    // The JSON as the mirror stores it: packed against the skeleton of the first order's text.
    let text = |o: &WireOrder| o.raw.get().map(str::to_string).unwrap_or_else(|| serde_json::to_string(o).unwrap());
    let dict = json_skeleton(&text(&data[0]));
    let rows: Vec<(OrderRecord, Vec<u8>)> =
        data.iter().map(|o| (OrderRecord::from_wire(o), pack_json(&text(o), &dict).unwrap())).collect();
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    // Like the apply's writer during a bulk load: the mirror's checkpointer thread (started by
    // `begin_bulk_load`) copies the WAL into the database, not each commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    let start = Instant::now();
    assert!(m.begin_bulk_load(0).unwrap());
    conn.execute("INSERT INTO json_dicts (id, dict) VALUES (1, ?1)", [&dict]).unwrap();
    for chunk in rows.chunks(BATCH) {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO orders (account_id, order_session_key, merchant_order_id, status_code, decision, state, is_mit,
                       amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin, card_last4,
                       decline_code, created_at, modified_at, synced_at, api_state, status_name, site_id,
                       placed_at, expiry_at)
                     VALUES ('{ACCOUNT}', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?19, ?5,
                       ?20, ?21, ?22, ?23)"
                ))
                .unwrap();
            let mut json =
                tx.prepare_cached("INSERT INTO order_json (order_id, raw_json, dict_id) VALUES (?1, ?2, 1)").unwrap();
            let now = Utc::now().to_rfc3339();
            for (o, raw) in chunk {
                stmt.execute(rusqlite::params![
                    o.order_session_key,
                    o.merchant_order_id,
                    o.status_code,
                    o.decision,
                    o.state.as_str(),
                    o.is_mit,
                    o.amount_cents,
                    o.captured_cents,
                    o.refunded_cents,
                    o.currency,
                    o.email,
                    o.customer_name,
                    o.card_bin,
                    o.card_last4,
                    o.decline_code,
                    o.created_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    o.modified_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    rusqlite::types::Null, // ?18 is not in the statement
                    now,
                    o.status_name,
                    o.site_id,
                    o.placed_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    o.expiry_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                ])
                .unwrap();
                json.execute(rusqlite::params![tx.last_insert_rowid(), raw]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    m.finish_bulk_load().unwrap();
    start.elapsed()
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    println!("generating {n} orders …");
    let data = orders(n);

    let apply_only = std::env::var_os("FLEXDESK_BENCH_APPLY_ONLY").is_some();
    let bare = (!apply_only).then(|| bare_insert(&dir.path().join("bare.sqlite3"), &data));
    // Its ~1 GB of not yet written-back pages would otherwise be flushed by the kernel while
    // the apply runs (deleting the files drops them).
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("bare.sqlite3{suffix}")));
    }

    let path = dir.path().join("mirror.sqlite3");
    let mut m = Mirror::open(&path).unwrap();
    m.insert_account(&account()).unwrap();
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    assert!(m.begin_bulk_load(0).unwrap());
    for chunk in data.chunks(BATCH) {
        m.apply_orders(ACCOUNT, chunk, Some(("orders", "bench"))).unwrap();
    }
    let rows_in = start.elapsed();
    let cpu_rows = cpu_seconds();
    m.finish_bulk_load().unwrap();
    let apply = start.elapsed();
    let cpu_end = cpu_seconds();
    assert_eq!(m.order_count(ACCOUNT).unwrap(), n as u64);
    assert!(!m.bulk_loading().unwrap());
    println!(
        "apply {n} orders into an empty mirror (rows + indexes + rollups committed, every query correct): {:.2} s \
         ({:.0} orders/s); rows (with their rollups) in after {:.2} s, then indexes {:.2} s",
        apply.as_secs_f64(),
        n as f64 / apply.as_secs_f64(),
        rows_in.as_secs_f64(),
        (apply - rows_in).as_secs_f64()
    );
    println!(
        "apply CPU (user + system): all threads {:.2} s (rows {:.2} s, indexes {:.2} s); the writer thread {:.2} s",
        cpu_end.0 - cpu_start.0,
        cpu_rows.0 - cpu_start.0,
        cpu_end.0 - cpu_rows.0,
        cpu_end.1 - cpu_start.1
    );
    if let Some(bare) = bare {
        println!("bare rusqlite insert of the same rows (no rollups, same index builds):  {:.2} s", bare.as_secs_f64());
        println!("apply / bare: {:.2}×", apply.as_secs_f64() / bare.as_secs_f64());
    }
    if apply_only {
        if let Some(keep) = std::env::var_os("FLEXDESK_BENCH_KEEP") {
            drop(m);
            std::fs::copy(&path, keep).unwrap();
        }
        return;
    }
    // Untimed: the rollups the apply wrote equal a recomputation from the orders.
    let rescued = [OrderState::Approved, OrderState::PartiallyRefunded, OrderState::Refunded, OrderState::Chargeback];
    let pending = [OrderState::Pending, OrderState::Challenge, OrderState::CaptureRequired];
    assert_eq!(
        m.order_facts(ACCOUNT, None, None, &rescued, &pending).unwrap(),
        m.order_facts_from_orders(ACCOUNT, None, None, &rescued, &pending).unwrap(),
        "rollups after the apply"
    );

    // Search right after the apply, before the word index is filled (rows past the mark are
    // scanned): the honest number for the first seconds after a first backfill.
    let pending_rows = m.search_pending().unwrap();
    let mut early = search_round(&m, &data, n, 12);
    println!(
        "search before the word index is filled ({pending_rows} orders past the mark, 12 terms): p50 {:.2} ms, p95 {:.2} ms",
        percentile(&mut early, 0.5).as_secs_f64() * 1e3,
        percentile(&mut early, 0.95).as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut steps = 0;
    let mut longest = Duration::ZERO;
    loop {
        let step = Instant::now();
        let done = m.index_search_step(SEARCH_INDEX_CHUNK).unwrap();
        longest = longest.max(step.elapsed());
        if done == 0 {
            break;
        }
        steps += 1;
        // The pause the app leaves between steps for other writers is part of the wait.
        std::thread::sleep(SEARCH_INDEX_PAUSE);
    }
    let indexing = t.elapsed();
    assert_eq!(m.search_pending().unwrap(), 0);
    println!(
        "search index complete (background, {steps} steps of {SEARCH_INDEX_CHUNK} orders, {} ms pauses, longest step {:.0} ms): {:.2} s; \
         apply + search index: {:.2} s",
        SEARCH_INDEX_PAUSE.as_millis(),
        longest.as_secs_f64() * 1e3,
        indexing.as_secs_f64(),
        (apply + indexing).as_secs_f64()
    );
    // The fill left one segment per step; searches are complete, and the app merges them next.
    let mut unmerged = search_round(&m, &data, n, 200);
    let t = Instant::now();
    let mut merges = 0;
    let mut longest = Duration::ZERO;
    loop {
        let step = Instant::now();
        let more = m.merge_search_step(SEARCH_MERGE_PAGES).unwrap();
        longest = longest.max(step.elapsed());
        if !more {
            break;
        }
        merges += 1;
        std::thread::sleep(SEARCH_INDEX_PAUSE);
    }
    println!(
        "search between the fill and the merge (200 terms): p50 {:.2} ms, p95 {:.2} ms; then merged in {merges} steps of \
         {SEARCH_MERGE_PAGES} pages (longest {:.0} ms): {:.2} s",
        percentile(&mut unmerged, 0.5).as_secs_f64() * 1e3,
        percentile(&mut unmerged, 0.95).as_secs_f64() * 1e3,
        longest.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64()
    );

    // The virtual table scrolling down: each page after the previous page's cursor, 40 pages
    // deep per filter, newest first.
    let mut list = Vec::new();
    let states = [None, Some(OrderState::Approved), Some(OrderState::Pending), Some(OrderState::Declined)];
    for round in 0..3 {
        for state in states {
            let mut after: Option<OrderCursor> = None;
            for _ in 0..40 {
                let filter = OrderFilter { state, after: after.clone(), limit: 100, ..Default::default() };
                let t = Instant::now();
                let rows = m.order_window(ACCOUNT, &filter).unwrap();
                if round > 0 {
                    list.push(t.elapsed());
                }
                assert_eq!(rows.len(), 100);
                after = Some(OrderCursor::after(OrderSort::CreatedDesc, rows.last().unwrap()));
            }
        }
    }
    // Far jumps (a scrollbar drag): an offset anywhere in the first 100,000 rows.
    let mut jumps = Vec::new();
    for i in 0..40 {
        let filter = OrderFilter {
            state: states[i % states.len()],
            offset: ((i * 7919) % 1000) as u64 * 100,
            limit: 100,
            ..Default::default()
        };
        let t = Instant::now();
        m.order_window(ACCOUNT, &filter).unwrap();
        jumps.push(t.elapsed());
    }
    let mut counts = Vec::new();
    for state in states {
        let t = Instant::now();
        m.count_orders(ACCOUNT, &OrderFilter { state, ..Default::default() }).unwrap();
        counts.push(t.elapsed());
    }
    println!(
        "filtered count (once per filter; the app core caches it): max {:.1} ms",
        counts.iter().max().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "list page (100 rows, state filter, newest first, after the previous page's cursor; {} pages): p50 {:.2} ms, p95 {:.2} ms",
        list.len(),
        percentile(&mut list, 0.5).as_secs_f64() * 1e3,
        percentile(&mut list, 0.95).as_secs_f64() * 1e3
    );
    println!(
        "far jump (100 rows at an offset up to 100,000, state filter): p50 {:.2} ms, p95 {:.2} ms",
        percentile(&mut jumps, 0.5).as_secs_f64() * 1e3,
        percentile(&mut jumps, 0.95).as_secs_f64() * 1e3
    );

    let mut search = search_round(&m, &data, n, 400);
    println!(
        "search after indexing (merchant id, email, FlexFactor id, last-4): p50 {:.2} ms, p95 {:.2} ms",
        percentile(&mut search, 0.5).as_secs_f64() * 1e3,
        percentile(&mut search, 0.95).as_secs_f64() * 1e3
    );
    // The most the app ever leaves past the search mark: the sync engine indexes each page
    // right after applying it (backfill and catch-up alike), so a crash between the two
    // leaves one page of 1,000 orders, which searches check directly until the next run.
    let page: Vec<WireOrder> = (n..n + 1000).map(order).collect();
    m.apply_orders(ACCOUNT, &page, None).unwrap();
    let past_mark = m.search_pending().unwrap();
    let mut one_page = search_round(&m, &data, n, 200);
    println!(
        "search with one page past the mark ({past_mark} orders, the most a crash mid-sync leaves): p50 {:.2} ms, p95 {:.2} ms",
        percentile(&mut one_page, 0.5).as_secs_f64() * 1e3,
        percentile(&mut one_page, 0.95).as_secs_f64() * 1e3
    );
    drop(m);

    // What the sync engine's writer does during a real first backfill: each 1,000-order page
    // applied, then indexed for search, in its own transaction. In the app this runs between
    // requests (each far longer than these steps); here back to back, so the total is the
    // writer's whole work, with no window left afterwards.
    let path = dir.path().join("paged.sqlite3");
    let mut m = Mirror::open(&path).unwrap();
    m.insert_account(&account()).unwrap();
    let start = Instant::now();
    let mut slowest_page = Duration::ZERO;
    assert!(m.begin_bulk_load(0).unwrap());
    for page in data.chunks(1000) {
        let t = Instant::now();
        m.apply_orders(ACCOUNT, page, Some(("orders", "bench"))).unwrap();
        m.index_search_step(page.len() as u64).unwrap();
        slowest_page = slowest_page.max(t.elapsed());
    }
    m.finish_bulk_load().unwrap();
    let paged = start.elapsed();
    assert_eq!(m.search_pending().unwrap(), 0);
    let mut right_after = search_round(&m, &data, n, 200);
    println!(
        "apply in 1,000-order pages with the word index kept up per page (a backfill's writer work): {:.2} s, \
         slowest page {:.0} ms; search right after (segments not merged yet): p50 {:.2} ms, p95 {:.2} ms",
        paged.as_secs_f64(),
        slowest_page.as_secs_f64() * 1e3,
        percentile(&mut right_after, 0.5).as_secs_f64() * 1e3,
        percentile(&mut right_after, 0.95).as_secs_f64() * 1e3
    );
}

/// `terms` searches (merchant id, e-mail, FlexFactor id, last-4 in turn), each a count and
/// the first page, as the screen asks.
fn search_round(m: &Mirror, data: &[WireOrder], n: usize, terms: usize) -> Vec<Duration> {
    let mut search = Vec::new();
    for i in 0..terms {
        let k = (i * 104_729) % n;
        let term = match i % 4 {
            0 => format!("WEB-{:08}", k),
            1 => format!("shopper{}@example.com", k),
            2 => data[k].id.clone(),
            _ => format!("{:04}", k % 10000),
        };
        let t = Instant::now();
        let (total, _) = m
            .list_orders(ACCOUNT, &OrderFilter { search: Some(term), offset: 0, limit: 100, ..Default::default() })
            .unwrap();
        search.push(t.elapsed());
        assert!(total >= 1);
    }
    search
}
