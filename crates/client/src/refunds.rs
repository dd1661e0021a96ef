//! `POST /orders/{id}/refund`: never retried blindly.
//!
//! A refund carries no idempotency key, so a resend after an unclear outcome could refund
//! twice. When the request may have reached FlexFactor without a clear answer (timeout,
//! connection reset after sending, 408, 5xx, an unreadable 2xx body), the call returns
//! [`ClientError::OutcomeUnknown`] and the caller re-reads the order (DESIGN.md §4).

use flexfactor_wire::{Cents, DollarAmount, RefundRequest, RefundResponse};

use crate::http::Failure;
use crate::orders::encode_path_segment;
use crate::post::{classify, decode_answer, to_body};
use crate::{ClientError, FlexFactorClient};

const OPERATION: &str = "refund";

impl FlexFactorClient {
    /// Refunds `amount` (integer cents, sent as exact decimal dollars in `amountToRefund`)
    /// of order `order_id` (the orderSessionKey), with an optional reason.
    ///
    /// Errors: [`ClientError::Rejected`] for a clear refusal (e.g. code `2001`, amount
    /// exceeds refundable; HTTP 200 or 4xx), [`ClientError::OutcomeUnknown`] when it is
    /// unclear whether the refund happened, [`ClientError::InvalidRequest`] for a
    /// non-positive amount, and the usual `NotFound`/`Api`/`Unauthorized`/`Network` (the
    /// latter only when the connection was never made, so nothing was sent).
    #[tracing::instrument(skip_all, err, fields(order = order_id, cents = amount.0))]
    pub async fn refund(
        &self,
        order_id: &str,
        amount: Cents,
        message: Option<&str>,
    ) -> Result<RefundResponse, ClientError> {
        if amount.0 <= 0 {
            return Err(ClientError::InvalidRequest(format!(
                "a refund amount must be positive, got {} cents",
                amount.0
            )));
        }
        let request = RefundRequest {
            amount_to_refund: DollarAmount::from(amount),
            refund_message: message.map(str::to_string),
            ..Default::default()
        };
        self.refund_with(order_id, &request).await
    }

    /// [`refund`](Self::refund) with a full request body (for the optional legacy fields).
    pub async fn refund_with(&self, order_id: &str, request: &RefundRequest) -> Result<RefundResponse, ClientError> {
        let path = format!("/orders/{}/refund", encode_path_segment(order_id));
        let body = to_body(&path, request)?;
        let answer = self.post_once(&path, &[], &body).await;
        refund_outcome(order_id, &path, answer)
    }
}

/// Classifies the single refund attempt's answer.
/// True when a refund answer affirmatively reports success.
fn confirms_success(r: &RefundResponse) -> bool {
    let word = |w: &Option<String>| {
        w.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("SUCCESS") || s.eq_ignore_ascii_case("APPROVED"))
    };
    r.success == Some(true) || word(&r.status) || word(&r.result)
}

