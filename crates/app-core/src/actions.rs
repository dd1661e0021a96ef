//! Money-moving actions, every step of DESIGN.md §4:
//! 1. the UI has shown exactly what will happen (amount, remaining refundable, order);
//! 2. the intent is written to the outbox before anything is sent (double clicks,
//!    retries and restarts land on the same row, with the same idempotency key);
//! 3. on a clear answer the result, its audit entry and its timeline entry are written in
//!    one transaction;
//! 4. on an unclear answer a refund is never resent blindly: the order is re-read, and the
//!    refund resent only when it is provably absent; the UI shows "awaiting confirmation";
//! 5. nothing is queued while offline: the order is re-read from FlexFactor first, and if
//!    that fails, nothing is recorded or sent.

use chrono::Utc;
use flexdesk_mirror::{
    AuditDraft, Intent, IntentKind, IntentState, Mirror, OrderEvent, OrderRecord, OrderState, Recorded,
};
use flexfactor_client::{ClientError, FlexFactorClient};
use flexfactor_wire::{CaptureRequest, Cents, WireOrder};
use std::sync::Arc;

use crate::action_dto::{
    ActionOutcome, ActionStatus, CancelInput, CancelPreviewRow, ExternalCancelInput, RefundInput, SettleInput,
};
use crate::dto::OrderRow;
use crate::error::not_recorded;
use crate::{AppCore, CoreError};

/// How many proven-absent resends one user action may make (a later "check again" gets a
/// fresh budget, after re-reading first as always).
const RESEND_BUDGET: u32 = 2;

/// States whose captured money can be refunded.
pub(crate) fn refundable(state: OrderState) -> bool {
    matches!(state, OrderState::Approved | OrderState::PartiallyRefunded)
}

/// Cancellable per flexfactor-api.md §7: MIT in Draft/Processing/CAPTUREREQUIRED, CIT in
/// CAPTUREREQUIRED.
pub(crate) fn cancellable(o: &OrderRecord) -> Result<(), String> {
    match o.state {
        OrderState::CaptureRequired => Ok(()),
        OrderState::Pending if o.is_mit => Ok(()),
        OrderState::Pending | OrderState::Challenge => {
            Err("a customer-initiated order can only be cancelled while it awaits capture".into())
        }
        other => Err(format!("the order is {} already; cancel works only on pending rescues", other.as_str())),
    }
}

fn outcome(intent: &Intent, status: ActionStatus, message: impl Into<String>, remaining: Option<i64>) -> ActionOutcome {
    ActionOutcome {
        intent_key: intent.intent_key.clone(),
        order_session_key: intent.order_session_key.clone(),
        status,
        message: message.into(),
        remaining_refundable_cents: remaining,
    }
}

/// Whether the order already shows what a cancel or capture intent asked for.
fn keyed_effect_visible(intent: &Intent, order: &OrderRecord) -> bool {
    match intent.kind {
        IntentKind::Cancel | IntentKind::ExternalCancel => order.state == OrderState::Cancelled,
        // Captured money shows only on a completed order (later refunds or a chargeback
        // keep it captured); a voided or held authorization is not a capture.
        IntentKind::Capture => {
            matches!(
                order.state,
                OrderState::Approved | OrderState::PartiallyRefunded | OrderState::Refunded | OrderState::Chargeback
            ) && intent.amount_cents.is_some_and(|amount| order.captured_cents >= amount)
        }
        IntentKind::Refund => false,
    }
}

/// What a confirmed refund did, for [`not_recorded`].
fn refund_done(amount: i64, currency: &str) -> String {
    format!("The refund of {} went through at FlexFactor", money(amount, currency))
}

pub(crate) fn money(cents: i64, currency: &str) -> String {
    format!("{} {currency}", Cents(cents).to_major_units_in(flexfactor_wire::minor_unit_digits(currency)))
}

/// Why FlexDesk does not refund an order in `currency`, if it does not. `/refund` takes the
/// amount in "dollars" (flexfactor-api.md §6); what that means for a currency whose minor
/// unit is not a hundredth (JPY, KWD) is not documented, so the amount sent could be wrong.
pub(crate) fn refund_currency_refusal(currency: &str) -> Option<String> {
    let digits = flexfactor_wire::minor_unit_digits(currency);
    (digits != 2).then(|| {
        format!(
            "FlexDesk does not refund {currency} orders: FlexFactor takes refund amounts in dollars and cents, \
             and {currency} amounts have {digits} decimals, so the amount sent could be wrong. \
             Refund this order in the FlexFactor portal."
        )
    })
}

/// A clear refusal from FlexFactor, in plain words.
fn refusal_message(e: &ClientError) -> String {
    match e {
        ClientError::Rejected { code: Some(code), message, .. } if code == "2001" => format!(
            "FlexFactor refused the refund: the amount is more than can still be refunded (code 2001{}). \
             Nothing was refunded; reload the order to see what was refunded already.",
            message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        ),
        ClientError::Rejected { code, message, .. } => format!(
            "FlexFactor refused it{}: {}. Nothing changed.",
            code.as_deref().map(|c| format!(" (code {c})")).unwrap_or_default(),
            message.as_deref().unwrap_or("no reason given")
        ),
        other => format!("FlexFactor refused it: {other}. Nothing changed."),
    }
}

