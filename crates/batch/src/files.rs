//! The files FlexDesk writes and reads: evaluate batches (JSON), `transmit_` batches (JSON
//! or CSV), their names, the split into files of at most 2000 rows, and the response file.
//!
//! # Documented choices (flexfactor-api.md §11 and open question 12 leave these open)
//! * An evaluate batch is one JSON object: `{"header": {"mid", "authorizationToken",
//!   "expiryDateUtc"}, "body": [ <evaluate object with "sequenceNumber": "1">, … ]}`.
//!   Rows carry their own `expiryDateUtc` only when it differs from the header's default.
//!   Every row gets a fresh `idempotencyKey` when the file is built, and `mid`.
//! * A transmit JSON batch: `{"header": {"mid", "authorization": "bearer <token>"}, "body": […]}`.
//!   A transmit CSV batch: one header row of dotted JSON paths (`transaction.amount`), UTF-8,
//!   one record per row, `sequenceNumber` first.
//! * Names: `evaluate_<yyyyMMddTHHmmss>_<batch ref>_<part>of<parts>.json` and
//!   `transmit_<…>.json|.csv`. While uploading: `.<name>.part` (dot-prefixed, so the
//!   server's pickup ignores it), then renamed.
//! * The response (INFERRED): `<base name>_response.json` in the outbound folder:
//!   `{"sourceFile": "<name>", "processedAt": "<rfc3339>", "rows": [{"sequenceNumber": "1",
//!   "orderId": "…", "orderSessionKey": "…"|null, "status": "SUBMITTED"|"APPROVED"|…|"ERROR",
//!   "errors": ["…"]}]}`. A bare array of rows is accepted too.
//! * At most [`MAX_ROWS_PER_FILE`] rows per file (documented for transmit, INFERRED for
//!   evaluate); larger inputs are split, `sequenceNumber` restarting at 1 in each file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::validate::{BatchKind, RowResult};
use crate::BatchError;

/// The most rows in one batch file.
pub const MAX_ROWS_PER_FILE: usize = 2000;

/// The batch header.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHeader {
    pub mid: String,
    /// The bearer token from `/oauth2/token`.
    pub authorization_token: String,
    /// The batch's default retry window (evaluate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date_utc: Option<String>,
}

impl std::fmt::Debug for BatchHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchHeader")
            .field("mid", &self.mid)
            .field("authorization_token", &"<redacted>")
            .field("expiry_date_utc", &self.expiry_date_utc)
            .finish()
    }
}

/// Transmit files' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Json,
    Csv,
}

/// One row as placed in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub sequence_number: u32,
    /// The input line it came from.
    pub line: u64,
    pub order_id: String,
}

/// One file ready to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
    pub rows: Vec<PlannedRow>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The response file's name for an uploaded file.
pub fn response_name(file_name: &str) -> String {
    let base = file_name.rsplit_once('.').map(|(b, _)| b).unwrap_or(file_name);
    format!("{base}_response.json")
}

/// The temporary name a file is uploaded under before the rename.
pub fn temp_name(file_name: &str) -> String {
    format!(".{file_name}.part")
}

/// Splits valid rows into files of at most [`MAX_ROWS_PER_FILE`] and writes each.
/// `batch_ref` is a short id that makes the names unique.
///
/// # Errors
/// [`BatchError::Input`] when there are no rows, or a row cannot be serialized.
pub fn plan_files(
    kind: BatchKind,
    format: FileFormat,
    header: &BatchHeader,
    rows: &[&RowResult],
    created: DateTime<Utc>,
    batch_ref: &str,
) -> Result<Vec<PlannedFile>, BatchError> {
    if rows.is_empty() {
        return Err(BatchError::Input("there are no valid rows to write".into()));
    }
    let format = if kind == BatchKind::Evaluate { FileFormat::Json } else { format };
    let chunks: Vec<&[&RowResult]> = rows.chunks(MAX_ROWS_PER_FILE).collect();
    let parts = chunks.len();
    let prefix = match kind {
        BatchKind::Evaluate => "evaluate_",
        BatchKind::Transmit => "transmit_",
    };
    let ext = match format {
        FileFormat::Json => "json",
        FileFormat::Csv => "csv",
    };
    let stamp = created.format("%Y%m%dT%H%M%S");
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let name = format!("{prefix}{stamp}_{batch_ref}_{}of{parts}.{ext}", i + 1);
            let mut planned = Vec::with_capacity(chunk.len());
            let mut body = Vec::with_capacity(chunk.len());
            for (j, row) in chunk.iter().enumerate() {
                let seq = j as u32 + 1;
                let mut obj = row.value.as_object().cloned().unwrap_or_default();
                obj.insert("sequenceNumber".into(), Value::String(seq.to_string()));
                obj.insert("mid".into(), Value::String(header.mid.clone()));
                if kind == BatchKind::Evaluate {
                    obj.insert("idempotencyKey".into(), Value::String(uuid::Uuid::new_v4().to_string()));
                }
                body.push(obj);
                planned.push(PlannedRow {
                    sequence_number: seq,
                    line: row.line,
                    order_id: row.order_id.clone().unwrap_or_default(),
                });
            }
            let bytes = match (kind, format) {
                (BatchKind::Evaluate, _) => evaluate_json(header, body)?,
                (BatchKind::Transmit, FileFormat::Json) => transmit_json(header, body)?,
                (BatchKind::Transmit, FileFormat::Csv) => transmit_csv(body),
            };
            Ok(PlannedFile { name, sha256: sha256_hex(&bytes), bytes, rows: planned })
        })
        .collect()
}

