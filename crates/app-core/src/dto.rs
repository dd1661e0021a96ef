//! The data-transfer types that cross to the UI (and the CLI's JSON output). Their
//! TypeScript declarations are generated from these definitions ([`crate::bindings`]).

use flexdesk_mirror::{Account, Environment, OrderRecord, OrderState};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::IpcError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "Environment")]
pub enum EnvironmentDto {
    Demo,
    Sandbox,
    Production,
    Custom,
}

impl From<Environment> for EnvironmentDto {
    fn from(e: Environment) -> Self {
        match e {
            Environment::Demo => EnvironmentDto::Demo,
            Environment::Sandbox => EnvironmentDto::Sandbox,
            Environment::Production => EnvironmentDto::Production,
            Environment::Custom => EnvironmentDto::Custom,
        }
    }
}

impl From<EnvironmentDto> for Environment {
    fn from(e: EnvironmentDto) -> Self {
        match e {
            EnvironmentDto::Demo => Environment::Demo,
            EnvironmentDto::Sandbox => Environment::Sandbox,
            EnvironmentDto::Production => Environment::Production,
            EnvironmentDto::Custom => Environment::Custom,
        }
    }
}

/// An account as the UI shows it. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub environment: EnvironmentDto,
    /// The API root in use (for the Demo account: the live loopback sandbox URL).
    pub base_url: String,
    pub mid: String,
}

