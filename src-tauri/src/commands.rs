//! The IPC commands: take the core from managed state, call it, map the error.

use flexdesk_core::action_dto::{
    ActionOutcome, AuditEntryDto, AuditVerificationDto, CancelInput, CancelPreviewRow, ExportResult,
    ExternalCancelInput, OrderDetail, PendingRescue, RefundInput, ReviewInput, ReviewItem, SavedViewDto, SettleInput,
    WebhookLog,
};
use flexdesk_core::dto::{AccountView, AppStatus, NewAccount, OrderPage, OrderQuery, RelayStatus};
use flexdesk_core::system_dto::{AboutInfo, BackupResult, DiagnosticsResult, NotificationSettings, StartupNotice};
use flexdesk_core::{AppCore, IpcError};
use tauri::State;

#[tauri::command]
pub async fn app_status(core: State<'_, AppCore>) -> Result<AppStatus, IpcError> {
    core.app_status().map_err(Into::into)
}

#[tauri::command]
pub async fn list_orders(core: State<'_, AppCore>, query: OrderQuery) -> Result<OrderPage, IpcError> {
    core.list_orders(&query).map_err(Into::into)
}

#[tauri::command]
pub async fn list_accounts(core: State<'_, AppCore>) -> Result<Vec<AccountView>, IpcError> {
    core.list_accounts().map_err(Into::into)
}