pub(crate) fn refund_outcome(
    order_id: &str,
    path: &str,
    answer: Result<String, Failure>,
) -> Result<RefundResponse, ClientError> {
    let unknown =
        |detail: String| ClientError::OutcomeUnknown { operation: OPERATION, order_id: order_id.to_string(), detail };
    match answer {
        Ok(text) => match decode_answer::<RefundResponse>(OPERATION, path, &text) {
            Err(ClientError::Decode { message, .. }) => {
                Err(unknown(format!("FlexFactor answered 2xx with an unreadable body ({message})")))
            }
            // A refund counts as done only when the answer says so; an empty or unknown 2xx
            // body could be anything, so the caller must re-read the order (DESIGN.md §4).
            Ok(r) if !confirms_success(&r) => Err(unknown(format!(
                "FlexFactor answered 2xx without saying whether the refund succeeded ({})",
                text.chars().take(200).collect::<String>()
            ))),
            other => other,
        },
        Err(f) if f.maybe_processed => Err(unknown(f.error.to_string())),
        Err(f) => Err(classify(OPERATION, None, false, *f.error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiErrorDetail;

    fn failure(error: ClientError, maybe_processed: bool) -> Result<String, Failure> {
        Err(Failure { error: Box::new(error), retry_after: None, maybe_processed })
    }

    fn api(status: u16, body: &str) -> ClientError {
        ClientError::Api { status, path: "/orders/o/refund".into(), detail: Box::new(ApiErrorDetail::parse(body)) }
    }

    #[test]
    fn a_timeout_after_sending_is_outcome_unknown() {
        let net = ClientError::Network { url: "u".into(), message: "operation timed out".into(), timeout: true };
        let err = refund_outcome("o-1", "/p", failure(net, true)).unwrap_err();
        match err {
            ClientError::OutcomeUnknown { operation, order_id, detail } => {
                assert_eq!((operation, order_id.as_str()), ("refund", "o-1"));
                assert!(detail.contains("timed out"), "{detail}");
            }
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
        assert!(!refund_outcome("o-1", "/p", failure(api(500, ""), true)).unwrap_err().is_transient());
    }

    #[test]
    fn server_errors_and_unreadable_success_bodies_are_outcome_unknown() {
        for status in [500, 502, 503, 504, 408] {
            let err = refund_outcome("o", "/p", failure(api(status, "boom"), true)).unwrap_err();
            assert!(matches!(err, ClientError::OutcomeUnknown { .. }), "{status}: {err:?}");
        }
        let err = refund_outcome("o", "/p", Ok("<html>".into())).unwrap_err();
        assert!(matches!(err, ClientError::OutcomeUnknown { .. }), "{err:?}");
    }

    #[test]
    fn a_connection_never_made_is_a_plain_network_error() {
        let net = ClientError::Network { url: "u".into(), message: "connection refused".into(), timeout: false };
        assert!(matches!(refund_outcome("o", "/p", failure(net, false)), Err(ClientError::Network { .. })));
    }

    #[test]
    fn amount_exceeds_refundable_is_rejected_with_code_in_both_forms() {
        let body = r#"{"success":false,"result":null,"status":"FAILED","responseCode":"2001",
            "responseMessage":"The requested amount exceeds the maximum refundable amount","transactionId":null,
            "errors":[{"item1":"The requested amount exceeds the maximum refundable amount","item2":"2001","item3":"2001","item4":false}]}"#;
        for answer in [Ok(body.to_string()), failure(api(400, body), false)] {
            match refund_outcome("o", "/p", answer) {
                Err(ClientError::Rejected { code, message, detail, .. }) => {
                    assert_eq!(code.as_deref(), Some("2001"));
                    assert!(message.unwrap_or_default().contains("exceeds"));
                    assert_eq!(detail.codes[0].1.as_deref(), Some("2001"));
                }
                other => panic!("expected Rejected, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_successful_refund_decodes() {
        let body = r#"{"success":true,"status":"SUCCESS","responseMessage":"APPROVED","transactionId":"t1","extra":1}"#;
        let r = refund_outcome("o", "/p", Ok(body.into())).unwrap();
        assert_eq!(r.transaction_id.as_deref(), Some("t1"));
    }

    #[test]
    fn validation_errors_stay_api_errors_and_404_stays_not_found() {
        let body = r#"{"status":400,"title":"One or more validation errors occurred.","traceId":"00-a-b-01",
            "errors":{"AmountToRefund":["must be positive"]}}"#;
        let err = refund_outcome("o", "/p", failure(api(400, body), false)).unwrap_err();
        assert_eq!(err.trace_id(), Some("00-a-b-01"));
        assert!(matches!(err, ClientError::Api { status: 400, .. }));
        let nf = ClientError::NotFound { path: "/p".into() };
        assert!(matches!(refund_outcome("o", "/p", failure(nf, false)), Err(ClientError::NotFound { .. })));
    }
}
