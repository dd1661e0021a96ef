//! The recovery Overview's data-transfer types (KPIs, charts rendered to SVG, drill-downs).
//! TypeScript twins are generated with the other DTOs ([`crate::bindings`]).

use flexdesk_charts::{Chart, ChartKind, Drill, Granularity, Kpi, Theme, Unit};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dto::{OrderSortDto, OrderStateDto};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(rename = "ChartKind")]
pub enum ChartKindDto {
    RecoveredAmount,
    RecoveryRate,
    CitVsMit,
    DeclineCodes,
    Funnel,
    MitCohorts,
    DaysToRescue,
    PendingExpiry,
}

impl From<ChartKindDto> for ChartKind {
    fn from(k: ChartKindDto) -> Self {
        match k {
            ChartKindDto::RecoveredAmount => ChartKind::RecoveredAmount,
            ChartKindDto::RecoveryRate => ChartKind::RecoveryRate,
            ChartKindDto::CitVsMit => ChartKind::CitVsMit,
            ChartKindDto::DeclineCodes => ChartKind::DeclineCodes,
            ChartKindDto::Funnel => ChartKind::Funnel,
            ChartKindDto::MitCohorts => ChartKind::MitCohorts,
            ChartKindDto::DaysToRescue => ChartKind::DaysToRescue,
            ChartKindDto::PendingExpiry => ChartKind::PendingExpiry,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "ChartGranularity")]
pub enum GranularityDto {
    #[default]
    Day,
    Week,
    Month,
}

impl From<GranularityDto> for Granularity {
    fn from(g: GranularityDto) -> Self {
        match g {
            GranularityDto::Day => Granularity::Day,
            GranularityDto::Week => Granularity::Week,
            GranularityDto::Month => Granularity::Month,
        }
    }
}

/// The theme the chart is drawn in (the UI passes its effective theme).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "ChartTheme")]
pub enum ChartThemeDto {
    #[default]
    Light,
    Dark,
}

impl From<ChartThemeDto> for Theme {
    fn from(t: ChartThemeDto) -> Self {
        match t {
            ChartThemeDto::Light => Theme::Light,
            ChartThemeDto::Dark => Theme::Dark,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "ChartUnit")]
pub enum UnitDto {
    Count,
    Cents,
    BasisPoints,
}

impl From<Unit> for UnitDto {
    fn from(u: Unit) -> Self {
        match u {
            Unit::Count => UnitDto::Count,
            Unit::Cents => UnitDto::Cents,
            Unit::BasisPoints => UnitDto::BasisPoints,
        }
    }
}

/// The Overview's range and account. Dates are UTC days `YYYY-MM-DD`, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct OverviewQuery {
    pub from: String,
    pub to: String,
    /// Default: the active account.
    pub account_id: Option<String>,
    /// Default: the currency with the most orders in the range.
    pub currency: Option<String>,
}

/// One chart to draw: the Overview's range plus what and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartQuery {
    pub kind: ChartKindDto,
    pub range: OverviewQuery,
    #[serde(default)]
    pub granularity: GranularityDto,
    #[serde(default)]
    pub theme: ChartThemeDto,
    /// SVG pixels (the SVG scales to any size; this sets the text-to-plot ratio).
    pub width: u32,
    pub height: u32,
    /// Decline codes before "Other" (default 8).
    #[ts(optional)]
    pub top_n: Option<u32>,
}

/// Orders-list filters selecting the orders behind a KPI or a bar. Field names match
/// `OrderQuery`, so the UI hands them to the Orders screen as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DrillDto {
    pub states: Vec<OrderStateDto>,
    pub is_mit: Option<bool>,
    /// RFC 3339 UTC, inclusive.
    pub created_from: Option<String>,
    /// RFC 3339 UTC, exclusive.
    pub created_to: Option<String>,
    pub decline_code: Option<String>,
    pub currency: Option<String>,
    pub sort: Option<OrderSortDto>,
    pub title: String,
    /// True when the list shows exactly the orders counted; false when it is the nearest
    /// superset the list can filter (the title says which).
    pub exact: bool,
}

