//! The active account's live parts: API client, Demo sandbox (if any), and sync task.

use flexdesk_mirror::{Account, Mirror};
use flexdesk_sync::{sync_account, BackfillCursor, SyncProgress, SyncReport, CURSOR_NAME};
use flexfactor_client::FlexFactorClient;
use flexfactor_sandbox::Sandbox;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::core::Inner;
use crate::dto::{SyncPhase, SyncStatus};
use crate::CoreError;

/// What runs for the active account. Dropping it stops the sync task; the sandbox shuts
/// down with it.
pub(crate) struct Session {
    pub account: Account,
    pub client: Arc<FlexFactorClient>,
    pub sandbox: Option<Sandbox>,
    pub generation: u64,
    pub trigger: Arc<Notify>,
    pub task: Option<JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The status shown before the first run of a session: last sync time from the cursor.
pub(crate) fn initial_status(mirror: &Mirror, account_id: &str) -> SyncStatus {
    let cursor = mirror.cursor(account_id, CURSOR_NAME).ok().flatten();
    let cursor = BackfillCursor::parse(cursor.as_deref());
    SyncStatus { last_sync_at: cursor.last_sync_at.map(|d| d.to_rfc3339()), ..SyncStatus::default() }
}

/// One sync run with its own writer connection, reporting progress into the shared status
/// while `generation` is still the active session.
pub(crate) async fn run_sync(
    inner: &Inner,
    generation: u64,
    account_id: &str,
    client: &FlexFactorClient,
) -> Result<SyncReport, CoreError> {
    let mut writer = Mirror::open(&inner.db_path)?;
    let backfilling = !BackfillCursor::parse(writer.cursor(account_id, CURSOR_NAME)?.as_deref()).complete;
    inner.update_sync(generation, |s| {
        s.phase = if backfilling { SyncPhase::Backfilling } else { SyncPhase::Syncing };
        s.fetched = 0;
        s.expected = None;
    });
    let result = sync_account(client, &mut writer, account_id, |p: SyncProgress| {
        inner.update_sync(generation, |s| {
            s.phase = if p.backfilling { SyncPhase::Backfilling } else { SyncPhase::Syncing };
            s.fetched = p.fetched;
            s.expected = p.expected;
        });
    })
    .await;
    match result {
        Ok(report) => {
            inner.update_sync(generation, |s| {
                s.phase = SyncPhase::Idle;
                s.last_sync_at = Some(chrono::Utc::now().to_rfc3339());
                s.last_error = None;
            });
            Ok(report)
        }
        Err(e) => {
            let e = CoreError::from(e);
            tracing::warn!(error = %e, "sync failed");
            let ipc = e.to_ipc();
            inner.update_sync(generation, |s| {
                s.phase = SyncPhase::Error;
                s.last_error = Some(ipc.clone());
            });
            Err(e)
        }
    }
}

/// Syncs now, then every `poll_interval`, or sooner when `trigger` fires.
pub(crate) async fn sync_loop(
    inner: Arc<Inner>,
    generation: u64,
    account_id: String,
    client: Arc<FlexFactorClient>,
    trigger: Arc<Notify>,
) {
    loop {
        let _ = run_sync(&inner, generation, &account_id, &client).await;
        tokio::select! {
            _ = tokio::time::sleep(inner.config.poll_interval) => {}
            _ = trigger.notified() => {}
        }
    }
}
