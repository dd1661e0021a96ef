//! Filling a large mirror fast: the search index in bulk, and the bulk-load mode of a
//! backfill into an (almost) empty mirror.
//!
//! - **Search watermark.** `mirror_marks.search_indexed_upto` is the highest order id the
//!   word index (`orders_search`) covers; triggers keep the indexed rows current, and
//!   [`Mirror::index_search_step`] adds the rows past the mark in short chunks (one
//!   transaction each; the app runs them after a sync), [`Mirror::index_search`] all at once.
//!   Searches check the rows past the mark directly, so they are right at any time, only
//!   slower until the index catches up.
//! - **Bulk load.** [`Mirror::begin_bulk_load`] takes the secondary indexes (all but the
//!   three a backfill in creation order fills by appending, [`KEPT_LIVE`], which also keep
//!   the default newest-first list and the state views fast meanwhile), the rollup triggers and the word
//!   index's insert trigger off `orders` (their definitions are saved in `mirror_bulk_ddl` in
//!   the same transaction). The indexes taken off include the unique order key
//!   (`orders_by_key`; the first load gives it that index, see `name_the_order_key`):
//!   FlexFactor's keys are random GUIDs, and a B-tree over them kept current rewrites most of
//!   its pages at every commit. Writers find existing orders through key maps of their own
//!   (`load_keys.rs`); lookups by key from elsewhere are right but slower (they walk the
//!   account's orders) until the load finishes. `apply_orders` also sums the rollups of the
//!   rows it inserts and writes them with the rows, and keeps new rows past the search mark; two small
//!   triggers mark the rollups stale if a row is changed or deleted during the load.
//!   [`Mirror::finish_bulk_load`] rebuilds the indexes (a sorted build, much faster than a
//!   million B-tree inserts), restores the triggers and, only if marked stale, recomputes
//!   the rollups set-based, in one transaction. While the load is open, and until the pages
//!   of its last commit are copied, a [`Checkpointer`] thread with its own connection copies
//!   committed WAL pages into the database beside the writer (whose auto-checkpoint is off
//!   until the load ends), so commits do not wait for that copy and its `fsync`s; the WAL
//!   grows during the load and is cut back to 64 MB once a later checkpoint resets it.
//!   Crash safety: each step is one transaction, and a crash in between leaves a mirror that
//!   answers every query correctly (lists scan, charts group the orders directly) until the
//!   next backfill run finishes the load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::error::{MirrorError, SqlContext};
use crate::load_keys::{KEY_DELETES_MARK, LOAD_GENERATION_MARK};
use crate::rollups::{mark_rollups_stale, ROLLUPS_STALE_MARK};
use crate::Mirror;

const SEARCH_MARK: &str = "search_indexed_upto";
/// Set while a fill in several steps has the word index's own merging off (see
/// [`Mirror::index_search_step`]); cleared by the last [`Mirror::merge_search_step`].
const SEARCH_MERGE_MARK: &str = "search_merge_pending";
/// FTS5's defaults for `automerge` and `crisismerge`, restored once a fill is merged.
const FTS_AUTOMERGE: i64 = 4;
const FTS_CRISISMERGE: i64 = 16;
/// During a fill in steps: no incremental merging, and a forced merge only once a level
/// holds this many segments (one per step). Measured over 1M orders in 20,000-order steps
/// (`sqlite3` 3.40, same table and tokenizer): 5.9 s instead of 8.1–8.3 s with the defaults;
/// the 50 segments left are merged afterwards in about 1.7 s of short steps, and searches
/// over them took as long as over the merged index (0.1–12 ms).
const FILL_CRISISMERGE: i64 = 64;
/// Pages of merge work per [`Mirror::merge_search_step`] (tens of milliseconds each).
pub const SEARCH_MERGE_PAGES: i64 = 500;

/// Orders per [`Mirror::index_search_step`] when the app fills the word index after a sync:
/// one step holds the write lock for a fraction of a second.
pub const SEARCH_INDEX_CHUNK: u64 = 20_000;
/// Pause between two steps, so that another writer (the relay feed) waiting on the lock gets
/// it between them.
pub const SEARCH_INDEX_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// Page cache (KiB, as a negative `cache_size`) while the rows of a bulk load go in. It was
/// sized when the unique key index stayed on and took random inserts; the load now takes
/// that index off too, and this size was kept (not measured again since).
const BULK_CACHE_KIB: i64 = 64 * 1024;
/// Page cache while the indexes are rebuilt: SQLite's sorter sorts runs of this size and
/// merges them (in memory, `temp_store = MEMORY`). Smaller runs sort faster than one huge
/// one: over 500,000 orders the four index builds took 1.7–2.0 s with 16 MB against
/// 2.2–2.7 s with 256 MB (4 MB and 32 MB were in between). `PRAGMA threads` (sorter helper
/// threads) made no measurable difference on 2 shared cores and is not used.
const BUILD_CACHE_KIB: i64 = 16 * 1024;
/// SQLite's default page cache, restored afterwards.
const DEFAULT_CACHE_KIB: i64 = 2000;

