//! `flexdesk relay …`: the webhook relay as a long-running server, its configuration check,
//! on-demand maintenance and a health probe for container and service managers.
//!
//! Settings come from defaults < TOML file < `FLEXDESK_RELAY_*` environment < these flags
//! (see `flexdesk_relay::settings`). Secrets are never flags.

use anyhow::{bail, Context, Result};
use clap::Args;
use flexdesk_relay::settings::{Settings, SettingsInput};
use flexdesk_relay::{EventStore, Relay, RelayError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The settings every relay subcommand shares. Each flag overrides the config file and the
/// environment; unset flags leave them alone.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// TOML configuration file (default: $FLEXDESK_RELAY_CONFIG, else none).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Address to listen on [default 127.0.0.1:8788].
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Option<String>,
    /// The relay's SQLite database, created if missing [default relay.sqlite3].
    #[arg(long, value_name = "PATH")]
    db: Option<String>,
    /// The host name FlexFactor signs, when a proxy changes the Host header.
    #[arg(long, value_name = "HOST")]
    public_host: Option<String>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "PATH")]
    tls_cert: Option<String>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "PATH")]
    tls_key: Option<String>,
    /// Reject deliveries whose x-fc-date is further than this from now [default 300].
    #[arg(long, value_name = "SECS")]
    replay_window_secs: Option<String>,
    /// Larger webhook bodies get 413 [default 262144].
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<String>,
    /// Events older than this leave the feed; dedupe ids stay max(this, 7) days [default 30].
    #[arg(long, value_name = "DAYS")]
    retention_days: Option<String>,
    /// Keep the database under this size by dropping the oldest events; 0 = no limit [default 0].
    #[arg(long, value_name = "MB")]
    max_db_mb: Option<String>,
    /// How often retention, compaction and the WAL checkpoint run [default 600].
    #[arg(long, value_name = "SECS")]
    maintenance_interval_secs: Option<String>,
    /// Refused deliveries kept for inspection [default 10000].
    #[arg(long, value_name = "N")]
    rejected_keep: Option<String>,
    /// On SIGTERM, how long in-flight requests may take to finish [default 30].
    #[arg(long, value_name = "SECS")]
    shutdown_grace_secs: Option<String>,
    /// File holding the base64 webhook subscriber key (else $FLEXDESK_RELAY_SUBSCRIBER_KEY).
    #[arg(long, value_name = "PATH")]
    subscriber_key_file: Option<String>,
    /// File holding the feed token (else $FLEXDESK_RELAY_FEED_TOKEN).
    #[arg(long, value_name = "PATH")]
    feed_token_file: Option<String>,
}

impl ConfigArgs {
    fn input(&self) -> SettingsInput {
        let mut flags = BTreeMap::new();
        let given = [
            ("bind", &self.bind),
            ("db", &self.db),
            ("public_host", &self.public_host),
            ("tls_cert", &self.tls_cert),
            ("tls_key", &self.tls_key),
            ("replay_window_secs", &self.replay_window_secs),
            ("max_body_bytes", &self.max_body_bytes),
            ("retention_days", &self.retention_days),
            ("max_db_mb", &self.max_db_mb),
            ("maintenance_interval_secs", &self.maintenance_interval_secs),
            ("rejected_keep", &self.rejected_keep),
            ("shutdown_grace_secs", &self.shutdown_grace_secs),
            ("subscriber_key_file", &self.subscriber_key_file),
            ("feed_token_file", &self.feed_token_file),
        ];
        for (key, value) in given {
            if let Some(v) = value {
                flags.insert(key.to_string(), v.clone());
            }
        }
        SettingsInput { config_flag: self.config.clone(), env: SettingsInput::process_env(), flags }
    }

