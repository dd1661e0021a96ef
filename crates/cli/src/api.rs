//! `flexdesk api …`: every FlexFactor client call from the command line. Request bodies are
//! JSON read from a file or `-` (stdin); answers are JSON on stdout; a failure exits
//! non-zero with a readable error on stderr (code, every field message, trace id).
//!
//! Connection: `--base-url` + `--app-key` + `--app-secret-env VAR` (the AppSecret is read
//! from the environment variable named VAR, never from the command line), or `--account
//! ID` for an account configured in the app: its base URL and AppKey come from the
//! mirror database in the data directory and its AppSecret from the OS keychain (flags
//! still override). The secret is never printed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use flexdesk_secrets::SecretStore;
use flexfactor_client::{ClientConfig, ClientError, FlexFactorClient, Idempotent};
use flexfactor_wire::{CaptureRequest, Cents, EvaluateRequest, OrdersQuery, TokenizeRequest, TransmitRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Args)]
pub struct ApiArgs {
    /// API root including the version, e.g. https://api-sandbox.flexfactor.io/v1.
    #[arg(long)]
    base_url: Option<String>,
    /// The public AppKey.
    #[arg(long)]
    app_key: Option<String>,
    /// Name of the environment variable holding the AppSecret (never the secret itself).
    #[arg(long, value_name = "VAR")]
    app_secret_env: Option<String>,
    /// An account configured in FlexDesk: base URL and AppKey from the mirror, AppSecret
    /// from the OS keychain.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    #[command(subcommand)]
    call: ApiCall,
}

#[derive(Subcommand)]
enum ApiCall {
    /// Sign in (POST /oauth2/token) and report whether the credentials work.
    Token,
    /// Vault a card (POST /tokenize); body: {"payment_method": {...}} (snake_case).
    Tokenize {
        /// Merchant id (default: the account's MID with --account).
        #[arg(long)]
        mid: Option<String>,
        /// The Tokenization Key, sent as the `environment` query parameter.
        #[arg(long)]
        environment: String,
        /// JSON body file, or - for stdin.
        body: String,
    },
    /// Ask FlexFactor to rescue a decline (POST /evaluate); a missing idempotencyKey is generated.
    Evaluate {
        /// JSON body file, or - for stdin.
        body: String,
    },
    /// Send a copy of an approved transaction (POST /transmit).
    Transmit {
        /// JSON body file, or - for stdin.
        body: String,
    },
    /// List or read orders (GET /orders, GET /orders/{id}).
    Orders {
        #[command(subcommand)]
        action: OrdersCall,
    },
    /// Refund part or all of an order (POST /orders/{id}/refund). Never resent on an unclear answer.
    Refund {
        /// The orderSessionKey.
        id: String,
        /// Decimal dollars, e.g. 12.34 (at most two decimals; converted to cents exactly).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        message: Option<String>,
    },
    /// Cancel a pending order (POST /orders/{id}/cancel).
    Cancel {
        /// The orderSessionKey.
        id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Cancel by the merchant's own order id (POST /orders/{id}/external-cancel).
    ExternalCancel {
        merchant_order_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Capture a CAPTUREREQUIRED order (POST /capture); body: {orderId, amount (cents), currency[, idempotencyKey]}.
    Capture {
        /// JSON body file, or - for stdin.
        body: String,
        /// Overrides the body's idempotencyKey (a missing one is generated).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// The deprecated status lookup (POST /outcome).
    Outcome {
        /// The orderSessionKey.
        id: String,
    },
}

#[derive(Subcommand)]
enum OrdersCall {
    /// One page (or with --all every page) of GET /orders.
    List {
        /// Free-text search.
        #[arg(long)]
        query: Option<String>,
        /// Status code 0..7; repeat for several.
        #[arg(long)]
        status: Vec<i32>,
        /// Created at or after (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        /// Created before (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        to: Option<DateTime<Utc>>,
        #[arg(long)]
        mid: Option<String>,
        /// createdOn, amount, orderPlacedDate, modifiedOn.
        #[arg(long)]
        order_by: Option<String>,
        /// asc or desc.
        #[arg(long)]
        sort: Option<String>,
        #[arg(long)]
        page_size: Option<u32>,
        /// 1-based.
        #[arg(long)]
        page_number: Option<u32>,
        /// Follow every page and print one JSON array of orders.
        #[arg(long)]
        all: bool,
    },
    /// GET /orders/{id}.
    Get {
        /// The orderSessionKey.
        id: String,
    },
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| format!("{s:?} is not RFC 3339: {e}"))
}

/// Parses decimal dollars ("12.34", "5", "0.5") into exact cents, without floats.
/// Rejects signs, more than two decimals, empty parts and anything but digits.
pub fn parse_dollars(text: &str) -> Result<Cents> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
        bail!("amount {text:?} is not a decimal dollar amount like 12.34");
    }
    if frac.len() > 2 {
        bail!("amount {text:?} has more than two decimals (cents)");
    }
    let whole: i64 = whole.parse().with_context(|| format!("amount {text:?} is too large"))?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse()? };
    let cents = whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(frac))
        .ok_or_else(|| anyhow!("amount {text:?} is too large"))?;
    if cents <= 0 {
        bail!("amount {text:?} must be more than zero");
    }
    Ok(Cents(cents))
}

