//! `POST /evaluate`: ask FlexFactor to rescue a declined transaction (CIT or MIT).

use flexfactor_wire::{EvaluateRequest, EvaluateResponse};

use crate::http::JsonBody;
use crate::post::{key_or_new, to_body, Idempotent};
use crate::{ClientError, FlexFactorClient};

const PATH: &str = "/evaluate";

impl FlexFactorClient {
    /// Sends `/evaluate`. The body's `idempotencyKey` is used as given; when it is absent
    /// or blank, one is generated for this call. Transient failures (network, 408, 429,
    /// 5xx) are resent with the same key; the key used is returned with the answer.
    ///
    /// The answer's `status` is the decision (APPROVED, DECLINED, CHALLENGE, SUBMITTED,
    /// CAPTUREREQUIRED …); a DECLINED decision is an `Ok`. Errors: `Conflict` (409),
    /// `Rejected` (a FAILED envelope), `Api` with every validation message, `Decode`.
    #[tracing::instrument(skip_all, err, fields(mit = request.is_mit))]
    pub async fn evaluate(&self, request: &EvaluateRequest) -> Result<Idempotent<EvaluateResponse>, ClientError> {
        let (key, body) = prepare(request)?;
        self.post_idempotent("evaluate", PATH, &body, &key).await
    }
}

/// The key to use and the body to send on every attempt.
fn prepare(request: &EvaluateRequest) -> Result<(String, JsonBody), ClientError> {
    let key = key_or_new(request.idempotency_key.as_deref());
    let mut request = request.clone();
    request.idempotency_key = Some(key.clone());
    Ok((key, to_body(PATH, &request)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_key(body: &JsonBody) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&body.0).unwrap();
        v["idempotencyKey"].as_str().map(str::to_string)
    }

    #[test]
    fn the_callers_key_is_sent_unchanged() {
        let req = EvaluateRequest {
            idempotency_key: Some("0f8fad5b-d9cb-469f-a165-70867728950e".into()),
            ..Default::default()
        };
        let (key, body) = prepare(&req).unwrap();
        assert_eq!(key, "0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(sent_key(&body).as_deref(), Some(key.as_str()));
    }

    #[test]
    fn a_missing_key_is_generated_once_and_put_in_the_body() {
        let (key, body) = prepare(&EvaluateRequest::default()).unwrap();
        assert_eq!(uuid::Uuid::parse_str(&key).map(|u| u.get_version_num()).ok(), Some(4));
        assert_eq!(sent_key(&body), Some(key));
    }
}
