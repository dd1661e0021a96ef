//! Rollup contributions computed in Rust for the rows a bulk load inserts.
//!
//! While a bulk load has the rollup triggers off, [`Mirror::apply_orders`](crate::Mirror)
//! adds up what each inserted row contributes (exactly what the `orders_rollup_ai` trigger of
//! migration 0006 would have added) and upserts the sums into the rollup tables in the same
//! transaction as the rows, so rows and their rollups commit together. Anything it cannot
//! compute exactly like SQLite (a row updated or deleted during the load, a timestamp outside
//! the years SQLite's date functions read) marks the rollups stale instead, and
//! `finish_bulk_load` then recomputes them from the orders.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use rusqlite::Transaction;

use crate::error::{MirrorError, SqlContext};

/// `mirror_marks` row set when the rollups must be recomputed when the bulk load finishes.
pub(crate) const ROLLUPS_STALE_MARK: &str = "rollups_stale";

/// Milliseconds per day (the rescue-days divisor of the SQL rollups).
const DAY_MS: i64 = 86_400_000;

/// The first `n` characters of a stored timestamp: SQL `substr(ts, 1, n)` (timestamps are
/// ASCII), or `''` when there is none (`coalesce(…, '')`).
fn prefix(ts: Option<&str>, n: usize) -> String {
    ts.map(|s| s.chars().take(n).collect()).unwrap_or_default()
}

/// Whole days from `placed` to `modified`, as the SQL
/// `CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000`
/// computes it on the stored millisecond timestamps: `Ok(None)` when either is missing,
/// `Err(())` when SQLite's reading could differ (a year it does not read as four digits).
fn rescue_days(placed: Option<DateTime<Utc>>, modified: Option<DateTime<Utc>>) -> Result<Option<i64>, ()> {
    let (Some(p), Some(m)) = (placed, modified) else {
        return Ok(None);
    };
    for d in [p, m] {
        if !(0..=9999).contains(&d.year()) {
            return Err(());
        }
    }
    // julianday() keeps whole milliseconds (iJD); the stored text has the milliseconds of
    // `timestamp_millis` (truncated, never rounded). Integer division truncates toward zero
    // in both SQLite and Rust.
    Ok(Some((m.timestamp_millis() - p.timestamp_millis()) / DAY_MS))
}

/// One inserted row, as the rollups see it.
pub(crate) struct RollupRow<'a> {
    pub created_at: Option<&'a str>,
    pub expiry_at: Option<&'a str>,
    pub placed: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub currency: &'a str,
    pub is_mit: bool,
    pub state: &'static str,
    pub decline_code: Option<&'a str>,
    pub amount_cents: i64,
    pub captured_cents: i64,
    pub refunded_cents: i64,
}

