//! `POST /v1/oauth2/token`.

use serde::{Deserialize, Serialize};

/// Body of `POST /oauth2/token`. The service binds properties case-insensitively
/// (`appKey` works too); the documented spelling is PascalCase.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenRequest {
    #[serde(rename = "AppKey", alias = "appKey", alias = "appkey")]
    pub app_key: String,
    #[serde(rename = "AppSecret", alias = "appSecret", alias = "appsecret")]
    pub app_secret: String,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest").field("app_key", &self.app_key).field("app_secret", &"<redacted>").finish()
    }
}

/// Successful token response. `expires` is epoch **milliseconds**.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    pub expires: i64,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub success: Option<bool>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse").field("access_token", &"<redacted>").field("expires", &self.expires).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_request_accepts_camel_case_keys() {
        let r: TokenRequest = serde_json::from_str(r#"{"appKey":"k","appSecret":"s"}"#).unwrap();
        assert_eq!(r.app_key, "k");
        assert_eq!(r.app_secret, "s");
        let out = serde_json::to_string(&r).unwrap();
        assert_eq!(out, r#"{"AppKey":"k","AppSecret":"s"}"#);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let r = TokenRequest { app_key: "k".into(), app_secret: "topsecret".into() };
        assert!(!format!("{r:?}").contains("topsecret"));
    }
}
