//! A corpus of bad CSV rows: every kind is reported on the right line, field and reason,
//! and no file can be planned until the draft is clean.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use flexdesk_batch::{
    plan_files, read_csv, BatchHeader, BatchKind, ColumnMapping, Draft, FileFormat, IssueKind, ValidationContext,
};

const HEADER: &str =
    "invoice_id,psp_txn_id,amount_cents,currency,declined_at,email,card_token,retry_until,exp_month,is_mit";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn good(i: usize) -> String {
    format!("INV-{i:04},psp-{i},1999,USD,2026-04-30T10:00:00Z,c{i}@example.com,tok-{i:04},2026-06-01T00:00:00Z,9,true")
}

fn ctx() -> ValidationContext {
    let mut submitted = HashMap::new();
    submitted.insert("INV-OLD".to_string(), "order 1234 in the mirror".to_string());
    ValidationContext {
        kind: BatchKind::Evaluate,
        now: now(),
        default_expiry: None,
        submitted,
        sandbox_amount_limits: true,
    }
}

/// (row text, kind, field, a word the reason must contain)
fn corpus() -> Vec<(String, IssueKind, &'static str, &'static str)> {
    vec![
        (
            ",psp-a,1999,USD,2026-04-30T10:00:00Z,a@example.com,tok-a,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingField,
            "orderId",
            "required",
        ),
        (
            "INV-B,psp-b,abc,USD,2026-04-30T10:00:00Z,b@example.com,tok-b,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::NotANumber,
            "transaction.amount",
            "whole number",
        ),
        (
            "INV-C,psp-c,19.99,USD,2026-04-30T10:00:00Z,c@example.com,tok-c,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::AmountNotWholeCents,
            "transaction.amount",
            "whole cents",
        ),
        (
            "INV-D,psp-d,10,USD,2026-04-30T10:00:00Z,d@example.com,tok-d,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::AmountTooSmall,
            "transaction.amount",
            "more than 10",
        ),
        (
            "INV-E,psp-e,20000,USD,2026-04-30T10:00:00Z,e@example.com,tok-e,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::AmountTooLarge,
            "transaction.amount",
            "less than 20000",
        ),
        (
            "INV-F,psp-f,1999,DOLLARS,2026-04-30T10:00:00Z,f@example.com,tok-f,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::BadCurrency,
            "transaction.currency",
            "ISO 4217",
        ),
        (
            "INV-G,psp-g,1999,USD,2026-04-30T10:00:00Z,not-an-email,tok-g,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::BadEmail,
            "payer.email",
            "email",
        ),
        (
            "INV-H,psp-h,1999,USD,yesterday,h@example.com,tok-h,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::BadTimestamp,
            "transaction.timestampUtc",
            "ISO-8601",
        ),
        (
            "INV-I,psp-i,1999,USD,2026-04-30T10:00:00Z,i@example.com,,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingToken,
            "paymentMethod.cardNumber",
            "token",
        ),
        (
            "INV-J,psp-j,1999,USD,2026-04-30T10:00:00Z,j@example.com,4111 1111 1111 1111,2026-06-01T00:00:00Z,9,true"
                .into(),
            IssueKind::RawCardNumber,
            "paymentMethod.cardNumber",
            "raw card number",
        ),
        (
            "INV-K,psp-k,1999,USD,2026-04-30T10:00:00Z,k@example.com,tok-k,2026-06-01T00:00:00Z,9,maybe".into(),
            IssueKind::BadBoolean,
            "isMIT",
            "true/false",
        ),
        (
            "INV-L,psp-l,1999,USD,2026-04-30T10:00:00Z,l@example.com,tok-l,2026-06-01T00:00:00Z,13,true".into(),
            IssueKind::BadCardExpiry,
            "paymentMethod.expirationMonth",
            "1-12",
        ),
        (
            "INV-M,psp-m,1999,USD,2026-04-30T10:00:00Z,m@example.com,tok-m,2026-06-01T00:00:00Z,9,false".into(),
            IssueKind::NotMit,
            "isMIT",
            "MIT",
        ),
        (
            "INV-N,psp-n,1999,USD,2026-04-30T10:00:00Z,n@example.com,tok-n,next month,9,true".into(),
            IssueKind::ExpiryInvalid,
            "expiryDateUtc",
            "ISO-8601",
        ),
        (
            "INV-O,psp-o,1999,USD,2026-04-30T10:00:00Z,o@example.com,tok-o,2026-05-10T00:00:00Z,9,true".into(),
            IssueKind::ExpiryTooSoon,
            "expiryDateUtc",
            "14 days",
        ),
        (
            "INV-P,psp-p,1999,USD,2026-04-30T10:00:00Z,p@example.com,tok-p,,9,true".into(),
            IssueKind::ExpiryMissing,
            "expiryDateUtc",
            "expiryDateUtc",
        ),
        (good(1), IssueKind::DuplicateInFile, "orderId", "already in this file at line 2"),
        (
            "INV-OLD,psp-q,1999,USD,2026-04-30T10:00:00Z,q@example.com,tok-q,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::AlreadySubmitted,
            "orderId",
            "already submitted",
        ),
        ("INV-R,psp-r,1999,USD".into(), IssueKind::RowUnreadable, "row", "4 cells"),
        (
            "INV-S,,1999,USD,2026-04-30T10:00:00Z,s@example.com,tok-s,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingField,
            "transaction.id",
            "required",
        ),
        (
            "INV-T,psp-t,1999,,2026-04-30T10:00:00Z,t@example.com,tok-t,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingField,
            "transaction.currency",
            "required",
        ),
        (
            "INV-U,psp-u,1999,USD,2026-04-30T10:00:00Z,,tok-u,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingField,
            "payer.email",
            "required",
        ),
        (
            "INV-V,psp-v,,USD,2026-04-30T10:00:00Z,v@example.com,tok-v,2026-06-01T00:00:00Z,9,true".into(),
            IssueKind::MissingField,
            "transaction.amount",
            "required",
        ),
        (
            "INV-W,psp-w,1999,USD,2026-04-30T10:00:00Z,w@example.com,tok-w,2026-06-01T00:00:00Z,x9,true".into(),
            IssueKind::NotANumber,
            "paymentMethod.expirationMonth",
            "whole number",
        ),
    ]
}

