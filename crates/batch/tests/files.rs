//! Batch file writers, the 2000-row split, and response files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use flexdesk_batch::{
    plan_files, read_csv, read_json, response_name, with_fresh_token, BatchHeader, BatchKind, ColumnMapping, Draft,
    FileFormat, ResponseFile, ValidationContext, MAX_ROWS_PER_FILE,
};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn csv_of(n: usize) -> String {
    let mut s = String::from("orderId,transaction.id,transaction.amount,transaction.currency,transaction.timestampUtc,payer.email,paymentMethod.cardNumber\n");
    for i in 0..n {
        s.push_str(&format!(
            "SUB-{i:05},psp-{i},{},USD,2026-04-30T10:00:00Z,p{i}@example.com,tok-{i}\n",
            100 + i % 9000
        ));
    }
    s
}

fn header() -> BatchHeader {
    BatchHeader {
        mid: "9d3a1b7e-0000-4000-8000-000000000001".into(),
        authorization_token: "bearer-token".into(),
        expiry_date_utc: Some("2026-05-22T00:00:00Z".into()),
    }
}

fn ctx(kind: BatchKind) -> ValidationContext {
    ValidationContext {
        kind,
        now: now(),
        default_expiry: header().expiry_date_utc,
        submitted: Default::default(),
        sandbox_amount_limits: true,
    }
}

#[test]
fn evaluate_file_has_the_documented_header_and_numbered_rows() {
    let table = read_csv(&csv_of(3)).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = draft.validate(&ctx(BatchKind::Evaluate));
    assert!(report.is_clean());
    let rows: Vec<_> = report.valid_rows().collect();
    let files = plan_files(BatchKind::Evaluate, FileFormat::Csv, &header(), &rows, now(), "b1").unwrap();
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert!(f.name.starts_with("evaluate_20260501T120000_b1_1of1") && f.name.ends_with(".json"), "{}", f.name);
    assert_eq!(response_name(&f.name), f.name.replace(".json", "_response.json"));
    let doc: serde_json::Value = serde_json::from_slice(&f.bytes).unwrap();
    assert_eq!(doc["header"]["mid"], header().mid);
    assert_eq!(doc["header"]["authorizationToken"], "bearer-token");
    assert_eq!(doc["header"]["expiryDateUtc"], "2026-05-22T00:00:00Z");
    let body = doc["body"].as_array().unwrap();
    assert_eq!(body.len(), 3);
    for (i, row) in body.iter().enumerate() {
        assert_eq!(row["sequenceNumber"], (i + 1).to_string());
        assert_eq!(row["isMIT"], true);
        assert_eq!(row["isDeclined"], true);
        assert_eq!(row["paymentMethod"]["token"], true);
        assert!(row["idempotencyKey"].as_str().is_some_and(|k| k.len() == 36));
        assert_eq!(row["transaction"]["amount"], 100 + i as i64);
    }
    // A ready JSON batch reads back into the same rows.
    let again = read_json(std::str::from_utf8(&f.bytes).unwrap()).unwrap();
    assert_eq!(again.rows.len(), 3);
    assert!(again.headers.contains(&"transaction.amount".to_string()));
}

#[test]
fn more_than_2000_rows_are_split_with_sequence_numbers_restarting() {
    let table = read_csv(&csv_of(4100)).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = draft.validate(&ctx(BatchKind::Evaluate));
    assert!(report.is_clean());
    let rows: Vec<_> = report.valid_rows().collect();
    let files = plan_files(BatchKind::Evaluate, FileFormat::Json, &header(), &rows, now(), "big").unwrap();
    assert_eq!(files.iter().map(|f| f.rows.len()).collect::<Vec<_>>(), vec![MAX_ROWS_PER_FILE, MAX_ROWS_PER_FILE, 100]);
    assert!(files[2].name.contains("_3of3"));
    assert_eq!(files[1].rows[0].sequence_number, 1);
    assert_eq!(files[1].rows[0].line, 2 + 2000);
    assert_eq!(files[2].rows.last().unwrap().order_id, "SUB-04099");
}

#[test]
fn transmit_files_are_written_as_csv_or_json_without_card_numbers() {
    let text = "orderId,transaction.id,transaction.amount,transaction.currency,transaction.timestampUtc,paymentMethod.cardLast4Digits\nA-1,p1,2500,USD,2026-04-30T10:00:00Z,4242\n";
    let table = read_csv(text).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = draft.validate(&ctx(BatchKind::Transmit));
    assert!(report.is_clean(), "{:?}", report.issues().collect::<Vec<_>>());
    let rows: Vec<_> = report.valid_rows().collect();
    let csv = plan_files(BatchKind::Transmit, FileFormat::Csv, &header(), &rows, now(), "t").unwrap();
    assert!(csv[0].name.starts_with("transmit_") && csv[0].name.ends_with(".csv"));
    let back = read_csv(std::str::from_utf8(&csv[0].bytes).unwrap()).unwrap();
    assert_eq!(back.headers[0], "sequenceNumber");
    assert_eq!(back.cell(&back.rows[0], "transaction.amount"), Some("2500"));
    assert_eq!(back.cell(&back.rows[0], "paymentMethod.cardLast4Digits"), Some("4242"));
    let json = plan_files(BatchKind::Transmit, FileFormat::Json, &header(), &rows, now(), "t").unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json[0].bytes).unwrap();
    assert_eq!(doc["header"]["authorization"], "bearer bearer-token");
    assert_eq!(doc["body"][0]["sequenceNumber"], "1");
    // A card number in a transmit row is refused.
    let bad = read_csv("orderId,transaction.id,transaction.amount,transaction.currency,transaction.timestampUtc,paymentMethod.cardNumber\nA,p,2500,USD,2026-04-30T10:00:00Z,tok\n").unwrap();
    let d = Draft::new(bad.clone(), ColumnMapping::guess(&bad.headers));
    assert!(!d.validate(&ctx(BatchKind::Transmit)).is_clean());
}

