//! `flexdesk relay serve`: the webhook relay as a long-running server.

use anyhow::{bail, Context, Result};
use clap::Args;
use flexdesk_relay::{Relay, RelayConfig, TlsFiles};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8788")]
    bind: SocketAddr,
    /// The relay's SQLite database (created if missing).
    #[arg(long, default_value = "relay.sqlite3")]
    db: PathBuf,
    /// Name of the environment variable holding the webhook subscriber key (base64, from
    /// the FlexFactor portal). Secrets are never taken as command-line arguments.
    #[arg(long, default_value = "FLEXDESK_RELAY_SUBSCRIBER_KEY")]
    subscriber_key_env: String,
    /// Name of the environment variable holding the token dashboards use on /feed.
    #[arg(long, default_value = "FLEXDESK_RELAY_FEED_TOKEN")]
    feed_token_env: String,
    /// The host name FlexFactor signs, when a proxy changes the Host header.
    #[arg(long)]
    public_host: Option<String>,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Reject deliveries whose x-fc-date is further than this from now.
    #[arg(long, default_value_t = 300)]
    replay_window_secs: u64,
    #[arg(long, default_value_t = 256 * 1024)]
    max_body_bytes: usize,
    #[arg(long, default_value_t = 30)]
    retention_days: u64,
}

fn secret_from_env(var: &str, what: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => bail!("set the environment variable {var} to the {what}"),
    }
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let key_b64 =
        secret_from_env(&args.subscriber_key_env, "webhook subscriber key (base64, from the FlexFactor portal)")?;
    let key = flexfactor_wire::webhook::decode_key(&key_b64)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.subscriber_key_env))?;
    let token = secret_from_env(&args.feed_token_env, "feed token dashboards will use (at least 16 characters)")?;
    let mut config = RelayConfig::new(args.db.clone(), key, token);
    config.bind = args.bind;
    config.public_host = args.public_host;
    config.replay_window = Duration::from_secs(args.replay_window_secs);
    config.max_body_bytes = args.max_body_bytes;
    config.retention = Duration::from_secs(args.retention_days * 24 * 3600);
    config.tls = match (args.tls_cert, args.tls_key) {
        (Some(cert_pem), Some(key_pem)) => Some(TlsFiles { cert_pem, key_pem }),
        _ => None,
    };
    let relay = Relay::start(config).await.context("starting the relay")?;
    println!("relay listening on {} (database {})", relay.base_url(), args.db.display());
    println!("  webhooks: POST {}/webhooks   feed: GET {}/feed?after=<seq>", relay.base_url(), relay.base_url());
    wait_for_stop().await?;
    println!("stopping: finishing in-flight requests …");
    relay.shutdown().await;
    Ok(())
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
