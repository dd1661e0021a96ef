//! The SQLite [`EventStore`]: WAL, a writer connection (commit per append, fsynced), a
//! reader connection, and one for refused deliveries.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::StorageContext;
use crate::store::{
    Appended, EventStore, FeedPage, IncomingEvent, MaintenancePlan, MaintenanceReport, RejectedDelivery, StoreStats,
    StoredEvent,
};
use crate::RelayError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key        TEXT NOT NULL,
    event             TEXT NOT NULL,
    order_id          TEXT,
    external_order_id TEXT,
    confirmation_id   TEXT,
    is_resent         INTEGER NOT NULL,
    received_at       TEXT NOT NULL,
    body              TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_received ON events (received_at);
CREATE TABLE IF NOT EXISTS dedupe_keys (
    dedupe_key  TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dedupe_by_received ON dedupe_keys (received_at);
CREATE TABLE IF NOT EXISTS relay_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO relay_meta (name, value) VALUES ('store_id', lower(hex(randomblob(16))));
CREATE TABLE IF NOT EXISTS rejected (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    status      INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    body        TEXT NOT NULL
);
";

/// SQLite storage. Appends are serialized on one connection; each commits (fsynced) before
/// returning. Feed pages, the health check and statistics read on a second connection
/// without holding up appends (WAL readers do not block the writer). Refused deliveries,
/// kept only for inspection and sent by anyone, are written on a third, without an fsync
/// per row, so that a flood of them does not queue good events behind its fsyncs.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    read_conn: Mutex<Connection>,
    reject_conn: Mutex<Connection>,
}

/// Free pages returned to the file system per step of a compaction (the writer is free
/// between two steps).
const VACUUM_STEP_PAGES: i64 = 256;

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn open_connection(path: &Path) -> Result<Connection, RelayError> {
    let conn = Connection::open(path).map_err(|source| RelayError::Open { path: path.to_path_buf(), source })?;
    // Takes effect only on a new, empty file; an older file is converted in `open`.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL").op("enabling incremental auto-vacuum")?;
    conn.pragma_update(None, "journal_mode", "WAL").op("enabling WAL")?;
    // FULL: every append is fsynced before the relay answers 2xx, so an acknowledged
    // webhook survives a power loss too, not only kill -9 (which NORMAL would already
    // survive in WAL mode). Measured (`cargo bench -p flexdesk-relay --bench ingest`, 16 in
    // flight): 4,300–4,800 webhooks/s against 9,500 with NORMAL; the target is 2,000.
    conn.pragma_update(None, "synchronous", "FULL").op("setting synchronous")?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).op("setting the busy timeout")?;
    Ok(conn)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn count(conn: &Connection, sql: &str, op: &'static str) -> Result<u64, RelayError> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64).op(op)
}

/// Bytes in use by live pages (the freelist excluded).
fn live_bytes(conn: &Connection) -> Result<u64, RelayError> {
    let pages = count(conn, "PRAGMA page_count", "reading the size")?;
    let free = count(conn, "PRAGMA freelist_count", "reading the size")?;
    let size = count(conn, "PRAGMA page_size", "reading the size")?;
    Ok(pages.saturating_sub(free) * size)
}

