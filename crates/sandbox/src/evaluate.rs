//! `POST /v1/evaluate` (flexfactor-api.md §4, §10, §15): validation, idempotency, the
//! decision rules, and the order each call creates (or, for an MIT retry with the same
//! merchant `orderId`, returns).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::EventKind;
use flexfactor_wire::{
    Address, Cents, Decision, EvaluateRequest, EvaluateResponse, OrderStatus, TransactionType, WireAddress, WireOrder,
};

use crate::engine::{set_state, status_word, Engine, Flow, Meta, Step};
use crate::ledger::EvaluationRecord;
use crate::order_book::OrderBook;
use crate::problem::ApiError;
use crate::rules::{decide, RuleOutcome};
use crate::validation::{camel_keys, check_required, parse_object, typed, FieldErrors};
use crate::{idempotency, SandboxState};

/// Exclusive sandbox amount bounds in cents (§4.3: >10 and <20000).
pub const MIN_AMOUNT_EXCLUSIVE: i64 = 10;
pub const MAX_AMOUNT_EXCLUSIVE: i64 = 20_000;

/// A validated evaluation.
pub(crate) struct Valid {
    pub request: EvaluateRequest,
    pub card: String,
    pub amount: Cents,
    pub expiry: Option<DateTime<Utc>>,
}

