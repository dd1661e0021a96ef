//! Reading the input: a CSV exported from a billing system, or a ready JSON batch.
//!
//! Both become a [`SourceTable`]: headers plus rows of text cells, each row with the line
//! it came from (CSV: the physical line the record starts on, the header being line 1;
//! JSON: the 1-based position in the batch's `body` array). JSON objects are flattened to
//! dotted paths, so a ready batch maps onto the fields one to one.

use serde::{Deserialize, Serialize};

use crate::BatchError;

/// One input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRow {
    /// Where the row is in the input (see the module docs).
    pub line: u64,
    /// One cell per header (missing cells are empty).
    pub cells: Vec<String>,
    /// A structural problem (wrong number of cells, bad encoding): the row is invalid.
    pub problem: Option<String>,
}

/// The parsed input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTable {
    pub headers: Vec<String>,
    pub rows: Vec<SourceRow>,
    /// A JSON batch's header values (`mid`, `expiryDateUtc`), if it had a header.
    pub json_header: Option<serde_json::Value>,
}

impl SourceTable {
    /// The cell of `header` in `row`, if the column exists.
    pub fn cell<'a>(&self, row: &'a SourceRow, header: &str) -> Option<&'a str> {
        let i = self.headers.iter().position(|h| h == header)?;
        row.cells.get(i).map(String::as_str)
    }
}

/// Reads CSV text (UTF-8, header row first; a UTF-8 BOM is ignored). The separator is the
/// header row's: a comma, a semicolon (European spreadsheets) or a tab. Rows whose cell
/// count differs from the header's are kept with a `problem`, so they are reported, not lost;
/// a quote left open, which swallows the lines after it, is reported on its row with the
/// lines it took.
///
/// # Errors
/// [`BatchError::Input`] when there is no header row.
/// Headers as columns are told apart everywhere (mapping, cells, fixes): a blank one becomes
/// `(column 7)`, a repeated one `Amount (column 7)`, so no column hides behind another of the
/// same name (Excel's trailing empty headers, two "Amount" columns). Names differing in case
/// stay apart as they are (cells are looked up by the exact name).
fn distinct_headers(headers: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(headers.len());
    for (i, h) in headers.into_iter().enumerate() {
        let name = if h.is_empty() {
            format!("(column {})", i + 1)
        } else if out.contains(&h) {
            format!("{h} (column {})", i + 1)
        } else {
            h
        };
        out.push(name);
    }
    out
}

/// Whether `header` is one [`distinct_headers`] renamed (a blank or repeated one).
pub(crate) fn is_renamed_header(header: &str) -> bool {
    header
        .strip_suffix(')')
        .and_then(|h| h.rsplit_once("(column "))
        .is_some_and(|(_, n)| n.bytes().all(|b| b.is_ascii_digit()))
}

pub fn read_csv(text: &str) -> Result<SourceTable, BatchError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = header_separator(text);
    let mut reader =
        csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| BatchError::Input(format!("the CSV header row could not be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(BatchError::Input("the CSV has no header row".into()));
    }
    let headers = distinct_headers(headers);
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue; // blank lines are not rows
                }
                let mut cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
                let swallowed = open_quote_lines(&record, delimiter, headers.len());
                let problem = match swallowed {
                    Some(last) => Some(format!(
                        "line {line} opens a quote (\") that is never closed, so lines {}–{last} were read into this row; \
                         close the quote in the file and import it again",
                        line + 1
                    )),
                    None => (cells.len() != headers.len()).then(|| {
                        format!("the row has {} cells but the header has {} columns", cells.len(), headers.len())
                    }),
                };
                cells.resize(headers.len(), String::new());
                rows.push(SourceRow { line, cells, problem });
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let problem = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8 text".to_string(),
                    _ => format!("the row could not be read as CSV: {e}"),
                };
                rows.push(SourceRow { line, cells: vec![String::new(); headers.len()], problem: Some(problem) });
            }
        }
    }
    Ok(SourceTable { headers, rows, json_header: None })
}

/// The separator of the header row (outside quotes): the most frequent of comma, semicolon
/// and tab; a comma when there is none.
fn header_separator(text: &str) -> u8 {
    let mut quoted = false;
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    for c in text.bytes() {
        if !quoted && (c == b'\n' || c == b'\r') {
            break;
        }
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == c) {
                slot.1 += 1;
            }
        }
    }
    // A tie goes to the comma (`max_by_key` keeps the last of equals; the comma comes last).
    counts.iter().rev().filter(|(_, n)| *n > 0).max_by_key(|(_, n)| *n).map_or(b',', |(d, _)| *d)
}

