//! The outbox of money-moving intents (DESIGN.md §4).
//!
//! An intent is written (durably) before anything is sent. Its `intent_key` comes from the
//! UI action (one per dialog), so double clicks, retries and restarts land on the same row;
//! the `idempotency_key` sent to FlexFactor is stored with it and reused on every resend.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row};

use crate::audit::{append_audit, AuditDraft};
use crate::error::{MirrorError, SqlContext};
use crate::{Mirror, OrderEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentKind {
    Refund,
    Cancel,
    ExternalCancel,
    Capture,
}

impl IntentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentKind::Refund => "refund",
            IntentKind::Cancel => "cancel",
            IntentKind::ExternalCancel => "external_cancel",
            IntentKind::Capture => "capture",
        }
    }

    fn parse(s: &str) -> IntentKind {
        match s {
            "refund" => IntentKind::Refund,
            "cancel" => IntentKind::Cancel,
            "external_cancel" => IntentKind::ExternalCancel,
            _ => IntentKind::Capture,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// Written, not sent yet.
    Pending,
    /// A request is (or was, before a crash) on the wire.
    Sending,
    Confirmed,
    /// FlexFactor said no (e.g. 2001); nothing happened.
    Rejected,
    /// The answer was unclear; the order must be re-read before anything else is sent.
    AwaitingConfirmation,
}

impl IntentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Sending => "sending",
            IntentState::Confirmed => "confirmed",
            IntentState::Rejected => "rejected",
            IntentState::AwaitingConfirmation => "awaiting_confirmation",
        }
    }

    fn parse(s: &str) -> IntentState {
        match s {
            "pending" => IntentState::Pending,
            "sending" => IntentState::Sending,
            "confirmed" => IntentState::Confirmed,
            "rejected" => IntentState::Rejected,
            _ => IntentState::AwaitingConfirmation,
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, IntentState::Pending | IntentState::Sending | IntentState::AwaitingConfirmation)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub intent_key: String,
    pub account_id: String,
    pub kind: IntentKind,
    pub order_session_key: Option<String>,
    pub merchant_order_id: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub reason: String,
    pub operator: String,
    pub idempotency_key: String,
    /// Refunds: the order's refunded total when the intent was written.
    pub baseline_refunded_cents: Option<i64>,
    pub state: IntentState,
    pub attempts: i64,
    pub result_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What [`Mirror::record_intent`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The intent is new and now durable.
    Inserted,
    /// An intent with this key exists (a double click or a retry): act on it instead.
    Existing(Box<Intent>),
    /// A refund: another refund of the same order is not settled yet (its answer was
    /// unclear, or it is being sent). Nothing was written: a second refund now could refund
    /// the customer twice.
    OpenRefund(Box<Intent>),
    /// A refund: the order's refunded total is no longer the one this refund was checked
    /// against (`baseline_refunded_cents`), or another refund of it was confirmed since this
    /// one's check began (`created_at`). Nothing was written: its amount check, and a later
    /// confirmation by re-reading, would count the other refund as this one.
    OrderChanged,
}

const COLUMNS: &str =
    "intent_key, account_id, kind, order_session_key, merchant_order_id, amount_cents, currency, reason, \
     operator, idempotency_key, baseline_refunded_cents, state, attempts, result_message, created_at, updated_at";

fn parse_ts(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn read_intent(r: &Row<'_>) -> rusqlite::Result<Intent> {
    Ok(Intent {
        intent_key: r.get(0)?,
        account_id: r.get(1)?,
        kind: IntentKind::parse(&r.get::<_, String>(2)?),
        order_session_key: r.get(3)?,
        merchant_order_id: r.get(4)?,
        amount_cents: r.get(5)?,
        currency: r.get(6)?,
        reason: r.get(7)?,
        operator: r.get(8)?,
        idempotency_key: r.get(9)?,
        baseline_refunded_cents: r.get(10)?,
        state: IntentState::parse(&r.get::<_, String>(11)?),
        attempts: r.get(12)?,
        result_message: r.get(13)?,
        created_at: parse_ts(r.get(14)?),
        updated_at: parse_ts(r.get(15)?),
    })
}

impl Mirror {
    /// Writes the intent unless one with its key exists; durable on return.
    pub fn record_intent(&mut self, i: &Intent) -> Result<Recorded, MirrorError> {
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).op("starting an intent")?;
        let existing = tx
            .query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE intent_key = ?1"), [&i.intent_key], read_intent)
            .optional()
            .op("looking up an intent")?;
        if let Some(e) = existing {
            return Ok(Recorded::Existing(Box::new(e)));
        }
        if i.kind == IntentKind::Refund {
            // Checked in the same write transaction as the insert, so two windows refunding
            // one order at once cannot both get through.
            let open = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM outbox WHERE account_id = ?1 AND order_session_key = ?2 AND kind = 'refund'
                         AND state IN ('pending', 'sending', 'awaiting_confirmation') LIMIT 1"
                    ),
                    rusqlite::params![i.account_id, i.order_session_key],
                    read_intent,
                )
                .optional()
                .op("looking for an open refund")?;
            if let Some(open) = open {
                return Ok(Recorded::OpenRefund(Box::new(open)));
            }
            let (stored, confirmed_since): (Option<i64>, bool) = tx
                .query_row(
                    "SELECT (SELECT refunded_cents FROM orders WHERE account_id = ?1 AND order_session_key = ?2),
                            EXISTS (SELECT 1 FROM outbox WHERE account_id = ?1 AND order_session_key = ?2
                                      AND kind = 'refund' AND state = 'confirmed' AND updated_at >= ?3)",
                    rusqlite::params![i.account_id, i.order_session_key, i.created_at.to_rfc3339()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .op("checking the order's refunds")?;
            if confirmed_since || (stored.is_some() && stored != i.baseline_refunded_cents) {
                return Ok(Recorded::OrderChanged);
            }
        }
        tx.execute(
            &format!("INSERT INTO outbox ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
            rusqlite::params![
                i.intent_key,
                i.account_id,
                i.kind.as_str(),
                i.order_session_key,
                i.merchant_order_id,
                i.amount_cents,
                i.currency,
                i.reason,
                i.operator,
                i.idempotency_key,
                i.baseline_refunded_cents,
                i.state.as_str(),
                i.attempts,
                i.result_message,
                i.created_at.to_rfc3339(),
                i.updated_at.to_rfc3339(),
            ],
        )
        .op("writing an intent")?;
        tx.commit().op("committing an intent")?;
        Ok(Recorded::Inserted)
    }

    pub fn intent(&self, intent_key: &str) -> Result<Option<Intent>, MirrorError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE intent_key = ?1"), [intent_key], read_intent)
            .optional()
            .op("reading an intent")
    }

    /// Marks a send attempt (before the request goes out), only if nobody else has since the
    /// intent was read: `seen_attempts` is the count read with it. Returns false when another
    /// continuation of the same intent (a second window, the start-up check) got there first;
    /// the caller must then not send.
    pub fn mark_intent_sending(&mut self, intent_key: &str, seen_attempts: i64) -> Result<bool, MirrorError> {
        let changed = self
            .conn
            .execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?3
                 WHERE intent_key = ?1 AND attempts = ?2 AND state IN ('pending', 'sending', 'awaiting_confirmation')",
                rusqlite::params![intent_key, seen_attempts, Utc::now().to_rfc3339()],
            )
            .op("marking an intent as sending")?;
        Ok(changed == 1)
    }

    /// Records an intent's result, its audit entry and its timeline entry in ONE
    /// transaction, so none of them can exist without the others. Returns false (and writes
    /// nothing) when the intent is finished already.
    pub fn finish_intent(
        &mut self,
        intent_key: &str,
        state: IntentState,
        message: &str,
        audit: Option<&AuditDraft>,
        event: Option<(&str, &OrderEvent)>,
    ) -> Result<bool, MirrorError> {
        let now = Utc::now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting an intent result")?;
        // Only an open intent takes a result: a second continuation that reaches the same
        // end writes no second audit or timeline entry.
        let changed = tx
            .execute(
                "UPDATE outbox SET state = ?2, result_message = ?3, updated_at = ?4
                 WHERE intent_key = ?1 AND state IN ('pending', 'sending', 'awaiting_confirmation')",
                rusqlite::params![intent_key, state.as_str(), message, now.to_rfc3339()],
            )
            .op("recording an intent result")?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(a) = audit {
            append_audit(&tx, a, now)?;
        }
        if let Some((account_id, e)) = event {
            tx.execute(
                "INSERT OR IGNORE INTO timeline (account_id, order_session_key, event_key, at, kind, summary, payload, state_hint, changed_state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 0)",
                rusqlite::params![
                    account_id,
                    e.order_session_key,
                    e.event_key,
                    e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    e.kind,
                    e.summary,
                    e.payload
                ],
            )
            .op("adding an action to the timeline")?;
        }
        tx.commit().op("committing an intent result")?;
        Ok(true)
    }

    /// Intents not finished (pending, sending or awaiting confirmation), oldest first.
    pub fn open_intents(&self, account_id: &str) -> Result<Vec<Intent>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE account_id = ?1 AND state IN ('pending', 'sending', 'awaiting_confirmation')
                 ORDER BY created_at"
            ))
            .op("listing open intents")?;
        let rows = stmt.query_map([account_id], read_intent).op("listing open intents")?;
        rows.collect::<Result<Vec<_>, _>>().op("listing open intents")
    }

    /// Every intent about an order, oldest first.
    pub fn intents_for_order(&self, account_id: &str, order_session_key: &str) -> Result<Vec<Intent>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM outbox WHERE account_id = ?1 AND order_session_key = ?2 ORDER BY created_at"
            ))
            .op("listing an order's intents")?;
        let rows = stmt.query_map([account_id, order_session_key], read_intent).op("listing an order's intents")?;
        rows.collect::<Result<Vec<_>, _>>().op("listing an order's intents")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Account, AuditDraft, Environment};

    fn mirror_with_intent() -> Mirror {
        let mut m = Mirror::open_in_memory().unwrap();
        m.insert_account(&Account::new("acct", "Test", Environment::Sandbox, "http://127.0.0.1:1/v1", "mid", "key"))
            .unwrap();
        let now = Utc::now();
        let intent = Intent {
            intent_key: "i-1".into(),
            account_id: "acct".into(),
            kind: IntentKind::Refund,
            order_session_key: Some("o-1".into()),
            merchant_order_id: None,
            amount_cents: Some(100),
            currency: Some("USD".into()),
            reason: "r".into(),
            operator: "op".into(),
            idempotency_key: "k".into(),
            baseline_refunded_cents: Some(0),
            state: IntentState::Pending,
            attempts: 0,
            result_message: None,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(m.record_intent(&intent).unwrap(), Recorded::Inserted);
        m
    }

    #[test]
    fn a_refund_checked_before_another_refund_of_its_order_went_through_is_not_recorded() {
        let mut m = mirror_with_intent();
        let order = flexfactor_wire::WireOrder {
            id: "o-1".into(),
            status: Some(7),
            amount: Some(flexfactor_wire::Cents(1000)),
            captured_amount: Some(flexfactor_wire::Cents(1000)),
            refunded_amount: Some(flexfactor_wire::Cents(0)),
            ..Default::default()
        };
        m.apply_orders("acct", std::slice::from_ref(&order), None).unwrap();
        // A second dialog checks the order (nothing refunded yet) ...
        let checked_at = Utc::now();
        let first = m.intent("i-1").unwrap().unwrap();
        let second = |key: &str, baseline: i64, at: DateTime<Utc>| Intent {
            intent_key: key.into(),
            baseline_refunded_cents: Some(baseline),
            created_at: at,
            updated_at: at,
            ..first.clone()
        };
        let stale = second("i-2", 0, checked_at);
        // ... while the first refund is confirmed and the order re-read.
        m.mark_intent_sending("i-1", 0).unwrap();
        m.finish_intent("i-1", IntentState::Confirmed, "refunded", None, None).unwrap();
        assert_eq!(m.record_intent(&stale).unwrap(), Recorded::OrderChanged, "confirmed since its check");
        let refunded = flexfactor_wire::WireOrder {
            refunded_amount: Some(flexfactor_wire::Cents(100)),
            status: Some(6),
            ..order.clone()
        };
        m.apply_orders("acct", std::slice::from_ref(&refunded), None).unwrap();
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(m.record_intent(&second("i-3", 0, later)).unwrap(), Recorded::OrderChanged, "stale total");
        // Checked afterwards, against the new total: recorded.
        assert_eq!(m.record_intent(&second("i-4", 100, later)).unwrap(), Recorded::Inserted);
    }

    #[test]
    fn only_one_of_two_continuations_that_read_the_same_intent_may_send_it() {
        let mut m = mirror_with_intent();
        assert!(m.mark_intent_sending("i-1", 0).unwrap(), "the first continuation sends");
        assert!(!m.mark_intent_sending("i-1", 0).unwrap(), "the second read the intent before that send");
        assert_eq!(m.intent("i-1").unwrap().unwrap().attempts, 1);
        m.finish_intent("i-1", IntentState::AwaitingConfirmation, "unclear", None, None).unwrap();
        assert!(m.mark_intent_sending("i-1", 1).unwrap(), "a later check that read attempt 1 may resend");
    }

    #[test]
    fn a_second_refund_of_an_order_is_not_recorded_while_the_first_is_open() {
        let mut m = mirror_with_intent();
        let mut second = m.intent("i-1").unwrap().unwrap();
        second.intent_key = "i-2".into();
        match m.record_intent(&second).unwrap() {
            Recorded::OpenRefund(open) => assert_eq!(open.intent_key, "i-1"),
            other => panic!("{other:?}"),
        }
        assert!(m.intent("i-2").unwrap().is_none());
        m.finish_intent("i-1", IntentState::Confirmed, "Refunded", None, None).unwrap();
        // Checked again once the first is settled (no total stored for this order here).
        second.created_at = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(m.record_intent(&second).unwrap(), Recorded::Inserted);
    }

    #[test]
    fn a_finished_intent_takes_no_second_result_and_no_second_audit_entry() {
        let mut m = mirror_with_intent();
        let audit = AuditDraft {
            account_id: Some("acct".into()),
            operator: "op".into(),
            action: "refund".into(),
            target: Some("o-1".into()),
            detail: "1.00 USD".into(),
        };
        assert!(m.finish_intent("i-1", IntentState::Confirmed, "Refunded", Some(&audit), None).unwrap());
        assert!(!m.finish_intent("i-1", IntentState::Confirmed, "Refunded", Some(&audit), None).unwrap());
        assert!(!m.finish_intent("i-1", IntentState::Rejected, "refused", None, None).unwrap());
        assert!(!m.mark_intent_sending("i-1", 0).unwrap(), "a finished intent is never sent again");
        assert_eq!(m.intent("i-1").unwrap().unwrap().state, IntentState::Confirmed);
        assert_eq!(m.audit_entries(10, 0).unwrap().len(), 1);
    }
}