/// Runs one `flexdesk api` call.
pub async fn run(args: ApiArgs, data_dir: Option<PathBuf>) -> Result<()> {
    let connection = resolve(&args, data_dir)?;
    let mut config = ClientConfig::new(connection.base_url.clone(), connection.app_key.clone(), connection.app_secret);
    config.timeout = Duration::from_secs(args.timeout_secs.max(1));
    let client = FlexFactorClient::new(config).map_err(|e| anyhow!(describe(&e)))?;
    call(&client, args.call, connection.mid.as_deref(), &connection.base_url, &connection.app_key).await
}

async fn call(
    client: &FlexFactorClient,
    call: ApiCall,
    account_mid: Option<&str>,
    base: &str,
    key: &str,
) -> Result<()> {
    match call {
        ApiCall::Token => {
            client.authenticate().await.map_err(fail)?;
            print(&serde_json::json!({"authenticated": true, "baseUrl": base, "appKey": key}))
        }
        ApiCall::Tokenize { mid, environment, body } => {
            let mid = mid.as_deref().or(account_mid).context("--mid is required (or use --account)")?;
            let request: TokenizeRequest = read_json(&body, "/tokenize")?;
            print(&client.tokenize(mid, &environment, &request).await.map_err(fail)?)
        }
        ApiCall::Evaluate { body } => {
            let request: EvaluateRequest = read_json(&body, "/evaluate")?;
            print_idempotent(client.evaluate(&request).await.map_err(fail)?)
        }
        ApiCall::Transmit { body } => {
            let request: TransmitRequest = read_json(&body, "/transmit")?;
            print(&client.transmit(&request).await.map_err(fail)?)
        }
        ApiCall::Orders { action: OrdersCall::Get { id } } => print(&client.get_order(&id).await.map_err(fail)?),
        ApiCall::Orders {
            action: OrdersCall::List { query, status, from, to, mid, order_by, sort, page_size, page_number, all },
        } => {
            let q = OrdersQuery { query, status, from, to, mid, order_by, sort, page_size, page_number };
            if all {
                print(&client.list_all_orders(&q).await.map_err(fail)?)
            } else {
                print(&client.list_orders(&q).await.map_err(fail)?)
            }
        }
        ApiCall::Refund { id, amount, message } => {
            let cents = parse_dollars(&amount)?;
            print(&client.refund(&id, cents, message.as_deref()).await.map_err(fail)?)
        }
        ApiCall::Cancel { id, idempotency_key } => {
            print_idempotent(client.cancel(&id, idempotency_key.as_deref()).await.map_err(fail)?)
        }
        ApiCall::ExternalCancel { merchant_order_id, idempotency_key } => print_idempotent(
            client.external_cancel(&merchant_order_id, idempotency_key.as_deref()).await.map_err(fail)?,
        ),
        ApiCall::Capture { body, idempotency_key } => {
            let mut value: serde_json::Value = read_json(&body, "/capture")?;
            if let Some(obj) = value.as_object_mut() {
                if let Some(k) = idempotency_key {
                    obj.insert("idempotencyKey".into(), serde_json::Value::String(k));
                }
                obj.entry("idempotencyKey").or_insert_with(|| serde_json::Value::String(String::new()));
            }
            let request: CaptureRequest = serde_json::from_value(value)
                .context("the /capture body needs orderId, amount (cents) and currency")?;
            print_idempotent(client.capture(&request).await.map_err(fail)?)
        }
        ApiCall::Outcome { id } => {
            #[allow(deprecated)]
            let answer = client.outcome(&id).await.map_err(fail)?;
            print(&answer)
        }
    }
}

/// Where and as whom to connect. `Debug` is deliberately not derived (it holds the secret).
struct Connection {
    base_url: String,
    app_key: String,
    app_secret: String,
    mid: Option<String>,
}

