//! Token cache behaviour against a scripted server: one refresh for many waiters, one
//! re-authentication per 401, and bad credentials kept distinct.

mod common;

use common::{Reply, Server};
use flexfactor_client::ClientError;
use std::sync::Arc;
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ORDER: &str = r#"{"id":"o-1","status":7,"somethingNew":true}"#;

#[tokio::test]
async fn twenty_concurrent_calls_after_expiry_fetch_exactly_one_token() -> TestResult {
    let server = Server::start().await?;
    // The first token expires in 10 s: inside the 30 s refresh margin, so already stale.
    server.script.token_ttls(&[10]);
    server.script.token_delay(Duration::from_millis(200));
    server.script.on("/orders/o-1", vec![Reply::json(200, ORDER)]);
    let client = Arc::new(server.client()?);
    client.authenticate().await?;
    assert_eq!(server.script.token_requests(), 1);

    let calls = (0..20).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_order("o-1").await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await??.id, "o-1");
    }
    assert_eq!(server.script.token_requests(), 2, "one refresh however many callers waited");
    let bearers: std::collections::HashSet<_> =
        server.script.seen("/orders/o-1").into_iter().filter_map(|s| s.bearer).collect();
    assert_eq!(bearers.into_iter().collect::<Vec<_>>(), vec!["tok-2".to_string()]);
    Ok(())
}

#[tokio::test]
async fn a_fresh_token_is_reused_across_calls() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1", vec![Reply::json(200, ORDER)]);
    let client = server.client()?;
    for _ in 0..5 {
        client.get_order("o-1").await?;
    }
    assert_eq!(server.script.token_requests(), 1);
    Ok(())
}

#[tokio::test]
async fn a_401_on_get_reauthenticates_once_and_resends() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1", vec![Reply::json(401, ""), Reply::json(200, ORDER)]);
    let client = server.client()?;
    assert_eq!(client.get_order("o-1").await?.id, "o-1");
    assert_eq!(server.script.token_requests(), 2);
    let seen = server.script.seen("/orders/o-1");
    assert_eq!(seen.iter().map(|s| s.bearer.clone().unwrap_or_default()).collect::<Vec<_>>(), ["tok-1", "tok-2"]);
    Ok(())
}

#[tokio::test]
async fn a_401_on_post_reauthenticates_once_and_resends_the_same_body() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1/cancel", vec![Reply::json(401, ""), Reply::json(200, "")]);
    let client = server.client()?;
    let answer = client.cancel("o-1", Some("key-1")).await?;
    assert_eq!(answer.idempotency_key, "key-1");
    let seen = server.script.seen("/orders/o-1/cancel");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(seen[1].bearer.as_deref(), Some("tok-2"));
    assert_eq!(server.script.token_requests(), 2);
    Ok(())
}

#[tokio::test]
async fn a_second_401_is_unauthorized_without_a_loop() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1", vec![Reply::json(401, "")]);
    let client = server.client()?;
    let err = client.get_order("o-1").await.unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized), "{err:?}");
    assert_eq!(server.script.seen("/orders/o-1").len(), 2);
    assert_eq!(server.script.token_requests(), 2);
    Ok(())
}

#[tokio::test]
async fn bad_credentials_are_credentials_rejected_with_the_servers_messages() -> TestResult {
    let server = Server::start().await?;
    server.script.reject_credentials();
    let err = server.client()?.authenticate().await.unwrap_err();
    match &err {
        ClientError::CredentialsRejected { detail } => {
            assert_eq!(detail.field_errors["AppKey"], vec!["unknown key"]);
        }
        other => panic!("expected CredentialsRejected, got {other:?}"),
    }
    assert_eq!(err.trace_id(), Some("00-cred-01"));
    assert!(!err.is_transient());
    Ok(())
}
