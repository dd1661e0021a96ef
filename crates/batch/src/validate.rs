//! Validation of every row before anything leaves the machine.
//!
//! A [`Draft`] is the input table, its column mapping, the user's fixes (per row and
//! field) and the rows they dropped. [`Draft::validate`] turns each remaining row into the
//! JSON object of the batch file and reports every problem as an [`Issue`] with the row's
//! line, the field and a reason people can act on. It is a pure function of the draft and
//! a [`ValidationContext`] (time and "already submitted" come in from outside).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::input::{write_csv, SourceRow, SourceTable};
use crate::mapping::{field_type, major_units_to_minor, ColumnMapping, FieldType};

/// Exclusive amount bounds in cents (flexfactor-api.md §4.3, the sandbox bound).
pub const MIN_AMOUNT_EXCLUSIVE: i64 = 10;
pub const MAX_AMOUNT_EXCLUSIVE: i64 = 20_000;
/// `expiryDateUtc` must be at least this far after submission (§4.2: minimum 2 weeks).
pub const MIN_EXPIRY_DAYS: i64 = 14;

/// Which kind of batch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchKind {
    /// Failed MIT rebills for `/evaluate` (JSON only).
    Evaluate,
    /// Copies of approved transactions (`transmit_` files, CSV or JSON; no card data).
    Transmit,
}

/// What is wrong with a row (the closed list the UI and tests branch on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    RowUnreadable,
    MissingField,
    NotANumber,
    AmountNotWholeCents,
    /// An amount in major units that cannot be read exactly (`1,234.56`, `19.999`).
    AmountNotMajorUnits,
    AmountTooSmall,
    AmountTooLarge,
    BadCurrency,
    BadEmail,
    BadTimestamp,
    MissingToken,
    RawCardNumber,
    CardDataNotAllowed,
    BadBoolean,
    BadCardExpiry,
    NotMit,
    ExpiryInvalid,
    ExpiryTooSoon,
    ExpiryMissing,
    DuplicateInFile,
    AlreadySubmitted,
}

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub line: u64,
    /// The batch field (dotted path), or `row` for the row as a whole.
    pub field: String,
    pub kind: IssueKind,
    pub reason: String,
}

/// The outside facts validation needs.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    pub kind: BatchKind,
    /// "Now" (submission time) for the 14-day expiry rule.
    pub now: DateTime<Utc>,
    /// The header's default `expiryDateUtc`, used by rows without their own.
    pub default_expiry: Option<String>,
    /// Merchant order ids already submitted, with where (an order in the mirror, a batch).
    pub submitted: HashMap<String, String>,
    /// The sandbox's amount bounds (more than 10 and less than 20000 cents) apply; for a
    /// production account an amount only has to be more than zero (flexfactor-api.md: the
    /// bounds are documented for test calls).
    pub sandbox_amount_limits: bool,
}

/// The validation result of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    pub line: u64,
    pub order_id: Option<String>,
    pub issues: Vec<Issue>,
    /// The row as it will be written (without `sequenceNumber`/`idempotencyKey`/`mid`).
    pub value: Value,
}

impl RowResult {
    pub fn is_valid(&self) -> bool {
        self.issues.is_empty()
    }
}

/// Every row's result, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub rows: Vec<RowResult>,
}

impl ValidationReport {
    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.rows.iter().flat_map(|r| r.issues.iter())
    }
    pub fn valid_rows(&self) -> impl Iterator<Item = &RowResult> {
        self.rows.iter().filter(|r| r.is_valid())
    }
    pub fn invalid_count(&self) -> usize {
        self.rows.iter().filter(|r| !r.is_valid()).count()
    }
    /// True when there is at least one row and no row has an issue: only then may a batch
    /// be built and uploaded.
    pub fn is_clean(&self) -> bool {
        !self.rows.is_empty() && self.invalid_count() == 0
    }
}

/// The input being composed: table, mapping, fixes and dropped rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub table: SourceTable,
    pub mapping: ColumnMapping,
    /// `line → (field path → value)`: the user's corrections, applied over the mapped cells.
    pub fixes: BTreeMap<u64, BTreeMap<String, String>>,
    pub dropped: BTreeSet<u64>,
}

impl Draft {
    pub fn new(table: SourceTable, mapping: ColumnMapping) -> Draft {
        Draft { table, mapping, fixes: BTreeMap::new(), dropped: BTreeSet::new() }
    }

    /// Sets `field` of the row at `line` to `value` (an empty value clears the field).
    pub fn fix(&mut self, line: u64, field: &str, value: &str) {
        self.fixes.entry(line).or_default().insert(field.to_string(), value.trim().to_string());
    }

