//! End to end, the manager's scenario through the real window (Xvfb + tauri-driver +
//! WebKitWebDriver): open the Overview, change the range, click a chart bar, land on the
//! orders list showing exactly the bar's orders. Also takes the Overview screenshots in the
//! light and dark themes (artifacts/e2e/; copied to docs/screenshots/ when
//! FLEXDESK_UPDATE_SCREENSHOTS is set).
//! WebDriver ports 4464/4465 (other e2e files use others).

use chrono::{Duration as Days, Utc};
use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{attr, launch, repo_root, screenshot_settled, wait_for, wait_for_backfill};
use std::path::PathBuf;
use std::time::Duration;

/// A screenshot after the charts' transitions have settled.
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    screenshot_settled(client, name, Duration::from_millis(800)).await
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
    // A manager west of UTC: the charts' days are UTC days, and a bar's orders must still be
    // exactly its orders (not shifted to local midnights).
    let envs = [("FLEXDESK_DATA_DIR", dir.as_str()), ("FLEXDESK_DEMO_TRAFFIC", "0"), ("TZ", "America/New_York")];
    let (_driver, client) = launch(4464, &envs).await;

    // The Demo backfill finishes first (the Overview reads the local mirror).
    wait_for_backfill(&client, Duration::from_secs(180)).await;

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

    // The manager changes the range to the last 30 days: KPIs and charts follow. (The Demo's
    // orders keep moving meanwhile, so the 90-day figure is read again right before.)
    let recovered_90: u64 = attr(&client, "#kpi-recovered", "data-count").await.unwrap().parse().unwrap();
    let range = client.find(Locator::Css("#range-preset")).await.unwrap();
    range.select_by_value("30").await.unwrap();
    let from_30 = (Utc::now().date_naive() - Days::days(29)).to_string();
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

    // A KPI opens its orders the same way. Back on the Overview, it still shows the last 30
    // days the manager chose, not the default 90.
    client.find(Locator::Css("#nav-overview")).await.unwrap().click().await.unwrap();
    let kpi = wait_for("the KPI tiles", Duration::from_secs(30), || async {
        client.find(Locator::Css("#kpi-recovered")).await.ok()
    })
    .await;
    let kept = client.find(Locator::Css("#range-preset")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("30"), "the Overview forgot the chosen range");
    charts_drawn_for(&client, &from_30).await;
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