/// Answers that do not say whether the action happened. A 409 on a keyed call means a
/// request with the same key is still being processed (or was, with another payload): not a
/// refusal, since that request may yet go through.
/// A refund recorded after another refund of its order went through (see
/// [`Recorded::OrderChanged`]).
fn order_changed_refusal() -> CoreError {
    CoreError::InvalidInput(
        "Another refund of this order went through while this one was being prepared. Nothing was sent: \
         review the order's refunded amount and refund again if needed."
            .into(),
    )
}

fn is_unclear(e: &ClientError) -> bool {
    matches!(e, ClientError::OutcomeUnknown { .. } | ClientError::Conflict { .. }) || e.is_transient()
}

/// An intent found under the dialog's key must be the action this dialog asks for: a dialog
/// whose fields were edited after a send must not settle (and report) the earlier action.
fn same_action(
    existing: &Intent,
    kind: IntentKind,
    order: Option<&str>,
    merchant_order_id: Option<&str>,
    amount: Option<i64>,
) -> Result<(), CoreError> {
    let same = existing.kind == kind
        && order.is_none_or(|o| existing.order_session_key.as_deref() == Some(o))
        && merchant_order_id.is_none_or(|id| existing.merchant_order_id.as_deref() == Some(id))
        && amount.is_none_or(|a| existing.amount_cents == Some(a));
    if same {
        Ok(())
    } else {
        Err(CoreError::InvalidInput(format!(
            "This dialog already sent another action ({} of {}). Nothing new was sent: close the dialog and open a \
             new one for this action.",
            existing.kind.as_str().replace('_', " "),
            existing.order_session_key.as_deref().or(existing.merchant_order_id.as_deref()).unwrap_or("an order")
        )))
    }
}

/// Why a new refund is refused while another refund of the order is unsettled.
fn open_refund_refusal(open: &Intent) -> CoreError {
    let why = match open.state {
        IntentState::Sending => "it is being sent right now",
        IntentState::Pending => "it was recorded but not sent yet",
        _ => "FlexFactor's answer to it was unclear",
    };
    CoreError::InvalidInput(format!(
        "A refund of {} on this order, started {} by {}, is not settled yet: {why}. Nothing new was sent. Use \
         \"Check again\" on it under Actions in the order's detail; a new refund can be made once it is settled.",
        money(open.amount_cents.unwrap_or(0), open.currency.as_deref().unwrap_or("USD")),
        open.created_at.format("%Y-%m-%d %H:%M UTC"),
        open.operator
    ))
}

/// The outcome when another continuation of the same intent is sending it right now.
fn being_settled(intent: &Intent) -> ActionOutcome {
    outcome(
        intent,
        ActionStatus::InProgress,
        "This action is being sent or checked already (from another window, or by FlexDesk's own check at start). \
         Check again in a moment.",
        None,
    )
}

impl AppCore {
    /// Re-reads one order from FlexFactor into the mirror and returns it.
    async fn reread(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        account: &str,
        order: &str,
    ) -> Result<OrderRecord, CoreError> {
        let wire: WireOrder = client.get_order(order).await?;
        m.apply_orders(account, std::slice::from_ref(&wire), None)?;
        m.order(account, order)?.ok_or_else(|| CoreError::Internal(format!("order {order} vanished from the mirror")))
    }

    /// [`Self::reread`], and whether FlexFactor's record gave the refunded total
    /// (`refundedAmount`; the mirror counts a missing one as 0).
    async fn reread_with_refunds(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        account: &str,
        order: &str,
    ) -> Result<(OrderRecord, bool), CoreError> {
        let wire: WireOrder = client.get_order(order).await?;
        let has_refunds = wire.refunded_amount.is_some();
        m.apply_orders(account, std::slice::from_ref(&wire), None)?;
        let record = m
            .order(account, order)?
            .ok_or_else(|| CoreError::Internal(format!("order {order} vanished from the mirror")))?;
        Ok((record, has_refunds))
    }

    fn audit(&self, account: &str, action: &str, target: &str, detail: String) -> AuditDraft {
        Self::audit_as(self.operator(), account, action, target, detail)
    }

    /// An audit entry in the name of `operator`: the person who asked for the action (an
    /// intent settled later, at a start or by another window, stays theirs).
    fn audit_as(operator: String, account: &str, action: &str, target: &str, detail: String) -> AuditDraft {
        AuditDraft {
            account_id: Some(account.to_string()),
            operator,
            action: action.to_string(),
            target: Some(target.to_string()),
            detail,
        }
    }

    /// The in-process lock of one intent (see `Inner::intent_locks`).
    fn intent_lock(&self, intent_key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner().intent_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(intent_key.to_string()).or_default().clone()
    }

    fn event(intent: &Intent, order: &str, summary: String) -> OrderEvent {
        OrderEvent {
            event_key: format!("action:{}:{}:{}", intent.kind.as_str(), intent.intent_key, intent.attempts),
            order_session_key: order.to_string(),
            at: Utc::now(),
            kind: format!("action:{}", intent.kind.as_str()),
            summary,
            payload: None,
            state_hint: None,
        }
    }

