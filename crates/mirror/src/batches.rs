//! SFTP batches: the upload ledger, per-row origin and outcome, and saved column mappings.
//! The mirror stores what `flexdesk-batch` produced; it does not know the file formats.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

/// A file to record with its rows `(sequence number, input line, merchant order id)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatchFile {
    pub name: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
    pub rows: Vec<(u32, u64, String)>,
}

/// A batch as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRecord {
    pub id: String,
    /// The account the batch was built and is sent for.
    pub account_id: String,
    pub kind: String,
    pub source_name: String,
    pub created_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The note needs the operator (a changed host key, a refused login): the batch shows as
    /// failed, and is looked at again on Retry or at the next start, not every few minutes.
    pub needs_action: bool,
    /// When the last complete look for the batch's responses ended (a look that could not
    /// connect or list the server's folder does not count).
    pub last_checked_at: Option<DateTime<Utc>>,
    pub files: Vec<BatchFileRecord>,
    pub row_count: u64,
    /// Rows with an outcome from a response file.
    pub answered_rows: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchFileRecord {
    pub name: String,
    pub sha256: String,
    /// built → uploading → uploaded → answered.
    pub status: String,
    pub size: u64,
    pub sent_bytes: u64,
}

/// One row of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRowRecord {
    pub file_name: String,
    pub sequence_number: u32,
    pub line: u64,
    pub order_id: String,
    pub order_session_key: Option<String>,
    pub status: Option<String>,
    pub errors: Option<String>,
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

/// An order of the account by merchant order id: a lookup in `orders_by_merchant_id`
/// (merchant order id only, migration 0011), the account checked on the row.
const ORDER_BY_MERCHANT_ID: &str =
    "SELECT order_session_key FROM orders WHERE +account_id = ?1 AND merchant_order_id = ?2 LIMIT 1";

