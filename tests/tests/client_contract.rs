//! The client's contract with the sandbox: every `FlexFactorClient` call against the real
//! sandbox on a loopback port, with the outcome checked at the sandbox (its ledgers and
//! order book), not only in the value the client returns. Also every error shape the
//! sandbox emits: ProblemDetails validation errors, 401, 404, 409 and the refund `2001`.
//! One test follows MIT orders the sandbox moves on into a mirror through the sync engine.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use flexfactor_client::{ClientConfig, ClientError, FlexFactorClient, RetryPolicy};
use flexfactor_sandbox::{Faults, Sandbox, SandboxConfig, SandboxCredentials};
use flexfactor_wire::{
    Address, CaptureRequest, Cents, CreditCard, EvaluateRequest, OrdersQuery, Payer, PaymentMethod, Subscription,
    TokenizePaymentMethod, TokenizeRequest, Transaction, TransactionType, TransmitRequest,
};

const KEY: &str = "contract-app-key";
const SECRET: &str = "contract-app-secret-0123456789";
const APPROVE: &str = "4000002760003184";
const DECLINE: &str = "4000300011112220";
const CHALLENGE: &str = "4111111111111111";
const FALLBACK_APPROVE: &str = "5555555555554444";

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// A sandbox with `orders` seeded orders whose virtual clock only moves on `advance_clock`.
async fn sandbox(orders: usize) -> Sandbox {
    let mut config = SandboxConfig::demo(11, anchor(), SandboxCredentials::new(KEY, SECRET));
    config.order_count = orders;
    config.clock_start = Some(anchor());
    Sandbox::start(config).await.unwrap()
}

fn client_with(sb: &Sandbox, secret: &str) -> FlexFactorClient {
    let mut config = ClientConfig::new(sb.base_url(), KEY, secret);
    config.retry =
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_secs(1) };
    FlexFactorClient::new(config).unwrap()
}

fn client(sb: &Sandbox) -> FlexFactorClient {
    client_with(sb, SECRET)
}

fn card(number: &str) -> TokenizeRequest {
    TokenizeRequest {
        payment_method: TokenizePaymentMethod {
            email: Some("ada@example.test".into()),
            sense_key: None,
            credit_card: CreditCard {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                number: number.into(),
                verification_value: "123".into(),
                month: Some("09".into()),
                year: Some("2030".into()),
            },
        },
    }
}

async fn tokenize(c: &FlexFactorClient, sb: &Sandbox, number: &str) -> String {
    let answer = c.tokenize(sb.mid(), sb.tokenization_key(), &card(number)).await.unwrap();
    answer.token().expect("a vault token").to_string()
}

