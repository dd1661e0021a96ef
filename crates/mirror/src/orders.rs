//! Orders: the upsert path and single-order reads (the list queries are in `order_list.rs`).

use chrono::{DateTime, Utc};
use flexfactor_wire::WireOrder;
use rusqlite::{params_from_iter, types::Value, OptionalExtension, Row};

use crate::cursors::write_cursor;
use crate::error::{MirrorError, SqlContext};
use crate::rollups::{RollupDelta, RollupRow};
use crate::{Mirror, OrderState};

/// One order as the mirror holds it (the raw API JSON is kept beside these columns).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub order_session_key: String,
    pub merchant_order_id: Option<String>,
    pub status_code: Option<i32>,
    pub status_name: Option<String>,
    pub decision: Option<String>,
    pub state: OrderState,
    pub is_mit: bool,
    pub amount_cents: i64,
    pub captured_cents: i64,
    pub refunded_cents: i64,
    pub currency: String,
    pub email: Option<String>,
    pub customer_name: Option<String>,
    pub card_bin: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub site_id: Option<String>,
    pub placed_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub expiry_at: Option<DateTime<Utc>>,
}

impl OrderRecord {
    /// Flattens an API order. Absent amounts count as 0 and an absent currency as USD
    /// (the API's only documented default).
    pub fn from_wire(o: &WireOrder) -> OrderRecord {
        let captured = o.captured_amount.map(|c| c.0).unwrap_or(0);
        let refunded = o.refunded_amount.map(|c| c.0).unwrap_or(0);
        let name = match (o.first_name.as_deref(), o.last_name.as_deref()) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.to_string()),
            (None, None) => None,
        };
        OrderRecord {
            order_session_key: o.id.clone(),
            merchant_order_id: o.external_order_id.clone(),
            status_code: o.status,
            status_name: o.status_name.clone(),
            decision: o.decision.clone(),
            state: OrderState::derive(o.status, o.status_name.as_deref(), o.decision.as_deref(), captured, refunded),
            is_mit: o.is_mit.unwrap_or(false),
            amount_cents: o.amount.map(|c| c.0).unwrap_or(0),
            captured_cents: captured,
            refunded_cents: refunded,
            currency: o.currency_code.clone().unwrap_or_else(|| "USD".into()),
            email: o.email.clone(),
            customer_name: name,
            card_bin: o.card_bin.clone(),
            card_last4: o.card_last4.clone(),
            decline_code: o.decline_code.clone(),
            site_id: o.site_id.clone(),
            placed_at: o.order_placed_date,
            created_at: o.created_on.or(o.order_placed_date),
            modified_at: o.modified_on,
            expiry_at: o.expiry_date,
        }
    }
}

/// What one apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

pub(crate) fn ts(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc))
}

pub(crate) const SELECT_COLUMNS: &str =
    "order_session_key, merchant_order_id, status_code, status_name, decision, state, is_mit, \
     amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin, card_last4, decline_code, \
     site_id, placed_at, created_at, modified_at, expiry_at";

pub(crate) fn read_order(r: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let state: String = r.get(5)?;
    Ok(OrderRecord {
        order_session_key: r.get(0)?,
        merchant_order_id: r.get(1)?,
        status_code: r.get(2)?,
        status_name: r.get(3)?,
        decision: r.get(4)?,
        state: OrderState::parse(&state).unwrap_or(OrderState::Problem),
        is_mit: r.get(6)?,
        amount_cents: r.get(7)?,
        captured_cents: r.get(8)?,
        refunded_cents: r.get(9)?,
        currency: r.get(10)?,
        email: r.get(11)?,
        customer_name: r.get(12)?,
        card_bin: r.get(13)?,
        card_last4: r.get(14)?,
        decline_code: r.get(15)?,
        site_id: r.get(16)?,
        placed_at: parse_ts(r.get(17)?),
        created_at: parse_ts(r.get(18)?),
        modified_at: parse_ts(r.get(19)?),
        expiry_at: parse_ts(r.get(20)?),
    })
}

/// Writes `d` as the mirror stores timestamps (RFC 3339, milliseconds, `Z`) into `out`:
/// the same text as [`ts`], without chrono's formatting machinery on the hot path.
fn ts_into(d: Option<DateTime<Utc>>, out: &mut String) -> Option<&str> {
    use chrono::{Datelike, Timelike};
    let d = d?;
    out.clear();
    let nanos = d.nanosecond();
    if !(0..=9999).contains(&d.year()) || nanos >= 1_000_000_000 {
        // Signed or five-digit years and leap seconds: chrono's own text.
        out.push_str(&d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        return Some(out.as_str());
    }
    let fields = [
        (None, d.year() as u32, 4),
        (Some('-'), d.month(), 2),
        (Some('-'), d.day(), 2),
        (Some('T'), d.hour(), 2),
        (Some(':'), d.minute(), 2),
        (Some(':'), d.second(), 2),
        (Some('.'), nanos / 1_000_000, 3),
    ];
    for (sep, value, width) in fields {
        if let Some(sep) = sep {
            out.push(sep);
        }
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (value / 10u32.pow(place) % 10) as u8));
        }
    }
    out.push('Z');
    Some(out.as_str())
}