fn build() -> (String, Vec<(u64, IssueKind, &'static str, &'static str)>) {
    // Line 1 is the header; line 2 a good row (the duplicate's original); then each bad
    // row followed by a good row, so lines are not simply consecutive bad ones.
    let mut text = format!("{HEADER}\n{}\n", good(1));
    let mut expected = Vec::new();
    let mut line = 3u64;
    for (i, (row, kind, field, word)) in corpus().into_iter().enumerate() {
        text.push_str(&row);
        text.push('\n');
        expected.push((line, kind, field, word));
        text.push_str(&good(100 + i));
        text.push('\n');
        line += 2;
    }
    (text, expected)
}

#[test]
fn every_bad_row_kind_is_reported_with_its_line_field_and_reason() {
    let (text, expected) = build();
    let kinds: std::collections::HashSet<_> = expected.iter().map(|e| e.1).collect();
    assert!(kinds.len() >= 15, "the corpus covers {} kinds", kinds.len());
    let table = read_csv(&text).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = draft.validate(&ctx());
    for (line, kind, field, word) in &expected {
        let row = report.rows.iter().find(|r| r.line == *line).unwrap_or_else(|| panic!("no row at line {line}"));
        let hit = row.issues.iter().find(|i| i.kind == *kind && i.field == *field);
        let hit = hit.unwrap_or_else(|| panic!("line {line}: expected {kind:?} on {field}, got {:?}", row.issues));
        assert!(hit.reason.contains(word), "line {line}: reason {:?} lacks {word:?}", hit.reason);
        assert_eq!(hit.line, *line);
    }
    let bad: Vec<u64> = report.rows.iter().filter(|r| !r.is_valid()).map(|r| r.line).collect();
    let want: Vec<u64> = expected.iter().map(|e| e.0).collect();
    assert_eq!(bad, want, "exactly the corpus rows are bad");
    assert!(!report.is_clean());
}

