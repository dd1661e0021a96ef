//! `flexdesk chart <kind> --from … --to … --out file.png|svg`: one recovery chart to a file.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use flexdesk_core::chart_dto::{ChartKindDto, ChartQuery, ChartThemeDto, GranularityDto, OverviewQuery};
use flexdesk_core::AppCore;
use std::path::PathBuf;

#[derive(Args)]
pub struct ChartArgs {
    /// recovered-amount, recovery-rate, cit-vs-mit, decline-codes, funnel, mit-cohorts,
    /// days-to-rescue or pending-expiry.
    pub kind: String,
    /// First day (UTC, inclusive), e.g. 2026-09-01. Default: 89 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (UTC, inclusive). Default: today.
    #[arg(long)]
    pub to: Option<String>,
    /// Where to write; the type follows the name (.png or .svg).
    #[arg(long)]
    pub out: PathBuf,
    /// Currency (default: the one with the most orders in the range).
    #[arg(long)]
    pub currency: Option<String>,
    /// day, week or month (the over-time charts).
    #[arg(long, default_value = "day")]
    pub granularity: String,
    /// light or dark.
    #[arg(long, default_value = "light")]
    pub theme: String,
    /// Account id (default: the active account).
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, default_value_t = 960)]
    pub width: u32,
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    /// Decline codes before "Other".
    #[arg(long)]
    pub top: Option<u32>,
}

fn kebab<T: serde::de::DeserializeOwned>(what: &str, value: &str, choices: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| anyhow!("unknown {what} {value:?}; use one of: {choices}"))
}

pub async fn run(args: ChartArgs, core: AppCore) -> Result<()> {
    let kind: ChartKindDto = kebab(
        "chart",
        &args.kind,
        "recovered-amount, recovery-rate, cit-vs-mit, decline-codes, funnel, mit-cohorts, days-to-rescue, pending-expiry",
    )?;
    let granularity: GranularityDto = kebab("granularity", &args.granularity, "day, week, month")?;
    let theme: ChartThemeDto = kebab("theme", &args.theme, "light, dark")?;
    let today = chrono::Utc::now().date_naive();
    let to = args.to.unwrap_or_else(|| today.to_string());
    let from = match args.from {
        Some(f) => f,
        None => match chrono::NaiveDate::parse_from_str(&to, "%Y-%m-%d") {
            Ok(t) => (t - chrono::Duration::days(89)).to_string(),
            Err(_) => bail!("--to must be a date such as 2026-11-23, not {to:?}"),
        },
    };
    if args.account.is_none() {
        core.start().await.map_err(|e| anyhow!("{}", e.user_message()))?;
    }
    let query = ChartQuery {
        kind,
        range: OverviewQuery { from, to, account_id: args.account, currency: args.currency },
        granularity,
        theme,
        width: args.width,
        height: args.height,
        top_n: args.top,
    };
    let result = core.write_chart(&query, &args.out);
    core.shutdown().await;
    result.map_err(|e| anyhow!("{}", e.user_message()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
