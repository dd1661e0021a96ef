//! `POST /transmit`: fire-and-forget copies of approved transactions.

use flexfactor_wire::{TransmitRequest, TransmitResponse};

use crate::post::to_body;
use crate::{ClientError, FlexFactorClient};

const PATH: &str = "/transmit";

impl FlexFactorClient {
    /// Sends a copy of a successful PSP transaction. Not retried automatically (there is
    /// no idempotency key); callers that need delivery should queue and resend themselves.
    #[tracing::instrument(skip_all, err)]
    pub async fn transmit(&self, request: &TransmitRequest) -> Result<TransmitResponse, ClientError> {
        let body = to_body(PATH, request)?;
        self.post_plain("transmit", PATH, &[], &body).await
    }
}
