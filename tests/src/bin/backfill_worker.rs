//! A sync worker the crash test (`tests/crash_backfill.rs`) kills with SIGKILL mid-backfill.
//!
//! Usage: `backfill_worker <api base url> <app key> <mirror db path>`, with the AppSecret in
//! the environment variable `FLEXDESK_WORKER_APP_SECRET` (never on the command line).
//! Opens the mirror, adds the account `acct` if missing, runs `flexdesk_sync::sync_account`
//! to completion and prints one line `done inserted=<n> updated=<n> backfilled=<bool>`.

use anyhow::{bail, Context, Result};
use flexdesk_mirror::Mirror;
use flexdesk_sync::sync_account;
use flexfactor_client::{ClientConfig, FlexFactorClient};
use std::path::PathBuf;

/// The account id the crash test reads back.
const ACCOUNT: &str = "acct";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, app_key, db] = args.as_slice() else {
        bail!(
            "usage: backfill_worker <api base url> <app key> <mirror db path> (secret in FLEXDESK_WORKER_APP_SECRET)"
        );
    };
    let secret = std::env::var("FLEXDESK_WORKER_APP_SECRET").context("FLEXDESK_WORKER_APP_SECRET is not set")?;
    let mut mirror = Mirror::open(&PathBuf::from(db)).with_context(|| format!("opening the mirror {db}"))?;
    if mirror.account(ACCOUNT)?.is_none() {
        mirror
            .insert_account(&flexdesk_tests::sandbox_account(ACCOUNT, "Crash test", base_url, "mid", app_key))
            .context("adding the account")?;
    }
    let client = FlexFactorClient::new(ClientConfig::new(base_url.clone(), app_key.clone(), secret))
        .context("building the client")?;
    let report = sync_account(&client, &mut mirror, ACCOUNT, |_| {}).await.context("syncing")?;
    println!("done inserted={} updated={} backfilled={}", report.inserted, report.updated, report.backfilled);
    Ok(())
}
