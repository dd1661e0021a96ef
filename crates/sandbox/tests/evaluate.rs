//! `/tokenize`, `/evaluate`, `/transmit`, `/outcome` over HTTP.

mod common;

use std::time::Duration;

use common::{start_frozen, Api, TestResult};
use serde_json::json;

#[tokio::test]
async fn tokenize_returns_the_recorded_shape_and_remembers_the_card() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let a = api
        .post_raw(
            &format!("/tokenize?mid={}&environment={}", api.mid, api.tokenization_key),
            r#"{"payment_method":{"email":"a@example.test","credit_card":{"first_name":"Ada","last_name":"L",
               "number":"4111111111111111","verification_value":"","month":"09","year":"2030"}}}"#,
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text);
    let pm = &a.json["transaction"]["payment_method"];
    assert!(uuid::Uuid::parse_str(pm["token"].as_str().unwrap_or("")).is_ok());
    assert_eq!(pm["last_four_digits"], "1111");
    assert_eq!(pm["first_six_digits"], "41111111");
    assert_eq!((pm["month"].clone(), pm["year"].clone()), (json!(9), json!(2030)));
    assert_eq!(a.json["success"], true);
    assert_eq!(a.json["transaction"]["succeeded"], true);
    Ok(())
}

#[tokio::test]
async fn tokenize_requires_mid_environment_and_a_valid_card() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let body = r#"{"payment_method":{"credit_card":{"first_name":"A","last_name":"B","number":"4111111111111112","month":"13","year":"30"}}}"#;
    let a = api.post_raw("/tokenize", body).await?;
    assert_eq!(a.status, 400);
    assert!(a.json["errors"]["mid"].is_array() && a.json["errors"]["environment"].is_array(), "{}", a.text);
    let a = api.post_raw(&format!("/tokenize?mid={}&environment={}", api.mid, api.tokenization_key), body).await?;
    assert_eq!(a.status, 400);
    for f in ["number", "month", "year"] {
        assert!(a.json["errors"][format!("payment_method.credit_card.{f}")].is_array(), "{f}: {}", a.text);
    }
    let a = api.post_raw(&format!("/tokenize?mid={}&environment={}", api.mid, api.tokenization_key), "{oops").await?;
    assert_eq!(a.status, 400);
    assert!(a.json["errors"]["$"].is_array());
    Ok(())
}

#[tokio::test]
async fn cit_decisions_follow_the_documented_test_cards() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    assert_eq!(api.evaluate_cit("4111111111111111", 4999, "WEB-1").await?.1, "CHALLENGE");
    let (approved, s) = api.evaluate_cit("4000002760003184", 4999, "TEST-APPROVED-2").await?;
    assert_eq!(s, "APPROVED");
    assert_eq!(api.evaluate_cit("4000300011112220", 4999, "WEB-3").await?.1, "DECLINED");
    let token = api.tokenize("4000002760003184").await?;
    let mut body = api.cit(&token, 4999, "WEB-4");
    body["transactionType"] = json!("authorization");
    let a = api.post("/evaluate", &body).await?;
    assert_eq!(a.json["status"], "CAPTUREREQUIRED", "{}", a.text);
    assert_eq!(a.json["orderId"], a.json["orderSessionKey"]);
    assert_eq!(a.json["result"], "Success");

    let order = api.get(&format!("/orders/{approved}")).await?;
    assert_eq!(order.json["status"], 7);
    assert_eq!(order.json["decision"], "APPROVED");
    assert_eq!(order.json["externalOrderId"], "TEST-APPROVED-2");
    assert_eq!(order.json["cardLast4"], "3184");
    let listed = api.get("/orders?query=TEST-APPROVED-2").await?;
    assert_eq!(listed.json["totalItemCount"], 1);
    assert_eq!(sandbox.evaluations().len(), 4);
    Ok(())
}

