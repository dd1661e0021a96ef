//! End to end through the real window, the dashboard's money and support workflows (issue 5):
//! refunds (partial, full, refused over-amount, double click), single, bulk and
//! merchant-id cancels, filters and CSV export. Every outcome is checked against the Demo
//! sandbox's own state over HTTP and the app's own database, not only the UI text.
//! Run by `scripts/test.sh`; ignored by plain `cargo test`. Screenshots go to `artifacts/e2e/`.

use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{
    attr, launch_demo, screenshot, sync_shown, wait_for, wait_for_backfill, wait_for_opt, DemoApp, Driver, Sandbox,
};
use std::time::Duration;

const PORT: u16 = 4484;

/// The app under test: its window, its data directory, its export folder and its sandbox.
struct App {
    client: Client,
    data_dir: tempfile::TempDir,
    export_dir: tempfile::TempDir,
    sandbox: Sandbox,
    _driver: Driver,
}

impl App {
    /// Launches the app on a fresh data directory and waits for the Demo backfill to finish.
    async fn start() -> App {
        let DemoApp { client, data_dir, export_dir, driver } = launch_demo(PORT).await;
        wait_for_backfill(&client, Duration::from_secs(240)).await;
        let sandbox = Sandbox::connect(&client, data_dir.path()).await;
        // The whole history is mirrored (an idle phase alone can come between backfill pages).
        let sandbox_total = sandbox.get("/orders?pageSize=1").await["totalItemCount"].as_u64().unwrap();
        wait_for("every sandbox order in the mirror", Duration::from_secs(240), || async {
            let shown = sync_shown(&client).await?;
            (shown.phase == "idle" && shown.rows >= sandbox_total).then_some(())
        })
        .await;
        // The Orders screen (another screen may be the default one).
        if let Ok(nav) = client.find(Locator::Css("#nav-orders")).await {
            nav.click().await.unwrap();
        }
        client.wait().for_element(Locator::Css("#orders-table")).await.unwrap();
        App { client, data_dir, export_dir, sandbox, _driver: driver }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data_dir.path().join("mirror.sqlite3")).unwrap()
    }

    async fn click(&self, css: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
    }

    /// Replaces a field's value the way typing does (an `input` event), e.g. a prefilled amount.
    async fn set_value(&self, css: &str, value: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.unwrap();
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.focus(); el.value = arguments[1];
                 el.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(css), serde_json::json!(value)],
            )
            .await
            .unwrap();
    }

    async fn select(&self, css: &str, value: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.unwrap().select_by_value(value).await.unwrap();
    }

    async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    async fn wait_gone(&self, css: &str, what: &str) {
        wait_for(what, Duration::from_secs(30), || async { (!self.exists(css).await).then_some(()) }).await;
    }

    async fn wait_attr(&self, css: &str, name: &str, expected: &str) {
        let found = wait_for_opt(Duration::from_secs(45), || async {
            (attr(&self.client, css, name).await.as_deref() == Some(expected)).then_some(())
        })
        .await;
        if found.is_none() {
            screenshot(&self.client, "failure-wait-attr.png").await;
            let now = attr(&self.client, css, name).await;
            panic!("timed out waiting for {css} [{name}] = {expected}; it is {now:?}");
        }
    }

    /// The rows on screen: (order id, state, mit). None when the table re-rendered meanwhile.
    async fn rows(&self) -> Option<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        for row in self.client.find_all(Locator::Css("#orders-table .order-row")).await.ok()? {
            let id = row.attr("data-order-id").await.ok()?.unwrap_or_default();
            let state = row.attr("data-state").await.ok()?.unwrap_or_default();
            let mit = row.attr("data-mit").await.ok()?.unwrap_or_default();
            out.push((id, state, mit));
        }
        Some(out)
    }

    /// Waits until the table's count equals the mirror's count for `count_sql` (asked again on
    /// every poll: the sandbox moves orders along as time passes) and its rows all pass `ok`.
    async fn wait_table(
        &self,
        count_sql: &str,
        ok: impl Fn(&(String, String, String)) -> bool,
    ) -> Vec<(String, String, String)> {
        let last = std::cell::RefCell::new(String::new());
        let found = wait_for_opt(Duration::from_secs(30), || async {
            let shown: i64 = attr(&self.client, "#row-count", "data-count").await?.parse().ok()?;
            let expected = count(&self.db(), count_sql, []);
            let rows = self.rows().await?;
            *last.borrow_mut() = format!("table shows {shown}, mirror has {expected}, {} rows on screen", rows.len());
            (shown == expected && !rows.is_empty() && rows.iter().all(&ok)).then_some(rows)
        })
        .await;
        if found.is_none() {
            screenshot(&self.client, "failure-wait-table.png").await;
        }
        found.unwrap_or_else(|| panic!("the filtered table never matched {count_sql}: {}", last.borrow()))
    }

    async fn open_order(&self, order_id: &str) {
        self.click(&format!("#orders-table .order-row[data-order-id='{order_id}'] [role=gridcell]:nth-child(3)")).await;
        self.wait_attr("#order-detail", "data-order-id", order_id).await;
        wait_for("the order detail to load", Duration::from_secs(20), || async {
            attr(&self.client, "#remaining-refundable", "data-cents").await
        })
        .await;
    }

    async fn remaining_cents(&self) -> i64 {
        attr(&self.client, "#remaining-refundable", "data-cents").await.unwrap().parse().unwrap()
    }
}

