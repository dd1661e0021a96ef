//! The WebDriver harness shared by the end-to-end tests (`tests/tests/e2e*.rs`,
//! `checkout_in_browser.rs`): starting tauri-driver (or WebKitWebDriver) on a port, opening a
//! session on the built app, polling the window, screenshots, and asking the Demo sandbox
//! directly over HTTP. Each test keeps its own WebDriver port so they can never collide.
//!
//! The app under test is `target/debug/flexdesk-app`, or the binary named by the
//! `FLEXDESK_APP_BIN` environment variable (e.g. an installed `/usr/bin/flexdesk-app`).

use fantoccini::{Client, ClientBuilder, Locator};
use flexdesk_secrets::{account_key, KeychainStore, SecretStore};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A WebDriver server (tauri-driver or WebKitWebDriver) in a process group of its own, with
/// everything it started: the app under test and the app's WebKit processes. Dropping it stops
/// the server with SIGTERM (tauri-driver only stops its WebKitWebDriver on TERM/INT/QUIT, never
/// on SIGKILL), then SIGKILLs whatever is left in the group, so no app outlives its test.
pub struct Driver(Child);

impl Driver {
    /// Spawns `cmd` (which is to listen on `port`) in a new process group and waits until the
    /// port accepts connections. `what` names the program in failure messages.
    pub fn start(cmd: &mut Command, port: u16, what: &str) -> Driver {
        use std::os::unix::process::CommandExt;
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} is busy (a stale {what}?)");
        cmd.process_group(0);
        let driver = Driver(
            cmd.spawn().unwrap_or_else(|e| panic!("{what} could not start ({e}): scripts/setup.sh installs it")),
        );
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(15), "{what} did not open port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
        // The group's id is the server's pid (process_group(0)); "-PID" names the group.
        let group = format!("-{pid}");
        let _ = Command::new("kill").args(["-TERM", "--", &group]).stderr(Stdio::null()).status();
        let start = Instant::now();
        while group_alive(&group) && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
    }
}