    /// Refunds part or all of an order (see the module docs for the protocol).
    #[tracing::instrument(skip_all, err, fields(order = %input.order_session_key, cents = input.amount_cents))]
    pub async fn refund(&self, input: RefundInput) -> Result<ActionOutcome, CoreError> {
        if input.reason.trim().is_empty() {
            return Err(CoreError::InvalidInput("Please give a reason for the refund.".into()));
        }
        if input.amount_cents <= 0 {
            return Err(CoreError::InvalidInput("The refund amount must be more than zero.".into()));
        }
        if input.intent_key.trim().is_empty() {
            return Err(CoreError::InvalidInput("The refund has no intent key.".into()));
        }
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        if let Some(existing) = m.intent(&input.intent_key)? {
            same_action(&existing, IntentKind::Refund, Some(&input.order_session_key), None, Some(input.amount_cents))?;
            return self.continue_intent(&client, &mut m, existing).await;
        }
        // One unsettled refund per order: while an earlier one may still go through, a new
        // one could refund the customer twice.
        let open_refund = m
            .intents_for_order(&account, &input.order_session_key)?
            .into_iter()
            .find(|i| i.kind == IntentKind::Refund && i.state.is_open());
        if let Some(open) = open_refund {
            return Err(open_refund_refusal(&open));
        }
        // Re-read first: the amount is checked against what FlexFactor holds now, and an
        // offline FlexDesk records nothing. The intent is dated from before the re-read, so a
        // refund confirmed by another window since then is seen when it is recorded.
        let read_at = Utc::now();
        let order = self.reread(&client, &mut m, &account, &input.order_session_key).await?;
        if !refundable(order.state) {
            return Err(CoreError::InvalidInput(format!(
                "This order is {}; only approved orders can be refunded.",
                order.state.as_str()
            )));
        }
        if let Some(refusal) = refund_currency_refusal(&order.currency) {
            return Err(CoreError::InvalidInput(format!("{refusal} Nothing was sent.")));
        }
        let remaining = order.captured_cents - order.refunded_cents;
        if input.amount_cents > remaining {
            return Err(CoreError::InvalidInput(format!(
                "{} is more than the {} that can still be refunded. Nothing was sent.",
                money(input.amount_cents, &order.currency),
                money(remaining, &order.currency)
            )));
        }
        let now = Utc::now();
        let intent = Intent {
            intent_key: input.intent_key.clone(),
            account_id: account.clone(),
            kind: IntentKind::Refund,
            order_session_key: Some(order.order_session_key.clone()),
            merchant_order_id: order.merchant_order_id.clone(),
            amount_cents: Some(input.amount_cents),
            currency: Some(order.currency.clone()),
            reason: input.reason.trim().to_string(),
            operator: self.operator(),
            idempotency_key: flexfactor_client::new_idempotency_key(),
            baseline_refunded_cents: Some(order.refunded_cents),
            state: IntentState::Pending,
            attempts: 0,
            result_message: None,
            created_at: read_at,
            updated_at: now,
        };
        match m.record_intent(&intent)? {
            Recorded::Existing(existing) => self.continue_intent(&client, &mut m, *existing).await,
            Recorded::Inserted => {
                let lock = self.intent_lock(&intent.intent_key);
                let _sending = lock.lock().await;
                self.send_refund(&client, &mut m, intent, RESEND_BUDGET).await
            }
            Recorded::OpenRefund(open) => Err(open_refund_refusal(&open)),
            Recorded::OrderChanged => Err(order_changed_refusal()),
        }
    }

