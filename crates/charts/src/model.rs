//! Chart data: what is drawn, and which orders each bar or point stands for.

use chrono::{DateTime, Utc};
use flexdesk_mirror::OrderState;
use serde::{Deserialize, Serialize};

/// Rescued orders: the rescue succeeded and money was captured.
pub const RESCUED: [OrderState; 4] =
    [OrderState::Approved, OrderState::PartiallyRefunded, OrderState::Refunded, OrderState::Chargeback];
/// Orders with a final outcome: rescued, or declined, expired, cancelled.
pub const DECIDED: [OrderState; 7] = [
    OrderState::Approved,
    OrderState::PartiallyRefunded,
    OrderState::Refunded,
    OrderState::Chargeback,
    OrderState::Declined,
    OrderState::Expired,
    OrderState::Cancelled,
];
/// Orders FlexFactor is still working on (their amount is "pending").
pub const PENDING: [OrderState; 3] = [OrderState::Pending, OrderState::Challenge, OrderState::CaptureRequired];
/// Orders with money given back.
pub const REFUNDED: [OrderState; 2] = [OrderState::PartiallyRefunded, OrderState::Refunded];
/// Decided but not rescued.
pub const NOT_RESCUED: [OrderState; 3] = [OrderState::Declined, OrderState::Expired, OrderState::Cancelled];

/// Every chart the Overview and the CLI draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChartKind {
    /// Recovered amount per day/week/month.
    RecoveredAmount,
    /// Recovery rate per day/week/month.
    RecoveryRate,
    /// Rescued vs not rescued, CIT and MIT.
    CitVsMit,
    /// Rescued vs not rescued by decline code (top N, then "Other").
    DeclineCodes,
    /// Submitted, approved, declined, expired, cancelled.
    Funnel,
    /// MIT monthly cohorts: cumulative share rescued by days since submission.
    MitCohorts,
    /// Rescued orders by days to rescue.
    DaysToRescue,
    /// Pending MIT orders by days until their expiry.
    PendingExpiry,
}

impl ChartKind {
    pub const ALL: [ChartKind; 8] = [
        ChartKind::RecoveredAmount,
        ChartKind::RecoveryRate,
        ChartKind::CitVsMit,
        ChartKind::DeclineCodes,
        ChartKind::Funnel,
        ChartKind::MitCohorts,
        ChartKind::DaysToRescue,
        ChartKind::PendingExpiry,
    ];

    /// The stable name (CLI argument, file names, DOM ids).
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::RecoveredAmount => "recovered-amount",
            ChartKind::RecoveryRate => "recovery-rate",
            ChartKind::CitVsMit => "cit-vs-mit",
            ChartKind::DeclineCodes => "decline-codes",
            ChartKind::Funnel => "funnel",
            ChartKind::MitCohorts => "mit-cohorts",
            ChartKind::DaysToRescue => "days-to-rescue",
            ChartKind::PendingExpiry => "pending-expiry",
        }
    }

    pub fn parse(s: &str) -> Option<ChartKind> {
        ChartKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Time buckets of the over-time charts (UTC; weeks are ISO weeks starting Monday).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }
}

/// What a value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Orders.
    Count,
    /// Minor units of the chart's currency.
    Cents,
    /// Hundredths of a percent (basis points): 10000 = 100 %.
    BasisPoints,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartStyle {
    /// One bar per category, series stacked.
    Bars,
    /// One line per series over the categories.
    Lines,
}

/// The orders a point stands for, as orders-list filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drill {
    /// Empty: any state.
    pub states: Vec<OrderState>,
    pub is_mit: Option<bool>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub decline_code: Option<String>,
    pub currency: Option<String>,
    /// Sort the list by soonest expiry (pending MIT).
    pub expiry_sort: bool,
    /// What the list shows as its heading.
    pub title: String,
    /// True when the filters select exactly the `count` orders of the point.
    pub exact: bool,
}

impl Drill {
    /// The mirror filter that lists these orders (newest first, or soonest expiry first).
    pub fn to_filter(&self) -> flexdesk_mirror::OrderFilter {
        flexdesk_mirror::OrderFilter {
            states: self.states.clone(),
            is_mit: self.is_mit,
            created_from: self.created_from,
            created_to: self.created_to,
            decline_code: self.decline_code.clone(),
            currency: self.currency.clone(),
            sort: if self.expiry_sort {
                flexdesk_mirror::OrderSort::ExpiryAsc
            } else {
                flexdesk_mirror::OrderSort::CreatedDesc
            },
            ..Default::default()
        }
    }
}

/// One bar segment or line point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Index into [`Chart::categories`].
    pub category: usize,
    /// In the series' unit.
    pub value: i64,
    /// Orders behind the value.
    pub count: u64,
    /// The exact value for people (tooltip), e.g. "USD 1,234.56 · 210 orders".
    pub label: String,
    pub drill: Drill,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub unit: Unit,
    pub points: Vec<Point>,
}

/// A chart ready to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    pub kind: ChartKind,
    pub title: String,
    /// Currency and range, e.g. "USD · 2026-08-25 to 2026-11-23 (UTC)".
    pub subtitle: String,
    pub style: ChartStyle,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Caveats people should read (e.g. why a click opens a superset).
    pub note: Option<String>,
    /// Decimals of the currency's minor unit (2 for USD, 0 for JPY): money values are in
    /// minor units and are drawn in major ones.
    pub money_digits: u32,
}

impl Chart {
    /// The largest stacked (bars) or single (lines) value, for the axis.
    pub fn max_value(&self) -> i64 {
        match self.style {
            ChartStyle::Bars => (0..self.categories.len())
                .map(|c| {
                    self.series.iter().flat_map(|s| &s.points).filter(|p| p.category == c).map(|p| p.value.max(0)).sum()
                })
                .max()
                .unwrap_or(0),
            ChartStyle::Lines => self.series.iter().flat_map(|s| &s.points).map(|p| p.value).max().unwrap_or(0),
        }
    }
}

/// One KPI tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpi {
    pub id: String,
    pub label: String,
    pub unit: Unit,
    pub value: i64,
    /// Orders behind the value (what the click-through list shows).
    pub count: u64,
    /// The value for people.
    pub display: String,
    pub drill: Drill,
}

/// The Overview's KPIs for one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpis {
    pub currency: String,
    pub recovered: Kpi,
    pub recovery_rate: Kpi,
    pub pending: Kpi,
    pub refunds: Kpi,
    pub net_recovered: Kpi,
}
