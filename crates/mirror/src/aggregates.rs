//! Read-only aggregates over the orders table, for the recovery charts (`flexdesk-charts`).
//!
//! Three groupings of one account's orders created in `[from, to)` (UTC). They carry no
//! recovery semantics of their own: the caller says which states count as rescued and which
//! as pending, and builds every KPI and chart from these groups. Nothing here writes.
//!
//! The whole UTC days of the range are read from the rollup tables the `orders` triggers keep
//! (migration 0006: `rollup_days`, `rollup_rescue`, `rollup_expiry`); the partial days at
//! either end are scanned from `orders` through its creation-time index. The result is
//! exactly what grouping the orders themselves gives ([`Mirror::order_facts_from_orders`],
//! which is also used while a bulk load has the rollup triggers off).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc};
use rusqlite::{params_from_iter, types::Value};
use std::collections::BTreeMap;

use crate::error::{MirrorError, SqlContext};
use crate::{Mirror, OrderState};

/// Orders grouped by UTC creation day, currency, CIT/MIT, state and decline code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFacts {
    /// `YYYY-MM-DD` of `created_at` (UTC); `None` when the order has no time at all.
    pub day: Option<String>,
    pub currency: String,
    pub is_mit: bool,
    pub state: OrderState,
    pub decline_code: Option<String>,
    pub orders: u64,
    pub amount_cents: i64,
    pub captured_cents: i64,
    pub refunded_cents: i64,
}

/// Rescued orders grouped by creation month, currency, CIT/MIT and whole days from
/// `placed_at` to `modified_at` (truncated; `None` when either time is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescueFacts {
    /// `YYYY-MM` of `created_at` (UTC).
    pub month: Option<String>,
    pub currency: String,
    pub is_mit: bool,
    pub rescue_days: Option<i64>,
    pub orders: u64,
}

/// Pending MIT orders grouped by currency and UTC day of `expiry_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryFacts {
    pub currency: String,
    /// `YYYY-MM-DD` of `expiry_at` (UTC); `None` when the order has no expiry.
    pub expiry_day: Option<String>,
    pub orders: u64,
    pub amount_cents: i64,
}

/// Everything the charts need for one account and time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFacts {
    pub days: Vec<DayFacts>,
    pub rescues: Vec<RescueFacts>,
    pub expiries: Vec<ExpiryFacts>,
}