impl Mirror {
    /// Upserts `orders` for `account_id` and, in the same transaction, writes the cursor
    /// `(name, value)` if given. A row whose stored `modified_at` is newer than the
    /// incoming one is left alone (a stale page never moves an order backwards).
    ///
    /// During a bulk load (rollup triggers off) the rollup contributions of the inserted rows
    /// are added up here and written in the same transaction (see `rollups.rs`).
    #[tracing::instrument(skip_all, err, fields(n = orders.len()))]
    pub fn apply_orders(
        &mut self,
        account_id: &str,
        orders: &[WireOrder],
        cursor: Option<(&str, &str)>,
    ) -> Result<ApplyStats, MirrorError> {
        let now = Utc::now().to_rfc3339();
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).op("starting an apply")?;
        let mut stats = ApplyStats::default();
        // Per-row lookups of state hints and unknown-order drift are skipped when the account
        // has none (the common case of a backfill); the write lock makes this stable.
        let (any_hints, any_unknown, rollups_here): (bool, bool, bool) = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM order_hints WHERE account_id = ?1),
                        EXISTS (SELECT 1 FROM drift WHERE account_id = ?1 AND kind = 'unknown_order' AND resolved_at IS NULL),
                        EXISTS (SELECT 1 FROM mirror_bulk_ddl WHERE name = 'orders_rollup_ai')",
                [account_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .op("checking hints and drift")?;
        let mut delta = RollupDelta::default();
        let mut raw = Vec::with_capacity(2048);
        let mut stamps: [String; 4] = Default::default();
        {
            // No RETURNING: SQLite would buffer each row's result in a temporary table.
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO orders (account_id, order_session_key, merchant_order_id, status_code, status_name,
                        decision, state, is_mit, amount_cents, captured_cents, refunded_cents, currency, email, customer_name,
                        card_bin, card_last4, decline_code, site_id, placed_at, created_at, modified_at, expiry_at, synced_at, api_state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?24, ?25)",
                )
                .op("preparing the order insert")?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE orders SET merchant_order_id = ?3, status_code = ?4, status_name = ?5, decision = ?6, state = ?7,
                        is_mit = ?8, amount_cents = ?9, captured_cents = ?10, refunded_cents = ?11, currency = ?12, email = ?13,
                        customer_name = ?14, card_bin = ?15, card_last4 = ?16, decline_code = ?17, site_id = ?18, placed_at = ?19,
                        created_at = ?20, modified_at = ?21, expiry_at = ?22, synced_at = ?24, api_state = ?25
                     WHERE account_id = ?1 AND order_session_key = ?2
                       AND (SELECT raw_json FROM order_json WHERE order_id = orders.id) IS NOT ?23
                       AND (modified_at IS NULL OR ?21 IS NULL OR modified_at <= ?21)
                     RETURNING id",
                )
                .op("preparing the order update")?;
            let mut put_json = tx
                .prepare_cached("INSERT OR REPLACE INTO order_json (order_id, raw_json) VALUES (?1, ?2)")
                .op("preparing the raw JSON write")?;
            let mut resolve_unknown = tx
                .prepare_cached(
                    "UPDATE drift SET resolved_at = ?3 WHERE account_id = ?1 AND order_session_key = ?2
                       AND kind = 'unknown_order' AND resolved_at IS NULL",
                )
                .op("preparing the drift resolution")?;
            let mut hint = tx
                .prepare_cached("SELECT state_rank FROM order_hints WHERE account_id = ?1 AND order_session_key = ?2")
                .op("preparing the hint lookup")?;
            for wire in orders {
                let captured = wire.captured_amount.map(|c| c.0).unwrap_or(0);
                let refunded = wire.refunded_amount.map(|c| c.0).unwrap_or(0);
                let amount = wire.amount.map(|c| c.0).unwrap_or(0);
                let api_state = OrderState::derive(
                    wire.status,
                    wire.status_name.as_deref(),
                    wire.decision.as_deref(),
                    captured,
                    refunded,
                );
                let hint_rank: Option<i64> = if any_hints {
                    hint.query_row([account_id, wire.id.as_str()], |r| r.get(0)).optional().op("reading a hint")?
                } else {
                    None
                };
                let effective = match hint_rank.and_then(OrderState::from_rank) {
                    Some(h) if h.rank() > api_state.rank() => h,
                    _ => api_state,
                };
                let name: Option<std::borrow::Cow<'_, str>> =
                    match (wire.first_name.as_deref(), wire.last_name.as_deref()) {
                        (Some(f), Some(l)) => Some(format!("{f} {l}").into()),
                        (Some(n), None) | (None, Some(n)) => Some(n.into()),
                        (None, None) => None,
                    };
                let is_mit = wire.is_mit.unwrap_or(false);
                let currency = wire.currency_code.as_deref().unwrap_or("USD");
                let created = wire.created_on.or(wire.order_placed_date);
                raw.clear();
                serde_json::to_writer(&mut raw, wire)
                    .map_err(|e| MirrorError::Data { op: "serializing an order", message: e.to_string() })?;
                let raw = std::str::from_utf8(&raw)
                    .map_err(|e| MirrorError::Data { op: "serializing an order", message: e.to_string() })?;
                let [s_placed, s_created, s_modified, s_expiry] = &mut stamps;
                let placed_at = ts_into(wire.order_placed_date, s_placed);
                let created_at = ts_into(created, s_created);
                let modified_at = ts_into(wire.modified_on, s_modified);
                let expiry_at = ts_into(wire.expiry_date, s_expiry);
                let params = rusqlite::params![
                    account_id,
                    wire.id,
                    wire.external_order_id,
                    wire.status,
                    wire.status_name,
                    wire.decision,
                    effective.as_str(),
                    is_mit,
                    amount,
                    captured,
                    refunded,
                    currency,
                    wire.email,
                    name,
                    wire.card_bin,
                    wire.card_last4,
                    wire.decline_code,
                    wire.site_id,
                    placed_at,
                    created_at,
                    modified_at,
                    expiry_at,
                    raw,
                    now,
                    api_state.as_str(),
                ];
                if insert.execute(params).op("inserting an order")? == 1 {
                    put_json.execute(rusqlite::params![tx.last_insert_rowid(), raw]).op("storing an order's JSON")?;
                    stats.inserted += 1;
                    if rollups_here {
                        delta.add(&RollupRow {
                            created_at,
                            expiry_at,
                            placed: wire.order_placed_date,
                            modified: wire.modified_on,
                            currency,
                            is_mit,
                            state: effective.as_str(),
                            decline_code: wire.decline_code.as_deref(),
                            amount_cents: amount,
                            captured_cents: captured,
                            refunded_cents: refunded,
                        });
                    }
                    if any_unknown {
                        resolve_unknown.execute([account_id, wire.id.as_str(), now.as_str()]).op("resolving drift")?;
                    }
                } else if let Some(id) =
                    update.query_row(params, |r| r.get::<_, i64>(0)).optional().op("updating an order")?
                {
                    put_json.execute(rusqlite::params![id, raw]).op("storing an order's JSON")?;
                    stats.updated += 1;
                } else {
                    stats.unchanged += 1;
                }
            }
        }
        if rollups_here {
            delta.write(&tx, account_id)?;
        }
        if let Some((name, value)) = cursor {
            write_cursor(&tx, account_id, name, value)?;
        }
        tx.commit().op("committing an apply")?;
        Ok(stats)
    }

    /// Number of orders mirrored for the account.
    pub fn order_count(&self, account_id: &str) -> Result<u64, MirrorError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM orders WHERE account_id = ?1", [account_id], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .op("counting orders")
    }

    /// One order by FlexFactor id.
    pub fn order(&self, account_id: &str, order_session_key: &str) -> Result<Option<OrderRecord>, MirrorError> {
        self.conn
            .query_row(
                &format!("SELECT {SELECT_COLUMNS} FROM orders WHERE account_id = ?1 AND order_session_key = ?2"),
                [account_id, order_session_key],
                read_order,
            )
            .optional()
            .op("reading an order")
    }

    /// The order's API JSON as last applied.
    pub fn order_json(&self, account_id: &str, order_session_key: &str) -> Result<Option<String>, MirrorError> {
        self.conn
            .query_row(
                "SELECT j.raw_json FROM orders o JOIN order_json j ON j.order_id = o.id
                 WHERE o.account_id = ?1 AND o.order_session_key = ?2",
                [account_id, order_session_key],
                |r| r.get(0),
            )
            .optional()
            .op("reading an order's JSON")
    }

    /// The ids of orders in the given states (e.g. the non-final ones to re-check).
    pub fn order_keys_in_states(&self, account_id: &str, states: &[OrderState]) -> Result<Vec<String>, MirrorError> {
        let placeholders = vec!["?"; states.len()].join(", ");
        let sql = format!("SELECT order_session_key FROM orders WHERE account_id = ? AND state IN ({placeholders})");
        let mut args: Vec<Value> = vec![Value::Text(account_id.to_string())];
        args.extend(states.iter().map(|s| Value::Text(s.as_str().to_string())));
        let mut stmt = self.conn.prepare(&sql).op("listing orders by state")?;
        let rows = stmt.query_map(params_from_iter(args), |r| r.get(0)).op("listing orders by state")?;
        rows.collect::<Result<Vec<String>, _>>().op("reading order ids")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_fast_timestamp_text_equals_chronos_rfc3339_with_milliseconds() {
        let mut out = String::new();
        let samples = [
            Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(7, 2, 3, 4, 5, 6).unwrap() + chrono::Duration::microseconds(1_500),
            Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for d in samples.into_iter().chain((0..2000).map(|i| {
            Utc.timestamp_millis_opt(1_700_000_000_123 + i * 987_654_321).unwrap() + chrono::Duration::nanoseconds(i)
        })) {
            assert_eq!(ts_into(Some(d), &mut out).map(str::to_string), ts(Some(d)), "{d:?}");
        }
        assert_eq!(ts_into(None, &mut out), None);
    }
}
