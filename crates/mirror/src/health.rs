//! The database file's health at start, rescuing what the API cannot give back from a
//! damaged file, and consistent backups.
//!
//! Orders, timelines and cursors are a rebuildable copy of FlexFactor; the tables listed in
//! [`IRREPLACEABLE_TABLES`] are not (who refunded what, notes, review decisions, saved
//! views, batches, settings), so a damaged file is set aside, never deleted, and those
//! tables are copied out of it as far as SQLite can still read them.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

use crate::db::Mirror;
use crate::error::{MirrorError, SqlContext};
use crate::migrations::SCHEMA_VERSION;

/// What [`inspect_file`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileHealth {
    /// No database yet: a first start.
    Missing,
    /// Opens, passes `PRAGMA quick_check`, and this build understands its schema.
    Sound { schema_version: i64 },
    /// Written by a newer FlexDesk: leave it untouched.
    NewerSchema { found: i64, supported: i64 },
    /// Not a database any more, or SQLite's quick check reports damage.
    Damaged { detail: String },
    /// Could not be read now for a reason outside the file (locked by another program, a
    /// full disk, no permission, an I/O error): nothing says it is damaged, so it must be
    /// left as it is, not set aside.
    Unavailable { cause: Unavailable, detail: String },
}

/// Why a file could not be checked (see [`FileHealth::Unavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Another connection holds a lock longer than the busy timeout.
    InUse,
    /// SQLite could not write what even reading needs (the WAL index, a recovery).
    DiskFull,
    /// Permissions, a read-only file system, an I/O error, memory.
    Access,
}

/// A failure to read the file: damage only when SQLite says the file itself is bad (or
/// gives an error it gives for nothing else); trouble around the file otherwise.
fn unreadable(what: &str, e: &rusqlite::Error) -> FileHealth {
    use rusqlite::ErrorCode as C;
    let detail = format!("{what}: {e}");
    let extended = match e {
        rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
        _ => 0,
    };
    // A read the OS failed (EIO: a bad sector) is damage, as SQLite itself counts it.
    if extended == rusqlite::ffi::SQLITE_IOERR_CORRUPTFS {
        return FileHealth::Damaged { detail };
    }
    // Growing the WAL index (`-shm`, recreated by the first connection after a clean
    // close) fails this way when the disk is full.
    if extended == rusqlite::ffi::SQLITE_IOERR_SHMSIZE {
        return FileHealth::Unavailable { cause: Unavailable::DiskFull, detail };
    }
    let cause = match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => Unavailable::InUse,
        Some(C::DiskFull) => Unavailable::DiskFull,
        Some(
            C::CannotOpen
            | C::PermissionDenied
            | C::ReadOnly
            | C::SystemIoFailure
            | C::OutOfMemory
            | C::FileLockingProtocolFailed
            | C::AuthorizationForStatementDenied,
        ) => Unavailable::Access,
        _ => return FileHealth::Damaged { detail },
    };
    FileHealth::Unavailable { cause, detail }
}

/// Tables that only exist on this machine, in the order they must be copied (parents
/// before the rows that reference them).
pub const IRREPLACEABLE_TABLES: &[&str] = &[
    "accounts",
    "settings",
    "column_mappings",
    "batches",
    "batch_files",
    "batch_rows",
    "outbox",
    "audit_log",
    "notes",
    "review_decisions",
    "saved_views",
    "account_webhooks",
];

/// How much of the file [`inspect_file_scoped`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// `PRAGMA quick_check` of the whole file (about 3 s for a 2.4 GB, 1M-order mirror).
    Whole,
    /// Only the tables this machine alone holds ([`IRREPLACEABLE_TABLES`]) and the schema:
    /// fast at any size; the rest is checked later, in the background.
    LocalOnly,
}

/// Checks the database file at `path` without changing its schema: its version first (a
/// newer file is refused before anything else touches it), then `PRAGMA quick_check`.
pub fn inspect_file(path: &Path) -> FileHealth {
    inspect_file_scoped(path, CheckScope::Whole)
}