#[test]
fn dropping_or_fixing_the_bad_rows_makes_the_draft_clean_and_plannable() {
    let (text, expected) = build();
    let table = read_csv(&text).unwrap();
    let mut draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    // Fix two rows, drop the rest.
    draft.fix(expected[3].0, "transaction.amount", "1500");
    draft.fix(expected[8].0, "paymentMethod.cardNumber", "tok-fixed");
    let drop: Vec<u64> = expected.iter().map(|e| e.0).filter(|l| *l != expected[3].0 && *l != expected[8].0).collect();
    draft.drop_rows(&drop);
    let report = draft.validate(&ctx());
    assert!(report.is_clean(), "{:?}", report.issues().collect::<Vec<_>>());
    assert_eq!(report.rows.len(), 1 + expected.len() + 2);
    let header = BatchHeader { mid: "m".into(), authorization_token: "t".into(), expiry_date_utc: None };
    let rows: Vec<_> = report.valid_rows().collect();
    let files = plan_files(BatchKind::Evaluate, FileFormat::Json, &header, &rows, now(), "abc").unwrap();
    assert_eq!(files.len(), 1);
    let doc: serde_json::Value = serde_json::from_slice(&files[0].bytes).unwrap();
    let fixed =
        doc["body"].as_array().unwrap().iter().find(|r| r["paymentMethod"]["cardNumber"] == "tok-fixed").unwrap();
    assert_eq!(fixed["paymentMethod"]["token"], true);
}

#[test]
fn the_bad_rows_export_carries_line_and_reason() {
    let (text, expected) = build();
    let table = read_csv(&text).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let report = draft.validate(&ctx());
    let csv = draft.bad_rows_csv(&report);
    let exported = read_csv(&csv).unwrap();
    assert_eq!(exported.rows.len(), expected.len());
    assert!(exported.headers.ends_with(&["line".to_string(), "field".to_string(), "reason".to_string()]));
    let first = &exported.rows[0];
    assert_eq!(exported.cell(first, "line"), Some("3"));
    assert!(exported.cell(first, "reason").unwrap().contains("required"));
}

#[test]
fn a_default_expiry_in_the_header_serves_rows_without_one() {
    let text = format!("{HEADER}\nINV-1,psp-1,1999,USD,2026-04-30T10:00:00Z,a@example.com,tok-1,,9,true\n");
    let table = read_csv(&text).unwrap();
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let mut c = ctx();
    c.default_expiry = Some((now() + Duration::days(21)).to_rfc3339());
    assert!(draft.validate(&c).is_clean());
    c.default_expiry = Some((now() + Duration::days(13)).to_rfc3339());
    let report = draft.validate(&c);
    assert_eq!(report.issues().next().map(|i| i.kind), Some(IssueKind::ExpiryTooSoon));
}

#[test]
fn an_amount_column_in_major_units_goes_out_as_exact_cents_and_unreadable_amounts_are_reported_once() {
    let text = "invoice_id,psp_txn_id,amount,currency,declined_at,email,card_token,retry_until,exp_month,is_mit\n\
        INV-1,psp-1,19.99,USD,2026-04-30T10:00:00Z,a@example.com,tok-1,2026-06-01T00:00:00Z,9,true\n\
        INV-2,psp-2,49,USD,2026-04-30T10:00:00Z,b@example.com,tok-2,2026-06-01T00:00:00Z,9,true\n\
        INV-3,psp-3,\"1,234.50\",USD,2026-04-30T10:00:00Z,c@example.com,tok-3,2026-06-01T00:00:00Z,9,true\n";
    let table = read_csv(text).unwrap();
    let mut mapping = ColumnMapping::guess(&table.headers);
    mapping.read_decimal_amounts_as_major_units(&table, &ColumnMapping::default());
    assert_eq!(mapping.columns.get("amount").map(String::as_str), Some("transaction.amountMajor"));
    let mut draft = Draft::new(table, mapping);
    let report = draft.validate(&ctx());
    let amounts: Vec<_> = report.valid_rows().map(|r| r.value["transaction"]["amount"].clone()).collect();
    assert_eq!(amounts, [serde_json::json!(1999), serde_json::json!(4900)], "19.99 and 49 (dollars) in cents");
    let issues: Vec<_> = report.issues().collect();
    assert_eq!(issues.len(), 1, "one issue for the unreadable amount, not also a missing one: {issues:?}");
    assert_eq!((issues[0].line, issues[0].kind), (4, IssueKind::AmountNotMajorUnits));
    assert_eq!(issues[0].field, "transaction.amountMajor");
    assert!(issues[0].reason.contains("comma"), "{}", issues[0].reason);
    // Fixed inline in the field the issue names.
    draft.fix(4, "transaction.amountMajor", "123.50");
    let report = draft.validate(&ctx());
    assert!(report.is_clean(), "{:?}", report.issues().collect::<Vec<_>>());
}

