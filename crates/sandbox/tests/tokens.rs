mod common;

use std::time::Duration;

use chrono::Utc;
use common::TestResult;
use flexfactor_sandbox::Sandbox;
use flexfactor_wire::{ProblemDetails, TokenResponse};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post_token(sandbox: &Sandbox, body: Value) -> TestResult<reqwest::Response> {
    Ok(reqwest::Client::new().post(format!("{}/oauth2/token", sandbox.base_url())).json(&body).send().await?)
}

fn good_credentials() -> Value {
    json!({"AppKey": common::APP_KEY, "AppSecret": common::APP_SECRET})
}

#[tokio::test]
async fn good_credentials_get_a_token_expiring_after_the_ttl() -> TestResult {
    let sandbox = common::start(20).await?;
    let before = Utc::now().timestamp_millis();
    let res = post_token(&sandbox, good_credentials()).await?;
    let after = Utc::now().timestamp_millis();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await?;
    assert!(body["accessToken"].as_str().is_some_and(|t| t.len() >= 32));
    assert!(body["refreshToken"].is_string());
    let expires = body["expires"].as_i64().ok_or("expires is not a number")?;
    assert!(expires >= before + 600_000 && expires <= after + 600_000, "{expires}");
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["customProperties"], json!({}));
    for field in ["result", "status", "statusCode", "session", "daysToEnforceMFA", "skipAvailable"] {
        assert!(body.get(field).is_some_and(Value::is_null), "{field}");
    }
    uuid::Uuid::parse_str(body["id"].as_str().ok_or("no id")?)?;
    // The wire type the client uses parses it.
    let parsed: TokenResponse = serde_json::from_value(body)?;
    assert_eq!(parsed.expires, expires);
    sandbox.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn lowercase_property_names_are_accepted() -> TestResult {
    let sandbox = common::start(20).await?;
    let body = json!({"appKey": common::APP_KEY, "appsecret": common::APP_SECRET});
    assert_eq!(post_token(&sandbox, body).await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn bad_credentials_get_a_400_problem_naming_app_key() -> TestResult {
    let sandbox = common::start(20).await?;
    let res = post_token(&sandbox, json!({"AppKey": common::APP_KEY, "AppSecret": "wrong"})).await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: ProblemDetails = res.json().await?;
    assert_eq!(problem.status, 400);
    assert_eq!(problem.errors.get("AppKey"), Some(&vec!["Invalid credentials".to_string()]));
    let trace = problem.trace_id.ok_or("no traceId")?;
    assert!(trace.starts_with("00-") && trace.ends_with("-01") && trace.len() == 55, "{trace}");
    Ok(())
}

#[tokio::test]
async fn malformed_json_gets_a_400_problem() -> TestResult {
    let sandbox = common::start(20).await?;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", sandbox.base_url()))
        .header("content-type", "application/json")
        .body("{\"AppKey\": ")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: ProblemDetails = res.json().await?;
    assert!(problem.errors.contains_key("$"), "{problem:?}");
    Ok(())
}

#[tokio::test]
async fn a_body_not_declared_as_json_gets_415() -> TestResult {
    let sandbox = common::start(20).await?;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", sandbox.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("AppKey=k&AppSecret=s")
        .send()
        .await?;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    Ok(())
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_with_an_empty_body() -> TestResult {
    let sandbox = common::start(20).await?;
    let client = reqwest::Client::new();
    let url = format!("{}/orders", sandbox.base_url());
    let missing = client.get(&url).send().await?;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(missing.headers().contains_key("www-authenticate"));
    assert!(missing.text().await?.is_empty());
    let unknown = client.get(&url).bearer_auth("not-a-token").send().await?;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let single = client.get(format!("{url}/anything")).send().await?;
    assert_eq!(single.status(), StatusCode::UNAUTHORIZED);
    let token = common::token(&client, &sandbox).await?;
    assert_eq!(client.get(&url).bearer_auth(&token).send().await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn forced_expiry_invalidates_every_issued_token_but_new_ones_work() -> TestResult {
    let sandbox = common::start(20).await?;
    let client = reqwest::Client::new();
    let url = format!("{}/orders", sandbox.base_url());
    let first = common::token(&client, &sandbox).await?;
    let second = common::token(&client, &sandbox).await?;
    assert_ne!(first, second);
    sandbox.force_token_expiry();
    for token in [&first, &second] {
        let res = client.get(&url).bearer_auth(token).send().await?;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let fresh = common::token(&client, &sandbox).await?;
    assert_eq!(client.get(&url).bearer_auth(&fresh).send().await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn tokens_stop_working_when_their_ttl_elapses() -> TestResult {
    let mut config = common::config(1, 20);
    config.token_ttl = Duration::from_secs(3);
    let sandbox = Sandbox::start(config).await?;
    let client = reqwest::Client::new();
    let token = common::token(&client, &sandbox).await?;
    let url = format!("{}/orders", sandbox.base_url());
    assert_eq!(client.get(&url).bearer_auth(&token).send().await?.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let res = client.get(&url).bearer_auth(&token).send().await?;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers().get("www-authenticate").ok_or("no challenge")?.to_str()?;
    assert!(challenge.contains("invalid_token"), "{challenge}");
    Ok(())
}
