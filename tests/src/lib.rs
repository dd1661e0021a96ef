//! Cross-crate test scenarios live in `tests/`; this library holds what several of them share.

pub mod e2e;

/// A bearer token from a FlexFactor API (the sandbox) at `base_url` (ending in `/v1`):
/// `POST /oauth2/token` with the AppKey and AppSecret. Panics (failing the test) otherwise.
pub async fn access_token(http: &reqwest::Client, base_url: &str, app_key: &str, app_secret: &str) -> String {
    let token: serde_json::Value = http
        .post(format!("{base_url}/oauth2/token"))
        .json(&serde_json::json!({"AppKey": app_key, "AppSecret": app_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["accessToken"].as_str().expect("an access token from the sandbox").to_string()
}