#[test]
fn amounts_in_major_units_are_read_in_the_rows_own_currency() {
    let text = "invoice_id,psp_txn_id,amount,currency,declined_at,email,card_token,retry_until,exp_month,is_mit\n\
        INV-1,psp-1,19.99,USD,2026-04-30T10:00:00Z,a@example.com,tok-1,2026-06-01T00:00:00Z,9,true\n\
        INV-2,psp-2,1999,JPY,2026-04-30T10:00:00Z,b@example.com,tok-2,2026-06-01T00:00:00Z,9,true\n\
        INV-3,psp-3,1.999,KWD,2026-04-30T10:00:00Z,c@example.com,tok-3,2026-06-01T00:00:00Z,9,true\n\
        INV-4,psp-4,19.99,JPY,2026-04-30T10:00:00Z,d@example.com,tok-4,2026-06-01T00:00:00Z,9,true\n";
    let table = read_csv(text).unwrap();
    let mut mapping = ColumnMapping::guess(&table.headers);
    mapping.read_decimal_amounts_as_major_units(&table, &ColumnMapping::default());
    let report = Draft::new(table, mapping).validate(&ctx());
    let amounts: Vec<_> = report.valid_rows().map(|r| r.value["transaction"]["amount"].clone()).collect();
    assert_eq!(amounts, [serde_json::json!(1999), serde_json::json!(1999), serde_json::json!(1999)]);
    let issues: Vec<_> = report.issues().collect();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!((issues[0].line, issues[0].kind), (5, IssueKind::AmountNotMajorUnits));
    assert!(issues[0].reason.contains("has none"), "{}", issues[0].reason);
}

#[test]
fn the_sandbox_amount_bounds_apply_to_test_accounts_only() {
    let row = |amount: &str| {
        format!(
            "{HEADER}\nINV-1,psp-1,{amount},USD,2026-04-30T10:00:00Z,a@example.com,tok-1,2026-06-01T00:00:00Z,9,true\n"
        )
    };
    let kinds = |text: String, sandbox: bool| -> Vec<IssueKind> {
        let table = read_csv(&text).unwrap();
        let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
        let ctx = ValidationContext { sandbox_amount_limits: sandbox, ..ctx() };
        draft.validate(&ctx).issues().map(|i| i.kind).collect()
    };
    assert_eq!(kinds(row("24900"), true), [IssueKind::AmountTooLarge], "a 249.00 rebill in the sandbox");
    assert!(kinds(row("24900"), false).is_empty(), "a 249.00 rebill in production");
    assert!(kinds(row("5"), false).is_empty());
    assert_eq!(kinds(row("0"), false), [IssueKind::AmountTooSmall]);
    assert_eq!(kinds(row("5"), true), [IssueKind::AmountTooSmall]);
}

#[test]
fn semicolon_and_tab_separated_exports_read_like_comma_separated_ones() {
    let comma = format!("{HEADER}\n{}\n{}\n", good(1), good(2));
    for sep in [";", "\t"] {
        let text = comma.replace(',', sep);
        let table = read_csv(&text).unwrap();
        assert_eq!(table.headers.len(), 10, "{sep:?}: {:?}", table.headers);
        let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
        let report = draft.validate(&ctx());
        assert!(report.is_clean(), "{sep:?}: {:?}", report.issues().collect::<Vec<_>>());
        assert_eq!(report.valid_rows().count(), 2);
    }
    // A comma inside a quoted header does not make it the separator.
    let table = read_csv("\"name, full\";amount\nA;1\n").unwrap();
    assert_eq!(table.headers, ["name, full", "amount"]);
    // A tie goes to the comma.
    let table = read_csv("order_id,notes;internal\nA,x;y\n").unwrap();
    assert_eq!(table.headers, ["order_id", "notes;internal"]);
}

#[test]
fn a_row_with_both_a_cents_and_a_major_units_amount_asks_which_one_to_charge() {
    let text = "invoice_id,psp_txn_id,amount_cents,amount_usd,currency,declined_at,email,card_token,retry_until\n\
        INV-1,psp-1,1999,19.99,USD,2026-04-30T10:00:00Z,a@example.com,tok-1,2026-06-01T00:00:00Z\n\
        INV-2,psp-2,,24.50,USD,2026-04-30T10:00:00Z,b@example.com,tok-2,2026-06-01T00:00:00Z\n";
    let table = read_csv(text).unwrap();
    let mapping = ColumnMapping::guess(&table.headers);
    assert_eq!(mapping.header_for("transaction.amountMajor"), Some("amount_usd"));
    let report = Draft::new(table, mapping).validate(&ctx());
    let issues: Vec<_> = report.issues().map(|i| (i.line, i.kind)).collect();
    assert_eq!(issues, [(2, IssueKind::AmountNotMajorUnits)], "{:?}", report.issues().collect::<Vec<_>>());
    let amounts: Vec<_> = report.valid_rows().map(|r| r.value["transaction"]["amount"].clone()).collect();
    assert_eq!(amounts, [serde_json::json!(2450)], "an empty cents cell leaves the major-units one");
}