/// Triggers that replace the rollup triggers during a bulk load: an insert brings its
/// rollups with it (`apply_orders`), but a row changed or deleted during the load marks the
/// rollups for recomputation when it finishes. A delete also counts itself for the writers'
/// key maps (see `load_keys.rs`).
const STALE_TRIGGERS: [(&str, &str, bool); 2] = [
    (
        "orders_bulk_stale_au",
        "AFTER UPDATE OF account_id, created_at, currency, is_mit, state, decline_code, amount_cents, captured_cents,
         refunded_cents, placed_at, modified_at, expiry_at ON orders",
        false,
    ),
    ("orders_bulk_stale_ad", "AFTER DELETE ON orders", true),
];

/// The unique index on the order key (`order_session_key`, `account_id`), off during a bulk
/// load like the other secondary indexes. The key comes first: FlexFactor's keys are random
/// GUIDs, so the sorted build tells two entries apart within a few bytes instead of first
/// comparing the account id they share (1M orders: 0.4–0.6 s less; see BENCHMARKS.md).
/// Lookups name both columns and use it either way round; mirrors whose first load gave it
/// the other order keep that.
pub(crate) const KEY_INDEX: &str = "orders_by_key";

/// Indexes a bulk load keeps current instead of rebuilding them: a backfill asks for the
/// orders oldest first (`orderBy=createdOn&sort=asc`), so each new entry lands at the end of
/// its range. `orders_by_created` (account, creation time) and `orders_by_state` (account,
/// state, creation time: a handful of states, each range filled in creation order) are
/// appends; `orders_by_expiry` (account, expiry) nearly so, as a rebill's expiry follows its
/// creation and the others have none. Kept live they cost the rows less than their sorted
/// builds cost at the end (1M orders, seven alternated runs: the index phase 1–2.7 s
/// shorter, the rows 0.5–1.5 s longer, about 7 % less in all on average; see
/// BENCHMARKS.md), and the list's newest-first and state views stay fast during the load.
const KEPT_LIVE: [&str; 3] = ["orders_by_created", "orders_by_state", "orders_by_expiry"];

fn create_stale_triggers(tx: &rusqlite::Transaction<'_>) -> Result<(), MirrorError> {
    for (name, when, counts_deletes) in STALE_TRIGGERS {
        let more = if counts_deletes {
            format!(
                "INSERT INTO mirror_marks (name, value) VALUES ('{KEY_DELETES_MARK}', 1)
                 ON CONFLICT(name) DO UPDATE SET value = value + 1;"
            )
        } else {
            String::new()
        };
        tx.execute_batch(&format!(
            "CREATE TRIGGER IF NOT EXISTS {name} {when} BEGIN
                INSERT INTO mirror_marks (name, value) VALUES ('{ROLLUPS_STALE_MARK}', 1)
                ON CONFLICT(name) DO UPDATE SET value = 1;
                {more}
             END;"
        ))
        .op("creating a marking trigger")?;
    }
    Ok(())
}

/// The order key as SQLite stores it in the definition migration 0001 gave `orders`: an
/// inline `UNIQUE`, whose automatic index cannot be dropped.
const INLINE_KEY: &str = ",\n    UNIQUE (account_id, order_session_key)\n)";
const TABLE_HEAD: &str = "CREATE TABLE orders (";

/// The most orders a mirror may hold for the first bulk load to rewrite `orders` (see
/// [`name_the_order_key`]): a rewrite of a few thousand rows is instant, of a million 15 s.
const KEY_REWRITE_MAX_ORDERS: i64 = 10_000;

/// [`name_the_order_key`] under a savepoint: should it fail (a schema this build does not
/// expect), the table stays as it was and the load simply keeps the key on, slower.
fn name_the_order_key_or_keep_it(tx: &rusqlite::Transaction<'_>) -> Result<(), MirrorError> {
    tx.execute_batch("SAVEPOINT order_key").op("starting the order key's index")?;
    match name_the_order_key(tx) {
        Ok(()) => tx.execute_batch("RELEASE order_key").op("keeping the order key's index"),
        Err(e) => {
            tracing::warn!(error = %e, "the order key keeps its inline index; this bulk load keeps it on");
            tx.execute_batch("ROLLBACK TO order_key; RELEASE order_key").op("keeping the inline order key")
        }
    }
}

