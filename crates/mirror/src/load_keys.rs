//! Finding existing orders while a bulk load has the order-key index (`orders_by_key`) off.
//!
//! FlexFactor's order keys are random GUIDs: a B-tree over them, kept current while a million
//! orders go in, takes its inserts all over the tree, and every commit then writes most of
//! its pages to the WAL again (BENCHMARKS.md, "Mirror at 1M orders"). So a bulk load takes
//! that index off like the other secondary ones and builds it sorted when it finishes
//! (`bulk.rs`). Meanwhile each writer connection keeps its own map from a hash of each order
//! key of the account it applies to, to the order's id:
//!
//! - it is brought up to date inside every apply's write transaction, from the rows with an id
//!   past the highest one it has read (rows written by other connections, the relay feed's or
//!   an action's, since its last apply; all of them on a first use);
//! - it is read again whole when orders were deleted since (an id can be reused afterwards:
//!   the load's delete trigger counts deletes in [`KEY_DELETES_MARK`]), when another load has
//!   begun since ([`LOAD_GENERATION_MARK`]; between loads nothing counts deletes), or when the
//!   newest id is below the highest it has read;
//! - the caller takes it out of the [`crate::Mirror`] for the transaction and puts it back only
//!   once the transaction has committed: what a rolled-back apply recorded is never kept;
//! - a hash found in the map is only a candidate: the order's stored key and account are
//!   compared, and on a mismatch (two keys with one hash) the key is looked up by a scan. A
//!   hash not in the map means the key is not stored, since every stored key's hash is in it.
//!
//! Once the index is back, [`LoadKeys`] is dropped and the index answers again.

use rusqlite::{OptionalExtension, Transaction};
use rustc_hash::FxHashMap;
use std::hash::{Hash, Hasher};

use crate::error::{MirrorError, SqlContext};

/// Counts the orders deleted during a bulk load (see the module notes).
pub(crate) const KEY_DELETES_MARK: &str = "bulk_deletes";
/// Counts the bulk loads begun; never reset.
pub(crate) const LOAD_GENERATION_MARK: &str = "bulk_load_generation";

/// One connection's map of the order keys of one account, during a bulk load.
pub(crate) struct LoadKeys {
    account_id: String,
    /// Every order with an id up to this one is in the map.
    upto: i64,
    /// The ([`LOAD_GENERATION_MARK`], [`KEY_DELETES_MARK`]) counts the map was read at.
    counts: (i64, i64),
    ids: FxHashMap<u64, i64>,
}

fn key_hash(key: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

impl LoadKeys {
    /// The map for `account_id`, brought up to date under `tx`'s write lock: read whole (every
    /// order's key, one pass over the table) when there is none yet on this
    /// connection, it is another account's, orders were deleted or another load began since,
    /// or the newest id is below the highest it read; else only the orders added since.
    pub(crate) fn refresh<'s>(
        slot: &'s mut Option<LoadKeys>,
        tx: &Transaction<'_>,
        account_id: &str,
    ) -> Result<&'s mut LoadKeys, MirrorError> {
        let (generation, deletes, top): (i64, i64, i64) = tx
            .query_row(
                "SELECT coalesce((SELECT value FROM mirror_marks WHERE name = ?1), 0),
                        coalesce((SELECT value FROM mirror_marks WHERE name = ?2), 0),
                        coalesce((SELECT MAX(id) FROM orders), 0)",
                [LOAD_GENERATION_MARK, KEY_DELETES_MARK],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .op("reading the bulk load's key map state")?;
        let counts = (generation, deletes);
        let current = slot.as_ref().is_some_and(|k| k.account_id == account_id && k.counts == counts && k.upto <= top);
        if !current {
            *slot = None;
        }
        let keys = slot.get_or_insert_with(|| LoadKeys {
            account_id: account_id.to_string(),
            upto: 0,
            counts,
            ids: FxHashMap::default(),
        });
        if top > keys.upto {
            // `+account_id`: walk the rowid range, never an index over all the account's orders.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id, order_session_key FROM orders WHERE id > ?1 AND id <= ?2 AND +account_id = ?3",
                )
                .op("reading order keys")?;
            let mut rows = stmt.query(rusqlite::params![keys.upto, top, account_id]).op("reading order keys")?;
            while let Some(row) = rows.next().op("reading order keys")? {
                let id: i64 = row.get(0).op("reading order keys")?;
                let key = row.get_ref(1).and_then(|v| Ok(v.as_str()?)).op("reading order keys")?;
                keys.ids.entry(key_hash(key)).or_insert(id);
            }
            keys.upto = top;
        }
        Ok(keys)
    }

    /// The id of the stored order of the map's account with this key, if there is one.
    pub(crate) fn find(&self, tx: &Transaction<'_>, key: &str) -> Result<Option<i64>, MirrorError> {
        let Some(&id) = self.ids.get(&key_hash(key)) else {
            return Ok(None);
        };
        let same: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM orders WHERE id = ?1 AND order_session_key = ?2 AND account_id = ?3)",
            )
            .and_then(|mut stmt| stmt.query_row(rusqlite::params![id, key, self.account_id], |r| r.get(0)))
            .op("checking an order's key")?;
        if same {
            return Ok(Some(id));
        }
        // Another key with the same hash: the slow, certain way.
        id_by_key(tx, &self.account_id, key)
    }

    /// Records an order this connection just inserted.
    pub(crate) fn record(&mut self, key: &str, id: i64) {
        self.ids.entry(key_hash(key)).or_insert(id);
        self.upto = self.upto.max(id);
    }
}