#[tokio::test]
async fn validation_errors_use_dotted_pascal_case_paths() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4111111111111111").await?;
    let mut body = api.cit(&token, 4999, "WEB-V");
    body.as_object_mut().ok_or("object")?.remove("idempotencyKey");
    body["transaction"].as_object_mut().ok_or("object")?.remove("amount");
    let a = api.post("/evaluate", &body).await?;
    assert_eq!(a.status, 400);
    assert_eq!(a.json["title"], "One or more validation errors occurred.");
    assert_eq!(a.json["errors"]["IdempotencyKey"][0], "The IdempotencyKey field is required.");
    assert!(a.json["errors"]["Transaction.Amount"].is_array(), "{}", a.text);

    for amount in [10, 20_000] {
        let a = api.post("/evaluate", &api.cit(&token, amount, &format!("WEB-A{amount}"))).await?;
        assert_eq!(a.status, 400, "amount {amount}");
        assert!(a.json["errors"]["Transaction.Amount"].is_array());
    }
    let mut bad_type = api.cit(&token, 4999, "WEB-T");
    bad_type["transaction"]["amount"] = json!("lots");
    let a = api.post("/evaluate", &bad_type).await?;
    assert!(a.json["errors"]["Transaction.Amount"].is_array(), "{}", a.text);
    let mut bad_expiry = api.cit(&token, 4999, "WEB-E");
    bad_expiry["isMIT"] = json!(true);
    bad_expiry["expiryDateUtc"] = json!("next tuesday");
    let a = api.post("/evaluate", &bad_expiry).await?;
    assert_eq!(a.json["errors"]["ExpiryDateUtc"][0], "The field ExpiryDateUtc is invalid.");
    let mut unknown_token = api.cit("00000000-0000-0000-0000-000000000000", 4999, "WEB-U");
    unknown_token["idempotencyKey"] = json!("k-unknown");
    let a = api.post("/evaluate", &unknown_token).await?;
    assert!(a.json["errors"]["PaymentMethod.CardNumber"].is_array());
    assert!(sandbox.evaluations().is_empty());
    Ok(())
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_never_a_crash() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    for path in ["/evaluate", "/transmit", "/outcome", "/capture", "/orders/x/refund", "/orders/x/cancel"] {
        for body in ["{", "[1,2]", "\"text\"", "{\"a\":}"] {
            let a = api.post_raw(path, body).await?;
            assert_eq!(a.status, 400, "{path} {body}: {}", a.text);
            assert!(a.headers["content-type"].to_str()?.contains("problem+json"));
            assert!(a.json["errors"]["$"].is_array(), "{path} {body}: {}", a.text);
        }
    }
    Ok(())
}

fn managed_mit(api: &Api, token: &str, order_id: &str, key: &str, expiry: &str) -> serde_json::Value {
    let mut body = api.cit(token, 1999, order_id);
    body["isMIT"] = json!(true);
    body["isRecurring"] = json!(true);
    body["expiryDateUtc"] = json!(expiry);
    body["idempotencyKey"] = json!(key);
    body["subscription"] = json!({"subscriptionId": "sub_77", "interval": "monthly", "price": 1999, "currency": "USD"});
    body
}

#[tokio::test]
async fn managed_mit_completes_on_the_virtual_clock() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let a = api.post("/evaluate", &managed_mit(&api, &token, "SUB-1", "k1", "2026-03-22T12:00:00Z")).await?;
    assert_eq!(a.json["status"], "SUBMITTED", "{}", a.text);
    let id = a.json["orderSessionKey"].as_str().ok_or("id")?.to_string();
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["status"], 0);
    sandbox.advance_clock(Duration::from_secs(2 * 3600));
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["status"], 4);
    let retry = api.post("/evaluate", &managed_mit(&api, &token, "SUB-1", "k2", "2026-03-22T12:00:00Z")).await?;
    assert_eq!(retry.json["status"], "SUBMITTED");
    assert_eq!(retry.json["orderSessionKey"], id.as_str());
    sandbox.advance_clock(Duration::from_secs(3 * 86_400));
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["decision"].clone()), (json!(7), json!("APPROVED")));
    assert!(sandbox.events().iter().any(|e| e.kind.as_str() == "order.completed" && e.order_id == id));
    let outcome = api.post("/outcome", &json!({"orderSessionKey": id})).await?;
    assert_eq!(outcome.json["status"], "APPROVED");
    assert_eq!(outcome.json["confirmationId"].as_str().map(str::len), Some(6));
    Ok(())
}

