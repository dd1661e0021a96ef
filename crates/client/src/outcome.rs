//! `POST /outcome`: the deprecated status lookup, kept for old integrations.

use flexfactor_wire::{OutcomeRequest, OutcomeResponse};

use crate::post::to_body;
use crate::{ClientError, FlexFactorClient};

const PATH: &str = "/outcome";

impl FlexFactorClient {
    /// The outcome of order `order_session_key`: `status` is one of APPROVED, DECLINED,
    /// EXPIRED, CANCELLED, SUBMITTED, PROCESSING or NOTFOUND, plus a `confirmationId`.
    #[deprecated(note = "FlexFactor deprecated /outcome; use get_order (GET /orders/{id})")]
    #[tracing::instrument(skip_all, err)]
    pub async fn outcome(&self, order_session_key: &str) -> Result<OutcomeResponse, ClientError> {
        let body = to_body(PATH, &OutcomeRequest { order_session_key: order_session_key.to_string() })?;
        self.post_plain("outcome", PATH, &[], &body).await
    }
}
