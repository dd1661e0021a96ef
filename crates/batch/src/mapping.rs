//! Batch fields and the mapping from a billing system's CSV columns to them.
//!
//! A batch field is the dotted JSON path of an `/evaluate` (or `/transmit`) object, e.g.
//! `transaction.amount` (flexfactor-api.md §11 INFERRED: CSV headers mirror the JSON field
//! paths, flattened with dots). A [`ColumnMapping`] says which CSV column feeds which
//! field; it is saved per account so the next export from the same billing system maps
//! itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::SourceTable;

/// How a field's text is turned into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// A whole number (cents, months, years).
    Integer,
    Bool,
    /// Money in major units as billing exports write it (`19.99`, `$49`): converted exactly to
    /// the cents of the field named without the `Major` suffix.
    MajorUnits,
}

/// A field a CSV column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub path: &'static str,
    pub label: &'static str,
    pub ty: FieldType,
    /// Header spellings (normalized: lower case, no spaces/`_`/`-`/`.`) that map here.
    pub aliases: &'static [&'static str],
}

const fn f(path: &'static str, label: &'static str, ty: FieldType, aliases: &'static [&'static str]) -> FieldSpec {
    FieldSpec { path, label, ty, aliases }
}

use FieldType::{Bool, Integer, MajorUnits, Text};

/// Every field the mapper offers, in display order.
pub const FIELDS: &[FieldSpec] = &[
    f(
        "orderId",
        "Merchant order id",
        Text,
        &["orderid", "order", "externalorderid", "invoice", "invoiceid", "rebillid"],
    ),
    f("expiryDateUtc", "Retry until (expiryDateUtc)", Text, &["expirydateutc", "expiry", "retryuntil", "expires"]),
    f(
        "transaction.id",
        "PSP transaction id",
        Text,
        &["transactionid", "pspid", "psptransactionid", "chargeid", "txnid", "psptxnid"],
    ),
    f(
        "transaction.amount",
        "Amount in cents (1999 = 19.99)",
        Integer,
        &["transactionamount", "amount", "amountcents", "amountincents", "cents"],
    ),
    f(
        "transaction.amountMajor",
        "Amount in major units (19.99)",
        MajorUnits,
        &["amountmajor", "amountdollars", "amountusd", "amounteur", "total", "chargeamount"],
    ),
    f("transaction.currency", "Currency", Text, &["transactioncurrency", "currency", "ccy"]),
    f(
        "transaction.timestampUtc",
        "Declined at (UTC)",
        Text,
        &["transactiontimestamputc", "timestamp", "declinedat", "failedat", "date"],
    ),
    f("transaction.responseCode", "Decline code", Text, &["transactionresponsecode", "responsecode", "declinecode"]),
    f(
        "transaction.responseDescription",
        "Decline reason",
        Text,
        &["transactionresponsedescription", "declinereason", "reason"],
    ),
    f("transaction.responseCodeSource", "Gateway", Text, &["transactionresponsecodesource", "gateway", "psp"]),
    f("payer.email", "Customer email", Text, &["payeremail", "email", "customeremail"]),
    f("payer.phone", "Customer phone", Text, &["payerphone", "phone"]),
    f("billingInformation.firstName", "First name", Text, &["billinginformationfirstname", "firstname"]),
    f("billingInformation.lastName", "Last name", Text, &["billinginformationlastname", "lastname"]),
    f(
        "billingInformation.addressLine1",
        "Address",
        Text,
        &["billinginformationaddressline1", "address", "addressline1"],
    ),
    f("billingInformation.city", "City", Text, &["billinginformationcity", "city"]),
    f("billingInformation.state", "State", Text, &["billinginformationstate", "state"]),
    f("billingInformation.zipCode", "ZIP", Text, &["billinginformationzipcode", "zip", "zipcode", "postcode"]),
    f(
        "billingInformation.countryCode",
        "Country (alpha-2)",
        Text,
        &["billinginformationcountrycode", "country", "countrycode"],
    ),
    f(
        "paymentMethod.cardNumber",
        "Card token (/tokenize)",
        Text,
        &["paymentmethodcardnumber", "token", "cardtoken", "paymenttoken"],
    ),
    f("paymentMethod.holderName", "Card holder", Text, &["paymentmethodholdername", "holdername", "cardholder"]),
    f("paymentMethod.cardBinNumber", "Card BIN", Text, &["paymentmethodcardbinnumber", "bin", "cardbin"]),
    f("paymentMethod.cardLast4Digits", "Card last 4", Text, &["paymentmethodcardlast4digits", "last4", "cardlast4"]),
    f("paymentMethod.cardBrand", "Card brand", Text, &["paymentmethodcardbrand", "brand", "cardbrand"]),
    f(
        "paymentMethod.expirationMonth",
        "Card expiry month",
        Integer,
        &["paymentmethodexpirationmonth", "expmonth", "expirationmonth"],
    ),
    f(
        "paymentMethod.expirationYear",
        "Card expiry year",
        Integer,
        &["paymentmethodexpirationyear", "expyear", "expirationyear"],
    ),
    f(
        "subscription.subscriptionId",
        "Subscription id",
        Text,
        &["subscriptionsubscriptionid", "subscriptionid", "subscription"],
    ),
    f("subscription.interval", "Billing interval", Text, &["subscriptioninterval", "interval"]),
    f("subscription.price", "Subscription price (cents)", Integer, &["subscriptionprice", "price"]),
    f("subscription.paymentNumber", "Payment number", Text, &["subscriptionpaymentnumber", "paymentnumber", "cycle"]),
    f("isMIT", "Merchant-initiated", Bool, &["ismit", "mit"]),
    f("isRecurring", "Recurring", Bool, &["isrecurring", "recurring"]),
    f("siteId", "Site id", Text, &["siteid"]),
    f("orderSource", "Order source", Text, &["ordersource", "source"]),
];

