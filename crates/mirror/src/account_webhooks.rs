//! Webhooks that name no order (payouts): kept for the Webhooks screen, deduplicated by their
//! event key, with the feed cursor in the same transaction (migration 0019).

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use crate::cursors::write_cursor;
use crate::error::{MirrorError, SqlContext};
use crate::timeline::parse_ts;
use crate::Mirror;

/// A webhook that names no order.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountWebhook {
    /// Its row id (0 before it is stored).
    pub id: i64,
    /// The at-least-once dedupe key, as for order webhooks (`webhook:{event}|…`).
    pub event_key: String,
    /// The event's name as FlexFactor sent it (e.g. `payout.created`).
    pub event: String,
    pub received_at: DateTime<Utc>,
    /// The raw body.
    pub payload: String,
}

impl Mirror {
    /// Keeps `webhook` unless one with its event key is kept already, and writes the cursor
    /// `(name, value)` if given, in one transaction; whether it was new.
    pub fn record_account_webhook(
        &mut self,
        account_id: &str,
        webhook: &AccountWebhook,
        cursor: Option<(&str, &str)>,
    ) -> Result<bool, MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .op("starting to keep a webhook without an order")?;
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO account_webhooks (account_id, event_key, event, received_at, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    account_id,
                    webhook.event_key,
                    webhook.event,
                    webhook.received_at.to_rfc3339(),
                    webhook.payload
                ],
            )
            .op("keeping a webhook without an order")?;
        if let Some((name, value)) = cursor {
            write_cursor(&tx, account_id, name, value)?;
        }
        tx.commit().op("keeping a webhook without an order")?;
        Ok(added > 0)
    }

    /// The account's webhooks without an order, newest first.
    pub fn recent_account_webhooks(&self, account_id: &str, limit: u64) -> Result<Vec<AccountWebhook>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, event_key, event, received_at, payload FROM account_webhooks WHERE account_id = ?1
                 ORDER BY id DESC LIMIT ?2",
            )
            .op("reading webhooks without an order")?;
        let rows = stmt
            .query_map(rusqlite::params![account_id, limit as i64], |r| {
                Ok(AccountWebhook {
                    id: r.get(0)?,
                    event_key: r.get(1)?,
                    event: r.get(2)?,
                    received_at: parse_ts(&r.get::<_, String>(3)?),
                    payload: r.get(4)?,
                })
            })
            .op("reading webhooks without an order")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading webhooks without an order")
    }
}
