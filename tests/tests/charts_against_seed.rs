//! The recovery charts checked against numbers computed independently, in plain Rust, from
//! the sandbox's seeded history (`seed_history`'s `WireOrder`s): no SQL, no mirror state
//! derivation, only the documented semantics of `flexdesk-charts` applied to the raw
//! status codes, decisions and amounts.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use flexdesk_charts::{build_chart, kpis, load_facts, ChartKind, ChartRequest, Granularity};
use flexdesk_mirror::{Account, Environment, Mirror};
use flexfactor_sandbox::{seed_history, SandboxConfig, SandboxCredentials};
use flexfactor_wire::WireOrder;
use std::collections::BTreeMap;

type R = Result<(), Box<dyn std::error::Error>>;

/// Outcome classes straight from the API's status code and decision word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Rescued { refunded_state: bool },
    Declined,
    Expired,
    Cancelled,
    Pending,
    Other,
}

fn outcome(o: &WireOrder) -> Outcome {
    let captured = o.captured_amount.map_or(0, |c| c.0);
    let refunded = o.refunded_amount.map_or(0, |c| c.0);
    match (o.status, o.decision.as_deref()) {
        (Some(7), _) => Outcome::Rescued { refunded_state: refunded > 0 },
        (Some(6), _) => Outcome::Rescued { refunded_state: true },
        (Some(2), Some("DECLINED")) => Outcome::Declined,
        (Some(2), Some("EXPIRED")) => Outcome::Expired,
        (Some(2), _) => Outcome::Cancelled,
        (Some(0 | 4 | 5), _) => Outcome::Pending,
        _ => {
            let _ = captured;
            Outcome::Other
        }
    }
}

fn created(o: &WireOrder) -> Option<DateTime<Utc>> {
    o.created_on.or(o.order_placed_date)
}

struct Fixture {
    orders: Vec<WireOrder>,
    mirror: Mirror,
    anchor: DateTime<Utc>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Result<Fixture, Box<dyn std::error::Error>> {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).single().ok_or("anchor")?;
    let config = SandboxConfig::demo(20_261_123, anchor, SandboxCredentials::new("key", "secret"));
    let orders = seed_history(&config);
    assert_eq!(orders.len(), 20_000);
    let dir = tempfile::tempdir()?;
    let mut mirror = Mirror::open(&dir.path().join("mirror.sqlite3"))?;
    mirror.insert_account(&Account {
        id: "acct".into(),
        name: "Seeded".into(),
        environment: Environment::Demo,
        base_url: "http://127.0.0.1/v1".into(),
        mid: config.mid.clone(),
        app_key: "key".into(),
        demo_seed: Some(20_261_123),
        demo_anchor: Some(anchor),
        created_at: anchor,
    })?;
    for chunk in orders.chunks(2_000) {
        mirror.apply_orders("acct", chunk, None)?;
    }
    Ok(Fixture { orders, mirror, anchor, _dir: dir })
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap_or_default()
}

