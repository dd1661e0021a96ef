//! Opening the database.

use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

use crate::error::{MirrorError, SqlContext};
use crate::migrations::migrate;

/// One connection to the mirror. Use one writer (the sync engine) and any number of
/// readers (the screens), each with its own `Mirror`; WAL lets them run concurrently.
pub struct Mirror {
    pub(crate) conn: Connection,
    /// During a bulk load: the thread that checkpoints the WAL beside this writer.
    pub(crate) checkpointer: Option<crate::bulk::Checkpointer>,
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
        conn.pragma_update(None, "journal_mode", "WAL").op("enabling WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL").op("setting synchronous")?;
        conn.pragma_update(None, "foreign_keys", "ON").op("enabling foreign keys")?;
        migrate(&mut conn)?;
        Ok(Mirror { conn, checkpointer: None })
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