fn last_seq(conn: &Connection) -> Result<i64, RelayError> {
    conn.query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", [], |r| r.get(0))
        .op("reading the last sequence number")
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, RelayError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA).op("creating the schema")?;
        let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)).op("reading auto_vacuum")?;
        if mode != 2 {
            // A database made before compaction existed: rewrite it once so freed pages can
            // be returned to the file system from now on.
            tracing::info!(path = %path.display(), "converting the relay database to incremental auto-vacuum");
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                .op("converting to incremental auto-vacuum")?;
        }
        let read_conn = open_connection(path)?;
        let reject_conn = open_connection(path)?;
        // Losing the last refused deliveries to a power cut loses nothing of value (and
        // never an event: those commit on the FULL connection).
        reject_conn.pragma_update(None, "synchronous", "NORMAL").op("setting synchronous")?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            read_conn: Mutex::new(read_conn),
            reject_conn: Mutex::new(reject_conn),
        })
    }

    fn read_conn(&self) -> MutexGuard<'_, Connection> {
        self.read_conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wal_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push("-wal");
        PathBuf::from(p)
    }

    /// Database + WAL bytes on disk.
    pub fn disk_bytes(&self) -> u64 {
        file_len(&self.path) + file_len(&self.wal_path())
    }

    /// The on-disk size of the database in bytes (page_count × page_size).
    pub fn size_bytes(&self) -> Result<u64, RelayError> {
        let conn = self.conn();
        let pages = count(&conn, "PRAGMA page_count", "reading the size")?;
        let size = count(&conn, "PRAGMA page_size", "reading the size")?;
        Ok(pages * size)
    }

    /// Drops the refused deliveries (kept for inspection only), then the oldest events,
    /// until the live pages fit in `max` bytes (aiming 10% under, so that the next runs do
    /// not trim a few rows each time). Returns (events dropped, refused deliveries dropped,
    /// unmet).
    fn trim_to_size(conn: &Connection, max: u64) -> Result<(u64, u64, bool), RelayError> {
        let mut dropped = 0u64;
        let mut rejected = 0u64;
        if live_bytes(conn)? > max {
            rejected =
                conn.execute("DELETE FROM rejected", []).op("dropping refused deliveries for the size limit")? as u64;
        }
        loop {
            let live = live_bytes(conn)?;
            if live <= max {
                return Ok((dropped, rejected, false));
            }
            let events = count(conn, "SELECT COUNT(*) FROM events", "counting events")?;
            if events == 0 {
                return Ok((dropped, rejected, true));
            }
            let target = max - max / 10;
            let share = ((live - target.min(live)) as f64 / live as f64 * events as f64).ceil() as u64;
            let n = share.clamp(1, events);
            let deleted = conn
                .execute("DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?1)", [n as i64])
                .op("dropping the oldest events for the size limit")?;
            dropped += deleted as u64;
        }
    }
}

