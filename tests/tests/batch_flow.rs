//! The app core's batch API end to end on the Demo account: compose a CSV with good and bad
//! rows, fix and drop, upload over the sandbox's SFTP endpoint, ingest the response file,
//! and check every good row against the sandbox; a second upload of the same rows sends
//! nothing.

use std::sync::Arc;
use std::time::Duration;

use flexdesk_core::batch_dto::{BatchDraftView, BatchInput, BatchKindDto};
use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_secrets::{account_key, MemoryStore, SecretStore};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn core(dir: &std::path::Path, secrets: Arc<dyn SecretStore>) -> Result<AppCore, Box<dyn std::error::Error>> {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.demo_order_count = 40;
    config.background_sync = false;
    config.demo_traffic_per_minute = 0;
    Ok(AppCore::open(config)?)
}

fn input(text: &str) -> BatchInput {
    BatchInput {
        text: text.to_string(),
        source_name: "rebills.csv".into(),
        kind: BatchKindDto::Evaluate,
        default_expiry_days: None,
    }
}

fn issues(view: &BatchDraftView) -> Vec<(u32, String, String)> {
    view.rows.iter().flat_map(|r| r.issues.iter().map(|i| (i.line, i.field.clone(), i.kind.clone()))).collect()
}

/// The Demo sandbox over HTTP, with the account's own credentials.
struct SandboxApi {
    http: reqwest::Client,
    base_url: String,
    bearer: String,
}

impl SandboxApi {
    async fn connect(
        dir: &std::path::Path,
        secrets: &dyn SecretStore,
        base_url: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let conn = rusqlite::Connection::open(dir.join("mirror.sqlite3"))?;
        let (id, key): (String, String) =
            conn.query_row("SELECT id, app_key FROM accounts WHERE environment = 'demo'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let secret = secrets.get(&account_key(&id, "app-secret"))?;
        let http = reqwest::Client::new();
        let bearer = flexdesk_tests::access_token(&http, base_url, &key, secret.expose()).await;
        Ok(SandboxApi { http, base_url: base_url.to_string(), bearer })
    }

    async fn get(&self, path: &str) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
        let r = self.http.get(format!("{}{path}", self.base_url)).bearer_auth(&self.bearer).send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(serde_json::Value::Null)))
    }

    async fn order_count(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let (_, page) = self.get("/orders?pageSize=1").await?;
        Ok(page["totalItemCount"].as_u64().ok_or("no totalItemCount")?)
    }
}

