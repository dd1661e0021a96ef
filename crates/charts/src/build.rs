//! From grouped facts to KPIs and charts (pure: no I/O, no clock).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use flexdesk_mirror::{OrderFacts, OrderState};
use std::collections::BTreeMap;

use crate::model::{
    Chart, ChartKind, ChartStyle, Drill, Granularity, Kpi, Kpis, Point, Series, Unit, DECIDED, NOT_RESCUED, PENDING,
    REFUNDED, RESCUED,
};
use crate::ChartError;

/// Days shown on the MIT cohort and days-to-rescue axes (the last bucket is "N+").
const RESCUE_DAYS: i64 = 30;
const HISTOGRAM_DAYS: i64 = 15;
/// Days shown on the expiry axis (MIT expiry is 14–28 days after placement).
const EXPIRY_DAYS: i64 = 28;
/// Most cohorts drawn (the newest ones).
const MAX_COHORTS: usize = 12;

/// What to draw: the facts must have been loaded for the same account and range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRequest {
    pub kind: ChartKind,
    pub currency: String,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
    /// Decline codes shown before "Other".
    pub top_n: usize,
    /// "Today" for the expiry histogram (UTC).
    pub today: NaiveDate,
}

impl ChartRequest {
    fn validate(&self) -> Result<(), ChartError> {
        if self.from >= self.to {
            return Err(ChartError::InvalidInput(format!(
                "the start of the range ({}) must be before its end ({})",
                self.from.format("%Y-%m-%d"),
                self.to.format("%Y-%m-%d")
            )));
        }
        Ok(())
    }

    fn drill(&self, title: String) -> Drill {
        Drill {
            created_from: Some(self.from),
            created_to: Some(self.to),
            currency: Some(self.currency.clone()),
            title,
            exact: true,
            ..Drill::default()
        }
    }

    fn range_text(&self) -> String {
        let last = self.to - Duration::milliseconds(1);
        format!("{} · {} to {} (UTC)", self.currency, self.from.format("%Y-%m-%d"), last.format("%Y-%m-%d"))
    }
}

/// Minor units in `currency` with thousands grouped: `1234567` in `USD` → `"USD 12,345.67"`,
/// in `JPY` → `"JPY 1,234,567"`, in `KWD` → `"KWD 1,234.567"`.
pub fn format_cents(cents: i64, currency: &str) -> String {
    let exact = flexfactor_wire::Cents(cents).to_major_units_in(flexfactor_wire::minor_unit_digits(currency));
    let (sign, exact) = exact.strip_prefix('-').map_or(("", exact.as_str()), |rest| ("-", rest));
    let (units, decimals) = exact.split_once('.').map_or((exact, None), |(u, d)| (u, Some(d)));
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match decimals {
        Some(d) => format!("{sign}{currency} {grouped}.{d}"),
        None => format!("{sign}{currency} {grouped}"),
    }
}

/// Basis points → `"45.3 %"`.
pub fn format_bp(bp: i64) -> String {
    format!("{}.{} %", bp / 100, (bp % 100) / 10)
}

fn rate_bp(part: u64, whole: u64) -> i64 {
    if whole == 0 {
        0
    } else {
        ((part as u128 * 10_000 + whole as u128 / 2) / whole as u128) as i64
    }
}

fn orders(n: u64) -> String {
    if n == 1 {
        "1 order".into()
    } else {
        format!("{n} orders")
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn bucket_start(d: NaiveDate, g: Granularity) -> NaiveDate {
    match g {
        Granularity::Day => d,
        Granularity::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Granularity::Month => d.with_day(1).unwrap_or(d),
    }
}

fn next_bucket(d: NaiveDate, g: Granularity) -> NaiveDate {
    match g {
        Granularity::Day => d + Duration::days(1),
        Granularity::Week => d + Duration::days(7),
        Granularity::Month => {
            let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d + Duration::days(31))
        }
    }
}

/// Sums of one group of orders.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    orders: u64,
    amount: i64,
    captured: i64,
    refunded: i64,
}

