//! `POST /v1/outcome` (deprecated, flexfactor-api.md §8) and `POST /v1/transmit` (§5).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use flexfactor_wire::{OrderStatus, OutcomeRequest, OutcomeResponse, TransmitRequest, TransmitResponse, WireOrder};

use crate::problem::ApiError;
use crate::validation::{camel_keys, check_required, parse_object, typed, FieldErrors};
use crate::SandboxState;

/// `POST /v1/outcome`: 200 with the outcome word, or `status:"NOTFOUND"` (and
/// `success:false`) for an unknown key.
pub async fn outcome(State(state): State<SandboxState>, body: Bytes) -> Result<Json<OutcomeResponse>, ApiError> {
    let value = parse_object(&body, "OutcomeRequest").map(camel_keys)?;
    let mut errors = FieldErrors::new();
    check_required(&value, &["OrderSessionKey".to_string()], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request: OutcomeRequest = typed(value)?;
    state.tick();
    let order = state.orders().get(request.order_session_key.trim()).cloned();
    let (status, confirmation_id, found) = match &order {
        Some(o) => (outcome_word(o), Some(confirmation_id(&o.id)), true),
        None => ("NOTFOUND".to_string(), None, false),
    };
    Ok(Json(OutcomeResponse {
        status: Some(status),
        confirmation_id,
        success: Some(found),
        result: found.then(|| "Success".to_string()),
        status_code: None,
        errors: Vec::new(),
        custom_properties: BTreeMap::new(),
    }))
}

/// Completed/Returned → APPROVED; Cancelled → its decision (DECLINED, EXPIRED,
/// CANCELLED); Draft → SUBMITTED; anything still open → PROCESSING.
pub fn outcome_word(o: &WireOrder) -> String {
    match o.status.map(OrderStatus::from) {
        Some(OrderStatus::Completed | OrderStatus::Returned) => "APPROVED".to_string(),
        Some(OrderStatus::Cancelled) => o.decision.clone().unwrap_or_else(|| "CANCELLED".to_string()),
        Some(OrderStatus::Draft) => "SUBMITTED".to_string(),
        _ => "PROCESSING".to_string(),
    }
}

/// Six upper-case hex characters derived from the order id (stable per order).
pub fn confirmation_id(id: &str) -> String {
    let h = id
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:06X}", h & 0xff_ffff)
}

/// `POST /v1/transmit`: requires `OrderId` and `Transaction`; answers the envelope with a
/// numeric `status` (0) and a new `transmitId`. Fire and forget: no order is created.
pub async fn transmit(State(state): State<SandboxState>, body: Bytes) -> Result<Json<TransmitResponse>, ApiError> {
    let value = parse_object(&body, "TransmitRequest").map(camel_keys)?;
    let mut errors = FieldErrors::new();
    check_required(&value, &["OrderId".to_string(), "Transaction".to_string()], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request: TransmitRequest = typed(value)?;
    let transmit_id = state.with_engine(|engine, _, now| engine.record_transmit(request.order_id.clone(), now));
    Ok(Json(TransmitResponse {
        transmit_id: Some(transmit_id),
        success: Some(true),
        result: Some("Success".to_string()),
        status: Some(serde_json::json!(0)),
        status_code: None,
        errors: Vec::new(),
        custom_properties: BTreeMap::new(),
    }))
}
