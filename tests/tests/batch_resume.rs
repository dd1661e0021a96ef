//! Batches left unfinished when the app core stops are resumed at the next start: one
//! uploaded whose response file had not come back, one cut halfway through its upload.
//! The first core runs on a runtime of its own that is dropped mid-flight (its background
//! tasks die with it, as with a closed app); a second core on the same data directory and
//! keychain calls `resume_unfinished_batches()` as the shell does after `start()`. Both
//! batches reach their outcomes and every row reaches the merchant's sandbox exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flexdesk_core::batch_dto::{BatchInput, BatchKindDto, BatchView, SftpSettingsInput};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::{MemoryStore, SecretStore};
use flexdesk_tests::merchant::{Merchant, KEY_PASSPHRASE};

fn core(dir: &std::path::Path, secrets: Arc<dyn SecretStore>) -> AppCore {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.background_sync = false;
    AppCore::open(config).unwrap()
}

fn evaluate(csv: String, name: &str) -> BatchInput {
    BatchInput { text: csv, source_name: name.into(), kind: BatchKindDto::Evaluate, default_expiry_days: None }
}

/// The SFTP settings of the merchant's endpoint, pinned to `host_key`.
fn merchant_sftp(merchant: &Merchant, host_key: String) -> SftpSettingsInput {
    SftpSettingsInput {
        host: "127.0.0.1".into(),
        port: merchant.sftp.local_addr().port(),
        user: "merchant".into(),
        key_path: merchant.key_path().display().to_string(),
        host_key,
        inbound_dir: merchant.sftp.inbound_dir().into(),
        outbound_dir: merchant.sftp.outbound_dir().into(),
        passphrase: Some(KEY_PASSPHRASE.into()),
    }
}

/// Uploads `csv` with the merchant's SFTP settings pinned to the wrong host key: the first
/// attempt fails, and the batch is returned once it says so.
async fn upload_refused_by_the_host_key(app: &AppCore, merchant: &Merchant, csv: String, name: &str) -> BatchView {
    let not_the_server = std::fs::read_to_string(merchant.key_path().with_extension("pub")).unwrap();
    app.configure_sftp(merchant_sftp(merchant, not_the_server)).unwrap();
    app.batch_compose(evaluate(csv, name)).unwrap();
    let batch = app.batch_upload().await.unwrap();
    wait_until_failed(app).await;
    batch
}