#[tokio::test]
async fn managed_mit_that_cannot_be_rescued_expires_at_its_expiry() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000300011112220").await?;
    let a = api.post("/evaluate", &managed_mit(&api, &token, "SUB-2", "k1", "2026-03-15T12:00:00Z")).await?;
    let id = a.json["orderSessionKey"].as_str().ok_or("id")?.to_string();
    sandbox.advance_clock(Duration::from_secs(13 * 86_400));
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["status"], 4);
    sandbox.advance_clock(Duration::from_secs(86_400));
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["decision"].clone()), (json!(2), json!("EXPIRED")));
    assert_eq!(api.post("/outcome", &json!({"orderSessionKey": id})).await?.json["status"], "EXPIRED");
    assert!(sandbox.events().iter().any(|e| e.kind.as_str() == "order.expired"));
    let missing = api.post("/outcome", &json!({"orderSessionKey": "nope"})).await?;
    assert_eq!((missing.status, missing.json["status"].clone()), (200, json!("NOTFOUND")));
    Ok(())
}

#[tokio::test]
async fn sync_mit_retries_with_the_same_order_id_return_the_current_state() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4111111111111111").await?;
    let body = |key: &str| {
        let mut b = api.cit(&token, 2999, "SUB-SYNC-1");
        b["isMIT"] = json!(true);
        b["idempotencyKey"] = json!(key);
        b
    };
    let first = api.post("/evaluate", &body("a")).await?;
    assert_eq!(first.json["status"], "PROCESSING", "{}", first.text);
    let again = api.post("/evaluate", &body("b")).await?;
    assert_eq!(again.json["orderSessionKey"], first.json["orderSessionKey"]);
    assert_eq!(again.json["status"], "PROCESSING");
    sandbox.advance_clock(Duration::from_secs(4 * 86_400));
    let later = api.post("/evaluate", &body("c")).await?;
    assert_eq!(later.json["status"], "APPROVED");
    let evaluations = sandbox.evaluations();
    assert_eq!(evaluations.len(), 3);
    assert_eq!(evaluations.iter().filter(|e| e.created_order).count(), 1);
    Ok(())
}

#[tokio::test]
async fn challenge_moves_through_its_events_and_can_be_resolved() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let (a, _) = api.evaluate_cit("4111111111111111", 4999, "WEB-C1").await?;
    let (b, _) = api.evaluate_cit("4111111111111111", 4999, "WEB-C2").await?;
    assert!(sandbox.resolve_challenge(&b, false));
    assert!(!sandbox.resolve_challenge(&b, true), "already resolved");
    sandbox.advance_clock(Duration::from_secs(600));
    assert_eq!(api.get(&format!("/orders/{a}")).await?.json["status"], 7);
    let order_b = api.get(&format!("/orders/{b}")).await?;
    assert_eq!((order_b.json["status"].clone(), order_b.json["decision"].clone()), (json!(2), json!("DECLINED")));
    let kinds_a: Vec<String> =
        sandbox.events().iter().filter(|e| e.order_id == a).map(|e| e.kind.as_str().to_string()).collect();
    assert_eq!(kinds_a, ["challenge.presented", "challenge.attempted", "challenge.passed", "order.completed"]);
    assert!(sandbox.events().iter().any(|e| e.order_id == b && e.kind.as_str() == "challenge.failed"));
    Ok(())
}

#[tokio::test]
async fn transmit_answers_a_transmit_id() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let a = api
        .post(
            "/transmit",
            &json!({"isDeclined": false, "isMIT": false, "orderId": "WEB-T1",
            "transaction": {"id": "psp", "amount": 1000, "currency": "USD"}}),
        )
        .await?;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["status"], 0);
    assert!(a.json["transmitId"].is_string());
    let missing = api.post("/transmit", &json!({"isMIT": false})).await?;
    assert_eq!(missing.status, 400);
    assert!(missing.json["errors"]["OrderId"].is_array());
    assert_eq!(sandbox.transmits().len(), 1);
    Ok(())
}

#[tokio::test]
async fn new_endpoints_require_a_bearer_token_except_tokenize() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let client = reqwest::Client::new();
    for path in ["/evaluate", "/transmit", "/outcome", "/capture", "/orders/x/refund", "/orders/x/cancel"] {
        let r = client.post(format!("{}{path}", sandbox.base_url())).body("{}").send().await?;
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
    Ok(())
}
