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