    /// Leaves the rows at `lines` out of the batch.
    pub fn drop_rows(&mut self, lines: &[u64]) {
        self.dropped.extend(lines.iter().copied());
    }

    /// The rows still in the batch.
    pub fn live_rows(&self) -> impl Iterator<Item = &SourceRow> {
        self.table.rows.iter().filter(|r| !self.dropped.contains(&r.line))
    }

    /// The field values of a row after mapping and fixes (`path → text`).
    pub fn fields_of(&self, row: &SourceRow) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (header, path) in &self.mapping.columns {
            if path.is_empty() {
                continue;
            }
            if let Some(cell) = self.table.cell(row, header) {
                out.insert(path.clone(), cell.to_string());
            }
        }
        if let Some(fixes) = self.fixes.get(&row.line) {
            for (path, v) in fixes {
                out.insert(path.clone(), v.clone());
            }
        }
        out
    }

    /// Validates every live row.
    pub fn validate(&self, ctx: &ValidationContext) -> ValidationReport {
        let mut seen: HashMap<String, u64> = HashMap::new();
        let rows = self
            .live_rows()
            .map(|row| {
                let mut r = validate_row(row, &self.fields_of(row), ctx);
                if let Some(id) = r.order_id.clone() {
                    if let Some(first) = seen.get(&id) {
                        r.issues.push(Issue {
                            line: row.line,
                            field: "orderId".into(),
                            kind: IssueKind::DuplicateInFile,
                            reason: format!("order {id} is already in this file at line {first}"),
                        });
                    } else {
                        seen.insert(id, row.line);
                    }
                }
                r
            })
            .collect();
        ValidationReport { rows }
    }

    /// The invalid rows as CSV (original columns plus `line`, `field`, `reason`), to fix in
    /// the billing system.
    pub fn bad_rows_csv(&self, report: &ValidationReport) -> String {
        let bad: Vec<(Vec<String>, Vec<String>)> = report
            .rows
            .iter()
            .filter(|r| !r.is_valid())
            .filter_map(|r| {
                let row = self.table.rows.iter().find(|s| s.line == r.line)?;
                let fields = r.issues.iter().map(|i| i.field.clone()).collect::<Vec<_>>().join("; ");
                let reasons = r.issues.iter().map(|i| i.reason.clone()).collect::<Vec<_>>().join("; ");
                Some((row.cells.clone(), vec![r.line.to_string(), fields, reasons]))
            })
            .collect();
        write_csv(&self.table.headers, &bad, &["line", "field", "reason"])
    }
}

fn issue(line: u64, field: &str, kind: IssueKind, reason: impl Into<String>) -> Issue {
    Issue { line, field: field.to_string(), kind, reason: reason.into() }
}