impl From<&Drill> for DrillDto {
    fn from(d: &Drill) -> Self {
        let t = |v: Option<chrono::DateTime<chrono::Utc>>| {
            v.map(|v| v.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        };
        DrillDto {
            states: d.states.iter().map(|s| (*s).into()).collect(),
            is_mit: d.is_mit,
            created_from: t(d.created_from),
            created_to: t(d.created_to),
            decline_code: d.decline_code.clone(),
            currency: d.currency.clone(),
            sort: d.expiry_sort.then_some(OrderSortDto::ExpiryAsc),
            title: d.title.clone(),
            exact: d.exact,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct KpiDto {
    pub id: String,
    pub label: String,
    pub unit: UnitDto,
    /// In `unit` (minor units of the currency, orders, or basis points).
    #[ts(type = "number")]
    pub value: i64,
    /// Orders behind the value (the click-through list's row count).
    #[ts(type = "number")]
    pub count: u64,
    /// Formatted for people, e.g. "USD 12,345.67" or "48.2 %".
    pub display: String,
    pub drill: DrillDto,
}

impl From<&Kpi> for KpiDto {
    fn from(k: &Kpi) -> Self {
        KpiDto {
            id: k.id.clone(),
            label: k.label.clone(),
            unit: k.unit.into(),
            value: k.value,
            count: k.count,
            display: k.display.clone(),
            drill: (&k.drill).into(),
        }
    }
}

/// The Overview's KPIs for one account, range and currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OverviewDto {
    pub account_id: String,
    /// Currencies with orders in the range, most orders first. Money is never summed across them.
    pub currencies: Vec<String>,
    /// The currency the KPIs (and charts) are in; empty when the range has no orders.
    pub currency: String,
    pub kpis: Vec<KpiDto>,
    /// Orders in the range, all currencies.
    #[ts(type = "number")]
    pub total_orders: u64,
    /// Milliseconds spent reading and aggregating (0 when served from the cache).
    #[ts(type = "number")]
    pub load_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartPointDto {
    pub category: u32,
    #[ts(type = "number")]
    pub value: i64,
    #[ts(type = "number")]
    pub count: u64,
    pub label: String,
    pub drill: DrillDto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartSeriesDto {
    pub name: String,
    pub unit: UnitDto,
    pub points: Vec<ChartPointDto>,
}

/// A chart drawn to SVG, with the data behind every bar (hit areas in the SVG carry
/// `data-series` and `data-point` indices into `series`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartView {
    pub kind: ChartKindDto,
    pub title: String,
    pub subtitle: String,
    pub note: Option<String>,
    pub currency: String,
    pub categories: Vec<String>,
    pub series: Vec<ChartSeriesDto>,
    pub svg: String,
    /// Milliseconds to build and draw (facts from the cache when warm).
    #[ts(type = "number")]
    pub render_ms: u64,
}

impl ChartView {
    pub fn new(kind: ChartKindDto, chart: &Chart, currency: &str, svg: String, render_ms: u64) -> ChartView {
        ChartView {
            kind,
            title: chart.title.clone(),
            subtitle: chart.subtitle.clone(),
            note: chart.note.clone(),
            currency: currency.to_string(),
            categories: chart.categories.clone(),
            series: chart
                .series
                .iter()
                .map(|s| ChartSeriesDto {
                    name: s.name.clone(),
                    unit: s.unit.into(),
                    points: s
                        .points
                        .iter()
                        .map(|p| ChartPointDto {
                            category: p.category as u32,
                            value: p.value,
                            count: p.count,
                            label: p.label.clone(),
                            drill: (&p.drill).into(),
                        })
                        .collect(),
                })
                .collect(),
            svg,
            render_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "ChartFormat")]
pub enum ChartFormatDto {
    Svg,
    Png,
}