type DayKey = (String, String, bool, &'static str, String);
type RescueKey = (&'static str, String, String, bool, bool, i64);
type ExpiryKey = (&'static str, String, String, String);

/// Sums of the contributions of the rows one apply inserted.
#[derive(Default)]
pub(crate) struct RollupDelta {
    days: HashMap<DayKey, [i64; 4]>,
    rescue: HashMap<RescueKey, i64>,
    rescue_month: HashMap<RescueKey, i64>,
    expiry: HashMap<ExpiryKey, [i64; 2]>,
    /// Something could not be computed exactly: recompute at the end of the load.
    pub stale: bool,
}

impl RollupDelta {
    pub fn add(&mut self, r: &RollupRow<'_>) {
        let day = prefix(r.created_at, 10);
        let decline = r.decline_code.map(|c| format!("={c}")).unwrap_or_default();
        let sums = self.days.entry((day.clone(), r.currency.to_string(), r.is_mit, r.state, decline)).or_default();
        sums[0] += 1;
        sums[1] += r.amount_cents;
        sums[2] += r.captured_cents;
        sums[3] += r.refunded_cents;
        match rescue_days(r.placed, r.modified) {
            Ok(d) => {
                let (has, days) = (d.is_some(), d.unwrap_or(0));
                let month = prefix(r.created_at, 7);
                *self.rescue.entry((r.state, day.clone(), r.currency.to_string(), r.is_mit, has, days)).or_default() +=
                    1;
                *self.rescue_month.entry((r.state, month, r.currency.to_string(), r.is_mit, has, days)).or_default() +=
                    1;
            }
            Err(()) => self.stale = true,
        }
        if r.is_mit {
            let sums = self.expiry.entry((r.state, day, r.currency.to_string(), prefix(r.expiry_at, 10))).or_default();
            sums[0] += 1;
            sums[1] += r.amount_cents;
        }
    }

    /// Adds the sums to the rollup tables (or marks them stale) inside `tx`.
    pub fn write(self, tx: &Transaction<'_>, account_id: &str) -> Result<(), MirrorError> {
        if self.stale {
            return mark_rollups_stale(tx);
        }
        let mut days = tx
            .prepare_cached(
                "INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents,
                    captured_cents, refunded_cents)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT DO UPDATE SET orders = orders + excluded.orders,
                    amount_cents = amount_cents + excluded.amount_cents,
                    captured_cents = captured_cents + excluded.captured_cents,
                    refunded_cents = refunded_cents + excluded.refunded_cents",
            )
            .op("preparing a rollup upsert")?;
        for ((day, currency, is_mit, state, decline), [n, amount, captured, refunded]) in &self.days {
            days.execute(rusqlite::params![
                account_id, day, currency, is_mit, state, decline, n, amount, captured, refunded
            ])
            .op("adding to the day rollup")?;
        }
        for (table, column, groups) in
            [("rollup_rescue", "day", &self.rescue), ("rollup_rescue_month", "month", &self.rescue_month)]
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO {table} (account_id, state, {column}, currency, is_mit, has_days, rescue_days, orders)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT DO UPDATE SET orders = orders + excluded.orders"
                ))
                .op("preparing a rollup upsert")?;
            for ((state, period, currency, is_mit, has, days), n) in groups {
                stmt.execute(rusqlite::params![account_id, state, period, currency, is_mit, has, days, n])
                    .op("adding to the rescue rollup")?;
            }
        }
        let mut expiry = tx
            .prepare_cached(
                "INSERT INTO rollup_expiry (account_id, state, day, currency, expiry_day, orders, amount_cents)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO UPDATE SET orders = orders + excluded.orders,
                    amount_cents = amount_cents + excluded.amount_cents",
            )
            .op("preparing a rollup upsert")?;
        for ((state, day, currency, expiry_day), [n, amount]) in &self.expiry {
            expiry
                .execute(rusqlite::params![account_id, state, day, currency, expiry_day, n, amount])
                .op("adding to the expiry rollup")?;
        }
        Ok(())
    }
}

/// Marks the rollups for recomputation when the bulk load finishes.
pub(crate) fn mark_rollups_stale(conn: &rusqlite::Connection) -> Result<(), MirrorError> {
    conn.execute(
        "INSERT INTO mirror_marks (name, value) VALUES (?1, 1) ON CONFLICT(name) DO UPDATE SET value = 1",
        [ROLLUPS_STALE_MARK],
    )
    .op("marking the rollups stale")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rescue_days_truncate_toward_zero_like_sqlite_integer_division() {
        let p = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let day = chrono::Duration::days(1);
        let ms = chrono::Duration::milliseconds(1);
        assert_eq!(rescue_days(Some(p), Some(p + day - ms)), Ok(Some(0)));
        assert_eq!(rescue_days(Some(p), Some(p + day)), Ok(Some(1)));
        assert_eq!(rescue_days(Some(p + day + day - ms), Some(p)), Ok(Some(-1)));
        assert_eq!(rescue_days(None, Some(p)), Ok(None));
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(rescue_days(Some(p), Some(far)), Err(()));
    }
}