/// Waits until the newest batch shows as failed.
async fn wait_until_failed(app: &AppCore) {
    let start = Instant::now();
    while app.list_batches().unwrap()[0].status != "failed" {
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", app.list_batches().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A core on `data` (response wait one second, a later look every `recheck_every`) with the
/// merchant's account and SFTP login, and `csv` uploaded as `name`: returned with the batch
/// once the wait has ended without a response and the batch says so.
async fn uploaded_and_waiting(
    merchant: &Merchant,
    data: &std::path::Path,
    secrets: Arc<dyn SecretStore>,
    csv: String,
    name: &str,
    recheck_every: Duration,
) -> (AppCore, BatchView) {
    let mut config = CoreConfig::new(data.to_path_buf(), secrets);
    config.background_sync = false;
    config.batch_response_wait = Duration::from_secs(1);
    config.batch_recheck_every = recheck_every;
    let app = AppCore::open(config).unwrap();
    app.add_account(merchant.account()).await.unwrap();
    app.configure_sftp(merchant_sftp(merchant, merchant.sftp.host_key().to_string())).unwrap();
    app.batch_compose(evaluate(csv, name)).unwrap();
    app.batch_upload().await.unwrap();
    let start = Instant::now();
    loop {
        let b = app.list_batches().unwrap().remove(0);
        if b.last_error.is_some() {
            return (app, b);
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{b:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until FlexFactor's side has written a response into `outbound`.
async fn wait_for_a_response_file(outbound: &std::path::Path) {
    let start = Instant::now();
    while names_in(outbound).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "FlexFactor's side never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the core's only batch is answered, with no note left.
async fn wait_until_answered(app: &AppCore, within: Duration) {
    let start = Instant::now();
    loop {
        let b = app.list_batches().unwrap().remove(0);
        if b.status == "answered" {
            assert_eq!(b.last_error, None, "{b:?}");
            return;
        }
        assert!(start.elapsed() < within, "{b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The files in `dir`, without the temporary dot-files of a transfer in progress.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_unfinished_when_the_core_stopped_are_resumed_at_start_and_sent_once() {
    // The merchant's SFTP endpoint never picks up uploads by itself (poll: 1 h), so the
    // first core's batch is still waiting for its response when that core stops.
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let server = merchant.sftp.root().to_path_buf();
    let csv_a = merchant.rebills_csv("RA", 6).await;
    let csv_b = merchant.rebills_csv("RB", 4).await;
    let data = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let orders_before = merchant.sandbox.orders_snapshot().len();

    let settings = merchant_sftp(&merchant, merchant.sftp.host_key().to_string());
    let (dir, keychain, account) = (data.path().to_path_buf(), secrets.clone(), merchant.account());
    let first_run = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ids = runtime.block_on(async {
            let app = core(&dir, keychain);
            app.add_account(account).await.unwrap();
            app.configure_sftp(settings).unwrap();
            // Batch A: uploaded; its background runner then waits for the response.
            app.batch_compose(evaluate(csv_a, "a.csv")).unwrap();
            let a = app.batch_upload().await.unwrap();
            let start = Instant::now();
            loop {
                let view = app.list_batches().unwrap().into_iter().find(|b| b.id == a.id).unwrap();
                if view.status == "uploaded" {
                    break;
                }
                assert!(start.elapsed() < Duration::from_secs(30), "batch A was not uploaded: {view:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Batch B: recorded; the core stops before its runner ever runs (this runtime
            // has one thread and it is dropped right after).
            app.batch_compose(evaluate(csv_b, "b.csv")).unwrap();
            let b = app.batch_upload().await.unwrap();
            assert_eq!(b.status, "built");
            (a.id, b.id)
        });
        drop(runtime); // the app stops: every task of this core dies here
        ids
    });
    let (a, b) = tokio::task::spawn_blocking(move || first_run.join().unwrap()).await.unwrap();

    // What the stop left: A on the server unanswered, B nowhere.
    let inbound = names_in(&server.join("inbound"));
    assert_eq!(inbound.len(), 1, "only batch A was uploaded: {inbound:?}");
    // Make B's stop a cut mid-upload: what an upload of B leaves when the app dies halfway
    // (the first half under the temporary name, the ledger at "uploading").
    let (b_name, b_bytes): (String, Vec<u8>) = {
        let db = rusqlite::Connection::open(data.path().join("mirror.sqlite3")).unwrap();
        let file: (String, Vec<u8>) = db
            .query_row("SELECT name, bytes FROM batch_files WHERE batch_id = ?1", [&b], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let half = (file.1.len() / 2) as i64;
        db.execute("UPDATE batch_files SET status = 'uploading', sent_bytes = ?1 WHERE batch_id = ?2", (half, &b))
            .unwrap();
        file
    };
    let part = server.join("inbound").join(format!(".{b_name}.part"));
    std::fs::write(&part, &b_bytes[..b_bytes.len() / 2]).unwrap();
    assert!(names_in(&server.join("outbound")).is_empty());
    assert_eq!(merchant.sandbox.orders_snapshot().len(), orders_before, "nothing was processed yet");

    // The merchant's side answers from now on (A's response is there before the app starts
    // again: the resumed A gets one look); the app starts again and resumes.
    let _processing = merchant.start_processing().await;
    let start = Instant::now();
    while names_in(&server.join("outbound")).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "FlexFactor's side never answered A");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let app = core(data.path(), secrets.clone());
    app.start().await.unwrap();
    let before = app.list_batches().unwrap();
    assert_eq!(before.iter().find(|v| v.id == a).unwrap().status, "uploaded");
    assert_eq!(before.iter().find(|v| v.id == b).unwrap().status, "uploading");
    let mut resumed = app.resume_unfinished_batches().unwrap();
    resumed.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(resumed, expected);
    let start = Instant::now();
    loop {
        let views = app.list_batches().unwrap();
        if views.iter().all(|v| v.status == "answered") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not answered: {views:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every row has its outcome and its order, and reached the sandbox exactly once.
    for (id, prefix, n) in [(&a, "RA", 6), (&b, "RB", 4)] {
        let rows = app.batch_rows(id).unwrap();
        assert_eq!(rows.len(), n);
        for r in &rows {
            assert!(r.order_id.starts_with(prefix), "{r:?}");
            assert_ne!(r.status.as_deref(), Some("ERROR"), "{r:?}");
            assert!(r.status.is_some() && r.order_session_key.is_some(), "{r:?}");
            assert_eq!(merchant.orders_with_external_id(&r.order_id), 1, "{} reached the sandbox", r.order_id);
        }
    }
    assert_eq!(merchant.sandbox.orders_snapshot().len(), orders_before + 10);
    assert_eq!(names_in(&server.join("outbound")).len(), 2, "one response per file");
    let left: Vec<_> = std::fs::read_dir(server.join("inbound")).unwrap().collect();
    assert!(left.is_empty(), "the temporary file was left behind: {left:?}");

    // Starting once more finds nothing to resume.
    assert!(app.resume_unfinished_batches().unwrap().is_empty());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_refusing_part_of_a_file_or_naming_another_order_is_recorded_as_such() {
    // Nobody processes the upload (poll: 1 h): the test writes FlexFactor's response itself.
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let server = merchant.sftp.root().to_path_buf();
    let csv = merchant.rebills_csv("RR", 3).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.add_account(merchant.account()).await.unwrap();
    app.configure_sftp(merchant_sftp(&merchant, merchant.sftp.host_key().to_string())).unwrap();
    assert_eq!(app.batch_compose(evaluate(csv, "r.csv")).unwrap().valid, 3);
    let batch = app.batch_upload().await.unwrap();
    let name = batch.files[0].name.clone();
    let sent = server.join("inbound").join(&name);
    let start = Instant::now();
    while !sent.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "the batch was not uploaded: {:?}", names_in(&server));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let body: serde_json::Value = serde_json::from_slice(&std::fs::read(&sent).unwrap()).unwrap();
    let first_order = body["body"][0]["orderId"].as_str().unwrap().to_string();

    // Row 1 answered without its number (matched by its order id); row 2 answered for an
    // order that is not the one sent under that number; row 3 not answered by itself, but
    // the file carries an error of its own.
    let response = serde_json::json!({"sourceFile": name, "rows": [
        {"orderId": first_order, "orderSessionKey": "k-1", "status": "SUBMITTED", "errors": []},
        {"sequenceNumber": "2", "orderId": "SOMEONE-ELSE", "orderSessionKey": "k-2", "status": "SUBMITTED"},
        {"sequenceNumber": "", "status": "ERROR", "errors": ["line 3 could not be read"]}
    ]});
    let outbound = server.join("outbound");
    std::fs::create_dir_all(&outbound).unwrap();
    std::fs::write(outbound.join(flexdesk_batch::response_name(&name)), response.to_string()).unwrap();

    let start = Instant::now();
    let view = loop {
        let view = app.list_batches().unwrap().into_iter().find(|b| b.id == batch.id).unwrap();
        if view.status == "answered" && view.last_error.is_some() {
            break view;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the response was not recorded: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let note = view.last_error.unwrap();
    assert!(note.contains("could not process") && note.contains("line 3 could not be read"), "{note}");
    let rows = app.batch_rows(&batch.id).unwrap();
    assert_eq!((rows[0].status.as_deref(), rows[0].order_session_key.as_deref()), (Some("SUBMITTED"), Some("k-1")));
    assert_eq!(rows[1].order_session_key, None, "an answer naming another order is not linked to this row");
    assert!(rows[1].errors.as_deref().unwrap_or_default().contains("SOMEONE-ELSE"), "{:?}", rows[1].errors);
    assert_eq!(rows[2].status.as_deref(), Some("ERROR"));
    assert_eq!(rows[2].errors.as_deref(), Some("line 3 could not be read"));
    // A later run of the answered batch (a Retry, a look queued behind the run that finished
    // it) changes nothing: the note stays.
    let again = app.run_batch(&batch.id).await.unwrap();
    assert_eq!(again.last_error.as_deref(), Some(note.as_str()));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retried_long_after_it_was_built_is_sent_with_a_current_sign_in() {
    let merchant = Merchant::start(Duration::from_millis(200)).await;
    let csv = merchant.rebills_csv("RT", 3).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.add_account(merchant.account()).await.unwrap();
    let settings = |host_key: String| merchant_sftp(&merchant, host_key);
    let batch = upload_refused_by_the_host_key(&app, &merchant, csv, "t.csv").await;
    // Retrying before the settings are fixed says what to fix, as the person's to fix.
    let err = app.run_batch(&batch.id).await.unwrap_err();
    assert_eq!(err.code(), flexdesk_core::ErrorCode::InvalidInput, "{err}");
    assert!(err.to_string().contains("pin the new key"), "{err}");
    // Fixed twenty minutes later: the sign-in in the built file has expired meanwhile (the
    // sandbox revokes it; the app's own sign-in is renewed by its next call).
    let db = rusqlite::Connection::open(data.path().join("mirror.sqlite3")).unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::minutes(20)).to_rfc3339();
    db.execute("UPDATE batches SET created_at = ?1", [&old]).unwrap();
    merchant.sandbox.force_token_expiry();
    app.sync_once().await.unwrap();
    app.configure_sftp(settings(merchant.sftp.host_key().to_string())).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(90), app.run_batch(&batch.id)).await.unwrap().unwrap();
    assert_eq!(done.status, "answered", "{done:?}");
    let rows = app.batch_rows(&batch.id).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_ne!(r.status.as_deref(), Some("ERROR"), "row {} refused: {:?}", r.line, r.errors);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_without_an_sftp_login_records_nothing_and_a_lost_login_is_said_on_the_batch() {
    let merchant = Merchant::start(Duration::from_millis(200)).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.add_account(merchant.account()).await.unwrap();
    app.batch_compose(evaluate(merchant.rebills_csv("NL", 2).await, "n.csv")).unwrap();
    let err = app.batch_upload().await.unwrap_err();
    assert_eq!(err.code(), flexdesk_core::ErrorCode::InvalidInput);
    assert!(err.to_string().contains("SFTP is not set up"), "{err}");
    assert!(app.list_batches().unwrap().is_empty(), "a batch that could never start was recorded");

    // The draft is still there: with a login (here a wrong host key) it is recorded. Its
    // login then removed, a retry says so on the batch (failed, with Retry), not only in the log.
    let batch = {
        let not_the_server = std::fs::read_to_string(merchant.key_path().with_extension("pub")).unwrap();
        app.configure_sftp(merchant_sftp(&merchant, not_the_server)).unwrap();
        let batch = app.batch_upload().await.unwrap();
        wait_until_failed(&app).await;
        batch
    };
    let db = rusqlite::Connection::open(data.path().join("mirror.sqlite3")).unwrap();
    db.execute("DELETE FROM settings WHERE key LIKE 'sftp:%'", []).unwrap();
    app.run_batch(&batch.id).await.unwrap_err();
    let view = app.list_batches().unwrap().remove(0);
    assert_eq!(view.status, "failed");
    assert!(view.last_error.as_deref().is_some_and(|e| e.contains("SFTP is not set up")), "{view:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_left_unsent_with_no_upload_running_shows_as_stalled_and_retry_sends_it() {
    let merchant = Merchant::start(Duration::from_millis(200)).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.add_account(merchant.account()).await.unwrap();
    let batch = upload_refused_by_the_host_key(&app, &merchant, merchant.rebills_csv("ST", 2).await, "s.csv").await;
    assert!(!app.list_batches().unwrap()[0].stalled, "a failed batch has its own Retry");
    // As a batch is after FlexDesk was closed during its upload: not sent, no error, no run.
    let db = rusqlite::Connection::open(data.path().join("mirror.sqlite3")).unwrap();
    db.execute("UPDATE batches SET last_error = NULL", []).unwrap();
    let view = app.list_batches().unwrap().remove(0);
    assert!(view.status == "built" || view.status == "uploading", "{view:?}");
    assert!(view.stalled, "{view:?}");
    // Retry: running at once (not stalled), then sent and answered.
    app.configure_sftp(merchant_sftp(&merchant, merchant.sftp.host_key().to_string())).unwrap();
    let view = app.resume_batch(&batch.id).unwrap();
    assert!(!app.list_batches().unwrap()[0].stalled, "{view:?}");
    wait_until_answered(&app, Duration::from_secs(90)).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_sent_only_with_its_own_accounts_login_and_sign_in_whichever_account_is_active() {
    let first = Merchant::start(Duration::from_millis(200)).await;
    let second = Merchant::start(Duration::from_millis(200)).await;
    let csv = first.rebills_csv("OWN", 2).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    let account = app.add_account(first.account()).await.unwrap();
    let batch = upload_refused_by_the_host_key(&app, &first, csv, "own.csv").await;
    // The login is fixed twenty minutes later (the sign-in in the built file has expired),
    // and then the person works on a second merchant account, with a working login of its own.
    app.configure_sftp(merchant_sftp(&first, first.sftp.host_key().to_string())).unwrap();
    let db = rusqlite::Connection::open(data.path().join("mirror.sqlite3")).unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::minutes(20)).to_rfc3339();
    db.execute("UPDATE batches SET created_at = ?1", [&old]).unwrap();
    first.sandbox.force_token_expiry();
    let mut other = second.account();
    other.name = "Second merchant".into();
    let other = app.add_account(other).await.unwrap();
    app.configure_sftp(merchant_sftp(&second, second.sftp.host_key().to_string())).unwrap();
    // A retry of the first account's batch now: it goes nowhere, and says what to do.
    let err = app.run_batch(&batch.id).await.unwrap_err();
    assert!(err.to_string().contains("switch to it"), "{err}");
    let server = |m: &Merchant, folder: &str| names_in(&m.sftp.root().join(folder));
    assert!(server(&second, "inbound").is_empty() && server(&second, "outbound").is_empty());
    assert!(server(&first, "inbound").is_empty() && server(&first, "outbound").is_empty());
    // Back on the first account, the same retry goes through its own endpoint.
    app.switch_account(&account.id).await.unwrap();
    app.sync_once().await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(90), app.run_batch(&batch.id)).await.unwrap().unwrap();
    assert_eq!(done.status, "answered", "{done:?}");
    for r in &app.batch_rows(&batch.id).unwrap() {
        assert_ne!(r.status.as_deref(), Some("ERROR"), "row {} refused: {:?}", r.line, r.errors);
    }
    assert!(server(&second, "inbound").is_empty() && server(&second, "outbound").is_empty());
    // Nor is a draft imported (and checked) for the first account uploaded for the second.
    let csv = first.rebills_csv("DRAFT", 1).await;
    app.batch_compose(evaluate(csv, "draft.csv")).unwrap();
    app.switch_account(&other.id).await.unwrap();
    let err = app.batch_upload().await.unwrap_err();
    assert!(err.to_string().contains("imported while another account was open"), "{err}");
    assert!(server(&second, "inbound").is_empty());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answered_after_the_wait_is_picked_up_by_a_later_look_without_a_retry() {
    // FlexFactor's side does not process uploads until later in the test.
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let csv = merchant.rebills_csv("LATE", 2).await;
    let data = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let (app, batch) =
        uploaded_and_waiting(&merchant, data.path(), secrets, csv, "late.csv", Duration::from_secs(1)).await;
    // The wait ends without a response, and the batch says so.
    let waiting = app.list_batches().unwrap().remove(0);
    assert!(waiting.last_error.as_deref().is_some_and(|e| e.contains("checks again every second")), "{waiting:?}");
    assert!(waiting.files.iter().all(|f| f.status == "uploaded"), "{waiting:?}");
    // Waiting with a note is not a failure: nothing needs fixing.
    assert_eq!(waiting.status, "uploaded", "{waiting:?}");
    // FlexFactor answers later; nobody presses Retry.
    let _processing = merchant.start_processing().await;
    wait_until_answered(&app, Duration::from_secs(60)).await;
    assert_eq!(app.batch_rows(&batch.id).unwrap().len(), 2);
    app.shutdown().await;
}

/// The statuses of a batch's files, read from the mirror file (whichever account is open).
fn stored_file_statuses(data: &std::path::Path, batch_id: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(data.join("mirror.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT status FROM batch_files WHERE batch_id = ?1 ORDER BY name").unwrap();
    stmt.query_map([batch_id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_batch_of_an_account_not_open_at_start_is_resumed_with_its_own_login() {
    // FlexFactor's side does not process uploads until the second start.
    let first = Merchant::start(Duration::from_secs(3600)).await;
    let second = Merchant::start(Duration::from_millis(200)).await;
    let csv = first.rebills_csv("AWAY", 3).await;
    let data = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    // The first core stops looking after a second and would look again only in an hour.
    let hour = Duration::from_secs(3600);
    let (app, batch) = uploaded_and_waiting(&first, data.path(), secrets.clone(), csv, "away.csv", hour).await;
    // A second batch of the same account never got sent (the SFTP login was wrong).
    let unsent_csv = first.rebills_csv("UNSENT", 1).await;
    let unsent = upload_refused_by_the_host_key(&app, &first, unsent_csv, "unsent.csv").await;
    app.configure_sftp(merchant_sftp(&first, first.sftp.host_key().to_string())).unwrap();
    // The person then opens a second merchant account, and the app is closed on it.
    let mut other = second.account();
    other.name = "Second merchant".into();
    app.add_account(other).await.unwrap();
    app.configure_sftp(merchant_sftp(&second, second.sftp.host_key().to_string())).unwrap();
    app.shutdown().await;
    drop(app);
    assert_eq!(stored_file_statuses(data.path(), &batch.id), ["uploaded"]);

    // FlexFactor answers; the app starts again on the second account.
    let _processing = first.start_processing().await;
    wait_for_a_response_file(&first.sftp.root().join("outbound")).await;
    let app = core(data.path(), secrets);
    app.start().await.unwrap();
    assert!(app.list_batches().unwrap().is_empty(), "the second account has no batches");
    // The waiting batch is looked after; the unsent one waits for its account to be opened.
    assert_eq!(app.resume_unfinished_batches().unwrap(), vec![batch.id.clone()]);
    let start = Instant::now();
    while stored_file_statuses(data.path(), &batch.id) != ["answered"] {
        assert!(start.elapsed() < Duration::from_secs(60), "{:?}", stored_file_statuses(data.path(), &batch.id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = app.batch_rows(&batch.id).unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert_ne!(r.status.as_deref(), Some("ERROR"), "row {} refused: {:?}", r.line, r.errors);
        assert_eq!(first.orders_with_external_id(&r.order_id), 1, "{} reached the first sandbox", r.order_id);
    }
    let server = |m: &Merchant, folder: &str| names_in(&m.sftp.root().join(folder));
    assert!(server(&second, "inbound").is_empty() && server(&second, "outbound").is_empty());
    assert_eq!(stored_file_statuses(data.path(), &unsent.id), ["built"]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_core_is_shut_down_no_later_look_for_a_batchs_response_is_made() {
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let csv = merchant.rebills_csv("SHUT", 2).await;
    let data = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let (app, batch) =
        uploaded_and_waiting(&merchant, data.path(), secrets, csv, "shut.csv", Duration::from_secs(1)).await;
    // By now the next look is scheduled (a second from the note): shutdown cancels it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.shutdown().await;
    // FlexFactor answers now; a core still looking every second would pick it up.
    let _processing = merchant.start_processing().await;
    wait_for_a_response_file(&merchant.sftp.root().join("outbound")).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(stored_file_statuses(data.path(), &batch.id), ["uploaded"]);
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_for_the_response_that_needs_the_operator_fails_the_batch_instead_of_waiting() {
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let csv = merchant.rebills_csv("KEY", 1).await;
    let data = tempfile::tempdir().unwrap();
    // Looks every second while a batch waits.
    let second = Duration::from_secs(1);
    let (app, batch) =
        uploaded_and_waiting(&merchant, data.path(), Arc::new(MemoryStore::new()), csv, "key.csv", second).await;
    assert_eq!(batch.status, "uploaded");
    // The server's host key no longer matches the pinned one: nothing FlexDesk can wait out.
    let not_the_server = std::fs::read_to_string(merchant.key_path().with_extension("pub")).unwrap();
    app.configure_sftp(merchant_sftp(&merchant, not_the_server)).unwrap();
    app.resume_batch(&batch.id).unwrap();
    let start = Instant::now();
    let failed = loop {
        let b = app.list_batches().unwrap().remove(0);
        if b.status == "failed" {
            break b;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{b:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let note = failed.last_error.unwrap_or_default();
    assert!(note.starts_with("Action needed") && note.contains("Retry"), "{note}");
    assert!(failed.files.iter().all(|f| f.status == "uploaded"));

    // The operator pins the right key again and FlexFactor answers: no look is made by
    // itself (not every second against a server it could not trust), only on Retry.
    app.configure_sftp(merchant_sftp(&merchant, merchant.sftp.host_key().to_string())).unwrap();
    let _processing = merchant.start_processing().await;
    wait_for_a_response_file(&merchant.sftp.root().join("outbound")).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.list_batches().unwrap().remove(0).status, "failed", "no look without Retry");
    app.resume_batch(&batch.id).unwrap();
    let start = Instant::now();
    while app.list_batches().unwrap().remove(0).status != "answered" {
        assert!(start.elapsed() < Duration::from_secs(30), "{:?}", app.list_batches().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_on_a_waiting_batch_makes_one_look_at_once_and_picks_up_a_response() {
    // FlexFactor's side does not process uploads until later in the test.
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let csv = merchant.rebills_csv("CHECK", 2).await;
    let data = tempfile::tempdir().unwrap();
    let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let hour = Duration::from_secs(3600);
    let (app, batch) = uploaded_and_waiting(&merchant, data.path(), secrets.clone(), csv, "check.csv", hour).await;
    let first_look = batch.last_checked_at.clone().expect("the wait after the upload ended with a look");
    app.shutdown().await;
    drop(app);
    // Started again with a long wait for responses (a minute), the next look an hour away.
    let mut config = CoreConfig::new(data.path().to_path_buf(), secrets);
    config.background_sync = false;
    config.batch_response_wait = Duration::from_secs(60);
    config.batch_recheck_every = hour;
    let app = AppCore::open(config).unwrap();
    app.start().await.unwrap();

    // Check now while FlexFactor has not answered: one look, over well before a minute's wait.
    let pressed = Instant::now();
    app.resume_batch(&batch.id).unwrap();
    let looked = loop {
        let b = app.list_batches().unwrap().remove(0);
        if b.last_checked_at.as_deref() != Some(first_look.as_str()) {
            break b;
        }
        assert!(pressed.elapsed() < Duration::from_secs(30), "no look ended: {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(looked.status, "uploaded", "{looked:?}");
    assert!(looked.last_error.as_deref().is_some_and(|n| n.contains("No response from FlexFactor yet")), "{looked:?}");

    // FlexFactor answers; the next Check now picks it up, an hour before the next look.
    let _processing = merchant.start_processing().await;
    wait_for_a_response_file(&merchant.sftp.root().join("outbound")).await;
    app.resume_batch(&batch.id).unwrap();
    wait_until_answered(&app, Duration::from_secs(30)).await;
    assert_eq!(app.batch_rows(&batch.id).unwrap().len(), 2);
    app.shutdown().await;
}
