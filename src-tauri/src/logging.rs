//! Logging: a daily-rolling file in `<data dir>/logs` (the last two weeks are kept) plus
//! stderr. Secrets never reach it: the types that hold them redact their `Debug` output,
//! and card data never enters FlexDesk (cards are vaulted by the merchant's server).

use std::path::Path;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Keeps the non-blocking log writer alive for the app's lifetime.
pub struct LogGuard(#[allow(dead_code)] pub Option<tracing_appender::non_blocking::WorkerGuard>);

/// Installs the global subscriber; `None` if the log directory cannot be created.
pub fn init(data_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = EnvFilter::try_from_env("FLEXDESK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log_dir = flexdesk_core::log_dir(data_dir);
    let appender = std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string()).and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(flexdesk_core::LOG_FILE_PREFIX)
            .filename_suffix(flexdesk_core::LOG_FILE_SUFFIX)
            .max_log_files(flexdesk_core::LOG_FILES_KEPT)
            .build(&log_dir)
            .map_err(|e| e.to_string())
    });
    match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(writer);
            let _ = tracing_subscriber::registry().with(filter).with(stderr).with(file).try_init();
            Some(guard)
        }
        Err(e) => {
            let _ = tracing_subscriber::registry().with(filter).with(stderr).try_init();
            tracing::warn!(error = %e, dir = %log_dir.display(), "cannot create the log directory; logging to stderr only");
            None
        }
    }
}
