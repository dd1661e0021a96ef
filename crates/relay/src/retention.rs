//! Retention and compaction: keeps the database bounded by age and, optionally, by size.
//!
//! Events leave the feed after `retention`; dedupe ids stay max(`retention`, 7 days) so a
//! late retry is still recognised; refused deliveries follow the events' age and are capped
//! in number. With `max_db_bytes`, the oldest events are dropped until the live data fits.
//! Then free pages go back to the file system (incremental auto-vacuum) and the WAL is
//! checkpointed and truncated. A dashboard whose cursor falls behind what is kept gets
//! `410 cursor_too_old` from `/feed` and backfills from the API.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::server::RelayState;
use crate::store::{MaintenancePlan, MaintenanceReport};
use crate::RelayError;

/// Dedupe ids are kept at least this long, whatever the retention.
pub const MIN_DEDUPE_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// The plan for a run at the state's current clock time.
pub(crate) fn plan(state: &RelayState) -> MaintenancePlan {
    let now = (state.config.clock)();
    let keep_events = chrono::Duration::from_std(state.config.retention).unwrap_or(chrono::Duration::MAX);
    let keep_keys =
        chrono::Duration::from_std(state.config.retention.max(MIN_DEDUPE_KEEP)).unwrap_or(chrono::Duration::MAX);
    MaintenancePlan {
        events_before: now.checked_sub_signed(keep_events).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        keys_before: now.checked_sub_signed(keep_keys).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        max_bytes: state.config.max_db_bytes,
        rejected_keep: state.config.rejected_keep,
    }
}

/// Runs one maintenance pass off the async threads and records it in the metrics.
pub(crate) async fn run_once(state: &RelayState) -> Result<MaintenanceReport, RelayError> {
    let plan = plan(state);
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || store.maintain(&plan))
        .await
        .map_err(|e| RelayError::Task(e.to_string()))
        .and_then(|r| r);
    let m = &state.metrics.maintenance;
    m.runs.fetch_add(1, Ordering::Relaxed);
    match &result {
        Ok(report) => {
            m.pruned_by_age.fetch_add(report.pruned_by_age, Ordering::Relaxed);
            m.pruned_by_size.fetch_add(report.pruned_by_size, Ordering::Relaxed);
            m.last_run_unix.store((state.config.clock)().timestamp(), Ordering::Relaxed);
            if report.size_limit_unmet {
                tracing::warn!(
                    max_db_bytes = ?state.config.max_db_bytes,
                    "the database is over max_db_mb even with every event and refused delivery dropped: \
                     the dedupe ids (kept 7 days) fill it; raise max_db_mb"
                );
            }
            if report.pruned_by_age + report.pruned_by_size + report.dedupe_keys_pruned + report.rejected_pruned > 0 {
                tracing::info!(
                    pruned_by_age = report.pruned_by_age,
                    pruned_by_size = report.pruned_by_size,
                    dedupe_keys_pruned = report.dedupe_keys_pruned,
                    rejected_pruned = report.rejected_pruned,
                    bytes_before = report.bytes_before,
                    bytes_after = report.bytes_after,
                    "retention and compaction"
                );
            }
        }
        Err(e) => {
            m.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "maintenance failed; it will run again at the next interval");
        }
    }
    result
}

/// Runs maintenance at start, then every `maintenance_interval`, until aborted.
pub(crate) async fn maintenance_loop(state: RelayState) {
    let mut stopping = state.stopping.subscribe();
    loop {
        let _ = run_once(&state).await;
        tokio::select! {
            _ = tokio::time::sleep(state.config.maintenance_interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
