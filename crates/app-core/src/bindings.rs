//! The IPC contract, declared once: the command table and the TypeScript it generates.
//!
//! `ui/src/lib/ipc/bindings.ts` is the output of [`typescript_bindings`], committed; a test
//! here fails when it is stale, and the shell's tests fail when a command in [`COMMANDS`]
//! has no handler. Regenerate with `cargo run -p flexdesk-cli -- gen-bindings`.

use ts_rs::{Config, TS};

use crate::action_dto::{
    ActionEntryDto, ActionOutcome, ActionStatus, AuditEntryDto, AuditVerificationDto, CancelInput, CancelPreviewRow,
    DriftDto, ExpiryBucket, ExportResult, ExternalCancelInput, NoteDto, OrderDetail, PendingRescue, RefundInput,
    RejectedWebhookDto, ReviewDecisionKind, ReviewInput, ReviewItem, SavedViewDto, SettleInput, TimelineEntryDto,
    WebhookEventDto, WebhookLog,
};
use crate::batch_dto::{
    AmountsRead, BatchDraftRow, BatchDraftView, BatchFileView, BatchInput, BatchIssueView, BatchKindDto, BatchRowView,
    BatchView, FieldOption, MappingEntry, SftpSettingsInput, SftpSettingsView, SftpTestOutcome, SftpTestResult,
};
use crate::chart_dto::{
    ChartFormatDto, ChartKindDto, ChartPointDto, ChartQuery, ChartSeriesDto, ChartThemeDto, ChartView, DrillDto,
    GranularityDto, KpiDto, OverviewDto, OverviewQuery, UnitDto,
};
use crate::dto::JobProgress;
use crate::dto::{
    AccountView, AppStatus, EnvironmentDto, NewAccount, OrderCursorDto, OrderPage, OrderQuery, OrderRow, OrderSortDto,
    OrderStateDto, RelayStatus, SyncPhase, SyncStatus,
};
use crate::system_dto::{AboutInfo, BackupResult, DiagnosticsResult, NotificationSettings, StartupNotice};
use crate::{ErrorCode, IpcError};

/// One command: its Rust/IPC name, its TypeScript function name, its arguments
/// (`(name, TS type)`, camelCase as Tauri expects them) and its TS return type.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    pub ts_name: &'static str,
    pub args: &'static [(&'static str, &'static str)],
    pub returns: &'static str,
}

