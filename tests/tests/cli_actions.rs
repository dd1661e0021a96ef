//! `flexdesk refund` and `flexdesk cancel`: the built binary runs the money-moving protocol
//! of the desktop app's dialogs through the same app core (outbox, re-read, audit) against a
//! sandbox merchant on loopback. Running the same command again with the printed intent never
//! refunds twice.
//!
//! The CLI keeps secrets in the OS keychain, so this runs in scripts/test.sh's keychain
//! phase (dbus-run-session + gnome-keyring); ignored by a plain `cargo test`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use flexdesk_core::dto::{OrderQuery, OrderStateDto};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::KeychainStore;
use flexdesk_tests::merchant::Merchant;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn flexdesk(data_dir: &Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(flexdesk_tests::cli_binary())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("FLEXDESK_LOG", "error")
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn first_row(app: &AppCore, state: OrderStateDto, mit: Option<bool>) -> flexdesk_core::dto::OrderRow {
    let page =
        app.list_orders(&OrderQuery { state: Some(state), is_mit: mit, limit: 50, ..Default::default() }).unwrap();
    page.rows.into_iter().find(|r| r.amount_cents > 200).expect("a matching order")
}

#[tokio::test]
#[ignore = "needs a Secret Service and the built CLI: run scripts/test.sh"]
async fn the_cli_refunds_and_cancels_through_the_app_core_and_never_refunds_twice() {
    let merchant = Merchant::start(Duration::from_millis(200)).await;
    let data = tempfile::tempdir().unwrap();
    let (approved, pending) = {
        let mut config = CoreConfig::new(data.path().to_path_buf(), Arc::new(KeychainStore::new()));
        config.background_sync = false;
        let app = AppCore::open(config).unwrap();
        app.add_account(merchant.account()).await.unwrap();
        app.sync_once().await.unwrap();
        let picked =
            (first_row(&app, OrderStateDto::Approved, None), first_row(&app, OrderStateDto::Pending, Some(true)));
        app.shutdown().await;
        picked
    };

    let key = approved.order_session_key.as_str();
    let run = flexdesk(data.path(), &["refund", key, "--amount", "1.00", "--reason", "customer asked"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let outcome: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(outcome["status"], "confirmed", "{outcome}");
    let intent = outcome["intentKey"].as_str().unwrap().to_string();
    assert_eq!(merchant.sandbox.refunds(key).len(), 1);
    // The same intent again: settled from the outbox, nothing sent.
    let again =
        flexdesk(data.path(), &["refund", key, "--amount", "1.00", "--reason", "customer asked", "--intent", &intent])
            .await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(merchant.sandbox.refunds(key).len(), 1, "refunded twice");

    // Refused before anything is sent, with the reason.
    let pending_key = pending.order_session_key.as_str();
    let refused = flexdesk(data.path(), &["refund", pending_key, "--amount", "1.00", "--reason", "x"]).await;
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("only approved orders"), "{}", refused.stderr);
    assert!(merchant.sandbox.refunds(pending_key).is_empty());
    let bad = flexdesk(data.path(), &["refund", key, "--amount", "1.005", "--reason", "x"]).await;
    assert_eq!(bad.code, Some(1), "{}", bad.stdout);

    // A pending rebill cancelled; the audit log has both actions.
    let run = flexdesk(data.path(), &["cancel", pending_key, "--reason", "customer left"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let outcome: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(outcome["status"], "confirmed", "{outcome}");
    let mut config = CoreConfig::new(data.path().to_path_buf(), Arc::new(KeychainStore::new()));
    config.background_sync = false;
    let app = AppCore::open(config).unwrap();
    app.start().await.unwrap();
    let newest = app.list_orders(&OrderQuery { limit: 3, ..Default::default() }).unwrap().rows;
    let kinds: Vec<String> = app.audit_log(100, 0).unwrap().into_iter().map(|e| e.action).collect();
    assert!(kinds.iter().any(|k| k.contains("refund")) && kinds.iter().any(|k| k.contains("cancel")), "{kinds:?}");
    app.shutdown().await;

    // The mirror's orders page by page; a limit past 1000 is refused, not cut short quietly.
    let page = flexdesk(data.path(), &["orders", "--limit", "2", "--offset", "1"]).await;
    assert_eq!(page.code, Some(0), "{}", page.stderr);
    let keys: Vec<String> = page
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["orderSessionKey"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, [newest[1].order_session_key.clone(), newest[2].order_session_key.clone()]);
    assert!(page.stderr.contains("rows 2 to 3"), "{}", page.stderr);
    let refused = flexdesk(data.path(), &["orders", "--limit", "5000"]).await;
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("--offset"), "{}", refused.stderr);
}