fn ts(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn state_list(states: &[OrderState], args: &mut Vec<Value>) -> String {
    if states.is_empty() {
        // `IN (NULL)` matches nothing, as no state asked for.
        return "NULL".into();
    }
    args.extend(states.iter().map(|s| Value::Text(s.as_str().into())));
    vec!["?"; states.len()].join(", ")
}

/// Which part of the range a query covers: created-time bounds on `orders`, or whole days
/// on a rollup.
enum Span {
    /// `created_at` in `[from, to)` (either optional); scanned from `orders`.
    Orders(Option<String>, Option<String>),
    /// Whole days `[from_day, to_day)` of a rollup (either optional); `with_undated` also
    /// takes the orders without a creation time (only when the range is unbounded).
    Days { from_day: Option<String>, to_day: Option<String>, with_undated: bool },
}

fn day_start(d: DateTime<Utc>) -> DateTime<Utc> {
    d.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Splits `[from, to)` into partial days at the ends (read from `orders`) and the whole days
/// between them (read from the rollups).
fn spans(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Vec<Span> {
    let day = |d: DateTime<Utc>| d.format("%Y-%m-%d").to_string();
    // First whole day: `from`'s day if it starts at midnight, else the next one.
    let first_full = from.map(|f| if day_start(f) == f { f } else { day_start(f) + Duration::days(1) });
    // End (exclusive) of the whole days: the start of `to`'s day.
    let end_full = to.map(day_start);
    if let (Some(a), Some(b)) = (first_full, end_full) {
        if a >= b {
            return vec![Span::Orders(from.map(ts), to.map(ts))];
        }
    }
    let mut out = Vec::new();
    if let (Some(f), Some(a)) = (from, first_full) {
        if f < a {
            out.push(Span::Orders(Some(ts(f)), Some(ts(a))));
        }
    }
    out.push(Span::Days {
        from_day: first_full.map(day),
        to_day: end_full.map(day),
        with_undated: from.is_none() && to.is_none(),
    });
    if let (Some(t), Some(b)) = (to, end_full) {
        if b < t {
            out.push(Span::Orders(Some(ts(b)), Some(ts(t))));
        }
    }
    out
}

impl Span {
    /// The WHERE clause (after `account_id = ?`) and its arguments.
    fn clause(&self, args: &mut Vec<Value>) -> String {
        let mut sql = String::new();
        match self {
            Span::Orders(from, to) => {
                if let Some(f) = from {
                    sql.push_str(" AND created_at >= ?");
                    args.push(Value::Text(f.clone()));
                }
                if let Some(t) = to {
                    sql.push_str(" AND created_at < ?");
                    args.push(Value::Text(t.clone()));
                }
            }
            Span::Days { from_day, to_day, with_undated } => {
                if let Some(f) = from_day {
                    sql.push_str(" AND day >= ?");
                    args.push(Value::Text(f.clone()));
                }
                if let Some(t) = to_day {
                    sql.push_str(" AND day < ?");
                    args.push(Value::Text(t.clone()));
                }
                if !with_undated {
                    sql.push_str(" AND day <> ''");
                }
            }
        }
        sql
    }
}

/// The rescue rollup reads for whole days `[from_day, to_day)`: whole months from
/// `rollup_rescue_month`, the days of the partial months at either end from `rollup_rescue`.
/// Each part is `(table, key column, lower bound, upper bound)`.
fn rescue_parts(
    from_day: Option<&str>,
    to_day: Option<&str>,
) -> Vec<(&'static str, &'static str, Option<String>, Option<String>)> {
    let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let next_month = |d: NaiveDate| month_start(d).checked_add_months(Months::new(1)).unwrap_or(d);
    let ym = |d: NaiveDate| d.format("%Y-%m").to_string();
    let ymd = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let (from, to) = (from_day.map(parse), to_day.map(parse));
    // Unparseable bounds (never produced by `spans`): read the days table for the whole span.
    if matches!(from, Some(None)) || matches!(to, Some(None)) {
        return vec![("rollup_rescue", "day", from_day.map(str::to_string), to_day.map(str::to_string))];
    }
    let (from, to) = (from.flatten(), to.flatten());
    // First whole month, and the end (exclusive) of the whole months.
    let first = from.map(|f| if month_start(f) == f { f } else { next_month(f) });
    let end = to.map(month_start);
    if let (Some(a), Some(b)) = (first, end) {
        if a >= b {
            return vec![("rollup_rescue", "day", from_day.map(str::to_string), to_day.map(str::to_string))];
        }
    }
    let mut parts = Vec::new();
    if let (Some(f), Some(a)) = (from, first) {
        if f < a {
            parts.push(("rollup_rescue", "day", Some(ymd(f)), Some(ymd(a))));
        }
    }
    parts.push(("rollup_rescue_month", "month", first.map(ym), end.map(ym)));
    if let (Some(t), Some(b)) = (to, end) {
        if b < t {
            parts.push(("rollup_rescue", "day", Some(ymd(b)), Some(ymd(t))));
        }
    }
    parts
}

type DayKey = (Option<String>, String, bool, String, Option<String>);
type RescueKey = (Option<String>, String, bool, Option<i64>);
type ExpiryKey = (String, Option<String>);

/// Sums of groups read from several spans.
#[derive(Default)]
struct Merge {
    /// Day groups of different spans never share a day, so they are collected, sorted and
    /// summed once (the rollup's rows arrive sorted already).
    days: Vec<(DayKey, [i64; 4])>,
    rescues: BTreeMap<RescueKey, i64>,
    expiries: BTreeMap<ExpiryKey, [i64; 2]>,
}

impl Merge {
    fn into_facts(mut self) -> OrderFacts {
        self.days.sort_by(|a, b| a.0.cmp(&b.0));
        let mut summed: Vec<(DayKey, [i64; 4])> = Vec::with_capacity(self.days.len());
        for (key, v) in self.days {
            match summed.last_mut() {
                Some((k, acc)) if *k == key => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
                _ => summed.push((key, v)),
            }
        }
        let days = summed
            .into_iter()
            .filter(|(_, v)| v[0] > 0)
            .map(|((day, currency, is_mit, state, decline_code), v)| DayFacts {
                day,
                currency,
                is_mit,
                state: OrderState::parse(&state).unwrap_or(OrderState::Problem),
                decline_code,
                orders: v[0] as u64,
                amount_cents: v[1],
                captured_cents: v[2],
                refunded_cents: v[3],
            })
            .collect();
        let rescues = self
            .rescues
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((month, currency, is_mit, rescue_days), n)| RescueFacts {
                month,
                currency,
                is_mit,
                rescue_days,
                orders: n as u64,
            })
            .collect();
        let expiries = self
            .expiries
            .into_iter()
            .filter(|(_, v)| v[0] > 0)
            .map(|((currency, expiry_day), v)| ExpiryFacts {
                currency,
                expiry_day,
                orders: v[0] as u64,
                amount_cents: v[1],
            })
            .collect();
        OrderFacts { days, rescues, expiries }
    }
}

/// `''` (the rollups' "none") back to `None`.
fn none_if_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl Mirror {
    /// The grouped facts of `account_id`'s orders created in `[from, to)` (either bound
    /// optional). `rescued` selects the orders whose rescue time is measured, `pending`
    /// (with `is_mit`) those whose expiry is counted. Whole days come from the rollups, the
    /// partial days at the ends from `orders`.
    #[tracing::instrument(skip_all, err)]
    pub fn order_facts(
        &self,
        account_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        rescued: &[OrderState],
        pending: &[OrderState],
    ) -> Result<OrderFacts, MirrorError> {
        if self.bulk_loading()? {
            return self.order_facts_from_orders(account_id, from, to, rescued, pending);
        }
        let mut merge = Merge::default();
        for span in spans(from, to) {
            match span {
                Span::Orders(..) => self.facts_from_orders(&mut merge, account_id, &span, rescued, pending)?,
                Span::Days { .. } => self.facts_from_rollups(&mut merge, account_id, &span, rescued, pending)?,
            }
        }
        Ok(merge.into_facts())
    }

    /// The same facts grouped straight from `orders` (one scan of the range; slow over a large
    /// mirror). The reference the rollups are checked against.
    pub fn order_facts_from_orders(
        &self,
        account_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        rescued: &[OrderState],
        pending: &[OrderState],
    ) -> Result<OrderFacts, MirrorError> {
        let mut merge = Merge::default();
        self.facts_from_orders(&mut merge, account_id, &Span::Orders(from.map(ts), to.map(ts)), rescued, pending)?;
        Ok(merge.into_facts())
    }

    fn facts_from_orders(
        &self,
        merge: &mut Merge,
        account_id: &str,
        span: &Span,
        rescued: &[OrderState],
        pending: &[OrderState],
    ) -> Result<(), MirrorError> {
        let mut base = vec![Value::Text(account_id.to_string())];
        let range = format!("account_id = ?{}", span.clause(&mut base));

        let sql = format!(
            "SELECT substr(created_at, 1, 10), currency, is_mit, state, decline_code, COUNT(*),
                    SUM(amount_cents), SUM(captured_cents), SUM(refunded_cents)
             FROM orders WHERE {range} GROUP BY 1, 2, 3, 4, 5"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the day facts")?;
        let mut rows = stmt.query(params_from_iter(base.iter())).op("reading the day facts")?;
        while let Some(r) = rows.next().op("reading the day facts")? {
            let key: DayKey = (
                r.get(0).op("reading the day facts")?,
                r.get(1).op("reading the day facts")?,
                r.get(2).op("reading the day facts")?,
                r.get(3).op("reading the day facts")?,
                r.get(4).op("reading the day facts")?,
            );
            let mut v = [0i64; 4];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = r.get::<_, i64>(5 + i).op("reading the day facts")?;
            }
            merge.days.push((key, v));
        }

        let mut args = base.clone();
        let states = state_list(rescued, &mut args);
        let sql = format!(
            "SELECT substr(created_at, 1, 7), currency, is_mit,
                    CASE WHEN modified_at IS NULL OR placed_at IS NULL THEN NULL
                         ELSE CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000
                    END,
                    COUNT(*)
             FROM orders WHERE {range} AND state IN ({states}) GROUP BY 1, 2, 3, 4"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the rescue facts")?;
        let mut rows = stmt.query(params_from_iter(args.iter())).op("reading the rescue facts")?;
        while let Some(r) = rows.next().op("reading the rescue facts")? {
            let key: RescueKey = (
                r.get(0).op("reading the rescue facts")?,
                r.get(1).op("reading the rescue facts")?,
                r.get(2).op("reading the rescue facts")?,
                r.get(3).op("reading the rescue facts")?,
            );
            *merge.rescues.entry(key).or_default() += r.get::<_, i64>(4).op("reading the rescue facts")?;
        }

        let mut args = base;
        let states = state_list(pending, &mut args);
        let sql = format!(
            "SELECT currency, substr(expiry_at, 1, 10), COUNT(*), SUM(amount_cents)
             FROM orders WHERE {range} AND is_mit = 1 AND state IN ({states}) GROUP BY 1, 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the expiry facts")?;
        let mut rows = stmt.query(params_from_iter(args.iter())).op("reading the expiry facts")?;
        while let Some(r) = rows.next().op("reading the expiry facts")? {
            let key: ExpiryKey = (r.get(0).op("reading the expiry facts")?, r.get(1).op("reading the expiry facts")?);
            let slot = merge.expiries.entry(key).or_default();
            slot[0] += r.get::<_, i64>(2).op("reading the expiry facts")?;
            slot[1] += r.get::<_, i64>(3).op("reading the expiry facts")?;
        }
        Ok(())
    }

    fn facts_from_rollups(
        &self,
        merge: &mut Merge,
        account_id: &str,
        span: &Span,
        rescued: &[OrderState],
        pending: &[OrderState],
    ) -> Result<(), MirrorError> {
        let mut base = vec![Value::Text(account_id.to_string())];
        let range = format!("account_id = ?{}", span.clause(&mut base));

        let sql = format!(
            "SELECT day, currency, is_mit, state, decline, SUM(orders), SUM(amount_cents), SUM(captured_cents),
                    SUM(refunded_cents)
             FROM rollup_days WHERE {range} GROUP BY 1, 2, 3, 4, 5"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the day rollup")?;
        let mut rows = stmt.query(params_from_iter(base.iter())).op("reading the day rollup")?;
        while let Some(r) = rows.next().op("reading the day rollup")? {
            let decline: String = r.get(4).op("reading the day rollup")?;
            let key: DayKey = (
                none_if_empty(r.get(0).op("reading the day rollup")?),
                r.get(1).op("reading the day rollup")?,
                r.get(2).op("reading the day rollup")?,
                r.get(3).op("reading the day rollup")?,
                decline.strip_prefix('=').map(str::to_string),
            );
            let mut v = [0i64; 4];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = r.get::<_, i64>(5 + i).op("reading the day rollup")?;
            }
            merge.days.push((key, v));
        }

        if let Span::Days { from_day, to_day, with_undated } = span {
            for (table, column, lo, hi) in rescue_parts(from_day.as_deref(), to_day.as_deref()) {
                let mut args = vec![Value::Text(account_id.to_string())];
                let states = state_list(rescued, &mut args);
                let mut sql = format!(
                    "SELECT substr({column}, 1, 7), currency, is_mit, CASE WHEN has_days THEN rescue_days END, SUM(orders)
                     FROM {table} WHERE account_id = ? AND state IN ({states})"
                );
                if let Some(lo) = lo {
                    sql.push_str(&format!(" AND {column} >= ?"));
                    args.push(Value::Text(lo));
                }
                if let Some(hi) = hi {
                    sql.push_str(&format!(" AND {column} < ?"));
                    args.push(Value::Text(hi));
                }
                if !with_undated {
                    sql.push_str(&format!(" AND {column} <> ''"));
                }
                sql.push_str(" GROUP BY 1, 2, 3, 4");
                let mut stmt = self.conn.prepare_cached(&sql).op("preparing the rescue rollup")?;
                let mut rows = stmt.query(params_from_iter(args.iter())).op("reading the rescue rollup")?;
                while let Some(r) = rows.next().op("reading the rescue rollup")? {
                    let key: RescueKey = (
                        none_if_empty(r.get(0).op("reading the rescue rollup")?),
                        r.get(1).op("reading the rescue rollup")?,
                        r.get(2).op("reading the rescue rollup")?,
                        r.get(3).op("reading the rescue rollup")?,
                    );
                    *merge.rescues.entry(key).or_default() += r.get::<_, i64>(4).op("reading the rescue rollup")?;
                }
            }
        }

        let mut args = base;
        let states = state_list(pending, &mut args);
        let sql = format!(
            "SELECT currency, expiry_day, SUM(orders), SUM(amount_cents)
             FROM rollup_expiry WHERE {range} AND state IN ({states}) GROUP BY 1, 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the expiry rollup")?;
        let mut rows = stmt.query(params_from_iter(args.iter())).op("reading the expiry rollup")?;
        while let Some(r) = rows.next().op("reading the expiry rollup")? {
            let key: ExpiryKey =
                (r.get(0).op("reading the expiry rollup")?, none_if_empty(r.get(1).op("reading the expiry rollup")?));
            let slot = merge.expiries.entry(key).or_default();
            slot[0] += r.get::<_, i64>(2).op("reading the expiry rollup")?;
            slot[1] += r.get::<_, i64>(3).op("reading the expiry rollup")?;
        }
        Ok(())
    }
}