fn resolve(args: &ApiArgs, data_dir: Option<PathBuf>) -> Result<Connection> {
    let mut base_url = args.base_url.clone();
    let mut app_key = args.app_key.clone();
    let mut mid = None;
    let mut app_secret = match &args.app_secret_env {
        Some(var) => Some(
            std::env::var(var).with_context(|| format!("environment variable {var} (--app-secret-env) is not set"))?,
        ),
        None => None,
    };
    if let Some(id) = &args.account {
        let dir = match data_dir {
            Some(d) => d,
            None => crate::default_data_dir()?,
        };
        let account = read_account(&dir.join("mirror.sqlite3"), id)?;
        base_url = base_url.or(Some(account.base_url));
        app_key = app_key.or(Some(account.app_key));
        mid = Some(account.mid);
        if app_secret.is_none() {
            let key = flexdesk_secrets::account_key(id, "app-secret");
            let secret = flexdesk_secrets::KeychainStore::new()
                .get(&key)
                .map_err(|e| anyhow!("reading the AppSecret of account {id} from the OS keychain: {e}"))?;
            app_secret = Some(secret.expose().to_string());
        }
    }
    let base_url = base_url.context("--base-url is required (or use --account)")?;
    let app_key = app_key.context("--app-key is required (or use --account)")?;
    let app_secret = app_secret.context("the AppSecret is required: --app-secret-env VAR or --account ID")?;
    Ok(Connection { base_url, app_key, app_secret, mid })
}

fn read_account(path: &Path, id: &str) -> Result<flexdesk_mirror::Account> {
    if !path.exists() {
        bail!("no FlexDesk data at {} (set --data-dir)", path.display());
    }
    let mirror = flexdesk_mirror::Mirror::open(path).with_context(|| format!("opening {}", path.display()))?;
    mirror
        .account(id)
        .with_context(|| format!("reading account {id}"))?
        .with_context(|| format!("no account {id:?} in {}", path.display()))
}

fn read_json<T: DeserializeOwned>(source: &str, what: &str) -> Result<T> {
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading the request body from stdin")?;
        s
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading the request body from {source}"))?
    };
    serde_json::from_str(&text)
        .with_context(|| format!("the {what} body in {source} is not valid JSON of the expected shape"))
}

fn print<T: Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_idempotent<T: Serialize>(answer: Idempotent<T>) -> Result<()> {
    print(&serde_json::json!({
        "idempotencyKey": answer.idempotency_key,
        "attempts": answer.attempts,
        "response": answer.response,
    }))
}

fn fail(e: ClientError) -> anyhow::Error {
    anyhow!(describe(&e))
}

/// A readable, multi-line description: the error, then its code, message, every field
/// message and the trace id, and what to do for an unknown refund outcome.
pub fn describe(e: &ClientError) -> String {
    let mut lines = vec![e.to_string()];
    let detail = match e {
        ClientError::CredentialsRejected { detail }
        | ClientError::Api { detail, .. }
        | ClientError::Rejected { detail, .. }
        | ClientError::Conflict { detail, .. } => Some(detail),
        _ => None,
    };
    if let Some(d) = detail {
        if let Some(code) = d.code() {
            lines.push(format!("  code: {code}"));
        }
        if let Some(message) = d.message() {
            lines.push(format!("  message: {message}"));
        }
        for (field, messages) in &d.field_errors {
            for m in messages {
                lines.push(format!("  field {field}: {m}"));
            }
        }
        if let Some(trace) = &d.trace_id {
            lines.push(format!("  trace id: {trace}"));
        }
        if d.title.is_none() && d.field_errors.is_empty() && d.codes.is_empty() && !d.raw.trim().is_empty() {
            lines.push(format!("  body: {}", d.raw));
        }
    }
    if let ClientError::OutcomeUnknown { order_id, .. } = e {
        lines.push(format!(
            "  the refund may or may not have happened: check `flexdesk api orders get {order_id}` before refunding again"
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_become_exact_cents() {
        let c = |s: &str| parse_dollars(s).unwrap().0;
        assert_eq!(c("12.34"), 1234);
        assert_eq!(c("0.1"), 10);
        assert_eq!(c("0.07"), 7);
        assert_eq!(c("5"), 500);
        assert_eq!(c("19.99"), 1999);
        assert_eq!(c("123456789.01"), 12_345_678_901);
        for bad in ["", ".5", "5.", "1.999", "-1", "+1", "1,00", "abc", "0", "0.00", "1e2", "99999999999999999999"] {
            assert!(parse_dollars(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_show_code_fields_and_trace_id() {
        let detail = flexfactor_client::ApiErrorDetail::parse(
            r#"{"status":400,"title":"One or more validation errors occurred.","traceId":"00-aa-bb-01",
                "errors":{"Transaction.Amount":["too small","not a number"]}}"#,
        );
        let text = describe(&ClientError::Api { status: 400, path: "/evaluate".into(), detail: Box::new(detail) });
        assert!(text.contains("field Transaction.Amount: too small"), "{text}");
        assert!(text.contains("field Transaction.Amount: not a number"), "{text}");
        assert!(text.contains("trace id: 00-aa-bb-01"), "{text}");
        let unknown =
            ClientError::OutcomeUnknown { operation: "refund", order_id: "o-1".into(), detail: "reset".into() };
        assert!(describe(&unknown).contains("orders get o-1"));
    }
}
