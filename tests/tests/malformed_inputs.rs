//! Bad input in both directions, and never a panic or a 5xx:
//! - malformed requests to the sandbox (bad JSON, wrong types, missing fields, huge
//!   numbers, bad query values, wrong content type) each get a clear 4xx ProblemDetails;
//! - malformed responses to the client (truncated JSON, wrong types, HTML error pages,
//!   empty 200s, 200s of an unknown shape, a 500 with a plain-text body), served by a tiny
//!   axum server in this file, each become a typed `ClientError` (Decode, Api with the raw
//!   body kept, OutcomeUnknown for refunds).

use std::time::Duration;

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{TimeZone, Utc};
use flexfactor_client::{ClientConfig, ClientError, FlexFactorClient, RetryPolicy};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use flexfactor_wire::{CaptureRequest, Cents, EvaluateRequest, OrdersQuery};
use serde_json::Value;

const KEY: &str = "malformed-key";
const SECRET: &str = "malformed-secret-0123456789";

// ---------------------------------------------------------------- requests to the sandbox

async fn sandbox() -> Sandbox {
    let anchor = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(3, anchor, SandboxCredentials::new(KEY, SECRET));
    config.order_count = 20;
    config.clock_start = Some(anchor);
    Sandbox::start(config).await.unwrap()
}

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(sb: &Sandbox) -> Raw {
        let http = reqwest::Client::new();
        let token = flexdesk_tests::access_token(&http, &sb.base_url(), KEY, SECRET).await;
        Raw { http, base: sb.base_url(), token }
    }

    async fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (u16, String, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).body(body.to_string()),
        }
        .bearer_auth(&self.token);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let ct = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = response.text().await.unwrap();
        (status, ct, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Asserts a clear 4xx ProblemDetails naming `field` (when given) and returns the body.
    async fn expect_problem(
        &self,
        method: &str,
        path: &str,
        ct: Option<&str>,
        body: &str,
        field: Option<&str>,
    ) -> Value {
        let (status, content_type, json) = self.send(method, path, ct, body).await;
        let case = format!("{method} {path} [{}] {body:.80}", ct.unwrap_or("-"));
        assert!((400..500).contains(&status), "{case}: HTTP {status} {json}");
        assert!(content_type.contains("problem+json"), "{case}: content-type {content_type:?}");
        assert_eq!(json["status"], status, "{case}: {json}");
        assert!(json["title"].as_str().is_some_and(|t| !t.is_empty()), "{case}: {json}");
        assert!(json["traceId"].as_str().is_some_and(|t| t.starts_with("00-")), "{case}: {json}");
        if let Some(field) = field {
            let messages = json["errors"][field].as_array();
            assert!(messages.is_some_and(|m| !m.is_empty()), "{case}: no message for {field}: {json}");
        }
        json
    }
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn bad_json_on_every_endpoint_is_a_400_problem_naming_the_body() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb).await;
    let paths =
        ["/oauth2/token", "/evaluate", "/transmit", "/outcome", "/capture", "/orders/x/refund", "/orders/x/cancel"];
    for path in paths {
        for body in ["{", "{\"a\":}", "[1,2]", "\"text\"", "null", "{\"a\":1}}", "\u{0}\u{1}"] {
            raw.expect_problem("POST", path, JSON, body, Some("$")).await;
        }
    }
    raw.expect_problem(
        "POST",
        &format!("/tokenize?mid={}&environment={}", sb.mid(), sb.tokenization_key()),
        JSON,
        "{",
        None,
    )
    .await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_400s_naming_each_field() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb).await;
    let cases: &[(&str, &str, &str)] = &[
        ("/oauth2/token", "{}", "AppKey"),
        ("/oauth2/token", r#"{"AppKey": 5, "AppSecret": "x"}"#, "AppKey"),
        ("/evaluate", "{}", "IdempotencyKey"),
        ("/capture", "{}", "IdempotencyKey"),
        ("/capture", r#"{"idempotencyKey": "k", "orderId": "o", "amount": "x", "currency": "USD"}"#, "Amount"),
        ("/orders/x/refund", "{}", "AmountToRefund"),
        ("/orders/x/refund", r#"{"amountToRefund": "1.00"}"#, "AmountToRefund"),
        ("/orders/x/refund", r#"{"amountToRefund": true}"#, "AmountToRefund"),
        ("/outcome", "{}", "OrderSessionKey"),
        ("/outcome", r#"{"orderSessionKey": 5}"#, "OrderSessionKey"),
        ("/transmit", r#"{"isMIT": false}"#, "OrderId"),
    ];
    for (path, body, field) in cases {
        raw.expect_problem("POST", path, JSON, body, Some(field)).await;
    }
    // Type errors on an otherwise complete /evaluate body (missing fields are reported first).
    let valid = serde_json::json!({"isDeclined": true, "isMIT": false, "mid": sb.mid(), "orderId": "TYPES",
        "idempotencyKey": "k-types", "payer": {"email": "a@example.test"}, "billingInformation": {"countryCode": "US"},
        "transaction": {"id": "p", "amount": 4999, "currency": "USD", "timestampUtc": "2026-03-01T11:59:00Z"},
        "paymentMethod": {"cardNumber": "4000002760003184", "token": false}});
    let wrong: &[(&str, Value, &str)] = &[
        ("/transaction/amount", serde_json::json!("lots"), "Transaction.Amount"),
        ("/isMIT", serde_json::json!("yes"), "IsMIT"),
        ("/transaction", serde_json::json!([1, 2]), "Transaction.Amount"),
        ("/payer/email", serde_json::json!({"nested": true}), "Payer.Email"),
        ("/paymentMethod/token", serde_json::json!(3), "PaymentMethod.Token"),
    ];
    for (pointer, value, field) in wrong {
        let mut body = valid.clone();
        *body.pointer_mut(pointer).unwrap() = value.clone();
        raw.expect_problem("POST", "/evaluate", JSON, &body.to_string(), Some(field)).await;
    }
    let tokenize = format!("/tokenize?mid={}&environment={}", sb.mid(), sb.tokenization_key());
    raw.expect_problem("POST", &tokenize, JSON, r#"{"payment_method": {"credit_card": {"number": 4111}}}"#, None).await;
    raw.expect_problem("POST", "/tokenize", JSON, r#"{"payment_method": {}}"#, None).await;
    assert!(sb.evaluations().is_empty() && sb.transmits().is_empty());
}

#[tokio::test]
async fn huge_numbers_are_400s_not_overflows() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb).await;
    let evaluate = |amount: &str| {
        format!(
            r#"{{"isDeclined":true,"isMIT":false,"mid":"{}","orderId":"HUGE","idempotencyKey":"k-{amount}",
            "transaction":{{"id":"p","amount":{amount},"currency":"USD","timestampUtc":"2026-03-01T11:59:00Z"}},
            "payer":{{"email":"a@example.test"}},"billingInformation":{{"countryCode":"US"}},
            "paymentMethod":{{"cardNumber":"4000002760003184","token":false}}}}"#,
            sb.mid()
        )
    };
    for amount in ["1e30", "99999999999999999999999", "9223372036854775808", "-9223372036854775809", "1.5"] {
        raw.expect_problem("POST", "/evaluate", JSON, &evaluate(amount), Some("Transaction.Amount")).await;
    }
    // 1e400 does not even parse as JSON (out of f64 range): the body itself is named ("$").
    raw.expect_problem("POST", "/orders/x/refund", JSON, r#"{"amountToRefund": 1e400}"#, Some("$")).await;
    for amount in ["92233720368547758.08", "1e-400", "-1", "0.001", "1e30"] {
        raw.expect_problem(
            "POST",
            "/orders/x/refund",
            JSON,
            &format!(r#"{{"amountToRefund": {amount}}}"#),
            Some("AmountToRefund"),
        )
        .await;
    }
    let capture = r#"{"idempotencyKey":"k","orderId":"o","amount":18446744073709551616,"currency":"USD"}"#;
    raw.expect_problem("POST", "/capture", JSON, capture, Some("Amount")).await;
    raw.expect_problem("GET", "/orders?pageSize=99999999999999999999", None, "", Some("pageSize")).await;
    raw.expect_problem("GET", "/orders?pageNumber=1e3", None, "", Some("pageNumber")).await;
    assert!(sb.evaluations().is_empty());
}

#[tokio::test]
async fn bad_query_values_are_400s_naming_each_parameter() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb).await;
    for (query, field) in [
        ("pageSize=abc", "pageSize"),
        ("pageNumber=two", "pageNumber"),
        ("status=seven", "status"),
        ("status=7&status=x", "status"),
        ("from=yesterday", "from"),
        ("to=2026-13-45", "to"),
        ("orderBy=colour", "orderBy"),
        ("sort=sideways", "sort"),
    ] {
        raw.expect_problem("GET", &format!("/orders?{query}"), None, "", Some(field)).await;
    }
    let json = raw.expect_problem("GET", "/orders?pageSize=x&sort=up&from=never", None, "", None).await;
    assert_eq!(json["errors"].as_object().unwrap().len(), 3, "every bad parameter is named: {json}");
    let tokenize_missing =
        raw.expect_problem("POST", "/tokenize", JSON, r#"{"payment_method":{"credit_card":{}}}"#, None).await;
    assert!(tokenize_missing["errors"].as_object().is_some_and(|e| !e.is_empty()), "{tokenize_missing}");
    let (status, _, _) = raw.send("GET", "/orders?pageNumber=-5&pageSize=0", None, "").await;
    assert_eq!(status, 200, "out-of-range paging is clamped, as documented");
}

#[tokio::test]
async fn a_wrong_content_type_is_a_4xx_problem() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb).await;
    let token_body = format!(r#"{{"AppKey":"{KEY}","AppSecret":"{SECRET}"}}"#);
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let (status, _, _) = raw.send("POST", "/oauth2/token", ct, &token_body).await;
        assert_eq!(status, 415, "token with content-type {ct:?}");
        for path in ["/evaluate", "/capture", "/orders/x/refund", "/outcome", "/transmit"] {
            let (status, content_type, json) = raw.send("POST", path, ct, "{}").await;
            assert!((400..500).contains(&status), "{path} {ct:?}: {status}");
            if !content_type.is_empty() {
                assert!(content_type.contains("problem+json"), "{path} {ct:?}: {content_type}");
                assert_eq!(json["status"], status, "{path} {ct:?}: {json}");
            }
        }
    }
    let (status, _, _) = raw.send("GET", "/orders", None, "").await;
    assert_eq!(status, 200, "the sandbox still serves after all of it");
}

// ---------------------------------------------------------------- responses to the client

/// What a scripted FlexFactor answers on every non-token path under `/<case>/v1`.
fn scripted(case: &str) -> Response {
    let html = [(header::CONTENT_TYPE, "text/html")];
    match case {
        "truncated" => (StatusCode::OK, r#"{"orderSessionKey":"e3b0c442","status":"APPR"#).into_response(),
        "wrong-types" => (
            StatusCode::OK,
            r#"{"id":5,"status":"seven","orderSessionKey":5,"orders":"none","transactionId":7,"captureStatus":[1],"confirmationId":{"x":1}}"#,
        )
            .into_response(),
        "html-502" => (StatusCode::BAD_GATEWAY, html, "<html><body><h1>502 Bad Gateway</h1></body></html>").into_response(),
        "html-200" => (StatusCode::OK, html, "<!doctype html><html><body>Maintenance</body></html>").into_response(),
        "empty-200" => StatusCode::OK.into_response(),
        "unknown-shape" => (StatusCode::OK, r#"{"hello":"world","nested":{"a":[1,2,3]}}"#).into_response(),
        "text-500" => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error: System.NullReferenceException at Orders.Get").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn token_answer(case: &str) -> Response {
    match case {
        "token-garbage" => (StatusCode::OK, "{\"accessToken\": ").into_response(),
        "token-empty" => (StatusCode::OK, r#"{"accessToken":"","expires":0}"#).into_response(),
        "token-html" => (StatusCode::BAD_GATEWAY, "<html>upstream down</html>").into_response(),
        _ => {
            let expires = Utc::now().timestamp_millis() + 600_000;
            axum::Json(serde_json::json!({"accessToken": "t", "expires": expires})).into_response()
        }
    }
}

struct Scripted {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    async fn start() -> Scripted {
        let app = Router::new().fallback(|uri: Uri| async move {
            let mut parts = uri.path().trim_start_matches('/').splitn(2, '/');
            let case = parts.next().unwrap_or("").to_string();
            if parts.next() == Some("v1/oauth2/token") {
                token_answer(&case)
            } else {
                scripted(&case)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Scripted { addr, task }
    }

    fn client(&self, case: &str) -> FlexFactorClient {
        let mut config = ClientConfig::new(format!("http://{}/{case}/v1", self.addr), "k", "s");
        config.retry =
            RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50) };
        FlexFactorClient::new(config).unwrap()
    }
}

fn capture() -> CaptureRequest {
    CaptureRequest { idempotency_key: "k".into(), order_id: "o".into(), amount: Cents(100), currency: "USD".into() }
}

fn assert_decode(result: Result<impl std::fmt::Debug, ClientError>, path: &str, case: &str) {
    match result {
        Err(ClientError::Decode { path: p, message }) => {
            assert_eq!(p, path, "{case}");
            assert!(!message.is_empty(), "{case}");
        }
        other => panic!("{case} on {path}: expected Decode, got {other:?}"),
    }
}

fn assert_refund_unknown(result: Result<flexfactor_wire::RefundResponse, ClientError>, case: &str) {
    match result {
        Err(ClientError::OutcomeUnknown { operation: "refund", order_id, detail }) => {
            assert_eq!(order_id, "o-1", "{case}");
            assert!(!detail.is_empty(), "{case}");
        }
        other => panic!("{case}: a refund with an unclear answer must be OutcomeUnknown, got {other:?}"),
    }
}

#[tokio::test]
async fn unreadable_2xx_bodies_are_decode_errors_and_refunds_become_outcome_unknown() {
    let server = Scripted::start().await;
    for case in ["truncated", "wrong-types", "html-200"] {
        let c = server.client(case);
        assert_decode(c.evaluate(&EvaluateRequest::default()).await, "/evaluate", case);
        assert_decode(c.get_order("o-1").await, "/orders/o-1", case);
        assert_decode(c.capture(&capture()).await, "/capture", case);
        if case != "wrong-types" {
            // /cancel's answer is lenient by design (an empty 200 is success; `status` may be any JSON).
            assert_decode(c.cancel("o-1", None).await, "/orders/o-1/cancel", case);
        }
        #[allow(deprecated)]
        let outcome = c.outcome("o-1").await;
        assert_decode(outcome, "/outcome", case);
        assert_refund_unknown(c.refund("o-1", Cents(100), None).await, case);
    }
    let c = server.client("wrong-types");
    assert_decode(c.list_orders(&OrdersQuery::default()).await, "/orders", "wrong-types");
    assert_decode(server.client("truncated").list_orders(&OrdersQuery::default()).await, "/orders", "truncated");
}

#[tokio::test]
async fn error_pages_keep_their_raw_body_and_refunds_become_outcome_unknown() {
    let server = Scripted::start().await;
    for (case, status, needle) in [("html-502", 502, "502 Bad Gateway"), ("text-500", 500, "NullReferenceException")] {
        let c = server.client(case);
        match c.get_order("o-1").await.unwrap_err() {
            ClientError::Api { status: s, path, detail } => {
                assert_eq!((s, path.as_str()), (status, "/orders/o-1"), "{case}");
                assert!(detail.raw.contains(needle), "{case}: raw body kept: {detail:?}");
                assert!(detail.field_errors.is_empty() && detail.trace_id.is_none());
            }
            other => panic!("{case}: expected Api, got {other:?}"),
        }
        match c.evaluate(&EvaluateRequest::default()).await.unwrap_err() {
            ClientError::Api { status: s, detail, .. } => assert!(s == status && detail.raw.contains(needle), "{case}"),
            other => panic!("{case}: expected Api after the retries, got {other:?}"),
        }
        assert_refund_unknown(c.refund("o-1", Cents(100), None).await, case);
        let text = c.get_order("o-1").await.unwrap_err().to_string();
        assert!(text.contains(needle), "{case}: the message shows the body: {text}");
    }
}

#[tokio::test]
async fn broken_token_answers_are_typed_errors() {
    let server = Scripted::start().await;
    assert_decode(server.client("token-garbage").authenticate().await, "/oauth2/token", "token-garbage");
    match server.client("token-empty").authenticate().await.unwrap_err() {
        ClientError::Decode { message, .. } => assert!(message.contains("accessToken"), "{message}"),
        other => panic!("expected Decode, got {other:?}"),
    }
    match server.client("token-html").get_order("o-1").await.unwrap_err() {
        ClientError::Api { status: 502, path, detail } => {
            assert_eq!(path, "/oauth2/token");
            assert!(detail.raw.contains("upstream down"));
        }
        other => panic!("expected Api 502 from the token endpoint, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_and_unknown_shaped_200s_never_panic_and_reads_stay_typed() {
    let server = Scripted::start().await;
    let empty = server.client("empty-200");
    let cancelled = empty.cancel("o-1", None).await.unwrap();
    assert_eq!(cancelled.response, Default::default(), "the documented empty 200 of /cancel is a success");
    assert_decode(empty.get_order("o-1").await, "/orders/o-1", "empty-200");
    assert_decode(empty.list_orders(&OrdersQuery::default()).await, "/orders", "empty-200");

    let unknown = server.client("unknown-shape");
    let page = unknown.list_orders(&OrdersQuery::default()).await.unwrap();
    assert!(page.orders.is_empty() && page.total_item_count.is_none(), "unknown fields are ignored, not invented");
    let answer = unknown.evaluate(&EvaluateRequest::default()).await.unwrap();
    assert!(answer.response.status.is_none() && answer.response.order_session_key.is_none());
}

/// A refund answered `200` with an empty body, or with a JSON object that says neither
/// SUCCESS nor FAILED, is not a success: DESIGN.md §4 makes it "outcome unknown".
#[tokio::test]
async fn refund_answered_with_an_empty_or_unknown_200_is_outcome_unknown() {
    let server = Scripted::start().await;
    for case in ["empty-200", "unknown-shape"] {
        assert_refund_unknown(server.client(case).refund("o-1", Cents(100), None).await, case);
    }
}
