//! End to end through the real window: the built app under Xvfb, driven over WebDriver
//! (tauri-driver + WebKitWebDriver). Run by `scripts/test.sh`; ignored by plain `cargo test`.
//! Screenshots go to `artifacts/e2e/`.

use fantoccini::{Client, Locator};
use flexdesk_tests::e2e::{
    attr, click, fill, launch, screenshot, screenshot_display, top_of_view, wait_for, wait_for_backfill,
    wait_for_js_list, wait_for_opt, Sandbox,
};
use std::time::Duration;

/// Opens the Overview, then the Orders screen again.
async fn away_and_back(client: &Client) {
    click(client, "#nav-overview").await;
    client.wait().for_element(Locator::Css("#range-preset")).await.unwrap();
    click(client, "#nav-orders").await;
    client.wait().for_element(Locator::Css("#orders-table")).await.unwrap();
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring and the built app: run scripts/test.sh"]
async fn demo_account_backfills_shows_every_order_and_finds_one_by_merchant_id() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    // No live traffic: the table's count is compared with the sandbox's at one moment.
    let (_driver, client) = launch(4444, &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")]).await;

    // The first backfill runs with a progress bar, then the phase settles to idle.
    let total_rows = wait_for_backfill(&client, Duration::from_secs(180)).await;
    let relay = wait_for("the Demo relay to connect", Duration::from_secs(30), || async {
        attr(&client, "#relay-status", "data-connected").await.filter(|c| c == "true")
    })
    .await;
    assert_eq!(relay, "true");
    screenshot(&client, "orders.png").await;
    // The card's last four digits are what support reads out: never cut off.
    let clipped = client
        .execute(
            "return [...document.querySelectorAll('#orders-table .order-row .card')].slice(0, 20)
               .filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clipped, serde_json::json!([]), "card cells cut off at 1280 px");

    // Every control of the top bar is inside the window, at the default size and at the
    // smallest the window allows (tauri.conf.json: minWidth 900).
    for (width, height) in [(900, 600), (1280, 800)] {
        client.set_window_size(width, height).await.unwrap();
        let outside = wait_for("the top bar to fit the window", Duration::from_secs(10), || async {
            let found = client
                .execute(
                    "const w = document.documentElement.clientWidth;
                     const out = [...document.querySelectorAll('.top-bar > :not(.spacer)')]
                       .filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > w + 0.5 || r.width < 1; })
                       .map((e) => e.id || e.className);
                     return [w, out];",
                    vec![],
                )
                .await
                .ok()?;
            let (w, out) = (found[0].as_u64()?, found[1].as_array()?.clone());
            // Wait for the resize to reach the page before judging it.
            (w + 40 >= width as u64 && w <= width as u64).then_some(out)
        })
        .await;
        assert!(outside.is_empty(), "top-bar controls outside a {width} px window: {outside:?}");
        if width == 900 {
            // The screens that do not fit scroll; the edge hiding them fades; choosing one
            // brings it into view.
            wait_for("the screen list to show it hides some", Duration::from_secs(5), || async {
                attr(&client, "nav.screens", "class").await.filter(|c| c.contains("hidden-right"))
            })
            .await;
            screenshot(&client, "orders-narrow.png").await;
            client
                // A script click, which (unlike WebDriver's) does not scroll the button first.
                .execute("document.querySelector('#nav-audit').click()", vec![])
                .await
                .unwrap();
            wait_for("the audit log's tab in view", Duration::from_secs(5), || async {
                let inside = client
                    .execute(
                        "const n = document.querySelector('nav.screens').getBoundingClientRect();
                         const b = document.querySelector('#nav-audit[aria-current=page]')?.getBoundingClientRect();
                         return !!b && b.left >= n.left - 0.5 && b.right <= n.right + 0.5;",
                        vec![],
                    )
                    .await
                    .ok()?;
                inside.as_bool().filter(|v| *v)
            })
            .await;
            // The review queue is wider than this window: it scrolls sideways, its decision
            // buttons stay in view.
            client.execute("document.querySelector('#nav-review').click()", vec![]).await.unwrap();
            wait_for("every decision button of the first review row in view", Duration::from_secs(20), || async {
                let inside = client
                    .execute(
                        "const w = document.documentElement.clientWidth;
                         const b = [...document.querySelectorAll('.review-row')][0]?.querySelectorAll('.review-decide');
                         return !!b && b.length > 0 && [...b].every((e) => { const r = e.getBoundingClientRect(); return r.left >= 0 && r.right <= w + 0.5; });",
                        vec![],
                    )
                    .await
                    .ok()?;
                inside.as_bool().filter(|v| *v)
            })
            .await;
            // Pending rescues: in a narrow window the ids and names give way, a date or a
            // countdown never breaks onto a second line or spills out of its cell.
            client.execute("document.querySelector('#nav-pending').click()", vec![]).await.unwrap();
            let wrapped = wait_for_js_list(
                &client,
                "the pending rescues' rows",
                Duration::from_secs(20),
                "const rows = [...document.querySelectorAll('.pending-row')].slice(0, 20);
                 if (rows.length === 0) return null;
                 const lines = (e) => { const r = document.createRange(); r.selectNodeContents(e);
                   return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; };
                 return rows.flatMap((row) => [...row.querySelectorAll('td.date, td.countdown')])
                   .filter((td) => lines(td) > 1 || td.scrollWidth > td.clientWidth + 1)
                   .map((td) => `${td.textContent.trim()}: ${lines(td)} line(s), ${td.scrollWidth} px in ${td.clientWidth}`);",
            )
            .await;
            assert!(wrapped.is_empty(), "pending dates or countdowns on two lines or cut off at 900 px: {wrapped:?}");
            screenshot(&client, "pending-narrow.png").await;
            // Scrolled down, the column headers stay in view above the current bucket's header.
            client.execute("document.querySelector('#pending-screen .list').scrollTop = 900", vec![]).await.unwrap();
            let covered = wait_for_js_list(
                &client,
                "the pending list scrolled",
                Duration::from_secs(5),
                "const list = document.querySelector('#pending-screen .list');
                 if (list.scrollTop < 100) return null;
                 return [...document.querySelectorAll('#pending-screen thead th')].filter((th) => {
                   const r = th.getBoundingClientRect();
                   const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                   return !at || !at.closest('thead');
                 }).map((th) => th.textContent.trim());",
            )
            .await;
            assert!(covered.is_empty(), "column headers covered in the scrolled pending list: {covered:?}");
            screenshot(&client, "pending-scrolled.png").await;
            client.find(Locator::Css("#nav-orders")).await.unwrap().click().await.unwrap();
        } else {
            // At the default size every screen's tab shows whole (the account picker gives way).
            wait_for("every screen tab in view", Duration::from_secs(5), || async {
                attr(&client, "nav.screens", "class").await.filter(|c| !c.contains("hidden-"))
            })
            .await;
        }
    }

    // The sandbox's own count, asked over HTTP with the Demo credentials from the keychain.
    let sandbox = Sandbox::connect(&client, data_dir.path()).await;
    let first_page = sandbox.get("/orders?pageSize=1").await;
    let sandbox_total = first_page["totalItemCount"].as_u64().unwrap();
    assert_eq!(total_rows, sandbox_total, "mirror rows differ from the sandbox's order count");
    let table_count: u64 = wait_for("the table's row count", Duration::from_secs(10), || async {
        attr(&client, "#row-count", "data-count").await?.parse().ok()
    })
    .await;
    assert_eq!(table_count, sandbox_total, "the table does not show every order");

    // Another screen and back: the list opens where it was left, with the same order at the
    // top of the view (also if live orders arrived meanwhile).
    let scrolled = client
        .execute(
            "const g = document.getElementById('orders-table'); g.scrollTop = 9000; \
             g.dispatchEvent(new Event('scroll')); return g.scrollTop",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(scrolled > 8000.0, "the grid did not scroll: {scrolled}");
    let top = || top_of_view(&client);
    let read = wait_for("the order at the top of the view", Duration::from_secs(10), top).await;
    away_and_back(&client).await;
    let back = wait_for_opt(Duration::from_secs(10), || async { top().await.filter(|k| *k == read) }).await;
    assert_eq!(back, Some(read.clone()), "back on the Orders screen, {read} is no longer at the top of the view");

    // Search a known merchant order id (one from the middle of the history).
    let middle = sandbox.get(&format!("/orders?pageSize=1&pageNumber={}", sandbox_total / 2)).await;
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

    // Open the found order, go to another screen and come back: the search, the result and
    // the open order are still there.
    click(&client, "#orders-table .order-row").await;
    let opened = wait_for("the order's detail", Duration::from_secs(10), || async {
        attr(&client, "#order-detail", "data-order-id").await
    })
    .await;
    away_and_back(&client).await;
    wait_for("the same search, result and detail", Duration::from_secs(10), || async {
        let search = client.find(Locator::Css("#search-input")).await.ok()?.prop("value").await.ok()??;
        let count = attr(&client, "#row-count", "data-count").await?;
        let detail = attr(&client, "#order-detail", "data-order-id").await?;
        (search == merchant_id && count == "1" && detail == opened).then_some(())
    })
    .await;

    // A wrong AppSecret on a custom account pointed at the sandbox: a clear rejection.
    client.find(Locator::Css("#open-accounts")).await.unwrap().click().await.unwrap();
    let env = client.wait().for_element(Locator::Css("#acct-env")).await.unwrap();
    env.select_by_value("custom").await.unwrap();
    fill(&client, "#acct-name", "Wrong secret").await;
    fill(&client, "#acct-base-url", &sandbox.base_url).await;
    fill(&client, "#acct-mid", "00000000-0000-4000-8000-000000000000").await;
    fill(&client, "#acct-app-key", &sandbox.app_key).await;
    fill(&client, "#acct-app-secret", "definitely-not-the-secret").await;
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
    // Taken from the display: WebKit's own snapshot hangs without a session bus.
    screenshot_display("no-keychain.png").await;
    client.close().await.unwrap();

    let conn = rusqlite::Connection::open(data_dir.path().join("mirror.sqlite3")).unwrap();
    let accounts: i64 = conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap();
    assert_eq!(accounts, 0, "an account was saved although its secret could not be");
}
