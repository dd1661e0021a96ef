//! `flexdesk batch validate | build | upload | status | sftp` end to end: the built `flexdesk`
//! binary (`cargo build -p flexdesk-cli`) on a data directory whose active account is a
//! merchant on loopback (a sandbox and its SFTP endpoint). Its SFTP settings are set, tested
//! and the host key pinned with `flexdesk batch sftp …`. A CSV with bad rows is refused
//! with line, field and reason and nothing is uploaded; the fixed file builds, uploads and
//! its outcomes show in `status`, each an order at the sandbox.
//!
//! The CLI keeps secrets in the OS keychain, so this runs in scripts/test.sh's keychain
//! phase (dbus-run-session + gnome-keyring); ignored by a plain `cargo test`.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::KeychainStore;
use flexdesk_tests::merchant::{Merchant, KEY_PASSPHRASE};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn flexdesk(data_dir: &Path, args: &[&str]) -> Run {
    flexdesk_with_stdin(data_dir, args, "").await
}

/// `flexdesk batch <args>` with `stdin` written to its standard input.
async fn flexdesk_with_stdin(data_dir: &Path, args: &[&str], stdin: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(flexdesk_tests::cli_binary())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("batch")
        .args(args)
        .env("FLEXDESK_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(KEY_PASSPHRASE) && !run.stderr.contains(KEY_PASSPHRASE), "the passphrase was printed");
    run
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

/// `csv` with one field of row `index` (0-based, after the header) replaced.
fn with_field(csv: &str, index: usize, column: usize, value: &str) -> String {
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[index + 1].split(',').map(str::to_string).collect();
    fields[column] = value.to_string();
    lines[index + 1] = fields.join(",");
    lines.join("\n") + "\n"
}

#[tokio::test]
#[ignore = "needs a Secret Service and the built CLI: run scripts/test.sh"]
async fn the_cli_refuses_bad_rows_then_builds_uploads_and_shows_the_outcomes() {
    let merchant = Merchant::start(Duration::from_millis(200)).await;
    let data = tempfile::tempdir().unwrap();
    // The account, through the app core the CLI opens (same keychain).
    {
        let mut config = CoreConfig::new(data.path().to_path_buf(), Arc::new(KeychainStore::new()));
        config.background_sync = false;
        let app = AppCore::open(config).unwrap();
        app.add_account(merchant.account()).await.unwrap();
        app.shutdown().await;
    }
    // Its SFTP settings, through the CLI: set (passphrase on stdin), test, pin, test again.
    let port = merchant.sftp.local_addr().port().to_string();
    let key = merchant.key_path().display().to_string();
    let set_args = [
        "sftp",
        "set",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--user",
        "merchant",
        "--key",
        &key,
        "--inbound-dir",
        merchant.sftp.inbound_dir(),
        "--outbound-dir",
        merchant.sftp.outbound_dir(),
        "--passphrase-stdin",
    ];
    let run = flexdesk_with_stdin(data.path(), &set_args, &format!("{KEY_PASSPHRASE}\n")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let shown = &json_lines(&flexdesk(data.path(), &["sftp", "show"]).await.stdout)[0];
    assert_eq!((shown["configured"].as_bool(), shown["hasPassphrase"].as_bool()), (Some(true), Some(true)));
    assert_eq!(shown["pinnedFingerprint"], serde_json::Value::Null);
    let run = flexdesk(data.path(), &["sftp", "test"]).await;
    assert_eq!(run.code, Some(1), "an unpinned host key is not ok yet: {}", run.stdout);
    let test = &json_lines(&run.stdout)[0];
    assert_eq!(test["outcome"], "host_key_unpinned");
    let host_key = test["hostKey"].as_str().unwrap().to_string();
    let run = flexdesk(data.path(), &["sftp", "pin", &host_key]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(json_lines(&run.stdout)[0]["pinnedFingerprint"], test["hostKeyFingerprint"]);
    let run = flexdesk(data.path(), &["sftp", "test"]).await;
    assert_eq!((run.code, json_lines(&run.stdout)[0]["outcome"].as_str()), (Some(0), Some("ok")), "{}", run.stderr);
    let server = merchant.sftp.root().to_path_buf();
    let inbound_empty = || std::fs::read_dir(server.join("inbound")).unwrap().next().is_none();

    // Columns: invoice_id,psp_txn_id,amount_cents,currency,failed_at,email,card_token.
    let good = merchant.rebills_csv("CLI", 8).await;
    let bad = with_field(&good, 1, 2, "0");
    let bad = with_field(&bad, 3, 5, "cli3.example.com");
    let bad = with_field(&bad, 5, 6, "");
    let files = tempfile::tempdir().unwrap();
    let bad_path = files.path().join("rebills-bad.csv");
    let good_path = files.path().join("rebills.csv");
    std::fs::write(&bad_path, &bad).unwrap();
    std::fs::write(&good_path, &good).unwrap();
    let bad_arg = bad_path.to_str().unwrap();
    let good_arg = good_path.to_str().unwrap();

    // validate: every bad row with its line, field and reason; exit 1.
    let run = flexdesk(data.path(), &["validate", bad_arg]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for expected in [
        "line 3: transaction.amount: ",
        "(amount_too_small)",
        "line 5: payer.email: ",
        "(bad_email)",
        "line 7: paymentMethod.cardNumber: the card token (from /tokenize) is missing (missing_token)",
    ] {
        assert!(run.stderr.contains(expected), "missing {expected:?} in:\n{}", run.stderr);
    }
    let summary = &json_lines(&run.stdout)[0];
    assert_eq!((summary["rows"].as_u64(), summary["invalid"].as_u64()), (Some(8), Some(3)), "{summary}");
    // build and upload refuse it too; nothing reaches the server or the ledger.
    let out_dir = files.path().join("out");
    let run = flexdesk(data.path(), &["build", bad_arg, "--out", out_dir.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!out_dir.exists());
    let run = flexdesk(data.path(), &["upload", bad_arg]).await;
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("nothing was uploaded"), "{}", run.stderr);
    assert!(inbound_empty(), "a file with bad rows reached the server");
    let run = flexdesk(data.path(), &["status"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.trim().is_empty(), "a batch was recorded: {}", run.stdout);

    // The fixed file: valid, built into the documented JSON shape, uploaded, answered.
    let run = flexdesk(data.path(), &["validate", good_arg]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(json_lines(&run.stdout)[0]["valid"].as_u64(), Some(8));
    let run = flexdesk(data.path(), &["build", good_arg, "--out", out_dir.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // The validation summary, then the path of each file written.
    let built: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(built.len(), 1, "{}", run.stdout);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(built[0]).unwrap()).unwrap();
    assert_eq!(file.to_string().matches("\"sequenceNumber\"").count(), 8, "{file}");
    assert!(file.to_string().contains(merchant.sandbox.mid()), "the header carries the MID: {file}");
    assert!(inbound_empty(), "build uploaded something");

    let run = flexdesk(data.path(), &["upload", good_arg]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines = json_lines(&run.stdout); // the validation summary, then the answered batch
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let batch = &lines[1];
    assert_eq!(batch["status"], "answered", "{batch}");
    assert_eq!(batch["answeredRows"].as_u64(), Some(8));
    let id = batch["id"].as_str().unwrap().to_string();

    // status: the batch, then its rows, each an order at the sandbox (exactly once).
    let run = flexdesk(data.path(), &["status"]).await;
    let batches = json_lines(&run.stdout);
    assert_eq!(batches.len(), 1, "{}", run.stdout);
    assert_eq!((batches[0]["id"].as_str(), batches[0]["status"].as_str()), (Some(id.as_str()), Some("answered")));
    let run = flexdesk(data.path(), &["status", "--batch", &id]).await;
    let rows = json_lines(&run.stdout);
    assert_eq!(rows.len(), 8, "{}", run.stdout);
    for r in &rows {
        let order_id = r["orderId"].as_str().unwrap();
        assert!(r["status"].as_str().is_some_and(|s| s != "ERROR"), "{r}");
        let key = r["orderSessionKey"].as_str().unwrap_or_else(|| panic!("no order for {r}"));
        let order = merchant.sandbox.order(key).unwrap_or_else(|| panic!("the sandbox has no order {key}"));
        assert_eq!(order.external_order_id.as_deref(), Some(order_id));
        assert_eq!(merchant.orders_with_external_id(order_id), 1);
    }
    // Uploading the same file again is refused row by row (already submitted).
    let run = flexdesk(data.path(), &["upload", good_arg]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.matches("(already_submitted)").count(), 8, "{}", run.stderr);
}
