//! Refund, cancel, external-cancel, capture and idempotency over HTTP.

mod common;

use std::time::Duration;

use common::{start_frozen, Api, TestResult};
use flexfactor_sandbox::Faults;
use flexfactor_wire::Cents;
use serde_json::json;

#[tokio::test]
async fn partial_refunds_accumulate_and_exceeding_the_rest_fails_with_2001() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let (id, _) = api.evaluate_cit("4000002760003184", 4999, "R-1").await?;
    let path = format!("/orders/{id}/refund");
    let a = api.post_raw(&path, r#"{"amountToRefund": 19.99, "refundMessage": "damaged"}"#).await?;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!((a.json["success"].clone(), a.json["status"].clone()), (json!(true), json!("SUCCESS")));
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["refundedAmount"].clone()), (json!(7), json!(1999)));

    let too_much = api.post_raw(&path, r#"{"amountToRefund": 30.01}"#).await?;
    assert_eq!(too_much.status, 200);
    assert_eq!(too_much.json["success"], false);
    assert_eq!(too_much.json["status"], "FAILED");
    assert_eq!(too_much.json["responseCode"], "2001");
    assert_eq!(too_much.json["errors"][0]["item2"], "2001");

    let rest = api.post_raw(&path, r#"{"amountToRefund": 30.00}"#).await?;
    assert_eq!(rest.json["status"], "SUCCESS", "{}", rest.text);
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["refundedAmount"].clone()), (json!(6), json!(4999)));
    let after = api.post_raw(&path, r#"{"amountToRefund": 0.01}"#).await?;
    assert_eq!(after.json["responseCode"], "2001");

    let ledger = sandbox.refunds(&id);
    assert_eq!(ledger.iter().map(|r| r.amount).collect::<Vec<_>>(), [Cents(1999), Cents(3000)]);
    assert_eq!(ledger[0].message.as_deref(), Some("damaged"));
    assert_eq!(sandbox.events().iter().filter(|e| e.kind.as_str() == "order.refunded").count(), 2);
    Ok(())
}

#[tokio::test]
async fn refund_rejects_bad_amounts_unknown_orders_and_unfinished_orders() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let (challenge, _) = api.evaluate_cit("4111111111111111", 4999, "R-2").await?;
    let a = api.post_raw(&format!("/orders/{challenge}/refund"), r#"{"amountToRefund": 1}"#).await?;
    assert_eq!((a.json["status"].clone(), a.json["responseCode"].clone()), (json!("FAILED"), json!("2002")));
    for body in [r#"{"amountToRefund": 1.999}"#, r#"{"amountToRefund": "1.00"}"#, r#"{"amountToRefund": 0}"#, "{}"] {
        let a = api.post_raw(&format!("/orders/{challenge}/refund"), body).await?;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert!(a.json["errors"]["AmountToRefund"].is_array(), "{body}: {}", a.text);
    }
    let missing = api.post_raw("/orders/does-not-exist/refund", r#"{"amountToRefund": 1}"#).await?;
    assert_eq!(missing.status, 404);
    assert!(sandbox.refunds(&challenge).is_empty());
    Ok(())
}

#[tokio::test]
async fn refund_committed_behind_a_dropped_response_is_in_the_ledger() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let (id, _) = api.evaluate_cit("4000002760003184", 4999, "R-3").await?;
    sandbox.set_faults(Faults { drop_response_after_commit_rate: 1.0, ..Faults::default() });
    let lost = api.post_raw(&format!("/orders/{id}/refund"), r#"{"amountToRefund": 10}"#).await;
    assert!(lost.is_err(), "the client must see no answer");
    sandbox.set_faults(Faults::default());
    assert_eq!(sandbox.refunds(&id).len(), 1);
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["refundedAmount"], 1000);
    Ok(())
}

fn authorization(api: &Api, token: &str, order_id: &str) -> serde_json::Value {
    let mut body = api.cit(token, 4999, order_id);
    body["transactionType"] = json!("AUTHORIZATION");
    body
}

#[tokio::test]
async fn capture_completes_a_capture_required_order_once() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let a = api.post("/evaluate", &authorization(&api, &token, "CAP-1")).await?;
    let id = a.json["orderId"].as_str().ok_or("orderId")?.to_string();
    let too_much = json!({"idempotencyKey": "c0", "orderId": id, "amount": 5000, "currency": "USD"});
    let r = api.post("/capture", &too_much).await?;
    assert_eq!((r.status, r.json["status"].clone()), (200, json!("FAILED")));
    let body = json!({"idempotencyKey": "c1", "orderId": id, "amount": 4000, "currency": "USD"});
    let r = api.post("/capture", &body).await?;
    assert_eq!((r.json["status"].clone(), r.json["captureStatus"].clone()), (json!("SUCCESS"), json!("SUCCESS")));
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["capturedAmount"].clone()), (json!(7), json!(4000)));
    let replay = api.post("/capture", &body).await?;
    assert_eq!(replay.json["status"], "SUCCESS");
    assert_eq!(replay.headers["x-idempotent-replay"], "true");
    let again = api
        .post("/capture", &json!({"idempotencyKey": "c2", "orderId": id, "amount": 4000, "currency": "USD"}))
        .await?;
    assert_eq!(again.json["status"], "FAILED");
    let missing = api.post("/capture", &json!({"orderId": id})).await?;
    assert_eq!(missing.status, 400);
    assert!(missing.json["errors"]["IdempotencyKey"].is_array() && missing.json["errors"]["Amount"].is_array());
    Ok(())
}