/// The spec of a field path, if it is one FlexDesk knows.
pub fn field(path: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|s| s.path.eq_ignore_ascii_case(path))
}

/// Exact cents of an amount written in major units of a two-decimal currency (see
/// [`major_units_to_minor`]).
///
/// # Errors
/// A sentence saying what is wrong and how to write it instead.
pub fn major_units_to_cents(text: &str) -> Result<i64, String> {
    major_units_to_minor(text, 2)
}

/// Exact minor units of an amount written in major units of a currency with `decimals`
/// decimals (ISO 4217: 2 for USD, 0 for JPY, 3 for KWD): `19.99`, `49`, `12.5`, `$1234.56`,
/// `€ 9.90`. Refuses what could be misread: thousands separators or a decimal comma
/// (`1,234.56`, `12,50`), more decimals than the currency has, signs and anything else.
///
/// # Errors
/// A sentence saying what is wrong and how to write it instead.
pub fn major_units_to_minor(text: &str, decimals: u32) -> Result<i64, String> {
    let t = text.trim();
    let t = t.strip_prefix(['$', '€', '£', '¥']).unwrap_or(t).trim_start();
    let example = match decimals {
        0 => "write it like 1234: whole units, no thousands separators".to_string(),
        2 => "write it like 1234.56: a point before the cents, no thousands separators".to_string(),
        n => format!(
            "write it like 1234.{}: a point before the decimals, no thousands separators",
            "5".repeat(n as usize)
        ),
    };
    if t.contains(',') {
        return Err(format!("{text:?} has a comma; {example}"));
    }
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || (t.contains('.') && fraction.is_empty()) {
        return Err(format!("{text:?} is not an amount; {example}"));
    }
    if fraction.len() > decimals as usize {
        return Err(match decimals {
            0 => format!("{text:?} has decimals, but this currency has none; {example}"),
            2 => format!("{text:?} has more than two decimals; amounts are whole cents"),
            n => format!("{text:?} has more than {n} decimals, the most this currency has"),
        });
    }
    let unit = 10_i64.checked_pow(decimals).ok_or_else(|| format!("{text:?}: no currency has {decimals} decimals"))?;
    let fraction = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = decimals as usize).parse::<i64>().ok().unwrap_or(0)
    };
    whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(unit))
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| format!("{text:?} is too large an amount"))
}

/// The JSON type of a path (unknown paths are text).
pub fn field_type(path: &str) -> FieldType {
    match path {
        "transaction.timezoneUtcOffset" | "merchant.mcc" => Integer,
        "paymentMethod.token" | "transaction.cardNotPresent" | "isDeclined" => Bool,
        _ => field(path).map(|s| s.ty).unwrap_or(Text),
    }
}

fn normalize(header: &str) -> String {
    header.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Which CSV column feeds which field: `header → field path`. Unmapped headers are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: BTreeMap<String, String>,
}

