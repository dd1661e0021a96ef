//! SFTP batches in the app core: compose (import, map, validate, fix/drop/export), build
//! and record the batch (the mirror's ledger), upload it in the background, watch the
//! outbound folder and link each response row to its order (timeline) and outcome.
//!
//! The Demo account gets the sandbox's SFTP endpoint, started on first use, with a key
//! generated into the data directory (`demo-sftp/`, no passphrase) and the endpoint's host
//! key pinned. Real accounts use [`AppCore::configure_sftp`] (module `sftp_settings`):
//! settings in the mirror, the key passphrase in the keychain, the host key pinned after
//! a connection test.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use flexdesk_batch::{
    plan_files, read_any, sha256_hex, with_fresh_token, BatchHeader, BatchKind, ColumnMapping, Draft, FileFormat,
    ResponseFile, SftpClient, SftpSettings, ValidationContext, ValidationReport, FIELDS, MAX_ROWS_PER_FILE,
};
use flexdesk_mirror::{NewBatchFile, OrderEvent};
use flexdesk_secrets::account_key;

use crate::action_dto::ExportResult;
use crate::batch_dto::*;
use crate::{AppCore, CoreError};

pub(crate) const SFTP_PASSPHRASE: &str = "sftp-key-passphrase";
/// The default [`crate::CoreConfig::batch_response_wait`].
pub(crate) const RESPONSE_WAIT: Duration = Duration::from_secs(30 * 60);
/// The default [`crate::CoreConfig::batch_recheck_every`].
pub(crate) const RECHECK_EVERY: Duration = Duration::from_secs(15 * 60);
/// Files older than this get a fresh access token before they are sent (FlexFactor's tokens
/// last ten minutes).
const TOKEN_REFRESH_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// The longest pause between two reads of the outbound folder while a run waits for responses.
const RESPONSE_POLL_MAX: Duration = Duration::from_secs(15);

struct DraftState {
    account_id: String,
    kind: BatchKind,
    source_name: String,
    default_expiry: String,
    draft: Draft,
}

/// In-memory batch state of a core.
#[derive(Default)]
pub(crate) struct BatchRuntime {
    draft: Mutex<Option<DraftState>>,
    demo_sftp: tokio::sync::Mutex<Option<(String, flexfactor_sandbox::SftpEndpoint, SftpSettings)>>,
    /// One runner per batch at a time: a second `run_batch` waits, then finds the work done.
    running: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Batches with a later look for their responses scheduled (one at a time per batch),
    /// and the task that waits for it (aborted by [`AppCore::shutdown`]).
    rechecks: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Batch runs started in the background (an upload, a resume, a retry), aborted by
    /// [`AppCore::shutdown`] (finished ones are pruned as new ones start).
    runs: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Set by [`AppCore::shutdown`], for good: no look is scheduled and no run started any more.
    rechecks_stopped: std::sync::atomic::AtomicBool,
    /// Runs of each batch started and not ended (see [`ActiveRun`]).
    active: Mutex<HashMap<String, usize>>,
}

/// Counts one run of a batch while alive, from the moment it is started (before its task
/// runs) until it ends or its task is aborted: a batch not sent completely with no run
/// counted has stalled (see [`BatchView::stalled`]).
struct ActiveRun {
    core: AppCore,
    id: String,
}

impl ActiveRun {
    fn start(core: &AppCore, id: &str) -> ActiveRun {
        if let Ok(mut active) = core.inner().batches.active.lock() {
            *active.entry(id.to_string()).or_default() += 1;
        }
        ActiveRun { core: core.clone(), id: id.to_string() }
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        if let Ok(mut active) = self.core.inner().batches.active.lock() {
            if let Some(n) = active.get_mut(&self.id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    active.remove(&self.id);
                }
            }
        }
    }
}

/// "15 minutes", "minute", "30 seconds": a wait as the notes say it ("every …").
fn minutes(d: Duration) -> String {
    match d.as_secs() {
        60 => "minute".to_string(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        1 => "second".to_string(),
        s => format!("{s} seconds"),
    }
}

fn kind_of(k: BatchKindDto) -> BatchKind {
    match k {
        BatchKindDto::Evaluate => BatchKind::Evaluate,
        BatchKindDto::Transmit => BatchKind::Transmit,
    }
}

fn kind_name(k: BatchKind) -> &'static str {
    match k {
        BatchKind::Evaluate => "evaluate",
        BatchKind::Transmit => "transmit",
    }
}

fn batch_err(e: flexdesk_batch::BatchError) -> CoreError {
    use flexdesk_batch::BatchError as B;
    match e {
        B::Input(m) => CoreError::InvalidInput(m),
        // What the settings must change: the person's to fix, not an internal fault.
        e @ (B::Settings(_) | B::Key { .. } | B::HostKeyMismatch { .. } | B::AuthRejected { .. }) => {
            CoreError::InvalidInput(e.to_string())
        }
        e @ (B::Transport { .. } | B::Verify { .. }) => CoreError::Transfer(e.to_string()),
        other => CoreError::Internal(other.to_string()),
    }
}

/// The valid rows' amounts as they will be sent, and the column and unit they were read in.
fn amounts_read(st: &DraftState, report: &ValidationReport) -> Option<AmountsRead> {
    let mut amounts = Vec::new();
    let mut currencies: Vec<String> = Vec::new();
    for row in report.valid_rows() {
        let tx = &row.value["transaction"];
        amounts.push(tx["amount"].as_i64()?);
        if let Some(c) = tx["currency"].as_str() {
            if !currencies.iter().any(|k| k == c) {
                currencies.push(c.to_string());
            }
        }
    }
    let mapping = &st.draft.mapping;
    let (header, unit) = match (mapping.header_for("transaction.amountMajor"), mapping.header_for("transaction.amount"))
    {
        (Some(major), Some(cents)) => (format!("{cents} / {major}"), "mixed"),
        (Some(major), None) => (major.to_string(), "major"),
        (None, cents) => (cents.unwrap_or_default().to_string(), "cents"),
    };
    Some(AmountsRead {
        header,
        unit: unit.to_string(),
        rows: amounts.len() as u32,
        smallest_cents: *amounts.iter().min()?,
        largest_cents: *amounts.iter().max()?,
        total_cents: amounts.iter().fold(0i64, |sum, a| sum.saturating_add(*a)),
        currencies,
    })
}