/// A documented CIT body for the vault `token` (the client generates the idempotency key).
fn cit(sb: &Sandbox, token: &str, amount: i64, order_id: &str) -> EvaluateRequest {
    EvaluateRequest {
        is_declined: Some(true),
        is_mit: Some(false),
        mid: Some(sb.mid().to_string()),
        order_id: Some(order_id.to_string()),
        customer_ip: Some("203.0.113.7".into()),
        transaction: Some(Transaction {
            id: Some(format!("psp-{order_id}")),
            amount: Some(Cents(amount)),
            currency: Some("USD".into()),
            timestamp_utc: Some("2026-03-01T11:59:00Z".into()),
            response_code: Some("05".into()),
            ..Default::default()
        }),
        payer: Some(Payer { email: Some("ada@example.test".into()), ..Default::default() }),
        billing_information: Some(Address {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            country_code: Some("US".into()),
            ..Default::default()
        }),
        payment_method: Some(PaymentMethod {
            card_number: Some(token.into()),
            token: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn managed_mit(sb: &Sandbox, token: &str, amount: i64, order_id: &str) -> EvaluateRequest {
    EvaluateRequest {
        is_mit: Some(true),
        is_recurring: Some(true),
        expiry_date_utc: Some("2026-03-22T12:00:00Z".into()),
        subscription: Some(Subscription {
            subscription_id: Some("sub_77".into()),
            interval: Some("monthly".into()),
            price: Some(amount),
            currency: Some("USD".into()),
            ..Default::default()
        }),
        ..cit(sb, token, amount, order_id)
    }
}

fn authorization(sb: &Sandbox, token: &str, amount: i64, order_id: &str) -> EvaluateRequest {
    EvaluateRequest { transaction_type: Some(TransactionType::Authorization), ..cit(sb, token, amount, order_id) }
}

/// Evaluates and returns (orderSessionKey, decision).
async fn evaluate(c: &FlexFactorClient, request: &EvaluateRequest) -> (String, String) {
    let answer = c.evaluate(request).await.unwrap();
    let id = answer.response.order_session_key.clone().expect("orderSessionKey");
    (id, answer.response.status.clone().unwrap_or_default())
}

fn status_of(sb: &Sandbox, id: &str) -> (Option<i32>, Option<String>) {
    let o = sb.order(id).expect("the sandbox has the order");
    (o.status, o.decision)
}

#[tokio::test]
async fn good_credentials_get_a_token_and_bad_ones_are_credentials_rejected() {
    let sb = sandbox(10).await;
    client(&sb).authenticate().await.unwrap();
    match client_with(&sb, "not-the-secret").authenticate().await.unwrap_err() {
        ClientError::CredentialsRejected { detail } => {
            assert_eq!(detail.title.as_deref(), Some("Invalid AppKey or AppSecret."));
            assert!(detail.field_errors.contains_key("AppKey"), "{detail:?}");
            assert!(detail.trace_id.as_deref().is_some_and(|t| t.starts_with("00-")), "{detail:?}");
        }
        other => panic!("expected CredentialsRejected, got {other:?}"),
    }
    let err = client_with(&sb, "not-the-secret").list_orders(&OrdersQuery::default()).await.unwrap_err();
    assert!(matches!(err, ClientError::CredentialsRejected { .. }), "{err:?}");
}

#[tokio::test]
async fn tokenize_vaults_a_card_that_evaluate_accepts_and_a_wrong_key_is_a_field_error() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let answer = c.tokenize(sb.mid(), sb.tokenization_key(), &card(APPROVE)).await.unwrap();
    let token = answer.token().unwrap().to_string();
    let vaulted = answer.transaction.as_ref().and_then(|t| t.payment_method.as_ref()).unwrap();
    assert_eq!(vaulted.last_four_digits.as_deref(), Some("3184"));
    assert!(uuid::Uuid::parse_str(&token).is_ok(), "{token}");
    let (id, status) = evaluate(&c, &cit(&sb, &token, 4999, "WEB-TOK-1")).await;
    assert_eq!(status, "APPROVED");
    assert_eq!(sb.order(&id).unwrap().card_last4.as_deref(), Some("3184"));

    match c.tokenize(sb.mid(), "tok_wrong", &card(APPROVE)).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => assert!(!detail.field_errors.is_empty(), "{detail:?}"),
        other => panic!("expected a 400 with field errors, got {other:?}"),
    }
    match c.tokenize(sb.mid(), sb.tokenization_key(), &card("4111111111111112")).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => assert!(!detail.field_errors.is_empty(), "{detail:?}"),
        other => panic!("a card failing Luhn must be a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn each_test_card_gets_its_cit_decision_and_order_state() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let cases = [
        (CHALLENGE, "CHALLENGE", 4, "CHALLENGE"),
        (APPROVE, "APPROVED", 7, "APPROVED"),
        (DECLINE, "DECLINED", 2, "DECLINED"),
        (FALLBACK_APPROVE, "APPROVED", 7, "APPROVED"),
    ];
    let mut keys = Vec::new();
    for (i, (number, decision, status, stored)) in cases.iter().enumerate() {
        let token = tokenize(&c, &sb, number).await;
        let answer = c.evaluate(&cit(&sb, &token, 2500 + i as i64, &format!("WEB-CARD-{i}"))).await.unwrap();
        let id = answer.response.order_session_key.clone().unwrap();
        assert_eq!(answer.response.status.as_deref(), Some(*decision), "{number}");
        assert_eq!(answer.response.order_id.as_deref(), Some(id.as_str()), "orderId echoes orderSessionKey");
        assert_eq!(answer.attempts, 1);
        assert_eq!(status_of(&sb, &id), (Some(*status), Some(stored.to_string())), "{number}");
        keys.push(answer.idempotency_key);
    }
    let evaluations = sb.evaluations();
    assert_eq!(evaluations.len(), 4);
    let recorded: Vec<String> = evaluations.iter().filter_map(|e| e.idempotency_key.clone()).collect();
    assert_eq!(recorded, keys, "each call reached the sandbox once, with the key the client reported");
    assert!(evaluations.iter().all(|e| e.created_order && !e.is_mit));
}

#[tokio::test]
async fn managed_mit_is_submitted_and_completes_on_the_virtual_clock() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, status) = evaluate(&c, &managed_mit(&sb, &token, 1999, "SUB-M-1")).await;
    assert_eq!(status, "SUBMITTED");
    assert_eq!(c.get_order(&id).await.unwrap().status, Some(0), "Draft");
    sb.advance_clock(Duration::from_secs(2 * 3600));
    assert_eq!(c.get_order(&id).await.unwrap().status, Some(4), "Processing");
    let (again, status) = evaluate(&c, &managed_mit(&sb, &token, 1999, "SUB-M-1")).await;
    assert_eq!((again.as_str(), status.as_str()), (id.as_str(), "SUBMITTED"), "a retry returns the same order");
    sb.advance_clock(Duration::from_secs(3 * 86_400));
    let order = c.get_order(&id).await.unwrap();
    assert_eq!((order.status, order.decision.as_deref()), (Some(7), Some("APPROVED")));
    assert!(sb.events().iter().any(|e| e.order_id == id && e.kind.as_str() == "order.completed"));
}