    async fn send_refund(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        mut intent: Intent,
        resends_left: u32,
    ) -> Result<ActionOutcome, CoreError> {
        let order = intent.order_session_key.clone().unwrap_or_default();
        let amount = intent.amount_cents.unwrap_or(0);
        let currency = intent.currency.clone().unwrap_or_else(|| "USD".into());
        // The one place a refund is sent: an intent recorded before FlexDesk refused such
        // currencies is never (re)sent either; it stays open for a person to settle by hand.
        if let Some(refusal) = refund_currency_refusal(&currency) {
            return Err(CoreError::InvalidInput(format!(
                "{refusal} Nothing was sent; if it was refunded in the portal, settle this action by hand."
            )));
        }
        if !m.mark_intent_sending(&intent.intent_key, intent.attempts)? {
            return Ok(being_settled(&intent));
        }
        intent.attempts += 1;
        let result = client.refund(&order, Cents(amount), Some(&intent.reason)).await;
        let account = intent.account_id.clone();
        match result {
            Ok(_) => {
                let remaining = match self.reread(client, m, &account, &order).await {
                    Ok(o) => Some(o.captured_cents - o.refunded_cents),
                    Err(e) => {
                        tracing::warn!(error = %e, "refund confirmed but the order could not be re-read");
                        None
                    }
                };
                let message = format!("Refunded {}.", money(amount, &currency));
                let summary = format!(
                    "Refund of {} confirmed ({}; {})",
                    money(amount, &currency),
                    intent.reason,
                    intent.operator
                );
                m.finish_intent(
                    &intent.intent_key,
                    IntentState::Confirmed,
                    &message,
                    Some(&Self::audit_as(
                        intent.operator.clone(),
                        &account,
                        "refund",
                        &order,
                        format!("{}: {}", money(amount, &currency), intent.reason),
                    )),
                    Some((&account, &Self::event(&intent, &order, summary))),
                )
                .map_err(not_recorded(refund_done(amount, &currency)))?;
                self.changed();
                Ok(outcome(&intent, ActionStatus::Confirmed, message, remaining))
            }
            Err(e) if is_unclear(&e) => {
                tracing::warn!(error = %e, "refund outcome unclear; re-reading the order");
                m.finish_intent(&intent.intent_key, IntentState::AwaitingConfirmation, &e.to_string(), None, None)
                    .map_err(not_recorded(format!(
                        "FlexFactor's answer to the refund of {} was unclear, so it may have gone through",
                        money(amount, &currency)
                    )))?;
                let intent = m.intent(&intent.intent_key)?.unwrap_or(intent);
                self.resolve_refund(client, m, intent, resends_left).await
            }
            Err(e) if intent.attempts > 1 => {
                // A resend refused: FlexFactor refuses a repeat refund of an order, which the
                // first attempt may have been. Not "nothing was refunded": a person looks.
                tracing::warn!(error = %e, "a resent refund was refused; the first attempt may have gone through");
                let message = format!(
                    "Awaiting confirmation: FlexFactor refused the refund when FlexDesk sent it again ({e}), which it \
                     also does when the first attempt went through. FlexDesk will not send it again: check the order in \
                     the FlexFactor portal, then settle this action."
                );
                m.finish_intent(&intent.intent_key, IntentState::AwaitingConfirmation, &message, None, None).map_err(
                    not_recorded(format!("The refund of {} may have gone through", money(amount, &currency))),
                )?;
                Ok(outcome(&intent, ActionStatus::AwaitingConfirmation, message, None))
            }
            Err(e) => {
                let message = match &e {
                    ClientError::Rejected { .. } => refusal_message(&e),
                    ClientError::Network { .. } => {
                        format!("The refund was not sent: {e}. Nothing was refunded; try again when online.")
                    }
                    other => format!("The refund failed: {other}. Nothing was refunded."),
                };
                let summary = format!("Refund of {} refused: {}", money(amount, &currency), message);
                m.finish_intent(
                    &intent.intent_key,
                    IntentState::Rejected,
                    &message,
                    Some(&Self::audit_as(
                        intent.operator.clone(),
                        &account,
                        "refund_refused",
                        &order,
                        format!("{}: {message}", money(amount, &currency)),
                    )),
                    Some((&account, &Self::event(&intent, &order, summary))),
                )?;
                Ok(outcome(&intent, ActionStatus::Rejected, message, None))
            }
        }
    }

    /// Settles a refund whose answer was unclear by re-reading the order: confirmed if the
    /// refunded total grew by the amount; resent (same intent) only if it provably did not.
    async fn resolve_refund(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        intent: Intent,
        resends_left: u32,
    ) -> Result<ActionOutcome, CoreError> {
        let order_id = intent.order_session_key.clone().unwrap_or_default();
        let amount = intent.amount_cents.unwrap_or(0);
        let baseline = intent.baseline_refunded_cents.unwrap_or(0);
        let currency = intent.currency.clone().unwrap_or_else(|| "USD".into());
        let account = intent.account_id.clone();
        let order = match self.reread_with_refunds(client, m, &account, &order_id).await {
            Ok((o, true)) => o,
            Ok((_, false)) => {
                // Without the refunded total, an unchanged one proves nothing: never resent,
                // never confirmed from it.
                return Ok(outcome(
                    &intent,
                    ActionStatus::AwaitingConfirmation,
                    "Awaiting confirmation: FlexFactor did not answer clearly, and its record of the order does not say \
                     how much was refunded. FlexDesk will not send this refund again: check the order in the \
                     FlexFactor portal, then settle this action."
                        .to_string(),
                    None,
                ));
            }
            Err(e) => {
                return Ok(outcome(
                    &intent,
                    ActionStatus::AwaitingConfirmation,
                    format!(
                        "Awaiting confirmation: FlexFactor did not answer clearly and the order could not be re-read ({e}). \
                         FlexDesk will not resend this refund until it knows it did not happen."
                    ),
                    None,
                ))
            }
        };
        let remaining = order.captured_cents - order.refunded_cents;
        if order.refunded_cents >= baseline + amount {
            let message = format!("Refunded {} (confirmed by re-reading the order).", money(amount, &currency));
            m.finish_intent(
                &intent.intent_key,
                IntentState::Confirmed,
                &message,
                Some(&Self::audit_as(
                    intent.operator.clone(),
                    &account,
                    "refund",
                    &order_id,
                    format!("{}: {} (confirmed on re-read)", money(amount, &currency), intent.reason),
                )),
                Some((
                    &account,
                    &Self::event(
                        &intent,
                        &order_id,
                        format!("Refund of {} confirmed on re-read", money(amount, &currency)),
                    ),
                )),
            )
            .map_err(not_recorded(refund_done(amount, &currency)))?;
            self.changed();
            return Ok(outcome(&intent, ActionStatus::Confirmed, message, Some(remaining)));
        }
        // A request FlexFactor did not answer may still be processed for a while: only once
        // the last attempt has been quiet for `refund_quiet_period` does an unchanged total
        // prove the refund absent.
        let quiet =
            chrono::Duration::from_std(self.inner().config.refund_quiet_period).unwrap_or(chrono::Duration::MAX);
        let quiet_since = Utc::now() - intent.updated_at;
        if order.refunded_cents == baseline && intent.attempts > 0 && quiet_since < quiet {
            let wait = (quiet - quiet_since).num_seconds().max(1);
            return Ok(outcome(
                &intent,
                ActionStatus::AwaitingConfirmation,
                format!(
                    "Awaiting confirmation: FlexFactor did not answer clearly and the refund has not shown up yet ({} \
                     refunded, as before). A request left unanswered may still be processed, so FlexDesk waits before \
                     it counts the refund as not made. Use \"Check again\" in {wait} s or later; nothing is sent twice.",
                    money(order.refunded_cents, &currency)
                ),
                Some(remaining),
            ));
        }
        if order.refunded_cents == baseline && resends_left > 0 {
            tracing::info!(intent = %intent.intent_key, "refund provably absent; sending it again");
            return Box::pin(self.send_refund(client, m, intent, resends_left - 1)).await;
        }
        let message = if order.refunded_cents == baseline {
            format!(
                "Awaiting confirmation: FlexFactor has not answered clearly and the refund has not arrived ({} refunded, \
                 as before). Use \"Check again\" when the connection is back; FlexDesk re-reads the order first.",
                money(order.refunded_cents, &currency)
            )
        } else {
            format!(
                "Awaiting confirmation: the order's refunded total is {} (it was {} before). FlexDesk will not resend \
                 until this is clear; check the order in the FlexFactor portal.",
                money(order.refunded_cents, &currency),
                money(baseline, &currency)
            )
        };
        Ok(outcome(&intent, ActionStatus::AwaitingConfirmation, message, Some(remaining)))
    }

