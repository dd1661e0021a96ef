//! Evaluate, capture, cancel and refund against a scripted server: which failures are
//! retried, that a retry reuses the idempotency key, and that a refund is never resent.

mod common;

use common::{RawServer, RawStep, Reply, Server};
use flexfactor_client::ClientError;
use flexfactor_wire::{CaptureRequest, Cents, EvaluateRequest};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DECISION: &str = r#"{"orderSessionKey":"e3b0c442-98fc-4c14-9afb-f4c8996fb924","senseKey":null,
  "orderId":"e3b0c442-98fc-4c14-9afb-f4c8996fb924","success":true,"result":"Success","status":"SUBMITTED",
  "statusCode":null,"errors":[],"customProperties":{},"brandNewField":{"x":1}}"#;

fn mit() -> EvaluateRequest {
    EvaluateRequest {
        is_declined: Some(true),
        is_mit: Some(true),
        is_recurring: Some(true),
        order_id: Some("SUB-1".into()),
        mid: Some("9d3a1b7e-0000-4000-8000-000000000001".into()),
        ..Default::default()
    }
}

fn capture_request(key: &str) -> CaptureRequest {
    CaptureRequest { idempotency_key: key.into(), order_id: "o-1".into(), amount: Cents(4999), currency: "USD".into() }
}

fn keys(server: &Server, path: &str) -> Vec<String> {
    server
        .script
        .seen(path)
        .iter()
        .map(|s| s.json()["idempotencyKey"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn evaluate_resends_a_503_with_the_same_generated_idempotency_key() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/evaluate", vec![Reply::json(503, "<html>busy</html>"), Reply::json(200, DECISION)]);
    let answer = server.client()?.evaluate(&mit()).await?;
    assert_eq!(answer.attempts, 2);
    assert_eq!(answer.response.status.as_deref(), Some("SUBMITTED"));
    assert_eq!(answer.response.order_session_key.as_deref(), Some("e3b0c442-98fc-4c14-9afb-f4c8996fb924"));
    assert_eq!(keys(&server, "/evaluate"), vec![answer.idempotency_key.clone(), answer.idempotency_key]);
    let seen = server.script.seen("/evaluate");
    assert_eq!(seen[0].body, seen[1].body, "every attempt sends the same bytes");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[0].json()["isMIT"], true);
    Ok(())
}

#[tokio::test]
async fn capture_waits_for_retry_after_on_429_and_keeps_the_callers_key() -> TestResult {
    let server = Server::start().await?;
    server.script.on(
        "/capture",
        vec![
            Reply::json(429, "").header("retry-after", "1"),
            Reply::json(200, r#"{"success":true,"status":"SUCCESS"}"#),
        ],
    );
    let started = Instant::now();
    let answer = server.client()?.capture(&capture_request("cap-key-1")).await?;
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!((answer.attempts, answer.idempotency_key.as_str()), (2, "cap-key-1"));
    assert_eq!(keys(&server, "/capture"), vec!["cap-key-1", "cap-key-1"]);
    assert_eq!(server.script.seen("/capture")[0].json()["amount"], 4999);
    Ok(())
}

#[tokio::test]
async fn evaluate_resends_after_a_dropped_connection() -> TestResult {
    let server = RawServer::start(vec![RawStep::Drop, RawStep::Respond(DECISION.replace('\n', ""))]).await?;
    let client = common::client_for(&server.base, Duration::from_secs(5))?;
    let answer = client.evaluate(&mit()).await?;
    assert_eq!(answer.attempts, 2);
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test]
async fn transient_failures_stop_after_the_attempt_budget() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1/cancel", vec![Reply::json(502, "bad gateway")]);
    let err = server.client()?.cancel("o-1", None).await.unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 502, .. }), "{err:?}");
    let sent = keys(&server, "/orders/o-1/cancel");
    assert_eq!(sent.len(), 3, "max_attempts = 3");
    assert!(sent.iter().all(|k| k == &sent[0] && !k.is_empty()));
    Ok(())
}

