//! The append-only, hash-chained audit log of operator actions.
//!
//! Each entry's `hash` is SHA-256 over the previous entry's hash and the entry's own
//! fields; the first entry chains from [`GENESIS`]. [`Mirror::verify_audit`] recomputes the
//! chain: an edited entry breaks its own hash, a deleted one breaks the next entry's
//! `prev_hash` (or, for the newest entry, the gap against SQLite's AUTOINCREMENT counter).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What to log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditDraft {
    pub account_id: Option<String>,
    pub operator: String,
    /// e.g. `refund`, `cancel`, `capture`, `review`, `export`, `credential_change`.
    pub action: String,
    /// What it acted on (an order id, an account id, a file).
    pub target: Option<String>,
    /// Human-readable detail (amount, reason, result).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub account_id: Option<String>,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of [`Mirror::verify_audit`].
#[derive(Debug, Clone, PartialEq)]
pub struct AuditVerification {
    pub ok: bool,
    pub checked: u64,
    /// The first entry that does not verify (or the first missing sequence number).
    pub first_bad_seq: Option<i64>,
    pub problem: Option<String>,
}

fn entry_hash(prev: &str, seq: i64, at: &str, e: &AuditDraft) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        at,
        e.account_id.as_deref().unwrap_or(""),
        &e.operator,
        &e.action,
        e.target.as_deref().unwrap_or(""),
        &e.detail,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends one entry on `conn` (call inside the transaction that does the action).
pub(crate) fn append_audit(conn: &Connection, e: &AuditDraft, at: DateTime<Utc>) -> Result<AuditEntry, MirrorError> {
    let prev: String = conn
        .query_row("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
        .optional()
        .op("reading the audit chain head")?
        .unwrap_or_else(|| GENESIS.to_string());
    let next_seq: i64 = conn
        .query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0) + 1", [], |r| {
            r.get(0)
        })
        .op("reading the next audit sequence number")?;
    let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let hash = entry_hash(&prev, next_seq, &at_text, e);
    conn.execute(
        "INSERT INTO audit_log (seq, account_id, at, operator, action, target, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        rusqlite::params![next_seq, e.account_id, at_text, e.operator, e.action, e.target, e.detail, prev, hash],
    )
    .op("appending to the audit log")?;
    Ok(AuditEntry {
        seq: next_seq,
        account_id: e.account_id.clone(),
        at,
        operator: e.operator.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        detail: e.detail.clone(),
        prev_hash: prev,
        hash,
    })
}

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AuditEntry, String)> {
    let at: String = r.get(2)?;
    Ok((
        AuditEntry {
            seq: r.get(0)?,
            account_id: r.get(1)?,
            at: DateTime::parse_from_rfc3339(&at).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
            operator: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
        },
        at,
    ))
}

const COLUMNS: &str = "seq, account_id, at, operator, action, target, detail, prev_hash, hash";

