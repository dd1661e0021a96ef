//! End to end through the real window: the built app under Xvfb, driven over WebDriver
//! (tauri-driver + WebKitWebDriver). Run by `scripts/test.sh`; ignored by plain `cargo test`.
//! Screenshots go to `artifacts/e2e/`.

use fantoccini::{Client, ClientBuilder, Locator};
use flexdesk_secrets::{account_key, KeychainStore, SecretStore};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver stopped with SIGTERM (it only stops WebKitWebDriver on TERM/INT/QUIT).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn app_binary() -> PathBuf {
    std::env::var_os("FLEXDESK_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/flexdesk-app"))
}

fn artifacts() -> PathBuf {
    let dir = repo_root().join("artifacts/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts tauri-driver on `port` (and `port + 1` for WebKitWebDriver) with `envs` for the
/// app, and opens a session on the app.
async fn launch(port: u16, envs: &[(&str, &str)]) -> (Driver, Client) {
    assert!(std::env::var_os("DISPLAY").is_some(), "no DISPLAY: run under xvfb-run (scripts/test.sh does)");
    let app = app_binary().canonicalize().expect("app binary missing: build it with --features custom-protocol");
    for p in [port, port + 1] {
        assert!(TcpStream::connect(("127.0.0.1", p)).is_err(), "port {p} is busy (a stale tauri-driver?)");
    }
    let mut cmd = Command::new("tauri-driver");
    cmd.args(["--port", &port.to_string(), "--native-port", &(port + 1).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let driver = Driver(cmd.spawn().expect("tauri-driver not found: scripts/setup.sh installs it"));
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(15), "tauri-driver did not open port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), serde_json::json!("wry"));
    caps.insert("tauri:options".into(), serde_json::json!({ "application": app.to_string_lossy() }));
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    (driver, client)
}

async fn attr(client: &Client, css: &str, name: &str) -> Option<String> {
    let el = client.find(Locator::Css(css)).await.ok()?;
    el.attr(name).await.ok().flatten()
}

/// Polls `check` until it returns Some or `timeout` passes.
async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    tokio::time::sleep(Duration::from_millis(600)).await; // a screenshot right after a change can be stale
    let png = client.screenshot().await.unwrap();
    std::fs::write(artifacts().join(name), png).unwrap();
}

/// The Demo account's id, AppKey and MID, read from the app's mirror like a support engineer would.
fn demo_account(data_dir: &Path) -> (String, String) {
    let conn = rusqlite::Connection::open(data_dir.join("mirror.sqlite3")).unwrap();
    conn.query_row("SELECT id, app_key FROM accounts WHERE environment = 'demo'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// Asks the Demo sandbox itself (over HTTP, with the credentials from the keychain).
async fn sandbox_get(base_url: &str, key: &str, secret: &str, path_and_query: &str) -> serde_json::Value {
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base_url}/oauth2/token"))
        .json(&serde_json::json!({"AppKey": key, "AppSecret": secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["accessToken"].as_str().unwrap().to_string();
    http.get(format!("{base_url}{path_and_query}")).bearer_auth(bearer).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn demo_account_backfills_shows_every_order_and_finds_one_by_merchant_id() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    // No live traffic: the table's count is compared with the sandbox's at one moment.
    let (_driver, client) = launch(4444, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")]).await;

    // The first backfill runs with a progress bar, then the phase settles to idle.
    let total_rows: u64 = wait_for("the Demo backfill to finish", Duration::from_secs(180), || async {
        let phase = attr(&client, "#sync-phase", "data-phase").await?;
        let synced = attr(&client, "#status-last-sync", "title").await.is_some_and(|t| t != "Never synced");
        let rows: u64 = attr(&client, "#status-total-rows", "data-count").await?.parse().ok()?;
        (phase == "idle" && synced && rows > 0).then_some(rows)
    })
    .await;
    let relay = wait_for("the Demo relay to connect", Duration::from_secs(30), || async {
        attr(&client, "#relay-status", "data-connected").await.filter(|c| c == "true")
    })
    .await;
    assert_eq!(relay, "true");
    screenshot(&client, "orders.png").await;

    // The sandbox's own count, asked over HTTP with the Demo credentials from the keychain.
    let base_url = attr(&client, "#status-base-url", "title").await.expect("the status bar shows the API base URL");
    assert!(base_url.starts_with("http://127.0.0.1:"), "Demo base URL: {base_url}");
    let (account_id, app_key) = demo_account(data_dir.path());
    let secret = KeychainStore::new().get(&account_key(&account_id, "app-secret")).unwrap();
    let first_page = sandbox_get(&base_url, &app_key, secret.expose(), "/orders?pageSize=1").await;
    let sandbox_total = first_page["totalItemCount"].as_u64().unwrap();
    assert_eq!(total_rows, sandbox_total, "mirror rows differ from the sandbox's order count");
    let table_count: u64 = wait_for("the table's row count", Duration::from_secs(10), || async {
        attr(&client, "#row-count", "data-count").await?.parse().ok()
    })
    .await;
    assert_eq!(table_count, sandbox_total, "the table does not show every order");

    // Search a known merchant order id (one from the middle of the history).
    let middle = sandbox_get(
        &base_url,
        &app_key,
        secret.expose(),
        &format!("/orders?pageSize=1&pageNumber={}", sandbox_total / 2),
    )
    .await;
    let merchant_id = middle["orders"][0]["externalOrderId"].as_str().unwrap().to_string();
    let search = client.find(Locator::Css("#search-input")).await.unwrap();
    search.send_keys(&merchant_id).await.unwrap();
    wait_for("exactly the searched order", Duration::from_secs(10), || async {
        let count = attr(&client, "#row-count", "data-count").await?;
        let rows = client.find_all(Locator::Css("#orders-table .order-row")).await.ok()?;
        if count != "1" || rows.len() != 1 {
            return None;
        }
        let shown = rows[0].attr("data-merchant-order-id").await.ok().flatten()?;
        (shown == merchant_id).then_some(())
    })
    .await;
    screenshot(&client, "search.png").await;

    // A wrong AppSecret on a custom account pointed at the sandbox: a clear rejection.
    client.find(Locator::Css("#open-accounts")).await.unwrap().click().await.unwrap();
    let fill = |css: &'static str, value: String| {
        let client = client.clone();
        async move {
            let el = client.wait().for_element(Locator::Css(css)).await.unwrap();
            el.clear().await.unwrap();
            el.send_keys(&value).await.unwrap();
        }
    };
    let env = client.wait().for_element(Locator::Css("#acct-env")).await.unwrap();
    env.select_by_value("custom").await.unwrap();
    fill("#acct-name", "Wrong secret".into()).await;
    fill("#acct-base-url", base_url.clone()).await;
    fill("#acct-mid", "00000000-0000-4000-8000-000000000000".into()).await;
    fill("#acct-app-key", app_key.clone()).await;
    fill("#acct-app-secret", "definitely-not-the-secret".into()).await;
    client.find(Locator::Css("#acct-submit")).await.unwrap().click().await.unwrap();
    let code = wait_for("the credentials error", Duration::from_secs(20), || async {
        attr(&client, "#acct-error", "data-code").await
    })
    .await;
    assert_eq!(code, "credentials_rejected");
    let text = client.find(Locator::Css("#acct-error")).await.unwrap().text().await.unwrap();
    assert!(text.contains("Credentials rejected"), "error text: {text}");
    screenshot(&client, "credentials-rejected.png").await;
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver and the built app: run scripts/test.sh"]
async fn with_no_usable_keychain_the_app_says_so_and_stores_nothing() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let (_driver, client) = launch(
        4454,
        &[("FLEXDESK_DATA_DIR", &dir), ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/flexdesk-bus")],
    )
    .await;
    let code = wait_for("the setup error", Duration::from_secs(30), || async {
        attr(&client, "#setup-error", "data-code").await
    })
    .await;
    assert_eq!(code, "keychain_unavailable");
    let text = client.find(Locator::Css("#setup-error")).await.unwrap().text().await.unwrap();
    assert!(text.to_lowercase().contains("keychain"), "message: {text}");
    screenshot(&client, "no-keychain.png").await;
    client.close().await.unwrap();

    let conn = rusqlite::Connection::open(data_dir.path().join("mirror.sqlite3")).unwrap();
    let accounts: i64 = conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts, 0, "an account was saved although its secret could not be");
}