#[tokio::test]
async fn managed_mit_that_cannot_be_rescued_expires_at_its_expiry_date() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, DECLINE).await;
    let (id, status) = evaluate(&c, &managed_mit(&sb, &token, 1999, "SUB-M-2")).await;
    assert_eq!(status, "SUBMITTED");
    sb.advance_clock(Duration::from_secs(20 * 86_400));
    assert_eq!(c.get_order(&id).await.unwrap().status, Some(4), "still open before expiry");
    sb.advance_clock(Duration::from_secs(86_400));
    let order = c.get_order(&id).await.unwrap();
    assert_eq!((order.status, order.decision.as_deref()), (Some(2), Some("EXPIRED")));
    assert!(sb.events().iter().any(|e| e.order_id == id && e.kind.as_str() == "order.expired"));
}

/// What the sync engine makes of orders FlexFactor moves on: a `poll` entry in each order's
/// timeline, and, once the grace period is over, `missing_webhook` drift for each order whose
/// announcing webhook never reached the mirror (this mirror has no relay; one order gets its
/// webhooks applied by hand, and is not flagged).
#[tokio::test]
async fn mit_orders_moved_on_by_flexfactor_are_polled_into_the_timeline_and_flagged_without_their_webhook() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let rescued = tokenize(&c, &sb, APPROVE).await;
    let lost = tokenize(&c, &sb, DECLINE).await;
    let (approved, _) = evaluate(&c, &managed_mit(&sb, &rescued, 1999, "SUB-D-1")).await;
    let (heard, _) = evaluate(&c, &managed_mit(&sb, &rescued, 2999, "SUB-D-2")).await;
    let (expired, _) = evaluate(&c, &managed_mit(&sb, &lost, 3999, "SUB-D-3")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut m = flexdesk_mirror::Mirror::open(&dir.path().join("mirror.sqlite3")).unwrap();
    m.insert_account(&flexdesk_tests::sandbox_account("acct", "Contract", &sb.base_url(), sb.mid(), KEY)).unwrap();
    flexdesk_sync::sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();

    let seen = sb.events().len();
    sb.advance_clock(Duration::from_secs(25 * 86_400));
    flexdesk_sync::sync_account(&c, &mut m, "acct", |_| {}).await.unwrap();
    for (id, state) in [(&approved, "approved"), (&heard, "approved"), (&expired, "expired")] {
        assert_eq!(m.order("acct", id).unwrap().unwrap().state.as_str(), state);
        let timeline = m.timeline("acct", id).unwrap();
        let kinds: Vec<&str> = timeline.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds.first(), Some(&"evaluate"), "{timeline:?}");
        let now = if state == "approved" { "APPROVED" } else { "EXPIRED" };
        assert_eq!(timeline[0].summary, format!("Answered SUBMITTED (decision now {now})"));
        let poll = timeline.iter().find(|t| t.kind == "poll").unwrap_or_else(|| panic!("no poll entry: {timeline:?}"));
        assert!(poll.summary.starts_with(&format!("pending → {state}")), "{}", poll.summary);
    }
    // The sandbox's webhooks for one of them, applied as the relay feed would.
    for e in sb.events().into_iter().skip(seen).filter(|e| e.order_id == heard) {
        let body = serde_json::to_string(&e.payload(true, false)).unwrap();
        flexdesk_sync::apply_webhook(&mut m, "acct", &body, Utc::now(), None).unwrap();
    }
    let in_grace = Utc::now() - chrono::Duration::minutes(5);
    assert_eq!(m.check_webhook_expectations("acct", in_grace, true).unwrap(), 0);
    let grace_over = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(m.check_webhook_expectations("acct", grace_over, true).unwrap(), 2);
    let mut flagged: Vec<String> = m
        .drift("acct")
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == flexdesk_sync::MISSING_WEBHOOK)
        .map(|d| d.order_session_key)
        .collect();
    flagged.sort();
    let mut want = vec![approved, expired];
    want.sort();
    assert_eq!(flagged, want);
}