/// The same JSON batch file with a fresh access token in its header: rows, sequence
/// numbers and idempotency keys unchanged. The token FlexDesk puts in a file is valid for
/// minutes; a file first built long before it is sent (an upload retried after fixing the
/// SFTP settings) needs a current one. `None` for a file without a token (a CSV file).
///
/// # Errors
/// [`BatchError::Input`] when the bytes are not a JSON batch object.
pub fn with_fresh_token(bytes: &[u8], token: &str) -> Result<Option<Vec<u8>>, BatchError> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(None);
    };
    let Some(header) = doc.get_mut("header").and_then(Value::as_object_mut) else {
        return Err(BatchError::Input("the batch file has no header object".into()));
    };
    if header.contains_key("authorizationToken") {
        header.insert("authorizationToken".into(), Value::String(token.to_string()));
    } else if header.contains_key("authorization") {
        header.insert("authorization".into(), Value::String(format!("bearer {token}")));
    } else {
        return Ok(None);
    }
    serde_json::to_vec_pretty(&doc).map(Some).map_err(|e| BatchError::Input(e.to_string()))
}

fn evaluate_json(header: &BatchHeader, body: Vec<Map<String, Value>>) -> Result<Vec<u8>, BatchError> {
    let doc = serde_json::json!({ "header": header, "body": body });
    serde_json::to_vec_pretty(&doc).map_err(|e| BatchError::Input(e.to_string()))
}

fn transmit_json(header: &BatchHeader, body: Vec<Map<String, Value>>) -> Result<Vec<u8>, BatchError> {
    let doc = serde_json::json!({
        "header": { "mid": header.mid, "authorization": format!("bearer {}", header.authorization_token) },
        "body": body,
    });
    serde_json::to_vec_pretty(&doc).map_err(|e| BatchError::Input(e.to_string()))
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            for (k, c) in o {
                flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, c, out)
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn transmit_csv(body: Vec<Map<String, Value>>) -> Vec<u8> {
    let flat: Vec<Vec<(String, String)>> = body
        .into_iter()
        .map(|o| {
            let mut f = Vec::new();
            flatten("", &Value::Object(o), &mut f);
            f
        })
        .collect();
    let mut headers: Vec<String> = vec!["sequenceNumber".into()];
    for row in &flat {
        for (k, _) in row {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let rows: Vec<(Vec<String>, Vec<String>)> = flat
        .iter()
        .map(|row| {
            let cells = headers
                .iter()
                .map(|h| row.iter().find(|(k, _)| k == h).map(|(_, v)| v.clone()).unwrap_or_default())
                .collect();
            (cells, Vec::new())
        })
        .collect();
    crate::input::write_csv(&headers, &rows, &[]).into_bytes()
}

/// One row of a response file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResponseRow {
    #[serde(alias = "SequenceNumber", deserialize_with = "string_or_number")]
    pub sequence_number: String,
    #[serde(alias = "OrderId", deserialize_with = "optional_text")]
    pub order_id: Option<String>,
    #[serde(alias = "OrderSessionKey", deserialize_with = "optional_text")]
    pub order_session_key: Option<String>,
    #[serde(alias = "Status", deserialize_with = "string_or_number")]
    pub status: String,
    /// The row's errors, whichever shape they came in (a list of texts, one text, objects
    /// with a message, or null).
    #[serde(alias = "Errors", deserialize_with = "error_texts")]
    pub errors: Vec<String>,
}

fn optional_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string_or_number(d)?;
    Ok((!s.trim().is_empty()).then_some(s))
}

fn error_texts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    fn text(v: Value) -> Option<String> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Object(o) => {
                let pick = ["message", "description", "error", "code"].iter().find_map(|k| o.get(*k).cloned());
                Some(match pick {
                    Some(Value::String(s)) => s,
                    _ => Value::Object(o).to_string(),
                })
            }
            other => Some(other.to_string()),
        }
    }
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    })
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// A response file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResponseFile {
    #[serde(alias = "SourceFile")]
    pub source_file: String,
    #[serde(alias = "ProcessedAt")]
    pub processed_at: Option<String>,
    #[serde(alias = "Rows")]
    pub rows: Vec<ResponseRow>,
}

impl ResponseFile {
    /// Parses a response file (the object form or a bare array of rows).
    ///
    /// # Errors
    /// [`BatchError::Response`] when it is neither.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<ResponseFile, BatchError> {
        let err = |e: serde_json::Error| BatchError::Response { name: name.to_string(), message: e.to_string() };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let v: Value = serde_json::from_slice(bytes).map_err(err)?;
        if v.is_array() {
            let rows = serde_json::from_value(v).map_err(err)?;
            return Ok(ResponseFile { source_file: String::new(), processed_at: None, rows });
        }
        serde_json::from_value(v).map_err(err)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