    /// Continues an intent found by its key: a finished one reports its result again; an
    /// open one is settled (re-read first, never resent blindly).
    async fn continue_intent(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        intent: Intent,
    ) -> Result<ActionOutcome, CoreError> {
        self.continue_intent_resending(client, m, intent, RESEND_BUDGET).await
    }

    /// [`Self::continue_intent`], resending a refund proven absent at most `resends` times
    /// (none at start: nothing is sent without a person asking again). Waits for a send of
    /// the same intent in flight in this process (another window) and then reads it afresh.
    async fn continue_intent_resending(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        intent: Intent,
        resends: u32,
    ) -> Result<ActionOutcome, CoreError> {
        let lock = self.intent_lock(&intent.intent_key);
        let _settling = lock.lock().await;
        let intent = m.intent(&intent.intent_key)?.unwrap_or(intent);
        let message = intent.result_message.clone().unwrap_or_default();
        match intent.state {
            IntentState::Confirmed => Ok(outcome(&intent, ActionStatus::Confirmed, message, None)),
            IntentState::Rejected => Ok(outcome(&intent, ActionStatus::Rejected, message, None)),
            IntentState::Pending | IntentState::Sending | IntentState::AwaitingConfirmation => match intent.kind {
                IntentKind::Refund => {
                    // A concurrent click of the same dialog: the first one is still sending.
                    if intent.state == IntentState::Sending && (Utc::now() - intent.updated_at).num_seconds() < 60 {
                        return Ok(outcome(
                            &intent,
                            ActionStatus::InProgress,
                            "This refund is being sent already.",
                            None,
                        ));
                    }
                    self.resolve_refund(client, m, intent, resends).await
                }
                IntentKind::Cancel | IntentKind::ExternalCancel | IntentKind::Capture => {
                    // These carry an idempotency key FlexFactor honours: resending is safe.
                    self.send_keyed(client, m, intent).await
                }
            },
        }
    }

    /// What a cancel of these orders would do, from the mirror, before anything is sent.
    pub fn cancel_preview(&self, order_session_keys: &[String]) -> Result<Vec<CancelPreviewRow>, CoreError> {
        let account = self.active_account_id()?;
        self.with_reader(|r| {
            order_session_keys
                .iter()
                .map(|k| {
                    let o = r
                        .order(&account, k)?
                        .ok_or_else(|| CoreError::InvalidInput(format!("There is no order {k}.")))?;
                    let check = cancellable(&o);
                    Ok(CancelPreviewRow { row: OrderRow::from(o), cancellable: check.is_ok(), reason: check.err() })
                })
                .collect()
        })
    }

    /// Cancels each order (one intent per order, derived from the dialog's intent key).
    #[tracing::instrument(skip_all, err, fields(n = input.order_session_keys.len()))]
    pub async fn cancel_orders(&self, input: CancelInput) -> Result<Vec<ActionOutcome>, CoreError> {
        if input.reason.trim().is_empty() {
            return Err(CoreError::InvalidInput("Please give a reason for the cancellation.".into()));
        }
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        let mut out = Vec::new();
        for key in &input.order_session_keys {
            let intent_key = format!("{}:{key}", input.intent_key);
            if let Some(existing) = m.intent(&intent_key)? {
                out.push(self.continue_intent(&client, &mut m, existing).await?);
                continue;
            }
            let order = self.reread(&client, &mut m, &account, key).await?;
            if let Err(why) = cancellable(&order) {
                out.push(ActionOutcome {
                    intent_key,
                    order_session_key: Some(key.clone()),
                    status: ActionStatus::Rejected,
                    message: format!("Not cancelled: {why}."),
                    remaining_refundable_cents: None,
                });
                continue;
            }
            let intent = self.new_intent(&account, intent_key, IntentKind::Cancel, Some(&order), None, &input.reason);
            out.push(match m.record_intent(&intent)? {
                Recorded::Existing(e) => self.continue_intent(&client, &mut m, *e).await?,
                Recorded::Inserted => self.send_keyed(&client, &mut m, intent).await?,
                Recorded::OpenRefund(open) => return Err(open_refund_refusal(&open)),
                Recorded::OrderChanged => return Err(order_changed_refusal()),
            });
        }
        Ok(out)
    }

