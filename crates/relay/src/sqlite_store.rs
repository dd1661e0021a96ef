//! The SQLite [`EventStore`]: WAL, one writer connection, commit per append.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::error::StorageContext;
use crate::store::{Appended, EventStore, FeedPage, IncomingEvent, RejectedDelivery, StoredEvent};
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
CREATE TABLE IF NOT EXISTS rejected (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    status      INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    body        TEXT NOT NULL
);
";

/// SQLite storage. Appends are serialized on one connection; each commits before returning.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, RelayError> {
        let conn = Connection::open(path).map_err(|source| RelayError::Open { path: path.to_path_buf(), source })?;
        conn.pragma_update(None, "journal_mode", "WAL").op("enabling WAL")?;
        // NORMAL in WAL mode survives a process crash (kill -9); only power loss can drop
        // the last commits. FULL would fsync every append.
        conn.pragma_update(None, "synchronous", "NORMAL").op("setting synchronous")?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).op("setting the busy timeout")?;
        conn.execute_batch(SCHEMA).op("creating the schema")?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The on-disk size of the database in bytes (page_count × page_size).
    pub fn size_bytes(&self) -> Result<u64, RelayError> {
        let conn = self.conn();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).op("reading the size")?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).op("reading the size")?;
        Ok((pages * size) as u64)
    }
}

impl EventStore for SqliteStore {
    fn append(&self, e: &IncomingEvent) -> Result<Appended, RelayError> {
        let mut conn = self.conn();
        let tx = conn.transaction().op("starting an append")?;
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
        let conn = self.conn();
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
        self.conn()
            .query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)", [], |r| r.get(0))
            .op("reading the last sequence number")
    }

    fn reject(&self, d: &RejectedDelivery) -> Result<(), RelayError> {
        self.conn()
            .execute(
                "INSERT INTO rejected (received_at, status, reason, body) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![ts(d.received_at), d.status, d.reason, d.body],
            )
            .op("keeping a rejected delivery")?;
        Ok(())
    }

    fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, RelayError> {
        let conn = self.conn();
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

    fn prune(&self, events_before: DateTime<Utc>, keys_before: DateTime<Utc>) -> Result<u64, RelayError> {
        let mut conn = self.conn();
        let tx = conn.transaction().op("starting a prune")?;
        let n = tx.execute("DELETE FROM events WHERE received_at < ?1", [ts(events_before)]).op("pruning events")?;
        tx.execute("DELETE FROM dedupe_keys WHERE received_at < ?1", [ts(keys_before)]).op("pruning dedupe keys")?;
        tx.execute("DELETE FROM rejected WHERE received_at < ?1", [ts(events_before)]).op("pruning rejected")?;
        tx.commit().op("committing a prune")?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let pruned = s.prune(Utc::now() - chrono::Duration::days(30), old - chrono::Duration::days(1)).unwrap();
        assert_eq!(pruned, 1);
        assert!(s.append(&event("old", Utc::now())).unwrap().duplicate, "dedupe key was dropped with the event");
        let page = s.read_after(0, 10).unwrap();
        assert_eq!(page.oldest_seq, 2);
        assert_eq!(s.append(&event("third", Utc::now())).unwrap().seq, 3);
    }
}
