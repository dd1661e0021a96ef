//! Data-transfer types of the About screen, data safety (backup, recovery notice),
//! diagnostics and desktop notifications.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the About screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AboutInfo {
    pub version: String,
    /// `release` or `debug`.
    pub build: String,
    pub data_dir: String,
    pub database: String,
    #[ts(type = "number")]
    pub schema_version: i64,
    pub log_dir: String,
    /// Today's log file (a new one starts each day; older ones are kept for two weeks).
    pub log_file: String,
    pub os: String,
}

/// Something FlexDesk did at start that the user must know about (e.g. a damaged mirror
/// was set aside and is being rebuilt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StartupNotice {
    pub title: String,
    pub message: String,
    /// Where the set-aside file is, when there is one.
    pub set_aside: Option<String>,
}

/// A written backup of the mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupResult {
    pub path: String,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// A written diagnostics bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsResult {
    pub path: String,
    /// The files inside the bundle.
    pub files: Vec<String>,
}

/// Which events raise a desktop notification (each is opt-in, off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    /// `payment.chargeback.received`
    pub chargeback: bool,
    /// `order.refunded`
    pub refunded: bool,
    /// An SFTP batch has every row's outcome (or failed).
    pub batch_finished: bool,
}

/// The kinds of desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Chargeback,
    Refunded,
    BatchFinished,
}

/// One desktop notification for the shell to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DesktopNotice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}
