mod common;

use std::time::Duration;

use chrono::Utc;
use flexfactor_sandbox::Sandbox;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post_token(client: &reqwest::Client, sandbox: &Sandbox, body: Value) -> reqwest::Response {
    client.post(format!("{}/oauth2/token", sandbox.base_url())).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn good_credentials_get_a_token_expiring_after_the_ttl() {
    let sandbox = common::start(20).await;
    let client = reqwest::Client::new();
    let before = Utc::now().timestamp_millis();
    let res = post_token(&client, &sandbox, json!({"AppKey": common::APP_KEY, "AppSecret": common::APP_SECRET})).await;
    let after = Utc::now().timestamp_millis();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(body["accessToken"].as_str().is_some_and(|t| t.len() >= 32));
    assert!(body["refreshToken"].is_string());
    let expires = body["expires"].as_i64().unwrap();
    assert!(expires >= before + 600_000 && expires <= after + 600_000, "{expires}");
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["errors"], json!([]));
    assert_eq!(body["customProperties"], json!({}));
    for null_field in ["result", "status", "statusCode", "session", "daysToEnforceMFA", "skipAvailable"] {
        assert!(body.get(null_field).is_some_and(Value::is_null), "{null_field}");
    }
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());
    // The wire type the client uses parses it.
    let parsed: flexfactor_wire::TokenResponse = serde_json::from_value(body).unwrap();
    assert_eq!(parsed.expires, expires);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn lowercase_property_names_are_accepted() {
    let sandbox = common::start(20).await;
    let client = reqwest::Client::new();
    let res = post_token(&client, &sandbox, json!({"appKey": common::APP_KEY, "appsecret": common::APP_SECRET})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_credentials_get_a_400_problem_naming_app_key() {
    let sandbox = common::start(20).await;
    let client = reqwest::Client::new();
    let res = post_token(&client, &sandbox, json!({"AppKey": common::APP_KEY, "AppSecret": "wrong"})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: flexfactor_wire::ProblemDetails = res.json().await.unwrap();
    assert_eq!(problem.status, 400);
    assert_eq!(problem.errors["AppKey"], vec!["Invalid credentials".to_string()]);
    let trace = problem.trace_id.unwrap();
    assert!(trace.starts_with("00-") && trace.ends_with("-01") && trace.len() == 55, "{trace}");
}

#[tokio::test]
async fn malformed_json_gets_a_400_problem() {
    let sandbox = common::start(20).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", sandbox.base_url()))
        .header("content-type", "application/json")
        .body("{\"AppKey\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let problem: flexfactor_wire::ProblemDetails = res.json().await.unwrap();
    assert!(problem.errors.contains_key("$"), "{problem:?}");
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    let sandbox = common::start(20).await;
    let client = reqwest::Client::new();
    let url = format!("{}/orders", sandbox.base_url());
    let missing = client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(missing.headers().contains_key("www-authenticate"));
    assert!(missing.text().await.unwrap().is_empty());
    let unknown = client.get(&url).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let token = common::token(&client, &sandbox).await;
    let ok = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn forced_expiry_invalidates_every_issued_token_but_new_ones_work() {
    let sandbox = common::start(20).await;
    let client = reqwest::Client::new();
    let url = format!("{}/orders", sandbox.base_url());
    let first = common::token(&client, &sandbox).await;
    let second = common::token(&client, &sandbox).await;
    assert_ne!(first, second);
    sandbox.force_token_expiry();
    for token in [&first, &second] {
        let res = client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let fresh = common::token(&client, &sandbox).await;
    let res = client.get(&url).bearer_auth(&fresh).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_stop_working_when_their_ttl_elapses() {
    let mut config = common::config(1, 20);
    config.token_ttl = Duration::from_millis(300);
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = reqwest::Client::new();
    let token = common::token(&client, &sandbox).await;
    let url = format!("{}/orders", sandbox.base_url());
    assert_eq!(client.get(&url).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let res = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn a_body_not_declared_as_json_gets_415() {
    let sandbox = common::start(20).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", sandbox.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("AppKey=k&AppSecret=s")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