#[tokio::test]
async fn sync_mit_answers_in_real_time_and_retries_return_the_current_state() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let approve = tokenize(&c, &sb, APPROVE).await;
    let sync = |token: &str, order: &str| EvaluateRequest { is_mit: Some(true), ..cit(&sb, token, 2999, order) };
    assert_eq!(evaluate(&c, &sync(&approve, "SUB-S-1")).await.1, "APPROVED");
    let slow = tokenize(&c, &sb, CHALLENGE).await;
    let (id, first) = evaluate(&c, &sync(&slow, "SUB-S-2")).await;
    assert_eq!(first, "PROCESSING");
    let (same, again) = evaluate(&c, &sync(&slow, "SUB-S-2")).await;
    assert_eq!((same.as_str(), again.as_str()), (id.as_str(), "PROCESSING"));
    sb.advance_clock(Duration::from_secs(4 * 86_400));
    assert_eq!(evaluate(&c, &sync(&slow, "SUB-S-2")).await.1, "APPROVED");
    assert_eq!(status_of(&sb, &id).0, Some(7));
    let for_order: Vec<_> = sb.evaluations().into_iter().filter(|e| e.order_session_key == id).collect();
    assert_eq!(for_order.len(), 3);
    assert_eq!(for_order.iter().filter(|e| e.created_order).count(), 1, "one order for one merchant orderId");
}

#[tokio::test]
async fn authorization_requires_capture_and_capture_completes_the_order_once() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, status) = evaluate(&c, &authorization(&sb, &token, 4999, "WEB-CAP-1")).await;
    assert_eq!(status, "CAPTUREREQUIRED");
    assert_eq!(status_of(&sb, &id).0, Some(5));

    let too_much = CaptureRequest {
        idempotency_key: String::new(),
        order_id: id.clone(),
        amount: Cents(5000),
        currency: "USD".into(),
    };
    assert!(matches!(c.capture(&too_much).await.unwrap_err(), ClientError::Rejected { operation: "capture", .. }));
    assert_eq!(status_of(&sb, &id).0, Some(5), "a refused capture changes nothing");

    let request = CaptureRequest {
        idempotency_key: "cap-key-1".into(),
        order_id: id.clone(),
        amount: Cents(4000),
        currency: "USD".into(),
    };
    let answer = c.capture(&request).await.unwrap();
    assert_eq!((answer.idempotency_key.as_str(), answer.response.outcome()), ("cap-key-1", Some("SUCCESS")));
    let order = sb.order(&id).unwrap();
    assert_eq!((order.status, order.captured_amount), (Some(7), Some(Cents(4000))));
    let replay = c.capture(&request).await.unwrap();
    assert_eq!(replay.response.outcome(), Some("SUCCESS"), "the same key replays the stored answer");
    assert_eq!(sb.order(&id).unwrap().captured_amount, Some(Cents(4000)));
    let other_key = CaptureRequest { idempotency_key: "cap-key-2".into(), ..request };
    assert!(matches!(c.capture(&other_key).await.unwrap_err(), ClientError::Rejected { .. }), "already captured");
    assert!(matches!(
        c.capture(&CaptureRequest { amount: Cents(0), ..other_key }).await.unwrap_err(),
        ClientError::InvalidRequest(_)
    ));
}