/// [`inspect_file`] over the whole file or only its irreplaceable tables.
pub fn inspect_file_scoped(path: &Path, scope: CheckScope) -> FileHealth {
    if !path.exists() {
        return FileHealth::Missing;
    }
    let conn =
        match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX) {
            Ok(c) => c,
            Err(e) => return unreadable("it cannot be opened", &e),
        };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
    let version: i64 = match conn.query_row("PRAGMA user_version", [], |r| r.get(0)) {
        Ok(v) => v,
        Err(e) => return unreadable("its header cannot be read", &e),
    };
    if version > SCHEMA_VERSION {
        return FileHealth::NewerSchema { found: version, supported: SCHEMA_VERSION };
    }
    let pragmas: Vec<String> = match scope {
        CheckScope::Whole => vec!["PRAGMA quick_check(5)".to_string()],
        CheckScope::LocalOnly => {
            let existing = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>());
            match existing {
                Err(e) => return unreadable("its schema cannot be read", &e),
                Ok(tables) => IRREPLACEABLE_TABLES
                    .iter()
                    .filter(|t| tables.iter().any(|x| x == *t))
                    .map(|t| format!("PRAGMA quick_check(\"{t}\")"))
                    .collect(),
            }
        }
    };
    let mut problems = Vec::new();
    for pragma in &pragmas {
        let checked = conn.prepare(pragma).and_then(|mut stmt| {
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                let row = row?;
                if row != "ok" {
                    problems.push(row);
                }
            }
            Ok(())
        });
        if let Err(e) = checked {
            return unreadable("the integrity check could not run", &e);
        }
    }
    if problems.is_empty() {
        FileHealth::Sound { schema_version: version }
    } else {
        FileHealth::Damaged { detail: problems.join("; ") }
    }
}

/// What [`Mirror::salvage_from`] copied out of a damaged file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// `(table, rows copied)`.
    pub copied: Vec<(String, u64)>,
    /// `(table, why it could not be read)`.
    pub failed: Vec<(String, String)>,
}

impl Mirror {
    /// Copies the [`IRREPLACEABLE_TABLES`] out of the (damaged, set-aside) database at
    /// `damaged`, read-only, table by table: what SQLite can still read is kept, what it
    /// cannot is reported. Columns are matched by name, so an older file works too.
    pub fn salvage_from(&mut self, damaged: &Path) -> Result<SalvageReport, MirrorError> {
        let uri = format!("file:{}?mode=ro", damaged.display());
        self.conn.execute("ATTACH DATABASE ?1 AS salvage", [&uri]).op("attaching the damaged database")?;
        let mut report = SalvageReport::default();
        for table in IRREPLACEABLE_TABLES {
            match copy_table(&mut self.conn, table) {
                Ok(rows) => report.copied.push((table.to_string(), rows)),
                Err(e) => report.failed.push((table.to_string(), e.to_string())),
            }
        }
        self.conn.execute("DETACH DATABASE salvage", []).op("detaching the damaged database")?;
        Ok(report)
    }

    /// Every settings row, by key (for the diagnostics bundle; the caller filters).
    pub fn settings(&self) -> Result<Vec<(String, String)>, MirrorError> {
        let mut stmt = self.conn.prepare("SELECT key, value FROM settings ORDER BY key").op("listing settings")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .op("listing settings")?
            .collect::<Result<Vec<_>, _>>()
            .op("listing settings")?;
        Ok(rows)
    }

    /// Row counts of every table, plus the schema version and file size (diagnostics).
    pub fn table_counts(&self) -> Result<Vec<(String, u64)>, MirrorError> {
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .op("listing tables")?;
            let names = stmt
                .query_map([], |r| r.get(0))
                .op("listing tables")?
                .collect::<Result<Vec<String>, _>>()
                .op("listing tables")?;
            names
        };
        let mut out = Vec::with_capacity(tables.len() + 2);
        for t in tables {
            // Virtual (FTS) tables count like any other.
            let n: i64 =
                self.conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0)).op("counting rows")?;
            out.push((t, n.max(0) as u64));
        }
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).op("reading the version")?;
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).op("reading the size")?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).op("reading the size")?;
        out.push(("(schema version)".into(), version.max(0) as u64));
        out.push(("(file bytes)".into(), (pages * page_size).max(0) as u64));
        Ok(out)
    }

    /// Writes a consistent copy of the whole database to `dest` (which must not exist)
    /// with `VACUUM INTO`, while other connections keep reading and writing, then checks
    /// the copy. Returns its size in bytes.
    pub fn backup_to(&self, dest: &Path) -> Result<u64, MirrorError> {
        if dest.exists() {
            return Err(MirrorError::Data {
                op: "backing up the mirror",
                message: format!("{} already exists; choose another name", dest.display()),
            });
        }
        let target = dest.to_string_lossy().to_string();
        if let Err(e) = self.conn.execute("VACUUM INTO ?1", [&target]) {
            // `dest` did not exist: whatever is there now is a partial copy.
            let _ = std::fs::remove_file(dest);
            let _ = std::fs::remove_file(format!("{}-journal", dest.display()));
            let full = e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
            return Err(MirrorError::Backup {
                message: if full {
                    format!(
                        "the disk holding {} (or SQLite's temporary space) is full; the partial copy was removed. \
                         Free some space there or choose another place",
                        dest.display()
                    )
                } else {
                    format!("{} could not be written ({e}); the partial copy was removed", dest.display())
                },
            });
        }
        match inspect_file(dest) {
            FileHealth::Sound { .. } => {}
            other => {
                return Err(MirrorError::Data {
                    op: "checking the backup",
                    message: format!("the copy at {} did not pass its check: {other:?}", dest.display()),
                })
            }
        }
        std::fs::metadata(dest)
            .map(|m| m.len())
            .map_err(|e| MirrorError::Data { op: "checking the backup", message: e.to_string() })
    }
}

