//! Shared set-up for the sandbox's integration tests.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const APP_KEY: &str = "test-app-key";
pub const APP_SECRET: &str = "test-app-secret-0123456789";

/// 2026-03-01T12:00:00Z, "now" of every seeded history in these tests.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap_or_default()
}

pub fn credentials() -> SandboxCredentials {
    SandboxCredentials::new(APP_KEY, APP_SECRET)
}

/// The demo config with `order_count` orders.
pub fn config(seed: u64, order_count: usize) -> SandboxConfig {
    let mut c = SandboxConfig::demo(seed, anchor(), credentials());
    c.order_count = order_count;
    c
}

pub async fn start(order_count: usize) -> TestResult<Sandbox> {
    Ok(Sandbox::start(config(42, order_count)).await?)
}

pub async fn token(client: &reqwest::Client, sandbox: &Sandbox) -> TestResult<String> {
    let body: serde_json::Value = client
        .post(format!("{}/oauth2/token", sandbox.base_url()))
        .json(&serde_json::json!({"AppKey": APP_KEY, "AppSecret": APP_SECRET}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["accessToken"].as_str().ok_or("no accessToken")?.to_string())
}

/// A sandbox whose virtual clock is frozen at [`anchor`] (moves only on `advance_clock`).
pub async fn start_frozen(order_count: usize) -> TestResult<Sandbox> {
    let mut c = config(42, order_count);
    c.clock_start = Some(anchor());
    Ok(Sandbox::start(c).await?)
}

/// A signed-in HTTP client for one sandbox.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
    pub mid: String,
    pub tokenization_key: String,
}

/// What a call returned: status, parsed JSON (Null when empty or not JSON), headers.
pub struct Answer {
    pub status: u16,
    pub json: serde_json::Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Api {
    pub async fn new(sandbox: &Sandbox) -> TestResult<Api> {
        let client = reqwest::Client::new();
        let token = token(&client, sandbox).await?;
        Ok(Api {
            client,
            base: sandbox.base_url(),
            token,
            mid: sandbox.mid().to_string(),
            tokenization_key: sandbox.tokenization_key().to_string(),
        })
    }

    pub async fn post_raw(&self, path: &str, body: &str) -> TestResult<Answer> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer { status, json, text, headers })
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> TestResult<Answer> {
        self.post_raw(path, &body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> TestResult<Answer> {
        let response = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer { status, json, text, headers })
    }

    /// Tokenizes `number` and returns the vault token.
    pub async fn tokenize(&self, number: &str) -> TestResult<String> {
        let a = self
            .post_raw(
                &format!("/tokenize?mid={}&environment={}", self.mid, self.tokenization_key),
                &serde_json::json!({"payment_method": {"credit_card": {
                    "first_name": "Ada", "last_name": "Lovelace", "number": number,
                    "verification_value": "123", "month": "09", "year": "2030"}}})
                .to_string(),
            )
            .await?;
        assert_eq!(a.status, 200, "{}", a.text);
        Ok(a.json["transaction"]["payment_method"]["token"].as_str().ok_or("no token")?.to_string())
    }

    /// A documented minimal CIT body for `token`.
    pub fn cit(&self, token: &str, amount: i64, order_id: &str) -> serde_json::Value {
        serde_json::json!({
            "isDeclined": true, "isMIT": false, "mid": self.mid, "orderId": order_id,
            "idempotencyKey": uuid_like(order_id),
            "transaction": {"id": "psp-1", "amount": amount, "currency": "USD",
                            "timestampUtc": "2026-03-01T11:59:00Z", "responseCode": "05"},
            "payer": {"email": "ada@example.test"},
            "billingInformation": {"firstName": "Ada", "lastName": "Lovelace", "countryCode": "US"},
            "paymentMethod": {"cardNumber": token, "token": true}
        })
    }

    /// Evaluates a CIT for `card` and returns the orderSessionKey and status.
    pub async fn evaluate_cit(&self, card: &str, amount: i64, order_id: &str) -> TestResult<(String, String)> {
        let token = self.tokenize(card).await?;
        let a = self.post("/evaluate", &self.cit(&token, amount, order_id)).await?;
        assert_eq!(a.status, 200, "{}", a.text);
        let id = a.json["orderSessionKey"].as_str().ok_or("no orderSessionKey")?.to_string();
        Ok((id, a.json["status"].as_str().unwrap_or("").to_string()))
    }
}

/// A GUID-shaped idempotency key derived from `seed` text.
pub fn uuid_like(seed: &str) -> String {
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:08x}-0000-4000-8000-{:012x}", h >> 32, h & 0xffff_ffff_ffff)
}