#[tokio::test]
async fn uncaptured_orders_auto_void_when_the_capture_window_lapses() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let a = api.post("/evaluate", &authorization(&api, &token, "CAP-2")).await?;
    let id = a.json["orderSessionKey"].as_str().ok_or("id")?.to_string();
    sandbox.advance_clock(Duration::from_secs(6 * 86_400));
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["status"], 5);
    sandbox.advance_clock(Duration::from_secs(86_400));
    let order = api.get(&format!("/orders/{id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["decision"].clone()), (json!(2), json!("CANCELLED")));
    let kinds: Vec<String> =
        sandbox.events().iter().filter(|e| e.order_id == id).map(|e| e.kind.as_str().to_string()).collect();
    assert_eq!(kinds, ["order.capturerequired", "order.cancelled"]);
    let late =
        api.post("/capture", &json!({"idempotencyKey": "c9", "orderId": id, "amount": 100, "currency": "USD"})).await?;
    assert_eq!(late.json["status"], "FAILED");
    Ok(())
}

#[tokio::test]
async fn cancel_is_allowed_only_in_documented_states_and_is_safe_to_repeat() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let auth = api.post("/evaluate", &authorization(&api, &token, "CAN-1")).await?;
    let id = auth.json["orderSessionKey"].as_str().ok_or("id")?.to_string();
    let a = api.post_raw(&format!("/orders/{id}/cancel"), "{}").await?;
    assert_eq!((a.status, a.text.as_str()), (200, ""));
    assert_eq!(api.get(&format!("/orders/{id}")).await?.json["status"], 2);
    let again = api.post_raw(&format!("/orders/{id}/cancel"), "").await?;
    assert_eq!(again.status, 200, "repeat cancel is safe");

    let (approved, _) = api.evaluate_cit("4000002760003184", 4999, "CAN-2").await?;
    let refused = api.post_raw(&format!("/orders/{approved}/cancel"), "{}").await?;
    assert_eq!(refused.status, 400);
    assert!(refused.json["errors"]["Status"].is_array(), "{}", refused.text);
    let (challenge, _) = api.evaluate_cit("4111111111111111", 4999, "CAN-3").await?;
    assert_eq!(api.post_raw(&format!("/orders/{challenge}/cancel"), "{}").await?.status, 400, "CIT processing");

    let mut mit = api.cit(&token, 1999, "SUB-CAN-4");
    mit["isMIT"] = json!(true);
    mit["expiryDateUtc"] = json!("2026-03-29T00:00:00Z");
    mit["idempotencyKey"] = json!("m1");
    let m = api.post("/evaluate", &mit).await?;
    let mit_id = m.json["orderSessionKey"].as_str().ok_or("id")?.to_string();
    let ext = api.post_raw("/orders/SUB-CAN-4/external-cancel", r#"{"idempotencyKey":"x1"}"#).await?;
    assert_eq!(ext.status, 200, "{}", ext.text);
    let order = api.get(&format!("/orders/{mit_id}")).await?;
    assert_eq!((order.json["status"].clone(), order.json["decision"].clone()), (json!(2), json!("CANCELLED")));
    let replay = api.post_raw(&format!("/orders/{mit_id}/cancel"), r#"{"idempotencyKey":"x1"}"#).await?;
    assert_eq!(replay.headers["x-idempotent-replay"], "true", "cancel and external-cancel collapse");
    let conflict = api.post_raw(&format!("/orders/{approved}/cancel"), r#"{"idempotencyKey":"x1"}"#).await?;
    assert_eq!(conflict.status, 409);
    assert_eq!(api.post_raw("/orders/NOPE/external-cancel", "{}").await?.status, 404);
    assert_eq!(sandbox.events().iter().filter(|e| e.kind.as_str() == "order.cancelled").count(), 2);
    Ok(())
}

#[tokio::test]
async fn evaluate_replays_the_same_payload_and_rejects_a_reused_key() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let body = api.cit(&token, 4999, "IDEM-1");
    let first = api.post("/evaluate", &body).await?;
    let second = api.post("/evaluate", &body).await?;
    assert_eq!(second.status, 200);
    assert_eq!(second.json, first.json);
    assert_eq!(second.headers["x-idempotent-replay"], "true");
    assert_eq!(sandbox.evaluations().len(), 1, "a replay is not a second evaluation");
    let mut changed = body.clone();
    changed["transaction"]["amount"] = json!(5000);
    let conflict = api.post("/evaluate", &changed).await?;
    assert_eq!(conflict.status, 409);
    assert!(conflict.json["errors"]["IdempotencyKey"].is_array());
    sandbox.advance_clock(Duration::from_secs(24 * 3600 + 1));
    let fresh = api.post("/evaluate", &changed).await?;
    assert_eq!(fresh.status, 200, "keys are forgotten after 24 h");
    assert_eq!(sandbox.evaluations().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_key_still_in_flight_gets_409() -> TestResult {
    let sandbox = start_frozen(10).await?;
    let api = Api::new(&sandbox).await?;
    let token = api.tokenize("4000002760003184").await?;
    let body = api.cit(&token, 4999, "IDEM-2");
    // The first request holds its key for 3 s; the second starts 1 s in, well inside that.
    sandbox.set_faults(Faults { processing_delay: Duration::from_secs(3), ..Faults::default() });
    let (a, b) = tokio::join!(api.post("/evaluate", &body), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        api.post("/evaluate", &body).await
    });
    let mut statuses = [a?.status, b?.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(sandbox.evaluations().len(), 1);
    Ok(())
}
