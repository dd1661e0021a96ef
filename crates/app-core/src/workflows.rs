//! The read side of the workflows: order detail, notes, review queue, pending rescues,
//! audit log, saved views, operator settings.

use chrono::{DateTime, Utc};
use flexdesk_mirror::{IntentKind, IntentState, OrderFilter, OrderSort, OrderState};

use crate::action_dto::{
    ActionEntryDto, ActionOutcome, ActionStatus, AuditEntryDto, AuditVerificationDto, ExpiryBucket, NoteDto,
    OrderDetail, PendingRescue, ReviewDecisionKind, ReviewInput, ReviewItem, TimelineEntryDto,
};
use crate::actions::{cancellable, refund_currency_refusal, refundable};
use crate::dto::OrderRow;
use crate::{AppCore, CoreError};

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn status_of(s: IntentState) -> ActionStatus {
    match s {
        IntentState::Confirmed => ActionStatus::Confirmed,
        IntentState::Rejected => ActionStatus::Rejected,
        IntentState::AwaitingConfirmation => ActionStatus::AwaitingConfirmation,
        IntentState::Pending | IntentState::Sending => ActionStatus::InProgress,
    }
}

/// Which expiry bucket a pending rescue is in, `now` given (so tests can pin it).
pub(crate) fn bucket(expiry: Option<DateTime<Utc>>, now: DateTime<Utc>) -> (ExpiryBucket, Option<i64>) {
    match expiry {
        None => (ExpiryBucket::NoExpiry, None),
        Some(e) => {
            let left = (e - now).num_seconds();
            let b = if left < 0 {
                ExpiryBucket::Overdue
            } else if left < 24 * 3600 {
                ExpiryBucket::Under24h
            } else if left < 7 * 24 * 3600 {
                ExpiryBucket::Under7d
            } else {
                ExpiryBucket::Later
            };
            (b, Some(left))
        }
    }
}

impl AppCore {
    /// Everything the detail pane shows about one order.
    pub fn order_detail(&self, order_session_key: &str) -> Result<OrderDetail, CoreError> {
        let account = self.active_account_id()?;
        self.with_reader(|r| {
            let o = r.order(&account, order_session_key)?.ok_or_else(|| {
                CoreError::InvalidInput(format!("There is no order {order_session_key} in the mirror."))
            })?;
            let timeline = r
                .timeline(&account, order_session_key)?
                .into_iter()
                .map(|t| TimelineEntryDto {
                    at: rfc(t.at),
                    kind: t.kind,
                    summary: t.summary,
                    payload: t.payload,
                    state_hint: t.state_hint.map(Into::into),
                    changed_state: t.changed_state,
                })
                .collect();
            let actions: Vec<ActionEntryDto> = r
                .intents_for_order(&account, order_session_key)?
                .into_iter()
                .map(|i| ActionEntryDto {
                    intent_key: i.intent_key,
                    kind: i.kind.as_str().to_string(),
                    amount_cents: i.amount_cents,
                    reason: i.reason,
                    operator: i.operator,
                    status: status_of(i.state),
                    message: i.result_message,
                    at: rfc(i.created_at),
                })
                .collect();
            let notes = r
                .notes(&account, order_session_key)?
                .into_iter()
                .map(|n| NoteDto { at: rfc(n.at), operator: n.operator, text: n.text })
                .collect();
            let can_refund = refundable(o.state);
            let refund_note = if can_refund { refund_currency_refusal(&o.currency) } else { None };
            // While a refund's answer is unclear, a new one could refund twice: the detail
            // offers "Check again" on it instead (and `refund` refuses one anyway).
            let unsettled_refund = actions.iter().any(|a| {
                a.kind == IntentKind::Refund.as_str()
                    && matches!(a.status, ActionStatus::AwaitingConfirmation | ActionStatus::InProgress)
            });
            // A damaged stored record must not keep the rest of the order from opening; the
            // next read of the order from the API stores it again.
            let record = r.order_json(&account, order_session_key).unwrap_or_else(|e| {
                tracing::warn!(order = order_session_key, error = %e, "the order's stored record could not be read");
                None
            });
            Ok(OrderDetail {
                status_name: o.status_name.clone(),
                placed_at: o.placed_at.map(rfc),
                modified_at: o.modified_at.map(rfc),
                expiry_at: o.expiry_at.map(rfc),
                decline_code: o.decline_code.clone(),
                site_id: o.site_id.clone(),
                card_bin: o.card_bin.clone(),
                captured_cents: o.captured_cents,
                refunded_cents: o.refunded_cents,
                remaining_refundable_cents: if can_refund { o.captured_cents - o.refunded_cents } else { 0 },
                refundable: can_refund && !unsettled_refund && refund_note.is_none(),
                refund_note,
                cancellable: cancellable(&o).is_ok(),
                capturable: o.state == OrderState::CaptureRequired,
                timeline,
                actions,
                notes,
                record,
                row: OrderRow::from(o),
            })
        })
    }

