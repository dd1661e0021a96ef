//! The remaining endpoints (tokenize, transmit, outcome, paging) and every documented
//! error shape, against a scripted server.

mod common;

use common::{Reply, Server};
use flexfactor_client::ClientError;
use flexfactor_wire::{CreditCard, OrdersQuery, TokenizePaymentMethod, TokenizeRequest, TransmitRequest};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test]
async fn a_malformed_200_body_is_a_decode_error_naming_the_path() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-1", vec![Reply::json(200, r#"{"id":"o-1","status":"#)]);
    server.script.on("/evaluate", vec![Reply::json(200, "[1,2,3]")]);
    let client = server.client()?;
    let err = client.get_order("o-1").await.unwrap_err();
    assert!(matches!(&err, ClientError::Decode { path, .. } if path == "/orders/o-1"), "{err:?}");
    let err = client.evaluate(&Default::default()).await.unwrap_err();
    assert!(matches!(&err, ClientError::Decode { path, .. } if path == "/evaluate"), "{err:?}");
    assert_eq!(server.script.seen("/orders/o-1").len(), 1, "a decode error is not retried");
    Ok(())
}

#[tokio::test]
async fn problem_details_keep_every_field_message_and_the_trace_id() -> TestResult {
    let server = Server::start().await?;
    let body = r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.",
        "status":400,"traceId":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "errors":{"Transaction.ResponseCode":["The ResponseCode field is required."],"Mid":["bad","worse"]}}"#;
    server.script.on("/evaluate", vec![Reply::json(400, body)]);
    let err = server.client()?.evaluate(&Default::default()).await.unwrap_err();
    assert_eq!(err.trace_id(), Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    match err {
        ClientError::Api { status: 400, detail, .. } => {
            assert_eq!(detail.field_errors["Mid"], vec!["bad", "worse"]);
            assert_eq!(detail.field_errors["Transaction.ResponseCode"], vec!["The ResponseCode field is required."]);
        }
        other => panic!("expected Api 400, got {other:?}"),
    }
    assert_eq!(server.script.seen("/evaluate").len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_flat_validation_form_is_read_too() -> TestResult {
    let server = Server::start().await?;
    let body = r#"{"TraceId":["00-1-2-01"],"IdempotencyKey":["The IdempotencyKey field is required."],
        "OrderId":["Merchant's orderId is required"]}"#;
    server.script.on("/capture", vec![Reply::json(400, body)]);
    let request = flexfactor_wire::CaptureRequest { amount: flexfactor_wire::Cents(100), ..Default::default() };
    let err = server.client()?.capture(&request).await.unwrap_err();
    assert_eq!(err.trace_id(), Some("00-1-2-01"));
    match err {
        ClientError::Api { detail, .. } => {
            assert_eq!(detail.field_errors.len(), 2);
            assert_eq!(detail.field_errors["OrderId"], vec!["Merchant's orderId is required"]);
        }
        other => panic!("expected Api, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn an_unknown_order_is_not_found_and_a_get_503_is_retried() -> TestResult {
    let server = Server::start().await?;
    server.script.on("/orders/o-2", vec![Reply::json(503, ""), Reply::json(200, r#"{"id":"o-2"}"#)]);
    let client = server.client()?;
    let err = client.get_order("missing").await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err:?}");
    assert_eq!(client.get_order("o-2").await?.id, "o-2");
    assert_eq!(server.script.seen("/orders/o-2").len(), 2);
    Ok(())
}

#[tokio::test]
async fn tokenize_sends_mid_environment_bearer_and_a_snake_case_body() -> TestResult {
    let server = Server::start().await?;
    let answer = r#"{"transaction":{"succeeded":true,"on_test_gateway":true,"created_at":"2025-01-15T10:00:00.0000000Z",
        "payment_method":{"token":"7c9e6679-7425-40de-944b-e07fc1f90ae7","first_six_digits":"41111111","last_four_digits":"1111",
        "month":9,"year":2027,"storage_state":"retained"}},"cardBinInfo":null,"success":true,"result":null,"status":null,
        "statusCode":null,"errors":[],"customProperties":{}}"#;
    server.script.on("/tokenize", vec![Reply::json(200, answer)]);
    let request = TokenizeRequest {
        payment_method: TokenizePaymentMethod {
            email: Some("ada@example.test".into()),
            sense_key: None,
            credit_card: CreditCard {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                number: "4111111111111111".into(),
                verification_value: "123".into(),
                month: Some("09".into()),
                year: Some("2027".into()),
            },
        },
    };
    let r = server.client()?.tokenize("mid-1", "env-key", &request).await?;
    assert_eq!(r.token(), Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"));
    let seen = &server.script.seen("/tokenize")[0];
    assert_eq!(seen.query, "mid=mid-1&environment=env-key");
    assert_eq!(seen.bearer.as_deref(), Some("tok-1"));
    assert_eq!(seen.json()["payment_method"]["credit_card"]["first_name"], "Ada");
    Ok(())
}

#[tokio::test]
async fn transmit_and_the_deprecated_outcome_decode_their_answers() -> TestResult {
    let server = Server::start().await?;
    server
        .script
        .on("/transmit", vec![Reply::json(200, r#"{"transmitId":"t-1","success":true,"status":0,"errors":[]}"#)]);
    server
        .script
        .on("/outcome", vec![Reply::json(200, r#"{"status":"EXPIRED","confirmationId":"A1B2C3","success":true}"#)]);
    let client = server.client()?;
    let t = client.transmit(&TransmitRequest { order_id: Some("WEB-1".into()), ..Default::default() }).await?;
    assert_eq!(t.transmit_id.as_deref(), Some("t-1"));
    #[allow(deprecated)]
    let o = client.outcome("e3b0c442").await?;
    assert_eq!((o.status.as_deref(), o.confirmation_id.as_deref()), (Some("EXPIRED"), Some("A1B2C3")));
    assert_eq!(server.script.seen("/outcome")[0].json()["orderSessionKey"], "e3b0c442");
    Ok(())
}

#[tokio::test]
async fn list_all_orders_walks_every_page_in_order() -> TestResult {
    let server = Server::start().await?;
    // The scripted server ignores the query, so script the pages in sequence.
    server.script.on(
        "/orders",
        vec![
            Reply::json(
                200,
                r#"{"orders":[{"id":"a"},{"id":"b"}],"pageNumber":1,"pageSize":2,"pageCount":3,"hasNextPage":true}"#,
            ),
            Reply::json(
                200,
                r#"{"items":[{"id":"c"},{"id":"d"}],"pageNumber":2,"pageSize":2,"pageCount":3,"hasNextPage":true}"#,
            ),
            Reply::json(
                200,
                r#"{"orders":[{"id":"e"}],"pageNumber":3,"pageSize":2,"pageCount":3,"hasNextPage":false}"#,
            ),
        ],
    );
    let client = server.client()?;
    let query = OrdersQuery { page_size: Some(2), ..Default::default() };
    let all = client.list_all_orders(&query).await?;
    assert_eq!(all.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
    let pages: Vec<String> = server.script.seen("/orders").iter().map(|s| s.query.clone()).collect();
    assert_eq!(pages, ["pageSize=2&pageNumber=1", "pageSize=2&pageNumber=2", "pageSize=2&pageNumber=3"]);
    Ok(())
}

#[tokio::test]
async fn listed_and_fetched_orders_keep_the_apis_json_text_with_fields_flexdesk_does_not_model() -> TestResult {
    let server = Server::start().await?;
    let listed = r#"{ "id": "a", "riskScore": 0.82, "paymentMethod": {"wallet": "applepay"} }"#;
    server
        .script
        .on("/orders", vec![Reply::json(200, &format!(r#"{{"items":[{listed},{{"id":"b"}}],"hasNextPage":false}}"#))]);
    let fetched = r#"{"id":"c","status":7,"loyaltyTier":"gold"}"#;
    server.script.on("/orders/c", vec![Reply::json(200, fetched)]);
    let client = server.client()?;

    let page = client.list_orders(&OrdersQuery::default()).await?;
    assert_eq!(page.orders[0].raw.get(), Some(listed), "the listed order's own text, spacing and all");
    assert_eq!(page.orders[1].raw.get(), Some(r#"{"id":"b"}"#));
    let order = client.get_order("c").await?;
    assert_eq!((order.id.as_str(), order.status), ("c", Some(7)));
    assert_eq!(order.raw.get(), Some(fetched));
    Ok(())
}
