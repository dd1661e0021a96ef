//! What operators add to orders: notes, review decisions; and saved list views.

use chrono::{DateTime, Utc};

use crate::audit::{append_audit, AuditDraft};
use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDecision {
    pub order_session_key: String,
    pub at: DateTime<Utc>,
    pub operator: String,
    pub decision: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    pub query_json: String,
    pub columns_json: String,
}

fn parse_ts(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

impl Mirror {
    pub fn add_note(&self, account_id: &str, order: &str, operator: &str, text: &str) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "INSERT INTO notes (account_id, order_session_key, at, operator, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![account_id, order, Utc::now().to_rfc3339(), operator, text],
            )
            .op("adding a note")?;
        Ok(())
    }

    pub fn notes(&self, account_id: &str, order: &str) -> Result<Vec<Note>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, operator, text FROM notes WHERE account_id = ?1 AND order_session_key = ?2 ORDER BY at, id",
            )
            .op("reading notes")?;
        let rows = stmt
            .query_map([account_id, order], |r| {
                Ok(Note { at: parse_ts(r.get(0)?), operator: r.get(1)?, text: r.get(2)? })
            })
            .op("reading notes")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading notes")
    }

    /// Records a review decision and its audit entry in one transaction.
    pub fn record_review(
        &mut self,
        account_id: &str,
        order: &str,
        operator: &str,
        decision: &str,
        reason: &str,
    ) -> Result<(), MirrorError> {
        let now = Utc::now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting a review decision")?;
        tx.execute(
            "INSERT INTO review_decisions (account_id, order_session_key, at, operator, decision, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![account_id, order, now.to_rfc3339(), operator, decision, reason],
        )
        .op("recording a review decision")?;
        append_audit(
            &tx,
            &AuditDraft {
                account_id: Some(account_id.to_string()),
                operator: operator.to_string(),
                action: "review".into(),
                target: Some(order.to_string()),
                detail: format!("{decision}: {reason}"),
            },
            now,
        )?;
        tx.commit().op("committing a review decision")?;
        Ok(())
    }

    /// The latest review decision of each order that has one.
    pub fn latest_reviews(&self, account_id: &str) -> Result<Vec<ReviewDecision>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT order_session_key, at, operator, decision, reason FROM review_decisions r
                 WHERE account_id = ?1 AND id = (SELECT MAX(id) FROM review_decisions
                                                 WHERE account_id = r.account_id AND order_session_key = r.order_session_key)",
            )
            .op("reading review decisions")?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(ReviewDecision {
                    order_session_key: r.get(0)?,
                    at: parse_ts(r.get(1)?),
                    operator: r.get(2)?,
                    decision: r.get(3)?,
                    reason: r.get(4)?,
                })
            })
            .op("reading review decisions")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading review decisions")
    }

    /// Saves (or replaces, by name) a view.
    pub fn save_view(
        &self,
        account_id: &str,
        name: &str,
        query_json: &str,
        columns_json: &str,
    ) -> Result<i64, MirrorError> {
        self.conn
            .execute(
                "INSERT INTO saved_views (account_id, name, query_json, columns_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(account_id, name) DO UPDATE SET query_json = excluded.query_json, columns_json = excluded.columns_json",
                rusqlite::params![account_id, name, query_json, columns_json, Utc::now().to_rfc3339()],
            )
            .op("saving a view")?;
        self.conn
            .query_row("SELECT id FROM saved_views WHERE account_id = ?1 AND name = ?2", [account_id, name], |r| {
                r.get(0)
            })
            .op("saving a view")
    }

    pub fn views(&self, account_id: &str) -> Result<Vec<SavedView>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, query_json, columns_json FROM saved_views WHERE account_id = ?1 ORDER BY name",
            )
            .op("listing views")?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(SavedView { id: r.get(0)?, name: r.get(1)?, query_json: r.get(2)?, columns_json: r.get(3)? })
            })
            .op("listing views")?;
        rows.collect::<Result<Vec<_>, _>>().op("listing views")
    }

    pub fn delete_view(&self, account_id: &str, id: i64) -> Result<(), MirrorError> {
        self.conn
            .execute("DELETE FROM saved_views WHERE account_id = ?1 AND id = ?2", rusqlite::params![account_id, id])
            .op("deleting a view")?;
        Ok(())
    }
}