    pub fn add_note(&self, order_session_key: &str, text: &str) -> Result<(), CoreError> {
        if text.trim().is_empty() {
            return Err(CoreError::InvalidInput("A note cannot be empty.".into()));
        }
        let account = self.active_account_id()?;
        let operator = self.operator();
        self.with_reader(|r| Ok(r.add_note(&account, order_session_key, &operator, text.trim())?))
    }

    /// CHALLENGE and capture-required orders, oldest first, with challenge progress.
    pub fn review_queue(&self) -> Result<Vec<ReviewItem>, CoreError> {
        let account = self.active_account_id()?;
        self.with_reader(|r| {
            let filter = OrderFilter {
                states: vec![OrderState::Challenge, OrderState::CaptureRequired],
                sort: OrderSort::CreatedAsc,
                limit: 1000,
                ..Default::default()
            };
            let reviews = r.latest_reviews(&account)?;
            r.order_window(&account, &filter)?
                .into_iter()
                .map(|o| {
                    let progress = r
                        .latest_event_kind(&account, &o.order_session_key, "webhook:challenge.")?
                        .map(|kind| kind.trim_start_matches("webhook:").to_string());
                    let last = reviews.iter().find(|d| d.order_session_key == o.order_session_key);
                    Ok(ReviewItem {
                        challenge_progress: progress,
                        last_decision: last.map(|d| format!("{}: {}", d.decision, d.reason)),
                        last_decision_by: last.map(|d| d.operator.clone()),
                        last_decision_at: last.map(|d| rfc(d.at)),
                        row: OrderRow::from(o),
                    })
                })
                .collect()
        })
    }

    /// Records a review decision (who, when, why); capture and cancel also act.
    pub async fn review_decide(&self, input: ReviewInput) -> Result<Option<ActionOutcome>, CoreError> {
        if input.reason.trim().is_empty() {
            return Err(CoreError::InvalidInput("Please give a reason for the decision.".into()));
        }
        let outcome = match input.decision {
            ReviewDecisionKind::Capture => {
                Some(self.capture(&input.order_session_key, &input.reason, &input.intent_key).await?)
            }
            ReviewDecisionKind::Cancel => self
                .cancel_orders(crate::action_dto::CancelInput {
                    order_session_keys: vec![input.order_session_key.clone()],
                    reason: input.reason.clone(),
                    intent_key: input.intent_key.clone(),
                })
                .await?
                .into_iter()
                .next(),
            ReviewDecisionKind::FollowUp | ReviewDecisionKind::MarkReviewed => None,
        };
        let decision = match input.decision {
            ReviewDecisionKind::Capture => "capture",
            ReviewDecisionKind::Cancel => "cancel",
            ReviewDecisionKind::FollowUp => "follow up",
            ReviewDecisionKind::MarkReviewed => "reviewed",
        };
        let account = self.active_account_id()?;
        let mut w = self.writer()?;
        w.record_review(&account, &input.order_session_key, &self.operator(), decision, input.reason.trim())?;
        self.changed();
        Ok(outcome)
    }

