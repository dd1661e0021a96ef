//! FlexDesk's desktop shell: the window, logging, and the typed commands. Every command
//! is a one-liner over [`flexdesk_core::AppCore`]; errors cross IPC as `{code, message}`.
//! The command names are declared once in `flexdesk_core::bindings::COMMANDS`, which
//! also generates the UI's TypeScript.

mod commands;
mod logging;
mod memory;
mod notifications;
mod webview_env;
mod window;

use flexdesk_core::{instance, AppCore, CoreConfig};
use flexdesk_secrets::KeychainStore;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

/// Registers FlexDesk's commands on a builder (generic so tests use the mock runtime).
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_status,
        commands::list_orders,
        commands::list_accounts,
        commands::add_account,
        commands::switch_account,
        commands::sync_now,
        commands::retry_setup,
        commands::configure_relay,
        commands::order_detail,
        commands::add_note,
        commands::refund,
        commands::cancel_preview,
        commands::cancel_orders,
        commands::external_cancel,
        commands::review_queue,
        commands::review_decide,
        commands::pending_rescues,
        commands::check_action,
        commands::settle_action,
        commands::resolve_open_actions,
        commands::audit_log,
        commands::verify_audit,
        commands::export_audit_csv,
        commands::webhook_log,
        commands::replay_webhook,
        commands::export_orders_csv,
        commands::save_view,
        commands::list_views,
        commands::delete_view,
        commands::operator_name,
        commands::set_operator_name,
        commands::poll_interval,
        commands::set_poll_interval,
        commands::chart_overview,
        commands::render_chart,
        commands::export_chart,
        commands::batch_compose,
        commands::batch_draft,
        commands::batch_discard,
        commands::batch_set_mapping,
        commands::batch_fix_row,
        commands::batch_drop_rows,
        commands::batch_export_bad,
        commands::batch_upload,
        commands::resume_batch,
        commands::list_batches,
        commands::batch_rows,
        commands::batch_demo_sample,
        commands::configure_sftp,
        commands::sftp_settings,
        commands::test_sftp_connection,
        commands::pin_sftp_host_key,
        commands::startup_problem,
        commands::about,
        commands::startup_notice,
        commands::dismiss_startup_notice,
        commands::backup_mirror,
        commands::export_diagnostics,
        commands::notification_settings,
        commands::set_notification_settings,
        commands::first_rows_shown,
    ])
}

/// Without a display GTK would abort deep inside its init; say what to do instead.
fn display_problem() -> Option<String> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        Some(
            "FlexDesk needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY are unset).\n\
             Run it from a desktop session, or on a headless machine under a virtual display:\n\
             \n    xvfb-run -a -s '-screen 0 1280x800x24' flexdesk-app\n\
             \n(The command-line tool `flexdesk` works without a display.)"
                .to_string(),
        )
    } else {
        None
    }
}

/// `FLEXDESK_DATA_DIR`, else the platform's data directory for the app's identifier
/// (the same folder Tauri's `app_data_dir` names: `~/.local/share/<identifier>` on Linux).
/// Known before the window exists, so a second start can step aside without one.
fn data_dir(identifier: &str) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("FLEXDESK_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::BaseDirs::new()
        .map(|b| b.data_dir().join(identifier))
        .ok_or_else(|| "cannot find your home directory to keep FlexDesk's data in; set FLEXDESK_DATA_DIR".to_string())
}

/// Why the core could not open (e.g. a database from a newer FlexDesk). The window opens
/// anyway and shows this instead of the dashboard, so the user reads what to do.
pub struct StartupProblem(pub Option<flexdesk_core::IpcError>);

/// Keeps this process the data directory's one instance.
struct InstanceState(#[allow(dead_code)] instance::InstanceGuard);

/// Runs the app; returns the process exit code.
pub fn run() -> i32 {
    if let Some(message) = display_problem() {
        eprintln!("{message}");
        return 2;
    }
    let webview_env = webview_env::apply();
    let context = tauri::generate_context!();
    let dir = match data_dir(&context.config().identifier) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("FlexDesk could not start: {e}");
            return 1;
        }
    };
    let mut guard = match instance::claim(&dir) {
        Ok(instance::Claim::First(g)) => g,
        Ok(instance::Claim::AlreadyRunning(other)) => {
            println!("{}", instance::second_start_message(&dir, &other));
            return if other == instance::OtherInstance::Activated { 0 } else { 1 };
        }
        Err(e) => {
            eprintln!("FlexDesk could not start: {e}");
            return 1;
        }
    };
    let log_guard = logging::init(&dir);
    tracing::info!(data_dir = %dir.display(), version = env!("CARGO_PKG_VERSION"), "FlexDesk starting");
    for v in &webview_env {
        tracing::info!(name = v.name, value = %v.value, from_user = v.from_user, "webview environment");
    }
    let result = with_commands(tauri::Builder::default())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            app.manage(logging::LogGuard(log_guard));
            let handle = app.handle().clone();
            guard.listen(move || window::bring_to_front(&handle));
            app.manage(InstanceState(guard));
            window::restore(app.handle(), &dir);
            let mut config = CoreConfig::new(dir, Arc::new(KeychainStore::new()));
            // The UI reports its first rows; start-up work waits for them (briefly).
            config.first_screen_gate = true;
            // Orders per minute of the Demo's live traffic (0: off), e.g. for end-to-end tests.
            if let Some(rate) = std::env::var("FLEXDESK_DEMO_TRAFFIC").ok().and_then(|v| v.parse().ok()) {
                config.demo_traffic_per_minute = rate;
            }
            let core = match AppCore::open(config) {
                Ok(core) => core,
                Err(e) => {
                    tracing::error!(error = %e, "FlexDesk cannot open its data");
                    app.manage(StartupProblem(Some(e.to_ipc())));
                    return Ok(());
                }
            };
            app.manage(StartupProblem(None));
            app.manage(core.clone());
            forward_changes(app.handle(), &core);
            notifications::forward(app.handle(), &core);
            memory::trim_periodically();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = core.start().await {
                    tracing::error!(error = %e, "could not open an account");
                } else {
                    // Batches left unanswered by a restart or a crash carry on (never sent twice).
                    match core.resume_unfinished_batches() {
                        Ok(ids) if !ids.is_empty() => tracing::info!(batches = ids.len(), "resuming batches"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not resume batches"),
                    }
                }
            });
            Ok(())
        })
        .on_window_event(window::on_event)
        .run(context);
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("FlexDesk could not start: {e}");
            1
        }
    }
}

/// Tells the UI whenever the mirror changed, coalescing bursts.
fn forward_changes<R: tauri::Runtime>(handle: &tauri::AppHandle<R>, core: &AppCore) {
    let mut changes = core.subscribe_changes();
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        use tauri::Emitter;
        while changes.changed().await.is_ok() {
            let version = *changes.borrow_and_update();
            if let Err(e) = handle.emit(flexdesk_core::bindings::MIRROR_CHANGED, version) {
                tracing::debug!(error = %e, "could not tell the UI about a mirror change");
            }
            // Coalesce bursts: at most a few refreshes a second.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    });
}

#[cfg(test)]
mod tests;
