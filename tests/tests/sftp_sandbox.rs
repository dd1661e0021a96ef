//! The sandbox's SFTP endpoint: a batch built and uploaded by flexdesk-batch becomes
//! orders through the sandbox's `/evaluate` (visible in GET /orders, webhooks fire) and is
//! answered by a response file in the outbound folder.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use flexdesk_batch::{
    plan_files, read_csv, BatchHeader, BatchKind, ColumnMapping, Draft, FileFormat, ResponseFile, SftpClient,
    SftpSettings, UploadOutcome, ValidationContext,
};
use flexfactor_client::{ClientConfig, FlexFactorClient};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials, SftpConfig};
use flexfactor_wire::{CreditCard, TokenizePaymentMethod, TokenizeRequest};

const KEY: &str = "sftp-key";
const SECRET: &str = "sftp-secret";
const PASSPHRASE: &str = "s3cret phrase";

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn card(number: &str) -> TokenizeRequest {
    TokenizeRequest {
        payment_method: TokenizePaymentMethod {
            email: Some("ada@example.test".into()),
            sense_key: None,
            credit_card: CreditCard {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                number: number.into(),
                verification_value: "123".into(),
                month: Some("09".into()),
                year: Some("2030".into()),
            },
        },
    }
}

#[tokio::test]
async fn an_uploaded_batch_becomes_orders_and_a_response_file() {
    let mut config = SandboxConfig::demo(5, anchor(), SandboxCredentials::new(KEY, SECRET));
    config.order_count = 20;
    config.clock_start = Some(anchor());
    let sb = Sandbox::start(config).await.unwrap();
    let client = FlexFactorClient::new(ClientConfig::new(sb.base_url(), KEY, SECRET)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("id_ed25519");
    assert!(std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", PASSPHRASE, "-f"])
        .arg(&key_path)
        .status()
        .unwrap()
        .success());
    let public = std::fs::read_to_string(dir.path().join("id_ed25519.pub")).unwrap();
    let endpoint = sb.start_sftp(SftpConfig::new(dir.path().join("server"), vec![public])).await.unwrap();

    let mut csv = String::from("invoice,psp_id,amount_cents,currency,failed_at,email,card_token\n");
    for i in 0..6 {
        let token = client.tokenize(sb.mid(), sb.tokenization_key(), &card("4000002760003184")).await.unwrap();
        let token = if i == 5 { "tok-not-in-the-vault".to_string() } else { token.token().unwrap().to_string() };
        csv.push_str(&format!("SUB-{i},psp-{i},{},USD,2026-02-28T08:00:00Z,p{i}@example.com,{token}\n", 1000 + i));
    }
    let table = read_csv(&csv).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let expiry = (anchor() + chrono::Duration::days(21)).to_rfc3339();
    let ctx = ValidationContext {
        kind: BatchKind::Evaluate,
        now: anchor(),
        default_expiry: Some(expiry.clone()),
        submitted: Default::default(),
        sandbox_amount_limits: true,
    };
    let report = draft.validate(&ctx);
    assert!(report.is_clean(), "{:?}", report.issues().collect::<Vec<_>>());
    let header = BatchHeader {
        mid: sb.mid().to_string(),
        authorization_token: client.access_token().await.unwrap(),
        expiry_date_utc: Some(expiry),
    };
    let rows: Vec<_> = report.valid_rows().collect();
    let files = plan_files(BatchKind::Evaluate, FileFormat::Json, &header, &rows, anchor(), "t1").unwrap();
    let file = &files[0];

    let settings = SftpSettings {
        host: "127.0.0.1".into(),
        port: endpoint.local_addr().port(),
        user: "merchant".into(),
        key_path: key_path.clone(),
        host_key: endpoint.host_key().to_string(),
        inbound_dir: endpoint.inbound_dir().into(),
        outbound_dir: endpoint.outbound_dir().into(),
    };
    let sftp = SftpClient::connect(&settings, Some(PASSPHRASE)).await.unwrap();
    let out =
        sftp.upload(&settings.inbound_dir, &settings.outbound_dir, &file.name, &file.bytes, |_, _| {}).await.unwrap();
    assert_eq!(out, UploadOutcome::Uploaded { resumed_at: 0 });

    let started = std::time::Instant::now();
    let bytes = loop {
        if let Some(b) = sftp.fetch_response(&settings.outbound_dir, &file.name).await.unwrap() {
            break b;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no response file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let response = ResponseFile::parse(&file.name, &bytes).unwrap();
    assert_eq!(response.source_file, file.name);
    assert_eq!(response.rows.len(), 6);
    for (i, r) in response.rows.iter().enumerate() {
        assert_eq!(r.sequence_number, (i + 1).to_string());
        assert_eq!(r.order_id.as_deref(), Some(format!("SUB-{i}").as_str()));
    }
    for r in &response.rows[..5] {
        assert_eq!(r.status, "SUBMITTED", "{r:?}");
        let key = r.order_session_key.as_deref().unwrap();
        let order = sb.order(key).expect("the order is served by GET /orders/{id}");
        assert_eq!(order.external_order_id.as_deref(), r.order_id.as_deref());
    }
    let bad = &response.rows[5];
    assert_eq!(bad.status, "ERROR");
    assert!(bad.order_session_key.is_none());
    assert!(bad.errors.iter().any(|e| e.contains("PaymentMethod.CardNumber")), "{:?}", bad.errors);
    // The input is consumed once; uploading again sends nothing.
    assert!(sftp.list(&settings.inbound_dir).await.unwrap().is_empty());
    let again =
        sftp.upload(&settings.inbound_dir, &settings.outbound_dir, &file.name, &file.bytes, |_, _| {}).await.unwrap();
    assert_eq!(again, UploadOutcome::AlreadyThere);
    sftp.close().await;

    // The batch's orders move on like any Managed MIT order, with webhooks.
    sb.advance_clock(Duration::from_secs(4 * 24 * 3600));
    let keys: Vec<String> = response.rows[..5].iter().filter_map(|r| r.order_session_key.clone()).collect();
    let events = sb.events();
    let completed = keys.iter().filter(|k| events.iter().any(|e| e.order_id == **k)).count();
    assert_eq!(completed, 5, "each batch order emitted an event");
}

#[tokio::test]
async fn the_sandbox_sftp_refuses_unknown_keys() {
    let mut config = SandboxConfig::demo(6, anchor(), SandboxCredentials::new(KEY, SECRET));
    config.order_count = 10;
    let sb = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for name in ["allowed", "stranger"] {
        assert!(std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.path().join(name))
            .status()
            .unwrap()
            .success());
    }
    let allowed = std::fs::read_to_string(dir.path().join("allowed.pub")).unwrap();
    let endpoint = sb.start_sftp(SftpConfig::new(dir.path().join("server"), vec![allowed])).await.unwrap();
    let settings = SftpSettings {
        host: "127.0.0.1".into(),
        port: endpoint.local_addr().port(),
        user: "merchant".into(),
        key_path: dir.path().join("stranger"),
        host_key: endpoint.host_key().to_string(),
        inbound_dir: "/inbound".into(),
        outbound_dir: "/outbound".into(),
    };
    let err = SftpClient::connect(&settings, None).await.err().expect("refused");
    assert!(matches!(err, flexdesk_batch::BatchError::AuthRejected { .. }), "{err}");
}
