//! `flexdesk batch validate | build | upload | status | sftp`: SFTP batches from the command
//! line, through the same app core as the Batches screen (and its SFTP settings).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use flexdesk_core::batch_dto::{BatchInput, BatchKindDto, SftpSettingsInput, SftpTestOutcome};
use flexdesk_core::AppCore;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BatchAction {
    /// Validate a CSV/JSON batch; prints every bad row (line, field, reason). Exit 1 if any.
    Validate(InputArgs),
    /// Validate, then write the batch files into --out (nothing is uploaded or recorded).
    Build {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Validate, record and upload over SFTP, then wait for the response files.
    Upload(InputArgs),
    /// The account's batches and their progress, as JSON lines; with --batch, its rows.
    Status {
        #[arg(long)]
        batch: Option<String>,
    },
    /// The active account's SFTP settings: show, set, test the connection, pin the host key.
    Sftp {
        #[command(subcommand)]
        action: SftpAction,
    },
}

#[derive(Subcommand)]
pub enum SftpAction {
    /// Print the saved settings as JSON (never the passphrase: only whether one is stored).
    Show,
    /// Save the settings (the passphrase goes to the OS keychain). Then run `sftp test`.
    Set(SftpSetArgs),
    /// Connect, log in and look for both folders; prints the outcome and the server's host
    /// key as JSON. Exit 0 only when the outcome is "ok".
    Test,
    /// Pin a host key: the OpenSSH line `sftp test` printed, or a `SHA256:` fingerprint.
    Pin {
        /// The host key (quote it: it contains a space).
        host_key: String,
    },
}

#[derive(Args)]
pub struct SftpSetArgs {
    #[arg(long)]
    pub host: String,
    #[arg(long, default_value_t = 22)]
    pub port: u16,
    #[arg(long)]
    pub user: String,
    /// The OpenSSH private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The folder FlexFactor reads batches from.
    #[arg(long)]
    pub inbound_dir: String,
    /// The folder FlexFactor writes its response files to.
    #[arg(long)]
    pub outbound_dir: String,
    /// The host key to pin now (else keep the pinned one, or pin after `sftp test`).
    #[arg(long, default_value = "")]
    pub host_key: String,
    /// Read the key's passphrase from the first line of standard input (never from an
    /// argument, which other users can see in the process list). Without it, a stored
    /// passphrase is kept.
    #[arg(long)]
    pub passphrase_stdin: bool,
}

async fn sftp(core: &AppCore, action: SftpAction) -> Result<()> {
    let fail = |e: flexdesk_core::CoreError| anyhow::anyhow!(e.user_message());
    match action {
        SftpAction::Show => println!("{}", serde_json::to_string(&core.sftp_settings().map_err(fail)?)?),
        SftpAction::Set(a) => {
            let passphrase = if a.passphrase_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the passphrase from standard input")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            core.configure_sftp(SftpSettingsInput {
                host: a.host,
                port: a.port,
                user: a.user,
                key_path: a.key.display().to_string(),
                host_key: a.host_key,
                inbound_dir: a.inbound_dir,
                outbound_dir: a.outbound_dir,
                passphrase,
            })
            .map_err(fail)?;
            println!("{}", serde_json::to_string(&core.sftp_settings().map_err(fail)?)?);
        }
        SftpAction::Test => {
            let result = core.test_sftp_connection().await.map_err(fail)?;
            println!("{}", serde_json::to_string(&result)?);
            if result.outcome != SftpTestOutcome::Ok {
                bail!("{}", result.message);
            }
        }
        SftpAction::Pin { host_key } => {
            println!("{}", serde_json::to_string(&core.pin_sftp_host_key(&host_key).map_err(fail)?)?)
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct InputArgs {
    /// The CSV (or JSON batch) file.
    pub file: PathBuf,
    /// evaluate (failed MIT rebills) or transmit.
    #[arg(long, default_value = "evaluate")]
    pub kind: String,
    /// Default expiryDateUtc, in days from now.
    #[arg(long, default_value_t = 21)]
    pub expiry_days: u32,
    /// Leave out the bad rows instead of refusing the file.
    #[arg(long)]
    pub drop_bad: bool,
}

async fn compose(core: &AppCore, a: &InputArgs) -> Result<bool> {
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let (text, note) = flexdesk_core::decode_export(&bytes);
    if let Some(note) = note {
        eprintln!("note: {}: {note}", a.file.display());
    }
    let kind = match a.kind.as_str() {
        "evaluate" => BatchKindDto::Evaluate,
        "transmit" => BatchKindDto::Transmit,
        other => bail!("--kind must be evaluate or transmit, not {other}"),
    };
    let input = BatchInput {
        text,
        source_name: a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        kind,
        default_expiry_days: Some(a.expiry_days),
    };
    let mut view = core.batch_compose(input).map_err(|e| anyhow::anyhow!(e.user_message()))?;
    for row in view.rows.iter().filter(|r| !r.issues.is_empty()) {
        for i in &row.issues {
            eprintln!("line {}: {}: {} ({})", i.line, i.field, i.reason, i.kind);
        }
    }
    if a.drop_bad && view.invalid > 0 {
        let bad: Vec<u32> = view.rows.iter().filter(|r| !r.issues.is_empty()).map(|r| r.line).collect();
        view = core.batch_drop_rows(bad).map_err(|e| anyhow::anyhow!(e.user_message()))?;
    }
    println!(
        "{}",
        serde_json::json!({"rows": view.total, "valid": view.valid, "invalid": view.invalid, "dropped": view.dropped, "files": view.files_needed})
    );
    Ok(view.invalid == 0 && view.valid > 0)
}

pub async fn run(core: &AppCore, action: BatchAction) -> Result<()> {
    match action {
        BatchAction::Sftp { action } => sftp(core, action).await?,
        BatchAction::Validate(a) => {
            if !compose(core, &a).await? {
                std::process::exit(1);
            }
        }
        BatchAction::Build { input, out } => {
            if !compose(core, &input).await? {
                bail!("the file has bad rows; nothing was written");
            }
            for name in core.batch_build_files(&out).await.map_err(|e| anyhow::anyhow!(e.user_message()))? {
                println!("{name}");
            }
        }
        BatchAction::Upload(a) => {
            if !compose(core, &a).await? {
                bail!("the file has bad rows; nothing was uploaded (use --drop-bad to leave them out)");
            }
            let batch = core.batch_upload().await.map_err(|e| anyhow::anyhow!(e.user_message()))?;
            let done = core.run_batch(&batch.id).await.map_err(|e| anyhow::anyhow!(e.user_message()))?;
            println!("{}", serde_json::to_string(&done)?);
        }
        BatchAction::Status { batch } => match batch {
            Some(id) => {
                for r in core.batch_rows(&id).map_err(|e| anyhow::anyhow!(e.user_message()))? {
                    println!("{}", serde_json::to_string(&r)?);
                }
            }
            None => {
                for b in core.list_batches().map_err(|e| anyhow::anyhow!(e.user_message()))? {
                    println!("{}", serde_json::to_string(&b)?);
                }
            }
        },
    }
    Ok(())
}