#[test]
fn kpis_funnel_and_over_time_match_the_seeded_history() -> R {
    let f = fixture()?;
    let (from, to) = (day(2026, 9, 1), day(2026, 11, 24));
    let facts = load_facts(&f.mirror, "acct", Some(from), Some(to))?;
    let currencies: Vec<String> = flexdesk_charts::currencies(&facts);
    assert_eq!(currencies, vec!["USD".to_string(), "CAD".to_string()], "USD first: most orders");

    for currency in ["USD", "CAD"] {
        let in_range: Vec<&WireOrder> = f
            .orders
            .iter()
            .filter(|o| o.currency_code.as_deref().unwrap_or("USD") == currency)
            .filter(|o| created(o).is_some_and(|c| c >= from && c < to))
            .collect();
        let cents = |v: Option<flexfactor_wire::Cents>| v.map_or(0, |c| c.0);
        let rescued: Vec<&&WireOrder> =
            in_range.iter().filter(|o| matches!(outcome(o), Outcome::Rescued { .. })).collect();
        let decided = in_range
            .iter()
            .filter(|o| {
                matches!(
                    outcome(o),
                    Outcome::Rescued { .. } | Outcome::Declined | Outcome::Expired | Outcome::Cancelled
                )
            })
            .count() as u64;
        let recovered: i64 = rescued.iter().map(|o| cents(o.captured_amount)).sum();
        let refunds: i64 = in_range
            .iter()
            .filter(|o| outcome(o) == Outcome::Rescued { refunded_state: true })
            .map(|o| cents(o.refunded_amount))
            .sum();
        let pending: i64 = in_range.iter().filter(|o| outcome(o) == Outcome::Pending).map(|o| cents(o.amount)).sum();

        let k = kpis(&facts, currency, from, to);
        assert_eq!(k.recovered.value, recovered, "{currency} recovered");
        assert_eq!(k.recovered.count, rescued.len() as u64);
        assert_eq!(k.recovery_rate.count, decided);
        let expected_bp = ((rescued.len() as u128 * 10_000 + decided as u128 / 2) / decided as u128) as i64;
        assert_eq!(k.recovery_rate.value, expected_bp, "{currency} rate");
        assert_eq!(k.refunds.value, refunds, "{currency} refunds");
        assert_eq!(k.net_recovered.value, recovered - refunds);
        assert_eq!(k.pending.value, pending, "{currency} pending");
        assert!(recovered > 0 && refunds > 0 && pending > 0, "{currency}: the seed exercises every KPI");

        let req = |kind, granularity| ChartRequest {
            kind,
            currency: currency.to_string(),
            from,
            to,
            granularity,
            top_n: 5,
            today: f.anchor.date_naive(),
        };
        // Funnel.
        let funnel = build_chart(&facts, &req(ChartKind::Funnel, Granularity::Day))?;
        let counts: Vec<u64> = funnel.series[0].points.iter().map(|p| p.count).collect();
        let n = |want: Outcome| in_range.iter().filter(|o| outcome(o) == want).count() as u64;
        assert_eq!(
            counts,
            vec![
                in_range.len() as u64,
                rescued.len() as u64,
                n(Outcome::Declined),
                n(Outcome::Expired),
                n(Outcome::Cancelled)
            ],
            "{currency} funnel"
        );
        // Recovered per day and recovery rate per week.
        let mut per_day: BTreeMap<NaiveDate, (i64, u64)> = BTreeMap::new();
        for o in &rescued {
            if let Some(c) = created(o) {
                let e = per_day.entry(c.date_naive()).or_default();
                e.0 += cents(o.captured_amount);
                e.1 += 1;
            }
        }
        let daily = build_chart(&facts, &req(ChartKind::RecoveredAmount, Granularity::Day))?;
        assert_eq!(daily.categories.len(), 84, "Sep 1 to Nov 23: 84 days");
        for p in &daily.series[0].points {
            let date = from.date_naive() + Duration::days(p.category as i64);
            let (amount, count) = per_day.get(&date).copied().unwrap_or_default();
            assert_eq!((p.value, p.count), (amount, count), "{currency} {date}");
        }
        let weekly = build_chart(&facts, &req(ChartKind::RecoveryRate, Granularity::Week))?;
        for p in &weekly.series[0].points {
            let (wf, wt) = (p.drill.created_from.ok_or("from")?, p.drill.created_to.ok_or("to")?);
            let week: Vec<&&WireOrder> =
                in_range.iter().filter(|o| created(o).is_some_and(|c| c >= wf && c < wt)).collect();
            let d = week.iter().filter(|o| !matches!(outcome(o), Outcome::Pending | Outcome::Other)).count() as u64;
            let r = week.iter().filter(|o| matches!(outcome(o), Outcome::Rescued { .. })).count() as u64;
            assert_eq!(p.count, d, "{currency} week of {wf}");
            let bp = if d == 0 { 0 } else { ((r as u128 * 10_000 + d as u128 / 2) / d as u128) as i64 };
            assert_eq!(p.value, bp);
        }
        // CIT vs MIT.
        let split = build_chart(&facts, &req(ChartKind::CitVsMit, Granularity::Day))?;
        for (i, mit) in [false, true].into_iter().enumerate() {
            let r = rescued.iter().filter(|o| o.is_mit == Some(mit)).count() as u64;
            let lost = in_range
                .iter()
                .filter(|o| o.is_mit == Some(mit))
                .filter(|o| matches!(outcome(o), Outcome::Declined | Outcome::Expired | Outcome::Cancelled))
                .count() as u64;
            assert_eq!(split.series[0].points[i].count, r, "{currency} rescued mit={mit}");
            assert_eq!(split.series[1].points[i].count, lost, "{currency} not rescued mit={mit}");
        }
    }
    Ok(())
}