/// When a cell holds whole further rows after a line break (a quote opened and never
/// closed reads the rest of the file into one cell): the last physical line it took.
fn open_quote_lines(record: &csv::StringRecord, delimiter: u8, columns: usize) -> Option<u64> {
    let start = record.position()?.line();
    let looks_like_a_row = |l: &str| columns > 1 && l.matches(char::from(delimiter)).count() + 1 >= columns;
    let swallowed = record.iter().any(|c| c.lines().skip(1).any(looks_like_a_row));
    let breaks = |c: &str| c.trim_end_matches(['\n', '\r']).matches('\n').count() as u64;
    swallowed.then(|| start + record.iter().map(breaks).sum::<u64>())
}

/// Reads a ready JSON batch: `{"header": {...}, "body": [ {...}, ... ]}` (the shape
/// FlexDesk writes) or a bare array of row objects.
///
/// # Errors
/// [`BatchError::Input`] when the text is not JSON of either shape.
pub fn read_json(text: &str) -> Result<SourceTable, BatchError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| BatchError::Input(format!("the JSON batch is not valid JSON: {e}")))?;
    let (header, body) = match value {
        serde_json::Value::Array(rows) => (None, rows),
        serde_json::Value::Object(mut o) => {
            let body = match o.remove("body") {
                Some(serde_json::Value::Array(rows)) => rows,
                _ => return Err(BatchError::Input("the JSON batch has no \"body\" array".into())),
            };
            (o.remove("header"), body)
        }
        _ => return Err(BatchError::Input("a JSON batch is an object with \"body\", or an array".into())),
    };
    let mut headers: Vec<String> = Vec::new();
    let mut flat_rows = Vec::new();
    for row in &body {
        let mut flat = Vec::new();
        flatten("", row, &mut flat);
        for (k, _) in &flat {
            if k != "sequenceNumber" && !headers.contains(k) {
                headers.push(k.clone());
            }
        }
        flat_rows.push((flat, row.is_object()));
    }
    let rows = flat_rows
        .into_iter()
        .enumerate()
        .map(|(i, (flat, is_object))| {
            let cells = headers
                .iter()
                .map(|h| flat.iter().find(|(k, _)| k == h).map(|(_, v)| v.clone()).unwrap_or_default())
                .collect();
            let problem = (!is_object).then(|| "the row is not a JSON object".to_string());
            SourceRow { line: i as u64 + 1, cells, problem }
        })
        .collect();
    Ok(SourceTable { headers, rows, json_header: header })
}

/// The text of an export file's bytes without losing a character silently: UTF-8 (with or
/// without a BOM) as is, UTF-16 by its BOM (Excel's "Unicode text"), and anything else that
/// is not valid UTF-8 as Windows-1252 (Excel's "CSV" on Western systems), with a note for
/// the person to check accented names. (The desktop UI does the same in `decode.ts`.)
pub fn decode_export(bytes: &[u8]) -> (String, Option<String>) {
    let utf16 = |be: bool| {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|p| if be { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, ..] => return (utf16(false), None),
        [0xFE, 0xFF, ..] => return (utf16(true), None),
        _ => {}
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), None),
        Err(_) => {
            let text = bytes.iter().map(|&b| windows_1252(b)).collect();
            let note = "the file is not UTF-8 text, so it was read as Windows-1252 (Western European): check names \
                        and addresses with accents before uploading, or save the export as \"CSV UTF-8\""
                .to_string();
            (text, Some(note))
        }
    }
}

/// Windows-1252 differs from Latin-1 only in 0x80–0x9F.
fn windows_1252(b: u8) -> char {
    const HIGH: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let code = if (0x80..0xA0).contains(&b) { HIGH[usize::from(b - 0x80)] } else { u32::from(b) };
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Reads CSV or JSON, by the first non-blank character (`{`/`[` = JSON).
pub fn read_any(text: &str) -> Result<SourceTable, BatchError> {
    match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
        Some('{') | Some('[') => read_json(text),
        _ => read_csv(text),
    }
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, child) in o {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, child, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        serde_json::Value::Array(_) => out.push((prefix.to_string(), v.to_string())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Writes rows back out as CSV (for "export the bad rows"): the headers plus `extra`
/// columns, one record per row.
pub fn write_csv(headers: &[String], rows: &[(Vec<String>, Vec<String>)], extra: &[&str]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head: Vec<&str> = headers.iter().map(String::as_str).collect();
    head.extend_from_slice(extra);
    let _ = w.write_record(&head);
    for (cells, more) in rows {
        let mut rec: Vec<&str> = cells.iter().map(String::as_str).collect();
        rec.extend(more.iter().map(String::as_str));
        let _ = w.write_record(&rec);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