#[test]
fn a_quote_never_closed_is_reported_with_the_lines_it_swallowed() {
    let text = format!(
        "{HEADER}\n{}\nINV-X,psp-x,\"1999,USD,2026-04-30T10:00:00Z,x@example.com,tok-x,2026-06-01T00:00:00Z,9,true\n{}\n{}\n",
        good(1),
        good(2),
        good(3)
    );
    let table = read_csv(&text).unwrap();
    let bad = table.rows.iter().find(|r| r.line == 3).expect("the row with the open quote");
    let problem = bad.problem.as_deref().unwrap_or_default();
    assert!(problem.contains("never closed") && problem.contains("lines 4–5"), "{problem}");
    let draft = Draft::new(table.clone(), ColumnMapping::guess(&table.headers));
    let issues: Vec<_> = draft.validate(&ctx()).issues().filter(|i| i.line == 3).map(|i| i.kind).collect();
    assert!(issues.contains(&IssueKind::RowUnreadable), "{issues:?}");
}

#[test]
fn blank_and_repeated_headers_each_keep_their_own_column() {
    let table = read_csv("ref,Amount,Amount,,,transaction.id,transaction.id\nA,1999,2500,x,,p1,p2\n").unwrap();
    assert_eq!(
        table.headers,
        [
            "ref",
            "Amount",
            "Amount (column 3)",
            "(column 4)",
            "(column 5)",
            "transaction.id",
            "transaction.id (column 7)"
        ]
    );
    let row = &table.rows[0];
    assert_eq!(table.cell(row, "Amount (column 3)"), Some("2500"));
    assert_eq!(table.cell(row, "(column 4)"), Some("x"));
    let mapping = ColumnMapping::guess(&table.headers);
    assert_eq!(mapping.header_for("transaction.amount"), Some("Amount"), "the first one is guessed");
    assert_eq!(mapping.header_for("transaction.id"), Some("transaction.id"));
    assert!(!mapping.columns.contains_key("transaction.id (column 7)"), "a renamed header is no field path");
    // Names differing only in case are two columns, as before.
    let table = read_csv("ref,Amount,amount\nA,1,2\n").unwrap();
    assert_eq!(table.headers, ["ref", "Amount", "amount"]);
}

#[test]
fn an_amount_in_major_units_out_of_bounds_is_reported_and_fixed_in_its_own_column() {
    let text = "invoice_id,psp_txn_id,amount,currency,declined_at,email,card_token,retry_until,exp_month,is_mit\n\
        INV-1,psp-1,19.99,USD,2026-04-30T10:00:00Z,a@example.com,tok-1,2026-06-01T00:00:00Z,9,true\n\
        INV-2,psp-2,0.05,USD,2026-04-30T10:00:00Z,b@example.com,tok-2,2026-06-01T00:00:00Z,9,true\n";
    let table = read_csv(text).unwrap();
    let mut mapping = ColumnMapping::guess(&table.headers);
    mapping.read_decimal_amounts_as_major_units(&table, &ColumnMapping::default());
    let mut draft = Draft::new(table, mapping);
    let mut c = ctx();
    c.sandbox_amount_limits = true;
    let report = draft.validate(&c);
    let issues: Vec<_> = report.issues().collect();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        (issues[0].line, issues[0].field.as_str(), issues[0].kind),
        (3, "transaction.amountMajor", IssueKind::AmountTooSmall)
    );
    assert!(issues[0].reason.contains("0.05") && issues[0].reason.contains("0.10"), "{}", issues[0].reason);
    // Fixed where it was reported, in dollars: clean (no "two amount columns" issue).
    draft.fix(3, "transaction.amountMajor", "1.50");
    let report = draft.validate(&c);
    assert!(report.is_clean(), "{:?}", report.issues().collect::<Vec<_>>());
}
