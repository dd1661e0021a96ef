//! The recovery Overview: KPIs and charts of one account, range and currency.
//!
//! Facts (three grouped scans, see `flexdesk-charts`) are read on a connection of their own,
//! so a long aggregation never holds up the orders list, and cached per account, range and
//! mirror data version: the Overview's KPIs and eight charts, theme and granularity changes
//! all reuse one read.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use flexdesk_charts::{build_chart, kpis, load_facts, render_png, render_svg, ChartKind, ChartRequest, RenderOptions};
use flexdesk_mirror::{Mirror, OrderFacts};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::chart_dto::{
    ChartFormatDto, ChartKindDto, ChartQuery, ChartView, GranularityDto, KpiDto, OverviewDto, OverviewQuery,
};
use crate::{AppCore, CoreError};

/// Decline codes shown before "Other" when the query does not say.
const DEFAULT_TOP_N: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
struct FactsKey {
    db: PathBuf,
    account_id: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    data_version: i64,
}

/// The last facts read (one Overview at a time is on screen).
static FACTS: Mutex<Option<(FactsKey, Arc<OrderFacts>)>> = Mutex::new(None);

impl From<flexdesk_charts::ChartError> for CoreError {
    fn from(e: flexdesk_charts::ChartError) -> Self {
        match e {
            flexdesk_charts::ChartError::Mirror(m) => CoreError::Mirror(m),
            flexdesk_charts::ChartError::InvalidInput(m) => CoreError::InvalidInput(m),
            flexdesk_charts::ChartError::Render(m) => CoreError::Internal(m),
        }
    }
}

/// The longest Overview range (ten years).
const MAX_RANGE_DAYS: i64 = 3660;
/// The most days a chart draws one bar each (two years); longer ranges go by week or month.
const MAX_DAY_BARS: i64 = 731;

/// A resolved Overview range: `[from, to)` in UTC.
struct Range {
    account_id: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

fn day(name: &str, s: &str) -> Result<NaiveDate, CoreError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| CoreError::InvalidInput(format!("{name} must be a date such as 2026-11-01, not {s:?}")))
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