/// Every command the shell registers. The shell's handler names must match `name`.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "app_status", ts_name: "appStatus", args: &[], returns: "AppStatus" },
    CommandSpec { name: "list_orders", ts_name: "listOrders", args: &[("query", "OrderQuery")], returns: "OrderPage" },
    CommandSpec { name: "list_accounts", ts_name: "listAccounts", args: &[], returns: "Array<AccountView>" },
    CommandSpec {
        name: "add_account",
        ts_name: "addAccount",
        args: &[("input", "NewAccount")],
        returns: "AccountView",
    },
    CommandSpec {
        name: "switch_account",
        ts_name: "switchAccount",
        args: &[("accountId", "string")],
        returns: "AccountView",
    },
    CommandSpec { name: "sync_now", ts_name: "syncNow", args: &[], returns: "void" },
    CommandSpec { name: "retry_setup", ts_name: "retrySetup", args: &[], returns: "AccountView" },
    CommandSpec {
        name: "order_detail",
        ts_name: "orderDetail",
        args: &[("orderSessionKey", "string")],
        returns: "OrderDetail",
    },
    CommandSpec {
        name: "add_note",
        ts_name: "addNote",
        args: &[("orderSessionKey", "string"), ("text", "string")],
        returns: "void",
    },
    CommandSpec { name: "refund", ts_name: "refund", args: &[("input", "RefundInput")], returns: "ActionOutcome" },
    CommandSpec {
        name: "cancel_preview",
        ts_name: "cancelPreview",
        args: &[("orderSessionKeys", "Array<string>")],
        returns: "Array<CancelPreviewRow>",
    },
    CommandSpec {
        name: "cancel_orders",
        ts_name: "cancelOrders",
        args: &[("input", "CancelInput")],
        returns: "Array<ActionOutcome>",
    },
    CommandSpec {
        name: "external_cancel",
        ts_name: "externalCancel",
        args: &[("input", "ExternalCancelInput")],
        returns: "ActionOutcome",
    },
    CommandSpec { name: "review_queue", ts_name: "reviewQueue", args: &[], returns: "Array<ReviewItem>" },
    CommandSpec {
        name: "review_decide",
        ts_name: "reviewDecide",
        args: &[("input", "ReviewInput")],
        returns: "ActionOutcome | null",
    },
    CommandSpec { name: "pending_rescues", ts_name: "pendingRescues", args: &[], returns: "Array<PendingRescue>" },
    CommandSpec {
        name: "check_action",
        ts_name: "checkAction",
        args: &[("intentKey", "string")],
        returns: "ActionOutcome",
    },
    CommandSpec {
        name: "settle_action",
        ts_name: "settleAction",
        args: &[("input", "SettleInput")],
        returns: "ActionOutcome",
    },
    CommandSpec {
        name: "resolve_open_actions",
        ts_name: "resolveOpenActions",
        args: &[],
        returns: "Array<ActionOutcome>",
    },
    CommandSpec {
        name: "audit_log",
        ts_name: "auditLog",
        args: &[("limit", "number"), ("offset", "number")],
        returns: "Array<AuditEntryDto>",
    },
    CommandSpec { name: "verify_audit", ts_name: "verifyAudit", args: &[], returns: "AuditVerificationDto" },
    CommandSpec {
        name: "export_audit_csv",
        ts_name: "exportAuditCsv",
        args: &[("path", "string | null")],
        returns: "ExportResult",
    },
    CommandSpec { name: "webhook_log", ts_name: "webhookLog", args: &[("limit", "number")], returns: "WebhookLog" },
    CommandSpec { name: "replay_webhook", ts_name: "replayWebhook", args: &[("id", "number")], returns: "void" },
    CommandSpec {
        name: "export_orders_csv",
        ts_name: "exportOrdersCsv",
        args: &[("query", "OrderQuery"), ("path", "string | null")],
        returns: "ExportResult",
    },
    CommandSpec {
        name: "save_view",
        ts_name: "saveView",
        args: &[("name", "string"), ("query", "OrderQuery"), ("columns", "Array<string>")],
        returns: "SavedViewDto",
    },
    CommandSpec { name: "list_views", ts_name: "listViews", args: &[], returns: "Array<SavedViewDto>" },
    CommandSpec { name: "delete_view", ts_name: "deleteView", args: &[("id", "number")], returns: "void" },
    CommandSpec { name: "operator_name", ts_name: "operatorName", args: &[], returns: "string" },
    CommandSpec { name: "poll_interval", ts_name: "pollInterval", args: &[], returns: "number" },
    CommandSpec { name: "set_poll_interval", ts_name: "setPollInterval", args: &[("secs", "number")], returns: "void" },
    CommandSpec { name: "set_operator_name", ts_name: "setOperatorName", args: &[("name", "string")], returns: "void" },
    CommandSpec {
        name: "configure_relay",
        ts_name: "configureRelay",
        args: &[("url", "string"), ("token", "string")],
        returns: "RelayStatus",
    },
    CommandSpec {
        name: "chart_overview",
        ts_name: "chartOverview",
        args: &[("query", "OverviewQuery")],
        returns: "OverviewDto",
    },
    CommandSpec {
        name: "render_chart",
        ts_name: "renderChart",
        args: &[("query", "ChartQuery")],
        returns: "ChartView",
    },
    CommandSpec {
        name: "export_chart",
        ts_name: "exportChart",
        args: &[("query", "ChartQuery"), ("format", "ChartFormat")],
        returns: "string",
    },
    CommandSpec {
        name: "batch_compose",
        ts_name: "batchCompose",
        args: &[("input", "BatchInput")],
        returns: "BatchDraftView",
    },
    CommandSpec { name: "batch_draft", ts_name: "batchDraft", args: &[], returns: "BatchDraftView | null" },
    CommandSpec { name: "batch_discard", ts_name: "batchDiscard", args: &[], returns: "void" },
    CommandSpec {
        name: "batch_set_mapping",
        ts_name: "batchSetMapping",
        args: &[("header", "string"), ("field", "string")],
        returns: "BatchDraftView",
    },
    CommandSpec {
        name: "batch_fix_row",
        ts_name: "batchFixRow",
        args: &[("line", "number"), ("field", "string"), ("value", "string")],
        returns: "BatchDraftView",
    },
    CommandSpec {
        name: "batch_drop_rows",
        ts_name: "batchDropRows",
        args: &[("lines", "Array<number>")],
        returns: "BatchDraftView",
    },
    CommandSpec {
        name: "batch_export_bad",
        ts_name: "batchExportBad",
        args: &[("path", "string | null")],
        returns: "ExportResult",
    },
    CommandSpec { name: "batch_upload", ts_name: "batchUpload", args: &[], returns: "BatchView" },
    CommandSpec { name: "resume_batch", ts_name: "resumeBatch", args: &[("batchId", "string")], returns: "BatchView" },
    CommandSpec { name: "list_batches", ts_name: "listBatches", args: &[], returns: "Array<BatchView>" },
    CommandSpec {
        name: "batch_rows",
        ts_name: "batchRows",
        args: &[("batchId", "string")],
        returns: "Array<BatchRowView>",
    },
    CommandSpec {
        name: "batch_demo_sample",
        ts_name: "batchDemoSample",
        args: &[("rows", "number"), ("badRows", "number")],
        returns: "string",
    },
    CommandSpec {
        name: "configure_sftp",
        ts_name: "configureSftp",
        args: &[("input", "SftpSettingsInput")],
        returns: "void",
    },
    CommandSpec { name: "sftp_settings", ts_name: "sftpSettings", args: &[], returns: "SftpSettingsView" },
    CommandSpec { name: "test_sftp_connection", ts_name: "testSftpConnection", args: &[], returns: "SftpTestResult" },
    CommandSpec {
        name: "pin_sftp_host_key",
        ts_name: "pinSftpHostKey",
        args: &[("hostKey", "string")],
        returns: "SftpSettingsView",
    },
    CommandSpec { name: "startup_problem", ts_name: "startupProblem", args: &[], returns: "IpcError | null" },
    CommandSpec { name: "about", ts_name: "about", args: &[], returns: "AboutInfo" },
    CommandSpec { name: "startup_notice", ts_name: "startupNotice", args: &[], returns: "StartupNotice | null" },
    CommandSpec { name: "dismiss_startup_notice", ts_name: "dismissStartupNotice", args: &[], returns: "void" },
    CommandSpec {
        name: "backup_mirror",
        ts_name: "backupMirror",
        args: &[("path", "string | null")],
        returns: "BackupResult",
    },
    CommandSpec {
        name: "export_diagnostics",
        ts_name: "exportDiagnostics",
        args: &[("path", "string | null")],
        returns: "DiagnosticsResult",
    },
    CommandSpec {
        name: "notification_settings",
        ts_name: "notificationSettings",
        args: &[],
        returns: "NotificationSettings",
    },
    CommandSpec {
        name: "set_notification_settings",
        ts_name: "setNotificationSettings",
        args: &[("settings", "NotificationSettings")],
        returns: "void",
    },
    CommandSpec { name: "first_rows_shown", ts_name: "firstRowsShown", args: &[("rows", "number")], returns: "void" },
];