#[tauri::command]
pub async fn add_account(core: State<'_, AppCore>, input: NewAccount) -> Result<AccountView, IpcError> {
    core.add_account(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn switch_account(core: State<'_, AppCore>, account_id: String) -> Result<AccountView, IpcError> {
    core.switch_account(&account_id).await.map_err(Into::into)
}

#[tauri::command]
pub async fn sync_now(core: State<'_, AppCore>) -> Result<(), IpcError> {
    core.sync_now().await.map_err(Into::into)
}

/// Tries to open the active account (or create the Demo account) again, e.g. after the
/// user unlocked the keychain.
#[tauri::command]
pub async fn retry_setup(core: State<'_, AppCore>) -> Result<AccountView, IpcError> {
    core.start().await.map_err(Into::into)
}

#[tauri::command]
pub async fn configure_relay(core: State<'_, AppCore>, url: String, token: String) -> Result<RelayStatus, IpcError> {
    core.configure_relay(&url, &token).await.map_err(Into::into)
}

#[tauri::command]
pub async fn order_detail(core: State<'_, AppCore>, order_session_key: String) -> Result<OrderDetail, IpcError> {
    core.order_detail(&order_session_key).map_err(Into::into)
}

#[tauri::command]
pub async fn add_note(core: State<'_, AppCore>, order_session_key: String, text: String) -> Result<(), IpcError> {
    core.add_note(&order_session_key, &text).map_err(Into::into)
}

#[tauri::command]
pub async fn refund(core: State<'_, AppCore>, input: RefundInput) -> Result<ActionOutcome, IpcError> {
    core.refund(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn cancel_preview(
    core: State<'_, AppCore>,
    order_session_keys: Vec<String>,
) -> Result<Vec<CancelPreviewRow>, IpcError> {
    core.cancel_preview(&order_session_keys).map_err(Into::into)
}

#[tauri::command]
pub async fn cancel_orders(core: State<'_, AppCore>, input: CancelInput) -> Result<Vec<ActionOutcome>, IpcError> {
    core.cancel_orders(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn external_cancel(core: State<'_, AppCore>, input: ExternalCancelInput) -> Result<ActionOutcome, IpcError> {
    core.external_cancel(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn review_queue(core: State<'_, AppCore>) -> Result<Vec<ReviewItem>, IpcError> {
    core.review_queue().map_err(Into::into)
}

#[tauri::command]
pub async fn review_decide(core: State<'_, AppCore>, input: ReviewInput) -> Result<Option<ActionOutcome>, IpcError> {
    core.review_decide(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn pending_rescues(core: State<'_, AppCore>) -> Result<Vec<PendingRescue>, IpcError> {
    core.pending_rescues().map_err(Into::into)
}

#[tauri::command]
pub async fn check_action(core: State<'_, AppCore>, intent_key: String) -> Result<ActionOutcome, IpcError> {
    core.check_action(&intent_key).await.map_err(Into::into)
}

#[tauri::command]
pub async fn settle_action(core: State<'_, AppCore>, input: SettleInput) -> Result<ActionOutcome, IpcError> {
    core.settle_action(input).await.map_err(Into::into)
}

#[tauri::command]
pub async fn resolve_open_actions(core: State<'_, AppCore>) -> Result<Vec<ActionOutcome>, IpcError> {
    core.resolve_open_actions().await.map_err(Into::into)
}

#[tauri::command]
pub async fn audit_log(core: State<'_, AppCore>, limit: u32, offset: u32) -> Result<Vec<AuditEntryDto>, IpcError> {
    core.audit_log(limit, offset).map_err(Into::into)
}

#[tauri::command]
pub async fn verify_audit(core: State<'_, AppCore>) -> Result<AuditVerificationDto, IpcError> {
    core.verify_audit().map_err(Into::into)
}

#[tauri::command]
pub async fn export_audit_csv(core: State<'_, AppCore>, path: Option<String>) -> Result<ExportResult, IpcError> {
    core.export_audit_csv_to(path.as_deref()).map_err(Into::into)
}

#[tauri::command]
pub async fn webhook_log(core: State<'_, AppCore>, limit: u32) -> Result<WebhookLog, IpcError> {
    core.webhook_log(limit).await.map_err(Into::into)
}

#[tauri::command]
pub async fn replay_webhook(core: State<'_, AppCore>, id: i64) -> Result<(), IpcError> {
    core.replay_webhook(id).await.map_err(Into::into)
}

#[tauri::command]
pub async fn export_orders_csv(
    core: State<'_, AppCore>,
    query: OrderQuery,
    path: Option<String>,
) -> Result<ExportResult, IpcError> {
    core.export_orders_csv_to(&query, path.as_deref()).map_err(Into::into)
}

#[tauri::command]
pub async fn save_view(
    core: State<'_, AppCore>,
    name: String,
    query: OrderQuery,
    columns: Vec<String>,
) -> Result<SavedViewDto, IpcError> {
    core.save_view(&name, &query, &columns).map_err(Into::into)
}

#[tauri::command]
pub async fn list_views(core: State<'_, AppCore>) -> Result<Vec<SavedViewDto>, IpcError> {
    core.list_views().map_err(Into::into)
}

#[tauri::command]
pub async fn delete_view(core: State<'_, AppCore>, id: i64) -> Result<(), IpcError> {
    core.delete_view(id).map_err(Into::into)
}

#[tauri::command]
pub async fn operator_name(core: State<'_, AppCore>) -> Result<String, IpcError> {
    Ok(core.operator())
}

#[tauri::command]
pub async fn set_operator_name(core: State<'_, AppCore>, name: String) -> Result<(), IpcError> {
    core.set_operator_name(&name).map_err(Into::into)
}

#[tauri::command]
pub async fn chart_overview(
    core: State<'_, AppCore>,
    query: flexdesk_core::chart_dto::OverviewQuery,
) -> Result<flexdesk_core::chart_dto::OverviewDto, IpcError> {
    core.chart_overview(&query).map_err(Into::into)
}

#[tauri::command]
pub async fn render_chart(
    core: State<'_, AppCore>,
    query: flexdesk_core::chart_dto::ChartQuery,
) -> Result<flexdesk_core::chart_dto::ChartView, IpcError> {
    core.render_chart(&query).map_err(Into::into)
}

#[tauri::command]
pub async fn export_chart(
    core: State<'_, AppCore>,
    query: flexdesk_core::chart_dto::ChartQuery,
    format: flexdesk_core::chart_dto::ChartFormatDto,
) -> Result<String, IpcError> {
    core.export_chart(&query, format, None).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_compose(
    core: State<'_, AppCore>,
    input: flexdesk_core::batch_dto::BatchInput,
) -> Result<flexdesk_core::batch_dto::BatchDraftView, IpcError> {
    core.batch_compose(input).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_draft(
    core: State<'_, AppCore>,
) -> Result<Option<flexdesk_core::batch_dto::BatchDraftView>, IpcError> {
    core.batch_draft().map_err(Into::into)
}

#[tauri::command]
pub async fn batch_discard(core: State<'_, AppCore>) -> Result<(), IpcError> {
    core.batch_discard().map_err(Into::into)
}

#[tauri::command]
pub async fn batch_set_mapping(
    core: State<'_, AppCore>,
    header: String,
    field: String,
) -> Result<flexdesk_core::batch_dto::BatchDraftView, IpcError> {
    core.batch_set_mapping(&header, &field).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_fix_row(
    core: State<'_, AppCore>,
    line: u32,
    field: String,
    value: String,
) -> Result<flexdesk_core::batch_dto::BatchDraftView, IpcError> {
    core.batch_fix_row(line, &field, &value).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_drop_rows(
    core: State<'_, AppCore>,
    lines: Vec<u32>,
) -> Result<flexdesk_core::batch_dto::BatchDraftView, IpcError> {
    core.batch_drop_rows(lines).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_export_bad(core: State<'_, AppCore>, path: Option<String>) -> Result<ExportResult, IpcError> {
    core.batch_export_bad_to(path.as_deref()).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_upload(core: State<'_, AppCore>) -> Result<flexdesk_core::batch_dto::BatchView, IpcError> {
    core.batch_upload().await.map_err(Into::into)
}

#[tauri::command]
pub async fn resume_batch(
    core: State<'_, AppCore>,
    batch_id: String,
) -> Result<flexdesk_core::batch_dto::BatchView, IpcError> {
    core.resume_batch(&batch_id).map_err(Into::into)
}

#[tauri::command]
pub async fn list_batches(core: State<'_, AppCore>) -> Result<Vec<flexdesk_core::batch_dto::BatchView>, IpcError> {
    core.list_batches().map_err(Into::into)
}

#[tauri::command]
pub async fn batch_rows(
    core: State<'_, AppCore>,
    batch_id: String,
) -> Result<Vec<flexdesk_core::batch_dto::BatchRowView>, IpcError> {
    core.batch_rows(&batch_id).map_err(Into::into)
}

#[tauri::command]
pub async fn batch_demo_sample(core: State<'_, AppCore>, rows: u32, bad_rows: u32) -> Result<String, IpcError> {
    core.batch_demo_sample(rows, bad_rows).await.map_err(Into::into)
}

#[tauri::command]
pub async fn configure_sftp(
    core: State<'_, AppCore>,
    input: flexdesk_core::batch_dto::SftpSettingsInput,
) -> Result<(), IpcError> {
    core.configure_sftp(input).map_err(Into::into)
}

#[tauri::command]
pub async fn sftp_settings(core: State<'_, AppCore>) -> Result<flexdesk_core::batch_dto::SftpSettingsView, IpcError> {
    core.sftp_settings().map_err(Into::into)
}

#[tauri::command]
pub async fn test_sftp_connection(
    core: State<'_, AppCore>,
) -> Result<flexdesk_core::batch_dto::SftpTestResult, IpcError> {
    core.test_sftp_connection().await.map_err(Into::into)
}

#[tauri::command]
pub async fn pin_sftp_host_key(
    core: State<'_, AppCore>,
    host_key: String,
) -> Result<flexdesk_core::batch_dto::SftpSettingsView, IpcError> {
    core.pin_sftp_host_key(&host_key).map_err(Into::into)
}

#[tauri::command]
pub async fn poll_interval(core: State<'_, AppCore>) -> Result<u64, IpcError> {
    Ok(core.poll_interval_secs())
}

#[tauri::command]
pub async fn set_poll_interval(core: State<'_, AppCore>, secs: u64) -> Result<(), IpcError> {
    core.set_poll_interval_secs(secs).await.map_err(Into::into)
}

/// Why FlexDesk could not open its data, if it could not (the UI shows only this then).
#[tauri::command]
pub async fn startup_problem(problem: State<'_, crate::StartupProblem>) -> Result<Option<IpcError>, IpcError> {
    Ok(problem.0.clone())
}

#[tauri::command]
pub async fn about(core: State<'_, AppCore>) -> Result<AboutInfo, IpcError> {
    Ok(core.about())
}

#[tauri::command]
pub async fn startup_notice(core: State<'_, AppCore>) -> Result<Option<StartupNotice>, IpcError> {
    Ok(core.startup_notice())
}

#[tauri::command]
pub async fn dismiss_startup_notice(core: State<'_, AppCore>) -> Result<(), IpcError> {
    core.dismiss_startup_notice();
    Ok(())
}

#[tauri::command]
pub async fn backup_mirror(core: State<'_, AppCore>, path: Option<String>) -> Result<BackupResult, IpcError> {
    core.backup_mirror(path).await.map_err(Into::into)
}

#[tauri::command]
pub async fn export_diagnostics(core: State<'_, AppCore>, path: Option<String>) -> Result<DiagnosticsResult, IpcError> {
    core.export_diagnostics(path).await.map_err(Into::into)
}

#[tauri::command]
pub async fn notification_settings(core: State<'_, AppCore>) -> Result<NotificationSettings, IpcError> {
    core.notification_settings().map_err(Into::into)
}

#[tauri::command]
pub async fn set_notification_settings(
    core: State<'_, AppCore>,
    settings: NotificationSettings,
) -> Result<(), IpcError> {
    core.set_notification_settings(settings).map_err(Into::into)
}

/// The UI drew its first rows (start-up is measured up to here).
#[tauri::command]
pub async fn first_rows_shown(core: State<'_, AppCore>, rows: u32) -> Result<(), IpcError> {
    core.first_rows_shown(rows).map_err(Into::into)
}
