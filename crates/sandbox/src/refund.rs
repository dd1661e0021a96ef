//! `POST /v1/orders/{id}/refund` (flexfactor-api.md §6). Business failures are HTTP 200
//! with `success:false, status:"FAILED"`, a `responseCode` and value-tuple `errors`;
//! malformed requests are 400 ProblemDetails; unknown orders 404.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::EventKind;
use flexfactor_wire::{Cents, Decision, OrderStatus, RefundRequest, RefundResponse};

use crate::engine::{remaining, set_state, Engine};
use crate::ledger::RefundRecord;
use crate::order_book::OrderBook;
use crate::problem::ApiError;
use crate::validation::{check_required, parse_object, typed, FieldErrors};
use crate::SandboxState;

/// Amount exceeds what is left to refund (recorded live code).
pub const CODE_EXCEEDS_REFUNDABLE: &str = "2001";
/// The order is not in a refundable state (sandbox code, INFERRED).
pub const CODE_NOT_REFUNDABLE: &str = "2002";

/// `POST /v1/orders/{id}/refund`.
pub async fn refund(
    State(state): State<SandboxState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<RefundResponse>, ApiError> {
    let value = parse_object(&body, "RefundRequest")?;
    let mut errors = FieldErrors::new();
    check_required(&value, &["AmountToRefund".to_string()], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request: RefundRequest = typed(crate::validation::camel_keys(value))?;
    let amount = request.amount_to_refund.cents();
    if amount.0 <= 0 {
        return Err(ApiError::field("AmountToRefund", "The field AmountToRefund must be greater than 0."));
    }
    let message = request.refund_message.clone();
    let result = state.with_engine(|engine, book, now| engine.refund(book, &id, amount, message, now));
    result.map(Json).ok_or_else(|| not_found(&id))
}

pub fn not_found(id: &str) -> ApiError {
    let mut errors = BTreeMap::new();
    errors.insert("id".to_string(), vec![format!("No order with id '{id}'.")]);
    ApiError::problem(StatusCode::NOT_FOUND, "Not Found", errors)
}

impl Engine {
    /// Refunds `amount` of order `id`; `None` when there is no such order.
    pub fn refund(
        &mut self,
        book: &mut OrderBook,
        id: &str,
        amount: Cents,
        message: Option<String>,
        now: DateTime<Utc>,
    ) -> Option<RefundResponse> {
        let mut order = book.get(id).cloned()?;
        let status = order.status.map(OrderStatus::from);
        if !matches!(status, Some(OrderStatus::Completed | OrderStatus::Returned)) {
            let name = status.map_or("Unknown", |s| s.name());
            return Some(failed(CODE_NOT_REFUNDABLE, &format!("Order in status {name} cannot be refunded.")));
        }
        let left = remaining(order.captured_amount.or(order.amount), order.refunded_amount);
        if amount > left {
            return Some(failed(
                CODE_EXCEEDS_REFUNDABLE,
                &format!(
                    "The requested amount exceeds the maximum refundable amount ({}).",
                    left.to_major_units_in(flexfactor_wire::minor_unit_digits(
                        order.currency_code.as_deref().unwrap_or("USD")
                    ))
                ),
            ));
        }
        let total = Cents(order.refunded_amount.unwrap_or_default().0 + amount.0);
        order.refunded_amount = Some(total);
        if total >= order.captured_amount.or(order.amount).unwrap_or_default() {
            set_state(&mut order, OrderStatus::Returned, Some(Decision::Approved), now);
        } else {
            order.modified_on = Some(now);
        }
        let transaction_id = self.guid();
        self.refunds.entry(order.id.to_ascii_lowercase()).or_default().push(RefundRecord {
            order_id: order.id.clone(),
            amount,
            at: now,
            transaction_id: transaction_id.clone(),
            message,
        });
        let data = serde_json::json!({
            "TransactionId": transaction_id,
            "Amount": amount.0,
            "TotalRefunded": total.0,
            "Currency": order.currency_code,
        });
        self.emit(EventKind::OrderRefunded, &order, now, Some(data));
        book.upsert(order);
        Some(RefundResponse {
            success: Some(true),
            result: Some("Success".to_string()),
            status: Some("SUCCESS".to_string()),
            status_code: None,
            response_code: Some("0".to_string()),
            response_message: Some("APPROVED".to_string()),
            transaction_id: Some(transaction_id),
            errors: Vec::new(),
            custom_properties: BTreeMap::new(),
        })
    }

    /// Every accepted refund of `id`, oldest first.
    pub fn refunds_of(&self, id: &str) -> Vec<RefundRecord> {
        self.refunds.get(&id.to_ascii_lowercase()).cloned().unwrap_or_default()
    }
}

fn failed(code: &str, message: &str) -> RefundResponse {
    RefundResponse {
        success: Some(false),
        result: None,
        status: Some("FAILED".to_string()),
        status_code: None,
        response_code: Some(code.to_string()),
        response_message: Some(message.to_string()),
        transaction_id: None,
        errors: vec![serde_json::json!({"item1": message, "item2": code, "item3": code, "item4": false})],
        custom_properties: BTreeMap::new(),
    }
}
