//! `POST /v1/orders/{id}/cancel` and `POST /v1/orders/{externalOrderId}/external-cancel`
//! (flexfactor-api.md §7). Success: 200 with an empty body. Both paths resolve to the
//! FlexFactor id and share one idempotency scope, so they collapse into one operation.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::EventKind;
use flexfactor_wire::{CancelRequest, Decision, OrderStatus};

use crate::engine::{set_state, Engine};
use crate::order_book::OrderBook;
use crate::problem::ApiError;
use crate::refund::not_found;
use crate::validation::{camel_keys, parse_object, typed};
use crate::{idempotency, SandboxState};

/// Why a cancel did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelError {
    NotFound,
    NotCancellable(String),
}

/// `POST /v1/orders/{id}/cancel`.
pub async fn cancel(State(state): State<SandboxState>, Path(id): Path<String>, body: Bytes) -> Response {
    handle(state, Some(id), None, body).await
}

/// `POST /v1/orders/{externalOrderId}/external-cancel`.
pub async fn external_cancel(State(state): State<SandboxState>, Path(external): Path<String>, body: Bytes) -> Response {
    handle(state, None, Some(external), body).await
}

async fn handle(state: SandboxState, id: Option<String>, external: Option<String>, body: Bytes) -> Response {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(CancelRequest::default())
    } else {
        parse_object(&body, "CancelRequest").map(camel_keys).and_then(typed::<CancelRequest>)
    };
    let request = match request {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let resolved = match (&id, &external) {
        (Some(id), _) => state.orders().get(id).map(|o| o.id.clone()),
        (None, Some(ext)) => state.orders().find_external(ext).map(|o| o.id.clone()),
        (None, None) => None,
    };
    let Some(order_id) = resolved else {
        return not_found(id.or(external).as_deref().unwrap_or("")).into_response();
    };
    let fingerprint = format!("cancel:{}", order_id.to_ascii_lowercase());
    let run_state = state.clone();
    idempotency::run(&state, "cancel", request.idempotency_key, fingerprint, move || async move {
        match run_state.with_engine(|engine, book, now| engine.cancel(book, &order_id, now)) {
            Ok(()) => StatusCode::OK.into_response(),
            Err(CancelError::NotFound) => not_found(&order_id).into_response(),
            Err(CancelError::NotCancellable(why)) => {
                let mut errors = BTreeMap::new();
                errors.insert("Status".to_string(), vec![why]);
                ApiError::problem(StatusCode::BAD_REQUEST, "The order cannot be cancelled.", errors).into_response()
            }
        }
    })
    .await
}

impl Engine {
    /// Cancels MIT orders in Draft/Processing/CAPTUREREQUIRED and CIT orders in
    /// CAPTUREREQUIRED; an order already cancelled by the merchant is a no-op success.
    ///
    /// # Errors
    /// [`CancelError::NotFound`], or [`CancelError::NotCancellable`] naming the state.
    pub fn cancel(&mut self, book: &mut OrderBook, id: &str, now: DateTime<Utc>) -> Result<(), CancelError> {
        let mut order = book.get(id).cloned().ok_or(CancelError::NotFound)?;
        let status = order.status.map(OrderStatus::from);
        let is_mit = order.is_mit == Some(true);
        let cancellable = match status {
            Some(OrderStatus::CaptureRequired) => true,
            Some(OrderStatus::Draft | OrderStatus::Processing) => is_mit,
            _ => false,
        };
        if status == Some(OrderStatus::Cancelled) && order.decision.as_deref() == Some("CANCELLED") {
            return Ok(());
        }
        if !cancellable {
            let name = status.map_or("Unknown", |s| s.name());
            let decision = order.decision.clone().unwrap_or_default();
            let kind = if is_mit { "MIT" } else { "CIT" };
            return Err(CancelError::NotCancellable(format!(
                "{kind} order in status {name} ({decision}) cannot be cancelled."
            )));
        }
        self.clear_plans(&order.id);
        set_state(&mut order, OrderStatus::Cancelled, Some(Decision::Cancelled), now);
        self.emit(EventKind::OrderCancelled, &order, now, Some(serde_json::json!({"Reason": "CancelledByMerchant"})));
        book.upsert(order);
        Ok(())
    }
}
