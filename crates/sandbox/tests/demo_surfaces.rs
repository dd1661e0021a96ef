//! The live traffic generator and the demo checkout surfaces.

mod common;

use std::time::Duration;

use common::{start_frozen, TestResult};

#[tokio::test]
async fn traffic_generator_adds_orders_only_while_running() -> TestResult {
    let sandbox = start_frozen(10).await?;
    assert_eq!(sandbox.order_count(), 10);
    sandbox.start_traffic(6000);
    tokio::time::sleep(Duration::from_millis(250)).await;
    sandbox.stop_traffic();
    let grown = sandbox.order_count();
    assert!(grown > 10, "traffic created orders");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sandbox.order_count(), grown, "stopped means stopped");
    assert!(!sandbox.evaluations().is_empty());
    Ok(())
}

#[tokio::test]
async fn checkout_page_widget_and_session_are_served() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let root = format!("http://{}", sandbox.local_addr());
    let client = reqwest::Client::new();
    let page = client.get(format!("{root}/checkout")).send().await?.text().await?;
    assert!(page.contains(sandbox.mid()) && page.contains("/widget.js") && page.contains("/v1/tokenize"));
    let widget = client.get(format!("{root}/widget.js")).send().await?;
    assert!(widget.headers()["content-type"].to_str()?.contains("javascript"));
    assert!(widget.text().await?.contains("'init'"));
    let session: serde_json::Value = client.post(format!("{root}/checkout/session")).send().await?.json().await?;
    assert_eq!(session["mid"], sandbox.mid());
    assert_eq!(session["tokenizationKey"], sandbox.tokenization_key());
    let token = session["accessToken"].as_str().ok_or("token")?;
    let orders = client.get(format!("{}/orders", sandbox.base_url())).bearer_auth(token).send().await?;
    assert_eq!(orders.status().as_u16(), 200, "the session token works on the API");
    Ok(())
}