/// Makes the order key a named unique index ([`KEY_INDEX`]) that a bulk load can take off:
/// `orders` is rebuilt without its inline key, with the same columns, ids, indexes and
/// triggers (their definitions read back from the schema, not copied). Only run at the start
/// of a bulk load, i.e. on an (almost) empty mirror, where it takes no time; a large mirror
/// keeps its inline key, and never bulk-loads again. A table of any other shape is left as it
/// is (its key then simply stays on during the load).
fn name_the_order_key(tx: &rusqlite::Transaction<'_>) -> Result<(), MirrorError> {
    let table: String = tx
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orders'", [], |r| r.get(0))
        .op("reading the orders table")?;
    let Some(columns) = table.strip_suffix(INLINE_KEY).and_then(|t| t.strip_prefix(TABLE_HEAD)) else {
        if table.contains("UNIQUE (account_id, order_session_key)") {
            tracing::warn!("the orders table has an unexpected shape; its order key keeps its inline index");
        }
        return Ok(());
    };
    // A foreign key pointing at `orders` would lose its rows with the old table.
    let referenced: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master m, pragma_foreign_key_list(m.name) f
               WHERE m.type = 'table' AND f.\"table\" = 'orders')",
            [],
            |r| r.get(0),
        )
        .op("reading the foreign keys")?;
    if referenced {
        tracing::warn!("a table refers to orders; its order key keeps its inline index");
        return Ok(());
    }
    let saved: Vec<String> = {
        let mut stmt = tx
            .prepare(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'orders' AND type IN ('index', 'trigger')
                   AND sql IS NOT NULL ORDER BY type = 'trigger', name",
            )
            .op("reading the orders schema")?;
        let rows = stmt.query_map([], |r| r.get(0)).op("reading the orders schema")?;
        rows.collect::<Result<_, _>>().op("reading the orders schema")?
    };
    // Dropping the table drops its indexes and triggers (none fires); nothing refers to it
    // by a foreign key (checked above), and the word index and `order_json` refer to its ids,
    // which are kept.
    tx.execute_batch(&format!(
        "CREATE TABLE orders_rebuilt ({columns}\n);
         INSERT INTO orders_rebuilt SELECT * FROM orders ORDER BY id;
         DROP TABLE orders;
         ALTER TABLE orders_rebuilt RENAME TO orders;
         CREATE UNIQUE INDEX {KEY_INDEX} ON orders (order_session_key, account_id);"
    ))
    .op("giving the order key an index of its own")?;
    for sql in &saved {
        tx.execute_batch(sql).op("restoring an index or trigger of orders")?;
    }
    tracing::info!(restored = saved.len(), "the order key has an index of its own now");
    Ok(())
}

/// Keeps only the newest copy of each order (latest `modified_at`, then the highest id), with
/// the first decision of its oldest copy (the evaluate result the timeline shows). No copies
/// arise while the key maps work as designed; this is the safety net that lets the key index
/// come back if they ever did, and says so in the log.
fn drop_duplicate_orders(tx: &rusqlite::Transaction<'_>) -> Result<usize, MirrorError> {
    tx.execute_batch(
        "CREATE TEMP TABLE order_copies AS
           SELECT id, account_id, order_session_key,
                  row_number() OVER (PARTITION BY account_id, order_session_key
                                     ORDER BY modified_at IS NULL, modified_at DESC, id DESC) AS copy,
                  first_value(first_decision) OVER (PARTITION BY account_id, order_session_key ORDER BY id) AS first,
                  count(*) OVER (PARTITION BY account_id, order_session_key) AS copies
           FROM orders;
         UPDATE orders SET first_decision = (SELECT first FROM temp.order_copies c WHERE c.id = orders.id)
           WHERE id IN (SELECT id FROM temp.order_copies WHERE copy = 1 AND copies > 1);",
    )
    .op("keeping the first decision of duplicate orders")?;
    let dropped = tx
        .execute("DELETE FROM orders WHERE id IN (SELECT id FROM temp.order_copies WHERE copy > 1)", [])
        .op("removing duplicate orders")?;
    tx.execute_batch("DROP TABLE temp.order_copies").op("removing duplicate orders")?;
    Ok(dropped)
}

fn mark_set(conn: &rusqlite::Connection, name: &str) -> Result<bool, MirrorError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM mirror_marks WHERE name = ?1 AND value <> 0)", [name], |r| r.get(0))
        .op("reading a mark")
}

/// The word index's `automerge` and `crisismerge` settings (kept in its config table).
fn set_fts_merging(tx: &rusqlite::Transaction<'_>, automerge: i64, crisismerge: i64) -> Result<(), MirrorError> {
    tx.execute("INSERT INTO orders_search (orders_search, rank) VALUES ('automerge', ?1)", [automerge])
        .op("setting the word index's merging")?;
    tx.execute("INSERT INTO orders_search (orders_search, rank) VALUES ('crisismerge', ?1)", [crisismerge])
        .op("setting the word index's merging")?;
    Ok(())
}

/// Recomputes the rollup tables from `orders` (the same grouping the triggers maintain).
const ROLLUP_FILL: &str = "
DELETE FROM rollup_days;
DELETE FROM rollup_rescue;
DELETE FROM rollup_rescue_month;
DELETE FROM rollup_expiry;
INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents, captured_cents, refunded_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state, coalesce('=' || decline_code, ''),
       COUNT(*), SUM(amount_cents), SUM(captured_cents), SUM(refunded_cents)
