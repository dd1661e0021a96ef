//! Sync cursors: named positions per account.

use rusqlite::OptionalExtension;

use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

impl Mirror {
    /// The cursor's value, if it was ever written.
    pub fn cursor(&self, account_id: &str, name: &str) -> Result<Option<String>, MirrorError> {
        self.conn
            .query_row("SELECT value FROM sync_cursors WHERE account_id = ?1 AND name = ?2", [account_id, name], |r| {
                r.get(0)
            })
            .optional()
            .op("reading a sync cursor")
    }

    /// Writes a cursor on its own (use [`Mirror::apply_orders`] to write one with rows).
    pub fn set_cursor(&self, account_id: &str, name: &str, value: &str) -> Result<(), MirrorError> {
        write_cursor(&self.conn, account_id, name, value)
    }

    /// Writes several cursors and removes others, all in one transaction: `clear_if` names a
    /// cursor and the value it must still have to be removed (one rewritten since it was read
    /// stays).
    pub fn update_cursors(
        &mut self,
        account_id: &str,
        set: &[(&str, &str)],
        clear_if: &[(&str, &str)],
    ) -> Result<(), MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting a cursor update")?;
        for (name, value) in set {
            write_cursor(&tx, account_id, name, value)?;
        }
        for (name, value) in clear_if {
            tx.execute(
                "DELETE FROM sync_cursors WHERE account_id = ?1 AND name = ?2 AND value = ?3",
                [account_id, name, value],
            )
            .op("removing a sync cursor")?;
        }
        tx.commit().op("committing a cursor update")
    }
}

pub(crate) fn write_cursor(
    conn: &rusqlite::Connection,
    account_id: &str,
    name: &str,
    value: &str,
) -> Result<(), MirrorError> {
    conn.execute(
        "INSERT INTO sync_cursors (account_id, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(account_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        rusqlite::params![account_id, name, value, chrono::Utc::now().to_rfc3339()],
    )
    .op("writing a sync cursor")?;
    Ok(())
}