#[tokio::test]
async fn transmit_is_recorded_by_the_sandbox_with_a_transmit_id() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let request = TransmitRequest {
        is_declined: Some(false),
        is_mit: Some(false),
        mid: Some(sb.mid().into()),
        order_id: Some("WEB-TX-1".into()),
        transaction: Some(Transaction {
            id: Some("psp-tx".into()),
            amount: Some(Cents(1000)),
            currency: Some("USD".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let answer = c.transmit(&request).await.unwrap();
    let transmits = sb.transmits();
    assert_eq!(transmits.len(), 1);
    assert_eq!(answer.transmit_id.as_deref(), Some(transmits[0].transmit_id.as_str()));
    assert_eq!(transmits[0].order_id.as_deref(), Some("WEB-TX-1"));
    match c.transmit(&TransmitRequest { is_mit: Some(false), ..Default::default() }).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => {
            assert!(detail.field_errors.contains_key("OrderId"), "{detail:?}")
        }
        other => panic!("expected a 400 naming OrderId, got {other:?}"),
    }
    assert_eq!(sb.transmits().len(), 1);
}

#[tokio::test]
async fn list_orders_filters_and_pages_and_list_all_orders_sees_every_order() {
    let sb = sandbox(230).await;
    let c = client(&sb);
    let all = c.list_all_orders(&OrdersQuery { page_size: Some(37), ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), sb.order_count());
    assert_eq!(all.iter().map(|o| o.id.as_str()).collect::<HashSet<_>>().len(), all.len(), "no order twice");

    let page =
        c.list_orders(&OrdersQuery { page_size: Some(25), page_number: Some(2), ..Default::default() }).await.unwrap();
    assert_eq!(page.orders.len(), 25);
    assert_eq!((page.page_number, page.total_item_count), (Some(2), Some(230)));
    assert_eq!((page.first_item_on_page, page.last_item_on_page, page.page_count), (Some(26), Some(50), Some(10)));
    assert_eq!(
        page.orders.iter().map(|o| &o.id).collect::<Vec<_>>(),
        all[25..50].iter().map(|o| &o.id).collect::<Vec<_>>()
    );

    let snapshot = sb.orders_snapshot();
    let wanted = [2, 7];
    let filtered = c
        .list_all_orders(&OrdersQuery { status: wanted.to_vec(), page_size: Some(50), ..Default::default() })
        .await
        .unwrap();
    let expected = snapshot.iter().filter(|o| o.status.is_some_and(|s| wanted.contains(&s))).count();
    assert_eq!(filtered.len(), expected);
    assert!(filtered.iter().all(|o| o.status.is_some_and(|s| wanted.contains(&s))));

    let target = snapshot.iter().find_map(|o| o.external_order_id.clone()).unwrap();
    let found = c.list_orders(&OrdersQuery { query: Some(target.clone()), ..Default::default() }).await.unwrap();
    assert_eq!(found.orders.len(), 1);
    assert_eq!(found.orders[0].external_order_id.as_deref(), Some(target.as_str()));

    let desc = c
        .list_all_orders(&OrdersQuery { sort: Some("desc".into()), page_size: Some(100), ..Default::default() })
        .await
        .unwrap();
    let reversed: Vec<_> = all.iter().rev().map(|o| &o.id).collect();
    assert_eq!(desc.iter().map(|o| &o.id).collect::<Vec<_>>(), reversed);

    let by_amount = c
        .list_all_orders(&OrdersQuery { order_by: Some("amount".into()), page_size: Some(100), ..Default::default() })
        .await
        .unwrap();
    assert!(by_amount.windows(2).all(|w| w[0].amount <= w[1].amount));

    let from = anchor() - chrono::Duration::days(10);
    let recent =
        c.list_all_orders(&OrdersQuery { from: Some(from), page_size: Some(100), ..Default::default() }).await.unwrap();
    assert_eq!(recent.len(), snapshot.iter().filter(|o| o.created_on.is_some_and(|t| t >= from)).count());
    assert!(!recent.is_empty() && recent.len() < all.len());

    let other_mid = c
        .list_orders(&OrdersQuery { mid: Some(uuid::Uuid::new_v4().to_string()), ..Default::default() })
        .await
        .unwrap();
    assert!(other_mid.orders.is_empty());
    match c.list_orders(&OrdersQuery { order_by: Some("colour".into()), ..Default::default() }).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => assert!(!detail.field_errors.is_empty(), "{detail:?}"),
        other => panic!("expected a 400 naming orderBy, got {other:?}"),
    }

    let token = tokenize(&c, &sb, APPROVE).await;
    evaluate(&c, &cit(&sb, &token, 1500, "WEB-LIST-NEW")).await;
    let after = c.list_all_orders(&OrdersQuery { page_size: Some(500), ..Default::default() }).await.unwrap();
    assert_eq!((after.len(), sb.order_count()), (231, 231), "a new order is listed too");
}

#[tokio::test]
async fn get_order_returns_the_served_order_and_an_unknown_id_is_not_found() {
    let sb = sandbox(20).await;
    let c = client(&sb);
    let expected = sb.orders_snapshot().into_iter().nth(3).unwrap();
    assert_eq!(c.get_order(&expected.id).await.unwrap(), expected);
    assert_eq!(c.get_order(&expected.id.to_uppercase()).await.unwrap().id, expected.id, "ids are case-insensitive");
    match c.get_order("00000000-0000-4000-8000-000000000000").await.unwrap_err() {
        ClientError::NotFound { path } => assert_eq!(path, "/orders/00000000-0000-4000-8000-000000000000"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn partial_then_full_refunds_land_in_the_ledger_in_exact_cents() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, _) = evaluate(&c, &cit(&sb, &token, 4999, "WEB-REF-1")).await;

    let first = c.refund(&id, Cents(1999), Some("damaged")).await.unwrap();
    assert_eq!(first.status.as_deref(), Some("SUCCESS"));
    let order = sb.order(&id).unwrap();
    assert_eq!((order.status, order.refunded_amount), (Some(7), Some(Cents(1999))), "partial keeps Completed");
    let second = c.refund(&id, Cents(3000), None).await.unwrap();
    let order = c.get_order(&id).await.unwrap();
    assert_eq!((order.status, order.refunded_amount), (Some(6), Some(Cents(4999))), "the rest makes it Returned");

    let ledger = sb.refunds(&id);
    assert_eq!(ledger.iter().map(|r| r.amount).collect::<Vec<_>>(), [Cents(1999), Cents(3000)]);
    assert_eq!(ledger[0].message.as_deref(), Some("damaged"));
    assert_eq!(ledger[1].transaction_id, second.transaction_id.unwrap());
    assert_eq!(ledger[0].transaction_id, first.transaction_id.unwrap());
    assert_eq!(sb.events().iter().filter(|e| e.order_id == id && e.kind.as_str() == "order.refunded").count(), 2);

    let (odd, _) = evaluate(&c, &cit(&sb, &token, 1001, "WEB-REF-2")).await;
    for cents in [1, 10, 99, 891] {
        c.refund(&odd, Cents(cents), None).await.unwrap();
    }
    assert_eq!(sb.refunds(&odd).iter().map(|r| r.amount.0).collect::<Vec<_>>(), [1, 10, 99, 891]);
    assert_eq!(sb.order(&odd).unwrap().refunded_amount, Some(Cents(1001)));
    assert!(matches!(c.refund(&odd, Cents(0), None).await.unwrap_err(), ClientError::InvalidRequest(_)));
}

#[tokio::test]
async fn refund_over_the_refundable_amount_is_rejected_with_code_2001_and_its_message() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, _) = evaluate(&c, &cit(&sb, &token, 4999, "WEB-2001")).await;
    c.refund(&id, Cents(1999), None).await.unwrap();
    match c.refund(&id, Cents(3001), Some("too much")).await.unwrap_err() {
        ClientError::Rejected { operation, code, message, detail, .. } => {
            assert_eq!(operation, "refund");
            assert_eq!(code.as_deref(), Some("2001"));
            let message = message.unwrap_or_default();
            assert!(message.to_lowercase().contains("exceed"), "{message}");
            assert_eq!(detail.codes, vec![(message, Some("2001".to_string()))]);
        }
        other => panic!("expected Rejected 2001, got {other:?}"),
    }
    assert_eq!(sb.refunds(&id).len(), 1, "the refused refund is not in the ledger");
    assert_eq!(sb.order(&id).unwrap().refunded_amount, Some(Cents(1999)));

    let (challenge, _) = evaluate(&c, &cit(&sb, &tokenize(&c, &sb, CHALLENGE).await, 4999, "WEB-2002")).await;
    match c.refund(&challenge, Cents(100), None).await.unwrap_err() {
        ClientError::Rejected { code, .. } => assert_eq!(code.as_deref(), Some("2002"), "not refundable yet"),
        other => panic!("expected Rejected 2002, got {other:?}"),
    }
    assert!(matches!(c.refund("no-such-order", Cents(100), None).await.unwrap_err(), ClientError::NotFound { .. }));
}

