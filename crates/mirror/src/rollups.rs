//! Rollup contributions computed in Rust for the rows a bulk load inserts.
//!
//! While a bulk load has the rollup triggers off, [`Mirror::apply_orders`](crate::Mirror)
//! adds up what each inserted row contributes (exactly what the `orders_rollup_ai` trigger of
//! migration 0006 would have added) and upserts the sums into the rollup tables in the same
//! transaction as the rows, so rows and their rollups commit together. Anything it cannot
//! compute exactly like SQLite (a row updated or deleted during the load, a timestamp outside
//! the years SQLite's date functions read) marks the rollups stale instead, and
//! `finish_bulk_load` then recomputes them from the orders.

use chrono::{DateTime, Datelike, Utc};
use rusqlite::Transaction;
use rustc_hash::FxHashMap;

use crate::error::{MirrorError, SqlContext};

/// `mirror_marks` row set when the rollups must be recomputed when the bulk load finishes.
pub(crate) const ROLLUPS_STALE_MARK: &str = "rollups_stale";

/// Milliseconds per day (the rescue-days divisor of the SQL rollups).
const DAY_MS: i64 = 86_400_000;

/// The first `N` characters of a stored timestamp, SQL `substr(ts, 1, N)` (the mirror's
/// timestamps are ASCII), or `''` when there is none (`coalesce(…, '')`); kept inline so
/// that summing a row allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Prefix<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Prefix<N> {
    /// `None` when the text is not ASCII (never for timestamps the mirror wrote).
    fn of(ts: Option<&str>) -> Option<Prefix<N>> {
        let mut p = Prefix { len: 0, bytes: [0; N] };
        if let Some(ts) = ts {
            if !ts.is_ascii() {
                return None;
            }
            let n = ts.len().min(N);
            p.bytes[..n].copy_from_slice(&ts.as_bytes()[..n]);
            p.len = n as u8;
        }
        Some(p)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
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
pub(crate) struct RollupRow<'a, 'b> {
    pub created_at: Option<&'b str>,
    pub expiry_at: Option<&'b str>,
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

type Day = Prefix<10>;
type Month = Prefix<7>;
type DayKey<'a> = (Day, &'a str, bool, &'static str, Option<&'a str>);
type RescueKey<'a, P> = (&'static str, P, &'a str, bool, bool, i64);
type ExpiryKey<'a> = (&'static str, Day, &'a str, Day);

/// Sums of the contributions of the rows one apply inserted. Every inserted row looks up four
/// groups: a fast non-cryptographic hash (the keys are the mirror's own data, a few hundred
/// groups per apply) instead of SipHash, which took ~5 % of the writer thread's time.
#[derive(Default)]
pub(crate) struct RollupDelta<'a> {
    days: FxHashMap<DayKey<'a>, [i64; 4]>,
    rescue: FxHashMap<RescueKey<'a, Day>, i64>,
    rescue_month: FxHashMap<RescueKey<'a, Month>, i64>,
    expiry: FxHashMap<ExpiryKey<'a>, [i64; 2]>,
    /// Something could not be computed exactly: recompute at the end of the load.
    pub stale: bool,
}

impl<'a> RollupDelta<'a> {
    pub fn add(&mut self, r: &RollupRow<'a, '_>) {
        let (Some(day), Some(month), Some(expiry_day)) =
            (Day::of(r.created_at), Month::of(r.created_at), Day::of(r.expiry_at))
        else {
            self.stale = true;
            return;
        };
        let sums = self.days.entry((day, r.currency, r.is_mit, r.state, r.decline_code)).or_default();
        sums[0] += 1;
        sums[1] += r.amount_cents;
        sums[2] += r.captured_cents;
        sums[3] += r.refunded_cents;
        match rescue_days(r.placed, r.modified) {
            Ok(d) => {
                let (has, days) = (d.is_some(), d.unwrap_or(0));
                *self.rescue.entry((r.state, day, r.currency, r.is_mit, has, days)).or_default() += 1;
                *self.rescue_month.entry((r.state, month, r.currency, r.is_mit, has, days)).or_default() += 1;
            }
            Err(()) => self.stale = true,
        }
        if r.is_mit {
            let sums = self.expiry.entry((r.state, day, r.currency, expiry_day)).or_default();
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
            let decline = decline.map(|c| format!("={c}")).unwrap_or_default();
            days.execute(rusqlite::params![
                account_id,
                day.as_str(),
                currency,
                is_mit,
                state,
                decline,
                n,
                amount,
                captured,
                refunded
            ])
            .op("adding to the day rollup")?;
        }
        let rescue = self.rescue.iter().map(|((s, d, c, m, h, r), n)| ((*s, d.as_str(), *c, *m, *h, *r), *n));
        let month = self.rescue_month.iter().map(|((s, d, c, m, h, r), n)| ((*s, d.as_str(), *c, *m, *h, *r), *n));
        type Groups<'g> = Box<dyn Iterator<Item = ((&'static str, &'g str, &'g str, bool, bool, i64), i64)> + 'g>;
        let tables: [(&str, &str, Groups<'_>); 2] =
            [("rollup_rescue", "day", Box::new(rescue)), ("rollup_rescue_month", "month", Box::new(month))];
        for (table, column, groups) in tables {
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
                .execute(rusqlite::params![account_id, state, day.as_str(), currency, expiry_day.as_str(), n, amount])
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

    #[test]
    fn rescue_days_equal_sqlites_julianday_arithmetic_on_the_stored_text() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let text = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let base = Utc.with_ymd_and_hms(2026, 3, 29, 23, 59, 59).unwrap() + chrono::Duration::microseconds(999_700);
        let mut checked = 0;
        for days in [-400_i64, -3, -1, 0, 1, 2, 31, 365, 3000] {
            for ms in [-1_001_i64, -1, 0, 1, 999, 86_399_999, 86_400_001] {
                let p = base + chrono::Duration::microseconds(i64::from(days as i32) * 7);
                let m = p + chrono::Duration::days(days) + chrono::Duration::milliseconds(ms);
                let sql: Option<i64> = conn
                    .query_row(
                        "SELECT CAST(round((julianday(?2) - julianday(?1)) * 86400000.0) AS INTEGER) / 86400000",
                        [text(p), text(m)],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(rescue_days(Some(p), Some(m)), Ok(sql), "{} → {}", text(p), text(m));
                checked += 1;
            }
        }
        assert_eq!(checked, 63);
    }
}
