//! Read-only aggregates over the orders table, for the recovery charts (`flexdesk-charts`).
//!
//! Three grouped scans of one account's orders created in `[from, to)` (UTC). They carry no
//! recovery semantics of their own: the caller says which states count as rescued and which
//! as pending, and builds every KPI and chart from these groups. Nothing here writes.

use chrono::{DateTime, Utc};
use rusqlite::{params_from_iter, types::Value};

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
    args.extend(states.iter().map(|s| Value::Text(s.as_str().into())));
    vec!["?"; states.len().max(1)].join(", ")
}

impl Mirror {
    /// The grouped facts of `account_id`'s orders created in `[from, to)` (either bound
    /// optional). `rescued` selects the orders whose rescue time is measured, `pending`
    /// (with `is_mit`) those whose expiry is counted.
    #[tracing::instrument(skip_all, err)]
    pub fn order_facts(
        &self,
        account_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        rescued: &[OrderState],
        pending: &[OrderState],
    ) -> Result<OrderFacts, MirrorError> {
        let mut base = vec![Value::Text(account_id.to_string())];
        let mut range = String::from("account_id = ?");
        if let Some(f) = from {
            range.push_str(" AND created_at >= ?");
            base.push(Value::Text(ts(f)));
        }
        if let Some(t) = to {
            range.push_str(" AND created_at < ?");
            base.push(Value::Text(ts(t)));
        }

        let sql = format!(
            "SELECT substr(created_at, 1, 10), currency, is_mit, state, decline_code, COUNT(*),
                    SUM(amount_cents), SUM(captured_cents), SUM(refunded_cents)
             FROM orders WHERE {range} GROUP BY 1, 2, 3, 4, 5"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the day facts")?;
        let rows = stmt
            .query_map(params_from_iter(base.iter()), |r| {
                let state: String = r.get(3)?;
                Ok(DayFacts {
                    day: r.get(0)?,
                    currency: r.get(1)?,
                    is_mit: r.get(2)?,
                    state: OrderState::parse(&state).unwrap_or(OrderState::Problem),
                    decline_code: r.get(4)?,
                    orders: r.get::<_, i64>(5)? as u64,
                    amount_cents: r.get(6)?,
                    captured_cents: r.get(7)?,
                    refunded_cents: r.get(8)?,
                })
            })
            .op("reading the day facts")?;
        let days = rows.collect::<Result<Vec<_>, _>>().op("reading the day facts")?;

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
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(RescueFacts {
                    month: r.get(0)?,
                    currency: r.get(1)?,
                    is_mit: r.get(2)?,
                    rescue_days: r.get(3)?,
                    orders: r.get::<_, i64>(4)? as u64,
                })
            })
            .op("reading the rescue facts")?;
        let rescues = rows.collect::<Result<Vec<_>, _>>().op("reading the rescue facts")?;

        let mut args = base;
        let states = state_list(pending, &mut args);
        let sql = format!(
            "SELECT currency, substr(expiry_at, 1, 10), COUNT(*), SUM(amount_cents)
             FROM orders WHERE {range} AND is_mit = 1 AND state IN ({states}) GROUP BY 1, 2"
        );
        let mut stmt = self.conn.prepare_cached(&sql).op("preparing the expiry facts")?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(ExpiryFacts {
                    currency: r.get(0)?,
                    expiry_day: r.get(1)?,
                    orders: r.get::<_, i64>(2)? as u64,
                    amount_cents: r.get(3)?,
                })
            })
            .op("reading the expiry facts")?;
        let expiries = rows.collect::<Result<Vec<_>, _>>().op("reading the expiry facts")?;
        Ok(OrderFacts { days, rescues, expiries })
    }
}