    /// Cancels by the merchant's own order id (`external-cancel`).
    pub async fn external_cancel(&self, input: ExternalCancelInput) -> Result<ActionOutcome, CoreError> {
        if input.reason.trim().is_empty() || input.merchant_order_id.trim().is_empty() {
            return Err(CoreError::InvalidInput("Please give the merchant order id and a reason.".into()));
        }
        if input.intent_key.trim().is_empty() {
            return Err(CoreError::InvalidInput("The cancellation has no intent key.".into()));
        }
        let merchant_order_id = input.merchant_order_id.trim();
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        if let Some(existing) = m.intent(&input.intent_key)? {
            same_action(&existing, IntentKind::ExternalCancel, None, Some(merchant_order_id), None)?;
            return self.continue_intent(&client, &mut m, existing).await;
        }
        let mut intent =
            self.new_intent(&account, input.intent_key.clone(), IntentKind::ExternalCancel, None, None, &input.reason);
        intent.merchant_order_id = Some(merchant_order_id.to_string());
        // The order it addresses, when the mirror has it: the cancel then shows in that order's
        // actions, and a resend is settled from that order first.
        intent.order_session_key = m.cancellable_order_key_by_merchant_id(&account, merchant_order_id)?;
        match m.record_intent(&intent)? {
            Recorded::Existing(e) => self.continue_intent(&client, &mut m, *e).await,
            Recorded::Inserted => self.send_keyed(&client, &mut m, intent).await,
            Recorded::OpenRefund(open) => Err(open_refund_refusal(&open)),
            Recorded::OrderChanged => Err(order_changed_refusal()),
        }
    }

    /// Captures an order awaiting capture (amount defaults to the order amount).
    pub async fn capture(
        &self,
        order_session_key: &str,
        reason: &str,
        intent_key: &str,
    ) -> Result<ActionOutcome, CoreError> {
        if intent_key.trim().is_empty() {
            return Err(CoreError::InvalidInput("The capture has no intent key.".into()));
        }
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        if let Some(existing) = m.intent(intent_key)? {
            same_action(&existing, IntentKind::Capture, Some(order_session_key), None, None)?;
            return self.continue_intent(&client, &mut m, existing).await;
        }
        let order = self.reread(&client, &mut m, &account, order_session_key).await?;
        if order.state != OrderState::CaptureRequired {
            return Err(CoreError::InvalidInput(format!(
                "This order is {}; only orders awaiting capture can be captured.",
                order.state.as_str()
            )));
        }
        let intent = self.new_intent(
            &account,
            intent_key.to_string(),
            IntentKind::Capture,
            Some(&order),
            Some(order.amount_cents),
            reason,
        );
        match m.record_intent(&intent)? {
            Recorded::Existing(e) => self.continue_intent(&client, &mut m, *e).await,
            Recorded::Inserted => self.send_keyed(&client, &mut m, intent).await,
            Recorded::OpenRefund(open) => Err(open_refund_refusal(&open)),
            Recorded::OrderChanged => Err(order_changed_refusal()),
        }
    }

