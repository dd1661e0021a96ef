//! The HTTP layer: configuration, the token cache, and the request loop.

use chrono::Utc;
use flexfactor_wire::{TokenRequest, TokenResponse};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::sync::Mutex;

use crate::auth::CachedToken;
use crate::error::{ApiErrorDetail, ClientError};
use crate::retry::{parse_retry_after, RetryPolicy};

/// Where and as whom the client talks to FlexFactor.
#[derive(Clone)]
pub struct ClientConfig {
    /// The API root including the version, e.g. `https://api-sandbox.flexfactor.io/v1`.
    pub base_url: String,
    pub app_key: String,
    pub app_secret: String,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, app_key: impl Into<String>, app_secret: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            app_key: app_key.into(),
            app_secret: app_secret.into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A FlexFactor API client. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct FlexFactorClient {
    http: reqwest::Client,
    base: String,
    credentials: TokenRequest,
    pub(crate) retry: RetryPolicy,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for FlexFactorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlexFactorClient").field("base", &self.base).finish()
    }
}

/// One failed attempt: the error, the server's `Retry-After` if it sent one, and whether
/// the request may have been processed (it was sent and no clear answer came back).
pub(crate) struct Failure {
    pub error: Box<ClientError>,
    pub retry_after: Option<Duration>,
    pub maybe_processed: bool,
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        Failure { error: Box::new(error), retry_after: None, maybe_processed: false }
    }
}

/// A request body, already serialized (so every resend carries the same bytes).
pub(crate) struct JsonBody(pub Vec<u8>);

/// One HTTP answer other than 401.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub retry_after: Option<Duration>,
}

impl Reply {
    /// The body of a 2xx reply; a 404 is [`ClientError::NotFound`], any other status
    /// [`ClientError::Api`] (an answer to a 408 or 5xx may or may not have been processed).
    pub fn into_success(self, path: &str) -> Result<String, Failure> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        if self.status == StatusCode::NOT_FOUND {
            return Err(ClientError::NotFound { path: path.to_string() }.into());
        }
        let code = self.status.as_u16();
        Err(Failure {
            error: Box::new(ClientError::Api {
                status: code,
                path: path.to_string(),
                detail: Box::new(ApiErrorDetail::parse(&self.body)),
            }),
            retry_after: self.retry_after,
            maybe_processed: code == 408 || self.status.is_server_error(),
        })
    }
}