/// Events the shell emits to the UI: `(Rust name, TS function name, payload TS type)`.
pub const EVENTS: &[(&str, &str, &str)] =
    &[(MIRROR_CHANGED, "onMirrorChanged", "number"), (INSTANCE_ACTIVATED, "onInstanceActivated", "null")];

/// Emitted when a second start of FlexDesk brought this window to the front.
pub const INSTANCE_ACTIVATED: &str = "instance-activated";

/// Emitted (with a counter) whenever the mirror changed: the UI refreshes what it shows.
pub const MIRROR_CHANGED: &str = "mirror-changed";

/// Where the generated file lives, relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/ipc/bindings.ts";

fn decl<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

/// The whole generated TypeScript module: every DTO and a typed function per command.
pub fn typescript_bindings() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::new();
    out.push_str(
        "// @generated by flexdesk-core's binding generator. Do not edit: run `cargo run -p flexdesk-cli -- gen-bindings`.\n",
    );
    out.push_str("import { invoke } from \"@tauri-apps/api/core\";\n");
    out.push_str("import { listen, type UnlistenFn } from \"@tauri-apps/api/event\";\n\n");
    for d in [
        decl::<EnvironmentDto>(&cfg),
        decl::<AccountView>(&cfg),
        decl::<ErrorCode>(&cfg),
        decl::<IpcError>(&cfg),
        decl::<SyncPhase>(&cfg),
        decl::<SyncStatus>(&cfg),
        decl::<RelayStatus>(&cfg),
        decl::<AppStatus>(&cfg),
        decl::<OrderStateDto>(&cfg),
        decl::<OrderSortDto>(&cfg),
        decl::<OrderCursorDto>(&cfg),
        decl::<OrderQuery>(&cfg),
        decl::<OrderRow>(&cfg),
        decl::<OrderPage>(&cfg),
        decl::<NewAccount>(&cfg),
        decl::<ChartKindDto>(&cfg),
        decl::<GranularityDto>(&cfg),
        decl::<ChartThemeDto>(&cfg),
        decl::<UnitDto>(&cfg),
        decl::<OverviewQuery>(&cfg),
        decl::<ChartQuery>(&cfg),
        decl::<DrillDto>(&cfg),
        decl::<KpiDto>(&cfg),
        decl::<OverviewDto>(&cfg),
        decl::<ChartPointDto>(&cfg),
        decl::<ChartSeriesDto>(&cfg),
        decl::<ChartView>(&cfg),
        decl::<ChartFormatDto>(&cfg),
        decl::<JobProgress>(&cfg),
        decl::<TimelineEntryDto>(&cfg),
        decl::<ActionStatus>(&cfg),
        decl::<ActionEntryDto>(&cfg),
        decl::<NoteDto>(&cfg),
        decl::<OrderDetail>(&cfg),
        decl::<ActionOutcome>(&cfg),
        decl::<RefundInput>(&cfg),
        decl::<SettleInput>(&cfg),
        decl::<CancelInput>(&cfg),
        decl::<ExternalCancelInput>(&cfg),
        decl::<CancelPreviewRow>(&cfg),
        decl::<ReviewDecisionKind>(&cfg),
        decl::<ReviewInput>(&cfg),
        decl::<ReviewItem>(&cfg),
        decl::<ExpiryBucket>(&cfg),
        decl::<PendingRescue>(&cfg),
        decl::<AuditEntryDto>(&cfg),
        decl::<AuditVerificationDto>(&cfg),
        decl::<WebhookEventDto>(&cfg),
        decl::<RejectedWebhookDto>(&cfg),
        decl::<DriftDto>(&cfg),
        decl::<WebhookLog>(&cfg),
        decl::<ExportResult>(&cfg),
        decl::<SavedViewDto>(&cfg),
        decl::<BatchKindDto>(&cfg),
        decl::<BatchInput>(&cfg),
        decl::<BatchIssueView>(&cfg),
        decl::<BatchDraftRow>(&cfg),
        decl::<MappingEntry>(&cfg),
        decl::<FieldOption>(&cfg),
        decl::<AmountsRead>(&cfg),
        decl::<BatchDraftView>(&cfg),
        decl::<BatchFileView>(&cfg),
        decl::<BatchView>(&cfg),
        decl::<BatchRowView>(&cfg),
        decl::<SftpSettingsInput>(&cfg),
        decl::<SftpSettingsView>(&cfg),
        decl::<SftpTestOutcome>(&cfg),
        decl::<SftpTestResult>(&cfg),
        decl::<AboutInfo>(&cfg),
        decl::<StartupNotice>(&cfg),
        decl::<BackupResult>(&cfg),
        decl::<DiagnosticsResult>(&cfg),
        decl::<NotificationSettings>(&cfg),
    ] {
        out.push_str(&d);
    }
    out.push_str("\nexport const commands = {\n");
    for c in COMMANDS {
        let params = c.args.iter().map(|(n, t)| format!("{n}: {t}")).collect::<Vec<_>>().join(", ");
        let payload = if c.args.is_empty() {
            String::new()
        } else {
            format!(", {{ {} }}", c.args.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))
        };
        out.push_str(&format!(
            "  {ts}: ({params}): Promise<{ret}> => invoke<{ret}>(\"{name}\"{payload}),\n",
            ts = c.ts_name,
            ret = c.returns,
            name = c.name,
        ));
    }
    out.push_str("};\n\nexport const events = {\n");
    for (name, ts_name, payload) in EVENTS {
        out.push_str(&format!(
            "  {ts_name}: (handler: (payload: {payload}) => void): Promise<UnlistenFn> =>\n    listen<{payload}>(\"{name}\", (e) => handler(e.payload)),\n"
        ));
    }
    out.push_str("};\n");
    out.push_str(
        "\n/** Decimals of a currency's minor unit where it is not 2 (ISO 4217): amounts are integers in minor units. */\n",
    );
    out.push_str("export const CURRENCY_MINOR_DIGITS: Readonly<Record<string, number>> = {\n");
    for (code, digits) in flexfactor_wire::money::minor_unit_exceptions() {
        out.push_str(&format!("  {code}: {digits},\n"));
    }
    out.push_str("};\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn committed_typescript_bindings_are_up_to_date() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(BINDINGS_PATH);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == typescript_bindings(),
            "{} is stale: run `cargo run -p flexdesk-cli -- gen-bindings` and commit the result",
            path.display()
        );
    }

    #[test]
    fn every_command_has_a_unique_name() {
        let mut names: Vec<_> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
    }
}
