//! Feed events FlexDesk could not read: kept with the error, skipped by the feed cursor in
//! the same transaction (migration 0016).

use chrono::{DateTime, Utc};
use rusqlite::TransactionBehavior;

use crate::cursors::write_cursor;
use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

/// How much of an unreadable event's body is kept (a webhook's JSON fits many times over).
const BODY_KEPT: usize = 64 * 1024;
/// How many unreadable events are kept per account (the newest): should every event become
/// unreadable (a format change), the mirror does not grow without end.
const KEPT_PER_ACCOUNT: i64 = 1_000;

/// A feed event FlexDesk could not read.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableEvent {
    /// Its sequence number in the relay's feed.
    pub seq: i64,
    /// The order the relay says it names (from its own reading of the body), if any.
    pub order_session_key: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Why it could not be read.
    pub error: String,
    pub body: String,
}

impl Mirror {
    /// Keeps `event`, queues the order it names for a re-read from the API (what the event
    /// said is then learnt from FlexFactor itself) and moves the feed cursor (`cursor`: name
    /// and value) past it, in one transaction. Only the newest [`KEPT_PER_ACCOUNT`] are kept.
    pub fn keep_unreadable_event(
        &mut self,
        account_id: &str,
        event: &UnreadableEvent,
        cursor: (&str, &str),
    ) -> Result<(), MirrorError> {
        let mut end = event.body.len().min(BODY_KEPT);
        while !event.body.is_char_boundary(end) {
            end -= 1;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .op("starting to keep an unreadable event")?;
        tx.execute(
            "INSERT INTO feed_unreadable (account_id, seq, order_session_key, received_at, error, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                account_id,
                event.seq,
                event.order_session_key,
                event.received_at.to_rfc3339(),
                event.error,
                &event.body[..end]
            ],
        )
        .op("keeping an unreadable event")?;
        tx.execute(
            "DELETE FROM feed_unreadable WHERE account_id = ?1 AND id <= (SELECT id FROM feed_unreadable
               WHERE account_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            rusqlite::params![account_id, KEPT_PER_ACCOUNT],
        )
        .op("keeping the newest unreadable events")?;
        if let Some(key) = event.order_session_key.as_deref().filter(|k| !k.is_empty()) {
            Mirror::queue_refresh(&tx, account_id, key)?;
        }
        write_cursor(&tx, account_id, cursor.0, cursor.1)?;
        tx.commit().op("keeping an unreadable event")
    }

    /// The account's unreadable feed events, newest first.
    pub fn unreadable_events(&self, account_id: &str, limit: u64) -> Result<Vec<UnreadableEvent>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, order_session_key, received_at, error, body FROM feed_unreadable WHERE account_id = ?1
                 ORDER BY id DESC LIMIT ?2",
            )
            .op("reading unreadable events")?;
        let rows = stmt
            .query_map(rusqlite::params![account_id, limit as i64], |r| {
                let at: String = r.get(2)?;
                Ok(UnreadableEvent {
                    seq: r.get(0)?,
                    order_session_key: r.get(1)?,
                    received_at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
                    error: r.get(3)?,
                    body: r.get(4)?,
                })
            })
            .op("reading unreadable events")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading unreadable events")
    }
}