/// Puts `token` into each of `files` (none of whose bytes were sent; see [`with_fresh_token`]).
fn put_fresh_token(
    writer: &flexdesk_mirror::Mirror,
    files: &[&flexdesk_mirror::BatchFileRecord],
    token: &str,
) -> Result<(), CoreError> {
    for f in files {
        let bytes = writer.batch_file_bytes(&f.name)?.unwrap_or_default();
        if let Some(fresh) = with_fresh_token(&bytes, token).map_err(batch_err)? {
            writer.replace_batch_file_bytes(&f.name, &fresh, &sha256_hex(&fresh))?;
        }
    }
    Ok(())
}

fn draft_view(st: &DraftState, report: &ValidationReport) -> BatchDraftView {
    let valid = report.valid_rows().count() as u32;
    let values_of = |line: u64| {
        st.draft.table.rows.iter().find(|r| r.line == line).map(|r| st.draft.fields_of(r)).unwrap_or_default()
    };
    BatchDraftView {
        source_name: st.source_name.clone(),
        kind: match st.kind {
            BatchKind::Evaluate => BatchKindDto::Evaluate,
            BatchKind::Transmit => BatchKindDto::Transmit,
        },
        mapping: st
            .draft
            .table
            .headers
            .iter()
            .map(|h| MappingEntry {
                header: h.clone(),
                field: st.draft.mapping.columns.get(h).cloned().unwrap_or_default(),
            })
            .collect(),
        fields: FIELDS.iter().map(|f| FieldOption { path: f.path.into(), label: f.label.into() }).collect(),
        rows: report
            .rows
            .iter()
            .map(|r| {
                let values = if r.issues.is_empty() { Default::default() } else { values_of(r.line) };
                BatchDraftRow {
                    line: r.line as u32,
                    order_id: r.order_id.clone(),
                    issues: r
                        .issues
                        .iter()
                        .map(|i| BatchIssueView {
                            value: values.get(&i.field).cloned().unwrap_or_default(),
                            line: i.line as u32,
                            field: i.field.clone(),
                            kind: serde_json::to_value(i.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            reason: i.reason.clone(),
                        })
                        .collect(),
                }
            })
            .collect(),
        total: report.rows.len() as u32,
        valid,
        invalid: report.invalid_count() as u32,
        dropped: st.draft.dropped.len() as u32,
        files_needed: (valid as usize).div_ceil(MAX_ROWS_PER_FILE) as u32,
        amounts: amounts_read(st, report),
    }
}

/// How a batch note that needs the operator starts (the batch is also marked
/// `needs_action`: an uploaded batch with such a note is "failed", not waiting).
const ACTION_NEEDED: &str = "Action needed: ";

/// Every file is uploaded and some are not answered yet.
fn awaiting_response(b: &BatchView) -> bool {
    b.files.iter().all(|f| f.status == "uploaded" || f.status == "answered")
        && b.files.iter().any(|f| f.status == "uploaded")
}

fn batch_view(b: &flexdesk_mirror::BatchRecord) -> BatchView {
    // Every file sent, some unanswered: waiting for FlexFactor, even with a note (a look that
    // failed, rows without an outcome yet): FlexDesk looks again by itself, nothing failed.
    let status = if b.files.iter().all(|f| f.status == "answered") {
        "answered"
    } else if b.files.iter().all(|f| f.status == "uploaded" || f.status == "answered") && !b.needs_action {
        "uploaded"
    } else if b.last_error.is_some() {
        "failed"
    } else if b.files.iter().any(|f| f.status != "built") {
        "uploading"
    } else {
        "built"
    };
    BatchView {
        id: b.id.clone(),
        kind: b.kind.clone(),
        source_name: b.source_name.clone(),
        created_at: b.created_at.to_rfc3339(),
        status: status.into(),
        row_count: b.row_count as u32,
        answered_rows: b.answered_rows as u32,
        files: b
            .files
            .iter()
            .map(|f| BatchFileView {
                name: f.name.clone(),
                status: f.status.clone(),
                size: f.size as u32,
                sent_bytes: f.sent_bytes as u32,
            })
            .collect(),
        last_error: b.last_error.clone(),
        last_checked_at: b.last_checked_at.map(|at| at.to_rfc3339()),
        stalled: false,
    }
}

impl AppCore {
    fn validation_context(&self, st: &DraftState) -> Result<ValidationContext, CoreError> {
        let ids: Vec<String> = st.draft.live_rows().filter_map(|r| st.draft.fields_of(r).remove("orderId")).collect();
        let (submitted, account) =
            self.with_reader(|m| Ok((m.submitted_order_ids(&st.account_id, &ids)?, m.account(&st.account_id)?)))?;
        // The bounds are the sandbox's (Demo and Sandbox accounts); a production or custom
        // endpoint only needs a positive amount.
        let test_account = account.is_some_and(|a| {
            matches!(a.environment, flexdesk_mirror::Environment::Demo | flexdesk_mirror::Environment::Sandbox)
        });
        Ok(ValidationContext {
            kind: st.kind,
            now: Utc::now(),
            default_expiry: (st.kind == BatchKind::Evaluate).then(|| st.default_expiry.clone()),
            submitted,
            sandbox_amount_limits: test_account,
        })
    }

    fn with_draft<T>(
        &self,
        f: impl FnOnce(&mut DraftState) -> Result<T, CoreError>,
    ) -> Result<(T, BatchDraftView), CoreError> {
        let mut slot = self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))?;
        let st = slot.as_mut().ok_or_else(|| CoreError::InvalidInput("Import a CSV or JSON batch first.".into()))?;
        let out = f(st)?;
        let ctx = self.validation_context(st)?;
        let report = st.draft.validate(&ctx);
        Ok((out, draft_view(st, &report)))
    }

    /// Imports a CSV or JSON batch, maps its columns (the account's saved mapping first,
    /// then guesses) and validates every row. Nothing leaves the machine.
    pub fn batch_compose(&self, input: BatchInput) -> Result<BatchDraftView, CoreError> {
        let account_id = self.active_account_id()?;
        let kind = kind_of(input.kind);
        let table = read_any(&input.text).map_err(batch_err)?;
        let saved = self.with_reader(|m| Ok(m.column_mapping(&account_id, kind_name(kind))?))?;
        let saved: ColumnMapping = saved.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let mut mapping = ColumnMapping::merge_saved(&saved, &table.headers);
        mapping.read_decimal_amounts_as_major_units(&table, &saved);
        let days = i64::from(input.default_expiry_days.unwrap_or(21));
        let default_expiry = table
            .json_header
            .as_ref()
            .and_then(|h| h.get("expiryDateUtc"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                (Utc::now() + chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            });
        let st = DraftState {
            account_id,
            kind,
            source_name: if input.source_name.trim().is_empty() { "pasted.csv".into() } else { input.source_name },
            default_expiry,
            draft: Draft::new(table, mapping),
        };
        *self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))? = Some(st);
        Ok(self.with_draft(|_| Ok(()))?.1)
    }

    /// Maps `header` to `field` ("" ignores the column) and saves the mapping for the account.
    pub fn batch_set_mapping(&self, header: &str, field: &str) -> Result<BatchDraftView, CoreError> {
        let (saved, view) = self.with_draft(|st| {
            st.draft.mapping.columns.retain(|h, f| h == header || f != field || field.is_empty());
            st.draft.mapping.columns.insert(header.to_string(), field.to_string());
            Ok((
                st.account_id.clone(),
                kind_name(st.kind),
                serde_json::to_string(&st.draft.mapping).unwrap_or_default(),
            ))
        })?;
        self.with_reader(|m| Ok(m.save_column_mapping(&saved.0, saved.1, &saved.2)?))?;
        Ok(view)
    }

    /// Sets one field of one row.
    pub fn batch_fix_row(&self, line: u32, field: &str, value: &str) -> Result<BatchDraftView, CoreError> {
        Ok(self
            .with_draft(|st| {
                st.draft.fix(u64::from(line), field, value);
                Ok(())
            })?
            .1)
    }

    /// Leaves rows out of the batch.
    pub fn batch_drop_rows(&self, lines: Vec<u32>) -> Result<BatchDraftView, CoreError> {
        Ok(self
            .with_draft(|st| {
                st.draft.drop_rows(&lines.iter().map(|l| u64::from(*l)).collect::<Vec<_>>());
                Ok(())
            })?
            .1)
    }

    /// The bad rows as CSV (original columns plus line, field, reason).
    pub fn batch_export_bad(&self) -> Result<String, CoreError> {
        let mut slot = self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))?;
        let st = slot.as_mut().ok_or_else(|| CoreError::InvalidInput("Import a CSV or JSON batch first.".into()))?;
        let ctx = self.validation_context(st)?;
        Ok(st.draft.bad_rows_csv(&st.draft.validate(&ctx)))
    }

    /// The SFTP settings and key passphrase of the account (for the Demo account, its
    /// in-app sandbox endpoint, started on first use: only while the Demo account is open).
    pub(crate) async fn sftp_for(&self, account_id: &str) -> Result<(SftpSettings, Option<String>), CoreError> {
        let is_demo = self
            .with_reader(|m| Ok(m.account(account_id)?))?
            .is_some_and(|a| a.environment == flexdesk_mirror::Environment::Demo);
        if is_demo {
            let active = self.session_parts().await.map(|(id, _)| id).ok();
            let state =
                match self.demo_sandbox_state().await {
                    Some(state) if active.as_deref() == Some(account_id) => state,
                    _ => return Err(CoreError::InvalidInput(
                        "The Demo account's batches go to its in-app sandbox, which runs only while the Demo account \
                         is open: switch to it to continue this batch."
                            .into(),
                    )),
                };
            let mut slot = self.inner().batches.demo_sftp.lock().await;
            let live = slot.as_ref().filter(|(id, _, _)| id == account_id).map(|(_, _, s)| s.clone());
            if let Some(s) = live {
                return Ok((s, None));
            }
            let dir = self.data_dir().join("demo-sftp");
            let key = dir.join("id_ed25519");
            std::fs::create_dir_all(&dir).map_err(|e| CoreError::Internal(format!("demo SFTP folder: {e}")))?;
            if !key.exists() {
                let mut seed = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut seed);
                let k = flexdesk_batch::ssh_keys::PrivateKey::from(
                    flexdesk_batch::ssh_keys::ssh_key::private::Ed25519Keypair::from_seed(&seed),
                );
                let pem = k
                    .to_openssh(flexdesk_batch::ssh_keys::ssh_key::LineEnding::LF)
                    .map_err(|e| CoreError::Internal(format!("demo SFTP key: {e}")))?;
                std::fs::write(&key, pem.as_bytes()).map_err(|e| CoreError::Internal(format!("demo SFTP key: {e}")))?;
            }
            let private = flexdesk_batch::ssh_keys::load_secret_key(&key, None)
                .map_err(|e| CoreError::Internal(format!("demo SFTP key: {e}")))?;
            let public = private.public_key().to_openssh().map_err(|e| CoreError::Internal(e.to_string()))?;
            let endpoint = flexfactor_sandbox::SftpEndpoint::start(
                state,
                flexfactor_sandbox::SftpConfig::new(dir.join("server"), vec![public]),
            )
            .await
            .map_err(|e| CoreError::Internal(format!("the Demo SFTP endpoint could not start: {e}")))?;
            let settings = SftpSettings {
                host: "127.0.0.1".into(),
                port: endpoint.local_addr().port(),
                user: "demo".into(),
                key_path: key,
                host_key: endpoint.host_key().to_string(),
                inbound_dir: endpoint.inbound_dir().into(),
                outbound_dir: endpoint.outbound_dir().into(),
            };
            *slot = Some((account_id.to_string(), endpoint, settings.clone()));
            return Ok((settings, None));
        }
        let json = self.with_reader(|m| Ok(m.setting(&format!("sftp:{account_id}"))?))?.ok_or_else(|| {
            CoreError::InvalidInput(
                "SFTP is not set up for this account: add its login under Batches → SFTP settings (or with \
                 `flexdesk batch sftp set`)."
                    .into(),
            )
        })?;
        let settings: SftpSettings = serde_json::from_str(&json).map_err(|e| CoreError::Internal(e.to_string()))?;
        let passphrase = match self.inner().config.secrets.get(&account_key(account_id, SFTP_PASSPHRASE)) {
            Ok(p) => Some(p.expose().to_string()),
            Err(flexdesk_secrets::SecretError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok((settings, passphrase))
    }

    /// Builds the batch files from a clean draft, records them (the ledger), and uploads
    /// them in the background; the returned view shows progress via [`AppCore::list_batches`].
    /// Until the batch is recorded, any failure (offline, a refused sign-in, a full disk)
    /// leaves the draft as it was, with every fix and dropped row, to upload again.
    pub async fn batch_upload(&self) -> Result<BatchView, CoreError> {
        let (account_id, client) = self.session_parts().await?;
        // No SFTP login (not set up, its passphrase unreadable): said now, with nothing
        // recorded and the draft kept, rather than a batch that can never start.
        if let Err(e) = self.sftp_for(&account_id).await {
            return Err(match e {
                CoreError::InvalidInput(m) => CoreError::InvalidInput(format!("{m} Nothing was recorded or uploaded.")),
                other => other,
            });
        }
        let st = {
            let mut slot = self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))?;
            if slot.as_ref().is_some_and(|st| st.account_id != account_id) {
                // Checked against that account's orders and mapping: not sent for another.
                return Err(CoreError::InvalidInput(
                    "This batch was imported while another account was open: switch back to that account to upload \
                     it, or import the file again here."
                        .into(),
                ));
            }
            slot.take().ok_or_else(|| CoreError::InvalidInput("Import a CSV or JSON batch first.".into()))?
        };
        let recorded = async {
            let (id, files) = self.build_batch_files(&account_id, &client, &st).await?;
            self.writer()?.insert_batch(&account_id, &id, kind_name(st.kind), &st.source_name, Utc::now(), &files)?;
            Ok::<_, CoreError>(id)
        }
        .await;
        let id = match recorded {
            Ok(id) => id,
            Err(e) => {
                *self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))? = Some(st);
                return Err(e);
            }
        };
        self.changed();
        self.run_in_background(&id, self.inner().config.batch_response_wait);
        self.batch_view(&id)
    }

    /// Runs the batch (see [`AppCore::run_batch_waiting`]) in a task that
    /// [`AppCore::shutdown`] stops.
    fn run_in_background(&self, id: &str, wait: Duration) {
        let Ok(mut runs) = self.inner().batches.runs.lock() else { return };
        if self.inner().batches.rechecks_stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        runs.retain(|run| !run.is_finished());
        let core = self.clone();
        let batch_id = id.to_string();
        let active = ActiveRun::start(self, id);
        let task = tokio::spawn(async move {
            let _active = active;
            if let Err(e) = core.run_batch_waiting(&batch_id, wait).await {
                tracing::warn!(batch = %batch_id, error = %e, "batch did not finish");
            }
        });
        runs.push(task.abort_handle());
    }

    /// The batch id and files for a clean draft (nothing recorded yet).
    async fn build_batch_files(
        &self,
        account_id: &str,
        client: &flexfactor_client::FlexFactorClient,
        st: &DraftState,
    ) -> Result<(String, Vec<NewBatchFile>), CoreError> {
        let ctx = self.validation_context(st)?;
        let report = st.draft.validate(&ctx);
        if !report.is_clean() {
            let n = report.invalid_count();
            return Err(CoreError::InvalidInput(format!(
                "{n} row(s) still have problems: fix or drop them first. Nothing was uploaded."
            )));
        }
        if report.valid_rows().next().is_none() {
            return Err(CoreError::InvalidInput("No rows left to upload.".into()));
        }
        let account = self.with_reader(|m| Ok(m.account(account_id)?))?.ok_or(CoreError::NoAccount)?;
        let token = client.access_token().await?;
        let header = BatchHeader {
            mid: account.mid.clone(),
            authorization_token: token,
            expiry_date_utc: ctx.default_expiry.clone(),
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let rows: Vec<_> = report.valid_rows().collect();
        let files = plan_files(st.kind, FileFormat::Json, &header, &rows, Utc::now(), &id[..8]).map_err(batch_err)?;
        let new_files = files
            .iter()
            .map(|f| NewBatchFile {
                name: f.name.clone(),
                sha256: f.sha256.clone(),
                bytes: f.bytes.clone(),
                rows: f.rows.iter().map(|r| (r.sequence_number, r.line, r.order_id.clone())).collect(),
            })
            .collect();
        Ok((id, new_files))
    }

    /// Writes the draft's batch files into `dir` without uploading or recording them
    /// (`flexdesk batch build`). Refuses a draft with bad rows.
    pub async fn batch_build_files(&self, dir: &std::path::Path) -> Result<Vec<String>, CoreError> {
        let (account_id, client) = self.session_parts().await?;
        let (st_kind, report, expiry) = {
            let slot = self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))?;
            let st =
                slot.as_ref().ok_or_else(|| CoreError::InvalidInput("Import a CSV or JSON batch first.".into()))?;
            let ctx = self.validation_context(st)?;
            (st.kind, st.draft.validate(&ctx), ctx.default_expiry)
        };
        if !report.is_clean() {
            return Err(CoreError::InvalidInput(format!("{} row(s) still have problems.", report.invalid_count())));
        }
        let account = self.with_reader(|m| Ok(m.account(&account_id)?))?.ok_or(CoreError::NoAccount)?;
        let header = BatchHeader {
            mid: account.mid,
            authorization_token: client.access_token().await?,
            expiry_date_utc: expiry,
        };
        let rows: Vec<_> = report.valid_rows().collect();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let files = plan_files(st_kind, FileFormat::Json, &header, &rows, Utc::now(), &id[..8]).map_err(batch_err)?;
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Internal(format!("{}: {e}", dir.display())))?;
        let mut names = Vec::new();
        for f in files {
            let path = dir.join(&f.name);
            std::fs::write(&path, &f.bytes).map_err(|e| CoreError::Internal(format!("{}: {e}", path.display())))?;
            names.push(path.display().to_string());
        }
        Ok(names)
    }

    fn batch_view(&self, id: &str) -> Result<BatchView, CoreError> {
        let b =
            self.with_reader(|m| Ok(m.batch(id)?))?.ok_or_else(|| CoreError::InvalidInput(format!("no batch {id}")))?;
        Ok(self.with_stall(batch_view(&b)))
    }

    /// Marks a batch not sent completely (and not failed) with no run in progress here as
    /// stalled: FlexDesk was closed during its upload, or its account was not open since.
    fn with_stall(&self, mut view: BatchView) -> BatchView {
        let running = self.inner().batches.active.lock().map(|a| a.contains_key(&view.id)).unwrap_or(true);
        view.stalled = (view.status == "built" || view.status == "uploading") && !running;
        view
    }

    /// Uploads every file of the batch not yet uploaded (resuming), then waits for and
    /// applies the response files. Safe to call again after a crash or a failure.
    pub async fn run_batch(&self, id: &str) -> Result<BatchView, CoreError> {
        let _active = ActiveRun::start(self, id);
        self.run_batch_waiting(id, self.inner().config.batch_response_wait).await
    }

    /// [`AppCore::run_batch`], waiting at most `wait` for the responses (zero: one look).
    /// Uploaded but still unanswered after that, whether the run ended well or not (offline,
    /// the server down): another look is scheduled (see [`AppCore::recheck_later`]).
    async fn run_batch_waiting(&self, id: &str, wait: Duration) -> Result<BatchView, CoreError> {
        let result = self.run_batch_once(id, wait).await;
        let view = match &result {
            Ok(view) => Some(view.clone()),
            Err(_) => self.batch_view(id).ok(),
        };
        // A batch whose look needs the operator (failed) is looked at again on Retry or at the
        // next start, not every few minutes against a server it cannot trust or log in to.
        if view.is_some_and(|v| awaiting_response(&v) && v.status != "failed") {
            self.recheck_later(id);
        }
        result
    }

    async fn run_batch_once(&self, id: &str, wait: Duration) -> Result<BatchView, CoreError> {
        let gate = self
            .inner()
            .batches
            .running
            .lock()
            .map_err(|_| CoreError::Internal("batch runner lock".into()))?
            .entry(id.to_string())
            .or_default()
            .clone();
        let _running = gate.lock().await;
        let record =
            self.with_reader(|m| Ok(m.batch(id)?))?.ok_or_else(|| CoreError::InvalidInput(format!("no batch {id}")))?;
        if !record.files.is_empty() && record.files.iter().all(|f| f.status == "answered") {
            // Answered meanwhile (a look queued behind the run that finished it): nothing to
            // connect for, and its notes and notification stay as they are.
            return Ok(batch_view(&record));
        }
        // The batch's own account, whichever is active now: its SFTP login and its orders.
        let account_id = record.account_id.clone();
        let writer = self.writer()?;
        let (settings, passphrase) = match self.sftp_for(&account_id).await {
            Ok(login) => login,
            Err(e) => {
                // Said on the batch (failed, with Retry), not only in the log.
                writer.set_batch_error(id, Some(&e.user_message()))?;
                self.changed();
                return Err(e);
            }
        };
        let mut attempt = 0u32;
        let client = loop {
            attempt += 1;
            match SftpClient::connect(&settings, passphrase.as_deref()).await {
                Ok(c) => break c,
                Err(e) if e.is_transient() && attempt < 5 => {
                    tokio::time::sleep(Duration::from_secs(attempt.into())).await
                }
                Err(e) => {
                    let uploaded = record.files.iter().all(|f| f.status == "uploaded" || f.status == "answered");
                    if uploaded && !e.is_transient() {
                        // The look for the response failed for a reason the operator must fix
                        // (a changed host key, a refused login): a failed batch, one alert
                        // (not one per later look).
                        let message = format!(
                            "{ACTION_NEEDED}the files are uploaded, but connecting to look for FlexFactor's \
                             response failed: {e}. Fix the SFTP settings, then Retry."
                        );
                        let alerted = record.needs_action;
                        writer.set_batch_action_needed(id, &message)?;
                        self.changed();
                        if !alerted {
                            self.notify_batch(&account_id, &record.source_name, Some(&e.to_string()), 0, 0);
                        }
                        return Err(batch_err(e));
                    }
                    if uploaded {
                        // Only the look for the response failed, for now (offline, the server
                        // down): said on the batch, no alert (it is tried again by itself).
                        let message = format!(
                            "The files are uploaded, but connecting to look for FlexFactor's response failed: {e}. \
                             FlexDesk tries again every {}; Check now tries at once.",
                            minutes(self.recheck_every())
                        );
                        writer.set_batch_error(id, Some(&message))?;
                        self.changed();
                        return Err(CoreError::Transfer(message));
                    }
                    writer.set_batch_error(id, Some(&e.to_string()))?;
                    self.changed();
                    self.notify_batch(&account_id, &record.source_name, Some(&e.to_string()), 0, 0);
                    return Err(batch_err(e));
                }
            }
        };
        writer.set_batch_error(id, None)?;
        let unsent: Vec<_> = record.files.iter().filter(|f| f.status == "built" || f.status == "uploading").collect();
        // Also a partly sent file gets the new header: its part on the server is under a
        // temporary name FlexFactor does not read, and the upload starts it again when the
        // bytes there are not the start of the new ones.
        if !unsent.is_empty() && Utc::now() - record.created_at > TOKEN_REFRESH_AFTER {
            // Built a while ago (an upload retried after fixing the SFTP settings): the access
            // token in the files has expired and FlexFactor would refuse every row.
            let token = match self.session_parts().await {
                Ok((active, api)) if active == account_id => api.access_token().await.map_err(CoreError::from),
                Ok(_) => Err(CoreError::InvalidInput(format!(
                    "this batch belongs to the account {:?}; switch to it and retry",
                    self.with_reader(|m| Ok(m.account(&account_id)?))?.map(|a| a.name).unwrap_or(account_id.clone())
                ))),
                Err(e) => Err(e),
            };
            if let Err(e) = token.and_then(|token| put_fresh_token(&writer, &unsent, &token)) {
                let message = format!(
                    "The batch files need a fresh FlexFactor sign-in before they are sent, which failed: {}",
                    e.user_message()
                );
                writer.set_batch_error(id, Some(&message))?;
                self.changed();
                client.close().await;
                return Err(match e.code() {
                    crate::ErrorCode::Network => CoreError::Transfer(message),
                    _ => e,
                });
            }
        }
        for f in unsent {
            let bytes = writer.batch_file_bytes(&f.name)?.unwrap_or_default();
            let mut last = std::time::Instant::now();
            let progress_writer = self.writer()?;
            let file_name = f.name.clone();
            let result = client
                .upload(&settings.inbound_dir, &settings.outbound_dir, &f.name, &bytes, move |sent, _| {
                    if last.elapsed() > Duration::from_millis(200) {
                        last = std::time::Instant::now();
                        let _ = progress_writer.set_batch_file_status(&file_name, "uploading", sent);
                    }
                })
                .await;
            match result {
                Ok(_) => writer.set_batch_file_status(&f.name, "uploaded", bytes.len() as u64)?,
                Err(e) => {
                    writer.set_batch_error(id, Some(&e.to_string()))?;
                    self.changed();
                    self.notify_batch(&account_id, &record.source_name, Some(&e.to_string()), 0, 0);
                    return Err(batch_err(e));
                }
            }
            self.changed();
        }
        let started = std::time::Instant::now();
        let mut last_notes: Vec<String> = Vec::new();
        let mut applied: HashMap<String, (String, Option<String>)> = HashMap::new();
        let mut looked = false;
        let mut pause = Duration::from_millis(500);
        loop {
            let pending: Vec<String> = self
                .with_reader(|m| Ok(m.batch(id)?))?
                .map(|b| b.files.into_iter().filter(|f| f.status != "answered").map(|f| f.name).collect())
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if looked && started.elapsed() >= wait {
                // Given up for now: said; FlexDesk looks again later by itself (FlexFactor
                // may answer a batch only once a day), and Check now looks at once.
                if last_notes.is_empty() {
                    last_notes.push(format!(
                        "No response from FlexFactor yet; FlexFactor may process batches once a day. FlexDesk checks \
                         again every {} while it runs; Check now looks at once.",
                        minutes(self.recheck_every())
                    ));
                }
                break;
            }
            looked = true;
            // What the operator must know after this round (cleared when nothing is wrong).
            let mut notes: Vec<String> = Vec::new();
            for name in pending {
                let fetched = match client.fetch_response(&settings.outbound_dir, &name).await {
                    Ok(fetched) => fetched,
                    Err(e) => {
                        let message = format!(
                            "The files are uploaded, but checking for FlexFactor's response failed: {e}. FlexDesk \
                             tries again every {}; Check now tries at once.",
                            minutes(self.recheck_every())
                        );
                        writer.set_batch_error(id, Some(&message))?;
                        self.changed();
                        client.close().await;
                        return Err(CoreError::Transfer(message));
                    }
                };
                let Some(bytes) = fetched else { continue };
                // A response read before, unchanged (a partial one, waited on): not applied again.
                let sha = sha256_hex(&bytes);
                if let Some((seen, note)) = applied.get(&name) {
                    if *seen == sha {
                        notes.extend(note.clone());
                        continue;
                    }
                }
                match ResponseFile::parse(&name, &bytes) {
                    Ok(response) => {
                        let note = self.apply_response(&account_id, id, &name, &response)?;
                        notes.extend(note.clone());
                        applied.insert(name.clone(), (sha, note));
                    }
                    // Possibly still being written: read again next round; said meanwhile.
                    Err(e) => notes.push(format!(
                        "FlexFactor's response file for {name} could not be read yet ({e}); FlexDesk reads it again."
                    )),
                }
            }
            last_notes = notes;
            if let Some(left) = wait.checked_sub(started.elapsed()) {
                // Half a second at first (a sandbox answers in seconds), then less and less
                // often: FlexFactor may take a day, and the server need not be asked twice a
                // second for it.
                tokio::time::sleep(pause.min(left)).await;
                pause = (pause * 2).min(RESPONSE_POLL_MAX);
            }
        }
        // A file refused as a whole, rows still without an outcome, an unreadable response:
        // kept on the batch for the operator (cleared when everything was answered cleanly).
        let note = (!last_notes.is_empty()).then(|| last_notes.join(" "));
        writer.finish_batch_look(id, note.as_deref(), Utc::now())?;
        self.changed();
        client.close().await;
        let view = self.batch_view(id)?;
        if view.status == "answered" {
            self.notify_batch(&account_id, &view.source_name, None, view.answered_rows, view.row_count);
        }
        Ok(view)
    }

    /// Schedules one more look for the responses of an uploaded batch (at most one pending
    /// per batch), `batch_recheck_every` from now. Each look that finds the batch still
    /// unanswered schedules the next, as long as the core runs.
    fn recheck_later(&self, id: &str) {
        let Ok(mut scheduled) = self.inner().batches.rechecks.lock() else { return };
        if scheduled.contains_key(id) || self.inner().batches.rechecks_stopped.load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let core = self.clone();
        let batch_id = id.to_string();
        let task = tokio::spawn(async move {
            tokio::time::sleep(core.recheck_every()).await;
            if let Ok(mut scheduled) = core.inner().batches.rechecks.lock() {
                scheduled.remove(&batch_id);
            }
            // A look failed meanwhile in a way that needs the operator: no look until Retry.
            if core.batch_view(&batch_id).is_ok_and(|v| v.status == "failed") {
                return;
            }
            // One look, as a run [`AppCore::shutdown`] stops; it schedules the next look
            // itself while the batch stays unanswered.
            core.run_in_background(&batch_id, Duration::ZERO);
        });
        scheduled.insert(id.to_string(), task.abort_handle());
    }

    /// Stops every batch run started in the background and every scheduled look for batch
    /// responses, and starts or schedules none any more (the core is stopping). A run stops
    /// at its next wait (mirror writes are not cut halfway; a cut upload resumes from the
    /// bytes on the server at the next start).
    pub(crate) fn stop_batch_rechecks(&self) {
        if let Ok(mut scheduled) = self.inner().batches.rechecks.lock() {
            // Under the same lock as `recheck_later`'s check: none slips in after the drain.
            self.inner().batches.rechecks_stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Ok(mut runs) = self.inner().batches.runs.lock() {
                for run in runs.drain(..) {
                    run.abort();
                }
            }
            for (_, task) in scheduled.drain() {
                task.abort();
            }
        }
    }

    /// [`crate::CoreConfig::batch_recheck_every`], at least a second (no busy loop).
    fn recheck_every(&self) -> Duration {
        self.inner().config.batch_recheck_every.max(Duration::from_secs(1))
    }

    /// A desktop notification (if opted in) that a batch has every outcome, or failed.
    /// Names the batch's account, which may not be the one open.
    fn notify_batch(&self, account_id: &str, source: &str, error: Option<&str>, answered: u32, rows: u32) {
        let account = self.with_reader(|m| Ok(m.account(account_id)?)).ok().flatten().map(|a| a.name);
        let source = match account {
            Some(name) => format!("{source} ({name})"),
            None => source.to_string(),
        };
        let (title, body) = match error {
            None => {
                ("Batch finished".to_string(), format!("{source}: all {answered} of {rows} rows have their outcome."))
            }
            Some(e) => ("Batch upload failed".to_string(), format!("{source}: {e}")),
        };
        self.notify_desktop(crate::system_dto::NoticeKind::BatchFinished, title, body);
    }

    /// Records a response file. Rows are matched by sequence number (by order id when the
    /// number is missing) and checked against the order id sent under it; an error row that
    /// cannot be placed either way is FlexFactor's verdict on the whole file. Returns what the
    /// operator must know (a refused file, rows without an outcome yet), if anything.
    fn apply_response(
        &self,
        account_id: &str,
        batch_id: &str,
        name: &str,
        r: &ResponseFile,
    ) -> Result<Option<String>, CoreError> {
        let mut writer = self.writer()?;
        let ledger: HashMap<u32, (u64, String)> = writer
            .batch_rows(batch_id)?
            .into_iter()
            .filter(|x| x.file_name == name)
            .map(|x| (x.sequence_number, (x.line, x.order_id)))
            .collect();
        let mut file_errors: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        for row in &r.rows {
            let by_order = || {
                let id = row.order_id.as_deref()?.trim();
                let mut matching = ledger.iter().filter(|(_, (_, sent))| sent.trim() == id).map(|(seq, _)| *seq);
                matching.next().filter(|_| matching.next().is_none())
            };
            let seq = match row.sequence_number.trim().parse::<u32>().ok().or_else(by_order) {
                Some(seq) => seq,
                // No number and no order it can be matched to: an error about the file as
                // a whole, if it says one; anything else cannot be placed and is left out.
                None => {
                    let error = !row.errors.is_empty() || row.status.trim().eq_ignore_ascii_case("error");
                    if row.order_id.is_none() && error {
                        let why = if row.errors.is_empty() { row.status.clone() } else { row.errors.join("; ") };
                        file_errors.push(why);
                    } else {
                        tracing::warn!(file = name, row = ?row, "a response row matches no row of the file; left out");
                    }
                    continue;
                }
            };
            // An answer without a status or errors is no outcome yet.
            if row.status.trim().is_empty() && row.errors.is_empty() {
                continue;
            }
            let mut errors = row.errors.clone();
            let mut key = row.order_session_key.clone();
            if let (Some(said), Some((_, sent))) = (&row.order_id, ledger.get(&seq)) {
                if said.trim() != sent.trim() {
                    // Not linked to an order: the answer may belong to another row.
                    key = None;
                    errors.push(format!(
                        "FlexFactor's response names order {said} for this row, but it was sent as {sent}: check \
                         this row with FlexFactor before sending it again"
                    ));
                }
            }
            let status = if row.status.trim().is_empty() { "ERROR".to_string() } else { row.status.clone() };
            rows.push((seq, key, status, (!errors.is_empty()).then(|| errors.join("; "))));
        }
        let file_error = (!file_errors.is_empty()).then(|| file_errors.join("; "));
        let missing = writer.apply_batch_response(name, &rows, file_error.as_deref())?;
        for (seq, key, status, _) in &rows {
            if let Some(key) = key {
                let line = ledger.get(seq).map(|(l, _)| *l).unwrap_or_default();
                writer.apply_event(
                    account_id,
                    &OrderEvent {
                        event_key: format!("batch:{name}:{seq}"),
                        order_session_key: key.clone(),
                        at: Utc::now(),
                        kind: "batch:row".into(),
                        summary: format!("Batch file {name}, row {seq} (input line {line}): {status}"),
                        payload: None,
                        state_hint: None,
                    },
                    None,
                )?;
            }
        }
        self.changed();
        let mut notes = Vec::new();
        if let Some(e) = &file_error {
            notes.push(format!(
                "FlexFactor could not process {name} as a whole ({e}); its rows without an outcome are marked as \
                 failed. Fix them and upload them in a new batch."
            ));
        }
        if !missing.is_empty() {
            let shown: Vec<String> = missing.iter().take(10).map(u32::to_string).collect();
            notes.push(format!(
                "FlexFactor's response to {name} has no outcome yet for {} of its rows (sequence numbers {}{}). \
                 FlexDesk keeps checking; Check now looks at once.",
                missing.len(),
                shown.join(", "),
                if missing.len() > shown.len() { ", …" } else { "" }
            ));
        }
        Ok((!notes.is_empty()).then(|| notes.join(" ")))
    }

    /// The draft being composed, if any (the screen shows it again after navigating away).
    pub fn batch_draft(&self) -> Result<Option<BatchDraftView>, CoreError> {
        let has = self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))?.is_some();
        if !has {
            return Ok(None);
        }
        Ok(Some(self.with_draft(|_| Ok(()))?.1))
    }

    /// Forgets the draft being composed.
    pub fn batch_discard(&self) -> Result<(), CoreError> {
        *self.inner().batches.draft.lock().map_err(|_| CoreError::Internal("draft lock".into()))? = None;
        Ok(())
    }

    /// [`AppCore::batch_export_bad`] written to `path`, or to a dated file in the export
    /// folder (`FLEXDESK_EXPORT_DIR`, else Downloads, else `<data dir>/exports`).
    pub fn batch_export_bad_to(&self, path: Option<&str>) -> Result<ExportResult, CoreError> {
        let csv = self.batch_export_bad()?;
        let path = match path.filter(|p| !p.trim().is_empty()) {
            Some(p) => std::path::PathBuf::from(p),
            None => {
                let dir = std::env::var_os("FLEXDESK_EXPORT_DIR")
                    .map(std::path::PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME")
                            .map(|h| std::path::PathBuf::from(h).join("Downloads"))
                            .filter(|d| d.is_dir())
                    })
                    .unwrap_or_else(|| self.data_dir().join("exports"));
                std::fs::create_dir_all(&dir).map_err(|e| CoreError::Internal(format!("{}: {e}", dir.display())))?;
                dir.join(format!("flexdesk-bad-rows-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S")))
            }
        };
        std::fs::write(&path, csv.as_bytes()).map_err(|e| CoreError::Internal(format!("{}: {e}", path.display())))?;
        let rows = csv.lines().count().saturating_sub(1) as u64;
        Ok(ExportResult { path: path.display().to_string(), rows })
    }

    /// Runs [`AppCore::run_batch`] in the background: a retry after a failure (sent, then
    /// waited for), or "Check now" on a batch waiting for FlexFactor (one look).
    pub fn resume_batch(&self, id: &str) -> Result<BatchView, CoreError> {
        let view = self.batch_view(id)?;
        // Uploaded and waiting ("Check now"): one look, the later looks stay scheduled.
        let wait = if awaiting_response(&view) { Duration::ZERO } else { self.inner().config.batch_response_wait };
        self.run_in_background(id, wait);
        Ok(view)
    }

    /// Resumes, in the background, the batches not answered yet (after a restart or a
    /// crash); returns their ids. Each is sent and looked after with its own account's SFTP
    /// login. A batch already sent and waiting for FlexFactor's response, of any account,
    /// gets one look now, then one every `batch_recheck_every`. One not (fully) sent yet is
    /// sent and waited for only if its account is the active one (sending may need a fresh
    /// sign-in): the others wait for a start with their account open, or for Retry. The
    /// Demo account's batches only while it is the active one (its SFTP endpoint is the
    /// in-app sandbox, which runs only then). Resuming is idempotent: files already uploaded
    /// are never sent again.
    pub fn resume_unfinished_batches(&self) -> Result<Vec<String>, CoreError> {
        let active = self.active_account_id().ok();
        // (id, sent and waiting): the active account's unanswered batches, the others' waiting ones.
        let runs: Vec<(String, bool)> = self.with_reader(|m| {
            let mut runs = Vec::new();
            for account in m.accounts()? {
                let is_active = active.as_ref() == Some(&account.id);
                if account.environment == flexdesk_mirror::Environment::Demo && !is_active {
                    continue;
                }
                for b in m.batches(&account.id)?.iter().map(batch_view) {
                    let waiting = awaiting_response(&b);
                    if b.status != "answered" && (is_active || waiting) {
                        runs.push((b.id, waiting));
                    }
                }
            }
            Ok(runs)
        })?;
        for (id, waiting) in &runs {
            // Sent and waiting: one look now (the later looks get scheduled by it).
            let wait = if *waiting { Duration::ZERO } else { self.inner().config.batch_response_wait };
            self.run_in_background(id, wait);
        }
        Ok(runs.into_iter().map(|(id, _)| id).collect())
    }

    /// The active account's batches, newest first, with progress.
    pub fn list_batches(&self) -> Result<Vec<BatchView>, CoreError> {
        let account_id = self.active_account_id()?;
        Ok(self.with_reader(|m| Ok(m.batches(&account_id)?))?.iter().map(|b| self.with_stall(batch_view(b))).collect())
    }

    /// One batch's rows and their outcomes.
    pub fn batch_rows(&self, batch_id: &str) -> Result<Vec<BatchRowView>, CoreError> {
        let rows = self.with_reader(|m| Ok(m.batch_rows(batch_id)?))?;
        Ok(rows
            .into_iter()
            .map(|r| BatchRowView {
                file_name: r.file_name,
                sequence_number: r.sequence_number,
                line: r.line as u32,
                order_id: r.order_id,
                order_session_key: r.order_session_key,
                status: r.status,
                errors: r.errors,
            })
            .collect())
    }

    /// Demo only: a CSV of `rows` failed rebills whose cards are vaulted in the Demo
    /// sandbox (through `/tokenize`), ready to import. `bad_rows` of them (spread through
    /// the file) carry one defect each, cycling through: an amount under the minimum, a
    /// malformed email, a missing card token.
    pub async fn batch_demo_sample(&self, rows: u32, bad_rows: u32) -> Result<String, CoreError> {
        let state = self
            .demo_sandbox_state()
            .await
            .ok_or_else(|| CoreError::InvalidInput("Sample batches are for the Demo account.".into()))?;
        let (_, client) = self.session_parts().await?;
        let stamp = Utc::now().format("%Y%m%d%H%M%S");
        let mut csv = String::from(
            "invoice_id,psp_txn_id,amount_cents,currency,failed_at,email,card_token,first_name,last_name,country\n",
        );
        let rows = rows.min(2000);
        let bad_rows = bad_rows.min(rows);
        let bad_at: Vec<u32> = (0..bad_rows).map(|k| (k + 1) * rows / (bad_rows + 1)).collect();
        for i in 0..rows {
            let defect = bad_at.iter().position(|b| *b == i).map(|k| k % 3);
            let amount = if defect == Some(0) { 5 } else { 999 + (i % 40) * 100 };
            let email =
                if defect == Some(1) { format!("rebill{i}.example.com") } else { format!("rebill{i}@example.com") };
            let failed = (Utc::now() - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if defect == Some(2) {
                csv.push_str(&format!(
                    "RB-{stamp}-{i:04},psp-{stamp}-{i},{amount},USD,{failed},{email},,Demo,Customer {i},US\n"
                ));
                continue;
            }
            let card = flexfactor_wire::TokenizeRequest {
                payment_method: flexfactor_wire::TokenizePaymentMethod {
                    email: Some(format!("rebill{i}@example.com")),
                    sense_key: None,
                    credit_card: flexfactor_wire::CreditCard {
                        first_name: "Demo".into(),
                        last_name: format!("Customer {i}"),
                        number: "4000002760003184".into(),
                        verification_value: "123".into(),
                        month: Some("09".into()),
                        year: Some("2030".into()),
                    },
                },
            };
            let answer = client.tokenize(state.mid(), state.tokenization_key(), &card).await?;
            let token = answer.token().unwrap_or_default().to_string();
            csv.push_str(&format!(
                "RB-{stamp}-{i:04},psp-{stamp}-{i},{amount},USD,{failed},{email},{token},Demo,Customer {i},US\n"
            ));
        }
        Ok(csv)
    }
}