impl Sums {
    fn add(&mut self, orders: u64, amount: i64, captured: i64, refunded: i64) {
        self.orders += orders;
        self.amount += amount;
        self.captured += captured;
        self.refunded += refunded;
    }
}

/// Day facts of one currency, summed over the states in `states` (all when empty) and
/// the rows `keep` accepts.
fn sum_days(
    facts: &OrderFacts,
    currency: &str,
    states: &[OrderState],
    keep: impl Fn(&flexdesk_mirror::DayFacts) -> bool,
) -> Sums {
    let mut s = Sums::default();
    for d in facts.days.iter().filter(|d| d.currency == currency) {
        if (states.is_empty() || states.contains(&d.state)) && keep(d) {
            s.add(d.orders, d.amount_cents, d.captured_cents, d.refunded_cents);
        }
    }
    s
}

/// The Overview's KPIs for `currency` (the facts' range is the request's range).
pub fn kpis(facts: &OrderFacts, currency: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Kpis {
    let req = ChartRequest {
        kind: ChartKind::Funnel,
        currency: currency.to_string(),
        from,
        to,
        granularity: Granularity::Day,
        top_n: 0,
        today: to.date_naive(),
    };
    let rescued = sum_days(facts, currency, &RESCUED, |_| true);
    let decided = sum_days(facts, currency, &DECIDED, |_| true);
    let pending = sum_days(facts, currency, &PENDING, |_| true);
    let refunded = sum_days(facts, currency, &REFUNDED, |_| true);
    let rate = rate_bp(rescued.orders, decided.orders);
    let kpi = |id: &str, label: &str, unit: Unit, value: i64, count: u64, display: String, states: &[OrderState]| Kpi {
        id: id.into(),
        label: label.into(),
        unit,
        value,
        count,
        display,
        drill: Drill { states: states.to_vec(), ..req.drill(format!("{label} · {}", req.range_text())) },
    };
    Kpis {
        currency: currency.to_string(),
        recovered: kpi(
            "recovered",
            "Recovered",
            Unit::Cents,
            rescued.captured,
            rescued.orders,
            format_cents(rescued.captured, currency),
            &RESCUED,
        ),
        recovery_rate: kpi(
            "recovery-rate",
            "Recovery rate",
            Unit::BasisPoints,
            rate,
            decided.orders,
            format_bp(rate),
            &DECIDED,
        ),
        pending: kpi(
            "pending",
            "Pending",
            Unit::Cents,
            pending.amount,
            pending.orders,
            format_cents(pending.amount, currency),
            &PENDING,
        ),
        refunds: kpi(
            "refunds",
            "Refunds",
            Unit::Cents,
            refunded.refunded,
            refunded.orders,
            format_cents(refunded.refunded, currency),
            &REFUNDED,
        ),
        net_recovered: kpi(
            "net-recovered",
            "Net recovered",
            Unit::Cents,
            rescued.captured - refunded.refunded,
            rescued.orders,
            format_cents(rescued.captured - refunded.refunded, currency),
            &RESCUED,
        ),
    }
}

/// Builds one chart from the facts of the request's account and range.
pub fn build_chart(facts: &OrderFacts, req: &ChartRequest) -> Result<Chart, ChartError> {
    req.validate()?;
    Ok(match req.kind {
        ChartKind::RecoveredAmount | ChartKind::RecoveryRate => over_time(facts, req),
        ChartKind::CitVsMit => cit_vs_mit(facts, req),
        ChartKind::DeclineCodes => decline_codes(facts, req),
        ChartKind::Funnel => funnel(facts, req),
        ChartKind::MitCohorts => cohorts(facts, req),
        ChartKind::DaysToRescue => days_to_rescue(facts, req),
        ChartKind::PendingExpiry => pending_expiry(facts, req),
    })
}

fn chart(req: &ChartRequest, title: &str, style: ChartStyle, x: &str, y: &str) -> Chart {
    Chart {
        kind: req.kind,
        title: title.into(),
        subtitle: req.range_text(),
        style,
        x_label: x.into(),
        y_label: y.into(),
        categories: Vec::new(),
        series: Vec::new(),
        note: None,
        money_digits: flexfactor_wire::minor_unit_digits(&req.currency),
    }
}

fn over_time(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let g = req.granularity;
    let first = bucket_start(req.from.date_naive(), g);
    let last_day = (req.to - Duration::milliseconds(1)).date_naive();
    // (rescued sums, decided orders) per bucket start.
    let mut buckets: BTreeMap<NaiveDate, (Sums, u64)> = BTreeMap::new();
    let mut b = first;
    while b <= last_day {
        buckets.insert(b, Default::default());
        b = next_bucket(b, g);
    }
    for d in facts.days.iter().filter(|d| d.currency == req.currency) {
        let Some(day) = d.day.as_deref().and_then(parse_day) else { continue };
        let Some(slot) = buckets.get_mut(&bucket_start(day, g)) else { continue };
        if RESCUED.contains(&d.state) {
            slot.0.add(d.orders, d.amount_cents, d.captured_cents, d.refunded_cents);
        }
        if DECIDED.contains(&d.state) {
            slot.1 += d.orders;
        }
    }
    let amount = req.kind == ChartKind::RecoveredAmount;
    let (title, style, y, unit) = if amount {
        ("Recovered amount", ChartStyle::Bars, format!("Recovered ({})", req.currency), Unit::Cents)
    } else {
        ("Recovery rate", ChartStyle::Lines, "Rescued / decided (%)".to_string(), Unit::BasisPoints)
    };
    let x = match g {
        Granularity::Day => "Day created (UTC)",
        Granularity::Week => "Week created (UTC, from Monday)",
        Granularity::Month => "Month created (UTC)",
    };
    let mut c = chart(req, title, style, x, &y);
    let mut points = Vec::new();
    for (i, (start, (rescued, decided))) in buckets.into_iter().enumerate() {
        let from = midnight(start).max(req.from);
        let to = midnight(next_bucket(start, g)).min(req.to);
        let name = match g {
            Granularity::Day => start.format("%b %d").to_string(),
            Granularity::Week => format!("wk {}", start.format("%b %d")),
            Granularity::Month => start.format("%Y-%m").to_string(),
        };
        let period = match g {
            Granularity::Day => start.format("%Y-%m-%d").to_string(),
            Granularity::Week => format!("week of {}", start.format("%Y-%m-%d")),
            Granularity::Month => start.format("%B %Y").to_string(),
        };
        c.categories.push(name);
        let point = if amount {
            Point {
                category: i,
                value: rescued.captured,
                count: rescued.orders,
                label: format!(
                    "{period}: {} recovered · {}",
                    format_cents(rescued.captured, &req.currency),
                    orders(rescued.orders)
                ),
                drill: Drill {
                    states: RESCUED.to_vec(),
                    created_from: Some(from),
                    created_to: Some(to),
                    ..req.drill(format!("Rescued orders · {period} · {}", req.currency))
                },
            }
        } else if decided == 0 {
            // No decided orders: no rate to draw (a 0 % point would be a false drop).
            continue;
        } else {
            let rate = rate_bp(rescued.orders, decided);
            Point {
                category: i,
                value: rate,
                count: decided,
                label: format!("{period}: {} · {} rescued of {} decided", format_bp(rate), rescued.orders, decided),
                drill: Drill {
                    states: DECIDED.to_vec(),
                    created_from: Some(from),
                    created_to: Some(to),
                    ..req.drill(format!("Decided orders · {period} · {}", req.currency))
                },
            }
        };
        points.push(point);
    }
    let name = if amount { "Recovered" } else { "Recovery rate" };
    c.series.push(Series { name: name.into(), unit, points });
    c
}

/// "Rescued" and "Not rescued" series over categories defined by `groups`.
fn rescued_split(req: &ChartRequest, groups: &[(String, Sums, Sums, Drill)]) -> Vec<Series> {
    let mut rescued = Vec::new();
    let mut lost = Vec::new();
    for (i, (name, r, n, drill)) in groups.iter().enumerate() {
        let decided = r.orders + n.orders;
        let rate = format_bp(rate_bp(r.orders, decided));
        rescued.push(Point {
            category: i,
            value: r.orders as i64,
            count: r.orders,
            label: format!(
                "{name}: {} rescued of {decided} decided ({rate}) · {} recovered",
                r.orders,
                format_cents(r.captured, &req.currency)
            ),
            drill: Drill { states: RESCUED.to_vec(), title: format!("Rescued · {}", drill.title), ..drill.clone() },
        });
        lost.push(Point {
            category: i,
            value: n.orders as i64,
            count: n.orders,
            label: format!("{name}: {} not rescued (declined, expired, cancelled) of {decided}", n.orders),
            drill: Drill {
                states: NOT_RESCUED.to_vec(),
                title: format!("Not rescued · {}", drill.title),
                ..drill.clone()
            },
        });
    }
    vec![
        Series { name: "Rescued".into(), unit: Unit::Count, points: rescued },
        Series { name: "Not rescued".into(), unit: Unit::Count, points: lost },
    ]
}

fn cit_vs_mit(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c = chart(req, "CIT vs MIT", ChartStyle::Bars, "Transaction type", "Decided orders");
    let groups: Vec<(String, Sums, Sums, Drill)> = [("CIT", false), ("MIT", true)]
        .into_iter()
        .map(|(name, mit)| {
            let r = sum_days(facts, &req.currency, &RESCUED, |d| d.is_mit == mit);
            let n = sum_days(facts, &req.currency, &NOT_RESCUED, |d| d.is_mit == mit);
            let drill = Drill { is_mit: Some(mit), ..req.drill(format!("{name} · {}", req.range_text())) };
            (name.to_string(), r, n, drill)
        })
        .collect();
    c.categories = groups.iter().map(|g| g.0.clone()).collect();
    c.series = rescued_split(req, &groups);
    c
}

fn decline_codes(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c = chart(req, "By decline code", ChartStyle::Bars, "Decline code", "Decided orders");
    let mut by_code: BTreeMap<Option<&str>, (Sums, Sums)> = BTreeMap::new();
    for d in facts.days.iter().filter(|d| d.currency == req.currency) {
        let slot = by_code.entry(d.decline_code.as_deref()).or_default();
        if RESCUED.contains(&d.state) {
            slot.0.add(d.orders, d.amount_cents, d.captured_cents, d.refunded_cents);
        } else if NOT_RESCUED.contains(&d.state) {
            slot.1.add(d.orders, d.amount_cents, d.captured_cents, d.refunded_cents);
        }
    }
    let mut ranked: Vec<(Option<&str>, (Sums, Sums))> =
        by_code.into_iter().filter(|(_, (r, n))| r.orders + n.orders > 0).collect();
    ranked.sort_by(|a, b| (b.1 .0.orders + b.1 .1.orders).cmp(&(a.1 .0.orders + a.1 .1.orders)).then(a.0.cmp(&b.0)));
    let mut groups = Vec::new();
    let mut other = (Sums::default(), Sums::default());
    let mut other_used = false;
    for (code, (r, n)) in ranked {
        match code {
            Some(code) if groups.len() < req.top_n => {
                let drill = Drill {
                    decline_code: Some(code.to_string()),
                    ..req.drill(format!("decline code {code} · {}", req.range_text()))
                };
                groups.push((code.to_string(), r, n, drill));
            }
            _ => {
                other_used = true;
                other.0.add(r.orders, r.amount, r.captured, r.refunded);
                other.1.add(n.orders, n.amount, n.captured, n.refunded);
            }
        }
    }
    if other_used {
        let drill = Drill {
            exact: false,
            ..req.drill(format!("all decline codes (the list cannot select \"other\") · {}", req.range_text()))
        };
        groups.push(("Other".to_string(), other.0, other.1, drill));
        c.note =
            Some("\"Other\" groups the remaining codes and orders without one; clicking it opens every code.".into());
    }
    c.categories = groups.iter().map(|g| g.0.clone()).collect();
    c.series = rescued_split(req, &groups);
    c
}

fn funnel(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c = chart(req, "Outcome funnel", ChartStyle::Bars, "Outcome", "Orders");
    let stages: [(&str, &[OrderState]); 5] = [
        ("Submitted", &[]),
        ("Approved", &RESCUED),
        ("Declined", &[OrderState::Declined]),
        ("Expired", &[OrderState::Expired]),
        ("Cancelled", &[OrderState::Cancelled]),
    ];
    let mut points = Vec::new();
    for (i, (name, states)) in stages.iter().enumerate() {
        let s = sum_days(facts, &req.currency, states, |_| true);
        c.categories.push(name.to_string());
        points.push(Point {
            category: i,
            value: s.orders as i64,
            count: s.orders,
            label: format!("{name}: {} · {}", orders(s.orders), format_cents(s.amount, &req.currency)),
            drill: Drill { states: states.to_vec(), ..req.drill(format!("{name} · {}", req.range_text())) },
        });
    }
    let open = sum_days(facts, &req.currency, &[], |d| !DECIDED.contains(&d.state));
    c.note = Some(format!(
        "Approved includes refunded and charged-back rescues. {} still open (pending, challenge, capture, on hold, problem).",
        orders(open.orders)
    ));
    c.series.push(Series { name: "Orders".into(), unit: Unit::Count, points });
    c
}

fn cohorts(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c =
        chart(req, "MIT monthly cohorts", ChartStyle::Lines, "Days since the order was placed", "Cohort rescued (%)");
    let mut size: BTreeMap<String, u64> = BTreeMap::new();
    for d in facts.days.iter().filter(|d| d.currency == req.currency && d.is_mit) {
        if let Some(day) = &d.day {
            *size.entry(day.chars().take(7).collect()).or_default() += d.orders;
        }
    }
    let mut by_days: BTreeMap<String, [u64; RESCUE_DAYS as usize + 1]> = BTreeMap::new();
    // Rescued orders without both times (no day to place them on), per cohort.
    let mut undated: BTreeMap<String, u64> = BTreeMap::new();
    for r in facts.rescues.iter().filter(|r| r.currency == req.currency && r.is_mit) {
        let Some(month) = &r.month else { continue };
        let Some(days) = r.rescue_days else {
            *undated.entry(month.clone()).or_default() += r.orders;
            continue;
        };
        let slot = by_days.entry(month.clone()).or_insert([0; RESCUE_DAYS as usize + 1]);
        let i = days.clamp(0, RESCUE_DAYS) as usize;
        if let Some(v) = slot.get_mut(i) {
            *v += r.orders;
        }
    }
    c.categories = (0..=RESCUE_DAYS).map(|d| d.to_string()).collect();
    let months: Vec<(String, u64)> = size.into_iter().collect();
    let skip = months.len().saturating_sub(MAX_COHORTS);
    for (month, cohort) in months.into_iter().skip(skip) {
        let counts = by_days.get(&month).copied().unwrap_or([0; RESCUE_DAYS as usize + 1]);
        let start = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let (from, to) = match start {
            Some(s) => (midnight(s).max(req.from), midnight(next_bucket(s, Granularity::Month)).min(req.to)),
            None => (req.from, req.to),
        };
        let mut cumulative = 0;
        let points = counts
            .iter()
            .enumerate()
            .map(|(d, n)| {
                cumulative += n;
                let rate = rate_bp(cumulative, cohort);
                let within = if d as i64 == RESCUE_DAYS { format!("{d}+ days (all)") } else { format!("{d} days") };
                Point {
                    category: d,
                    value: rate,
                    count: cumulative,
                    label: format!(
                        "{month} cohort, within {within}: {} ({cumulative} of {cohort} MIT orders)",
                        format_bp(rate)
                    ),
                    drill: Drill {
                        states: RESCUED.to_vec(),
                        is_mit: Some(true),
                        created_from: Some(from),
                        created_to: Some(to),
                        // The whole cohort's rescued orders are exactly the last point's only
                        // when each of them has a day.
                        exact: d as i64 == RESCUE_DAYS && !undated.contains_key(&month),
                        ..req.drill(format!("Rescued MIT orders of the {month} cohort · {}", req.currency))
                    },
                }
            })
            .collect();
        c.series.push(Series { name: month, unit: Unit::BasisPoints, points });
    }
    let mut note =
        "Days to rescue = modified time − placed time (inferred). Clicking a point opens the whole cohort's rescued MIT orders."
            .to_string();
    let left_out: u64 = undated.values().sum();
    if left_out > 0 {
        note.push_str(&format!(" {} without a placed or modified time are in no point.", orders(left_out)));
    }
    c.note = Some(note);
    c
}

fn days_to_rescue(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c = chart(req, "Days to rescue", ChartStyle::Bars, "Days from placed to rescued", "Rescued orders");
    c.categories =
        (0..=HISTOGRAM_DAYS).map(|d| if d == HISTOGRAM_DAYS { format!("{d}+") } else { d.to_string() }).collect();
    let mut left_out = 0;
    for (name, mit) in [("CIT", false), ("MIT", true)] {
        let mut counts = vec![0u64; HISTOGRAM_DAYS as usize + 1];
        for r in facts.rescues.iter().filter(|r| r.currency == req.currency && r.is_mit == mit) {
            match r.rescue_days.and_then(|d| counts.get_mut(d.clamp(0, HISTOGRAM_DAYS) as usize)) {
                Some(v) => *v += r.orders,
                None => left_out += r.orders,
            }
        }
        let points = counts
            .iter()
            .enumerate()
            .map(|(d, n)| Point {
                category: d,
                value: *n as i64,
                count: *n,
                label: format!(
                    "{name}, {} days: {}",
                    c.categories.get(d).map(String::as_str).unwrap_or(""),
                    orders(*n)
                ),
                drill: Drill {
                    states: RESCUED.to_vec(),
                    is_mit: Some(mit),
                    exact: false,
                    ..req.drill(format!("Rescued {name} orders (all days to rescue) · {}", req.currency))
                },
            })
            .collect();
        c.series.push(Series { name: name.into(), unit: Unit::Count, points });
    }
    let mut note = "Days to rescue = modified time − placed time (inferred: the API has no approval time). Clicking a bar opens all rescued orders of that type.".to_string();
    if left_out > 0 {
        note.push_str(&format!(" {} without a placed or modified time are in no bar.", orders(left_out)));
    }
    c.note = Some(note);
    c
}

fn pending_expiry(facts: &OrderFacts, req: &ChartRequest) -> Chart {
    let mut c =
        chart(req, "Pending MIT by days to expiry", ChartStyle::Bars, "Days until expiry", "Pending MIT orders");
    c.categories = std::iter::once("overdue".to_string()).chain((0..=EXPIRY_DAYS).map(|d| d.to_string())).collect();
    let mut counts = vec![Sums::default(); c.categories.len()];
    for e in facts.expiries.iter().filter(|e| e.currency == req.currency) {
        let Some(day) = e.expiry_day.as_deref().and_then(parse_day) else { continue };
        let days = (day - req.today).num_days();
        let i = if days < 0 { 0 } else { days.min(EXPIRY_DAYS) as usize + 1 };
        if let Some(s) = counts.get_mut(i) {
            s.add(e.orders, e.amount_cents, 0, 0);
        }
    }
    let points = counts
        .iter()
        .enumerate()
        .map(|(i, s)| Point {
            category: i,
            value: s.orders as i64,
            count: s.orders,
            label: format!(
                "{}: {} · {}",
                if i == 0 { "overdue".to_string() } else { format!("expires in {} days", i - 1) },
                orders(s.orders),
                format_cents(s.amount, &req.currency)
            ),
            drill: Drill {
                states: PENDING.to_vec(),
                is_mit: Some(true),
                expiry_sort: true,
                exact: false,
                ..req.drill(format!("Pending MIT orders, soonest expiry first · {}", req.currency))
            },
        })
        .collect();
    c.series.push(Series { name: "Pending MIT".into(), unit: Unit::Count, points });
    c.note = Some(format!(
        "Days from {} (UTC) to each order's expiry day. Clicking a bar opens all pending MIT orders, soonest expiry first.",
        req.today
    ));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescued_orders_without_times_leave_the_last_cohort_point_inexact_and_are_counted_in_the_note() {
        use flexdesk_mirror::{DayFacts, OrderState, RescueFacts};
        let day = |orders| DayFacts {
            day: Some("2026-10-05".into()),
            currency: "USD".into(),
            is_mit: true,
            state: OrderState::Approved,
            decline_code: None,
            orders,
            amount_cents: 0,
            captured_cents: 0,
            refunded_cents: 0,
        };
        let rescue = |rescue_days, orders| RescueFacts {
            month: Some("2026-10".into()),
            currency: "USD".into(),
            is_mit: true,
            rescue_days,
            orders,
        };
        let req = |kind| ChartRequest {
            kind,
            currency: "USD".into(),
            from: Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
            to: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            granularity: Granularity::Day,
            top_n: 8,
            today: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        };
        let dated = OrderFacts { days: vec![day(5)], rescues: vec![rescue(Some(2), 5)], ..Default::default() };
        let chart = build_chart(&dated, &req(ChartKind::MitCohorts)).unwrap();
        assert!(chart.series[0].points.last().unwrap().drill.exact);
        let mixed =
            OrderFacts { days: vec![day(7)], rescues: vec![rescue(Some(2), 5), rescue(None, 2)], ..Default::default() };
        let chart = build_chart(&mixed, &req(ChartKind::MitCohorts)).unwrap();
        assert!(!chart.series[0].points.last().unwrap().drill.exact, "5 counted, 7 listed");
        assert!(chart.note.unwrap().contains("2 orders without"));
        let chart = build_chart(&mixed, &req(ChartKind::DaysToRescue)).unwrap();
        assert!(chart.note.unwrap().contains("2 orders without"));
    }

    #[test]
    fn money_and_rates_format_exactly() {
        assert_eq!(format_cents(123_456_789, "USD"), "USD 1,234,567.89");
        assert_eq!(format_cents(-5, "CAD"), "-CAD 0.05");
        assert_eq!(format_cents(1_234_567, "JPY"), "JPY 1,234,567");
        assert_eq!(format_cents(1_234_567, "KWD"), "KWD 1,234.567");
        assert_eq!(format_cents(-5, "KWD"), "-KWD 0.005");
        assert_eq!(format_bp(4537), "45.3 %");
        assert_eq!(rate_bp(1, 3), 3333);
        assert_eq!(rate_bp(0, 0), 0);
    }

    #[test]
    fn weeks_start_on_monday_and_months_roll_over() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default(); // a Thursday
        assert_eq!(bucket_start(d, Granularity::Week), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default());
        let dec = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        assert_eq!(next_bucket(dec, Granularity::Month), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default());
    }
}