FROM orders GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO rollup_rescue (account_id, day, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state, d IS NOT NULL, coalesce(d, 0), COUNT(*)
FROM (SELECT account_id, created_at, currency, is_mit, state,
             CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000 AS d
      FROM orders)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_rescue_month (account_id, month, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, substr(day, 1, 7), currency, is_mit, state, has_days, rescue_days, SUM(orders)
FROM rollup_rescue GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_expiry (account_id, day, currency, state, expiry_day, orders, amount_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, state, coalesce(substr(expiry_at, 1, 10), ''),
       COUNT(*), SUM(amount_cents)
FROM orders WHERE is_mit = 1 GROUP BY 1, 2, 3, 4, 5;
";

/// Longest a checkpointer drains after a bulk load before leaving the rest to the writer.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// SQLite's default `wal_autocheckpoint` (pages), restored after a bulk load.
const DEFAULT_AUTOCHECKPOINT: i64 = 1000;
/// WAL size kept after a checkpoint resets it (a bulk load grows it).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Checkpoints the WAL on its own connection and thread while a bulk load's writer inserts
/// and rebuilds the indexes, so the copying of committed pages into the database and its
/// `fsync`s run beside that work instead of inside each commit (the writer's auto-checkpoint
/// is off meanwhile). Once the load is finished it is told to [`Checkpointer::drain`]: it
/// copies what is left (the rebuilt indexes) and exits, so the load's last commit does not
/// wait for that copy either. Checkpoints are always safe to run; a failed one is simply
/// tried again, and a checkpoint cut short (the app quits) resumes at the next one.
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    drain: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// `None` for an in-memory database or when the thread cannot start.
    fn start(conn: &rusqlite::Connection) -> Option<Checkpointer> {
        let path = conn.path().filter(|p| !p.is_empty())?.to_string();
        let own = rusqlite::Connection::open(path).ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let drain = Arc::new(AtomicBool::new(false));
        let (flag, draining) = (stop.clone(), drain.clone());
        let handle = std::thread::Builder::new()
            .name("mirror-checkpoint".into())
            .spawn(move || {
                let mut drain_began: Option<std::time::Instant> = None;
                let mut copied_before = -1;
                while !flag.load(Ordering::Relaxed) {
                    // Read before checkpointing: everything committed before `drain` was set
                    // is in the WAL by then, so a checkpoint that catches up copies it all.
                    let last = draining.load(Ordering::Acquire);
                    // (busy, frames in the WAL, frames copied). Busy (another connection is
                    // checkpointing) or an error is not "caught up".
                    let (caught_up, copied) = own
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                            let (busy, log, copied): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                            Ok((busy == 0 && copied >= log, copied))
                        })
                        .unwrap_or((false, copied_before));
                    if last {
                        let began = *drain_began.get_or_insert_with(std::time::Instant::now);
                        // A reader on an old snapshot can hold the copy back; the writer's own
                        // checkpoints (back on by then) finish it later.
                        if caught_up || began.elapsed() > DRAIN_LIMIT {
                            break;
                        }
                    }
                    // Quickly while pages are being copied, slowly when waiting.
                    let progressing = !caught_up && copied != copied_before;
                    copied_before = copied;
                    std::thread::park_timeout(Duration::from_millis(if progressing { 2 } else { 20 }));
                }
            })
            .ok()?;
        Some(Checkpointer { stop, drain, handle: Some(handle) })
    }

    /// Copies what is left of the WAL into the database, then stops (without waiting here).
    fn drain(&self) {
        self.drain.store(true, Ordering::Release);
        if let Some(handle) = &self.handle {
            // Now rather than after its pause, so that it, not the writer's next commit, copies.
            handle.thread().unpark();
        }
    }

    fn draining(&self) -> bool {
        self.drain.load(Ordering::Acquire)
    }

    /// True once the thread has stopped (after draining, or never started).
    #[cfg(test)]
    fn is_done(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

impl Mirror {
    /// The highest order id the word index covers.
    pub(crate) fn search_indexed_upto(&self) -> Result<i64, MirrorError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM mirror_marks WHERE name = ?1", [SEARCH_MARK], |r| r.get(0))
            .optional()
            .op("reading the search mark")?
            .unwrap_or(0))
    }

    /// Adds every order past the search mark to the word index and moves the mark to the
    /// newest order. Returns how many orders were indexed. Cheap when nothing is pending.
    #[tracing::instrument(skip_all, err)]
    pub fn index_search(&mut self) -> Result<u64, MirrorError> {
        // One step without a size limit: everything past the mark, in one transaction.
        self.index_search_step(i64::MAX as u64)
    }

    /// Adds at most `max_rows` orders past the search mark to the word index and moves the
    /// mark past them, in one short transaction (so a writer waiting for the lock waits at
    /// most one chunk). Returns how many orders it indexed: 0 when the index is complete.
    /// Run it in a loop after a sync until it returns 0.
    #[tracing::instrument(skip(self), err)]
    pub fn index_search_step(&mut self, max_rows: u64) -> Result<u64, MirrorError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting a search index")?;
        let upto: i64 = tx
            .query_row("SELECT value FROM mirror_marks WHERE name = ?1", [SEARCH_MARK], |r| r.get(0))
            .optional()
            .op("reading the search mark")?
            .unwrap_or(0);
        let (last, n): (Option<i64>, i64) = tx
            .query_row(
                "SELECT MAX(id), COUNT(*) FROM (SELECT id FROM orders WHERE id > ?1 ORDER BY id LIMIT ?2)",
                rusqlite::params![upto, max_rows.max(1) as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .op("reading the next orders to index")?;
        let Some(last) = last else {
            return Ok(0);
        };
        if n as u64 >= max_rows && !mark_set(&tx, SEARCH_MERGE_MARK)? {
            // More steps follow: merge once at the end rather than a little at every step.
            set_fts_merging(&tx, 0, FILL_CRISISMERGE)?;
            tx.execute("INSERT INTO mirror_marks (name, value) VALUES (?1, 1)", [SEARCH_MERGE_MARK])
                .op("marking the word index for merging")?;
        }
        tx.execute(
            "INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
             SELECT id, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code
             FROM orders WHERE id > ?1 AND id <= ?2 ORDER BY id",
            [upto, last],
        )
        .op("indexing orders for search")?;
        tx.execute(
            "INSERT INTO mirror_marks (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            rusqlite::params![SEARCH_MARK, last],
        )
        .op("moving the search mark")?;
        tx.commit().op("committing a search index")?;
        Ok(n as u64)
    }

    /// After a fill in steps: merges the word index's segments by about `pages` pages, in
    /// one short transaction. Returns false once nothing is left to merge (the index's own
    /// merge settings are then back to FTS5's defaults), and at once when no fill needed it.
    /// Searches are complete meanwhile; the merging only keeps them fast as orders arrive.
    #[tracing::instrument(skip(self), err)]
    pub fn merge_search_step(&mut self, pages: i64) -> Result<bool, MirrorError> {
        // Usually nothing to do: answer without taking the write lock.
        if !mark_set(&self.conn, SEARCH_MERGE_MARK)? {
            return Ok(false);
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting a search merge")?;
        if !mark_set(&tx, SEARCH_MERGE_MARK)? {
            return Ok(false);
        }
        let before = tx.total_changes();
        // Negative: every segment, whatever its level, counts for the merge.
        tx.execute("INSERT INTO orders_search (orders_search, rank) VALUES ('merge', ?1)", [-pages.abs().max(1)])
            .op("merging the word index")?;
        // The command itself counts one change; more means it merged something.
        let merged = tx.total_changes() - before > 1;
        if !merged {
            set_fts_merging(&tx, FTS_AUTOMERGE, FTS_CRISISMERGE)?;
            tx.execute("DELETE FROM mirror_marks WHERE name = ?1", [SEARCH_MERGE_MARK])
                .op("clearing the word index's merge mark")?;
        }
        tx.commit().op("committing a search merge")?;
        Ok(merged)
    }

    /// How many orders the word index does not cover yet (searches scan them directly).
    pub fn search_pending(&self) -> Result<u64, MirrorError> {
        let upto = self.search_indexed_upto()?;
        self.conn
            .query_row("SELECT COUNT(*) FROM orders WHERE id > ?1", [upto], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .op("counting orders to index")
    }

    /// True while a bulk load has the secondary indexes and rollup triggers off.
    pub fn bulk_loading(&self) -> Result<bool, MirrorError> {
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM mirror_bulk_ddl)", [], |r| r.get(0))
            .op("reading the bulk-load state")
    }

    /// Enters bulk-load mode if the mirror holds at most `max_existing` orders (all accounts):
    /// drops the secondary indexes and rollup triggers of `orders`, keeping their definitions.
    /// Returns whether bulk-load mode is on (also when it already was, e.g. after a crash).
    #[tracing::instrument(skip(self), err)]
    pub fn begin_bulk_load(&mut self, max_existing: u64) -> Result<bool, MirrorError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting a bulk load")?;
        let active: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM mirror_bulk_ddl)", [], |r| r.get(0))
            .op("reading the bulk-load state")?;
        if active {
            // A load begun before the rollups were summed by `apply_orders` has rows without
            // rollups: mark them stale (the marking triggers are missing then too).
            let marking: bool = tx
                .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1)", [STALE_TRIGGERS[0].0], |r| {
                    r.get(0)
                })
                .op("reading the bulk-load state")?;
            if !marking {
                create_stale_triggers(&tx)?;
                mark_rollups_stale(&tx)?;
            }
            tx.commit().op("resuming a bulk load")?;
            self.set_cache_kib(BULK_CACHE_KIB)?;
            self.start_checkpointer()?;
            return Ok(true);
        }
        let limit = i64::try_from(max_existing).unwrap_or(i64::MAX).saturating_add(1);
        let existing: i64 = tx
            .query_row("SELECT COUNT(*) FROM (SELECT 1 FROM orders LIMIT ?1)", [limit], |r| r.get(0))
            .op("counting orders")?;
        if existing as u64 > max_existing {
            return Ok(false);
        }
        if existing <= KEY_REWRITE_MAX_ORDERS {
            name_the_order_key_or_keep_it(&tx)?;
        }
        let ddl: Vec<(String, String, String)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'orders' AND sql IS NOT NULL
                       AND ((type = 'index' AND name NOT IN (?1, ?2, ?3))
                            OR (type = 'trigger' AND (name LIKE 'orders_rollup_%' OR name = 'orders_search_ai')))",
                )
                .op("reading the orders schema")?;
            let rows =
                stmt.query_map(KEPT_LIVE, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).op("reading the orders schema")?;
            rows.collect::<Result<_, _>>().op("reading the orders schema")?
        };
        for (kind, name, sql) in &ddl {
            tx.execute("INSERT INTO mirror_bulk_ddl (name, sql) VALUES (?1, ?2)", [name, sql])
                .op("saving a definition")?;
            let drop = if kind == "index" { "DROP INDEX" } else { "DROP TRIGGER" };
            tx.execute_batch(&format!("{drop} \"{}\"", name.replace('"', "\"\""))).op("dropping for a bulk load")?;
        }
        if !ddl.is_empty() {
            create_stale_triggers(&tx)?;
            // Key maps from an earlier load are not this one's (see `load_keys.rs`).
            tx.execute(
                "INSERT INTO mirror_marks (name, value) VALUES (?1, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                [LOAD_GENERATION_MARK],
            )
            .op("counting the bulk load")?;
        }
        tx.commit().op("committing the start of a bulk load")?;
        self.set_cache_kib(BULK_CACHE_KIB)?;
        if !ddl.is_empty() {
            self.start_checkpointer()?;
        }
        tracing::info!(dropped = ddl.len(), existing, "bulk load started");
        Ok(!ddl.is_empty())
    }

    /// Leaves bulk-load mode: rebuilds the indexes, restores the triggers and, only if a row
    /// was changed or deleted during the load, recomputes the rollups, in one transaction.
    /// The word index is not filled here: run [`Mirror::index_search_step`] afterwards
    /// (searches are right meanwhile, only slower). A no-op when not bulk loading.
    #[tracing::instrument(skip_all, err)]
    pub fn finish_bulk_load(&mut self) -> Result<(), MirrorError> {
        if !self.bulk_loading()? {
            return Ok(());
        }
        // A load resumed by a new process has no checkpointer yet: the index builds get one.
        self.start_checkpointer()?;
        let result = self
            .set_cache_kib(BUILD_CACHE_KIB)
            .and_then(|()| self.conn.pragma_update(None, "temp_store", "MEMORY").op("keeping sort runs in memory"))
            .and_then(|()| self.finish_bulk_load_inner());
        // Whatever happened: the usual settings back, and the checkpointer drains and stops.
        if result.is_ok() {
            self.load_keys = None;
        }
        let restored = self
            .conn
            .pragma_update(None, "temp_store", "DEFAULT")
            .op("restoring temp_store")
            .and(self.set_cache_kib(DEFAULT_CACHE_KIB))
            .and(self.drain_checkpointer());
        result.and(restored)
    }

    fn start_checkpointer(&mut self) -> Result<(), MirrorError> {
        if self.checkpointer.as_ref().is_none_or(Checkpointer::draining) {
            // One still draining a previous load stops first (its work resumes in the new one).
            self.checkpointer = None;
            self.checkpointer = Checkpointer::start(&self.conn);
            if self.checkpointer.is_some() {
                self.conn.pragma_update(None, "wal_autocheckpoint", 0).op("leaving checkpoints to the checkpointer")?;
            }
        }
        Ok(())
    }

    /// Hands the rest of the WAL to the checkpointer (which then stops by itself) and gives
    /// the writer its own checkpoints back: a later commit that finds the checkpointer still
    /// at work skips its checkpoint (SQLite allows one at a time) instead of waiting.
    fn drain_checkpointer(&mut self) -> Result<(), MirrorError> {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.drain();
            self.conn.pragma_update(None, "wal_autocheckpoint", DEFAULT_AUTOCHECKPOINT).op("restoring checkpoints")?;
            // The WAL grew during the load: keep at most this much once a checkpoint resets it.
            self.conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT).op("limiting the WAL size")?;
        }
        Ok(())
    }

    fn set_cache_kib(&self, kib: i64) -> Result<(), MirrorError> {
        self.conn.pragma_update(None, "cache_size", -kib).op("sizing the page cache")
    }

    fn finish_bulk_load_inner(&mut self) -> Result<(), MirrorError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).op("finishing a bulk load")?;
        let ddl: Vec<(String, String)> = {
            // Indexes first (named `orders_by_*`), triggers after: the order does not matter
            // for correctness, only for not maintaining a half-built state.
            let mut stmt = tx
                .prepare("SELECT name, sql FROM mirror_bulk_ddl ORDER BY sql LIKE 'CREATE TRIGGER%', name")
                .op("reading the saved definitions")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).op("reading the saved definitions")?;
            rows.collect::<Result<_, _>>().op("reading the saved definitions")?
        };
        if ddl.is_empty() {
            return Ok(());
        }
        for (name, sql) in &ddl {
            match tx.execute_batch(sql) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if name == KEY_INDEX && e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    // An order stored twice while the key index was off (see above).
                    let dropped = drop_duplicate_orders(&tx)?;
                    tracing::warn!(dropped, "duplicate orders found after a bulk load; kept the newest copy of each");
                    tx.execute_batch(sql).op("restoring the order key index")?;
                }
                other => other.op("restoring an index or trigger")?,
            }
        }
        for (name, _, _) in STALE_TRIGGERS {
            tx.execute_batch(&format!("DROP TRIGGER IF EXISTS {name}")).op("dropping a marking trigger")?;
        }
        tx.execute("DELETE FROM mirror_marks WHERE name = ?1", [KEY_DELETES_MARK]).op("clearing the delete count")?;
        // The rows inserted during the load brought their rollups with them; only a row
        // changed or deleted meanwhile (or a date SQLite reads differently) needs the
        // set-based recomputation.
        let stale = tx
            .execute("DELETE FROM mirror_marks WHERE name = ?1 AND value <> 0", [ROLLUPS_STALE_MARK])
            .op("reading the rollup mark")?
            > 0;
        if stale {
            tx.execute_batch(ROLLUP_FILL).op("recomputing the rollups")?;
        }
        tx.execute("DELETE FROM mirror_bulk_ddl", []).op("ending the bulk load")?;
        tx.commit().op("committing the end of a bulk load")?;
        tracing::info!(restored = ddl.len(), recomputed_rollups = stale, "bulk load finished");
        Ok(())
    }

    /// Recomputes the rollup tables from `orders` (repair; the triggers keep them current).
    pub fn rebuild_rollups(&mut self) -> Result<(), MirrorError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting a rollup rebuild")?;
        tx.execute_batch(ROLLUP_FILL).op("recomputing the rollups")?;
        tx.commit().op("committing a rollup rebuild")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Account, Environment};

    fn orders(from: usize, n: usize) -> Vec<flexfactor_wire::WireOrder> {
        (from..from + n)
            .map(|i| flexfactor_wire::WireOrder {
                id: format!("00000000-0000-4000-8000-{i:012}"),
                email: Some(format!("buyer{i}@example.test")),
                amount: Some(flexfactor_wire::Cents(100 + i as i64)),
                ..Default::default()
            })
            .collect()
    }

    /// An in-memory mirror holding orders `0..n` of account `acct`.
    fn small_mirror(n: usize) -> Mirror {
        let mut m = Mirror::open_in_memory().unwrap();
        m.insert_account(&Account::new("acct", "A", Environment::Sandbox, "http://x", "m", "k")).unwrap();
        if n > 0 {
            m.apply_orders("acct", &orders(0, n), None).unwrap();
        }
        m
    }

    fn index_names(m: &Mirror) -> Vec<String> {
        schema_of_orders(m).into_iter().map(|(n, _)| n).collect()
    }

    fn schema_of_orders(m: &Mirror) -> Vec<(String, String)> {
        let mut stmt = m
            .conn
            .prepare(
                "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name = 'orders' AND type IN ('index', 'trigger')
                 ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn the_first_bulk_load_gives_the_order_key_an_index_of_its_own_keeping_every_order_index_and_trigger() {
        let mut m = small_mirror(40);
        let before = schema_of_orders(&m);
        assert!(before.iter().any(|(n, _)| n == "sqlite_autoindex_orders_1"), "{before:?}");
        let ids = |m: &Mirror| -> Vec<(i64, String)> {
            let mut stmt = m.conn.prepare("SELECT id, order_session_key FROM orders ORDER BY id").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        let rows = ids(&m);
        let json = m.order_json("acct", &orders(7, 1)[0].id).unwrap();
        let columns = |m: &Mirror| -> Vec<(String, String, bool, Option<String>, i64)> {
            let mut stmt = m
                .conn
                .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('orders')")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let columns_before = columns(&m);

        assert!(m.begin_bulk_load(100).unwrap());
        m.apply_orders("acct", &orders(40, 30), None).unwrap();
        m.finish_bulk_load().unwrap();
        let after = schema_of_orders(&m);
        // The same indexes and triggers, word for word, with the key named instead of inline.
        let expected: Vec<(String, String)> = before
            .into_iter()
            .filter(|(n, _)| n != "sqlite_autoindex_orders_1")
            .chain([(
                KEY_INDEX.to_string(),
                format!("CREATE UNIQUE INDEX {KEY_INDEX} ON orders (order_session_key, account_id)"),
            )])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(after, expected);
        assert_eq!(columns(&m), columns_before, "the same columns, types and constraints");
        assert_eq!(ids(&m)[..40], rows[..]);
        assert_eq!(m.order_json("acct", &orders(7, 1)[0].id).unwrap(), json);
        assert_eq!(m.order_count("acct").unwrap(), 70);
        // The key still refuses a second copy, and the triggers keep the rollups right.
        let again = m.apply_orders("acct", &orders(3, 1), None).unwrap();
        assert_eq!((again.inserted, again.unchanged), (0, 1));
        let states = [crate::OrderState::Approved];
        m.apply_orders("acct", &orders(70, 5), None).unwrap();
        assert_eq!(
            m.order_facts("acct", None, None, &states, &[crate::OrderState::Pending]).unwrap(),
            m.order_facts_from_orders("acct", None, None, &states, &[crate::OrderState::Pending]).unwrap()
        );
        // No state asked for: nothing counted, and no error.
        assert_eq!(
            m.order_facts("acct", None, None, &[], &[]).unwrap(),
            m.order_facts_from_orders("acct", None, None, &[], &[]).unwrap()
        );
        assert!(m.quick_check().unwrap());
    }

    #[test]
    fn a_load_an_earlier_build_left_open_finishes_with_the_inline_key_and_the_next_load_names_it() {
        let mut m = small_mirror(0);
        // What an earlier build's open load looks like: a secondary index off and saved, the
        // order key still inline.
        m.conn
            .execute_batch(
                "INSERT INTO mirror_bulk_ddl (name, sql) SELECT name, sql FROM sqlite_master WHERE name = 'orders_by_amount';
                 DROP INDEX orders_by_amount;",
            )
            .unwrap();
        assert!(m.begin_bulk_load(0).unwrap(), "the open load resumes");
        m.apply_orders("acct", &orders(0, 600), None).unwrap();
        let again = m.apply_orders("acct", &orders(100, 10), None).unwrap();
        assert_eq!((again.inserted, again.unchanged), (0, 10), "the inline key still finds them");
        m.finish_bulk_load().unwrap();
        let names = index_names(&m);
        assert!(
            names.contains(&"sqlite_autoindex_orders_1".to_string()) && names.contains(&"orders_by_amount".to_string())
        );
        assert!(!names.contains(&KEY_INDEX.to_string()));
        // The next load (a re-listing of this small mirror) names the key.
        assert!(m.begin_bulk_load(10_000).unwrap());
        m.finish_bulk_load().unwrap();
        let names = index_names(&m);
        assert!(names.contains(&KEY_INDEX.to_string()) && !names.contains(&"sqlite_autoindex_orders_1".to_string()));
        assert_eq!(m.order_count("acct").unwrap(), 600);
    }

    #[test]
    fn a_rewrite_the_schema_does_not_allow_leaves_the_inline_key_and_the_load_still_works() {
        let mut m = small_mirror(5);
        // A view over orders (none of FlexDesk's own): renaming the rebuilt table fails.
        m.conn.execute_batch("CREATE VIEW order_ids AS SELECT id FROM orders").unwrap();
        assert!(m.begin_bulk_load(100).unwrap());
        let names = index_names(&m);
        assert!(names.contains(&"sqlite_autoindex_orders_1".to_string()), "{names:?}");
        m.apply_orders("acct", &orders(3, 10), None).unwrap();
        m.finish_bulk_load().unwrap();
        assert_eq!(m.order_count("acct").unwrap(), 13);
        let view: i64 = m.conn.query_row("SELECT COUNT(*) FROM order_ids", [], |r| r.get(0)).unwrap();
        assert_eq!(view, 13);
    }

    #[test]
    fn a_mirror_too_large_to_bulk_load_keeps_its_inline_order_key() {
        let mut m = small_mirror(40);
        let before = schema_of_orders(&m);
        assert!(!m.begin_bulk_load(10).unwrap());
        assert_eq!(schema_of_orders(&m), before);
    }

    #[test]
    fn after_a_bulk_load_the_checkpointer_copies_the_rest_of_the_wal_then_stops_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        let mut m = Mirror::open(&path).unwrap();
        m.insert_account(&Account::new("acct", "A", Environment::Sandbox, "http://x", "m", "k")).unwrap();
        assert!(m.begin_bulk_load(0).unwrap());
        m.apply_orders("acct", &orders(0, 3000), None).unwrap();
        m.finish_bulk_load().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !m.checkpointer.as_ref().is_none_or(Checkpointer::is_done) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(m.checkpointer.as_ref().is_some_and(Checkpointer::is_done), "the checkpointer stopped by itself");
        // Every page of the database, indexes included, is in the database file itself.
        let (pages, page_size): (i64, i64) = m
            .conn
            .query_row("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as i64, pages * page_size);
        // The writer checkpoints on its own again, and a later load gets a working checkpointer.
        let auto: i64 = m.conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, DEFAULT_AUTOCHECKPOINT);
        assert!(m.begin_bulk_load(10_000).unwrap());
        assert!(m.checkpointer.as_ref().is_some_and(|c| !c.draining() && !c.is_done()));
        m.apply_orders("acct", &orders(3000, 600), None).unwrap();
        m.finish_bulk_load().unwrap();
        assert_eq!(m.order_count("acct").unwrap(), 3600);
        assert!(m.quick_check().unwrap());
    }
}
