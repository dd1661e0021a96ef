//! End to end through the real window for batch uploads: a CSV of 50 failed rebills with 3
//! bad rows (the Demo sample generator), validate, fix (re-validated), drop, upload over the
//! Demo sandbox's SFTP endpoint, and the 47 outcomes arrive, each checked at the sandbox.
//! Run by `scripts/test.sh`; ignored by plain `cargo test`. Screenshots go to `artifacts/e2e/`.

use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{attr, click, fill, launch_demo, screenshot, wait_for, DemoApp, Sandbox};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The draft summary: (valid, invalid, dropped).
async fn summary(client: &Client) -> Option<(u32, u32, u32)> {
    let el = client.find(Locator::Css("#batch-summary")).await.ok()?;
    let get = |n: &'static str| {
        let el = el.clone();
        async move { el.attr(n).await.ok().flatten()?.parse::<u32>().ok() }
    };
    Some((get("data-valid").await?, get("data-invalid").await?, get("data-dropped").await?))
}

async fn wait_summary(client: &Client, want: (u32, u32, u32)) {
    wait_for(&format!("the draft summary {want:?}"), Duration::from_secs(30), || async {
        (summary(client).await? == want).then_some(())
    })
    .await;
}

/// `(line, field, kind)` of every bad-row entry on screen.
async fn bad_rows(client: &Client) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    for el in client.find_all(Locator::Css(".batch-bad-row")).await.unwrap_or_default() {
        let line = el.attr("data-line").await.ok().flatten().and_then(|l| l.parse().ok()).unwrap_or(0);
        let field = el.attr("data-field").await.ok().flatten().unwrap_or_default();
        let kind = el.attr("data-kind").await.ok().flatten().unwrap_or_default();
        out.push((line, field, kind));
    }
    out
}