#[test]
fn response_files_parse_in_object_and_array_form() {
    let obj = br#"{"sourceFile":"evaluate_x.json","processedAt":"2026-05-01T12:00:00Z",
        "rows":[{"sequenceNumber":"1","orderId":"A","orderSessionKey":"k1","status":"SUBMITTED","errors":[]},
                {"sequenceNumber":2,"orderId":"B","orderSessionKey":null,"status":"ERROR","errors":["Transaction.Amount: bad"]}]}"#;
    let r = ResponseFile::parse("x", obj).unwrap();
    assert_eq!(r.rows[1].sequence_number, "2");
    assert_eq!(r.rows[1].errors.len(), 1);
    let arr = br#"[{"sequenceNumber":"1","orderId":"A","orderSessionKey":"k1","status":"APPROVED"}]"#;
    assert_eq!(ResponseFile::parse("y", arr).unwrap().rows[0].status, "APPROVED");
    assert!(ResponseFile::parse("z", b"not json").is_err());
}

#[test]
fn odd_but_readable_response_files_are_read_not_refused() {
    // A BOM, null status and errors, one error as a plain text, errors as objects, a
    // numeric order id: each is read rather than failing the whole file.
    let odd = "\u{feff}{\"rows\":[\
        {\"sequenceNumber\":1,\"orderId\":12345,\"orderSessionKey\":\"k1\",\"status\":null,\"errors\":null},\
        {\"sequenceNumber\":\"2\",\"orderId\":\"B\",\"status\":\"ERROR\",\"errors\":\"the card token is unknown\"},\
        {\"sequenceNumber\":\"3\",\"orderId\":\"C\",\"status\":\"ERROR\",\"errors\":[{\"code\":\"2001\",\"message\":\"bad amount\"}]},\
        {\"sequenceNumber\":\"\",\"status\":\"ERROR\",\"errors\":[\"the batch has no body array\"]}]}";
    let r = ResponseFile::parse("x", odd.as_bytes()).unwrap();
    assert_eq!(r.rows.len(), 4);
    assert_eq!((r.rows[0].order_id.as_deref(), r.rows[0].status.as_str()), (Some("12345"), ""));
    assert!(r.rows[0].errors.is_empty());
    assert_eq!(r.rows[1].errors, ["the card token is unknown"]);
    assert_eq!(r.rows[2].errors, ["bad amount"]);
    assert_eq!(r.rows[3].sequence_number, "");
}

#[test]
fn a_response_file_in_dotnet_pascal_case_is_read_like_camel_case() {
    let pascal = br#"{"SourceFile":"evaluate_x.json","ProcessedAt":"2026-05-01T12:00:00Z",
        "Rows":[{"SequenceNumber":1,"OrderId":"A","OrderSessionKey":"k1","Status":"SUBMITTED","Errors":[]},
                {"SequenceNumber":"2","OrderId":"B","Status":"ERROR","Errors":["bad amount"]}]}"#;
    let r = ResponseFile::parse("x", pascal).unwrap();
    assert_eq!(r.source_file, "evaluate_x.json");
    assert_eq!(r.rows.len(), 2);
    assert_eq!(
        (r.rows[0].sequence_number.as_str(), r.rows[0].order_session_key.as_deref(), r.rows[0].status.as_str()),
        ("1", Some("k1"), "SUBMITTED")
    );
    assert_eq!(r.rows[1].errors, ["bad amount"]);
}

#[test]
fn a_fresh_token_replaces_only_the_sign_in_of_a_built_file() {
    let table = read_csv(&csv_of(1)).unwrap();
    let d = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = d.validate(&ctx(BatchKind::Evaluate));
    let rows: Vec<_> = report.valid_rows().collect();
    let file = &plan_files(BatchKind::Evaluate, FileFormat::Json, &header(), &rows, now(), "abc").unwrap()[0];
    let fresh = with_fresh_token(&file.bytes, "new-token").unwrap().expect("a JSON batch has a token");
    let (before, after): (serde_json::Value, serde_json::Value) =
        (serde_json::from_slice(&file.bytes).unwrap(), serde_json::from_slice(&fresh).unwrap());
    assert_eq!(after["header"]["authorizationToken"], "new-token");
    assert_eq!(after["body"], before["body"], "rows, sequence numbers and idempotency keys unchanged");
    assert_eq!(after["header"]["mid"], before["header"]["mid"]);
    assert_eq!(with_fresh_token(b"sequenceNumber,orderId\n1,A\n", "t").unwrap(), None, "a CSV file has none");
}

#[test]
fn exports_in_utf16_or_windows_1252_are_read_without_losing_characters() {
    assert_eq!(flexdesk_batch::decode_export("name\nMüller\n".as_bytes()), ("name\nMüller\n".to_string(), None));
    assert_eq!(flexdesk_batch::decode_export(&[0xFF, 0xFE, 0x41, 0x00, 0xFC, 0x00]), ("Aü".to_string(), None));
    assert_eq!(flexdesk_batch::decode_export(&[0xFE, 0xFF, 0x00, 0x41, 0x00, 0xFC]), ("Aü".to_string(), None));
    let (text, note) = flexdesk_batch::decode_export(&[0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72, 0x2C, 0x80]);
    assert_eq!(text, "Müller,€");
    assert!(note.unwrap().contains("Windows-1252"));
}