impl FlexFactorClient {
    pub fn new(config: ClientConfig) -> Result<FlexFactorClient, ClientError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| ClientError::Config(format!("base URL {base:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!("base URL {base:?} must start with https://")));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("FlexDesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))?;
        Ok(FlexFactorClient {
            http,
            base,
            credentials: TokenRequest { app_key: config.app_key, app_secret: config.app_secret },
            retry: config.retry,
            token: Mutex::new(None),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Signs in now (or reuses a fresh cached token). The way to check credentials.
    #[tracing::instrument(skip_all, err)]
    pub async fn authenticate(&self) -> Result<(), ClientError> {
        self.bearer(None).await.map(|_| ())
    }

    /// The current access token (signing in when there is none or it is stale): what an
    /// SFTP batch header's `authorizationToken` carries. Never log it.
    pub async fn access_token(&self) -> Result<String, ClientError> {
        self.bearer(None).await
    }

    /// A usable access token. With `stale = Some(t)` the caller saw `t` rejected: a new token
    /// is fetched unless another caller already replaced `t`. The lock is held across the
    /// fetch, so however many callers wait, one refresh is in flight.
    async fn bearer(&self, stale: Option<&str>) -> Result<String, ClientError> {
        let mut slot = self.token.lock().await;
        if let Some(cached) = slot.as_ref() {
            let rejected = stale.is_some_and(|s| s == cached.access_token);
            if !rejected && cached.is_fresh(Utc::now()) {
                return Ok(cached.access_token.clone());
            }
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.access_token.clone();
        *slot = Some(fresh);
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<CachedToken, ClientError> {
        let url = format!("{}/oauth2/token", self.base);
        tracing::debug!(%url, "requesting access token");
        let resp = self.http.post(&url).json(&self.credentials).send().await.map_err(|e| network_error(&url, &e))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| network_error(&url, &e))?;
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ClientError::CredentialsRejected { detail: Box::new(ApiErrorDetail::parse(&body)) });
        }
        if !status.is_success() {
            return Err(ClientError::Api {
                status: status.as_u16(),
                path: "/oauth2/token".into(),
                detail: Box::new(ApiErrorDetail::parse(&body)),
            });
        }
        let parsed: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| ClientError::Decode { path: "/oauth2/token".into(), message: e.to_string() })?;
        if parsed.access_token.is_empty() {
            return Err(ClientError::Decode {
                path: "/oauth2/token".into(),
                message: "the response has no accessToken".into(),
            });
        }
        Ok(CachedToken::from_expires_ms(parsed.access_token, parsed.expires))
    }

    /// A GET with retries on transient failures.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<T, ClientError> {
        let body = self.get_text(path, query).await?;
        decode(path, &body)
    }

    /// A GET's successful body, retried on transient failures (it is a read).
    pub(crate) async fn get_text(&self, path: &str, query: &[(&'static str, String)]) -> Result<String, ClientError> {
        let mut attempt = 1;
        loop {
            let outcome = match self.exchange(Method::GET, path, query, None).await {
                Ok(reply) => reply.into_success(path),
                Err(f) => Err(f),
            };
            match outcome {
                Ok(body) => return Ok(body),
                Err(f) if f.error.is_transient() && attempt < self.retry.max_attempts => {
                    let wait = self.retry.delay(attempt, f.retry_after);
                    tracing::warn!(path, attempt, ?wait, error = %f.error, "transient failure, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(f) => return Err(*f.error),
            }
        }
    }

    /// One request with the bearer token; on 401, one re-authentication and one resend.
    /// Returns every answer but 401. A failure to send is `Network`, with
    /// `maybe_processed` set unless the connection was never established.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<&JsonBody>,
    ) -> Result<Reply, Failure> {
        let url = format!("{}{}", self.base, path);
        let mut token = self.bearer(None).await?;
        for reauthenticated in [false, true] {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, "application/json")
                .query(query);
            if let Some(JsonBody(bytes)) = body {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes.clone());
            }
            let resp = request.send().await.map_err(|e| Failure {
                maybe_processed: !e.is_connect(),
                error: Box::new(network_error(&url, &e)),
                retry_after: None,
            })?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED {
                if reauthenticated {
                    return Err(ClientError::Unauthorized.into());
                }
                tracing::info!(path, "access token refused; signing in again");
                token = self.bearer(Some(&token)).await?;
                continue;
            }
            let retry_after =
                parse_retry_after(resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()));
            let body = resp.text().await.map_err(|e| Failure {
                error: Box::new(network_error(&url, &e)),
                retry_after: None,
                maybe_processed: true,
            })?;
            return Ok(Reply { status, body, retry_after });
        }
        Err(ClientError::Unauthorized.into())
    }
}

/// Decodes a 2xx body; a mismatch is [`ClientError::Decode`] naming the path.
pub(crate) fn decode<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, ClientError> {
    serde_json::from_str(body).map_err(|e| ClientError::Decode { path: path.to_string(), message: e.to_string() })
}

fn network_error(url: &str, e: &reqwest::Error) -> ClientError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ClientError::Network { url: url.to_string(), message, timeout: e.is_timeout() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_never_shows_the_secret() {
        let c = ClientConfig::new("https://x/v1", "key", "supersecret");
        assert!(!format!("{c:?}").contains("supersecret"));
    }

    #[test]
    fn a_base_url_without_scheme_is_a_clear_config_error() {
        let err = FlexFactorClient::new(ClientConfig::new("api.example/v1", "k", "s")).unwrap_err();
        assert!(matches!(err, ClientError::Config(_)), "{err}");
    }
}