/// Copies one table's readable rows (columns present on both sides) in one savepoint.
fn copy_table(conn: &mut Connection, table: &str) -> Result<u64, rusqlite::Error> {
    let columns = |schema: &str| -> Result<Vec<String>, rusqlite::Error> {
        let mut stmt = conn.prepare(&format!("PRAGMA {schema}.table_info(\"{table}\")"))?;
        let cols = stmt.query_map([], |r| r.get::<_, String>(1))?.collect::<Result<Vec<_>, _>>()?;
        Ok(cols)
    };
    let ours = columns("main")?;
    let theirs = columns("salvage")?;
    let shared: Vec<String> = ours.into_iter().filter(|c| theirs.contains(c)).map(|c| format!("\"{c}\"")).collect();
    if shared.is_empty() {
        return Ok(0);
    }
    let list = shared.join(", ");
    let tx = conn.transaction()?;
    let n = tx.execute(
        &format!("INSERT OR IGNORE INTO main.\"{table}\" ({list}) SELECT {list} FROM salvage.\"{table}\""),
        [],
    )?;
    tx.commit()?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    fn mirror_with_settings(path: &Path) {
        let m = Mirror::open(path).unwrap();
        m.set_setting("operator_name", "Dana").unwrap();
        m.set_setting("theme", "dark").unwrap();
        m.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    }

    #[test]
    fn a_fresh_database_is_sound_and_a_missing_one_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        assert_eq!(inspect_file(&path), FileHealth::Missing);
        mirror_with_settings(&path);
        assert_eq!(inspect_file(&path), FileHealth::Sound { schema_version: SCHEMA_VERSION });
    }

    #[test]
    fn a_newer_database_is_reported_before_any_check_and_left_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        mirror_with_settings(&path);
        Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 3).unwrap();
        let before = std::fs::read(&path).unwrap();
        assert_eq!(
            inspect_file(&path),
            FileHealth::NewerSchema { found: SCHEMA_VERSION + 3, supported: SCHEMA_VERSION }
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_file_locked_by_another_program_is_in_use_not_damaged_and_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        mirror_with_settings(&path);
        // Another program holding the file exclusively (SQLite's exclusive locking mode
        // keeps the lock after its first write).
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; COMMIT;").unwrap();
        holder.execute("INSERT INTO settings (key, value) VALUES ('held', 'yes')", []).unwrap();
        let before = std::fs::read(&path).unwrap();
        match inspect_file(&path) {
            FileHealth::Unavailable { cause: Unavailable::InUse, detail } => {
                assert!(detail.contains("locked"), "{detail}")
            }
            other => panic!("expected in use, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file was not touched");
        drop(holder);
        assert_eq!(inspect_file(&path), FileHealth::Sound { schema_version: SCHEMA_VERSION });
    }

    #[test]
    fn only_errors_about_the_file_itself_count_as_damage() {
        use rusqlite::ffi;
        let health = |code| unreadable("x", &rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
        let cause = |code| match health(code) {
            FileHealth::Unavailable { cause, .. } => Some(cause),
            _ => None,
        };
        assert_eq!(cause(ffi::SQLITE_BUSY), Some(Unavailable::InUse));
        assert_eq!(cause(ffi::SQLITE_LOCKED), Some(Unavailable::InUse));
        assert_eq!(cause(ffi::SQLITE_FULL), Some(Unavailable::DiskFull));
        assert_eq!(cause(ffi::SQLITE_IOERR_SHMSIZE), Some(Unavailable::DiskFull));
        assert_eq!(cause(ffi::SQLITE_IOERR_READ), Some(Unavailable::Access));
        assert_eq!(cause(ffi::SQLITE_CANTOPEN), Some(Unavailable::Access));
        assert_eq!(cause(ffi::SQLITE_READONLY), Some(Unavailable::Access));
        for damage in [ffi::SQLITE_CORRUPT, ffi::SQLITE_NOTADB, ffi::SQLITE_ERROR, ffi::SQLITE_IOERR_CORRUPTFS] {
            assert!(matches!(health(damage), FileHealth::Damaged { .. }), "{damage}");
        }
    }

    #[test]
    fn garbage_in_place_of_the_header_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        std::fs::write(&path, vec![0x5au8; 8192]).unwrap();
        assert!(matches!(inspect_file(&path), FileHealth::Damaged { .. }));
    }

    #[test]
    fn overwritten_pages_are_found_by_the_quick_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        {
            let m = Mirror::open(&path).unwrap();
            for i in 0..3000 {
                m.set_setting(&format!("key-{i}"), &"x".repeat(200)).unwrap();
            }
            m.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        }
        let len = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Trash the middle of the file (B-tree pages of the settings table), keep the header.
        f.seek(SeekFrom::Start(len / 2)).unwrap();
        f.write_all(&vec![0xffu8; 16384]).unwrap();
        drop(f);
        match inspect_file(&path) {
            FileHealth::Damaged { detail } => assert!(!detail.is_empty()),
            other => panic!("expected damage, got {other:?}"),
        }
    }

    #[test]
    fn the_local_only_check_skips_damage_in_rebuildable_tables_and_the_whole_check_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        {
            let m = Mirror::open(&path).unwrap();
            m.set_setting("operator_name", "Dana").unwrap();
            m.conn.execute_batch("CREATE TABLE bulky (v TEXT)").unwrap();
            for i in 0..3000 {
                m.conn.execute("INSERT INTO bulky (v) VALUES (?1)", [format!("{i:0300}")]).unwrap();
            }
            m.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        }
        // The bulky rows were written last: trash pages near the end of the file.
        let len = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(len - 65_536)).unwrap();
        f.write_all(&vec![0x11u8; 32_768]).unwrap();
        drop(f);
        assert_eq!(
            inspect_file_scoped(&path, CheckScope::LocalOnly),
            FileHealth::Sound { schema_version: SCHEMA_VERSION }
        );
        assert!(matches!(inspect_file(&path), FileHealth::Damaged { .. }));
    }

    #[test]
    fn salvage_copies_the_irreplaceable_tables_from_a_set_aside_file() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.sqlite3");
        mirror_with_settings(&old);
        let mut fresh = Mirror::open(&dir.path().join("new.sqlite3")).unwrap();
        let report = fresh.salvage_from(&old).unwrap();
        assert!(report.failed.is_empty(), "{report:?}");
        assert!(report.copied.contains(&("settings".to_string(), 2)));
        assert_eq!(fresh.setting("operator_name").unwrap().as_deref(), Some("Dana"));
    }

    #[test]
    fn a_backup_is_a_sound_copy_and_never_overwrites_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        mirror_with_settings(&path);
        let m = Mirror::open(&path).unwrap();
        let dest = dir.path().join("backup.sqlite3");
        let bytes = m.backup_to(&dest).unwrap();
        assert!(bytes > 0);
        assert_eq!(Mirror::open(&dest).unwrap().setting("theme").unwrap().as_deref(), Some("dark"));
        assert!(m.backup_to(&dest).is_err());
    }

    /// A 64 KiB tmpfs (needs root, as CI runs; skipped with a note otherwise).
    struct SmallDisk(std::path::PathBuf);

    impl SmallDisk {
        fn mount(at: &Path) -> Option<SmallDisk> {
            std::fs::create_dir_all(at).unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
                .arg(at)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| SmallDisk(at.to_path_buf()))
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let unmounted = std::process::Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
            if !unmounted {
                // Still busy: detach it now, the kernel frees it when the last file closes.
                let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
            }
        }
    }

    #[test]
    fn a_backup_onto_a_full_disk_says_so_and_leaves_no_partial_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        {
            let m = Mirror::open(&path).unwrap();
            for i in 0..500 {
                m.set_setting(&format!("key-{i}"), &"x".repeat(500)).unwrap();
            }
        }
        let Some(disk) = SmallDisk::mount(&dir.path().join("small")) else {
            eprintln!("SKIPPED: mounting a small tmpfs needs root");
            return;
        };
        let m = Mirror::open(&path).unwrap();
        let dest = disk.0.join("backup.sqlite3");
        let err = m.backup_to(&dest).unwrap_err().to_string();
        assert!(err.contains("is full") && err.contains("partial copy was removed"), "{err}");
        assert!(!dest.exists(), "no partial copy is left");
        // The mirror itself is unharmed.
        assert_eq!(m.setting("key-7").unwrap().map(|v| v.len()), Some(500));
    }
}
