//! Recovery KPIs and charts for managers: aggregation over the mirror, chart data whose
//! every bar and point says which orders it counts, and rendering to SVG/PNG with plotters.
//!
//! What it does: reads grouped facts from the mirror ([`flexdesk_mirror::Mirror::order_facts`],
//! three grouped scans of one account's orders created in a UTC range), turns them into
//! [`Kpis`] and [`Chart`]s, and draws a chart with [`render_svg`] / [`render_png`] in a light
//! or dark [`Theme`]. What it deliberately does not do: no Tauri, no IPC types, no writes.
//!
//! # Recovery semantics (chosen here; the API defines none)
//!
//! Every number is for **one account, one currency and orders created (`createdOn`) in
//! `[from, to)`**, days in UTC. Money is never summed across currencies: the caller picks one
//! currency (the UI has a selector and defaults to the currency with the most orders).
//!
//! | Term | Definition |
//! |---|---|
//! | rescued | state Approved, PartiallyRefunded, Refunded or Chargeback ([`RESCUED`]) |
//! | decided | rescued, or Declined, Expired, Cancelled ([`DECIDED`]) |
//! | recovered | sum of `captured_cents` of rescued orders |
//! | recovery rate | rescued orders / decided orders (open orders are left out) |
//! | pending | sum of `amount_cents` of Pending, Challenge, CaptureRequired orders ([`PENDING`]) |
//! | refunds | sum of `refunded_cents` of PartiallyRefunded and Refunded orders ([`REFUNDED`]) |
//! | net recovered | recovered − refunds |
//! | days to rescue | whole days (truncated) from `placed_at` to `modified_at` of a rescued order. INFERRED: the API has no "approved at" time, and `modified_at` moves again on a later refund |
//! | MIT cohort | MIT orders created in one calendar month (UTC); the share of the cohort rescued within *d* days (days to rescue ≤ *d*) |
//! | pending MIT expiry | pending MIT orders by whole days from today (UTC) to their `expiry_at` day; "overdue" when that day is past |
//!
//! # Click-through
//!
//! Each [`Point`] carries a [`Drill`]: the orders-list filters (states, CIT/MIT, created
//! range, decline code, currency) that select the orders it counts. When `exact` is true the
//! filtered list's row count equals the point's `count`: time buckets are whole UTC
//! days/ISO weeks/months clipped to the range, so a bucket is a created range. The mirror's
//! list cannot filter on days-to-rescue, expiry or "any other decline code", so those
//! points (cohorts, days to rescue, expiry histogram, "Other" codes) open the nearest superset
//! and say so (`exact == false`).

mod build;
mod error;
mod model;
mod render;
mod theme;

pub use build::{build_chart, kpis, ChartRequest};
pub use error::ChartError;
pub use model::{
    Chart, ChartKind, ChartStyle, Drill, Granularity, Kpi, Kpis, Point, Series, Unit, DECIDED, PENDING, REFUNDED,
    RESCUED,
};
pub use render::{render_png, render_svg, Hit, RenderOptions};
pub use theme::Theme;

use chrono::{DateTime, Utc};
use flexdesk_mirror::{Mirror, OrderFacts};

/// Reads the facts every KPI and chart of one account and range is built from.
pub fn load_facts(
    mirror: &Mirror,
    account_id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<OrderFacts, ChartError> {
    Ok(mirror.order_facts(account_id, from, to, &RESCUED, &PENDING)?)
}

/// The currencies present in the facts, most orders first (the default is the first).
pub fn currencies(facts: &OrderFacts) -> Vec<String> {
    let mut totals: std::collections::BTreeMap<&str, u64> = Default::default();
    for d in &facts.days {
        *totals.entry(d.currency.as_str()).or_default() += d.orders;
    }
    let mut list: Vec<(&str, u64)> = totals.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list.into_iter().map(|(c, _)| c.to_string()).collect()
}