/// Whether any process is left in the process group `group` ("-PID").
fn group_alive(group: &str) -> bool {
    Command::new("kill").args(["-0", "--", group]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The desktop app under test: `$FLEXDESK_APP_BIN` when set, else `target/debug/flexdesk-app`.
pub fn app_binary() -> PathBuf {
    std::env::var_os("FLEXDESK_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/flexdesk-app"))
}

/// `artifacts/e2e/`, created if missing: where screenshots go.
pub fn artifacts() -> PathBuf {
    let dir = repo_root().join("artifacts/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts tauri-driver on `port` (and `port + 1` for WebKitWebDriver) with `envs` for the
/// app, and opens a session on the app.
pub async fn launch(port: u16, envs: &[(&str, &str)]) -> (Driver, Client) {
    launch_app(port, &app_binary(), envs).await
}

/// [`launch`] for a given app binary (e.g. the one a `.deb` installed).
pub async fn launch_app(port: u16, app: &Path, envs: &[(&str, &str)]) -> (Driver, Client) {
    assert!(std::env::var_os("DISPLAY").is_some(), "no DISPLAY: run under xvfb-run (scripts/test.sh does)");
    let app = app.canonicalize().unwrap_or_else(|e| {
        panic!("app binary {} missing ({e}): cargo build -p flexdesk-app, or set FLEXDESK_APP_BIN", app.display())
    });
    assert!(TcpStream::connect(("127.0.0.1", port + 1)).is_err(), "port {} is busy (a stale tauri-driver?)", port + 1);
    let mut cmd = Command::new("tauri-driver");
    cmd.args(["--port", &port.to_string(), "--native-port", &(port + 1).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let driver = Driver::start(&mut cmd, port, "tauri-driver");
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

/// The app launched on fresh data and export folders (kept for as long as this lives).
pub struct DemoApp {
    pub client: Client,
    pub data_dir: tempfile::TempDir,
    pub export_dir: tempfile::TempDir,
    pub driver: Driver,
}

/// [`launch`] on a fresh data directory (so on the Demo account) and a fresh export folder,
/// with the Demo's live traffic off.
pub async fn launch_demo(port: u16) -> DemoApp {
    let data_dir = tempfile::tempdir().unwrap();
    let export_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let exports = export_dir.path().to_string_lossy().to_string();
    let (driver, client) =
        launch(port, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0"), ("FLEXDESK_EXPORT_DIR", &exports)])
            .await;
    DemoApp { client, data_dir, export_dir, driver }
}

/// An attribute of the first element matching `css`; None when either is missing.
/// The FlexFactor id of the order whose row is at the top of the Orders grid's view (just under
/// its header), while the grid is scrolled down; `None` at the very top or before rows show.
pub async fn top_of_view(client: &Client) -> Option<String> {
    let found = client
        .execute(
            "const g = document.getElementById('orders-table'); const r = g.getBoundingClientRect();
             const row = document.elementFromPoint(r.left + r.width / 2, r.top + 32 + 15)?.closest('.order-row');
             return row && g.scrollTop > 0 ? row.dataset.orderId : null;",
            vec![],
        )
        .await
        .ok()?;
    found.as_str().map(str::to_string)
}

pub async fn attr(client: &Client, css: &str, name: &str) -> Option<String> {
    let el = client.find(Locator::Css(css)).await.ok()?;
    el.attr(name).await.ok().flatten()
}

/// How many elements match `css` right now.
pub async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
}

/// Polls `check` until it returns Some; panics naming `what` once `timeout` passes.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    match wait_for_opt(timeout, check).await {
        Some(v) => v,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Like `wait_for`, but None on timeout (the caller explains the failure).
pub async fn wait_for_opt<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `script` in the page until it returns an array (null: not ready yet) and returns it;
/// panics naming `what` once `timeout` passes.
pub async fn wait_for_js_list(client: &Client, what: &str, timeout: Duration, script: &str) -> Vec<serde_json::Value> {
    wait_for(what, timeout, || async { client.execute(script, vec![]).await.ok()?.as_array().cloned() }).await
}

/// What the status bar says about the sync, read in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncShown {
    /// `#sync-phase`'s `data-phase`: starting, backfilling, syncing, idle or error.
    pub phase: String,
    /// The mirror's row count.
    pub rows: u64,
    /// A sync has finished at least once.
    pub synced: bool,
}

/// The status bar's sync phase, row count and last sync, read in a single script: read one
/// by one, they can come from two different status updates (a phase from before the first
/// status, a row count from after it).
pub async fn sync_shown(client: &Client) -> Option<SyncShown> {
    let found = client
        .execute(
            "const phase = document.getElementById('sync-phase')?.dataset.phase;
             const rows = document.getElementById('status-total-rows')?.dataset.count;
             const last = document.getElementById('status-last-sync')?.title;
             return phase && rows !== undefined ? [phase, Number(rows), last !== undefined && last !== 'Never synced'] : null;",
            vec![],
        )
        .await
        .ok()?;
    let [phase, rows, synced] = found.as_array()?.as_slice() else { return None };
    Some(SyncShown { phase: phase.as_str()?.to_string(), rows: rows.as_u64()?, synced: synced.as_bool()? })
}

/// Waits until a sync has finished and the phase is idle with rows in the mirror; the
/// mirror's row count.
pub async fn wait_for_backfill(client: &Client, timeout: Duration) -> u64 {
    wait_for("the Demo backfill to finish", timeout, || async {
        let shown = sync_shown(client).await?;
        (shown.phase == "idle" && shown.synced && shown.rows > 0).then_some(shown.rows)
    })
    .await
}

/// A screenshot into `artifacts/e2e/name`, taken after a short settle (one right after a
/// change can be stale); the file's path.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    screenshot_settled(client, name, Duration::from_millis(600)).await
}

/// A screenshot of the whole X display (ImageMagick's `import`) into `artifacts/e2e/name`:
/// what the user sees, without asking WebKit. WebKitGTK's WebDriver snapshot never answers
/// when the app runs without a session bus and with compositing off (the window itself
/// paints normally), so tests of that situation use this.
pub async fn screenshot_display(name: &str) -> PathBuf {
    tokio::time::sleep(Duration::from_millis(600)).await;
    let path = artifacts().join(name);
    let status = tokio::process::Command::new("import").args(["-window", "root"]).arg(&path).status().await.unwrap();
    assert!(status.success(), "import -window root failed: {status}");
    path
}

/// `screenshot` with a chosen settle time.
pub async fn screenshot_settled(client: &Client, name: &str, settle: Duration) -> PathBuf {
    tokio::time::sleep(settle).await;
    // With compositing off, WebKitGTK's snapshot waits for the page's next paint, and a page
    // that changes nothing (an error screen) may never paint again. One forced paint could
    // happen before the snapshot is asked for (it did, once in a few hundred), so the page
    // repaints every 50 ms for the next 3 s: the snapshot always has a paint to wait for.
    let _ = client
        .execute(
            "const s = document.documentElement.style; let n = 0;
             const t = setInterval(() => {
               s.outline = n++ % 2 ? '' : '1px solid transparent';
               if (n > 60) { clearInterval(t); s.outline = ''; }
             }, 50);",
            vec![],
        )
        .await;
    let png = match tokio::time::timeout(Duration::from_secs(60), client.screenshot()).await {
        Ok(png) => png.unwrap(),
        Err(_) => panic!("WebKit's snapshot for {name} did not answer within 60 s"),
    };
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    path
}

async fn scrolled_into_view(client: &Client, css: &str) -> fantoccini::elements::Element {
    let el = client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await.unwrap();
    let _ = client.execute("arguments[0].scrollIntoView({block: 'center'})", vec![serde_json::json!(el)]).await;
    el
}

/// Clicks the element matching `css` (waited for up to 20 s and scrolled into view); a failed
/// click leaves `artifacts/e2e/click-failed.png`.
pub async fn click(client: &Client, css: &str) {
    let el = scrolled_into_view(client, css).await;
    if let Err(e) = el.click().await {
        screenshot(client, "click-failed.png").await;
        panic!("clicking {css}: {e}");
    }
}

/// Replaces the text of the field matching `css` by typing `value`.
pub async fn fill(client: &Client, css: &str, value: &str) {
    let el = scrolled_into_view(client, css).await;
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

/// The Demo account's id and AppKey, read from the app's mirror like a support engineer would.
pub fn demo_account(data_dir: &Path) -> (String, String) {
    let conn = rusqlite::Connection::open(data_dir.join("mirror.sqlite3")).unwrap();
    conn.query_row("SELECT id, app_key FROM accounts WHERE environment = 'demo'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// The Demo sandbox, asked directly over HTTP with the Demo credentials from the keychain
/// (a fresh access token per request, so a long test never meets an expired one).
pub struct Sandbox {
    /// The API base URL, ending in `/v1`.
    pub base_url: String,
    pub app_key: String,
    app_secret: String,
    http: reqwest::Client,
}

impl Sandbox {
    /// The Demo sandbox of the app in the window: its base URL from the status bar, its
    /// credentials from the app's mirror and the keychain.
    pub async fn connect(client: &Client, data_dir: &Path) -> Sandbox {
        let base_url = attr(client, "#status-base-url", "title").await.expect("the status bar shows the API base URL");
        assert!(base_url.starts_with("http://127.0.0.1:"), "Demo base URL: {base_url}");
        let (account_id, app_key) = demo_account(data_dir);
        let secret = KeychainStore::new().get(&account_key(&account_id, "app-secret")).unwrap();
        Sandbox { base_url, app_key, app_secret: secret.expose().to_string(), http: reqwest::Client::new() }
    }

    async fn bearer(&self) -> String {
        crate::access_token(&self.http, &self.base_url, &self.app_key, &self.app_secret).await
    }

    /// `GET {base_url}{path_and_query}`: the HTTP status and the JSON body (Null if none).
    pub async fn get_with_status(&self, path_and_query: &str) -> (u16, serde_json::Value) {
        let bearer = self.bearer().await;
        let r = self.http.get(format!("{}{path_and_query}", self.base_url)).bearer_auth(bearer).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `GET {base_url}{path_and_query}`: the JSON body (an error's too).
    pub async fn get(&self, path_and_query: &str) -> serde_json::Value {
        let bearer = self.bearer().await;
        let r = self.http.get(format!("{}{path_and_query}", self.base_url)).bearer_auth(bearer).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// `POST {base_url}{path}` with a JSON body: the HTTP status.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> u16 {
        let bearer = self.bearer().await;
        let r =
            self.http.post(format!("{}{path}", self.base_url)).bearer_auth(bearer).json(&body).send().await.unwrap();
        r.status().as_u16()
    }

    /// `GET /v1/orders/{id}`.
    pub async fn order(&self, id: &str) -> serde_json::Value {
        self.get(&format!("/orders/{id}")).await
    }

    /// How many orders the sandbox holds with this numeric status (2 is Cancelled).
    pub async fn count_with_status(&self, status: i64) -> u64 {
        self.get(&format!("/orders?pageSize=1&status={status}")).await["totalItemCount"].as_u64().unwrap()
    }

    /// Sets the sandbox's fault switches (`POST /sandbox/faults`, sandbox only).
    pub async fn set_faults(&self, faults: serde_json::Value) {
        let root = self.base_url.trim_end_matches("/v1");
        let resp = self
            .http
            .post(format!("{root}/sandbox/faults"))
            .bearer_auth(self.bearer().await)
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "setting faults: HTTP {}", resp.status());
    }
}
