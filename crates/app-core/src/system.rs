//! The app as installed software: the mirror's health at start (a newer file refused, a
//! damaged one set aside and rebuilt), About, backups, diagnostics bundles and desktop
//! notifications.

use chrono::{DateTime, Utc};
use flexdesk_mirror::{inspect_file, inspect_file_scoped, CheckScope, FileHealth, Mirror, SCHEMA_VERSION};
use flexdesk_secrets::account_key;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::core::RELAY_TOKEN;
use crate::demo::APP_SECRET;
use crate::system_dto::{
    AboutInfo, BackupResult, DesktopNotice, DiagnosticsResult, NoticeKind, NotificationSettings, StartupNotice,
};
use crate::{AppCore, CoreError};

/// The log directory inside a data directory (the shell writes there).
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// Log files are `flexdesk.<UTC date>.log`, one per day.
pub const LOG_FILE_PREFIX: &str = "flexdesk";
pub const LOG_FILE_SUFFIX: &str = "log";
/// Daily log files kept.
pub const LOG_FILES_KEPT: usize = 14;

/// The settings keys of the notification opt-ins.
const NOTIFY_CHARGEBACK: &str = "notify:chargeback";
const NOTIFY_REFUNDED: &str = "notify:refunded";
const NOTIFY_BATCH: &str = "notify:batch_finished";

/// The mirror opened at start, and what the user must be told about it.
pub(crate) struct OpenedMirror {
    pub mirror: Mirror,
    pub notice: Option<StartupNotice>,
    /// Only the irreplaceable tables were checked: check the whole file in the background.
    pub check_rest_later: bool,
}

/// Files larger than this get only their irreplaceable tables checked before opening, and
/// the whole-file check in the background, so a large mirror does not hold up the window
/// (the whole check of a 2.4 GB, 1M-order mirror takes about 3 s with a warm cache).
pub const WHOLE_CHECK_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Left by a background check that found damage: the next start sets the file aside.
fn rebuild_marker(db_path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.needs-rebuild", db_path.display()))
}

/// Opens the mirror after checking the file: a newer file is refused untouched; a damaged
/// one is renamed aside (with its WAL), a new one is created, and the tables the API cannot
/// give back are copied out of the old one as far as they can be read.
pub(crate) fn open_mirror_checked(db_path: &Path, whole_check_max_bytes: u64) -> Result<OpenedMirror, CoreError> {
    let marker = rebuild_marker(db_path);
    if marker.exists() && db_path.exists() {
        let detail = std::fs::read_to_string(&marker).unwrap_or_else(|_| "found by the last check".into());
        let opened = recover_damaged(db_path, detail.trim())?;
        let _ = std::fs::remove_file(&marker);
        return Ok(opened);
    }
    let size = std::fs::metadata(db_path).map(|m| m.len()).unwrap_or(0);
    let scope = if size > whole_check_max_bytes { CheckScope::LocalOnly } else { CheckScope::Whole };
    match inspect_file_scoped(db_path, scope) {
        FileHealth::Missing | FileHealth::Sound { .. } => Ok(OpenedMirror {
            mirror: Mirror::open(db_path)?,
            notice: None,
            check_rest_later: scope == CheckScope::LocalOnly,
        }),
        FileHealth::NewerSchema { found, supported } => {
            tracing::error!(found, supported, path = %db_path.display(), "the mirror is from a newer FlexDesk; refusing it");
            Err(CoreError::NewerData { path: db_path.to_path_buf(), found, supported })
        }
        FileHealth::Damaged { detail } => recover_damaged(db_path, &detail),
        FileHealth::Unavailable { cause, detail } => {
            tracing::error!(?cause, detail, path = %db_path.display(), "the mirror cannot be read now; leaving it as it is");
            Err(CoreError::MirrorUnavailable { path: db_path.to_path_buf(), cause, detail })
        }
    }
}