impl ColumnMapping {
    /// Guesses a mapping from header names: dotted JSON paths map to themselves, common
    /// billing-export names (`amount_cents`, `Customer Email`, `card_token` …) to their field.
    /// Each field is taken by the first header that claims it.
    pub fn guess(headers: &[String]) -> ColumnMapping {
        let mut columns = BTreeMap::new();
        let mut taken: Vec<&str> = Vec::new();
        for h in headers {
            let n = normalize(h);
            let exact = FIELDS.iter().find(|s| s.path.eq_ignore_ascii_case(h.trim()));
            let found = exact.or_else(|| FIELDS.iter().find(|s| s.aliases.contains(&n.as_str())));
            if let Some(spec) = found {
                if !taken.contains(&spec.path) {
                    taken.push(spec.path);
                    columns.insert(h.clone(), spec.path.to_string());
                }
            } else if h.contains('.') && !h.trim().is_empty() && !crate::input::is_renamed_header(h) {
                // A dotted header is the API's field path; a repeated one renamed on reading
                // ("transaction.amount (column 5)") is not.
                columns.insert(h.clone(), h.trim().to_string());
            }
        }
        ColumnMapping { columns }
    }

    /// Keeps a saved mapping's entries for headers this file has, and guesses the rest.
    pub fn merge_saved(saved: &ColumnMapping, headers: &[String]) -> ColumnMapping {
        let mut guessed = ColumnMapping::guess(headers);
        for h in headers {
            if let Some(path) = saved.columns.get(h) {
                guessed.columns.retain(|k, v| k == h || v != path);
                if path.is_empty() {
                    guessed.columns.remove(h);
                } else {
                    guessed.columns.insert(h.clone(), path.clone());
                }
            }
        }
        guessed
    }

