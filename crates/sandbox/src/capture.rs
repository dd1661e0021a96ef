//! `POST /v1/capture` (flexfactor-api.md §7): captures a CAPTUREREQUIRED order within its
//! capture window. HTTP 200 with `status`/`captureStatus` SUCCESS or FAILED; 400 for an
//! invalid body, 404 for an unknown order, 409 for idempotency conflicts.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use flexfactor_wire::{CaptureRequest, CaptureResponse, Cents, Decision, OrderStatus};

use crate::engine::{set_state, Engine};
use crate::order_book::OrderBook;
use crate::problem::ApiError;
use crate::refund::not_found;
use crate::validation::{camel_keys, check_required, parse_object, typed, FieldErrors};
use crate::{idempotency, SandboxState};

const REQUIRED: [&str; 4] = ["IdempotencyKey", "OrderId", "Amount", "Currency"];

/// `POST /v1/capture`.
pub async fn capture(State(state): State<SandboxState>, body: Bytes) -> Response {
    let parsed = parse_object(&body, "CaptureRequest").map(camel_keys).and_then(|value| {
        let mut errors = FieldErrors::new();
        check_required(&value, &REQUIRED.map(str::to_string), &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let fingerprint = value.to_string();
        let request: CaptureRequest = typed(value)?;
        if request.amount.0 <= 0 {
            return Err(ApiError::field("Amount", "The field Amount must be greater than 0."));
        }
        Ok((request, fingerprint))
    });
    let (request, fingerprint) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let run_state = state.clone();
    let key = Some(request.idempotency_key.clone());
    idempotency::run(&state, "capture", key, fingerprint, move || async move {
        let result = run_state.with_engine(|engine, book, now| engine.capture(book, &request, now));
        match result {
            Some(r) => Json(r).into_response(),
            None => not_found(&request.order_id).into_response(),
        }
    })
    .await
}

impl Engine {
    /// Captures `request.amount` of a CAPTUREREQUIRED order; `None` for an unknown order.
    pub fn capture(
        &mut self,
        book: &mut OrderBook,
        request: &CaptureRequest,
        now: DateTime<Utc>,
    ) -> Option<CaptureResponse> {
        let mut order = book.get(&request.order_id).cloned()?;
        if order.status != Some(OrderStatus::CaptureRequired.code()) {
            let name = order.status.map_or("Unknown", |s| OrderStatus::from(s).name());
            return Some(failed(&order.id, &format!("Order in status {name} is not awaiting capture.")));
        }
        let amount = order.amount.unwrap_or_default();
        if request.amount > amount {
            let digits = flexfactor_wire::minor_unit_digits(order.currency_code.as_deref().unwrap_or("USD"));
            let max = amount.to_major_units_in(digits);
            return Some(failed(&order.id, &format!("The capture amount exceeds the order amount ({max}).")));
        }
        let currency = order.currency_code.clone().unwrap_or_default();
        if !currency.eq_ignore_ascii_case(request.currency.trim()) {
            return Some(failed(&order.id, &format!("The currency must be {currency}.")));
        }
        self.clear_plans(&order.id);
        order.captured_amount = Some(Cents(request.amount.0));
        set_state(&mut order, OrderStatus::Completed, Some(Decision::Approved), now);
        self.emit(flexfactor_wire::webhook::EventKind::OrderCompleted, &order, now, None);
        let id = order.id.clone();
        book.upsert(order);
        Some(CaptureResponse {
            success: Some(true),
            result: Some("Success".to_string()),
            status: Some("SUCCESS".to_string()),
            capture_status: Some("SUCCESS".to_string()),
            order_id: Some(id),
            status_code: None,
            errors: Vec::new(),
            custom_properties: BTreeMap::new(),
        })
    }
}

fn failed(id: &str, message: &str) -> CaptureResponse {
    CaptureResponse {
        success: Some(false),
        result: None,
        status: Some("FAILED".to_string()),
        capture_status: Some("FAILED".to_string()),
        order_id: Some(id.to_string()),
        status_code: None,
        errors: vec![
            serde_json::json!({"item1": message, "item2": "CAPTURE_FAILED", "item3": "CAPTURE_FAILED", "item4": false}),
        ],
        custom_properties: BTreeMap::new(),
    }
}