#[tokio::test]
async fn cancel_voids_cancellable_orders_and_refuses_completed_ones_with_a_status_error() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let approve = tokenize(&c, &sb, APPROVE).await;
    let (mit, _) = evaluate(&c, &managed_mit(&sb, &approve, 1999, "SUB-C-1")).await;
    let (auth, _) = evaluate(&c, &authorization(&sb, &approve, 4999, "WEB-C-2")).await;
    let (done, _) = evaluate(&c, &cit(&sb, &approve, 4999, "WEB-C-3")).await;

    let answer = c.cancel(&mit, Some("cancel-key-1")).await.unwrap();
    assert_eq!(answer.idempotency_key, "cancel-key-1");
    assert_eq!(status_of(&sb, &mit), (Some(2), Some("CANCELLED".into())));
    c.cancel(&mit, Some("cancel-key-1")).await.unwrap();
    c.cancel(&mit, None).await.unwrap();
    assert_eq!(sb.events().iter().filter(|e| e.order_id == mit && e.kind.as_str() == "order.cancelled").count(), 1);

    c.cancel(&auth, None).await.unwrap();
    assert_eq!(status_of(&sb, &auth), (Some(2), Some("CANCELLED".into())));

    match c.cancel(&done, None).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => {
            assert_eq!(detail.title.as_deref(), Some("The order cannot be cancelled."));
            assert!(detail.field_errors["Status"][0].contains("Completed"), "{detail:?}");
            assert!(detail.trace_id.is_some());
        }
        other => panic!("expected the documented 400, got {other:?}"),
    }
    assert_eq!(status_of(&sb, &done), (Some(7), Some("APPROVED".into())));
    assert!(matches!(c.cancel("no-such-order", None).await.unwrap_err(), ClientError::NotFound { .. }));
}