#[tokio::test]
async fn a_409_after_a_retry_is_a_typed_conflict() -> TestResult {
    let server = Server::start().await?;
    let conflict =
        r#"{"status":409,"title":"A request with this idempotency key is in progress","traceId":"00-c-1-01"}"#;
    server.script.on("/orders/o-1/cancel", vec![Reply::json(503, ""), Reply::json(409, conflict)]);
    let err = server.client()?.cancel("o-1", Some("k-409")).await.unwrap_err();
    match &err {
        ClientError::Conflict { idempotency_key, after_retry, detail, .. } => {
            assert_eq!(idempotency_key.as_deref(), Some("k-409"));
            assert!(after_retry);
            assert!(detail.summary().contains("in progress"));
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(err.trace_id(), Some("00-c-1-01"));
    Ok(())
}

#[tokio::test]
async fn cancel_accepts_an_empty_200_and_external_cancel_uses_the_merchant_id() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1/cancel", vec![Reply::json(200, "")]);
    server.script.on("/orders/WEB%2042/external-cancel", vec![Reply::json(200, "{}")]);
    let client = server.client()?;
    let answer = client.cancel("o-1", None).await?;
    assert_eq!(answer.attempts, 1);
    assert_eq!(keys(&server, "/orders/o-1/cancel"), vec![answer.idempotency_key]);
    client.external_cancel("WEB 42", Some("ext-key")).await?;
    assert_eq!(keys(&server, "/orders/WEB%2042/external-cancel"), vec!["ext-key"]);
    Ok(())
}

#[tokio::test]
async fn capture_failed_with_http_200_is_rejected_with_every_message() -> TestResult {
    let server = Server::start().await?;
    let body = r#"{"success":false,"status":"FAILED","errors":[
        {"item1":"Order is not awaiting capture","item2":"3001","item3":"3001","item4":false},
        {"item1":"Capture window elapsed","item2":"3002","item3":"3002","item4":false}]}"#;
    server.script.on("/capture", vec![Reply::json(200, body)]);
    let err = server.client()?.capture(&capture_request("")).await.unwrap_err();
    match err {
        ClientError::Rejected { operation, code, detail, .. } => {
            assert_eq!((operation, code.as_deref()), ("capture", Some("3001")));
            assert_eq!(detail.codes.len(), 2);
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(server.script.seen("/capture").len(), 1, "a clear refusal is not retried");
    Ok(())
}

#[tokio::test]
async fn refund_sends_exact_dollars_and_decodes_success() -> TestResult {
    let server = Server::start().await?;
    server.script.on(
        "/orders/o-1/refund",
        vec![Reply::json(200, r#"{"success":true,"status":"SUCCESS","responseMessage":"APPROVED"}"#)],
    );
    let r = server.client()?.refund("o-1", Cents(1999), Some("customer asked")).await?;
    assert_eq!(r.status.as_deref(), Some("SUCCESS"));
    let seen = server.script.seen("/orders/o-1/refund");
    assert_eq!(seen[0].body, r#"{"amountToRefund":19.99,"refundMessage":"customer asked"}"#);
    Ok(())
}

#[tokio::test]
async fn refund_whose_response_is_dropped_is_outcome_unknown_and_sent_once() -> TestResult {
    let server = RawServer::start(vec![RawStep::Drop, RawStep::Respond("{}".into())]).await?;
    let client = common::client_for(&server.base, Duration::from_secs(5))?;
    let err = client.refund("o-9", Cents(500), None).await.unwrap_err();
    match &err {
        ClientError::OutcomeUnknown { operation, order_id, .. } => {
            assert_eq!((*operation, order_id.as_str()), ("refund", "o-9"))
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 1, "never resent");
    Ok(())
}

#[tokio::test]
async fn refund_that_times_out_or_gets_a_5xx_is_outcome_unknown_and_sent_once() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/slow/refund", vec![Reply::json(200, "{}").after(Duration::from_secs(3))]);
    server.script.on("/orders/busy/refund", vec![Reply::json(503, "")]);
    let client = server.client_with_timeout(Duration::from_millis(500))?;
    for order in ["slow", "busy"] {
        let err = client.refund(order, Cents(100), None).await.unwrap_err();
        assert!(matches!(err, ClientError::OutcomeUnknown { .. }), "{order}: {err:?}");
        assert_eq!(server.script.seen(&format!("/orders/{order}/refund")).len(), 1, "{order} was resent");
    }
    Ok(())
}

#[tokio::test]
async fn refund_over_the_refundable_amount_is_rejected_in_both_forms() -> TestResult {
    let server = Server::start().await?;
    let body = r#"{"success":false,"result":null,"status":"FAILED","responseCode":"2001",
        "responseMessage":"The requested amount exceeds the maximum refundable amount","transactionId":null,
        "errors":[{"item1":"The requested amount exceeds the maximum refundable amount","item2":"2001","item3":"2001","item4":false}],
        "customProperties":{}}"#;
    server.script.on("/orders/a/refund", vec![Reply::json(200, body)]);
    server.script.on("/orders/b/refund", vec![Reply::json(400, body)]);
    let client = server.client()?;
    for (order, http) in [("a", 200), ("b", 400)] {
        match client.refund(order, Cents(1_000_000), None).await {
            Err(ClientError::Rejected { operation, status, code, message, .. }) => {
                assert_eq!((operation, status, code.as_deref()), ("refund", http, Some("2001")));
                assert!(message.unwrap_or_default().contains("exceeds"));
            }
            other => panic!("{order}: expected Rejected, got {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn non_idempotent_posts_are_never_retried() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/transmit", vec![Reply::json(503, "")]);
    let err = server.client()?.transmit(&Default::default()).await.unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 503, .. }), "{err:?}");
    assert_eq!(server.script.seen("/transmit").len(), 1);
    Ok(())
}