    fn new_intent(
        &self,
        account: &str,
        intent_key: String,
        kind: IntentKind,
        order: Option<&OrderRecord>,
        amount: Option<i64>,
        reason: &str,
    ) -> Intent {
        let now = Utc::now();
        Intent {
            intent_key,
            account_id: account.to_string(),
            kind,
            order_session_key: order.map(|o| o.order_session_key.clone()),
            merchant_order_id: order.and_then(|o| o.merchant_order_id.clone()),
            amount_cents: amount,
            currency: order.map(|o| o.currency.clone()),
            reason: reason.trim().to_string(),
            operator: self.operator(),
            idempotency_key: flexfactor_client::new_idempotency_key(),
            baseline_refunded_cents: None,
            state: IntentState::Pending,
            attempts: 0,
            result_message: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Sends a cancel, external-cancel or capture with its stored idempotency key (safe to
    /// repeat), then re-reads the order to record what FlexFactor now holds.
    async fn send_keyed(
        &self,
        client: &FlexFactorClient,
        m: &mut Mirror,
        mut intent: Intent,
    ) -> Result<ActionOutcome, CoreError> {
        let account = intent.account_id.clone();
        // Sent before (its answer was lost or unclear): look at the order first. FlexFactor
        // forgets idempotency keys after a day, and a resend it no longer recognises is
        // refused ("already cancelled", "nothing to capture") although the first one went
        // through; what the order shows now settles it without sending anything.
        if intent.attempts > 0 && intent.kind != IntentKind::Refund {
            if let Some(order_id) = intent.order_session_key.clone() {
                match self.reread(client, m, &account, &order_id).await {
                    Ok(order) if keyed_effect_visible(&intent, &order) => {
                        let message = format!(
                            "{} confirmed by re-reading the order.",
                            if intent.kind == IntentKind::Capture { "Capture" } else { "Cancellation" }
                        );
                        return self.confirm_keyed(m, &intent, message);
                    }
                    Ok(_) => {}
                    // Within a day the idempotency key makes a resend safe; after it, FlexFactor
                    // would take the resend for a new request (or refuse it), so only the
                    // order can tell.
                    Err(e) if Utc::now() - intent.created_at > chrono::Duration::hours(23) => {
                        return Ok(outcome(
                            &intent,
                            ActionStatus::AwaitingConfirmation,
                            format!(
                                "Not sent again: the order could not be re-read ({e}), and this action was first sent \
                                 more than a day ago, so only the order can tell whether it went through. Use \
                                 \"Check again\" when FlexFactor can be reached."
                            ),
                            None,
                        ));
                    }
                    Err(e) => tracing::warn!(error = %e, "could not re-read the order before resending; resending"),
                }
            }
            // By merchant order id, a day after the first send: FlexFactor has forgotten the
            // key, and a resend would cancel whichever order has that id now (a newer rebill
            // of the same subscription, say). Not sent again.
            if intent.kind == IntentKind::ExternalCancel && Utc::now() - intent.created_at > chrono::Duration::hours(23)
            {
                return Ok(outcome(
                    &intent,
                    ActionStatus::AwaitingConfirmation,
                    format!(
                        "Not sent again: this cancellation of merchant order id {} was first sent more than a day ago and \
                         its answer was unclear. Sent again now it could cancel a newer order with the same merchant \
                         order id. Look the order up in FlexDesk's order list (or the FlexFactor portal) and, if it is \
                         still pending, cancel it from its own detail.",
                        intent.merchant_order_id.as_deref().unwrap_or("?")
                    ),
                    None,
                ));
            }
        }
        if !m.mark_intent_sending(&intent.intent_key, intent.attempts)? {
            return Ok(being_settled(&intent));
        }
        intent.attempts += 1;
        let key = Some(intent.idempotency_key.as_str());
        let (verb, result) = match intent.kind {
            IntentKind::Cancel => (
                "cancel",
                client.cancel(intent.order_session_key.as_deref().unwrap_or_default(), key).await.map(|_| ()),
            ),
            IntentKind::ExternalCancel => (
                "cancel",
                client.external_cancel(intent.merchant_order_id.as_deref().unwrap_or_default(), key).await.map(|_| ()),
            ),
            IntentKind::Capture => {
                let request = CaptureRequest {
                    idempotency_key: intent.idempotency_key.clone(),
                    order_id: intent.order_session_key.clone().unwrap_or_default(),
                    amount: Cents(intent.amount_cents.unwrap_or(0)),
                    currency: intent.currency.clone().unwrap_or_else(|| "USD".into()),
                };
                ("capture", client.capture(&request).await.map(|_| ()))
            }
            IntentKind::Refund => return self.resolve_refund(client, m, intent, RESEND_BUDGET).await,
        };
        let target = intent.order_session_key.clone().or_else(|| intent.merchant_order_id.clone()).unwrap_or_default();
        match result {
            Ok(()) => {
                if let Some(order) = intent.order_session_key.clone() {
                    if let Err(e) = self.reread(client, m, &account, &order).await {
                        tracing::warn!(error = %e, "action confirmed but the order could not be re-read");
                    }
                }
                let message =
                    format!("{} confirmed by FlexFactor.", if verb == "cancel" { "Cancellation" } else { "Capture" });
                self.confirm_keyed(m, &intent, message)
            }
            Err(e) if is_unclear(&e) => {
                m.finish_intent(&intent.intent_key, IntentState::AwaitingConfirmation, &e.to_string(), None, None)
                    .map_err(not_recorded(format!(
                        "FlexFactor's answer to the {verb} of {target} was unclear, so it may have gone through"
                    )))?;
                Ok(outcome(
                    &intent,
                    ActionStatus::AwaitingConfirmation,
                    format!("Awaiting confirmation: FlexFactor did not answer clearly ({e}). Try again: it is safe, the request carries the same idempotency key."),
                    None,
                ))
            }
            Err(e) => {
                let message = match &e {
                    ClientError::Api { status: 400, detail, .. } => {
                        format!("FlexFactor refused the {verb}: {}. Nothing changed.", detail.summary())
                    }
                    ClientError::NotFound { .. } => {
                        format!("FlexFactor does not know this order ({target}). Nothing changed.")
                    }
                    other => refusal_message(other),
                };
                m.finish_intent(
                    &intent.intent_key,
                    IntentState::Rejected,
                    &message,
                    Some(&self.audit(&account, &format!("{verb}_refused"), &target, message.clone())),
                    None,
                )?;
                Ok(outcome(&intent, ActionStatus::Rejected, message, None))
            }
        }
    }

    /// Records a cancel, external-cancel or capture as confirmed, with its audit and timeline
    /// entries.
    fn confirm_keyed(&self, m: &mut Mirror, intent: &Intent, message: String) -> Result<ActionOutcome, CoreError> {
        let detail = if message.contains("re-reading") {
            format!("{} (confirmed on re-read)", intent.reason)
        } else {
            intent.reason.clone()
        };
        let account = intent.account_id.as_str();
        let verb = if intent.kind == IntentKind::Capture { "capture" } else { "cancel" };
        let target = intent.order_session_key.clone().or_else(|| intent.merchant_order_id.clone()).unwrap_or_default();
        let event = intent
            .order_session_key
            .clone()
            .map(|o| Self::event(intent, &o, format!("{message} ({}; {})", intent.reason, intent.operator)));
        let done = format!(
            "The {} of {target} went through at FlexFactor",
            if verb == "cancel" { "cancellation" } else { "capture" }
        );
        m.finish_intent(
            &intent.intent_key,
            IntentState::Confirmed,
            &message,
            Some(&self.audit(account, verb, &target, detail)),
            event.as_ref().map(|e| (account, e)),
        )
        .map_err(not_recorded(done))?;
        self.changed();
        Ok(outcome(intent, ActionStatus::Confirmed, message, None))
    }

    /// Checks one action again (the order detail's "Check again" on an unsettled action): a
    /// finished one reports its result; an open one is settled like at start (re-read first).
    #[tracing::instrument(skip_all, err, fields(intent = %intent_key))]
    pub async fn check_action(&self, intent_key: &str) -> Result<ActionOutcome, CoreError> {
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        let intent = m
            .intent(intent_key)?
            .filter(|i| i.account_id == account)
            .ok_or_else(|| CoreError::InvalidInput(format!("There is no action {intent_key} in this account.")))?;
        self.continue_intent(&client, &mut m, intent).await
    }

    /// Settles by hand an action whose answer stayed unclear (awaiting confirmation), once
    /// the person has checked the FlexFactor portal: made (confirmed) or not made (nothing
    /// happened: for a refund, the order can be refunded again). Nothing is sent; the audit
    /// log and the order's timeline record who decided it and why.
    #[tracing::instrument(skip_all, err, fields(intent = %input.intent_key, made = input.made))]
    pub async fn settle_action(&self, input: SettleInput) -> Result<ActionOutcome, CoreError> {
        let note = input.note.trim();
        if note.is_empty() {
            return Err(CoreError::InvalidInput(
                "Say what you checked (e.g. \"refund seen in the FlexFactor portal\") before settling it by hand."
                    .into(),
            ));
        }
        let account = self.active_account_id()?;
        let mut m = self.writer()?;
        // Not while "Check again" in another window is re-reading or resending it (which may
        // wait on FlexFactor for a while): said at once, rather than waiting behind it.
        let lock = self.intent_lock(&input.intent_key);
        let Ok(_settling) = lock.try_lock() else {
            return Err(CoreError::InvalidInput(
                "This action is being checked with FlexFactor in another window right now. Try again in a moment."
                    .into(),
            ));
        };
        let intent = m.intent(&input.intent_key)?.filter(|i| i.account_id == account).ok_or_else(|| {
            CoreError::InvalidInput(format!("There is no action {} in this account.", input.intent_key))
        })?;
        if intent.state != IntentState::AwaitingConfirmation {
            return Err(CoreError::InvalidInput(format!(
                "This action is {}, not awaiting confirmation: only an unclear one is settled by hand.",
                intent.state.as_str().replace('_', " ")
            )));
        }
        let verb = intent.kind.as_str().replace('_', " ");
        let target = intent.order_session_key.clone().or_else(|| intent.merchant_order_id.clone()).unwrap_or_default();
        let (state, status, message) = if input.made {
            (
                IntentState::Confirmed,
                ActionStatus::Confirmed,
                format!("Settled by hand by {}: the {verb} went through ({note}).", self.operator()),
            )
        } else {
            (
                IntentState::Rejected,
                ActionStatus::Rejected,
                format!("Settled by hand by {}: the {verb} did not go through ({note}).", self.operator()),
            )
        };
        let event = intent.order_session_key.clone().map(|o| Self::event(&intent, &o, message.clone()));
        let audit_action = format!("{}_settled_by_hand", intent.kind.as_str());
        let settled = m.finish_intent(
            &intent.intent_key,
            state,
            &message,
            Some(&self.audit(&account, &audit_action, &target, message.clone())),
            event.as_ref().map(|e| (account.as_str(), e)),
        )?;
        if !settled {
            return Err(CoreError::InvalidInput(
                "This action was settled meanwhile (by FlexFactor's answer or another window); nothing changed.".into(),
            ));
        }
        self.changed();
        Ok(outcome(&intent, status, message, None))
    }

    /// Settles every open intent of the active account (at start and on demand) from what
    /// FlexFactor shows: a refund is confirmed by a re-read but never sent again from here (a
    /// person asks again with "Check again"); keyed actions carry their idempotency key and
    /// are completed. One that cannot be settled now (offline) does not stop the others.
    pub async fn resolve_open_actions(&self) -> Result<Vec<ActionOutcome>, CoreError> {
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        let mut out = Vec::new();
        for intent in m.open_intents(&account)? {
            let key = intent.intent_key.clone();
            match self.continue_intent_resending(&client, &mut m, intent, 0).await {
                Ok(o) => out.push(o),
                Err(e) => tracing::warn!(intent = %key, error = %e, "could not settle an open action; it stays open"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flexfactor_client::ApiErrorDetail;

    #[test]
    fn a_409_on_a_keyed_call_is_unclear_not_a_refusal() {
        // The client's own retry of a capture can meet its first request still in flight.
        let conflict = ClientError::Conflict {
            path: "/capture".into(),
            idempotency_key: Some("k".into()),
            after_retry: true,
            detail: Box::default(),
        };
        assert!(is_unclear(&conflict));
        let refused =
            ClientError::Api { status: 400, path: "/capture".into(), detail: Box::new(ApiErrorDetail::default()) };
        assert!(!is_unclear(&refused));
    }
}