impl AppCore {
    fn chart_range(&self, q: &OverviewQuery) -> Result<Range, CoreError> {
        let from = day("The start date", &q.from)?;
        let to = day("The end date", &q.to)?;
        if to < from {
            return Err(CoreError::InvalidInput(format!("The end date {to} is before the start date {from}.")));
        }
        // A year typed half-way (0026) or a far one would read centuries of empty days.
        for (name, d) in [("start", from), ("end", to)] {
            if !(2000..=2100).contains(&d.year()) {
                return Err(CoreError::InvalidInput(format!(
                    "The {name} date {d} is outside 2000–2100: check the year."
                )));
            }
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(CoreError::InvalidInput(format!(
                "The range from {from} to {to} is longer than {} years: choose a shorter one.",
                MAX_RANGE_DAYS / 366
            )));
        }
        let account_id = match q.account_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(a) => a.to_string(),
            None => self.active_account_id()?,
        };
        Ok(Range { account_id, from: midnight(from), to: midnight(to) + Duration::days(1) })
    }

    /// The facts of a range: from the cache when the mirror has not changed since.
    fn chart_facts(&self, r: &Range) -> Result<(Arc<OrderFacts>, u64), CoreError> {
        let db = self.data_dir().join("mirror.sqlite3");
        let data_version = self.with_reader(|m| Ok(m.data_version()?))?;
        let key = FactsKey { db, account_id: r.account_id.clone(), from: r.from, to: r.to, data_version };
        {
            let cache = FACTS.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((k, facts)) = cache.as_ref() {
                if *k == key {
                    return Ok((facts.clone(), 0));
                }
            }
        }
        let started = Instant::now();
        // A connection of its own: a long scan must not hold the shared reader.
        let mirror = Mirror::open(&key.db)?;
        let facts = Arc::new(load_facts(&mirror, &r.account_id, Some(r.from), Some(r.to))?);
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(ms, groups = facts.days.len(), "chart facts read");
        *FACTS.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, facts.clone()));
        Ok((facts, ms))
    }

    fn pick_currency(facts: &OrderFacts, wanted: Option<&str>) -> (Vec<String>, String) {
        let list = flexdesk_charts::currencies(facts);
        let currency = match wanted.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => c.to_uppercase(),
            // No orders in the range: no currency (the Overview says so instead of a USD zero).
            None => list.first().cloned().unwrap_or_default(),
        };
        (list, currency)
    }

    /// KPIs of one account, range and currency, each with the filters of its orders.
    pub fn chart_overview(&self, q: &OverviewQuery) -> Result<OverviewDto, CoreError> {
        let r = self.chart_range(q)?;
        let (facts, load_ms) = self.chart_facts(&r)?;
        let (currencies, currency) = Self::pick_currency(&facts, q.currency.as_deref());
        let k = kpis(&facts, &currency, r.from, r.to);
        Ok(OverviewDto {
            account_id: r.account_id,
            currencies,
            currency,
            kpis: [&k.recovered, &k.recovery_rate, &k.pending, &k.refunds, &k.net_recovered]
                .into_iter()
                .map(KpiDto::from)
                .collect(),
            total_orders: facts.days.iter().map(|d| d.orders).sum(),
            load_ms,
        })
    }

    fn chart_request(&self, q: &ChartQuery) -> Result<(ChartRequest, Arc<OrderFacts>), CoreError> {
        let r = self.chart_range(&q.range)?;
        let (facts, _) = self.chart_facts(&r)?;
        let (_, currency) = Self::pick_currency(&facts, q.range.currency.as_deref());
        // Only the charts over time draw a bar per day (the others ignore the granularity).
        let over_time = matches!(q.kind, ChartKindDto::RecoveredAmount | ChartKindDto::RecoveryRate);
        if over_time && q.granularity == GranularityDto::Day && (r.to - r.from).num_days() > MAX_DAY_BARS {
            return Err(CoreError::InvalidInput(format!(
                "{} days are too many bars to read: show weeks or months for a range this long.",
                (r.to - r.from).num_days()
            )));
        }
        let req = ChartRequest {
            kind: ChartKind::from(q.kind),
            currency,
            from: r.from,
            to: r.to,
            granularity: q.granularity.into(),
            top_n: q.top_n.map(|n| n.clamp(1, 30) as usize).unwrap_or(DEFAULT_TOP_N),
            today: Utc::now().date_naive(),
        };
        Ok((req, facts))
    }

    fn render_options(q: &ChartQuery, interactive: bool) -> RenderOptions {
        RenderOptions {
            width: q.width.clamp(240, 4000),
            height: q.height.clamp(160, 3000),
            theme: q.theme.into(),
            interactive,
        }
    }

    /// One chart as interactive SVG plus the data and drill-down filters behind it.
    pub fn render_chart(&self, q: &ChartQuery) -> Result<ChartView, CoreError> {
        let started = Instant::now();
        let (req, facts) = self.chart_request(q)?;
        let chart = build_chart(&facts, &req)?;
        let svg = render_svg(&chart, &Self::render_options(q, true))?;
        Ok(ChartView::new(q.kind, &chart, &req.currency, svg, started.elapsed().as_millis() as u64))
    }

    /// Writes one chart to `dir` (default: `<data dir>/exports`) as SVG or PNG; returns the file.
    pub fn export_chart(
        &self,
        q: &ChartQuery,
        format: ChartFormatDto,
        dir: Option<&Path>,
    ) -> Result<String, CoreError> {
        let (req, _) = self.chart_request(q)?;
        let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| self.data_dir().join("exports"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| CoreError::Internal(format!("cannot create the export folder {}: {e}", dir.display())))?;
        let last = (req.to - Duration::days(1)).format("%Y-%m-%d");
        let ext = match format {
            ChartFormatDto::Svg => "svg",
            ChartFormatDto::Png => "png",
        };
        let path =
            dir.join(format!("{}-{}-{}-to-{last}.{ext}", req.kind.as_str(), req.currency, req.from.format("%Y-%m-%d")));
        self.write_chart(q, &path)?;
        Ok(path.display().to_string())
    }

    /// Writes one chart to `path`: PNG when the name ends in `.png`, SVG when in `.svg`.
    pub fn write_chart(&self, q: &ChartQuery, path: &Path) -> Result<(), CoreError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let (req, facts) = self.chart_request(q)?;
        let chart = build_chart(&facts, &req)?;
        let opts = Self::render_options(q, false);
        match ext.as_deref() {
            Some("svg") => {
                let svg = render_svg(&chart, &opts)?;
                std::fs::write(path, svg)
                    .map_err(|e| CoreError::Internal(format!("cannot write {}: {e}", path.display())))
            }
            Some("png") => Ok(render_png(&chart, &opts, path)?),
            _ => Err(CoreError::InvalidInput(format!(
                "{} must end in .svg or .png (the file type is taken from the name)",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_typed_year_or_a_huge_range_is_refused_before_anything_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut config =
            crate::CoreConfig::new(dir.path().to_path_buf(), Arc::new(flexdesk_secrets::MemoryStore::new()));
        config.background_sync = false;
        let app = AppCore::open(config).unwrap();
        let range = |from: &str, to: &str| OverviewQuery {
            from: from.into(),
            to: to.into(),
            account_id: Some("acct".into()),
            currency: None,
        };
        let refused = |q: &OverviewQuery| app.chart_range(q).err().map(|e| e.user_message()).unwrap_or_default();
        assert!(refused(&range("0026-01-01", "2026-01-01")).contains("check the year"));
        assert!(refused(&range("2026-01-01", "9999-12-31")).contains("check the year"));
        assert!(app.chart_range(&range("2026-01-01", "+262143-12-31")).is_err());
        assert!(refused(&range("2001-01-01", "2026-01-01")).contains("choose a shorter one"));
        assert!(app.chart_range(&range("2024-01-01", "2026-01-01")).is_ok());
        let chart = |granularity| ChartQuery {
            kind: ChartKindDto::RecoveredAmount,
            range: range("2020-01-01", "2026-01-01"),
            granularity,
            theme: Default::default(),
            width: 600,
            height: 300,
            top_n: None,
        };
        let err = app.chart_request(&chart(GranularityDto::Day)).err().map(|e| e.user_message()).unwrap_or_default();
        assert!(err.contains("weeks or months"), "{err}");
        // A chart that does not go by day is not refused for it (it fails later here: no account).
        let funnel = ChartQuery { kind: ChartKindDto::Funnel, ..chart(GranularityDto::Day) };
        let err = app.chart_request(&funnel).err().map(|e| e.user_message()).unwrap_or_default();
        assert!(!err.contains("weeks or months"), "{err}");
    }

    #[test]
    fn a_range_without_orders_has_no_currency_and_a_chosen_one_is_kept() {
        let empty = OrderFacts::default();
        assert_eq!(AppCore::pick_currency(&empty, None), (Vec::new(), String::new()));
        assert_eq!(AppCore::pick_currency(&empty, Some(" eur ")).1, "EUR");
    }
}