impl AccountView {
    pub fn from_account(a: &Account, live_base_url: Option<&str>) -> AccountView {
        AccountView {
            id: a.id.clone(),
            name: a.name.clone(),
            environment: a.environment.into(),
            base_url: live_base_url.unwrap_or(&a.base_url).to_string(),
            mid: a.mid.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum SyncPhase {
    #[default]
    Idle,
    Backfilling,
    Syncing,
    Error,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub phase: SyncPhase,
    #[ts(type = "number")]
    pub fetched: u64,
    #[ts(type = "number | null")]
    pub expected: Option<u64>,
    /// RFC 3339 UTC.
    pub last_sync_at: Option<String>,
    pub last_error: Option<IpcError>,
    /// Orders not yet in the search index (after a large backfill, for some seconds):
    /// searches find them all the same, only slower.
    #[ts(type = "number")]
    pub search_pending: u64,
    /// Pending orders the last sync could not re-read (FlexFactor refused to show them, or
    /// sent something FlexDesk cannot read): left as they were, tried again next sync.
    #[ts(type = "number")]
    pub unreadable_orders: u64,
}

/// The webhook relay connection (live updates; polling continues without it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RelayStatus {
    pub configured: bool,
    pub connected: bool,
    pub url: Option<String>,
    /// When the newest applied event reached the relay (RFC 3339 UTC).
    pub last_event_at: Option<String>,
    /// Milliseconds from the relay receiving the newest event to the mirror applying it.
    #[ts(type = "number | null")]
    pub last_lag_ms: Option<i64>,
    #[ts(type = "number")]
    pub events_applied: u64,
    /// Why the feed failed last; with `connected`, the relay answers but its webhooks could
    /// not be saved in the mirror yet (the relay keeps them).
    pub last_error: Option<IpcError>,
}

/// A long-running job (e.g. a CSV export) with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobProgress {
    pub kind: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub account: Option<AccountView>,
    pub sync: SyncStatus,
    pub relay: RelayStatus,
    /// A long-running job in progress, if any.
    pub job: Option<JobProgress>,
    /// Orders in the mirror for the active account.
    #[ts(type = "number")]
    pub total_rows: u64,
    /// Changes whenever the mirror's data changes (the UI refreshes visible rows).
    #[ts(type = "number")]
    pub data_version: i64,
    /// A problem that stops FlexDesk from working at all (e.g. no usable keychain).
    pub setup_error: Option<IpcError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OrderState")]
pub enum OrderStateDto {
    Pending,
    Challenge,
    CaptureRequired,
    Approved,
    PartiallyRefunded,
    Refunded,
    Declined,
    Expired,
    Cancelled,
    OnHold,
    Problem,
    Chargeback,
}

impl From<OrderState> for OrderStateDto {
    fn from(s: OrderState) -> Self {
        match s {
            OrderState::Pending => OrderStateDto::Pending,
            OrderState::Challenge => OrderStateDto::Challenge,
            OrderState::CaptureRequired => OrderStateDto::CaptureRequired,
            OrderState::Approved => OrderStateDto::Approved,
            OrderState::PartiallyRefunded => OrderStateDto::PartiallyRefunded,
            OrderState::Refunded => OrderStateDto::Refunded,
            OrderState::Declined => OrderStateDto::Declined,
            OrderState::Expired => OrderStateDto::Expired,
            OrderState::Cancelled => OrderStateDto::Cancelled,
            OrderState::OnHold => OrderStateDto::OnHold,
            OrderState::Problem => OrderStateDto::Problem,
            OrderState::Chargeback => OrderStateDto::Chargeback,
        }
    }
}

impl From<OrderStateDto> for OrderState {
    fn from(s: OrderStateDto) -> Self {
        match s {
            OrderStateDto::Pending => OrderState::Pending,
            OrderStateDto::Challenge => OrderState::Challenge,
            OrderStateDto::CaptureRequired => OrderState::CaptureRequired,
            OrderStateDto::Approved => OrderState::Approved,
            OrderStateDto::PartiallyRefunded => OrderState::PartiallyRefunded,
            OrderStateDto::Refunded => OrderState::Refunded,
            OrderStateDto::Declined => OrderState::Declined,
            OrderStateDto::Expired => OrderState::Expired,
            OrderStateDto::Cancelled => OrderState::Cancelled,
            OrderStateDto::OnHold => OrderState::OnHold,
            OrderStateDto::Problem => OrderState::Problem,
            OrderStateDto::Chargeback => OrderState::Chargeback,
        }
    }
}

/// How the orders list is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OrderSort")]
pub enum OrderSortDto {
    #[default]
    CreatedDesc,
    CreatedAsc,
    AmountDesc,
    AmountAsc,
    ExpiryAsc,
}

impl From<OrderSortDto> for flexdesk_mirror::OrderSort {
    fn from(s: OrderSortDto) -> Self {
        match s {
            OrderSortDto::CreatedDesc => flexdesk_mirror::OrderSort::CreatedDesc,
            OrderSortDto::CreatedAsc => flexdesk_mirror::OrderSort::CreatedAsc,
            OrderSortDto::AmountDesc => flexdesk_mirror::OrderSort::AmountDesc,
            OrderSortDto::AmountAsc => flexdesk_mirror::OrderSort::AmountAsc,
            OrderSortDto::ExpiryAsc => flexdesk_mirror::OrderSort::ExpiryAsc,
        }
    }
}

/// Where a page of the orders list ended (the mirror's keyset cursor): the last row's sort
/// value as stored (RFC 3339 time or decimal cents; null when the row has none) and its
/// FlexFactor id. Only meaningful with the sort it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OrderCursor")]
pub struct OrderCursorDto {
    pub sort_value: Option<String>,
    pub order_session_key: String,
}

impl From<flexdesk_mirror::OrderCursor> for OrderCursorDto {
    fn from(c: flexdesk_mirror::OrderCursor) -> Self {
        OrderCursorDto { sort_value: c.sort_value, order_session_key: c.order_session_key }
    }
}

impl From<OrderCursorDto> for flexdesk_mirror::OrderCursor {
    fn from(c: OrderCursorDto) -> Self {
        flexdesk_mirror::OrderCursor { sort_value: c.sort_value, order_session_key: c.order_session_key }
    }
}

/// A window of the filtered orders list. Times are RFC 3339 (`from` inclusive, `to`
/// exclusive); amounts are minor units, inclusive. Absent filters match everything.
/// With `after` (the previous page's `next`), the window is the `limit` rows after that
/// cursor and `offset` only labels it; without, it is the rows at `offset` (far jumps).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderQuery {
    pub state: Option<OrderStateDto>,
    pub search: Option<String>,
    pub offset: u32,
    pub limit: u32,
    #[ts(optional)]
    pub states: Option<Vec<OrderStateDto>>,
    #[ts(optional)]
    pub is_mit: Option<bool>,
    #[ts(optional)]
    pub created_from: Option<String>,
    #[ts(optional)]
    pub created_to: Option<String>,
    #[ts(optional)]
    pub placed_from: Option<String>,
    #[ts(optional)]
    pub placed_to: Option<String>,
    #[ts(optional, type = "number")]
    pub amount_min: Option<i64>,
    #[ts(optional, type = "number")]
    pub amount_max: Option<i64>,
    #[ts(optional)]
    pub site_id: Option<String>,
    #[ts(optional)]
    pub decline_code: Option<String>,
    #[ts(optional)]
    pub currency: Option<String>,
    #[ts(optional)]
    pub sort: Option<OrderSortDto>,
    #[ts(optional)]
    pub after: Option<OrderCursorDto>,
    /// Only the orders FlexFactor refused to show at their last re-read (the status bar's
    /// "could not be re-read").
    #[ts(optional)]
    pub unreadable: Option<bool>,
}

/// One row of the orders table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub order_session_key: String,
    pub merchant_order_id: Option<String>,
    pub state: OrderStateDto,
    pub status_code: Option<i32>,
    pub decision: Option<String>,
    pub is_mit: bool,
    /// Minor units (cents). Format for display only; never compute money in the UI.
    #[ts(type = "number")]
    pub amount_cents: i64,
    pub currency: String,
    pub email: Option<String>,
    pub customer_name: Option<String>,
    pub card_last4: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: Option<String>,
}

impl From<OrderRecord> for OrderRow {
    fn from(o: OrderRecord) -> Self {
        OrderRow {
            order_session_key: o.order_session_key,
            merchant_order_id: o.merchant_order_id,
            state: o.state.into(),
            status_code: o.status_code,
            decision: o.decision,
            is_mit: o.is_mit,
            amount_cents: o.amount_cents,
            currency: o.currency,
            email: o.email,
            customer_name: o.customer_name,
            card_last4: o.card_last4,
            created_at: o.created_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    #[ts(type = "number")]
    pub total: u64,
    pub offset: u32,
    pub rows: Vec<OrderRow>,
    /// The cursor of the page after this one; null when this page is the last.
    pub next: Option<OrderCursorDto>,
}

/// The account form. `app_secret` goes to the keychain and nowhere else.
#[derive(Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    pub name: String,
    pub environment: EnvironmentDto,
    pub base_url: String,
    pub mid: String,
    pub app_key: String,
    pub app_secret: String,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("name", &self.name)
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("mid", &self.mid)
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}
