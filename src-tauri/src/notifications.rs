//! Desktop notifications: the core decides what the user opted in to; the shell shows
//! each one with the Tauri notification plugin. A desktop without a notification service
//! only costs a log line.

use flexdesk_core::AppCore;
use tauri::Runtime;
use tauri_plugin_notification::NotificationExt;

/// Shows every notice the core sends, for the app's lifetime.
pub fn forward<R: Runtime>(handle: &tauri::AppHandle<R>, core: &AppCore) {
    let mut notices = core.subscribe_notices();
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match notices.recv().await {
                Ok(n) => {
                    tracing::info!(kind = ?n.kind, title = %n.title, "desktop notification");
                    if let Err(e) = handle.notification().builder().title(&n.title).body(&n.body).show() {
                        tracing::warn!(error = %e, "could not show a desktop notification");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "desktop notifications were dropped in a burst");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