impl EventStore for SqliteStore {
    fn append(&self, e: &IncomingEvent) -> Result<Appended, RelayError> {
        let mut conn = self.conn();
        // Immediate: takes the write lock first (waiting for the refused-delivery connection
        // if need be), so the duplicate check's read never has to become a write while
        // another connection writes, which SQLite refuses at once (SQLITE_BUSY).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting an append")?;
        let existing: Option<i64> = tx
            .query_row("SELECT seq FROM dedupe_keys WHERE dedupe_key = ?1", [&e.dedupe_key], |r| r.get(0))
            .optional()
            .op("checking for a duplicate")?;
        if let Some(seq) = existing {
            return Ok(Appended { seq, duplicate: true });
        }
        tx.execute(
            "INSERT INTO events (dedupe_key, event, order_id, external_order_id, confirmation_id, is_resent, received_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                e.dedupe_key,
                e.event,
                e.order_id,
                e.external_order_id,
                e.confirmation_id,
                e.is_resent,
                ts(e.received_at),
                e.body
            ],
        )
        .op("storing an event")?;
        let seq = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO dedupe_keys (dedupe_key, seq, received_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![e.dedupe_key, seq, ts(e.received_at)],
        )
        .op("storing a dedupe key")?;
        tx.commit().op("committing an event")?;
        Ok(Appended { seq, duplicate: false })
    }

    fn read_after(&self, after: i64, limit: usize) -> Result<FeedPage, RelayError> {
        let mut conn = self.read_conn();
        // One snapshot for the bounds and the rows (appends commit meanwhile on the writer).
        let conn = conn.transaction().op("starting a feed read")?;
        let (oldest, latest): (Option<i64>, Option<i64>) = conn
            .query_row("SELECT MIN(seq), MAX(seq) FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .op("reading the feed bounds")?;
        let latest_ever: i64 = conn
            .query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", [], |r| r.get(0))
            .op("reading the last sequence number")?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, event, order_id, external_order_id, confirmation_id, received_at, body
                 FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .op("reading the feed")?;
        let rows = stmt
            .query_map(rusqlite::params![after, limit as i64], |r| {
                Ok(StoredEvent {
                    seq: r.get(0)?,
                    event: r.get(1)?,
                    order_id: r.get(2)?,
                    external_order_id: r.get(3)?,
                    confirmation_id: r.get(4)?,
                    received_at: parse_ts(&r.get::<_, String>(5)?),
                    body: r.get(6)?,
                })
            })
            .op("reading the feed")?;
        let events = rows.collect::<Result<Vec<_>, _>>().op("reading the feed")?;
        let next_after = events.last().map(|e| e.seq).unwrap_or(after.max(0));
        // With nothing kept, the oldest sequence a new event can get is the next one.
        Ok(FeedPage {
            events,
            next_after,
            oldest_seq: oldest.unwrap_or(latest_ever + 1),
            latest_seq: latest.unwrap_or(latest_ever),
        })
    }

    fn latest_seq(&self) -> Result<i64, RelayError> {
        last_seq(&self.read_conn())
    }

    fn store_id(&self) -> Result<String, RelayError> {
        self.read_conn()
            .query_row("SELECT value FROM relay_meta WHERE name = 'store_id'", [], |r| r.get(0))
            .op("reading the store id")
    }

    fn reject(&self, d: &RejectedDelivery, keep: u64) -> Result<(), RelayError> {
        let mut conn = self.reject_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).op("keeping a rejected delivery")?;
        tx.execute(
            "INSERT INTO rejected (received_at, status, reason, body) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![ts(d.received_at), d.status, d.reason, d.body],
        )
        .op("keeping a rejected delivery")?;
        // At most `keep`, the newest, at every insert (ids only grow): a flood cannot fill
        // the disk between two maintenance runs.
        let newest = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM rejected WHERE id <= ?1",
            [newest.saturating_sub(i64::try_from(keep).unwrap_or(i64::MAX))],
        )
        .op("capping refused deliveries")?;
        tx.commit().op("keeping a rejected delivery")?;
        Ok(())
    }

    fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, RelayError> {
        let conn = self.read_conn();
        let mut stmt = conn
            .prepare_cached("SELECT received_at, status, reason, body FROM rejected ORDER BY id DESC LIMIT ?1")
            .op("reading rejected deliveries")?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(RejectedDelivery {
                    received_at: parse_ts(&r.get::<_, String>(0)?),
                    status: r.get(1)?,
                    reason: r.get(2)?,
                    body: r.get(3)?,
                })
            })
            .op("reading rejected deliveries")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading rejected deliveries")
    }

    fn maintain(&self, plan: &MaintenancePlan) -> Result<MaintenanceReport, RelayError> {
        let mut report = MaintenanceReport { bytes_before: self.disk_bytes(), ..MaintenanceReport::default() };
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).op("starting retention")?;
        // By sequence number: everything before the first event received since the cutoff
        // (all of them when none was), so that the kept events are always one unbroken run
        // of sequence numbers (receive times are taken before the lock, so they need not grow
        // with the sequence numbers, and a clock set wrong for a while makes them jump) and a
        // dashboard whose cursor falls in the pruned part is always told so. Errs towards
        // keeping an event.
        report.pruned_by_age = tx
            .execute(
                "DELETE FROM events WHERE seq < coalesce(
                     (SELECT seq FROM events WHERE received_at >= ?1 ORDER BY seq LIMIT 1),
                     (SELECT MAX(seq) + 1 FROM events))",
                [ts(plan.events_before)],
            )
            .op("pruning old events")? as u64;
        report.dedupe_keys_pruned = tx
            .execute("DELETE FROM dedupe_keys WHERE received_at < ?1", [ts(plan.keys_before)])
            .op("pruning old dedupe ids")? as u64;
        report.rejected_pruned = tx
            .execute("DELETE FROM rejected WHERE received_at < ?1", [ts(plan.events_before)])
            .op("pruning old refused deliveries")? as u64;
        report.rejected_pruned += tx
            .execute(
                "DELETE FROM rejected WHERE id NOT IN (SELECT id FROM rejected ORDER BY id DESC LIMIT ?1)",
                [plan.rejected_keep as i64],
            )
            .op("capping refused deliveries")? as u64;
        tx.commit().op("committing retention")?;
        if let Some(max) = plan.max_bytes {
            let (dropped, rejected, unmet) = Self::trim_to_size(&conn, max)?;
            report.pruned_by_size = dropped;
            report.rejected_pruned += rejected;
            report.size_limit_unmet = unmet;
        }
        drop(conn);
        // Free pages go back to the file system in steps, the writer taken for each step
        // only: appends go on between them.
        let mut before = u64::MAX;
        loop {
            let conn = self.conn();
            let free = count(&conn, "PRAGMA freelist_count", "reading the free pages")?;
            // Done, or nothing freed by the last step (no incremental auto-vacuum).
            if free == 0 || free >= before {
                break;
            }
            before = free;
            // The pragma frees one page per row it returns: step it to the end.
            let mut vacuum = conn
                .prepare(&format!("PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})"))
                .op("returning free pages to the file system")?;
            let mut rows = vacuum.query([]).op("returning free pages to the file system")?;
            while rows.next().op("returning free pages to the file system")?.is_some() {}
        }
        let conn = self.conn();
        let _: (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .op("checkpointing the log")?;
        drop(conn);
        report.bytes_after = self.disk_bytes();
        Ok(report)
    }

    fn stats(&self) -> Result<StoreStats, RelayError> {
        let conn = self.read_conn();
        let (retained, oldest): (i64, Option<i64>) = conn
            .query_row("SELECT COUNT(*), MIN(seq) FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .op("counting events")?;
        let latest = last_seq(&conn)?;
        let dedupe_keys = count(&conn, "SELECT COUNT(*) FROM dedupe_keys", "counting dedupe ids")?;
        let rejected_kept = count(&conn, "SELECT COUNT(*) FROM rejected", "counting refused deliveries")?;
        drop(conn);
        Ok(StoreStats {
            db_bytes: file_len(&self.path),
            wal_bytes: file_len(&self.wal_path()),
            retained_events: retained.max(0) as u64,
            oldest_seq: oldest.unwrap_or(latest + 1),
            latest_seq: latest,
            dedupe_keys,
            rejected_kept,
        })
    }

    fn close(&self) -> Result<(), RelayError> {
        let _: (i64, i64, i64) = self
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .op("checkpointing the log at shutdown")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_append_is_fsynced_before_it_is_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("relay.db")).unwrap();
        let level: i64 = store.conn().query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(level, 2, "synchronous = FULL");
    }

    fn event(key: &str, at: DateTime<Utc>) -> IncomingEvent {
        IncomingEvent {
            dedupe_key: key.into(),
            event: "order.completed".into(),
            order_id: Some("o".into()),
            external_order_id: None,
            confirmation_id: Some("C".into()),
            is_resent: false,
            received_at: at,
            body: "{}".into(),
        }
    }

    fn plan(events_before: DateTime<Utc>, keys_before: DateTime<Utc>) -> MaintenancePlan {
        MaintenancePlan { events_before, keys_before, max_bytes: None, rejected_keep: 10_000 }
    }

    #[test]
    fn duplicates_keep_their_first_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let now = Utc::now();
        let a = s.append(&event("k1", now)).unwrap();
        let b = s.append(&event("k2", now)).unwrap();
        let again = s.append(&event("k1", now)).unwrap();
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(again, Appended { seq: 1, duplicate: true });
        assert_eq!(s.read_after(0, 10).unwrap().events.len(), 2);
    }

    #[test]
    fn pruning_keeps_dedupe_keys_longer_than_events_and_never_reuses_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let old = Utc::now() - chrono::Duration::days(40);
        s.append(&event("old", old)).unwrap();
        s.append(&event("new", Utc::now())).unwrap();
        let report =
            s.maintain(&plan(Utc::now() - chrono::Duration::days(30), old - chrono::Duration::days(1))).unwrap();
        assert_eq!(report.pruned_by_age, 1);
        assert_eq!(report.dedupe_keys_pruned, 0);
        assert!(s.append(&event("old", Utc::now())).unwrap().duplicate, "dedupe key was dropped with the event");
        let page = s.read_after(0, 10).unwrap();
        assert_eq!(page.oldest_seq, 2);
        assert_eq!(s.append(&event("third", Utc::now())).unwrap().seq, 3);
    }

    #[test]
    fn pruning_by_age_leaves_no_gap_when_receive_times_do_not_follow_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let base = Utc::now() - chrono::Duration::days(40);
        let day = |n: i64| base + chrono::Duration::days(n);
        s.append(&event("a", day(1))).unwrap();
        // Two deliveries raced for the lock: the one received later got the lower number.
        s.append(&event("b", day(10))).unwrap();
        s.append(&event("c", day(5))).unwrap();
        s.append(&event("d", day(20))).unwrap();
        let report = s.maintain(&plan(day(8), base)).unwrap();
        assert_eq!(report.pruned_by_age, 1);
        let page = s.read_after(0, 10).unwrap();
        assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(page.oldest_seq, 2, "a cursor at 0 is told it is too old");
        // With nothing received since the cutoff, everything goes (and numbers go on).
        let report = s.maintain(&plan(day(30), base)).unwrap();
        assert_eq!(report.pruned_by_age, 3);
        assert_eq!(s.append(&event("e", Utc::now())).unwrap().seq, 5);
    }

    #[test]
    fn the_size_limit_drops_refused_deliveries_before_any_event() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        for i in 0..10 {
            s.append(&event(&format!("k{i}"), Utc::now())).unwrap();
        }
        for _ in 0..200 {
            let refused = RejectedDelivery {
                received_at: Utc::now(),
                status: 401,
                reason: "signature".into(),
                body: "z".repeat(8 * 1024),
            };
            s.reject(&refused, 10_000).unwrap();
        }
        let size = live_bytes(&s.conn()).unwrap();
        let mut p = plan(Utc::now() - chrono::Duration::days(30), Utc::now() - chrono::Duration::days(30));
        p.max_bytes = Some(size / 2);
        let report = s.maintain(&p).unwrap();
        assert_eq!((report.rejected_pruned, report.pruned_by_size, report.size_limit_unmet), (200, 0, false));
        assert_eq!(s.read_after(0, 100).unwrap().events.len(), 10);
    }

    /// Signs and posts `body` to the relay's webhook endpoint; the answer's status.
    async fn deliver(relay: &crate::Relay, key: &[u8], body: &str) -> u16 {
        use flexfactor_wire::webhook::{format_date, sign};
        let headers = sign(
            key,
            &relay.local_addr().to_string(),
            "0123456789abcdef0123456789abcdef",
            &format_date(Utc::now()),
            body.as_bytes(),
        );
        let mut req = reqwest::Client::new().post(format!("{}/webhooks", relay.base_url())).body(body.to_string());
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        req.send().await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn a_full_disk_is_answered_503_so_the_sender_retries_and_the_retry_is_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let key = b"full-disk-subscriber-key-0123456789abcdef0123456789abcdef";
        let store = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
        let relay = crate::Relay::start_with_store(
            crate::RelayConfig::new(path, key.to_vec(), "full-disk-feed-token"),
            store.clone(),
        )
        .await
        .unwrap();
        // A body that needs new pages (overflow pages past the page size) to be stored.
        let body = format!(
            r#"{{"Event":"order.completed","TimeStamp":"2026-12-07T10:00:00.000000Z","OrderId":"o-1","ConfirmationId":"C1","IsTestMode":true,"IsResent":false,"Note":"{}"}}"#,
            "x".repeat(100_000)
        );
        // SQLite refuses to grow the file: the same SQLITE_FULL a full disk gives.
        let limit = |pages: Option<i64>| {
            let conn = store.conn();
            let pages = pages.unwrap_or_else(|| conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap());
            let set: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).unwrap();
            assert_eq!(set, pages);
        };
        limit(None);
        // The store itself fails with SQLite's "full" code (not some other storage error) ...
        let mut big = event("direct", Utc::now());
        big.body = body.clone();
        match store.append(&big) {
            Err(RelayError::Storage { source, .. }) => {
                assert_eq!(source.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull), "{source}")
            }
            other => panic!("expected a full store, got {other:?}"),
        }
        // ... and the relay does not acknowledge the webhook.
        assert_eq!(deliver(&relay, key, &body).await, 503, "not acknowledged: FlexFactor sends it again");
        assert_eq!(relay.state().metrics().store_errors.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(store.read_after(0, 10).unwrap().events.is_empty());

        limit(Some(1 << 30));
        assert_eq!(deliver(&relay, key, &body).await, 200, "the retry, once space is back");
        assert_eq!(deliver(&relay, key, &body).await, 200, "and a duplicate retry");
        let page = store.read_after(0, 10).unwrap();
        assert_eq!(page.events.len(), 1, "stored exactly once");
        assert_eq!(page.events[0].body, body);
        relay.shutdown().await;
    }
}