async fn upload_disabled(client: &Client) -> bool {
    let el = client.find(Locator::Css("#batch-upload")).await.unwrap();
    el.attr("disabled").await.unwrap().is_some()
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn fifty_rebills_with_three_bad_rows_upload_and_the_47_outcomes_arrive() {
    let DemoApp { client, data_dir, export_dir, driver: _driver } = launch_demo(4474).await;
    wait_for("the Demo account", Duration::from_secs(60), || async {
        attr(&client, "#status-base-url", "title").await.filter(|t| t.starts_with("http://"))
    })
    .await;
    let sandbox = Sandbox::connect(&client, data_dir.path()).await;

    // Compose: 50 failed rebills whose cards are vaulted in the sandbox, 3 of them bad.
    click(&client, "#nav-batches").await;
    client.wait().for_element(Locator::Css("#batches-screen")).await.unwrap();
    fill(&client, "#batch-sample-rows", "50").await;
    fill(&client, "#batch-sample-bad", "3").await;
    click(&client, "#batch-demo-sample").await;
    wait_summary(&client, (47, 3, 0)).await;
    let csv = client.find(Locator::Css("#batch-csv")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(csv.lines().count(), 51, "header plus 50 rows");
    let bad = bad_rows(&client).await;
    let lines: BTreeSet<u32> = bad.iter().map(|b| b.0).collect();
    assert_eq!(lines.len(), 3, "three bad rows: {bad:?}");
    let amount_line = bad.iter().find(|b| b.1 == "transaction.amount").expect("the amount row").0;
    assert!(bad.iter().any(|b| b.1 == "payer.email"), "{bad:?}");
    let amount_row = format!(".batch-bad-row[data-line=\"{amount_line}\"][data-field=\"transaction.amount\"]");
    let text = client.find(Locator::Css(&amount_row)).await.unwrap().text().await.unwrap();
    for part in [amount_line.to_string().as_str(), "transaction.amount", "must be more than 10 cents"] {
        assert!(text.contains(part), "the bad row shows line, field and reason; missing {part:?} in {text:?}");
    }
    assert!(upload_disabled(&client).await, "a draft with bad rows is uploadable");
    screenshot(&client, "batches-validated.png").await;

    // Export the bad rows: CSV with line, field, reason.
    click(&client, "#batch-export-bad").await;
    let exported = wait_for("the bad-rows export", Duration::from_secs(10), || async {
        let entry = std::fs::read_dir(export_dir.path()).ok()?.flatten().next()?;
        std::fs::read_to_string(entry.path()).ok().filter(|t| t.lines().count() == 4)
    })
    .await;
    assert!(exported.lines().next().unwrap().ends_with("line,field,reason"), "{exported}");

    // Fix the amount inline: the row is validated again ("12.50" is not whole cents).
    fill(&client, &format!("{amount_row} .batch-fix-value"), "12.50").await;
    click(&client, &format!("{amount_row} .batch-fix")).await;
    wait_for("the fixed row re-validated", Duration::from_secs(20), || async {
        let kind = attr(&client, &amount_row, "data-kind").await?;
        (kind == "amount_not_whole_cents").then_some(())
    })
    .await;
    assert!(upload_disabled(&client).await);
    screenshot(&client, "batches-fixed.png").await;

    // Drop the three bad rows, one at a time.
    for left in [2, 1, 0] {
        click(&client, ".batch-bad-row .batch-drop").await;
        wait_summary(&client, (47, left, 3 - left)).await;
    }
    assert!(!upload_disabled(&client).await, "a clean draft is not uploadable");

    // Upload and follow the progress to the answer.
    click(&client, "#batch-upload").await;
    let mut states = BTreeSet::new();
    let start = Instant::now();
    loop {
        if let Some(s) = attr(&client, "#batch-progress", "data-state").await {
            if states.insert(s.clone()) && s == "uploaded" {
                screenshot(&client, "batches-waiting.png").await;
            }
            if s == "answered" {
                break;
            }
            assert_ne!(s, "failed", "the upload failed");
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no answer; states seen: {states:?}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let outcomes: Vec<(String, String, String)> = wait_for("47 outcomes", Duration::from_secs(30), || async {
        let rows = client.find_all(Locator::Css(".batch-result-row")).await.ok()?;
        let mut out = Vec::new();
        for r in rows {
            let status = r.attr("data-status").await.ok().flatten().unwrap_or_default();
            let key = r.attr("data-order-session-key").await.ok().flatten().unwrap_or_default();
            let order_id = r.attr("data-order-id").await.ok().flatten().unwrap_or_default();
            if status.is_empty() {
                return None;
            }
            out.push((status, key, order_id));
        }
        (out.len() == 47).then_some(out)
    })
    .await;
    screenshot(&client, "batches-answered.png").await;
    eprintln!("progress states seen: {states:?}");

    // Every outcome is an order the sandbox holds.
    for (status, key, order_id) in &outcomes {
        assert_ne!(status, "ERROR", "row {order_id} failed");
        assert!(!key.is_empty(), "row {order_id} is not linked to an order");
        let (code, order) = sandbox.get_with_status(&format!("/orders/{key}")).await;
        assert_eq!(code, 200, "the sandbox has no order {key}");
        assert!(order.to_string().contains(order_id.as_str()), "order {key} is not {order_id}: {order}");
    }
    let listed = attr(&client, ".batch-item", "data-status").await;
    assert_eq!(listed.as_deref(), Some("answered"));

    // A result row opens its order on the Orders screen.
    let (_, key, order_id) = &outcomes[0];
    click(&client, &format!(".batch-result-row[data-order-session-key=\"{key}\"] .batch-open-order")).await;
    wait_for("the order on the Orders screen", Duration::from_secs(60), || async {
        let rows = client.find_all(Locator::Css("#orders-table .order-row")).await.ok()?;
        for r in rows {
            if r.attr("data-merchant-order-id").await.ok().flatten().as_deref() == Some(order_id.as_str()) {
                return Some(());
            }
        }
        None
    })
    .await;
    screenshot(&client, "batches-order-opened.png").await;
    client.close().await.unwrap();
}