impl Mirror {
    /// Appends one entry on its own.
    pub fn append_audit(&mut self, e: &AuditDraft) -> Result<AuditEntry, MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting an audit append")?;
        let entry = append_audit(&tx, e, Utc::now())?;
        tx.commit().op("committing an audit append")?;
        Ok(entry)
    }

    /// Entries, newest first.
    pub fn audit_entries(&self, limit: u64, offset: u64) -> Result<Vec<AuditEntry>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?1 OFFSET ?2"))
            .op("reading the audit log")?;
        let rows = stmt.query_map([limit as i64, offset as i64], read_entry).op("reading the audit log")?;
        Ok(rows.collect::<Result<Vec<_>, _>>().op("reading the audit log")?.into_iter().map(|(e, _)| e).collect())
    }

    /// Recomputes the whole chain.
    pub fn verify_audit(&self) -> Result<AuditVerification, MirrorError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))
            .op("verifying the audit log")?;
        let rows = stmt.query_map([], read_entry).op("verifying the audit log")?;
        let mut prev = GENESIS.to_string();
        let mut expected_seq = 1;
        let mut checked = 0;
        let bad = |seq: i64, problem: String, checked: u64| AuditVerification {
            ok: false,
            checked,
            first_bad_seq: Some(seq),
            problem: Some(problem),
        };
        for row in rows {
            let (e, at_text) = row.op("verifying the audit log")?;
            if e.seq != expected_seq {
                return Ok(bad(expected_seq, format!("entry {expected_seq} is missing (deleted)"), checked));
            }
            if e.prev_hash != prev {
                return Ok(bad(e.seq, format!("entry {} does not follow the entry before it", e.seq), checked));
            }
            let draft = AuditDraft {
                account_id: e.account_id.clone(),
                operator: e.operator.clone(),
                action: e.action.clone(),
                target: e.target.clone(),
                detail: e.detail.clone(),
            };
            if entry_hash(&prev, e.seq, &at_text, &draft) != e.hash {
                return Ok(bad(e.seq, format!("entry {} was changed after it was written", e.seq), checked));
            }
            prev = e.hash;
            expected_seq += 1;
            checked += 1;
        }
        let last_issued: i64 = self
            .conn
            .query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0)", [], |r| {
                r.get(0)
            })
            .op("verifying the audit log")?;
        if last_issued >= expected_seq {
            return Ok(bad(
                expected_seq,
                format!("entries {expected_seq}..={last_issued} are missing (deleted)"),
                checked,
            ));
        }
        Ok(AuditVerification { ok: true, checked, first_bad_seq: None, problem: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(i: u32) -> AuditDraft {
        AuditDraft {
            account_id: Some("a".into()),
            operator: "ada".into(),
            action: "refund".into(),
            target: Some(format!("order-{i}")),
            detail: format!("refunded {i}.00 USD: customer asked"),
        }
    }

    fn log_of(n: u32) -> Mirror {
        let mut m = Mirror::open_in_memory().unwrap();
        for i in 0..n {
            m.append_audit(&draft(i)).unwrap();
        }
        m
    }

    #[test]
    fn an_untouched_log_verifies() {
        let m = log_of(5);
        let v = m.verify_audit().unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!(v.checked, 5);
        assert_eq!(m.audit_entries(10, 0).unwrap()[0].seq, 5);
    }

    #[test]
    fn an_edited_entry_is_detected() {
        let m = log_of(5);
        m.conn.execute("UPDATE audit_log SET detail = 'refunded 0.01 USD' WHERE seq = 3", []).unwrap();
        let v = m.verify_audit().unwrap();
        assert!(!v.ok);
        assert_eq!(v.first_bad_seq, Some(3));
    }

    #[test]
    fn deleted_entries_in_the_middle_or_at_the_end_are_detected() {
        let m = log_of(5);
        m.conn.execute("DELETE FROM audit_log WHERE seq = 2", []).unwrap();
        assert_eq!(m.verify_audit().unwrap().first_bad_seq, Some(2));
        let m = log_of(5);
        m.conn.execute("DELETE FROM audit_log WHERE seq = 5", []).unwrap();
        let v = m.verify_audit().unwrap();
        assert!(!v.ok);
        assert_eq!(v.first_bad_seq, Some(5));
    }

    #[test]
    fn a_rehashed_forgery_still_breaks_the_chain_after_it() {
        let m = log_of(4);
        // Rewrite entry 2 with a correct hash of the forged content: entry 3 no longer follows it.
        let forged = AuditDraft { detail: "nothing happened".into(), ..draft(1) };
        let (prev, at): (String, String) = m
            .conn
            .query_row("SELECT prev_hash, at FROM audit_log WHERE seq = 2", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        let hash = entry_hash(&prev, 2, &at, &forged);
        m.conn
            .execute(
                "UPDATE audit_log SET detail = ?1, hash = ?2 WHERE seq = 2",
                rusqlite::params![forged.detail, hash],
            )
            .unwrap();
        assert_eq!(m.verify_audit().unwrap().first_bad_seq, Some(3));
    }
}
