//! `flexdesk api …` end to end: the built `flexdesk` binary against a sandbox started in
//! the test, with the AppSecret passed by environment variable name (`--app-secret-env`).
//!
//! The binary is not a dependency of this package (Cargo cannot depend on a bin-only
//! package), so the test runs `<target>/debug/flexdesk`, where `<target>` is
//! `$CARGO_TARGET_DIR` or the workspace's `target/`. `scripts/test.sh` builds it first
//! (`cargo run -p flexdesk-cli -- gen-bindings --check`, then `cargo nextest run
//! --workspace`, which builds every workspace binary). Running this file alone: first
//! `cargo build -p flexdesk-cli`.

use std::process::Stdio;

use chrono::{TimeZone, Utc};
use flexfactor_client::{ClientConfig, FlexFactorClient};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use flexfactor_wire::{Cents, CreditCard, TokenizePaymentMethod, TokenizeRequest};
use tokio::io::AsyncWriteExt;

const KEY: &str = "cli-app-key";
const SECRET: &str = "cli-app-secret-never-printed-0123456789";
const SECRET_VAR: &str = "FLEXDESK_TEST_APP_SECRET";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

async fn flexdesk(sb: &Sandbox, secret: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(flexdesk_tests::cli_binary());
    command
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["api", "--base-url", &sb.base_url(), "--app-key", KEY, "--app-secret-env", SECRET_VAR])
        .args(args)
        .env(SECRET_VAR, secret)
        .env("FLEXDESK_LOG", "error")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "the AppSecret was printed");
    run
}

async fn sandbox() -> Sandbox {
    let anchor = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new(KEY, SECRET));
    config.order_count = 45;
    config.clock_start = Some(anchor);
    Sandbox::start(config).await.unwrap()
}

async fn vault_token(sb: &Sandbox, number: &str) -> String {
    let client = FlexFactorClient::new(ClientConfig::new(sb.base_url(), KEY, SECRET)).unwrap();
    let card = TokenizeRequest {
        payment_method: TokenizePaymentMethod {
            email: None,
            sense_key: None,
            credit_card: CreditCard {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                number: number.into(),
                verification_value: "123".into(),
                month: Some("09".into()),
                year: Some("2030".into()),
            },
        },
    };
    client.tokenize(sb.mid(), sb.tokenization_key(), &card).await.unwrap().token().unwrap().to_string()
}

fn cit_body(sb: &Sandbox, token: &str, order_id: &str) -> String {
    serde_json::json!({
        "isDeclined": true, "isMIT": false, "mid": sb.mid(), "orderId": order_id,
        "transaction": {"id": "psp-1", "amount": 4999, "currency": "USD", "timestampUtc": "2026-03-01T11:59:00Z"},
        "payer": {"email": "ada@example.test"},
        "billingInformation": {"firstName": "Ada", "lastName": "Lovelace", "countryCode": "US"},
        "paymentMethod": {"cardNumber": token, "token": true}
    })
    .to_string()
}

#[tokio::test]
async fn orders_list_prints_json_that_parses_with_every_order() {
    let sb = sandbox().await;
    let page = flexdesk(&sb, SECRET, &["orders", "list", "--page-size", "10", "--page-number", "2"], None).await;
    assert!(page.ok, "{}", page.stderr);
    let json = page.json();
    assert_eq!(json["orders"].as_array().unwrap().len(), 10);
    assert_eq!((json["pageNumber"].as_u64(), json["totalItemCount"].as_u64()), (Some(2), Some(45)));

    let all = flexdesk(&sb, SECRET, &["orders", "list", "--all", "--page-size", "20"], None).await;
    assert!(all.ok, "{}", all.stderr);
    assert_eq!(all.json().as_array().unwrap().len(), sb.order_count());

    let completed = flexdesk(&sb, SECRET, &["orders", "list", "--all", "--status", "7", "--status", "6"], None).await;
    let rows = completed.json();
    let expected = sb.orders_snapshot().iter().filter(|o| matches!(o.status, Some(6 | 7))).count();
    assert_eq!(rows.as_array().unwrap().len(), expected);

    let id = sb.orders_snapshot()[0].id.clone();
    let one = flexdesk(&sb, SECRET, &["orders", "get", &id], None).await;
    assert_eq!(one.json()["id"], id.as_str());
    let missing = flexdesk(&sb, SECRET, &["orders", "get", "no-such-order"], None).await;
    assert!(!missing.ok);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
}