#[tokio::test]
async fn external_cancel_finds_the_order_by_the_merchants_order_id() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let approve = tokenize(&c, &sb, APPROVE).await;
    let (mit, _) = evaluate(&c, &managed_mit(&sb, &approve, 1999, "SUB-EXT-1")).await;
    let answer = c.external_cancel("SUB-EXT-1", None).await.unwrap();
    assert_eq!(answer.attempts, 1);
    assert_eq!(status_of(&sb, &mit), (Some(2), Some("CANCELLED".into())));
    c.cancel(&mit, None).await.unwrap();
    assert_eq!(
        sb.events().iter().filter(|e| e.order_id == mit && e.kind.as_str() == "order.cancelled").count(),
        1,
        "collapsed into one"
    );

    evaluate(&c, &cit(&sb, &approve, 4999, "WEB-EXT-2")).await;
    match c.external_cancel("WEB-EXT-2", None).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => assert!(detail.field_errors.contains_key("Status")),
        other => panic!("a completed CIT cannot be cancelled, got {other:?}"),
    }
    assert!(matches!(c.external_cancel("WEB-NOPE", None).await.unwrap_err(), ClientError::NotFound { .. }));
}

#[tokio::test]
#[allow(deprecated)]
async fn outcome_reports_the_documented_words() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let approve = tokenize(&c, &sb, APPROVE).await;
    let (done, _) = evaluate(&c, &cit(&sb, &approve, 4999, "WEB-O-1")).await;
    let (mit, _) = evaluate(&c, &managed_mit(&sb, &approve, 1999, "SUB-O-2")).await;
    let (declined, _) = evaluate(&c, &cit(&sb, &tokenize(&c, &sb, DECLINE).await, 4999, "WEB-O-3")).await;
    let word = |r: flexfactor_wire::OutcomeResponse| r.status.unwrap_or_default();
    assert_eq!(word(c.outcome(&done).await.unwrap()), "APPROVED");
    assert_eq!(word(c.outcome(&mit).await.unwrap()), "SUBMITTED");
    assert_eq!(word(c.outcome(&declined).await.unwrap()), "DECLINED");
    let answer = c.outcome(&done).await.unwrap();
    assert_eq!(answer.confirmation_id.as_deref().map(str::len), Some(6));
    c.cancel(&mit, None).await.unwrap();
    assert_eq!(word(c.outcome(&mit).await.unwrap()), "CANCELLED");
    assert_eq!(word(c.outcome("00000000-0000-4000-8000-000000000000").await.unwrap()), "NOTFOUND");
}

