//! End to end through the real window for the support workflows: bulk cancel from Pending
//! rescues (checked at the sandbox), audit-log tamper detection, the review queue, and the
//! Webhooks screen with live Demo traffic. Run by `scripts/test.sh`; ignored by plain
//! `cargo test`. Screenshots go to `artifacts/e2e/`.

use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{
    attr, click, count, launch, launch_demo, screenshot, sync_shown, top_of_view, wait_for, wait_for_backfill,
    wait_for_opt, DemoApp, Sandbox,
};
use std::time::Duration;

/// Three pending rows from one bucket ("< 7 days" or "later"), in screen order.
async fn three_from_one_bucket(client: &Client) -> (String, Vec<String>) {
    wait_for("three pending rescues in the < 7 days or later bucket", Duration::from_secs(30), || async {
        for bucket in ["under7d", "later"] {
            let rows = client.find_all(Locator::Css(&format!(".pending-row[data-bucket=\"{bucket}\"]"))).await.ok()?;
            if rows.len() >= 3 {
                let mut ids = Vec::new();
                for row in rows.iter().take(3) {
                    ids.push(row.attr("data-order-id").await.ok().flatten()?);
                }
                return Some((bucket.to_string(), ids));
            }
        }
        None
    })
    .await
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn support_bulk_cancels_three_pending_rescues_and_verify_detects_an_edited_audit_row() {
    let DemoApp { client, data_dir, export_dir, driver: _driver } = launch_demo(4494).await;
    wait_for_backfill(&client, Duration::from_secs(180)).await;
    let sandbox = Sandbox::connect(&client, data_dir.path()).await;
    let cancelled_before = sandbox.count_with_status(2).await;

    // Pending rescues: buckets with counts, three rows of one bucket selected.
    click(&client, "#nav-pending").await;
    client.wait().for_element(Locator::Css("#pending-screen")).await.unwrap();
    let (bucket, ids) = three_from_one_bucket(&client).await;
    let bucket_count: usize =
        attr(&client, &format!(".bucket-chip[data-bucket=\"{bucket}\"]"), "data-count").await.unwrap().parse().unwrap();
    assert_eq!(bucket_count, count(&client, &format!(".pending-row[data-bucket=\"{bucket}\"]")).await);
    for id in &ids {
        let sel = format!(".pending-row[data-order-id=\"{id}\"]");
        click(&client, &format!("{sel} .pending-select")).await;
        let selected = attr(&client, &sel, "data-selected").await;
        assert_eq!(selected.as_deref(), Some("true"), "row {id} not selected");
    }
    assert_eq!(attr(&client, "#pending-selected-count", "data-count").await.as_deref(), Some("3"));
    screenshot(&client, "pending-rescues.png").await;

    // The preview lists exactly the three, then a reason and confirm.
    click(&client, "#pending-cancel-open").await;
    let previewed: Vec<String> = wait_for("the cancel preview", Duration::from_secs(20), || async {
        let rows = client.find_all(Locator::Css("#pending-cancel-dialog .preview-row")).await.ok()?;
        if rows.len() != 3 {
            return None;
        }
        let mut ids = Vec::new();
        for r in rows {
            ids.push(r.attr("data-order-id").await.ok().flatten()?);
        }
        Some(ids)
    })
    .await;
    assert_eq!(previewed, ids, "the preview does not list exactly the selected orders");
    let reason = client.find(Locator::Css("#pending-cancel-reason")).await.unwrap();
    reason.send_keys("Customer cancelled the subscription (e2e)").await.unwrap();
    screenshot(&client, "pending-cancel-preview.png").await;
    click(&client, "#pending-cancel-submit").await;
    wait_for("three confirmed cancels", Duration::from_secs(60), || async {
        let n = count(&client, "#pending-cancel-dialog .cancel-result[data-status=\"confirmed\"]").await;
        (n == 3).then_some(())
    })
    .await;
    screenshot(&client, "pending-cancel-results.png").await;
    click(&client, "#pending-cancel-close").await;

    // The sandbox's own state: exactly those three are now Cancelled (status 2).
    for id in &ids {
        let order = sandbox.get(&format!("/orders/{id}")).await;
        assert_eq!(order["status"].as_i64(), Some(2), "order {id} at the sandbox: {order}");
    }
    assert_eq!(sandbox.count_with_status(2).await, cancelled_before + 3, "other orders were cancelled too");

    // And the rows leave the pending list.
    wait_for("the cancelled rows to leave the list", Duration::from_secs(20), || async {
        for id in &ids {
            if count(&client, &format!(".pending-row[data-order-id=\"{id}\"]")).await > 0 {
                return None;
            }
        }
        Some(())
    })
    .await;

    // The review queue renders (CHALLENGE / capture-required orders, oldest first).
    click(&client, "#nav-review").await;
    client.wait().for_element(Locator::Css("#review-screen")).await.unwrap();
    wait_for("the review queue", Duration::from_secs(20), || async {
        (count(&client, ".review-row").await > 0 || count(&client, "#review-empty").await > 0).then_some(())
    })
    .await;
    screenshot(&client, "review-queue.png").await;

    // A review decision with a reason: recorded, shown in plain words, then on the row.
    if count(&client, ".review-row").await > 0 {
        let order = attr(&client, ".review-row", "data-order-id").await.unwrap();
        let row = format!(".review-row[data-order-id=\"{order}\"]");
        click(&client, &format!("{row} .review-decide[data-decision=\"markReviewed\"]")).await;
        let reason = client.wait().for_element(Locator::Css("#review-reason")).await.unwrap();
        reason.send_keys("Checked the challenge with the customer (e2e)").await.unwrap();
        click(&client, "#review-submit").await;
        let outcome = wait_for("the review outcome", Duration::from_secs(20), || async {
            client.find(Locator::Css("#review-outcome")).await.ok()?.text().await.ok()
        })
        .await;
        assert!(outcome.contains("reviewed"), "outcome: {outcome}");
        click(&client, "#review-close").await;
        wait_for("the decision on the row", Duration::from_secs(20), || async {
            let text = client.find(Locator::Css(&row)).await.ok()?.text().await.ok()?;
            text.contains("Checked the challenge with the customer (e2e)").then_some(())
        })
        .await;
        screenshot(&client, "review-decided.png").await;
    }

    // Audit log: the cancels are there and the chain verifies.
    click(&client, "#nav-audit").await;
    wait_for("audit entries for the cancels", Duration::from_secs(20), || async {
        (count(&client, ".audit-row").await >= 3).then_some(())
    })
    .await;
    click(&client, "#verify-audit").await;
    let ok = wait_for("the audit verdict", Duration::from_secs(20), || async {
        attr(&client, "#audit-verdict", "data-ok").await
    })
    .await;
    assert_eq!(ok, "true", "a fresh audit log should verify");
    screenshot(&client, "audit-verified.png").await;

    // Export CSV: a toast with the path, the file in FLEXDESK_EXPORT_DIR.
    click(&client, "#audit-export").await;
    wait_for("the export file", Duration::from_secs(20), || async {
        let found = std::fs::read_dir(export_dir.path())
            .ok()?
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "csv"));
        found.then_some(())
    })
    .await;

    // Someone edits entry 1 directly in the database: verify names it.
    {
        let conn = rusqlite::Connection::open(data_dir.path().join("mirror.sqlite3")).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let changed = conn.execute("UPDATE audit_log SET detail = 'nothing happened here' WHERE seq = 1", []).unwrap();
        assert_eq!(changed, 1);
    }
    click(&client, "#verify-audit").await;
    let ok = wait_for("the tamper verdict", Duration::from_secs(20), || async {
        attr(&client, "#audit-verdict", "data-ok").await.filter(|v| v == "false")
    })
    .await;
    assert_eq!(ok, "false");
    let text = client.find(Locator::Css("#audit-verdict")).await.unwrap().text().await.unwrap();
    assert!(text.contains("Entry 1"), "the verdict should name the edited entry: {text}");
    assert_eq!(attr(&client, "#audit-verdict", "data-bad-seq").await.as_deref(), Some("1"));
    screenshot(&client, "audit-tampered.png").await;
    client.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn webhooks_screen_lists_live_events_shows_payloads_and_replays_one() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    let (_driver, client) = launch(4494, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "600")]).await;
    // 100 rows down (tried again while the list is still shorter than that).
    let scroll_down = || {
        wait_for("the grid to scroll 100 rows down", Duration::from_secs(10), || async {
            let scrolled = client
                .execute(
                    "const g = document.getElementById('orders-table'); g.scrollTop = 3000; \
                     g.dispatchEvent(new Event('scroll')); return g.scrollTop",
                    vec![],
                )
                .await
                .ok()?;
            (scrolled.as_f64() == Some(3000.0)).then_some(())
        })
    };
    // The order at the top of the view, and how many orders the list counts.
    let top = || async {
        let count = attr(&client, "#row-count", "data-count").await?.parse::<u64>().ok()?;
        Some((top_of_view(&client).await?, count))
    };

    // Scrolled down during the first backfill, the order being read stays at the top of the
    // view while whole pages of newer orders land above it.
    wait_for("the first backfill page", Duration::from_secs(60), || async {
        sync_shown(&client).await.filter(|s| s.phase == "backfilling" && s.rows >= 1000)
    })
    .await;
    scroll_down().await;
    let (early, early_count) = wait_for("the order at the top of the view", Duration::from_secs(10), top).await;
    let backfilled = wait_for_backfill(&client, Duration::from_secs(180)).await;
    assert!(
        backfilled >= early_count + 1000,
        "the backfill should still have had pages to bring after the read: {early_count} orders then, {backfilled} at the end"
    );
    let kept = wait_for_opt(Duration::from_secs(10), || async { top().await.filter(|(key, _)| *key == early) }).await;
    assert!(kept.is_some(), "backfill pages moved the rows under the reader: {early} left the top of the view");

    // Scrolled down the Orders list, the order being read stays at the top of the view while
    // live orders arrive above it.
    scroll_down().await;
    let (read, before) = wait_for("the order at the top of the view", Duration::from_secs(10), top).await;
    wait_for("three live orders to arrive", Duration::from_secs(60), || async {
        top().await.filter(|(_, count)| *count >= before + 3)
    })
    .await;
    let kept = wait_for_opt(Duration::from_secs(10), || async { top().await.filter(|(key, _)| *key == read) }).await;
    assert!(kept.is_some(), "live orders moved the rows under the reader: {read} left the top of the view");
    // Away on another screen while more orders arrive: coming back, the same order is at the
    // top of the view.
    let rows = || async { attr(&client, "#status-total-rows", "data-count").await?.parse::<u64>().ok() };
    let mirrored = wait_for("the mirror's row count", Duration::from_secs(10), rows).await;
    click(&client, "#nav-overview").await;
    client.wait().for_element(Locator::Css("#range-preset")).await.unwrap();
    wait_for("three more live orders", Duration::from_secs(60), || async {
        rows().await.filter(|n| *n >= mirrored + 3)
    })
    .await;
    click(&client, "#nav-orders").await;
    let back = wait_for_opt(Duration::from_secs(10), || async { top().await.filter(|(key, _)| *key == read) }).await;
    assert!(back.is_some(), "back on the Orders screen, {read} is no longer at the top of the view");

    click(&client, "#nav-webhooks").await;
    client.wait().for_element(Locator::Css("#webhooks-screen")).await.unwrap();
    let id =
        wait_for("a webhook row", Duration::from_secs(90), || async { attr(&client, ".webhook-row", "data-id").await })
            .await;
    assert!(count(&client, "#webhook-rejected").await == 1 && count(&client, "#drift-list").await == 1);
    let signature = attr(&client, &format!(".webhook-row[data-id=\"{id}\"] .sig-pill"), "data-signature").await;
    assert_eq!(signature.as_deref(), Some("verified"));

    // The raw payload opens under the row.
    click(&client, &format!(".webhook-row[data-id=\"{id}\"] .webhook-payload-toggle")).await;
    let payload = wait_for("the raw payload", Duration::from_secs(30), || async {
        let el = client.find(Locator::Css(&format!(".payload-row[data-id=\"{id}\"] pre.payload"))).await.ok()?;
        el.text().await.ok().filter(|t| !t.is_empty())
    })
    .await;
    assert!(payload.contains('{'), "payload: {payload}");
    // The pointer is over the list now: new events wait instead of moving the rows under it.
    wait_for("live updates to wait while the pointer is over the list", Duration::from_secs(30), || async {
        attr(&client, ".events", "data-live-paused").await.filter(|v| v == "true")
    })
    .await;
    assert_eq!(count(&client, "#webhooks-live-paused").await, 1);
    screenshot(&client, "webhooks.png").await;

    // Replay: a success toast.
    click(&client, &format!(".webhook-row[data-id=\"{id}\"] .webhook-replay")).await;
    let toast = wait_for("the replay toast", Duration::from_secs(30), || async {
        // A failed replay says why in an error toast: fail with its text at once.
        if let Ok(el) = client.find(Locator::Css(".toast[data-kind=\"error\"]")).await {
            return el.text().await.ok().map(Err);
        }
        let el = client.find(Locator::Css(".toast[data-kind=\"success\"]")).await.ok()?;
        el.text().await.ok().filter(|t| t.contains("replayed")).map(Ok)
    })
    .await;
    let toast = toast.unwrap_or_else(|error| panic!("the replay failed: {error}"));
    assert!(toast.contains("Webhook replayed"), "toast: {toast}");

    // The shortcut sheet and the command palette open from the keyboard.
    client
        .execute("document.dispatchEvent(new KeyboardEvent('keydown', {key: '?', bubbles: true}))", vec![])
        .await
        .unwrap();
    client.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css("#shortcut-sheet")).await.unwrap();
    screenshot(&client, "shortcut-sheet.png").await;
    client
        .execute("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))", vec![])
        .await
        .unwrap();
    client
        .execute(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'k', ctrlKey: true, bubbles: true}))",
            vec![],
        )
        .await
        .unwrap();
    let input =
        client.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css("#palette-input")).await.unwrap();
    input.send_keys("pending").await.unwrap();
    screenshot(&client, "command-palette.png").await;
    input.send_keys("\u{E007}").await.unwrap(); // Enter runs the best match
    client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#pending-screen")).await.unwrap();

    // Dark theme: the same screens stay readable.
    click(&client, "#nav-webhooks").await;
    for _ in 0..3 {
        if attr(&client, "html", "data-theme").await.as_deref() == Some("dark") {
            break;
        }
        click(&client, "#theme-toggle").await;
    }
    assert_eq!(attr(&client, "html", "data-theme").await.as_deref(), Some("dark"));
    client.wait().for_element(Locator::Css(".webhook-row")).await.unwrap();
    screenshot(&client, "webhooks-dark.png").await;
    click(&client, "#nav-pending").await;
    screenshot(&client, "pending-rescues-dark.png").await;
    client.close().await.unwrap();
}