    /// Amount columns guessed as cents from their header alone (`amount`, say) whose cells
    /// all look like amounts, at least one with a decimal point (`19.99`, `20`), are read as
    /// major units instead. Left as they are: columns whose header says cents or
    /// is the API's own field path, columns the account's saved mapping placed, a column
    /// with any cell that is not an amount (a broken row must not turn a cents column into
    /// dollars), and any column when another one already feeds the major-units field.
    pub fn read_decimal_amounts_as_major_units(&mut self, table: &SourceTable, saved: &ColumnMapping) {
        let sound_rows: Vec<_> = table.rows.iter().filter(|r| r.problem.is_none()).collect();
        let switches: Vec<(String, &'static str)> = self
            .columns
            .iter()
            .filter_map(|(header, path)| {
                let major = FIELDS.iter().find(|s| s.ty == MajorUnits && s.path.strip_suffix("Major") == Some(path))?;
                let explicit = normalize(header).contains("cent")
                    || header.trim().eq_ignore_ascii_case(path)
                    || saved.columns.contains_key(header)
                    || self.header_for(major.path).is_some();
                if explicit {
                    return None;
                }
                let cells: Vec<&str> = sound_rows
                    .iter()
                    .filter_map(|r| table.cell(r, header).map(str::trim))
                    .filter(|c| !c.is_empty())
                    .collect();
                // Amount-shaped (digits, a point or comma, a currency sign): a malformed amount
                // like `1,234.50` is then reported on its row; a shifted email or date keeps
                // the column as it was guessed.
                let amount_shaped = |c: &&str| {
                    c.chars().any(|ch| ch.is_ascii_digit())
                        && c.chars().all(|ch| ch.is_ascii_digit() || ".,$€£ ".contains(ch))
                };
                let all_amounts = cells.iter().all(amount_shaped);
                // A non-zero fraction somewhere (`19.99`, `12.50`): `1999.00` alone may be cents
                // written by a spreadsheet as well as dollars, and a guess could charge 100
                // times the amount; such a column stays cents, whose check then asks the
                // person to choose the unit.
                let decimal = cells.iter().any(|c| {
                    c.split_once('.')
                        .is_some_and(|(_, fraction)| fraction.chars().any(|ch| ch.is_ascii_digit() && ch != '0'))
                });
                (all_amounts && decimal).then(|| (header.clone(), major.path))
            })
            .collect();
        for (header, major) in switches {
            self.columns.insert(header, major.to_string());
        }
    }

    /// The header feeding `path`, if any.
    pub fn header_for(&self, path: &str) -> Option<&str> {
        self.columns.iter().find(|(_, p)| p.as_str() == path).map(|(h, _)| h.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_export_headers_are_guessed() {
        let headers: Vec<String> =
            ["Invoice ID", "amount_cents", "Currency", "Customer Email", "card_token", "transaction.id", "notes"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let m = ColumnMapping::guess(&headers);
        assert_eq!(m.columns.get("Invoice ID").map(String::as_str), Some("orderId"));
        assert_eq!(m.columns.get("amount_cents").map(String::as_str), Some("transaction.amount"));
        assert_eq!(m.columns.get("card_token").map(String::as_str), Some("paymentMethod.cardNumber"));
        assert_eq!(m.columns.get("transaction.id").map(String::as_str), Some("transaction.id"));
        assert!(!m.columns.contains_key("notes"));
    }

    #[test]
    fn amounts_in_major_units_convert_exactly_and_ambiguous_ones_are_refused() {
        for (text, cents) in [("19.99", 1999), ("49", 4900), ("12.5", 1250), ("$1234.56", 123_456), ("€ 9.90", 990)] {
            assert_eq!(major_units_to_cents(text), Ok(cents), "{text}");
        }
        for text in ["1,234.56", "12,50", "19.999", "-5", "12.", ".5", "abc", "", "1e3"] {
            assert!(major_units_to_cents(text).is_err(), "{text} was accepted");
        }
        assert!(major_units_to_cents("12,50").unwrap_err().contains("point before the cents"));
        assert_eq!(major_units_to_minor("1999", 0), Ok(1999));
        assert!(major_units_to_minor("19.99", 0).unwrap_err().contains("has none"));
        assert_eq!(major_units_to_minor("1.999", 3), Ok(1999));
        assert_eq!(major_units_to_minor("1.5", 3), Ok(1500));
        assert!(major_units_to_minor("1.9999", 3).is_err());
    }

    /// A CSV's guessed mapping, amount units read from its cells.
    fn guessed(csv: &str) -> ColumnMapping {
        let table = crate::input::read_csv(csv).unwrap();
        let mut m = ColumnMapping::guess(&table.headers);
        m.read_decimal_amounts_as_major_units(&table, &ColumnMapping::default());
        m
    }

    #[test]
    fn an_amount_column_with_decimal_points_is_read_as_major_units_unless_the_header_or_saved_mapping_says_cents() {
        let table = crate::input::read_csv("ref,amount,amount_cents\nA,19.99,1999\nB,20,2000\n").unwrap();
        let mut m = ColumnMapping::guess(&table.headers);
        assert_eq!(m.header_for("transaction.amount"), Some("amount"), "the header alone says nothing of the unit");
        m.read_decimal_amounts_as_major_units(&table, &ColumnMapping::default());
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amountMajor"));
        assert_eq!(m.columns.get("amount_cents"), None, "taken by `amount` first");

        // Another column already feeds the major-units field: nothing is switched onto it.
        let m = guessed("ref,amount,total\nA,19.99,5\n");
        assert_eq!(m.header_for("transaction.amountMajor"), Some("total"));
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"));

        // One broken row (an email shifted into the amount) does not make cents dollars,
        // nor does a cell that is not an amount at all.
        let m = guessed("ref,amount,email\nA,1999,a@x.com\nB,b@example.com\nC,2000,c@x.com\n");
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"));
        let m = guessed("ref,amount\nA,19.99\nB,n/a\n");
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"));

        // The API's own cents field named as the header stays cents.
        let m = guessed("ref,transaction.amount\nA,19.99\n");
        assert_eq!(m.columns.get("transaction.amount").map(String::as_str), Some("transaction.amount"));

        let m = guessed("ref,amount\nA,1999\n");
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"), "whole numbers stay cents");
        // `1999.00` is a spreadsheet's cents as much as dollars: not guessed (the cents check
        // then asks which), while one non-zero fraction makes the column dollars.
        let m = guessed("ref,amount\nA,1999.00\nB,2500.0\n");
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"), "no 100× guess");
        let m = guessed("ref,amount\nA,1999.00\nB,25.50\n");
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amountMajor"));

        let table = crate::input::read_csv("ref,amount\nA,19.99\n").unwrap();
        let mut saved = ColumnMapping::default();
        saved.columns.insert("amount".into(), "transaction.amount".into());
        let mut m = ColumnMapping::merge_saved(&saved, &table.headers);
        m.read_decimal_amounts_as_major_units(&table, &saved);
        assert_eq!(m.columns.get("amount").map(String::as_str), Some("transaction.amount"), "the saved choice stays");
    }

    #[test]
    fn a_saved_mapping_wins_over_the_guess() {
        let headers: Vec<String> = ["ref", "amount"].iter().map(|s| s.to_string()).collect();
        let mut saved = ColumnMapping::default();
        saved.columns.insert("ref".into(), "orderId".into());
        let m = ColumnMapping::merge_saved(&saved, &headers);
        assert_eq!(m.header_for("orderId"), Some("ref"));
        assert_eq!(m.header_for("transaction.amount"), Some("amount"));
    }
}
