//! `POST /orders/{id}/cancel` and `POST /orders/{external-order-id}/external-cancel`: void
//! a rescue that has not been captured yet.

use flexfactor_wire::{CancelRequest, CancelResponse};

use crate::orders::encode_path_segment;
use crate::post::{key_or_new, to_body, Idempotent};
use crate::{ClientError, FlexFactorClient};

impl FlexFactorClient {
    /// Cancels order `order_id` (the orderSessionKey). The body carries
    /// `idempotencyKey`: the caller's, or one generated for this call (returned with the
    /// answer); transient failures are resent with it. The live API answers 200 with an
    /// empty body, which reads as a default [`CancelResponse`].
    ///
    /// Errors: `Conflict` (409: in flight, or key reused with a different payload),
    /// `Rejected` (a FAILED envelope), `NotFound`, `Api`.
    #[tracing::instrument(skip_all, err, fields(order = order_id))]
    pub async fn cancel(
        &self,
        order_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Idempotent<CancelResponse>, ClientError> {
        let path = format!("/orders/{}/cancel", encode_path_segment(order_id));
        self.send_cancel("cancel", &path, idempotency_key).await
    }

    /// Cancels by the merchant's own order id: the fallback when the FlexFactor id is not
    /// known (e.g. the `/evaluate` answer timed out). Same rules as [`cancel`](Self::cancel).
    #[tracing::instrument(skip_all, err, fields(external_order = external_order_id))]
    pub async fn external_cancel(
        &self,
        external_order_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Idempotent<CancelResponse>, ClientError> {
        let path = format!("/orders/{}/external-cancel", encode_path_segment(external_order_id));
        self.send_cancel("external-cancel", &path, idempotency_key).await
    }

    async fn send_cancel(
        &self,
        operation: &'static str,
        path: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Idempotent<CancelResponse>, ClientError> {
        let key = key_or_new(idempotency_key);
        let body = to_body(path, &CancelRequest { idempotency_key: Some(key.clone()) })?;
        self.post_idempotent(operation, path, &body, &key).await
    }
}