/// Exact major-unit text for cents, as the refund dialog expects it typed.
fn major(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn count(conn: &rusqlite::Connection, sql: &str, params: impl rusqlite::Params) -> i64 {
    conn.query_row(sql, params, |r| r.get(0)).unwrap()
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn finance_filters_refunds_part_then_the_rest_and_the_audit_log_verifies() {
    let app = App::start().await;

    // Every action is recorded under the operator's name.
    app.click("#open-accounts").await;
    app.set_value("#operator-name", "Fiona Finance").await;
    app.click("#operator-name-save").await;
    app.wait_attr("#operator-name", "data-saved", "Fiona Finance").await;
    app.click("#accounts-panel header button").await;
    app.wait_gone("#accounts-panel", "the accounts panel to close").await;

    // Filter to approved orders: the table shows exactly the mirror's approved orders.
    const APPROVED: &str = "SELECT COUNT(*) FROM orders WHERE state = 'approved'";
    assert!(count(&app.db(), APPROVED, []) > 0, "the Demo history has approved orders");
    app.select("#state-filter", "approved").await;
    let rows = app.wait_table(APPROVED, |r| r.1 == "approved").await;

    // An amount filter in major units narrows it exactly as the mirror says.
    app.click("#filters-toggle").await;
    app.set_value("#filter-amount-min", "100.00").await;
    const OVER_100: &str = "SELECT COUNT(*) FROM orders WHERE state = 'approved' AND amount_cents >= 10000";
    app.wait_table(OVER_100, |r| r.1 == "approved").await;
    // Sorting by amount, largest first.
    app.click("#sort-amount").await;
    let largest: String = app
        .db()
        .query_row("SELECT order_session_key FROM orders WHERE state = 'approved' AND amount_cents >= 10000 ORDER BY amount_cents DESC, created_at DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let largest_cents: i64 = app
        .db()
        .query_row("SELECT amount_cents FROM orders WHERE order_session_key = ?1", [&largest], |r| r.get(0))
        .unwrap();
    wait_for("the largest approved order first", Duration::from_secs(20), || async {
        let first = attr(&app.client, "#orders-table .order-row[data-index='0']", "data-order-id").await?;
        let cents: i64 = app
            .db()
            .query_row("SELECT amount_cents FROM orders WHERE order_session_key = ?1", [&first], |r| r.get(0))
            .ok()?;
        (cents == largest_cents).then_some(())
    })
    .await;
    screenshot(&app.client, "finance-filtered.png").await;

    // CSV export of exactly the filtered set.
    app.click("#export-csv").await;
    let csv = wait_for("the export file", Duration::from_secs(60), || async {
        let entry = std::fs::read_dir(app.export_dir.path())
            .ok()?
            .flatten()
            .find(|e| e.path().extension().is_some_and(|x| x == "csv"))?;
        let text = std::fs::read_to_string(entry.path()).ok()?;
        (!app.exists("#export-progress").await).then_some(text)
    })
    .await;
    let shown: i64 = attr(&app.client, "#row-count", "data-count").await.unwrap().parse().unwrap();
    assert_eq!(csv.lines().count() as i64 - 1, shown, "the CSV holds exactly the filtered orders");

    // Open one approved order.
    app.set_value("#filter-amount-min", "").await;
    let rows_now = app.wait_table(APPROVED, |r| r.1 == "approved").await;
    let order_id = rows_now.first().or(rows.first()).unwrap().0.clone();
    app.open_order(&order_id).await;
    let captured = app.remaining_cents().await;
    let before = app.sandbox.order(&order_id).await;
    assert_eq!(before["capturedAmount"].as_i64().unwrap(), captured);
    assert_eq!(before["refundedAmount"].as_i64().unwrap_or(0), 0);
    screenshot(&app.client, "finance-detail.png").await;
    // Its FlexFactor record: the order as the sandbox's API sent it, with the billing address
    // the rest of the detail does not show.
    app.click("#order-record-toggle").await;
    let record = wait_for("the order's FlexFactor record", Duration::from_secs(10), || async {
        let text = app.client.find(Locator::Css("#order-record pre")).await.ok()?.text().await.ok()?;
        serde_json::from_str::<serde_json::Value>(&text).ok()
    })
    .await;
    assert_eq!(record["id"], order_id.as_str());
    assert_eq!(record["billingAddress"], before["billingAddress"], "the record shows what the API holds");
    app.client
        .execute("document.querySelector('#order-record').scrollIntoView({ block: 'start' })", vec![])
        .await
        .unwrap();
    // Only the detail pane scrolls: the window itself never does (nothing reaches below it).
    let window = app
        .client
        .execute("return [window.innerHeight, document.documentElement.scrollHeight, window.scrollY];", vec![])
        .await
        .unwrap();
    assert_eq!(window[1], window[0], "the page is taller than the window: {window}");
    assert_eq!(window[2], 0, "the window scrolled: {window}");
    screenshot(&app.client, "finance-record.png").await;
    app.click("#order-record-toggle").await;

    // Refund part of it.
    let first = captured / 3;
    app.click("#refund-open").await;
    let default_amount =
        app.client.wait().for_element(Locator::Css("#refund-amount")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(
        default_amount.as_deref(),
        Some(major(captured).as_str()),
        "the amount defaults to the remaining refundable"
    );
    app.set_value("#refund-amount", &major(first)).await;
    app.type_into("#refund-reason", "Customer returned one item").await;
    app.wait_attr("#refund-remaining-after", "data-cents", &(captured - first).to_string()).await;
    screenshot(&app.client, "finance-refund-partial.png").await;
    app.click("#refund-submit").await;
    app.wait_gone("#refund-dialog", "the partial refund to be confirmed").await;
    app.wait_attr("#remaining-refundable", "data-cents", &(captured - first).to_string()).await;

    // Then the rest; one cent more than what is left is refused in the dialog, before sending.
    app.click("#refund-open").await;
    app.set_value("#refund-amount", &major(captured - first + 1)).await;
    app.client.wait().for_element(Locator::Css("#refund-amount-error")).await.unwrap();
    let submit = app.client.find(Locator::Css("#refund-submit")).await.unwrap();
    assert!(!submit.is_enabled().await.unwrap(), "an over-amount refund cannot be submitted");
    screenshot(&app.client, "finance-refund-over-amount.png").await;
    app.set_value("#refund-amount", &major(captured - first)).await;
    app.wait_gone("#refund-amount-error", "the amount error to clear").await;
    app.type_into("#refund-reason", "Customer returned the rest").await;
    app.click("#refund-submit").await;
    app.wait_gone("#refund-dialog", "the final refund to be confirmed").await;
    app.wait_attr("#remaining-refundable", "data-cents", "0").await;

    // A third refund cannot even be started: nothing is left and the order is refunded.
    app.wait_attr("#order-detail", "data-state", "refunded").await;
    assert!(!app.exists("#refund-open").await, "no refund action on a fully refunded order");
    screenshot(&app.client, "finance-refunded.png").await;

    // The sandbox's own state: everything captured is refunded, status 6 (Returned).
    let after = app.sandbox.order(&order_id).await;
    assert_eq!(after["refundedAmount"].as_i64().unwrap(), after["capturedAmount"].as_i64().unwrap());
    assert_eq!(after["refundedAmount"].as_i64().unwrap(), captured);
    assert_eq!(after["status"].as_i64().unwrap(), 6);

    // Exactly two confirmed refund intents and two refund audit entries, under the operator's name.
    let db = app.db();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE kind = 'refund' AND state = 'confirmed' AND order_session_key = ?1",
            [&order_id]
        ),
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT COALESCE(SUM(amount_cents), 0) FROM outbox WHERE kind = 'refund' AND order_session_key = ?1",
            [&order_id]
        ),
        captured
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'refund' AND target = ?1 AND operator = 'Fiona Finance'",
            [&order_id]
        ),
        2
    );

    // The audit log verifies, through the Audit screen.
    app.click("#nav-audit").await;
    app.click("#verify-audit").await;
    app.wait_attr("#audit-verdict", "data-ok", "true").await;
    screenshot(&app.client, "finance-audit-verified.png").await;
    app.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn support_cancels_one_order_found_by_merchant_id_and_three_pending_mit_in_bulk() {
    let app = App::start().await;
    let cancelled_before = app.sandbox.count_with_status(2).await;

    // An agent has only the merchant's order id: search it, open it, cancel it.
    let (target, merchant_id): (String, String) = app
        .db()
        .query_row(
            "SELECT order_session_key, merchant_order_id FROM orders
             WHERE state = 'pending' AND is_mit = 1 AND merchant_order_id IS NOT NULL
             ORDER BY created_at DESC LIMIT 1 OFFSET 10",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    app.type_into("#search-input", &merchant_id).await;
    app.wait_table(&format!("SELECT COUNT(*) FROM orders WHERE merchant_order_id = '{merchant_id}'"), |r| {
        r.0 == target
    })
    .await;
    app.open_order(&target).await;
    app.click("#cancel-open").await;
    app.wait_attr("#cancel-will-count", "data-count", "1").await;
    assert!(!app.exists("#cancel-wont li").await);
    app.type_into("#cancel-reason", "Customer asked to stop the rescue").await;
    screenshot(&app.client, "support-cancel-one.png").await;
    app.click("#cancel-submit").await;
    app.wait_attr("#cancel-status", "data-cancelled", "1").await;
    app.wait_attr(&format!("#cancel-will li[data-order-id='{target}']"), "data-status", "confirmed").await;
    app.click("#cancel-dialog .buttons .btn").await;
    app.wait_gone("#cancel-dialog", "the cancel dialog to close").await;
    app.wait_attr("#order-detail", "data-state", "cancelled").await;
    // Escape while typing a note leaves the note box: the panel and the text stay.
    app.type_into("#note-text", "Called the customer").await;
    app.client
        .execute(
            "document.querySelector('#note-text').dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))",
            vec![],
        )
        .await
        .unwrap();
    assert!(app.exists("#order-detail").await, "Escape in the note box closed the detail panel");
    let kept = app.client.execute("return document.querySelector('#note-text').value", vec![]).await.unwrap();
    assert_eq!(kept.as_str(), Some("Called the customer"), "the typed note was lost");
    app.set_value("#note-text", "").await;
    app.click("#order-detail-close").await;
    app.set_value("#search-input", "").await;

    // Bulk: filter Pending + MIT, select three rows, cancel them.
    app.select("#state-filter", "pending").await;
    app.select("#mit-filter", "mit").await;
    const PENDING_MIT: &str = "SELECT COUNT(*) FROM orders WHERE state = 'pending' AND is_mit = 1";
    app.wait_table(PENDING_MIT, |r| r.1 == "pending" && r.2 == "true").await;
    // Sorted by amount: not the newest orders, which the sandbox may still be moving along.
    app.click("#sort-amount").await;
    app.wait_attr("#orders-table [role=columnheader][aria-sort='descending'] #sort-amount", "id", "sort-amount").await;
    let rows = app.wait_table(PENDING_MIT, |r| r.1 == "pending" && r.2 == "true").await;
    assert!(rows.len() >= 3);
    let picked: Vec<String> = rows.iter().take(3).map(|r| r.0.clone()).collect();
    for id in &picked {
        app.click(&format!("#orders-table .order-row[data-order-id='{id}'] .row-check")).await;
        app.wait_attr(&format!("#orders-table .order-row[data-order-id='{id}']"), "data-selected", "true").await;
    }
    app.wait_attr("#selection-count", "data-count", "3").await;
    screenshot(&app.client, "support-bulk-selected.png").await;
    app.click("#bulk-cancel-open").await;
    app.wait_attr("#cancel-will-count", "data-count", "3").await;
    for id in &picked {
        assert!(app.exists(&format!("#cancel-will li[data-order-id='{id}']")).await, "{id} listed to be cancelled");
    }
    app.type_into("#cancel-reason", "Subscriptions ended").await;
    app.click("#cancel-submit").await;
    app.wait_attr("#cancel-status", "data-cancelled", "3").await;
    screenshot(&app.client, "support-bulk-cancelled.png").await;

    // The sandbox: exactly those four are cancelled (status 2), and no other order is.
    for id in picked.iter().chain(std::iter::once(&target)) {
        assert_eq!(app.sandbox.order(id).await["status"].as_i64(), Some(2), "{id} is cancelled at the sandbox");
    }
    assert_eq!(app.sandbox.count_with_status(2).await, cancelled_before + 4, "exactly four orders were cancelled");
    let db = app.db();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox WHERE kind = 'cancel' AND state = 'confirmed'", []), 4);
    app.click("#cancel-dialog .buttons .btn").await;
    app.wait_gone("#cancel-dialog", "the cancel dialog to close").await;

    // Save this filter as a view with fewer columns, clear everything, and bring it back.
    app.click("#column-chooser-toggle").await;
    app.click("#column-chooser input[value='card']").await;
    app.click("#column-chooser-toggle").await;
    let headers = app.client.find_all(Locator::Css("#orders-table .header [role=columnheader]")).await.unwrap();
    assert_eq!(headers.len(), 8, "the checkbox column plus seven chosen columns");
    let stored = app
        .client
        .execute(
            "return Object.keys(localStorage).filter(k => k.startsWith('flexdesk.columns.')).map(k => localStorage.getItem(k)).join('|');",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        stored.as_str().is_some_and(|s| !s.contains("card") && s.contains("amount")),
        "columns persisted: {stored}"
    );
    app.click("#save-view").await;
    app.type_into("#view-name", "Pending MIT").await;
    app.click("#view-save").await;
    app.wait_gone("#view-name", "the view to be saved").await;
    app.client
        .wait()
        .for_element(Locator::XPath("//select[@id='saved-views']/option[text()='Pending MIT']"))
        .await
        .unwrap();
    app.click("#clear-filters").await;
    app.wait_table("SELECT COUNT(*) FROM orders", |_| true).await;
    app.client.find(Locator::Css("#saved-views")).await.unwrap().select_by_label("Pending MIT").await.unwrap();
    app.wait_table(PENDING_MIT, |r| r.1 == "pending" && r.2 == "true").await;
    screenshot(&app.client, "support-saved-view.png").await;
    app.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_double_clicked_refund_refunds_once_and_external_cancel_cancels_by_merchant_id() {
    let app = App::start().await;
    app.select("#state-filter", "approved").await;
    let rows = app.wait_table("SELECT COUNT(*) FROM orders WHERE state = 'approved'", |r| r.1 == "approved").await;
    let order_id = rows[1].0.clone();
    app.open_order(&order_id).await;
    let before = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    let amount = 100.min(app.remaining_cents().await);

    app.click("#refund-open").await;
    app.set_value("#refund-amount", &major(amount)).await;
    app.type_into("#refund-reason", "Goodwill").await;
    // Two clicks in the same instant: both land before the button can re-render as disabled.
    app.client
        .execute("const b = document.querySelector('#refund-submit'); b.click(); b.click();", vec![])
        .await
        .unwrap();
    app.wait_gone("#refund-dialog", "the refund to be confirmed").await;
    tokio::time::sleep(Duration::from_secs(2)).await; // a second send, if any, would land by now
    let after = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    assert_eq!(after, before + amount, "the sandbox refunded the amount exactly once");
    let db = app.db();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox WHERE kind = 'refund' AND order_session_key = ?1", [&order_id]),
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'refund' AND target = ?1", [&order_id]), 1);
    app.wait_attr("#order-actions li[data-kind='refund']", "data-status", "confirmed").await;
    screenshot(&app.client, "double-click-refund.png").await;

    // Cancel by merchant order id only (external-cancel).
    let (target, merchant_id): (String, String) = db
        .query_row(
            "SELECT order_session_key, merchant_order_id FROM orders
             WHERE state = 'pending' AND is_mit = 1 AND merchant_order_id IS NOT NULL
             ORDER BY created_at DESC LIMIT 1 OFFSET 5",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    app.click("#external-cancel-open").await;
    app.type_into("#external-cancel-id", &merchant_id).await;
    app.type_into("#external-cancel-reason", "Customer called support").await;
    app.click("#external-cancel-submit").await;
    app.wait_attr("#external-cancel-status", "data-status", "confirmed").await;
    screenshot(&app.client, "external-cancel.png").await;
    assert_eq!(app.sandbox.order(&target).await["status"].as_i64(), Some(2), "cancelled at the sandbox");
    app.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_refund_whose_response_is_dropped_ends_with_exactly_one_refund() {
    let app = App::start().await;
    app.select("#state-filter", "approved").await;
    let rows = app.wait_table("SELECT COUNT(*) FROM orders WHERE state = 'approved'", |r| r.1 == "approved").await;
    let order_id = rows[2].0.clone();
    app.open_order(&order_id).await;
    let before = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    let amount = 100.min(app.remaining_cents().await);

    // The refund commits at the sandbox but its answer never arrives.
    app.sandbox.set_faults(serde_json::json!({"dropResponseAfterCommitRate": 1.0, "onlyPathSuffix": "/refund"})).await;
    app.click("#refund-open").await;
    app.set_value("#refund-amount", &major(amount)).await;
    app.type_into("#refund-reason", "Dropped answer").await;
    app.click("#refund-submit").await;
    // FlexDesk re-reads the order, sees the refund, and confirms it without resending. The
    // lost answer may surface only when the client's 30 s request timeout ends it.
    wait_for("the refund to be settled by re-reading", Duration::from_secs(120), || async {
        (!app.exists("#refund-dialog").await).then_some(())
    })
    .await;
    app.sandbox.set_faults(serde_json::json!({})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    assert_eq!(after, before + amount, "exactly one refund reached the sandbox");
    app.wait_attr("#order-actions li[data-kind='refund']", "data-status", "confirmed").await;
    let db = app.db();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'refund' AND target = ?1", [&order_id]), 1);
    screenshot(&app.client, "dropped-response-refund.png").await;
    app.client.clone().close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn a_refund_lost_before_it_ran_stays_unsettled_nothing_is_sent_twice_and_it_can_be_settled_by_hand() {
    let app = App::start().await;
    app.select("#state-filter", "approved").await;
    let rows = app.wait_table("SELECT COUNT(*) FROM orders WHERE state = 'approved'", |r| r.1 == "approved").await;
    let order_id = rows[3].0.clone();
    app.open_order(&order_id).await;
    let before = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    let amount = 100.min(app.remaining_cents().await);

    // The connection drops before FlexFactor runs the refund: FlexDesk cannot know that.
    app.sandbox.set_faults(serde_json::json!({"dropConnectionRate": 1.0, "onlyPathSuffix": "/refund"})).await;
    app.click("#refund-open").await;
    app.set_value("#refund-amount", &major(amount)).await;
    app.type_into("#refund-reason", "Lost on the way").await;
    app.click("#refund-submit").await;
    app.wait_attr("#refund-status", "data-status", "awaitingConfirmation").await;
    app.sandbox.set_faults(serde_json::json!({})).await;
    app.click("#refund-dialog button[aria-label='Close']").await;
    app.wait_gone("#refund-dialog", "the refund dialog to close").await;

    // The order's actions list it as unsettled, with "Check again". Right after the lost
    // request an unchanged total proves nothing, so checking sends nothing.
    app.wait_attr("#order-actions li[data-kind='refund']", "data-status", "awaitingConfirmation").await;
    app.click("#order-actions li[data-kind='refund'] .check-action").await;
    let told = wait_for("the check's answer", Duration::from_secs(60), || async {
        let toast = app.client.find(Locator::Css(".toast[data-kind='info']")).await.ok()?;
        Some(toast.text().await.ok()?).filter(|t| t.contains("Not settled yet"))
    })
    .await;
    assert!(told.contains("waits before"), "{told}");
    // No second refund of the order is offered while the first is unsettled (the core
    // refuses one too: `money_actions`), and the detail says why.
    let note = app.client.wait().for_element(Locator::Css("#refund-unsettled")).await.unwrap().text().await.unwrap();
    assert!(note.contains("not settled yet"), "{note}");
    assert!(!app.exists("#refund-open").await, "a second refund is offered while the first is unsettled");
    screenshot(&app.client, "refund-unsettled.png").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    assert_eq!(after, before, "no refund reached the sandbox");

    // The person checks the FlexFactor portal, finds no refund, and settles it by hand: the
    // order can be refunded again, and still nothing was sent.
    // (Scrolled into view first: the actions sit low in the panel, under the last toast.)
    flexdesk_tests::e2e::click(&app.client, "#order-actions li[data-kind='refund'] .settle-action").await;
    flexdesk_tests::e2e::click(&app.client, ".settle-form input[value='not-made']").await;
    flexdesk_tests::e2e::fill(&app.client, ".settle-form .settle-note", "portal shows no refund").await;
    flexdesk_tests::e2e::click(&app.client, ".settle-form .settle-confirm").await;
    app.wait_attr("#order-actions li[data-kind='refund']", "data-status", "rejected").await;
    app.client.wait().for_element(Locator::Css("#refund-open")).await.unwrap();
    assert!(!app.exists("#refund-unsettled").await);
    let settled = app.sandbox.order(&order_id).await["refundedAmount"].as_i64().unwrap_or(0);
    assert_eq!(settled, before, "settling by hand sends nothing");
    app.client.clone().close().await.unwrap();
}