fn set_path(root: &mut Map<String, Value>, path: &str, v: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), v);
            return;
        }
        let next = cur.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        match next {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// The row's fields with every amount given in major units turned into the cents field it
/// stands for (a cents column mapped as well wins). An amount that cannot be read exactly is
/// an issue on the major-units field, where the user fixes it.
fn in_cents(fields: &BTreeMap<String, String>, line: u64, issues: &mut Vec<Issue>) -> BTreeMap<String, String> {
    let mut out = fields.clone();
    for (path, text) in fields {
        if field_type(path) != FieldType::MajorUnits {
            continue;
        }
        out.remove(path);
        let (Some(cents_path), text) = (path.strip_suffix("Major"), text.trim()) else { continue };
        if text.is_empty() {
            continue;
        }
        if fields.get(cents_path).is_some_and(|c| !c.trim().is_empty()) {
            // Two columns for one amount: which one to charge is the person's call.
            issues.push(issue(
                line,
                path,
                IssueKind::AmountNotMajorUnits,
                "both a cents column and a major-units column give this row's amount; map only one of them under \
                 Column mapping"
                    .to_string(),
            ));
            continue;
        }
        // In the row's currency's own units (¥1999 is 1999 minor units, not 199900).
        let currency = fields.get("transaction.currency").map(|c| c.trim()).filter(|c| !c.is_empty());
        match major_units_to_minor(text, flexfactor_wire::minor_unit_digits(currency.unwrap_or("USD"))) {
            Ok(cents) => {
                out.insert(cents_path.to_string(), cents.to_string());
            }
            Err(reason) => issues.push(issue(line, path, IssueKind::AmountNotMajorUnits, reason)),
        }
    }
    out
}

fn validate_row(row: &SourceRow, fields: &BTreeMap<String, String>, ctx: &ValidationContext) -> RowResult {
    let line = row.line;
    let mut issues = Vec::new();
    if let Some(p) = &row.problem {
        issues.push(issue(line, "row", IssueKind::RowUnreadable, p.clone()));
    }
    // The amount's own column: a bound it breaks is reported (and fixed) there, in its unit.
    let major_amount = fields.get("transaction.amountMajor").is_some_and(|v| !v.trim().is_empty());
    let fields = &in_cents(fields, line, &mut issues);
    let get = |path: &str| fields.get(path).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut obj = Map::new();
    let evaluate = ctx.kind == BatchKind::Evaluate;
    obj.insert("isDeclined".into(), Value::Bool(evaluate));
    if evaluate {
        obj.insert("isMIT".into(), Value::Bool(true));
        obj.insert("isRecurring".into(), Value::Bool(true));
        obj.insert("billingInformation".into(), Value::Object(Map::new()));
    } else {
        obj.insert("isMIT".into(), Value::Bool(false));
    }
    for (path, text) in fields {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let v = match field_type(path) {
            FieldType::Text => Value::String(text.to_string()),
            FieldType::Integer => match text.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    let (kind, reason) = if path.ends_with("amount") && text.parse::<f64>().is_ok() {
                        (
                            IssueKind::AmountNotWholeCents,
                            format!(
                                "{text:?} is not whole cents (write 1999 for 19.99), or map the column to \
                                 \"Amount in major units\" if it holds amounts like 19.99"
                            ),
                        )
                    } else if path.ends_with("amount") || path.ends_with("price") {
                        (
                            IssueKind::NotANumber,
                            format!("{text:?} is not a whole number of cents (write 1999 for 19.99)"),
                        )
                    } else {
                        (IssueKind::NotANumber, format!("{text:?} is not a whole number"))
                    };
                    issues.push(issue(line, path, kind, reason));
                    continue;
                }
            },
            // Converted to cents by `in_cents` before this loop.
            FieldType::MajorUnits => continue,
            FieldType::Bool => match parse_bool(text) {
                Some(b) => Value::Bool(b),
                None => {
                    issues.push(issue(line, path, IssueKind::BadBoolean, format!("{text:?} is not true/false")));
                    continue;
                }
            },
        };
        set_path(&mut obj, path, v);
    }
    if evaluate {
        if let Some(pm) = obj.get_mut("paymentMethod").and_then(Value::as_object_mut) {
            pm.insert("token".into(), Value::Bool(true));
        }
    }

    let mut required = vec![
        ("orderId", "the merchant order id"),
        ("transaction.id", "the PSP transaction id"),
        ("transaction.amount", "the amount"),
        ("transaction.currency", "the currency"),
        ("transaction.timestampUtc", "when the payment was declined"),
    ];
    if evaluate {
        required.push(("payer.email", "the customer's email"));
    }
    for (path, what) in required {
        let bad_number = issues.iter().any(|i| i.field == path || i.field.strip_suffix("Major") == Some(path));
        if get(path).is_none() && !bad_number {
            issues.push(issue(line, path, IssueKind::MissingField, format!("{what} ({path}) is required")));
        }
    }
    if let Some(n) = get("transaction.amount").and_then(|s| s.parse::<i64>().ok()) {
        let sandbox = ctx.sandbox_amount_limits;
        let digits = flexfactor_wire::minor_unit_digits(get("transaction.currency").unwrap_or("USD"));
        let (field, amount): (&str, &dyn Fn(i64) -> String) = if major_amount {
            ("transaction.amountMajor", &|m| flexfactor_wire::Cents(m).to_major_units_in(digits))
        } else {
            ("transaction.amount", &|m| format!("{m} cents"))
        };
        if n <= 0 || (sandbox && n <= MIN_AMOUNT_EXCLUSIVE) {
            let bound = if sandbox { MIN_AMOUNT_EXCLUSIVE } else { 0 };
            let place = if sandbox { " (the sandbox's limit)" } else { "" };
            issues.push(issue(
                line,
                field,
                IssueKind::AmountTooSmall,
                format!("amount {} must be more than {}{place}", amount(n), amount(bound)),
            ));
        } else if sandbox && n >= MAX_AMOUNT_EXCLUSIVE {
            issues.push(issue(
                line,
                field,
                IssueKind::AmountTooLarge,
                format!(
                    "amount {} must be less than {} (the sandbox's limit)",
                    amount(n),
                    amount(MAX_AMOUNT_EXCLUSIVE)
                ),
            ));
        }
    }
    if let Some(c) = get("transaction.currency") {
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            issues.push(issue(
                line,
                "transaction.currency",
                IssueKind::BadCurrency,
                format!("{c:?} is not a 3-letter ISO 4217 currency code"),
            ));
        }
    }
    if let Some(e) = get("payer.email") {
        let ok = e.split_once('@').is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !e.contains(' '));
        if !ok {
            issues.push(issue(line, "payer.email", IssueKind::BadEmail, format!("{e:?} is not an email address")));
        }
    }
    if let Some(t) = get("transaction.timestampUtc") {
        if parse_time(t).is_none() {
            issues.push(issue(
                line,
                "transaction.timestampUtc",
                IssueKind::BadTimestamp,
                format!("{t:?} is not an ISO-8601 UTC time such as 2026-05-01T10:00:00Z"),
            ));
        }
    }
    let card = get("paymentMethod.cardNumber");
    let looks_like_pan = |c: &str| {
        let digits: String = c.chars().filter(|ch| !matches!(ch, ' ' | '-')).collect();
        (13..=19).contains(&digits.len()) && digits.chars().all(|ch| ch.is_ascii_digit())
    };
    if evaluate {
        match card {
            None => issues.push(issue(
                line,
                "paymentMethod.cardNumber",
                IssueKind::MissingToken,
                "the card token (from /tokenize) is missing",
            )),
            Some(c) if looks_like_pan(c) => issues.push(issue(
                line,
                "paymentMethod.cardNumber",
                IssueKind::RawCardNumber,
                "this is a raw card number; batch files take /tokenize tokens only",
            )),
            Some(_) => {}
        }
        if get("isMIT").and_then(parse_bool) == Some(false) {
            issues.push(issue(
                line,
                "isMIT",
                IssueKind::NotMit,
                "SFTP evaluate batches are for MIT rebills (isMIT true)",
            ));
        }
    } else if card.is_some() {
        issues.push(issue(
            line,
            "paymentMethod.cardNumber",
            IssueKind::CardDataNotAllowed,
            "transmit files carry no card number (BIN, last 4 and expiry only)",
        ));
    }
    if let Some(m) = get("paymentMethod.expirationMonth").and_then(|s| s.parse::<i64>().ok()) {
        if !(1..=12).contains(&m) {
            issues.push(issue(
                line,
                "paymentMethod.expirationMonth",
                IssueKind::BadCardExpiry,
                format!("card expiry month {m} is not 1-12"),
            ));
        }
    }
    if evaluate {
        let own = get("expiryDateUtc");
        match own.or(ctx.default_expiry.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
            None => issues.push(issue(
                line,
                "expiryDateUtc",
                IssueKind::ExpiryMissing,
                "no expiryDateUtc: set one on the row or a default for the batch",
            )),
            Some(text) => match parse_time(text) {
                None => issues.push(issue(
                    line,
                    "expiryDateUtc",
                    IssueKind::ExpiryInvalid,
                    format!("{text:?} is not an ISO-8601 UTC time"),
                )),
                Some(t) if t < ctx.now + Duration::days(MIN_EXPIRY_DAYS) => issues.push(issue(
                    line,
                    "expiryDateUtc",
                    IssueKind::ExpiryTooSoon,
                    format!(
                        "expiryDateUtc {} is less than {MIN_EXPIRY_DAYS} days after submission",
                        t.format("%Y-%m-%d")
                    ),
                )),
                Some(t) => {
                    if own.is_some() {
                        obj.insert(
                            "expiryDateUtc".into(),
                            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                        );
                    }
                }
            },
        }
    }
    let order_id = get("orderId").map(str::to_string);
    if let Some(id) = &order_id {
        if let Some(wher) = ctx.submitted.get(id) {
            issues.push(issue(
                line,
                "orderId",
                IssueKind::AlreadySubmitted,
                format!("order {id} was already submitted ({wher})"),
            ));
        }
    }
    if issues.is_empty() {
        let typed: Result<Value, String> = if evaluate {
            serde_json::from_value::<flexfactor_wire::EvaluateRequest>(Value::Object(obj.clone()))
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string()))
        } else {
            serde_json::from_value::<flexfactor_wire::TransmitRequest>(Value::Object(obj.clone()))
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string()))
        };
        match typed {
            Ok(v) => obj = v.as_object().cloned().unwrap_or_default(),
            Err(e) => {
                issues.push(issue(line, "row", IssueKind::RowUnreadable, format!("the row is not a valid object: {e}")))
            }
        }
    }
    RowResult { line, order_id, issues, value: Value::Object(obj) }
}