#[test]
fn decline_codes_rescue_times_cohorts_and_expiry_match_the_seeded_history() -> R {
    let f = fixture()?;
    let (from, to) = (day(2026, 8, 1), day(2026, 11, 24));
    let facts = load_facts(&f.mirror, "acct", Some(from), Some(to))?;
    let usd: Vec<&WireOrder> = f
        .orders
        .iter()
        .filter(|o| o.currency_code.as_deref() == Some("USD"))
        .filter(|o| created(o).is_some_and(|c| c >= from && c < to))
        .collect();
    let req = |kind| ChartRequest {
        kind,
        currency: "USD".into(),
        from,
        to,
        granularity: Granularity::Month,
        top_n: 4,
        today: f.anchor.date_naive(),
    };
    let is_decided = |o: &WireOrder| !matches!(outcome(o), Outcome::Pending | Outcome::Other);
    let is_rescued = |o: &WireOrder| matches!(outcome(o), Outcome::Rescued { .. });

    // Decline codes: the top 4 by decided orders, then "Other" holding the rest.
    let mut by_code: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
    for o in usd.iter().filter(|o| is_decided(o)) {
        let e = by_code.entry(o.decline_code.clone()).or_default();
        if is_rescued(o) {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    let mut ranked: Vec<(Option<String>, (u64, u64))> = by_code.into_iter().collect();
    ranked.sort_by(|a, b| (b.1 .0 + b.1 .1).cmp(&(a.1 .0 + a.1 .1)).then(a.0.cmp(&b.0)));
    let top: Vec<(String, (u64, u64))> =
        ranked.iter().filter_map(|(c, v)| c.clone().map(|c| (c, *v))).take(4).collect();
    let codes = build_chart(&facts, &req(ChartKind::DeclineCodes))?;
    for (i, (code, (r, n))) in top.iter().enumerate() {
        assert_eq!(&codes.categories[i], code);
        assert_eq!((codes.series[0].points[i].count, codes.series[1].points[i].count), (*r, *n), "code {code}");
    }
    let total: u64 = usd.iter().filter(|o| is_decided(o)).count() as u64;
    let drawn: u64 = codes.series.iter().flat_map(|s| &s.points).map(|p| p.count).sum();
    assert_eq!(drawn, total, "top codes plus Other cover every decided order");
    assert_eq!(codes.categories.last().map(String::as_str), Some("Other"));

    // Days to rescue: whole days from placed to modified, 15+ in the last bucket.
    let rescue_days = |o: &WireOrder| -> Option<i64> {
        let ms = (o.modified_on? - o.order_placed_date?).num_milliseconds();
        Some((ms / 86_400_000).max(0))
    };
    let hist = build_chart(&facts, &req(ChartKind::DaysToRescue))?;
    for (si, mit) in [false, true].into_iter().enumerate() {
        let mut expected = vec![0u64; 16];
        for o in usd.iter().filter(|o| is_rescued(o) && o.is_mit == Some(mit)) {
            if let Some(d) = rescue_days(o) {
                expected[d.min(15) as usize] += 1;
            }
        }
        let got: Vec<u64> = hist.series[si].points.iter().map(|p| p.count).collect();
        assert_eq!(got, expected, "days to rescue, mit={mit}");
    }

    // MIT cohorts: share of each month's MIT orders rescued within d days.
    let cohorts = build_chart(&facts, &req(ChartKind::MitCohorts))?;
    assert!(!cohorts.series.is_empty());
    for s in &cohorts.series {
        let month: Vec<&&WireOrder> = usd
            .iter()
            .filter(|o| o.is_mit == Some(true))
            .filter(|o| created(o).is_some_and(|c| format!("{:04}-{:02}", c.year(), c.month()) == s.name))
            .collect();
        for d in [0i64, 3, 7, 14, 30] {
            let within = month
                .iter()
                .filter(|o| is_rescued(o) && rescue_days(o).is_some_and(|r| if d == 30 { true } else { r <= d }))
                .count() as u64;
            let p = &s.points[d as usize];
            assert_eq!(p.count, within, "cohort {} within {d} days", s.name);
            let bp = ((within as u128 * 10_000 + month.len() as u128 / 2) / month.len() as u128) as i64;
            assert_eq!(p.value, bp);
        }
    }

    // Pending MIT by days until expiry (from the anchor's day).
    let expiry = build_chart(&facts, &req(ChartKind::PendingExpiry))?;
    let mut expected = vec![0u64; expiry.categories.len()];
    for o in usd.iter().filter(|o| o.is_mit == Some(true) && outcome(o) == Outcome::Pending) {
        if let Some(e) = o.expiry_date {
            let days = (e.date_naive() - f.anchor.date_naive()).num_days();
            let i = if days < 0 { 0 } else { days.min(28) as usize + 1 };
            expected[i] += 1;
        }
    }
    let got: Vec<u64> = expiry.series[0].points.iter().map(|p| p.count).collect();
    assert_eq!(got, expected);
    assert!(got.iter().sum::<u64>() > 100, "the seed has pending MIT rescues");
    Ok(())
}
