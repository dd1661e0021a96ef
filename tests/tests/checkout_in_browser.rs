//! The sandbox's demo checkout page in a real browser (WebKitGTK's MiniBrowser driven over
//! WebDriver under Xvfb): the page loads the SenseJS-compatible widget, tokenizes a test
//! card and sends the decline to /evaluate, as flexfactor-api.md's CIT path describes.
//! Run by scripts/test.sh; ignored by a plain `cargo test`.

use chrono::{TimeZone, Utc};
use fantoccini::{ClientBuilder, Locator};
use flexdesk_tests::e2e::Driver;
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PORT: u16 = 4504;
const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

async fn decision_for(client: &fantoccini::Client, base: &str, card: &str) -> String {
    client.goto(&format!("{base}/checkout")).await.unwrap();
    let number = client.wait().for_element(Locator::Css("input[name=number]")).await.unwrap();
    number.clear().await.unwrap();
    number.send_keys(card).await.unwrap();
    client.find(Locator::Css("#pay button[type=submit]")).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let result = client.find(Locator::Css("#result")).await.unwrap();
        if let Some(status) = result.attr("data-status").await.unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no decision: {}", result.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs Xvfb and WebKitWebDriver: run scripts/test.sh"]
async fn the_demo_checkout_tokenizes_a_card_and_gets_a_decision_in_a_browser() {
    assert!(std::env::var_os("DISPLAY").is_some(), "run under xvfb-run");
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(5, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 50;
    let sandbox = Sandbox::start(config).await.unwrap();
    let base = sandbox.base_url().trim_end_matches("/v1").to_string();

    let _driver = Driver::start(
        Command::new("WebKitWebDriver").arg(format!("--port={PORT}")).stdout(Stdio::null()).stderr(Stdio::inherit()),
        PORT,
        "WebKitWebDriver (apt webkit2gtk-driver)",
    );
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), serde_json::json!("MiniBrowser"));
    caps.insert(
        "webkitgtk:browserOptions".into(),
        serde_json::json!({ "binary": MINIBROWSER, "args": ["--automation"] }),
    );
    let client = ClientBuilder::native().capabilities(caps).connect(&format!("http://127.0.0.1:{PORT}")).await.unwrap();

    let declined = decision_for(&client, &base, "4000300011112220").await;
    let challenged = decision_for(&client, &base, "4111111111111111").await;
    let evaluations = sandbox.evaluations();
    let _ = client.close().await;

    assert_eq!(declined, "DECLINED");
    assert_eq!(challenged, "CHALLENGE");
    assert_eq!(evaluations.len(), 2, "each checkout sent exactly one /evaluate");
    assert!(sandbox.orders_snapshot().len() >= 52, "the two rescued checkouts are orders at the sandbox");
}