impl Mirror {
    /// Records a built batch and its files and rows in one transaction.
    pub fn insert_batch(
        &mut self,
        account_id: &str,
        id: &str,
        kind: &str,
        source_name: &str,
        created_at: DateTime<Utc>,
        files: &[NewBatchFile],
    ) -> Result<(), MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting a batch insert")?;
        tx.execute(
            "INSERT INTO batches (id, account_id, kind, source_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, account_id, kind, source_name, created_at.to_rfc3339()],
        )
        .op("recording a batch")?;
        for f in files {
            tx.execute(
                "INSERT INTO batch_files (batch_id, name, sha256, bytes, status) VALUES (?1, ?2, ?3, ?4, 'built')",
                params![id, f.name, f.sha256, f.bytes],
            )
            .op("recording a batch file")?;
            for (seq, line, order_id) in &f.rows {
                tx.execute(
                    "INSERT INTO batch_rows (batch_id, file_name, sequence_number, line, order_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, f.name, seq, *line as i64, order_id],
                )
                .op("recording a batch row")?;
            }
        }
        tx.commit().op("committing a batch insert")
    }

    /// Moves a file's status (and its sent-byte count).
    pub fn set_batch_file_status(&self, name: &str, status: &str, sent_bytes: u64) -> Result<(), MirrorError> {
        let now = Utc::now().to_rfc3339();
        self.conn
            .execute(
                "UPDATE batch_files SET status = ?2, sent_bytes = ?3,
                   uploaded_at = CASE WHEN ?2 = 'uploaded' THEN ?4 ELSE uploaded_at END,
                   answered_at = CASE WHEN ?2 = 'answered' THEN ?4 ELSE answered_at END
                 WHERE name = ?1",
                params![name, status, sent_bytes as i64, now],
            )
            .op("updating a batch file")?;
        Ok(())
    }

    pub fn set_batch_error(&self, id: &str, error: Option<&str>) -> Result<(), MirrorError> {
        self.conn
            .execute("UPDATE batches SET last_error = ?2, needs_action = 0 WHERE id = ?1", params![id, error])
            .op("updating a batch")?;
        Ok(())
    }

    /// A note the operator must act on (see [`BatchRecord::needs_action`]).
    pub fn set_batch_action_needed(&self, id: &str, note: &str) -> Result<(), MirrorError> {
        self.conn
            .execute("UPDATE batches SET last_error = ?2, needs_action = 1 WHERE id = ?1", params![id, note])
            .op("updating a batch")?;
        Ok(())
    }

    /// Ends a look for the batch's responses: its note (none when all is well) and when.
    pub fn finish_batch_look(&self, id: &str, note: Option<&str>, at: DateTime<Utc>) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "UPDATE batches SET last_error = ?2, needs_action = 0, last_checked_at = ?3 WHERE id = ?1",
                params![id, note, at.to_rfc3339()],
            )
            .op("updating a batch")?;
        Ok(())
    }

    /// Replaces a file's bytes before it is uploaded, e.g. with a fresh access token in its
    /// header; its checksum follows and its sent count starts again (a part already on the
    /// server is resumed only if it is the start of the new bytes). Refused once uploaded.
    pub fn replace_batch_file_bytes(&self, name: &str, bytes: &[u8], sha256: &str) -> Result<bool, MirrorError> {
        let changed = self
            .conn
            .execute(
                "UPDATE batch_files SET bytes = ?2, sha256 = ?3, sent_bytes = 0
                 WHERE name = ?1 AND status IN ('built', 'uploading')",
                params![name, bytes, sha256],
            )
            .op("replacing a batch file")?;
        Ok(changed == 1)
    }

    /// A file's bytes.
    pub fn batch_file_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, MirrorError> {
        self.conn
            .query_row("SELECT bytes FROM batch_files WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .op("reading a batch file")
    }

    /// Records a response file's rows (`(sequence number, orderSessionKey, status, errors)`)
    /// and, for a file refused as a whole (`file_error`), that error on every row left
    /// without an outcome, in one transaction. The file counts as answered only once every
    /// row it carried has an outcome; returns the sequence numbers still without one.
    pub fn apply_batch_response(
        &mut self,
        file_name: &str,
        rows: &[(u32, Option<String>, String, Option<String>)],
        file_error: Option<&str>,
    ) -> Result<Vec<u32>, MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting a response apply")?;
        for (seq, key, status, errors) in rows {
            tx.execute(
                "UPDATE batch_rows SET order_session_key = ?3, status = ?4, errors = ?5 WHERE file_name = ?1 AND sequence_number = ?2",
                params![file_name, seq, key, status, errors],
            )
            .op("recording a row outcome")?;
        }
        if let Some(error) = file_error {
            // The file as a whole was refused: every row without its own outcome failed.
            tx.execute(
                "UPDATE batch_rows SET status = 'ERROR', errors = ?2 WHERE file_name = ?1 AND status IS NULL",
                params![file_name, error],
            )
            .op("recording a file's refusal")?;
        }
        let missing: Vec<u32> = {
            let mut stmt = tx
                .prepare(
                    "SELECT sequence_number FROM batch_rows WHERE file_name = ?1 AND status IS NULL ORDER BY sequence_number",
                )
                .op("finding rows without an outcome")?;
            let seqs = stmt.query_map([file_name], |r| r.get(0)).op("finding rows without an outcome")?;
            seqs.collect::<Result<_, _>>().op("finding rows without an outcome")?
        };
        if missing.is_empty() {
            tx.execute(
                "UPDATE batch_files SET status = 'answered', answered_at = ?2 WHERE name = ?1",
                params![file_name, Utc::now().to_rfc3339()],
            )
            .op("marking a file answered")?;
        }
        tx.commit().op("committing a response apply")?;
        Ok(missing)
    }

    /// The account's batches, newest first.
    pub fn batches(&self, account_id: &str) -> Result<Vec<BatchRecord>, MirrorError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM batches WHERE account_id = ?1 ORDER BY created_at DESC, id")
                .op("listing batches")?;
            let rows = stmt.query_map([account_id], |r| r.get(0)).op("listing batches")?;
            rows.collect::<Result<_, _>>().op("listing batches")?
        };
        ids.iter().filter_map(|id| self.batch(id).transpose()).collect()
    }

    /// One batch with its files and counts.
    pub fn batch(&self, id: &str) -> Result<Option<BatchRecord>, MirrorError> {
        let head = self
            .conn
            .query_row(
                "SELECT id, kind, source_name, created_at, last_error,
                   (SELECT COUNT(*) FROM batch_rows WHERE batch_id = b.id),
                   (SELECT COUNT(*) FROM batch_rows WHERE batch_id = b.id AND status IS NOT NULL),
                   account_id, needs_action, last_checked_at
                 FROM batches b WHERE id = ?1",
                [id],
                |r| {
                    Ok(BatchRecord {
                        id: r.get(0)?,
                        account_id: r.get(7)?,
                        kind: r.get(1)?,
                        source_name: r.get(2)?,
                        created_at: ts(&r.get::<_, String>(3)?),
                        last_error: r.get(4)?,
                        needs_action: r.get(8)?,
                        last_checked_at: r.get::<_, Option<String>>(9)?.as_deref().map(ts),
                        files: Vec::new(),
                        row_count: r.get::<_, i64>(5)? as u64,
                        answered_rows: r.get::<_, i64>(6)? as u64,
                    })
                },
            )
            .optional()
            .op("reading a batch")?;
        let Some(mut b) = head else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, sha256, status, length(bytes), sent_bytes FROM batch_files WHERE batch_id = ?1 ORDER BY name",
            )
            .op("reading batch files")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(BatchFileRecord {
                    name: r.get(0)?,
                    sha256: r.get(1)?,
                    status: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    sent_bytes: r.get::<_, i64>(4)? as u64,
                })
            })
            .op("reading batch files")?;
        b.files = rows.collect::<Result<_, _>>().op("reading batch files")?;
        Ok(Some(b))
    }

    /// A batch's rows in file and sequence order.
    pub fn batch_rows(&self, id: &str) -> Result<Vec<BatchRowRecord>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT file_name, sequence_number, line, order_id, order_session_key, status, errors
                 FROM batch_rows WHERE batch_id = ?1 ORDER BY file_name, sequence_number",
            )
            .op("reading batch rows")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(BatchRowRecord {
                    file_name: r.get(0)?,
                    sequence_number: r.get(1)?,
                    line: r.get::<_, i64>(2)? as u64,
                    order_id: r.get(3)?,
                    order_session_key: r.get(4)?,
                    status: r.get(5)?,
                    errors: r.get(6)?,
                })
            })
            .op("reading batch rows")?;
        rows.collect::<Result<_, _>>().op("reading batch rows")
    }

    /// Which of `order_ids` were already submitted for the account: an order in the mirror
    /// with that merchant order id, or a row of an earlier batch that did not fail.
    pub fn submitted_order_ids(
        &self,
        account_id: &str,
        order_ids: &[String],
    ) -> Result<HashMap<String, String>, MirrorError> {
        let mut out = HashMap::new();
        let mut by_order = self.conn.prepare_cached(ORDER_BY_MERCHANT_ID).op("checking submitted orders")?;
        let mut by_batch = self
            .conn
            .prepare_cached(
                "SELECT r.file_name FROM batch_rows r JOIN batches b ON b.id = r.batch_id
                 WHERE b.account_id = ?1 AND r.order_id = ?2 AND COALESCE(r.status, '') <> 'ERROR' LIMIT 1",
            )
            .op("checking submitted orders")?;
        for id in order_ids {
            let order: Option<String> =
                by_order.query_row(params![account_id, id], |r| r.get(0)).optional().op("checking submitted orders")?;
            if let Some(key) = order {
                out.insert(id.clone(), format!("FlexFactor order {key}"));
                continue;
            }
            let file: Option<String> =
                by_batch.query_row(params![account_id, id], |r| r.get(0)).optional().op("checking submitted orders")?;
            if let Some(f) = file {
                out.insert(id.clone(), format!("in batch file {f}"));
            }
        }
        Ok(out)
    }

    pub fn save_column_mapping(&self, account_id: &str, kind: &str, mapping_json: &str) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "INSERT INTO column_mappings (account_id, kind, mapping, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account_id, kind) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at",
                params![account_id, kind, mapping_json, Utc::now().to_rfc3339()],
            )
            .op("saving a column mapping")?;
        Ok(())
    }

    pub fn column_mapping(&self, account_id: &str, kind: &str) -> Result<Option<String>, MirrorError> {
        self.conn
            .query_row(
                "SELECT mapping FROM column_mappings WHERE account_id = ?1 AND kind = ?2",
                [account_id, kind],
                |r| r.get(0),
            )
            .optional()
            .op("reading a column mapping")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_found_by_merchant_id_through_its_index_not_by_scanning_the_account() {
        let m = Mirror::open_in_memory().unwrap();
        let plan: Vec<String> = m
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {ORDER_BY_MERCHANT_ID}"))
            .unwrap()
            .query_map(["acct", "WEB-1"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(plan, ["SEARCH orders USING INDEX orders_by_merchant_id (merchant_order_id=?)"]);
    }

    use crate::{Account, Environment};

    fn mirror_with_a_three_row_file() -> Mirror {
        let mut m = Mirror::open_in_memory().unwrap();
        m.insert_account(&Account::new("acct", "Test", Environment::Sandbox, "http://127.0.0.1:1/v1", "mid", "key"))
            .unwrap();
        let file = NewBatchFile {
            name: "evaluate_1.json".into(),
            sha256: "00".into(),
            bytes: b"{}".to_vec(),
            rows: vec![(1, 2, "A".into()), (2, 3, "B".into()), (3, 4, "C".into())],
        };
        m.insert_batch("acct", "b1", "evaluate", "x.csv", Utc::now(), &[file]).unwrap();
        m
    }

    fn statuses(m: &Mirror) -> Vec<Option<String>> {
        m.batch_rows("b1").unwrap().into_iter().map(|r| r.status).collect()
    }

    #[test]
    fn a_response_missing_rows_leaves_the_file_unanswered_and_names_them() {
        let mut m = mirror_with_a_three_row_file();
        let missing = m
            .apply_batch_response("evaluate_1.json", &[(1, Some("k1".into()), "SUBMITTED".into(), None)], None)
            .unwrap();
        assert_eq!(missing, [2, 3]);
        assert_eq!(m.batch("b1").unwrap().unwrap().files[0].status, "built", "not answered");
        let rest =
            [(2, None, "ERROR".to_string(), Some("bad".to_string())), (3, Some("k3".into()), "SUBMITTED".into(), None)];
        assert!(m.apply_batch_response("evaluate_1.json", &rest, None).unwrap().is_empty());
        assert_eq!(m.batch("b1").unwrap().unwrap().files[0].status, "answered");
    }

    #[test]
    fn a_file_refused_as_a_whole_fails_every_row_without_an_outcome_and_is_answered() {
        let mut m = mirror_with_a_three_row_file();
        let missing = m
            .apply_batch_response(
                "evaluate_1.json",
                &[(1, Some("k1".into()), "SUBMITTED".into(), None)],
                Some("the batch has no body array"),
            )
            .unwrap();
        assert!(missing.is_empty());
        assert_eq!(statuses(&m), [Some("SUBMITTED".into()), Some("ERROR".into()), Some("ERROR".into())]);
        let rows = m.batch_rows("b1").unwrap();
        assert_eq!(rows[2].errors.as_deref(), Some("the batch has no body array"));
        assert_eq!(m.batch("b1").unwrap().unwrap().files[0].status, "answered");
    }
}