#[tokio::test]
async fn refund_over_the_refundable_amount_exits_non_zero_with_code_2001() {
    let sb = sandbox().await;
    let token = vault_token(&sb, "4000002760003184").await;
    let evaluated = flexdesk(&sb, SECRET, &["evaluate", "-"], Some(&cit_body(&sb, &token, "CLI-1"))).await;
    assert!(evaluated.ok, "{}", evaluated.stderr);
    let answer = evaluated.json();
    assert_eq!(answer["response"]["status"], "APPROVED");
    assert_eq!(answer["attempts"], 1);
    let id = answer["response"]["orderSessionKey"].as_str().unwrap().to_string();

    let too_much = flexdesk(&sb, SECRET, &["refund", &id, "--amount", "50.00"], None).await;
    assert!(!too_much.ok, "{}", too_much.stdout);
    assert!(too_much.stderr.contains("code: 2001"), "{}", too_much.stderr);
    assert!(too_much.stderr.to_lowercase().contains("exceed"), "{}", too_much.stderr);
    assert!(sb.refunds(&id).is_empty());

    let partial = flexdesk(&sb, SECRET, &["refund", &id, "--amount", "19.99", "--message", "damaged"], None).await;
    assert!(partial.ok, "{}", partial.stderr);
    assert_eq!(partial.json()["status"], "SUCCESS");
    let ledger = sb.refunds(&id);
    assert_eq!((ledger.len(), ledger[0].amount, ledger[0].message.as_deref()), (1, Cents(1999), Some("damaged")));

    let bad_amount = flexdesk(&sb, SECRET, &["refund", &id, "--amount", "1.999"], None).await;
    assert!(!bad_amount.ok && bad_amount.stderr.contains("two decimals"), "{}", bad_amount.stderr);
    assert_eq!(sb.refunds(&id).len(), 1);

    let cancel = flexdesk(&sb, SECRET, &["cancel", &id], None).await;
    assert!(!cancel.ok);
    assert!(cancel.stderr.contains("field Status:") && cancel.stderr.contains("trace id: 00-"), "{}", cancel.stderr);
    let outcome = flexdesk(&sb, SECRET, &["outcome", &id], None).await;
    assert_eq!(outcome.json()["status"], "APPROVED");
}

#[tokio::test]
async fn bad_credentials_and_invalid_bodies_fail_readably() {
    let sb = sandbox().await;
    let good = flexdesk(&sb, SECRET, &["token"], None).await;
    assert!(good.ok, "{}", good.stderr);
    assert_eq!(good.json()["authenticated"], true);
    let bad = flexdesk(&sb, "wrong-secret", &["token"], None).await;
    assert!(!bad.ok);
    assert!(bad.stderr.contains("rejected the API credentials"), "{}", bad.stderr);
    assert!(bad.stderr.contains("field AppKey:"), "{}", bad.stderr);

    let token = vault_token(&sb, "4000002760003184").await;
    let mut body: serde_json::Value = serde_json::from_str(&cit_body(&sb, &token, "CLI-V")).unwrap();
    body["transaction"]["amount"] = serde_json::json!(5);
    let invalid = flexdesk(&sb, SECRET, &["evaluate", "-"], Some(&body.to_string())).await;
    assert!(!invalid.ok);
    assert!(invalid.stderr.contains("field Transaction.Amount:"), "{}", invalid.stderr);
    assert!(invalid.stderr.contains("trace id: 00-"), "{}", invalid.stderr);
    let garbage = flexdesk(&sb, SECRET, &["evaluate", "-"], Some("{not json")).await;
    assert!(!garbage.ok && garbage.stderr.contains("not valid JSON"), "{}", garbage.stderr);
    assert!(sb.evaluations().is_empty());
}

#[tokio::test]
async fn an_account_configured_in_the_app_supplies_base_url_app_key_and_mid() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let mirror = flexdesk_mirror::Mirror::open(&dir.path().join("mirror.sqlite3")).unwrap();
    mirror
        .insert_account(&flexdesk_tests::sandbox_account("acct-cli", "CLI sandbox", &sb.base_url(), sb.mid(), KEY))
        .unwrap();
    drop(mirror);
    let body = r#"{"payment_method":{"credit_card":{"first_name":"Ada","last_name":"Lovelace",
        "number":"4000002760003184","verification_value":"123","month":"09","year":"2030"}}}"#;
    let mut child = tokio::process::Command::new(flexdesk_tests::cli_binary())
        .arg("--data-dir")
        .arg(dir.path())
        // The secret comes from the environment here, so the OS keychain is not needed.
        .args(["api", "--account", "acct-cli", "--app-secret-env", SECRET_VAR])
        .args(["tokenize", "--environment", sb.tokenization_key(), "-"])
        .env(SECRET_VAR, SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["transaction"]["payment_method"]["last_four_digits"], "3184");

    let unknown = tokio::process::Command::new(flexdesk_tests::cli_binary())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["api", "--account", "nope", "--app-secret-env", SECRET_VAR, "token"])
        .env(SECRET_VAR, SECRET)
        .output()
        .await
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account \"nope\""));
}
