//! The IPC commands: take the core from managed state, call it, map the error.

use flexdesk_core::dto::{AccountView, AppStatus, NewAccount, OrderPage, OrderQuery, RelayStatus};
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