#[tokio::test]
async fn good_rows_become_sandbox_orders_and_a_second_upload_sends_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let app = core(dir.path(), secrets.clone())?;
    let account = app.start().await?;
    let api = SandboxApi::connect(dir.path(), secrets.as_ref(), &account.base_url).await?;

    // 10 rows, 3 of them bad: an amount under the minimum, a malformed email, no card token.
    let csv = app.batch_demo_sample(10, 3).await?;
    let view = app.batch_compose(input(&csv))?;
    assert_eq!((view.total, view.valid, view.invalid), (10, 7, 3), "{:?}", issues(&view));
    let found = issues(&view);
    let line_of = |field: &str| found.iter().find(|(_, f, _)| f == field).map(|(l, _, _)| *l);
    let amount_line = line_of("transaction.amount").ok_or("no amount issue")?;
    let email_line = line_of("payer.email").ok_or("no email issue")?;
    let token_line = found.iter().map(|(l, _, _)| *l).find(|l| *l != amount_line && *l != email_line);
    let token_line = token_line.ok_or("no third bad row")?;
    assert!(found.iter().any(|(l, _, k)| *l == amount_line && k == "amount_too_small"), "{found:?}");

    // Nothing leaves the machine while a row is bad.
    let err = app.batch_upload().await.err().ok_or("a draft with bad rows was uploaded")?;
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(app.list_batches()?.is_empty());

    // Fix one, drop two.
    let view = app.batch_fix_row(amount_line, "transaction.amount", "1500")?;
    assert_eq!((view.valid, view.invalid), (8, 2));
    let bad_csv = app.batch_export_bad()?;
    assert_eq!(bad_csv.lines().count(), 3, "header plus two bad rows:\n{bad_csv}");
    let view = app.batch_drop_rows(vec![email_line, token_line])?;
    assert_eq!((view.valid, view.invalid, view.dropped), (8, 0, 2));
    // What will be charged, in the unit the column was read in.
    let amounts = view.amounts.clone().ok_or("no amounts summary")?;
    assert_eq!((amounts.header.as_str(), amounts.unit.as_str(), amounts.rows), ("amount_cents", "cents", 8));
    assert!(amounts.smallest_cents >= 999 && amounts.largest_cents <= 4899, "{amounts:?}");

    // The same export with its amounts in dollars ("19.99") under a plain "amount" header is
    // read in major units: the same cents go out.
    let in_dollars: String = csv
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            cells[2] = if i == 0 {
                "amount".into()
            } else {
                cells[2].parse::<i64>().map(|c| format!("{}.{:02}", c / 100, c % 100)).unwrap_or_default()
            };
            cells.join(",") + "\n"
        })
        .collect();
    let dollars = app.batch_compose(input(&in_dollars))?;
    let read = dollars.amounts.clone().ok_or("no amounts summary")?;
    assert_eq!((read.header.as_str(), read.unit.as_str()), ("amount", "major"), "{read:?}");
    assert!(dollars.mapping.iter().any(|m| m.header == "amount" && m.field == "transaction.amountMajor"));
    // Back to the draft being fixed (composing replaced it): the same fix and drops again.
    app.batch_compose(input(&csv))?;
    app.batch_fix_row(amount_line, "transaction.amount", "1500")?;
    let view = app.batch_drop_rows(vec![email_line, token_line])?;
    assert_eq!((view.valid, view.invalid, view.dropped), (8, 0, 2));

    // An upload that fails before the batch is recorded (here: another program holds the
    // database's write lock past the busy timeout) keeps the draft with its fix and drops.
    {
        let locker = rusqlite::Connection::open(dir.path().join("mirror.sqlite3"))?;
        locker.execute_batch("BEGIN EXCLUSIVE")?;
        let err = app.batch_upload().await.err().ok_or("uploaded while the database was locked")?;
        assert_eq!(err.code(), ErrorCode::Storage, "{err}");
        locker.execute_batch("ROLLBACK")?;
    }
    assert!(app.list_batches()?.is_empty());
    let kept = app.batch_draft()?.ok_or("the failed upload lost the draft")?;
    assert_eq!((kept.valid, kept.invalid, kept.dropped), (8, 0, 2));

    let before = api.order_count().await?;
    let batch = app.batch_upload().await?;
    assert_eq!(batch.row_count, 8);
    let done = tokio::time::timeout(Duration::from_secs(90), app.run_batch(&batch.id)).await??;
    assert_eq!(done.status, "answered", "{done:?}");
    assert_eq!(done.answered_rows, 8);

    let rows = app.batch_rows(&batch.id)?;
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().any(|r| r.line == amount_line), "the fixed row was not sent");
    assert!(!rows.iter().any(|r| r.line == email_line || r.line == token_line), "a dropped row was sent");
    for r in &rows {
        let status = r.status.as_deref().ok_or("a row has no outcome")?;
        assert_ne!(status, "ERROR", "row {} failed: {:?}", r.line, r.errors);
        let key = r.order_session_key.as_deref().ok_or("a good row is not linked to an order")?;
        let (code, order) = api.get(&format!("/orders/{key}")).await?;
        assert_eq!(code, 200, "the sandbox does not hold order {key}");
        assert!(order.to_string().contains(&r.order_id), "order {key} is not {}: {order}", r.order_id);
    }
    assert_eq!(api.order_count().await? - before, 8, "the sandbox did not get exactly the 8 rows");

    // Again: the ledger sends nothing. Re-running the batch is a no-op, and the same rows
    // composed again are refused as already submitted.
    let again = tokio::time::timeout(Duration::from_secs(60), app.run_batch(&batch.id)).await??;
    assert_eq!(again.status, "answered");
    let view = app.batch_compose(input(&csv))?;
    let submitted = issues(&view).iter().filter(|(_, _, k)| k == "already_submitted").count();
    assert_eq!(submitted, 8, "{:?}", issues(&view));
    let all_bad: Vec<u32> = view.rows.iter().filter(|r| !r.issues.is_empty()).map(|r| r.line).collect();
    assert_eq!(all_bad.len(), 10);
    let view = app.batch_drop_rows(all_bad)?;
    assert_eq!(view.valid, 0);
    let err = app.batch_upload().await.err().ok_or("an empty batch was uploaded")?;
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert_eq!(app.list_batches()?.len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(api.order_count().await? - before, 8, "a second upload reached the sandbox");
    app.shutdown().await;
    Ok(())
}