    /// Pending MIT rescues, soonest expiry first, bucketed.
    pub fn pending_rescues(&self) -> Result<Vec<PendingRescue>, CoreError> {
        let account = self.active_account_id()?;
        let now = Utc::now();
        self.with_reader(|r| {
            let filter = OrderFilter {
                state: Some(OrderState::Pending),
                is_mit: Some(true),
                sort: OrderSort::ExpiryAsc,
                limit: 1000,
                ..Default::default()
            };
            Ok(r.order_window(&account, &filter)?
                .into_iter()
                .map(|o| {
                    let (bucket, seconds_left) = bucket(o.expiry_at, now);
                    PendingRescue { expiry_at: o.expiry_at.map(rfc), seconds_left, bucket, row: OrderRow::from(o) }
                })
                .collect())
        })
    }

    /// Audit entries, newest first.
    pub fn audit_log(&self, limit: u32, offset: u32) -> Result<Vec<AuditEntryDto>, CoreError> {
        self.with_reader(|r| {
            Ok(r.audit_entries(u64::from(limit.clamp(1, 1000)), u64::from(offset))?
                .into_iter()
                .map(|e| AuditEntryDto {
                    seq: e.seq,
                    at: rfc(e.at),
                    operator: e.operator,
                    action: e.action,
                    target: e.target,
                    detail: e.detail,
                    hash: e.hash,
                })
                .collect())
        })
    }

    pub fn verify_audit(&self) -> Result<AuditVerificationDto, CoreError> {
        self.with_reader(|r| {
            let v = r.verify_audit()?;
            Ok(AuditVerificationDto {
                ok: v.ok,
                checked: v.checked,
                first_bad_seq: v.first_bad_seq,
                problem: v.problem,
            })
        })
    }

    /// Writes the whole audit log to a CSV file (and logs that it did).
    pub fn export_audit_csv(&self, path: &std::path::Path) -> Result<u64, CoreError> {
        let entries = self.with_reader(|r| Ok(r.audit_entries(u64::MAX >> 1, 0)?))?;
        let mut out = String::from("seq,at,operator,action,target,detail,prev_hash,hash\n");
        for e in entries.iter().rev() {
            let cells = [
                e.seq.to_string(),
                rfc(e.at),
                e.operator.clone(),
                e.action.clone(),
                e.target.clone().unwrap_or_default(),
                e.detail.clone(),
                e.prev_hash.clone(),
                e.hash.clone(),
            ];
            out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| {
            CoreError::InvalidInput(format!("Cannot write {}: {e}. Choose another folder.", path.display()))
        })?;
        let mut w = self.writer()?;
        w.append_audit(&flexdesk_mirror::AuditDraft {
            account_id: self.active_account_id().ok(),
            operator: self.operator(),
            action: "export".into(),
            target: Some(path.display().to_string()),
            detail: format!("audit log, {} entries", entries.len()),
        })?;
        Ok(entries.len() as u64)
    }

    /// The operator name recorded with every action.
    pub fn set_operator_name(&self, name: &str) -> Result<(), CoreError> {
        if name.trim().is_empty() {
            return Err(CoreError::InvalidInput("The operator name cannot be empty.".into()));
        }
        self.with_reader(|r| Ok(r.set_setting("operator_name", name.trim())?))
    }
}

/// One CSV cell, quoted when needed (RFC 4180); formula-looking text is prefixed with `'`
/// so spreadsheets do not execute it.
pub(crate) fn csv_cell(value: &str) -> String {
    let v = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_buckets_follow_the_countdown() {
        let now = Utc::now();
        let h = chrono::Duration::hours;
        assert_eq!(bucket(Some(now + h(3)), now).0, ExpiryBucket::Under24h);
        assert_eq!(bucket(Some(now + h(30)), now).0, ExpiryBucket::Under7d);
        assert_eq!(bucket(Some(now + h(24 * 9)), now).0, ExpiryBucket::Later);
        assert_eq!(bucket(Some(now - h(1)), now).0, ExpiryBucket::Overdue);
        assert_eq!(bucket(None, now), (ExpiryBucket::NoExpiry, None));
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-12.50"), "-12.50");
    }
}