/// Inside a write transaction: the id of the account's order with this key, through the
/// connection's key map (`slot`) while a bulk load has the key index off, else through the
/// index (and the map is dropped).
pub(crate) fn order_id_by_key(
    slot: &mut Option<LoadKeys>,
    tx: &Transaction<'_>,
    account_id: &str,
    key: &str,
) -> Result<Option<i64>, MirrorError> {
    let key_index_off: bool = tx
        .query_row("SELECT EXISTS (SELECT 1 FROM mirror_bulk_ddl WHERE name = ?1)", [crate::bulk::KEY_INDEX], |r| {
            r.get(0)
        })
        .op("reading the bulk-load state")?;
    if key_index_off {
        return LoadKeys::refresh(slot, tx, account_id)?.find(tx, key);
    }
    *slot = None;
    id_by_key(tx, account_id, key)
}

/// The id of the account's order with this key, by a plain lookup: through the key index
/// when it is on, a walk of the account's orders while a bulk load has it off.
pub(crate) fn id_by_key(conn: &rusqlite::Connection, account_id: &str, key: &str) -> Result<Option<i64>, MirrorError> {
    conn.prepare_cached("SELECT id FROM orders WHERE account_id = ?1 AND order_session_key = ?2")
        .and_then(|mut stmt| stmt.query_row([account_id, key], |r| r.get(0)).optional())
        .op("looking an order up by its key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_one_hash_and_other_accounts_orders_are_told_apart_by_the_stored_row() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO orders (id, account_id, order_session_key, state, is_mit, amount_cents, captured_cents,
               refunded_cents, currency, synced_at)
             VALUES (7, 'a', 'key-7', 'approved', 0, 1, 0, 0, 'USD', 'now'), (9, 'a', 'key-9', 'approved', 0, 1, 0, 0, 'USD', 'now');
             INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('b', 'B', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO orders (id, account_id, order_session_key, state, is_mit, amount_cents, captured_cents,
               refunded_cents, currency, synced_at)
             VALUES (11, 'b', 'key-3', 'approved', 0, 1, 0, 0, 'USD', 'now');",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        let mut slot = None;
        let keys = LoadKeys::refresh(&mut slot, &tx, "a").unwrap();
        // Make "key-9"'s hash point at order 7, as a collision would.
        keys.ids.insert(key_hash("key-9"), 7);
        assert_eq!(keys.find(&tx, "key-7").unwrap(), Some(7));
        assert_eq!(keys.find(&tx, "key-9").unwrap(), Some(9));
        assert_eq!(keys.find(&tx, "key-0").unwrap(), None);
        // Another account's order with the key is not this account's.
        keys.ids.insert(key_hash("key-3"), 11);
        assert_eq!(keys.find(&tx, "key-3").unwrap(), None);
    }
}