#[tokio::test]
async fn validation_errors_keep_every_dotted_field_message_and_the_trace_id() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let mut bad = cit(&sb, &token, 4999, "WEB-V-1");
    bad.transaction.as_mut().unwrap().amount = None;
    bad.payer = Some(Payer::default());
    bad.order_id = None;
    match c.evaluate(&bad).await.unwrap_err() {
        ClientError::Api { status: 400, path, detail } => {
            assert_eq!(path, "/evaluate");
            assert_eq!(detail.title.as_deref(), Some("One or more validation errors occurred."));
            for field in ["Transaction.Amount", "Payer.Email", "OrderId"] {
                assert!(detail.field_errors.get(field).is_some_and(|m| !m.is_empty()), "{field}: {detail:?}");
            }
            let trace = detail.trace_id.clone().unwrap();
            let parts: Vec<&str> = trace.split('-').collect();
            assert_eq!((parts.len(), parts[0], parts[1].len(), parts[2].len(), parts[3]), (4, "00", 32, 16, "01"));
            let summary = ClientError::Api { status: 400, path: "/evaluate".into(), detail }.to_string();
            assert!(summary.contains("Transaction.Amount") && summary.contains("Payer.Email"), "{summary}");
        }
        other => panic!("expected a 400 ProblemDetails, got {other:?}"),
    }
    let mut small = cit(&sb, &token, 10, "WEB-V-2");
    small.expiry_date_utc = Some("next tuesday".into());
    small.is_mit = Some(true);
    match c.evaluate(&small).await.unwrap_err() {
        ClientError::Api { status: 400, detail, .. } => {
            assert!(detail.field_errors.contains_key("Transaction.Amount"), "{detail:?}");
            assert_eq!(detail.field_errors["ExpiryDateUtc"], ["The field ExpiryDateUtc is invalid."]);
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(sb.evaluations().is_empty(), "invalid requests never reach the decision logic");
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once_and_401_has_the_documented_empty_shape() {
    let sb = sandbox(10).await;
    let raw = reqwest::Client::new();
    let r = raw.get(format!("{}/orders", sb.base_url())).bearer_auth("forged").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(r.text().await.unwrap().is_empty());

    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, _) = evaluate(&c, &cit(&sb, &token, 4999, "WEB-401")).await;
    for _ in 0..3 {
        sb.force_token_expiry();
        assert_eq!(c.get_order(&id).await.unwrap().id, id);
    }
    sb.force_token_expiry();
    c.refund(&id, Cents(500), None).await.unwrap();
    assert_eq!(sb.refunds(&id).len(), 1, "the 401 was not processed and the resend happened once");
}

#[tokio::test]
async fn reusing_an_idempotency_key_with_another_payload_is_a_conflict() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let first = EvaluateRequest { idempotency_key: Some("eval-key-1".into()), ..cit(&sb, &token, 4999, "WEB-409-1") };
    let (id, _) = evaluate(&c, &first).await;
    let replay = c.evaluate(&first).await.unwrap();
    assert_eq!(replay.response.order_session_key.as_deref(), Some(id.as_str()), "same payload replays");
    let changed = EvaluateRequest { idempotency_key: Some("eval-key-1".into()), ..cit(&sb, &token, 5999, "WEB-409-1") };
    match c.evaluate(&changed).await.unwrap_err() {
        ClientError::Conflict { path, idempotency_key, after_retry, detail } => {
            assert_eq!(
                (path.as_str(), idempotency_key.as_deref(), after_retry),
                ("/evaluate", Some("eval-key-1"), false)
            );
            assert!(detail.field_errors.contains_key("IdempotencyKey"), "{detail:?}");
            assert!(detail.trace_id.is_some());
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let with_key: Vec<_> =
        sb.evaluations().into_iter().filter(|e| e.idempotency_key.as_deref() == Some("eval-key-1")).collect();
    assert_eq!(with_key.len(), 1, "neither the replay nor the conflict was evaluated");
}

#[tokio::test]
async fn a_second_request_while_the_first_is_in_flight_is_a_conflict() {
    let sb = sandbox(10).await;
    let c = client(&sb);
    let token = tokenize(&c, &sb, APPROVE).await;
    let (id, _) = evaluate(&c, &authorization(&sb, &token, 4999, "WEB-FLIGHT")).await;
    sb.set_faults(Faults { processing_delay: Duration::from_secs(3), ..Faults::default() });
    let request = CaptureRequest {
        idempotency_key: "flight-1".into(),
        order_id: id.clone(),
        amount: Cents(4999),
        currency: "USD".into(),
    };
    // The first request holds its key for 3 s; the second starts 1 s in, well inside that.
    let (a, b) = tokio::join!(c.capture(&request), async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        c.capture(&request).await
    });
    assert_eq!(a.unwrap().response.outcome(), Some("SUCCESS"));
    assert!(matches!(b.unwrap_err(), ClientError::Conflict { .. }));
    assert_eq!(sb.order(&id).unwrap().captured_amount, Some(Cents(4999)));
}