fn recover_damaged(db_path: &Path, detail: &str) -> Result<OpenedMirror, CoreError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = db_path.with_file_name(format!("mirror.damaged-{stamp}.sqlite3"));
    tracing::error!(path = %db_path.display(), aside = %aside.display(), detail, "the mirror is damaged; setting it aside");
    let move_file = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| {
            CoreError::Internal(format!(
                "The local database {} is damaged ({detail}) and could not be moved aside ({e}). \
                 Quit FlexDesk, move that file elsewhere yourself, and start FlexDesk again to rebuild it.",
                from.display()
            ))
        })
    };
    move_file(db_path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if side.exists() {
            move_file(&side, &PathBuf::from(format!("{}{suffix}", aside.display())))?;
        }
    }
    let mut mirror = Mirror::open(db_path)?;
    let (kept, lost) = match mirror.salvage_from(&aside) {
        Ok(report) => (
            report.copied.iter().filter(|(_, n)| *n > 0).map(|(t, n)| format!("{t} ({n})")).collect::<Vec<_>>(),
            report.failed.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "nothing could be read from the damaged mirror");
            (Vec::new(), vec!["everything".to_string()])
        }
    };
    tracing::warn!(kept = ?kept, lost = ?lost, "salvaged from the damaged mirror");
    // The full SQLite report is in the log; people get its first line.
    let cleaned = detail.replace("*** in database main ***", "");
    let first = cleaned.split(['\n', ';']).map(str::trim).find(|s| !s.is_empty()).unwrap_or("integrity check failed");
    let mut short: String = first.chars().take(90).collect();
    if short.len() < cleaned.trim().len() {
        short.push_str(", …");
    }
    let mut message = format!(
        "FlexDesk found its local database damaged ({short}). It kept the damaged file aside and is rebuilding \
         the orders from FlexFactor now: they reappear as the sync runs, and nothing at FlexFactor was changed."
    );
    if !kept.is_empty() {
        message.push_str(&format!(" Recovered from the old file: {}.", kept.join(", ")));
    }
    if !lost.is_empty() {
        message.push_str(&format!(
            " Could not be read from it: {}. If you had settings or accounts there, check them under Accounts.",
            lost.join(", ")
        ));
    }
    Ok(OpenedMirror {
        mirror,
        check_rest_later: false,
        notice: Some(StartupNotice {
            title: "The local database was damaged and is being rebuilt".into(),
            message,
            set_aside: Some(aside.display().to_string()),
        }),
    })
}

/// The whole-file check of a large mirror, off the start-up path: on damage, leaves the
/// marker that makes the next start set the file aside and rebuild it, and tells the user.
pub(crate) fn check_whole_file_later(core: AppCore) {
    let db_path = core.inner().db_path.clone();
    let spawned = std::thread::Builder::new().name("flexdesk-integrity".into()).spawn(move || {
        // Let the window show its first rows before reading the whole file.
        std::thread::sleep(std::time::Duration::from_secs(3));
        let started = std::time::Instant::now();
        match inspect_file(&db_path) {
            FileHealth::Damaged { detail } => {
                tracing::error!(detail, "the background integrity check found the mirror damaged");
                if let Err(e) = std::fs::write(rebuild_marker(&db_path), &detail) {
                    tracing::error!(error = %e, "could not record that the mirror needs rebuilding");
                }
                *core.inner().startup_notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(StartupNotice {
                    title: "The local database is damaged".into(),
                    message: "FlexDesk's check of its local database found damage. What you see may be incomplete. \
                              Quit and start FlexDesk again: it will keep the damaged file aside, copy your local data \
                              (accounts, settings, audit log, notes, batches) out of it, and rebuild the orders from \
                              FlexFactor. Nothing at FlexFactor is affected."
                        .into(),
                    set_aside: None,
                });
                core.inner().notify_changed();
            }
            FileHealth::Unavailable { cause, detail } => {
                tracing::warn!(
                    ?cause,
                    detail,
                    "the background integrity check could not run; the file was left as it is"
                )
            }
            other => tracing::info!(result = ?other, ms = started.elapsed().as_millis() as u64, "integrity check done"),
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the integrity check");
    }
}

/// Where a file goes when the user did not pick one: `FLEXDESK_EXPORT_DIR`, else the
/// Downloads folder, else `<data dir>/exports`.
pub(crate) fn default_export_path(data_dir: &Path, stem: &str, extension: &str) -> PathBuf {
    let dir = std::env::var_os("FLEXDESK_EXPORT_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Downloads")).filter(|d| d.is_dir()))
        .unwrap_or_else(|| data_dir.join("exports"));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{stem}-{}.{extension}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

/// Masks runs of 13–19 digits (card-number shaped) in text bound for a diagnostics bundle.
fn mask_long_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if (13..=19).contains(&run.len()) {
            out.push_str("[digits removed]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The log file being written: today's (UTC, as the rolling appender names them), or, until
/// something is logged today, the newest one there is.
fn current_log_file(logs: &Path, now: DateTime<Utc>) -> PathBuf {
    let today = logs.join(format!("{LOG_FILE_PREFIX}.{}.{LOG_FILE_SUFFIX}", now.format("%Y-%m-%d")));
    if today.is_file() {
        return today;
    }
    let newest = std::fs::read_dir(logs).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with(&format!("{LOG_FILE_PREFIX}.")) && n.ends_with(&format!(".{LOG_FILE_SUFFIX}"))
                    })
            })
            .max()
    });
    newest.unwrap_or(today)
}

