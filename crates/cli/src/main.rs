//! `flexdesk`: the app core without a window. Same core, same data directory, same
//! keychain as the desktop app.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use flexdesk_core::action_dto::{ActionOutcome, ActionStatus, CancelInput, RefundInput};
use flexdesk_core::bindings::{typescript_bindings, BINDINGS_PATH};
use flexdesk_core::dto::{OrderQuery, OrderStateDto};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::KeychainStore;
use std::path::PathBuf;
use std::sync::Arc;

mod api;
mod batch;
mod chart;
mod relay;

#[derive(Parser)]
#[command(name = "flexdesk", version, about = "FlexDesk from the command line")]
struct Cli {
    /// Data directory (default: the desktop app's, e.g. ~/.local/share/dev.flexdesk.app).
    #[arg(long, global = true, env = "FLEXDESK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open the active account (the Demo account when none exists) and sync it once.
    Sync,
    /// Print the active account and mirror status as JSON.
    Status,
    /// List orders from the mirror as JSON lines.
    Orders {
        /// Only this state (pending, approved, refunded, ...).
        #[arg(long)]
        state: Option<String>,
        /// Search the FlexFactor id, merchant order id, email, name or last-4.
        #[arg(long)]
        search: Option<String>,
        /// Rows to print, 1 to 1000 (page on with --offset).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Rows to skip first (newest first).
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Refund an order of the active account, like the order detail's Refund… (outbox first,
    /// re-read before sending, audited). Prints the outcome as JSON; exits non-zero unless
    /// FlexFactor confirmed it. Re-run with the printed --intent to check an unclear one.
    Refund {
        /// The FlexFactor order id (orderSessionKey).
        order: String,
        /// Amount in major units, e.g. 12.34.
        #[arg(long)]
        amount: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// The action to continue (from an earlier run's output); default: a new one.
        #[arg(long)]
        intent: Option<String>,
    },
    /// Cancel pending orders of the active account, like Cancel order… (same protocol as
    /// refund). Exits non-zero unless every cancel was confirmed.
    Cancel {
        /// FlexFactor order ids (orderSessionKey).
        #[arg(required = true)]
        orders: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        intent: Option<String>,
    },
    /// Run the FlexFactor sandbox on loopback until Ctrl-C.
    Sandbox {
        #[command(subcommand)]
        action: SandboxAction,
    },
    /// Run the webhook relay (verifies FlexFactor webhooks, serves dashboards a feed).
    Relay {
        #[command(subcommand)]
        action: RelayAction,
    },
    /// Call the FlexFactor API directly: JSON in, JSON out (see `flexdesk api --help`).
    Api(api::ApiArgs),
    /// SFTP batches: validate, build, upload (and wait for the results), status.
    Batch {
        #[command(subcommand)]
        action: batch::BatchAction,
    },
    /// Draw one recovery chart to a PNG or SVG file (`flexdesk chart funnel --out f.svg`).
    Chart(chart::ChartArgs),
    /// Write (or with --check, verify) the UI's generated TypeScript bindings.
    GenBindings {
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum RelayAction {
    /// Serve until SIGTERM or Ctrl-C (then finish in-flight requests).
    ///
    /// Settings, lowest first: defaults < TOML file (--config or FLEXDESK_RELAY_CONFIG) <
    /// FLEXDESK_RELAY_<KEY> environment variables < these flags. Secrets only from
    /// FLEXDESK_RELAY_SUBSCRIBER_KEY / FLEXDESK_RELAY_FEED_TOKEN or their *_file settings.
    Serve(relay::ServeArgs),
    /// Exit 0 when a relay's /healthz answers ok (for HEALTHCHECK and service managers).
    Health(relay::HealthArgs),
    /// Run retention and compaction once on the relay database and print what it did.
    Compact(relay::CompactArgs),
}

#[derive(Subcommand)]
enum SandboxAction {
    Serve {
        #[arg(long, default_value_t = 8787)]
        port: u16,
        #[arg(long, default_value_t = flexdesk_core::DEMO_SEED)]
        seed: u64,
        #[arg(long, default_value_t = flexdesk_core::DEMO_ORDER_COUNT)]
        orders: usize,
        /// AppKey to accept (default: generated and printed).
        #[arg(long, env = "FLEXDESK_SANDBOX_APP_KEY")]
        app_key: Option<String>,
        /// AppSecret to accept (default: generated and printed).
        #[arg(long, env = "FLEXDESK_SANDBOX_APP_SECRET")]
        app_secret: Option<String>,
    },
}

fn default_data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("dev", "flexdesk", "app")
        .map(|d| d.data_dir().to_path_buf())
        .context("cannot find a home directory for the data directory; pass --data-dir")
}

fn open_core(cli_dir: Option<PathBuf>) -> Result<AppCore> {
    let dir = match cli_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let mut config = CoreConfig::new(dir, Arc::new(KeychainStore::new()));
    config.background_sync = false;
    AppCore::open(config).map_err(|e| anyhow::anyhow!("{}", e.user_message()))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole context chain, no backtrace: these are messages for people.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("FLEXDESK_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::GenBindings { check } => gen_bindings(check),
        Command::Api(args) => api::run(args, cli.data_dir).await,
        Command::Batch { action } => {
            if matches!(action, batch::BatchAction::Upload(_)) {
                let dir = match &cli.data_dir {
                    Some(d) => d.clone(),
                    None => default_data_dir()?,
                };
                if let Some(pid) = flexdesk_core::instance::holder(&dir).map_err(|e| anyhow::anyhow!(e))? {
                    bail!(
                        "FlexDesk is running{} with this data directory: upload the batch from its Batches screen, or \
                         close FlexDesk first (both at once could send the same batch twice). Nothing was uploaded.",
                        pid.map(|p| format!(" (process {p})")).unwrap_or_default()
                    );
                }
            }
            let core = open_core(cli.data_dir)?;
            core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let result = batch::run(&core, action).await;
            core.shutdown().await;
            result
        }
        Command::Chart(args) => chart::run(args, open_core(cli.data_dir)?).await,
        Command::Relay { action: RelayAction::Serve(args) } => relay::serve(args).await,
        Command::Relay { action: RelayAction::Health(args) } => relay::health(args).await,
        Command::Relay { action: RelayAction::Compact(args) } => relay::compact(args).await,
        Command::Sandbox { action: SandboxAction::Serve { port, seed, orders, app_key, app_secret } } => {
            serve_sandbox(port, seed, orders, app_key, app_secret).await
        }
        Command::Sync => {
            let core = open_core(cli.data_dir)?;
            let account = core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let report = core.sync_once().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            println!(
                "{}: fetched {} orders ({} new, {} changed) in {} requests",
                account.name, report.fetched, report.inserted, report.updated, report.requests
            );
            core.shutdown().await;
            Ok(())
        }
        Command::Status => {
            let core = open_core(cli.data_dir)?;
            core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let status = core.app_status().map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            core.shutdown().await;
            Ok(())
        }
        Command::Refund { order, amount, reason, intent } => {
            let amount_cents = api::parse_dollars(&amount)?.0;
            let intent_key = intent.unwrap_or_else(flexfactor_client::new_idempotency_key);
            let core = open_core(cli.data_dir)?;
            core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let input = RefundInput { order_session_key: order, amount_cents, reason, intent_key: intent_key.clone() };
            let result = core.refund(input).await;
            core.shutdown().await;
            let outcome = result.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            report_outcomes(&[outcome], &intent_key)
        }
        Command::Cancel { orders, reason, intent } => {
            let intent_key = intent.unwrap_or_else(flexfactor_client::new_idempotency_key);
            let core = open_core(cli.data_dir)?;
            core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let input = CancelInput { order_session_keys: orders, reason, intent_key: intent_key.clone() };
            let result = core.cancel_orders(input).await;
            core.shutdown().await;
            let outcomes = result.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            report_outcomes(&outcomes, &intent_key)
        }
        Command::Orders { state, search, limit, offset } => {
            if !(1..=1000).contains(&limit) {
                bail!("--limit must be 1 to 1000 (got {limit}); page through more with --offset");
            }
            let state = match state {
                Some(s) => Some(
                    serde_json::from_value::<OrderStateDto>(serde_json::Value::String(s.clone()))
                        .with_context(|| format!("unknown state {s:?}; use e.g. pending, approved, refunded"))?,
                ),
                None => None,
            };
            let core = open_core(cli.data_dir)?;
            core.start().await.map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            let page = core
                .list_orders(&OrderQuery { state, search, offset, limit, ..Default::default() })
                .map_err(|e| anyhow::anyhow!("{}", e.user_message()))?;
            match page.rows.len() as u64 {
                0 => eprintln!("{} matching orders; none at --offset {offset}", page.total),
                n => eprintln!(
                    "{} matching orders; rows {} to {}",
                    page.total,
                    u64::from(offset) + 1,
                    u64::from(offset) + n
                ),
            }
            for row in page.rows {
                println!("{}", serde_json::to_string(&row)?);
            }
            core.shutdown().await;
            Ok(())
        }
    }
}

/// Prints each outcome as a JSON line; an error (exit 1) unless all were confirmed, saying
/// how to continue an unclear one.
fn report_outcomes(outcomes: &[ActionOutcome], intent_key: &str) -> Result<()> {
    for o in outcomes {
        println!("{}", serde_json::to_string(o)?);
    }
    let open = outcomes.iter().filter(|o| o.status != ActionStatus::Confirmed).collect::<Vec<_>>();
    match open.first() {
        None => Ok(()),
        Some(o) if o.status == ActionStatus::Rejected => bail!("{}", o.message),
        Some(o) => bail!("{} Run the same command with --intent {intent_key} to check it again.", o.message),
    }
}

fn gen_bindings(check: bool) -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(BINDINGS_PATH);
    let fresh = typescript_bindings();
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            bail!("{} is stale: run `cargo run -p flexdesk-cli -- gen-bindings`", path.display());
        }
        println!("{} is up to date", path.display());
        return Ok(());
    }
    std::fs::write(&path, fresh).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

async fn serve_sandbox(
    port: u16,
    seed: u64,
    orders: usize,
    app_key: Option<String>,
    app_secret: Option<String>,
) -> Result<()> {
    use rand::distributions::{Alphanumeric, DistString};
    let mut rng = rand::thread_rng();
    let app_key = app_key.unwrap_or_else(|| Alphanumeric.sample_string(&mut rng, 40));
    let app_secret = app_secret.unwrap_or_else(|| Alphanumeric.sample_string(&mut rng, 88));
    let anchor = chrono::Utc::now();
    let mut config = flexfactor_sandbox::SandboxConfig::demo(
        seed,
        anchor,
        flexfactor_sandbox::SandboxCredentials::new(app_key.clone(), app_secret.clone()),
    );
    config.order_count = orders;
    config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mid = config.mid.clone();
    let sandbox = flexfactor_sandbox::Sandbox::start(config).await.context("starting the sandbox")?;
    println!("FlexFactor sandbox (local, test data only) at {}", sandbox.base_url());
    println!("  MID        {mid}");
    println!("  AppKey     {app_key}");
    println!("  AppSecret  {app_secret}");
    println!("  orders     {}", sandbox.order_count());
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}
