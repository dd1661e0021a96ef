#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark binary fails loudly

//! Recovery charts over a large mirror (DESIGN.md §8: < 150 ms to SVG over 1M orders).
//!
//! Seeds N orders (the sandbox's generator, spread over 365 days), applies them to a mirror
//! file, then for every chart measures: cold = read the facts from SQLite + build + render
//! SVG (what the first chart of a range costs), and warm = build + render from the cached
//! facts (what the Overview's other charts, theme and granularity changes cost). The facts
//! come from the trigger-kept rollups (whole days) plus the two partial days at the range's
//! ends, read from `orders`; the range starts and ends at noon, so both partial days exist.
//!
//! Run: `cargo bench -p flexdesk-charts --bench charts -- [orders]` (default 1,000,000).

use chrono::{Duration, TimeZone, Utc};
use flexdesk_charts::{
    build_chart, load_facts, render_svg, ChartKind, ChartRequest, Granularity, RenderOptions, Theme,
};
use flexdesk_mirror::{Account, Environment, Mirror};
use flexfactor_sandbox::{seed_history, SandboxConfig, SandboxCredentials};
use std::time::Instant;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let anchor = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.sqlite3");
    {
        let mut config = SandboxConfig::demo(42, anchor, SandboxCredentials::new("k", "s"));
        config.order_count = n;
        config.history_days = 365;
        let t = Instant::now();
        let orders = seed_history(&config);
        eprintln!("seeded {n} orders in {:.0} ms", ms(t.elapsed()));
        let mut mirror = Mirror::open(&path).unwrap();
        mirror
            .insert_account(&Account {
                id: "bench".into(),
                name: "Bench".into(),
                environment: Environment::Demo,
                base_url: "http://127.0.0.1/v1".into(),
                mid: "m".into(),
                app_key: "k".into(),
                demo_seed: None,
                demo_anchor: None,
                created_at: anchor,
            })
            .unwrap();
        // Loaded the way the first backfill loads (bulk mode, rollups computed at the end).
        let t = Instant::now();
        assert!(mirror.begin_bulk_load(0).unwrap());
        for chunk in orders.chunks(20_000) {
            mirror.apply_orders("bench", chunk, None).unwrap();
        }
        mirror.finish_bulk_load().unwrap();
        eprintln!("applied in {:.0} ms", ms(t.elapsed()));
    }
    measure(&path, "facts from the rollups (schema as shipped)", anchor);
}

fn measure(path: &std::path::Path, label: &str, anchor: chrono::DateTime<Utc>) {
    println!();
    println!("**{label}**");
    println!();
    let mirror = Mirror::open(path).unwrap();
    let from = anchor - Duration::days(365);
    let to = anchor + Duration::days(1);
    // One untimed read warms SQLite's page cache the way the open app's would be.
    let _ = load_facts(&mirror, "bench", Some(from), Some(to)).unwrap();
    let opts = RenderOptions { width: 720, height: 360, theme: Theme::Light, interactive: true };
    println!("| chart | facts read (ms) | build + SVG, warm (ms) | cold total (ms) | SVG bytes |");
    println!("|---|---|---|---|---|");
    let mut worst_cold: f64 = 0.0;
    let mut worst_warm: f64 = 0.0;
    for kind in ChartKind::ALL {
        let mut reads = Vec::new();
        let mut warms = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let facts = load_facts(&mirror, "bench", Some(from), Some(to)).unwrap();
            reads.push(ms(t.elapsed()));
            let req = ChartRequest {
                kind,
                currency: "USD".into(),
                from,
                to,
                granularity: Granularity::Day,
                top_n: 8,
                today: anchor.date_naive(),
            };
            let t = Instant::now();
            let chart = build_chart(&facts, &req).unwrap();
            let svg = render_svg(&chart, &opts).unwrap();
            warms.push(ms(t.elapsed()));
            size = svg.len();
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let (read, warm) = (median(&mut reads), median(&mut warms));
        worst_cold = worst_cold.max(read + warm);
        worst_warm = worst_warm.max(warm);
        println!("| {} | {read:.1} | {warm:.1} | {:.1} | {size} |", kind.as_str(), read + warm);
    }
    println!();
    println!(
        "{label}: 365 days of orders, medians of 5. Worst cold {worst_cold:.1} ms, worst warm {worst_warm:.1} ms (target < 150 ms): {}",
        if worst_cold < 150.0 { "cold meets the target" } else { "cold MISSES the target" }
    );
}