/// Setting keys that are never exported (secrets live in the keychain; this is a guard).
fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "token", "password", "passphrase", "private"].iter().any(|s| k.contains(s))
}

impl AppCore {
    /// Version, build and where things live.
    pub fn about(&self) -> AboutInfo {
        let data_dir = self.data_dir().to_path_buf();
        let logs = log_dir(&data_dir);
        AboutInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            build: if cfg!(debug_assertions) { "debug" } else { "release" }.to_string(),
            data_dir: data_dir.display().to_string(),
            database: self.inner().db_path.display().to_string(),
            schema_version: SCHEMA_VERSION,
            log_file: current_log_file(&logs, Utc::now()).display().to_string(),
            log_dir: logs.display().to_string(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }

    /// What the user must know about this start (a rebuilt mirror), until dismissed.
    pub fn startup_notice(&self) -> Option<StartupNotice> {
        self.inner().startup_notice.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn dismiss_startup_notice(&self) {
        *self.inner().startup_notice.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Writes a consistent copy of the whole mirror (`VACUUM INTO`, from its own
    /// connection so screens and sync keep working) to `path` or a dated file in the export
    /// folder, checks the copy, and records the backup in the audit log.
    pub async fn backup_mirror(&self, path: Option<String>) -> Result<BackupResult, CoreError> {
        let dest = match path.filter(|p| !p.trim().is_empty()) {
            Some(p) => PathBuf::from(p),
            None => default_export_path(self.data_dir(), "flexdesk-mirror-backup", "sqlite3"),
        };
        let db_path = self.inner().db_path.clone();
        let target = dest.clone();
        let bytes = tokio::task::spawn_blocking(move || -> Result<u64, CoreError> {
            let conn = Mirror::open(&db_path)?;
            Ok(conn.backup_to(&target)?)
        })
        .await
        .map_err(|e| CoreError::Internal(format!("the backup task stopped: {e}")))??;
        tracing::info!(path = %dest.display(), bytes, "mirror backed up");
        // The copy is written and checked: a busy database (a long sync write) must not turn
        // that into a failure, so the audit entry is best effort here.
        let audited = self.writer().and_then(|mut w| {
            Ok(w.append_audit(&flexdesk_mirror::AuditDraft {
                account_id: self.active_account_id().ok(),
                operator: self.operator(),
                action: "backup".into(),
                target: Some(dest.display().to_string()),
                detail: format!("mirror backed up ({bytes} bytes)"),
            })?)
        });
        if let Err(e) = audited {
            tracing::warn!(error = %e, "the backup was written but could not be recorded in the audit log");
        }
        Ok(BackupResult { path: dest.display().to_string(), bytes })
    }

    /// Bundles logs, settings and the sync state into a zip for support, without any
    /// secret: secrets live only in the keychain, setting keys that look secret are left
    /// out, every keychain secret of every account is masked wherever it appears, and so
    /// are card-number-shaped digit runs.
    pub async fn export_diagnostics(&self, path: Option<String>) -> Result<DiagnosticsResult, CoreError> {
        let dest = match path.filter(|p| !p.trim().is_empty()) {
            Some(p) => PathBuf::from(p),
            None => default_export_path(self.data_dir(), "flexdesk-diagnostics", "zip"),
        };
        let mut entries: Vec<(String, String)> = Vec::new();
        let json = |v: &dyn erased::Json| v.to_pretty();
        entries.push(("about.json".into(), json(&self.about())));
        match self.app_status() {
            Ok(status) => entries.push(("status.json".into(), json(&status))),
            Err(e) => entries.push(("status.json".into(), format!("{{\"error\": {:?}}}", e.to_string()))),
        }
        let accounts = self.list_accounts().unwrap_or_default();
        entries.push(("accounts.json".into(), json(&accounts)));
        let (settings, health) = self.with_reader(|r| Ok((r.settings()?, r.table_counts()?)))?;
        let settings: serde_json::Map<String, serde_json::Value> = settings
            .into_iter()
            .filter(|(k, _)| !is_sensitive_key(k))
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        entries.push(("settings.json".into(), json(&settings)));
        let counts: serde_json::Map<String, serde_json::Value> =
            health.into_iter().map(|(t, n)| (t, serde_json::Value::from(n))).collect();
        entries.push(("database.json".into(), json(&counts)));
        let logs = log_dir(self.data_dir());
        if let Ok(dir) = std::fs::read_dir(&logs) {
            let mut files: Vec<PathBuf> = dir.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
            files.sort();
            for f in files {
                let text = std::fs::read(&f).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                entries.push((format!("logs/{name}"), text));
            }
        }
        // Every secret FlexDesk knows of, to mask wherever it might appear.
        let mut secrets: Vec<String> = Vec::new();
        for a in &accounts {
            for purpose in [APP_SECRET, RELAY_TOKEN, crate::batches::SFTP_PASSPHRASE] {
                if let Ok(s) = self.inner().config.secrets.get(&account_key(&a.id, purpose)) {
                    if s.expose().len() >= 4 {
                        secrets.push(s.expose().to_string());
                    }
                }
            }
        }
        let entries: Vec<(String, String)> = entries
            .into_iter()
            .map(|(name, text)| {
                let mut text = mask_long_digit_runs(&text);
                for s in &secrets {
                    text = text.replace(s.as_str(), "[secret removed]");
                }
                (name, text)
            })
            .collect();
        let files: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
        let target = dest.clone();
        tokio::task::spawn_blocking(move || write_zip(&target, &entries))
            .await
            .map_err(|e| CoreError::Internal(format!("the diagnostics task stopped: {e}")))??;
        tracing::info!(path = %dest.display(), files = files.len(), "diagnostics exported");
        Ok(DiagnosticsResult { path: dest.display().to_string(), files })
    }

    /// The UI drew its first rows after start: logged, and appended to the file named by
    /// `FLEXDESK_STARTUP_PROBE` (`<unix ms> <rows>`) so the start-up benchmark can read it.
    pub fn first_rows_shown(&self, rows: u32) -> Result<(), CoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        tracing::info!(rows, "first rows shown");
        self.inner().first_screen.send_replace(true);
        if let Some(probe) = std::env::var_os("FLEXDESK_STARTUP_PROBE") {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&probe)
                .map_err(|e| CoreError::Internal(format!("cannot write the start-up probe: {e}")))?;
            writeln!(f, "{now} {rows}")
                .map_err(|e| CoreError::Internal(format!("cannot write the start-up probe: {e}")))?;
        }
        Ok(())
    }

    /// Which events raise a desktop notification.
    pub fn notification_settings(&self) -> Result<NotificationSettings, CoreError> {
        self.with_reader(|r| {
            let on = |key: &str| -> Result<bool, CoreError> { Ok(r.setting(key)?.as_deref() == Some("on")) };
            Ok(NotificationSettings {
                chargeback: on(NOTIFY_CHARGEBACK)?,
                refunded: on(NOTIFY_REFUNDED)?,
                batch_finished: on(NOTIFY_BATCH)?,
            })
        })
    }

    pub fn set_notification_settings(&self, s: NotificationSettings) -> Result<(), CoreError> {
        self.with_reader(|r| {
            for (key, on) in
                [(NOTIFY_CHARGEBACK, s.chargeback), (NOTIFY_REFUNDED, s.refunded), (NOTIFY_BATCH, s.batch_finished)]
            {
                r.set_setting(key, if on { "on" } else { "off" })?;
            }
            Ok(())
        })
    }

    /// Desktop notifications to show (the shell shows them; the CLI ignores them).
    pub fn subscribe_notices(&self) -> tokio::sync::broadcast::Receiver<DesktopNotice> {
        self.inner().notices.subscribe()
    }

    /// Sends a notification if the user opted in to its kind.
    pub(crate) fn notify_desktop(&self, kind: NoticeKind, title: String, body: String) {
        let wanted = match self.notification_settings() {
            Ok(s) => match kind {
                NoticeKind::Chargeback => s.chargeback,
                NoticeKind::Refunded => s.refunded,
                NoticeKind::BatchFinished => s.batch_finished,
            },
            Err(_) => false,
        };
        if wanted {
            // No receiver (e.g. the CLI) is fine.
            let _ = self.inner().notices.send(DesktopNotice { kind, title, body });
        }
    }

    /// Turns newly applied webhooks into opted-in notifications.
    pub(crate) fn notify_webhooks(&self, account_id: &str, events: &[(String, Option<String>)]) {
        for (event, order) in events {
            let kind = match event.as_str() {
                "payment.chargeback.received" => NoticeKind::Chargeback,
                "order.refunded" => NoticeKind::Refunded,
                _ => continue,
            };
            let what = order
                .as_deref()
                .and_then(|key| self.with_reader(|r| Ok(r.order(account_id, key)?)).ok().flatten())
                .map(|o| {
                    let id = o.merchant_order_id.clone().unwrap_or_else(|| o.order_session_key.clone());
                    format!("Order {id} ({})", crate::actions::money(o.amount_cents, &o.currency))
                })
                .unwrap_or_else(|| "An order".to_string());
            let (title, body) = match kind {
                NoticeKind::Chargeback => ("Chargeback received".to_string(), format!("{what}: a chargeback arrived.")),
                _ => ("Order refunded".to_string(), format!("{what} was refunded.")),
            };
            self.notify_desktop(kind, title, body);
        }
    }
}

fn write_zip(dest: &Path, entries: &[(String, String)]) -> Result<(), CoreError> {
    let io = |e: &dyn std::fmt::Display| CoreError::Internal(format!("could not write {}: {e}", dest.display()));
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(&e))?;
    }
    let file = std::fs::File::create_new(dest).map_err(|e| io(&e))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in entries {
        zip.start_file(name.as_str(), options).map_err(|e| io(&e))?;
        zip.write_all(text.as_bytes()).map_err(|e| io(&e))?;
    }
    zip.finish().map_err(|e| io(&e))?;
    Ok(())
}

