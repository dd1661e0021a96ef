//! `POST /capture`: capture an order that `/evaluate` answered CAPTUREREQUIRED.

use flexfactor_wire::{CaptureRequest, CaptureResponse};

use crate::error::ApiErrorDetail;
use crate::post::{key_or_new, to_body, Idempotent};
use crate::{ClientError, FlexFactorClient};

const PATH: &str = "/capture";

impl FlexFactorClient {
    /// Captures `request.amount` (integer cents) of order `request.order_id` (the id
    /// `/evaluate` returned). A blank `idempotency_key` is replaced by a generated one; the
    /// same key is resent on transient failures and returned with the answer.
    ///
    /// Errors: `Rejected` when the answer is FAILED (in `status` or `captureStatus`, HTTP
    /// 200 or 4xx), `Conflict` on 409, `InvalidRequest` for a non-positive amount.
    #[tracing::instrument(skip_all, err, fields(order = %request.order_id, cents = request.amount.0))]
    pub async fn capture(&self, request: &CaptureRequest) -> Result<Idempotent<CaptureResponse>, ClientError> {
        if request.amount.0 <= 0 {
            return Err(ClientError::InvalidRequest(format!(
                "a capture amount must be positive, got {} cents",
                request.amount.0
            )));
        }
        let key = key_or_new(Some(&request.idempotency_key));
        let mut request = request.clone();
        request.idempotency_key = key.clone();
        let body = to_body(PATH, &request)?;
        let answer: Idempotent<CaptureResponse> = self.post_idempotent("capture", PATH, &body, &key).await?;
        check_capture_status(answer)
    }
}

/// A 200 whose `captureStatus` says FAILED is a rejection too (a fork reads that field).
fn check_capture_status(answer: Idempotent<CaptureResponse>) -> Result<Idempotent<CaptureResponse>, ClientError> {
    if answer.response.outcome().is_some_and(|s| s.eq_ignore_ascii_case("FAILED")) {
        let text = serde_json::to_string(&answer.response).unwrap_or_default();
        let detail = ApiErrorDetail::parse(&text);
        return Err(ClientError::Rejected {
            operation: "capture",
            path: PATH.into(),
            status: 200,
            code: detail.code().map(str::to_string),
            message: detail.message().map(str::to_string),
            detail: Box::new(detail),
        });
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_status_failed_is_a_rejection() {
        let response: CaptureResponse = serde_json::from_str(
            r#"{"captureStatus":"FAILED","errors":[{"item1":"Capture window elapsed","item2":"3002"}]}"#,
        )
        .unwrap();
        let err = check_capture_status(Idempotent { idempotency_key: "k".into(), attempts: 1, response }).unwrap_err();
        match err {
            ClientError::Rejected { code, message, .. } => {
                assert_eq!(code.as_deref(), Some("3002"));
                assert_eq!(message.as_deref(), Some("Capture window elapsed"));
            }
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn capture_success_passes() {
        let response: CaptureResponse = serde_json::from_str(r#"{"status":"SUCCESS"}"#).unwrap();
        assert!(check_capture_status(Idempotent { idempotency_key: "k".into(), attempts: 1, response }).is_ok());
    }
}
