#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code fails by panicking

//! Desktop notifications reach the desktop: with "order refunded" opted in, a refund made at
//! FlexFactor (the Demo sandbox's API) comes back as an `order.refunded` webhook through the
//! Demo relay, and the real app sends a notification over D-Bus — the freedesktop.org
//! `org.freedesktop.Notifications.Notify` call that Tauri's notification plugin makes. The
//! desktop's notification daemon is played by a recorder this test serves on the session bus.
//! The same webhook updates the order's row on screen without a reload, and its timeline.

use flexdesk_tests::e2e::{attr, click, count, fill, launch_demo, screenshot, wait_for, wait_for_backfill, Sandbox};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// (application name, summary, body) of every notification received.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// Stands in for the desktop's notification daemon: records each Notify call.
struct Recorder {
    seen: Seen,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)] // the D-Bus method's signature
    async fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut seen = self.seen.lock().unwrap();
        seen.push((app_name, summary, body));
        seen.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("recorder".into(), "flexdesk-tests".into(), "1".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring, a session bus and the built app: run scripts/test.sh"]
async fn an_opted_in_refund_webhook_sends_a_desktop_notification() {
    let seen: Seen = Arc::default();
    let _daemon = zbus::connection::Builder::session()
        .name("org.freedesktop.Notifications")
        .serve_at("/org/freedesktop/Notifications", Recorder { seen: seen.clone() })
        .build()
        .await
        .expect("serving org.freedesktop.Notifications on the session bus (run under dbus-run-session)");

    let app = launch_demo(4574).await;
    let client = &app.client;
    wait_for_backfill(client, Duration::from_secs(180)).await;

    // Opt in to "order refunded" in the About panel.
    click(client, "#open-about").await;
    click(client, "input[data-notify='refunded']").await;
    let db = app.data_dir.path().join("mirror.sqlite3");
    wait_for("the opt-in to be saved", Duration::from_secs(10), || async {
        let conn = rusqlite::Connection::open(&db).ok()?;
        conn.query_row("SELECT value FROM settings WHERE key = 'notify:refunded'", [], |r| r.get::<_, String>(0))
            .ok()
            .filter(|v| v == "on")
    })
    .await;
    assert!(seen.lock().unwrap().is_empty(), "nothing is notified before an event: {:?}", seen.lock().unwrap());
    click(client, "button[aria-label='Close About']").await;

    // A refund made at FlexFactor, outside FlexDesk: only its webhook tells the app.
    let sandbox = Sandbox::connect(client, app.data_dir.path()).await;
    let page = sandbox.get("/orders?status=7&pageSize=50").await;
    let order = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["capturedAmount"].as_i64().unwrap_or(0) > 100 && o["refundedAmount"].as_i64().unwrap_or(0) == 0)
        .expect("a captured, unrefunded order in the Demo sandbox")
        .clone();
    let id = order["id"].as_str().unwrap().to_string();
    let merchant_id = order["externalOrderId"].as_str().map(str::to_string);
    // The order is on screen (found by its id) before anything happens to it.
    fill(client, "#search-input", &id).await;
    let row = format!("#orders-table .order-row[data-order-id='{id}']");
    wait_for("the order's row", Duration::from_secs(10), || async {
        attr(client, &row, "data-state").await.filter(|s| s == "approved")
    })
    .await;
    let status = sandbox.post(&format!("/orders/{id}/refund"), serde_json::json!({ "amountToRefund": 1.00 })).await;
    assert!((200..300).contains(&status), "the sandbox refused the refund: HTTP {status}");

    let (app_name, summary, body) = wait_for("the refund notification", Duration::from_secs(30), || async {
        seen.lock().unwrap().iter().find(|(_, summary, _)| summary == "Order refunded").cloned()
    })
    .await;
    assert!(app_name.to_lowercase().contains("flexdesk"), "sent as {app_name:?}");
    let shown = merchant_id.unwrap_or(id);
    assert!(body.contains(&shown), "the body names the order {shown}: {body:?} ({summary})");
    assert!(body.contains("was refunded"), "{body:?}");
    // Not opted in: chargebacks and batches stay silent, and one webhook is one notification.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = seen.lock().unwrap().clone();
    assert_eq!(all.iter().filter(|(_, s, _)| s == "Order refunded").count(), 1, "{all:?}");

    // The row on screen changed with the webhook and its re-read, without a reload.
    wait_for("the visible row to show the refund", Duration::from_secs(15), || async {
        attr(client, &row, "data-state").await.filter(|s| s == "partiallyRefunded")
    })
    .await;
    // Its timeline: the evaluate result, the webhook, and the read that found the refund.
    click(client, &format!("{row} [role=gridcell]:nth-child(3)")).await;
    for kind in ["evaluate", "webhook:order.refunded", "poll"] {
        wait_for(&format!("a {kind} entry in the timeline"), Duration::from_secs(10), || async {
            (count(client, &format!("#order-timeline li[data-kind='{kind}']")).await > 0).then_some(())
        })
        .await;
    }
    let poll = client
        .find(fantoccini::Locator::Css("#order-timeline li[data-kind='poll'] .text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(poll.contains("refunded 1.00"), "{poll:?}");
    client
        .execute("document.getElementById('order-timeline').scrollIntoView({ block: 'center' })", vec![])
        .await
        .unwrap();
    screenshot(client, "order-timeline-after-a-refund-made-at-flexfactor.png").await;
}