    fn load(&self) -> Result<Settings> {
        let settings = Settings::load(&self.input())?;
        for w in &settings.warnings {
            tracing::warn!("{w}");
        }
        Ok(settings)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print the effective configuration (secrets masked) and exit: 0 when it is valid.
    #[arg(long)]
    check_config: bool,
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let settings = args.config.load()?;
    if args.check_config {
        print!("{}", settings.describe());
        println!("# configuration OK");
        return Ok(());
    }
    let relay = Relay::start(settings.relay_config()).await.map_err(|e| explain_start_error(&settings, e))?;
    println!("relay listening on {} (database {})", relay.base_url(), settings.db.display());
    println!("  webhooks: POST {}/webhooks   feed: GET {}/feed?after=<seq>", relay.base_url(), relay.base_url());
    println!("  health: GET {}/healthz   metrics: GET {}/metrics", relay.base_url(), relay.base_url());
    wait_for_stop().await?;
    println!("stopping: finishing in-flight requests (up to {} s) …", settings.shutdown_grace.as_secs());
    // A second signal during the drain stops at once; acknowledged events are already committed.
    tokio::spawn(async {
        if wait_for_stop().await.is_ok() {
            eprintln!("second stop signal: exiting without waiting for in-flight requests");
            std::process::exit(130);
        }
    });
    relay.shutdown().await;
    println!("stopped");
    Ok(())
}

/// Names the setting behind a start-up failure, where it came from and what to do.
fn explain_start_error(settings: &Settings, e: RelayError) -> anyhow::Error {
    match &e {
        RelayError::Bind { addr, .. } => anyhow::anyhow!(
            "{e}\n  bind = {addr} (from {}): choose a free port, or a port >= 1024 unless the service has \
             CAP_NET_BIND_SERVICE",
            settings.source("bind")
        ),
        RelayError::Open { path, .. } => anyhow::anyhow!(
            "{e}\n  db = {} (from {}): the directory must exist and be writable by this user",
            path.display(),
            settings.source("db")
        ),
        RelayError::Config(_) if settings.tls.is_some() => anyhow::anyhow!(
            "{e}\n  tls_cert (from {}) / tls_key (from {}): give a PEM certificate chain and its PEM private key",
            settings.source("tls_cert"),
            settings.source("tls_key")
        ),
        _ => anyhow::Error::new(e).context("starting the relay"),
    }
}

async fn wait_for_stop() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs retention and compaction once on the configured database and prints what it did.
/// Safe while the relay runs (SQLite serialises the writers).
pub async fn compact(args: CompactArgs) -> Result<()> {
    let settings = args.config.load()?;
    let config = settings.relay_config();
    let plan = flexdesk_relay::MaintenancePlan {
        events_before: chrono::Utc::now()
            - chrono::Duration::from_std(config.retention).context("retention_days is too large")?,
        keys_before: chrono::Utc::now()
            - chrono::Duration::from_std(config.retention.max(flexdesk_relay::MIN_DEDUPE_KEEP))
                .context("retention_days is too large")?,
        max_bytes: config.max_db_bytes,
        rejected_keep: config.rejected_keep,
    };
    let db = settings.db.clone();
    let report = tokio::task::spawn_blocking(move || {
        let store = flexdesk_relay::SqliteStore::open(&db)?;
        store.maintain(&plan)
    })
    .await
    .context("the maintenance task failed")?
    .with_context(|| format!("maintaining {}", settings.db.display()))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The relay's base URL (or its /healthz URL).
    #[arg(long, default_value = "http://127.0.0.1:8788")]
    url: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
    /// Trust this PEM certificate (a self-signed relay certificate).
    #[arg(long, value_name = "PATH")]
    ca_cert: Option<PathBuf>,
}

/// Exits 0 when `/healthz` answers 200 with `"status": "ok"`, 1 otherwise (with the reason).
pub async fn health(args: HealthArgs) -> Result<()> {
    let base = args.url.trim_end_matches('/');
    let url = if base.ends_with("/healthz") { base.to_string() } else { format!("{base}/healthz") };
    let mut client = reqwest::Client::builder().timeout(Duration::from_secs(args.timeout_secs.max(1)));
    if let Some(path) = &args.ca_cert {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        client = client.tls_certs_only([cert]);
    }
    let client = client.build().context("building the HTTP client")?;
    let resp = client.get(&url).send().await.with_context(|| format!("{url} did not answer"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let state = body.get("status").and_then(|s| s.as_str()).unwrap_or("unknown");
    if !status.is_success() || state != "ok" {
        bail!("{url} answered HTTP {status}, status {state:?}");
    }
    println!("ok: {url} (latest seq {})", body.get("latestSeq").cloned().unwrap_or_default());
    Ok(())
}