/// `POST /v1/evaluate`.
pub async fn evaluate(State(state): State<SandboxState>, body: Bytes) -> Response {
    let prepared = parse_object(&body, "EvaluateRequest").map(camel_keys);
    let value = match prepared {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let key = value.get("idempotencyKey").and_then(|k| k.as_str()).map(str::to_string);
    let fingerprint = value.to_string();
    let run_state = state.clone();
    idempotency::run(&state, "evaluate", key, fingerprint, move || async move {
        match validate(&run_state, value) {
            Ok(valid) => {
                let response = run_state.with_engine(|engine, book, now| engine.evaluate(book, &valid, now));
                Json(response).into_response()
            }
            Err(e) => e.into_response(),
        }
    })
    .await
}

fn validate(state: &SandboxState, value: serde_json::Value) -> Result<Valid, ApiError> {
    let mut errors = FieldErrors::new();
    check_required(&value, state.evaluate_required(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request: EvaluateRequest = typed(value)?;
    let mut err = |field: &str, message: String| errors.entry(field.to_string()).or_default().push(message);
    if let Some(mid) = request.mid.as_deref() {
        if !mid.trim().eq_ignore_ascii_case(state.mid()) {
            err("Mid", format!("Unknown merchant '{mid}'."));
        }
    }
    let amount = request.transaction.as_ref().and_then(|t| t.amount).unwrap_or_default();
    if amount.0 <= MIN_AMOUNT_EXCLUSIVE || amount.0 >= MAX_AMOUNT_EXCLUSIVE {
        err("Transaction.Amount", "The field Amount must be greater than 10 and less than 20000 (cents).".to_string());
    }
    let expiry = match request.expiry_date_utc.as_deref() {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                err("ExpiryDateUtc", "The field ExpiryDateUtc is invalid.".to_string());
                None
            }
        },
    };
    let pm = request.payment_method.clone().unwrap_or_default();
    let number = pm.card_number.clone().unwrap_or_default();
    let card = if pm.token == Some(true) {
        let found = state.engine().vault.get(number.trim()).map(|c| c.number.clone());
        found.unwrap_or_else(|| {
            err("PaymentMethod.CardNumber", "Unknown payment method token.".to_string());
            String::new()
        })
    } else {
        number.chars().filter(char::is_ascii_digit).collect()
    };
    if errors.is_empty() {
        Ok(Valid { request, card, amount, expiry })
    } else {
        Err(ApiError::validation(errors))
    }
}

impl Engine {
    /// Decides one validated evaluation and creates (or, for an MIT retry, finds) its order.
    pub(crate) fn evaluate(&mut self, book: &mut OrderBook, v: &Valid, now: DateTime<Utc>) -> EvaluateResponse {
        let r = &v.request;
        let is_mit = r.is_mit == Some(true);
        let flow = match (is_mit, r.is_managed_mit()) {
            (false, _) => Flow::Cit,
            (true, true) => Flow::ManagedMit,
            (true, false) => Flow::SyncMit,
        };
        let external = r.order_id.clone().unwrap_or_default();
        if is_mit {
            let existing = self.mit_by_external.get(&external).and_then(|id| book.get(id)).cloned();
            if let Some(order) = existing {
                let status = status_word(&order, self.meta_of(&order.id).map(|m| m.flow));
                self.record(&order, r, is_mit, &status, false, now);
                return response(&order.id, r.sense_key.clone(), status);
            }
        }
        let authorization = r.transaction_type == Some(TransactionType::Authorization);
        let outcome = decide(&self.rules, self.timing.fallback, &v.card, is_mit, v.amount);
        let id = self.guid();
        self.meta.insert(id.to_ascii_lowercase(), Meta { flow, authorization });
        let mut order = new_order(&id, r, &v.card, v.amount, v.expiry, now);
        let after = |d: std::time::Duration| now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        let approves = !matches!(outcome, RuleOutcome::Decline | RuleOutcome::Defer { approve: false });
        match flow {
            Flow::ManagedMit => {
                set_state(&mut order, OrderStatus::Draft, Some(Decision::Submitted), now);
                let expiry = v.expiry.unwrap_or(now);
                self.plan(&id, after(self.timing.mit_pickup_delay).min(expiry), Step::StartProcessing);
                let rescue_at = after(self.timing.mit_rescue_delay);
                if approves && rescue_at < expiry {
                    self.plan(&id, rescue_at, Step::Complete);
                }
                self.plan(&id, expiry, Step::Expire);
            }
            _ if outcome == RuleOutcome::Decline => {
                set_state(&mut order, OrderStatus::Cancelled, Some(Decision::Declined), now);
            }
            _ if authorization => self.require_capture(&mut order, now),
            Flow::Cit if outcome == RuleOutcome::Approve => self.rescue(&mut order, now),
            Flow::Cit => {
                set_state(&mut order, OrderStatus::Processing, Some(Decision::Challenge), now);
                self.emit(EventKind::ChallengePresented, &order, now, None);
                self.plan(&id, after(self.timing.challenge_step), Step::ChallengeAttempted);
                self.plan(&id, after(self.timing.challenge_step.saturating_mul(2)), Step::ChallengeResolve);
            }
            Flow::SyncMit if outcome == RuleOutcome::Approve => self.rescue(&mut order, now),
            Flow::SyncMit => {
                set_state(&mut order, OrderStatus::Processing, Some(Decision::Processing), now);
                let end = v.expiry.unwrap_or_else(|| after(self.timing.sync_mit_retry_period));
                order.expiry_date = Some(end);
                let rescue_at = after(self.timing.mit_rescue_delay);
                if approves && rescue_at < end {
                    self.plan(&id, rescue_at, Step::Complete);
                }
                self.plan(&id, end, Step::Expire);
            }
        }
        if is_mit {
            self.mit_by_external.insert(external, id.clone());
        }
        let status = status_word(&order, Some(flow));
        self.record(&order, r, is_mit, &status, true, now);
        book.upsert(order);
        response(&id, r.sense_key.clone(), status)
    }

    fn record(
        &mut self,
        order: &WireOrder,
        r: &EvaluateRequest,
        is_mit: bool,
        status: &str,
        created: bool,
        now: DateTime<Utc>,
    ) {
        self.evaluations.push(EvaluationRecord {
            order_session_key: order.id.clone(),
            external_order_id: r.order_id.clone(),
            idempotency_key: r.idempotency_key.clone(),
            is_mit,
            status: status.to_string(),
            created_order: created,
            at: now,
        });
    }
}

fn response(id: &str, sense_key: Option<String>, status: String) -> EvaluateResponse {
    EvaluateResponse {
        order_session_key: Some(id.to_string()),
        sense_key,
        order_id: Some(id.to_string()),
        success: Some(true),
        result: Some("Success".to_string()),
        status: Some(status),
        status_code: None,
        errors: Vec::new(),
        custom_properties: BTreeMap::new(),
    }
}

fn wire_address(a: &Address) -> WireAddress {
    WireAddress {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        address_line1: a.address_line1.clone(),
        address_line2: a.address_line2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip_code: a.zip_code.clone(),
        country: a.country.clone(),
        country_code: a.country_code.clone(),
        phone: a.phone.clone(),
    }
}

fn new_order(
    id: &str,
    r: &EvaluateRequest,
    card: &str,
    amount: Cents,
    expiry: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> WireOrder {
    let t = r.transaction.clone().unwrap_or_default();
    let billing = r.billing_information.as_ref();
    let currency = t.currency.clone().unwrap_or_else(|| "USD".to_string()).to_ascii_uppercase();
    let placed =
        t.timestamp_utc.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc));
    WireOrder {
        id: id.to_string(),
        external_order_id: r.order_id.clone(),
        correlation_id: r.correlation_id.clone(),
        decision: None,
        is_mit: Some(r.is_mit == Some(true)),
        order_placed_date: Some(placed.filter(|p| *p <= now).unwrap_or(now)),
        created_on: Some(now),
        modified_on: Some(now),
        expiry_date: expiry,
        amount: Some(amount),
        captured_amount: Some(Cents(0)),
        refunded_amount: Some(Cents(0)),
        currency_symbol: Some(
            match currency.as_str() {
                "CAD" => "CA$",
                "EUR" => "€",
                "GBP" => "£",
                _ => "$",
            }
            .to_string(),
        ),
        currency_code: Some(currency),
        first_name: billing.and_then(|b| b.first_name.clone()),
        last_name: billing.and_then(|b| b.last_name.clone()),
        email: r.payer.as_ref().and_then(|p| p.email.clone()),
        phone: r.payer.as_ref().and_then(|p| p.phone.clone()).or_else(|| billing.and_then(|b| b.phone.clone())),
        billing_address: billing.map(wire_address),
        shipping_address: r.shipping_information.as_ref().map(wire_address),
        site_id: r.site_id.clone(),
        decline_code: t.response_code.clone(),
        card_bin: card.get(..6).map(str::to_string),
        card_last4: card.get(card.len().saturating_sub(4)..).map(str::to_string),
        ..Default::default()
    }
}
