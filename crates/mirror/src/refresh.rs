//! The refresh queue: orders a webhook named, to re-read from the API. `apply_event` queues
//! a webhook's order in the webhook's own transaction; the sync crate's
//! `refresh_named_orders` reads each one and removes it only once the re-read is applied.

use chrono::Utc;

use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

/// One queued order: its FlexFactor id and when it was (last) queued, which
/// [`Mirror::refresh_done`] compares so that a webhook arriving during the re-read queues
/// the order again rather than being absorbed by a read that may predate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRefresh {
    pub order_session_key: String,
    pub queued_at: String,
    pub attempts: u32,
}

impl Mirror {
    /// Queues the order for a re-read (or re-queues it, keeping its failed attempts).
    pub(crate) fn queue_refresh(
        tx: &rusqlite::Transaction<'_>,
        account_id: &str,
        order_session_key: &str,
    ) -> Result<(), MirrorError> {
        tx.execute(
            "INSERT INTO refresh_queue (account_id, order_session_key, queued_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(account_id, order_session_key) DO UPDATE SET queued_at = excluded.queued_at",
            [account_id, order_session_key, &Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)],
        )
        .op("queueing an order to re-read")?;
        Ok(())
    }

    /// Up to `limit` queued orders, those tried least often first, then the oldest.
    pub fn queued_refreshes(&self, account_id: &str, limit: u32) -> Result<Vec<QueuedRefresh>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT order_session_key, queued_at, attempts FROM refresh_queue WHERE account_id = ?1
                 ORDER BY attempts, queued_at LIMIT ?2",
            )
            .op("reading the refresh queue")?;
        let rows = stmt
            .query_map(rusqlite::params![account_id, limit], |r| {
                Ok(QueuedRefresh { order_session_key: r.get(0)?, queued_at: r.get(1)?, attempts: r.get(2)? })
            })
            .op("reading the refresh queue")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading the refresh queue")
    }

    /// The re-read of `queued` is applied: removes it, unless the order was queued again since.
    pub fn refresh_done(&self, account_id: &str, queued: &QueuedRefresh) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "DELETE FROM refresh_queue WHERE account_id = ?1 AND order_session_key = ?2 AND queued_at = ?3",
                [account_id, &queued.order_session_key, &queued.queued_at],
            )
            .op("removing a re-read order from the queue")?;
        Ok(())
    }

    /// The re-read was refused for this order (FlexFactor refused to show it): counts the
    /// attempt and keeps the order queued.
    pub fn refresh_failed(&self, account_id: &str, order_session_key: &str, error: &str) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "UPDATE refresh_queue SET attempts = attempts + 1, last_error = ?3
                 WHERE account_id = ?1 AND order_session_key = ?2",
                [account_id, order_session_key, error],
            )
            .op("recording a failed re-read")?;
        Ok(())
    }

    /// The re-read failed for a reason that is not the order's (the network, the API, the
    /// sign-in): the error is kept, the attempt not counted.
    pub fn refresh_interrupted(
        &self,
        account_id: &str,
        order_session_key: &str,
        error: &str,
    ) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "UPDATE refresh_queue SET last_error = ?3 WHERE account_id = ?1 AND order_session_key = ?2",
                [account_id, order_session_key, error],
            )
            .op("recording a failed re-read")?;
        Ok(())
    }
}
