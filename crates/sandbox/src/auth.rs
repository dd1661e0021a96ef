//! `POST /v1/oauth2/token` and the bearer check in front of every other endpoint
//! (flexfactor-api.md §2, §15).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use flexfactor_wire::{TokenRequest, TokenResponse};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::problem::{hex, ApiError};
use crate::SandboxState;

/// Issued access tokens and when each stops working (monotonic clock).
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, Instant>,
}

/// What the bearer check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

impl TokenStore {
    /// A new random access token valid for `ttl` from `now`. Expired tokens are purged.
    pub fn issue(&mut self, now: Instant, ttl: Duration) -> String {
        self.tokens.retain(|_, expires| *expires > now);
        let token = random_hex(32);
        self.tokens.insert(token.clone(), now + ttl);
        token
    }

    pub fn check(&self, token: &str, now: Instant) -> TokenCheck {
        match self.tokens.get(token) {
            Some(expires) if *expires > now => TokenCheck::Valid,
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }

    pub fn clear(&mut self) {
        self.tokens.clear();
    }
}

/// The success body: the token fields plus the envelope and the always-null extras the
/// live service sends.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenGrant {
    #[serde(flatten)]
    token: TokenResponse,
    result: Option<String>,
    status: Option<String>,
    status_code: Option<String>,
    errors: Vec<serde_json::Value>,
    custom_properties: BTreeMap<String, String>,
    session: Option<String>,
    #[serde(rename = "daysToEnforceMFA")]
    days_to_enforce_mfa: Option<i32>,
    skip_available: Option<bool>,
}

/// `POST /v1/oauth2/token`.
///
/// 200 with a fresh token; 415 unless the body is declared JSON; 400 ProblemDetails for
/// malformed JSON (`errors["$"]`), a missing `AppKey`/`AppSecret`, or credentials that do
/// not match (`errors["AppKey"] = ["Invalid credentials"]`).
pub async fn issue_token(
    State(state): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let declared_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if !declared_json {
        return Err(ApiError::problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type", BTreeMap::new()));
    }
    let request = parse_token_request(&body)?;
    let Some(client) = state
        .credentials()
        .iter()
        .find(|c| c.app_key == request.app_key && constant_time_eq(&c.app_secret, &request.app_secret))
    else {
        tracing::info!(app_key = %request.app_key, "sandbox: token refused, invalid credentials");
        let mut errors = BTreeMap::new();
        errors.insert("AppKey".to_string(), vec!["Invalid credentials".to_string()]);
        return Err(ApiError::problem(StatusCode::BAD_REQUEST, "Invalid AppKey or AppSecret.", errors));
    };
    let ttl = state.token_ttl();
    let access_token = state.tokens().issue(Instant::now(), ttl);
    let expires = chrono::Utc::now().timestamp_millis() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    tracing::info!(app_key = %client.app_key, expires, "sandbox: token issued");
    let grant = TokenGrant {
        token: TokenResponse {
            access_token,
            refresh_token: Some(random_hex(32)),
            expires,
            id: Some(client_id(&client.app_key)),
            success: Some(true),
        },
        result: None,
        status: None,
        status_code: None,
        errors: Vec::new(),
        custom_properties: BTreeMap::new(),
        session: None,
        days_to_enforce_mfa: None,
        skip_available: None,
    };
    Ok(Json(grant).into_response())
}

/// Reads `AppKey`/`AppSecret` with ASP.NET's case-insensitive property binding.
fn parse_token_request(body: &[u8]) -> Result<TokenRequest, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| ApiError::field("$", e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::field("$", "The JSON value could not be converted to TokenRequest."));
    };
    let field = |name: &str| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut errors = BTreeMap::new();
    let app_key = field("AppKey");
    let app_secret = field("AppSecret");
    for (name, value) in [("AppKey", &app_key), ("AppSecret", &app_secret)] {
        if value.is_none() {
            errors.insert(name.to_string(), vec![format!("The {name} field is required.")]);
        }
    }
    match (app_key, app_secret) {
        (Some(app_key), Some(app_secret)) => Ok(TokenRequest { app_key, app_secret }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Middleware: 401 with an empty body and `WWW-Authenticate` unless the request carries a
/// live `Authorization: Bearer <token>`.
pub async fn require_bearer(State(state): State<SandboxState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    let Some(token) = token else {
        return ApiError::Unauthorized { challenge: "Bearer" }.into_response();
    };
    let check = state.tokens().check(&token, Instant::now());
    match check {
        TokenCheck::Valid => next.run(request).await,
        TokenCheck::Expired => ApiError::Unauthorized {
            challenge: "Bearer error=\"invalid_token\", error_description=\"The token expired\"",
        }
        .into_response(),
        TokenCheck::Unknown => ApiError::Unauthorized { challenge: "Bearer error=\"invalid_token\"" }.into_response(),
    }
}

/// The API-client GUID reported as `id`: stable per AppKey (FNV-1a seeded ChaCha8).
fn client_id(app_key: &str) -> String {
    let hash =
        app_key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut bytes = [0u8; 16];
    ChaCha8Rng::seed_from_u64(hash).fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_after_their_ttl_and_on_clear() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let token = store.issue(t0, Duration::from_secs(600));
        assert_eq!(store.check(&token, t0 + Duration::from_secs(599)), TokenCheck::Valid);
        assert_eq!(store.check(&token, t0 + Duration::from_secs(600)), TokenCheck::Expired);
        store.clear();
        assert_eq!(store.check(&token, t0), TokenCheck::Unknown);
    }

    #[test]
    fn token_request_keys_bind_case_insensitively() {
        let r = parse_token_request(br#"{"APPKEY":"k","appsecret":"s"}"#);
        assert!(matches!(r, Ok(TokenRequest { ref app_key, .. }) if app_key == "k"));
        let missing = parse_token_request(br#"{"AppKey":"k"}"#);
        assert!(matches!(missing, Err(ApiError::Problem(StatusCode::BAD_REQUEST, ref p))
            if p.errors.contains_key("AppSecret")));
    }
}
