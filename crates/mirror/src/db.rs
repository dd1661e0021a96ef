//! Opening the database.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

use crate::error::{MirrorError, SqlContext};
use crate::migrations::migrate;

/// Page size of a new mirror file. Measured over a 1M-order first backfill
/// (`cargo bench -p flexdesk-mirror --bench mirror`): 16 KiB pages cut the apply from
/// 8.3–8.5 s to 7.0–7.7 s against SQLite's default 4 KiB (fewer WAL frames and B-tree
/// pages per row); 32 and 64 KiB gained at most 3 % more, for costlier single-row reads.
/// The price is paid by small transactions, which write whole pages to the WAL: a webhook's
/// apply under a 1,000-per-second burst (`webhook_latency 2000 1`) went from p95 4–12 ms with
/// 4 KiB pages to 14–45 ms (target < 500 ms); at 200 per second, 1.5 ms to 2.9 ms.
const PAGE_SIZE: i64 = 16 * 1024;

/// One connection to the mirror. Use one writer (the sync engine) and any number of
/// readers (the screens), each with its own `Mirror`; WAL lets them run concurrently.
pub struct Mirror {
    pub(crate) conn: Connection,
    /// During a bulk load: the thread that checkpoints the WAL beside this writer.
    pub(crate) checkpointer: Option<crate::bulk::Checkpointer>,
    /// During a bulk load with the order-key index off: this connection's key map.
    pub(crate) load_keys: Option<crate::load_keys::LoadKeys>,
}

impl Mirror {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Mirror, MirrorError> {
        let conn = Connection::open(path).map_err(|source| MirrorError::Open { path: path.to_path_buf(), source })?;
        Mirror::init(conn)
    }

    /// A private in-memory database (tests and benchmarks).
    pub fn open_in_memory() -> Result<Mirror, MirrorError> {
        let conn = Connection::open_in_memory().op("opening an in-memory database")?;
        Mirror::init(conn)
    }

    fn init(mut conn: Connection) -> Result<Mirror, MirrorError> {
        conn.busy_timeout(Duration::from_secs(5)).op("setting the busy timeout")?;
        // Only a new, empty file takes a page size (an existing one keeps its own).
        conn.pragma_update(None, "page_size", PAGE_SIZE).op("setting the page size")?;
        conn.pragma_update(None, "journal_mode", "WAL").op("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL").op("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON").op("enabling foreign keys")?;
        conn.create_scalar_function(
            crate::order_list::FOLD,
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase())),
        )
        .op("registering the search's case folding")?;
        migrate(&mut conn)?;
        Ok(Mirror { conn, checkpointer: None, load_keys: None })
    }

    /// `PRAGMA quick_check`: true when SQLite finds the file sound.
    pub fn quick_check(&self) -> Result<bool, MirrorError> {
        let r: String = self.conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).op("checking integrity")?;
        Ok(r == "ok")
    }

    /// A settings value.
    pub fn setting(&self, key: &str) -> Result<Option<String>, MirrorError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .op("reading a setting")
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .op("writing a setting")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(m: &Mirror) -> i64 {
        m.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_new_mirror_file_uses_16_kib_pages() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::open(&dir.path().join("new.sqlite3")).unwrap();
        assert_eq!(page_size(&m), 16 * 1024);
        assert!(m.quick_check().unwrap());
    }

    #[test]
    fn an_existing_mirror_file_keeps_its_page_size_and_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "page_size", 4096).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch("CREATE TABLE before_migrations (x INTEGER)").unwrap();
        }
        let m = Mirror::open(&path).unwrap();
        assert_eq!(page_size(&m), 4096);
        m.set_setting("k", "v").unwrap();
        assert_eq!(m.setting("k").unwrap().as_deref(), Some("v"));
    }
}
