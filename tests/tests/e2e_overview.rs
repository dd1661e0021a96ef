//! End to end, the manager's scenario through the real window (Xvfb + tauri-driver +
//! WebKitWebDriver): open the Overview, change the range, click a chart bar, land on the
//! orders list showing exactly the bar's orders. Also takes the Overview screenshots in the
//! light and dark themes (artifacts/e2e/; copied to docs/screenshots/ when
//! FLEXDESK_UPDATE_SCREENSHOTS is set).
//! WebDriver ports 4464/4465 (other e2e files use others).

use chrono::{Duration as Days, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpStream;
use std::path::PathBuf;
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

async fn launch(port: u16, envs: &[(&str, &str)]) -> (Driver, Client) {
    assert!(std::env::var_os("DISPLAY").is_some(), "no DISPLAY: run under xvfb-run (scripts/test.sh does)");
    let app = app_binary().canonicalize().expect("app binary missing: cargo build -p flexdesk-app");
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

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    tokio::time::sleep(Duration::from_millis(800)).await; // a screenshot right after a change can be stale
    let png = client.screenshot().await.unwrap();
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    path
}

/// Waits until every chart card has drawn the range starting on `from_day`.
async fn charts_drawn_for(client: &Client, from_day: &str) {
    wait_for(&format!("the charts for the range from {from_day}"), Duration::from_secs(60), || async {
        let cards = client.find_all(Locator::Css("figure[id^='chart-']")).await.ok()?;
        if cards.len() < 8 {
            return None;
        }
        for card in cards {
            let drawn = card.attr("data-rendered-range").await.ok().flatten()?;
            if !drawn.contains(from_day) {
                return None;
            }
        }
        Some(())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn manager_changes_the_range_clicks_a_bar_and_sees_exactly_its_orders() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let (_driver, client) = launch(4464, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")]).await;

    // The Demo backfill finishes first (the Overview reads the local mirror).
    wait_for("the Demo backfill to finish", Duration::from_secs(180), || async {
        let phase = attr(&client, "#sync-phase", "data-phase").await?;
        let rows: u64 = attr(&client, "#status-total-rows", "data-count").await?.parse().ok()?;
        (phase == "idle" && rows > 0).then_some(rows)
    })
    .await;

    // The manager opens the Overview: KPIs and every chart for the last 90 days.
    client.find(Locator::Css("#nav-overview")).await.unwrap().click().await.unwrap();
    let today = Utc::now().date_naive();
    charts_drawn_for(&client, &(today - Days::days(89)).to_string()).await;
    let recovered_90: u64 = wait_for("the Recovered KPI", Duration::from_secs(30), || async {
        attr(&client, "#kpi-recovered", "data-count").await?.parse().ok()
    })
    .await;
    assert!(recovered_90 > 0, "the Demo history has rescued orders");

    // Screenshots in both themes (the toggle goes system → light → dark).
    client.find(Locator::Css("#theme-toggle")).await.unwrap().click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let light = screenshot(&client, "overview-light.png").await;
    client.find(Locator::Css("#theme-toggle")).await.unwrap().click().await.unwrap();
    wait_for("the charts to redraw dark", Duration::from_secs(30), || async {
        let svg = client.find(Locator::Css("#chart-funnel svg")).await.ok()?.html(false).await.ok()?;
        svg.to_uppercase().contains("#151920").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dark = screenshot(&client, "overview-dark.png").await;
    // The README's screenshots are refreshed only on request, so a test run never edits tracked files.
    if std::env::var_os("FLEXDESK_UPDATE_SCREENSHOTS").is_some() {
        let shots = repo_root().join("docs/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        std::fs::copy(&light, shots.join("overview-light.png")).unwrap();
        std::fs::copy(&dark, shots.join("overview-dark.png")).unwrap();
    }

    // The manager changes the range to the last 30 days: KPIs and charts follow.
    let range = client.find(Locator::Css("#range-preset")).await.unwrap();
    range.select_by_value("30").await.unwrap();
    let from_30 = (today - Days::days(29)).to_string();
    charts_drawn_for(&client, &from_30).await;
    let recovered_30: u64 = wait_for("the Recovered KPI for 30 days", Duration::from_secs(30), || async {
        let n: u64 = attr(&client, "#kpi-recovered", "data-count").await?.parse().ok()?;
        (n < recovered_90).then_some(n)
    })
    .await;
    assert!(recovered_30 > 0);

    // ...and clicks the funnel's "Declined" bar (category 2).
    let bar = client.find(Locator::Css("#chart-funnel rect.hit[data-category='2']")).await.unwrap();
    let bar_value: u64 = bar.attr("data-count").await.unwrap().unwrap().parse().unwrap();
    assert_eq!(bar.attr("data-exact").await.unwrap().as_deref(), Some("true"));
    assert!(bar_value > 0, "the last 30 days have declined orders");
    bar.click().await.unwrap();

    // The orders list opens with that filter and exactly that many rows.
    let listed: u64 = wait_for("the filtered orders list", Duration::from_secs(30), || async {
        attr(&client, "#orders-preset", "id").await?;
        attr(&client, "#row-count", "data-count").await?.parse().ok()
    })
    .await;
    let title = client.find(Locator::Css("#orders-preset")).await.unwrap().text().await.unwrap();
    screenshot(&client, "overview-drilldown.png").await;
    assert!(title.contains("Declined"), "preset title: {title}");
    assert_eq!(listed, bar_value, "the list shows exactly the bar's orders");

    // A KPI opens its orders the same way.
    client.find(Locator::Css("#nav-overview")).await.unwrap().click().await.unwrap();
    let kpi = wait_for("the KPI tiles", Duration::from_secs(30), || async {
        client.find(Locator::Css("#kpi-recovered")).await.ok()
    })
    .await;
    let kpi_count: u64 = wait_for("the Recovered KPI", Duration::from_secs(30), || async {
        attr(&client, "#kpi-recovered", "data-count").await?.parse().ok()
    })
    .await;
    kpi.click().await.unwrap();
    let listed = wait_for("the KPI's orders", Duration::from_secs(30), || async {
        attr(&client, "#orders-preset", "id").await?;
        attr(&client, "#row-count", "data-count").await?.parse::<u64>().ok()
    })
    .await;
    assert_eq!(listed, kpi_count);
    client.close().await.unwrap();
}
