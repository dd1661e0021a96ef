//! `POST /tokenize?mid=&environment=`: vault a card and get the token `/evaluate` takes.

use flexfactor_wire::{TokenizeQuery, TokenizeRequest, TokenizeResponse};

use crate::post::to_body;
use crate::{ClientError, FlexFactorClient};

const PATH: &str = "/tokenize";

impl FlexFactorClient {
    /// Vaults a card. `mid` and `environment_key` (the Tokenization Key) go in the query
    /// string; the body is snake_case. The bearer token is sent too (as active_merchant
    /// does; the docs' example omits it). Not retried automatically.
    ///
    /// The token is at [`TokenizeResponse::token`]. Errors: `Rejected` when the envelope
    /// says the call failed, `Api` with every validation message, `Decode`.
    #[tracing::instrument(skip_all, err)]
    pub async fn tokenize(
        &self,
        mid: &str,
        environment_key: &str,
        request: &TokenizeRequest,
    ) -> Result<TokenizeResponse, ClientError> {
        let query = TokenizeQuery { mid: mid.to_string(), environment: environment_key.to_string() };
        let body = to_body(PATH, request)?;
        self.post_plain("tokenize", PATH, &query.to_pairs(), &body).await
    }
}