/// Pretty JSON of anything serializable, behind a trait object so one closure serves all.
mod erased {
    pub trait Json {
        fn to_pretty(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_pretty(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_number_shaped_digit_runs_are_masked_and_short_numbers_kept() {
        let t = mask_long_digit_runs("card 4111111111111111 order 12345 amount 1999 at 2026-11-23");
        assert_eq!(t, "card [digits removed] order 12345 amount 1999 at 2026-11-23");
    }

    #[test]
    fn secret_looking_setting_keys_are_never_exported() {
        assert!(is_sensitive_key("relay_token:acct-1"));
        assert!(is_sensitive_key("sftp_passphrase"));
        assert!(!is_sensitive_key("relay_url:acct-1"));
        assert!(!is_sensitive_key("poll_interval_secs"));
    }

    #[test]
    fn about_names_todays_log_once_it_exists_and_until_then_the_newest() {
        use chrono::TimeZone;
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 5).unwrap();
        let today = dir.path().join("flexdesk.2026-12-07.log");
        assert_eq!(current_log_file(dir.path(), now), today, "no logs yet: the file about to be written");
        for name in ["flexdesk.2026-12-05.log", "flexdesk.2026-12-06.log", "other.2026-12-09.log"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        assert_eq!(current_log_file(dir.path(), now), dir.path().join("flexdesk.2026-12-06.log"));
        std::fs::write(&today, "x").unwrap();
        assert_eq!(current_log_file(dir.path(), now), today);
    }
}
