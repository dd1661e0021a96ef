//! The money-moving protocol (DESIGN.md §4) through the app core against the sandbox on
//! loopback: outbox first, one refund per intent whatever happens on the wire, clear
//! refusals, awaiting confirmation resolved by re-reading, and an audit log that verifies.

use chrono::{TimeZone, Utc};
use flexdesk_core::action_dto::{ActionStatus, CancelInput, ExternalCancelInput, RefundInput, SettleInput};
use flexdesk_core::dto::{OrderQuery, OrderStateDto};
use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_mirror::{Intent, IntentKind, IntentState};
use flexdesk_secrets::MemoryStore;
use flexfactor_sandbox::{Faults, Sandbox, SandboxConfig, SandboxCredentials};
use std::sync::Arc;

struct Setup {
    sandbox: Sandbox,
    app: AppCore,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

async fn setup_with(tweak: impl FnOnce(&mut CoreConfig)) -> Setup {
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut config = SandboxConfig::demo(11, anchor, SandboxCredentials::new("key", "secret"));
    config.order_count = 400;
    let sandbox = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cc = CoreConfig::new(dir.path().to_path_buf(), Arc::new(MemoryStore::new()));
    cc.background_sync = false;
    tweak(&mut cc);
    let app = AppCore::open(cc).unwrap();
    app.add_account(flexdesk_tests::sandbox_new_account(&sandbox)).await.unwrap();
    app.sync_once().await.unwrap();
    Setup { sandbox, app, _dir: dir }
}

fn first_in_state(app: &AppCore, state: OrderStateDto, mit: Option<bool>) -> flexdesk_core::dto::OrderRow {
    let page =
        app.list_orders(&OrderQuery { state: Some(state), is_mit: mit, limit: 50, ..Default::default() }).unwrap();
    page.rows.into_iter().find(|r| r.amount_cents > 100).expect("a matching order in the seeded history")
}

fn refund(order: &str, cents: i64, intent: &str) -> RefundInput {
    RefundInput {
        order_session_key: order.into(),
        amount_cents: cents,
        reason: "customer asked".into(),
        intent_key: intent.into(),
    }
}

/// A refund whose connection drops before FlexFactor runs it: nothing reaches the sandbox, and
/// the action awaits confirmation. Faults are left as they are.
async fn refund_lost_before_it_ran(s: &Setup, key: &str, cents: i64, intent: &str) {
    s.sandbox.set_faults(Faults {
        drop_connection_rate: 1.0,
        only_path_suffix: Some("/refund".into()),
        ..Default::default()
    });
    let first = s.app.refund(refund(key, cents, intent)).await.unwrap();
    assert_eq!(first.status, ActionStatus::AwaitingConfirmation, "{}", first.message);
    assert!(s.sandbox.refunds(key).is_empty(), "nothing reached the handler");
}

#[tokio::test]
async fn a_partial_then_the_remaining_refund_succeed_and_a_third_is_refused_before_sending() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    let captured = order.amount_cents;
    let part = captured / 3;

    let first = s.app.refund(refund(&order.order_session_key, part, "i-1")).await.unwrap();
    assert_eq!(first.status, ActionStatus::Confirmed, "{}", first.message);
    assert_eq!(first.remaining_refundable_cents, Some(captured - part));
    let detail = s.app.order_detail(&order.order_session_key).unwrap();
    assert_eq!(detail.row.state, OrderStateDto::PartiallyRefunded);
    assert_eq!(detail.remaining_refundable_cents, captured - part);
    // The detail carries the order as the sandbox's API sent it, with the fields no other
    // part of the detail shows.
    let record: serde_json::Value = serde_json::from_str(detail.record.as_deref().unwrap()).unwrap();
    assert_eq!(record["id"], order.order_session_key.as_str());
    assert!(record["billingAddress"].is_object() && record["phone"].is_string(), "{record}");

    let rest = s.app.refund(refund(&order.order_session_key, captured - part, "i-2")).await.unwrap();
    assert_eq!(rest.status, ActionStatus::Confirmed, "{}", rest.message);

    let third = s.app.refund(refund(&order.order_session_key, 1, "i-3")).await.unwrap_err();
    assert_eq!(third.code(), ErrorCode::InvalidInput, "{third}");

    let ledger = s.sandbox.refunds(&order.order_session_key);
    assert_eq!(ledger.len(), 2, "the sandbox must hold exactly two refunds");
    assert_eq!(ledger.iter().map(|r| r.amount.0).sum::<i64>(), captured);
    let audit = s.app.audit_log(100, 0).unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "refund").count(), 2);
    assert!(s.app.verify_audit().unwrap().ok);
    let detail = s.app.order_detail(&order.order_session_key).unwrap();
    assert_eq!(detail.row.state, OrderStateDto::Refunded);
    assert!(detail.timeline.iter().any(|t| t.kind == "action:refund"));
}

#[tokio::test]
async fn a_double_click_sends_one_refund() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    let (a, b) = tokio::join!(
        s.app.refund(refund(&order.order_session_key, 100, "same-dialog")),
        s.app.refund(refund(&order.order_session_key, 100, "same-dialog")),
    );
    let statuses = [a.unwrap().status, b.unwrap().status];
    assert!(statuses.contains(&ActionStatus::Confirmed), "{statuses:?}");
    assert_eq!(s.sandbox.refunds(&order.order_session_key).len(), 1);
    let again = s.app.refund(refund(&order.order_session_key, 100, "same-dialog")).await.unwrap();
    assert_eq!(again.status, ActionStatus::Confirmed);
    assert_eq!(s.sandbox.refunds(&order.order_session_key).len(), 1);
}

#[tokio::test]
async fn a_dropped_refund_response_awaits_confirmation_and_is_never_resent_blindly() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    s.sandbox.set_faults(Faults {
        drop_response_after_commit_rate: 1.0,
        only_path_suffix: Some("/refund".into()),
        ..Default::default()
    });
    // The refund commits but its answer is lost; the re-read that follows shows it happened.
    let settled_on_reread = s.app.refund(refund(&order.order_session_key, 150, "dropped")).await.unwrap();
    assert_eq!(settled_on_reread.status, ActionStatus::Confirmed, "{}", settled_on_reread.message);
    assert!(settled_on_reread.message.contains("re-reading"), "{}", settled_on_reread.message);
    assert_eq!(s.sandbox.refunds(&order.order_session_key).len(), 1, "the refund committed once");

    // With reads failing too, the answer stays "awaiting confirmation" and nothing is resent.
    let other = first_in_state(&s.app, OrderStateDto::Approved, None);
    let other = s
        .app
        .list_orders(&OrderQuery { state: Some(OrderStateDto::Approved), limit: 50, ..Default::default() })
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.order_session_key != order.order_session_key && r.amount_cents > 200)
        .unwrap_or(other);
    s.sandbox.set_faults(Faults { drop_response_after_commit_rate: 1.0, ..Default::default() });
    let first_read_ok = s.app.refund(refund(&other.order_session_key, 150, "dropped-2")).await;
    // The pre-read itself fails while every answer is dropped: nothing is recorded or sent.
    assert!(first_read_ok.is_err(), "{first_read_ok:?}");
    assert!(s.sandbox.refunds(&other.order_session_key).is_empty());

    s.sandbox.set_faults(Faults::default());
    let settled = s.app.refund(refund(&order.order_session_key, 150, "dropped")).await.unwrap();
    assert_eq!(settled.status, ActionStatus::Confirmed, "{}", settled.message);
    assert_eq!(
        s.sandbox.refunds(&order.order_session_key).len(),
        1,
        "re-reading must not resend a refund that happened"
    );
    assert!(s.app.resolve_open_actions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refund_lost_before_it_ran_is_resent_once_but_only_after_the_quiet_period() {
    let s = setup_with(|cc| cc.refund_quiet_period = std::time::Duration::from_secs(5)).await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    let key = order.order_session_key.as_str();
    refund_lost_before_it_ran(&s, key, 120, "lost").await;
    s.sandbox.set_faults(Faults::default());

    // Within the quiet period an unchanged total proves nothing (FlexFactor may still be
    // processing the lost request): nothing is sent.
    let early = s.app.check_action("lost").await.unwrap();
    assert_eq!(early.status, ActionStatus::AwaitingConfirmation, "{}", early.message);
    assert!(early.message.contains("waits before"), "{}", early.message);
    assert!(s.sandbox.refunds(key).is_empty());
    // Nor can another dialog refund the order while this refund is unsettled: the detail
    // offers none, and a refund asked for anyway is refused.
    assert!(!s.app.order_detail(key).unwrap().refundable);
    let other = s.app.refund(refund(key, 50, "another-dialog")).await.unwrap_err();
    assert_eq!(other.code(), ErrorCode::InvalidInput, "{other}");
    assert!(other.user_message().contains("not settled yet"), "{}", other.user_message());
    // The same dialog edited to another amount does not settle (or report) the first refund.
    let edited = s.app.refund(refund(key, 60, "lost")).await.unwrap_err();
    assert!(edited.user_message().contains("already sent another action"), "{}", edited.user_message());

    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    let settled = s.app.check_action("lost").await.unwrap();
    assert_eq!(settled.status, ActionStatus::Confirmed, "{}", settled.message);
    assert_eq!(s.sandbox.refunds(key).iter().map(|r| r.amount.0).collect::<Vec<_>>(), [120], "sent once");
    assert!(s.app.order_detail(key).unwrap().refundable);
    let next = s.app.refund(refund(key, 50, "another-dialog")).await.unwrap();
    assert_eq!(next.status, ActionStatus::Confirmed, "{}", next.message);
    assert_eq!(s.sandbox.refunds(key).len(), 2);
    assert!(s.app.verify_audit().unwrap().ok);
}

#[tokio::test]
async fn a_refund_lost_before_it_ran_is_not_resent_at_start_and_a_refused_resend_is_not_taken_for_nothing_refunded() {
    let s = setup_with(|cc| cc.refund_quiet_period = std::time::Duration::from_millis(500)).await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    let key = order.order_session_key.as_str();
    refund_lost_before_it_ran(&s, key, 120, "lost").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    // At a start, open actions are settled from FlexFactor's record only: the refund, proven
    // absent by now, is not sent again without a person asking.
    s.sandbox.set_faults(Faults::default());
    let at_start = s.app.resolve_open_actions().await.unwrap();
    assert_eq!(at_start.len(), 1);
    assert_eq!(at_start[0].status, ActionStatus::AwaitingConfirmation, "{}", at_start[0].message);
    assert!(s.sandbox.refunds(key).is_empty(), "nothing sent at start");

    // "Check again" resends it; FlexFactor refuses the resend (as it does a repeat refund).
    s.sandbox.set_faults(Faults {
        forbidden_rate: 1.0,
        only_path_suffix: Some("/refund".into()),
        ..Default::default()
    });
    let again = s.app.check_action("lost").await.unwrap();
    assert_eq!(again.status, ActionStatus::AwaitingConfirmation, "{}", again.message);
    assert!(again.message.contains("will not send it again"), "{}", again.message);
    // Still open: the order cannot be refunded by another dialog until a person settles it.
    assert!(!s.app.order_detail(key).unwrap().refundable);
    assert!(s.app.verify_audit().unwrap().ok);
}

#[tokio::test]
async fn an_unclear_refund_settled_by_hand_sends_nothing_is_audited_and_lets_the_order_be_refunded_again() {
    let s = setup().await;
    let rows = s
        .app
        .list_orders(&OrderQuery { state: Some(OrderStateDto::Approved), limit: 50, ..Default::default() })
        .unwrap()
        .rows;
    let (first, second) = (rows[0].order_session_key.clone(), rows[1].order_session_key.clone());
    // Both refunds' connections drop before FlexFactor runs them: unclear, and within the
    // quiet period FlexDesk will not decide by itself.
    s.sandbox.set_faults(Faults {
        drop_connection_rate: 1.0,
        only_path_suffix: Some("/refund".into()),
        ..Default::default()
    });
    for (order, key) in [(&first, "by-hand-1"), (&second, "by-hand-2")] {
        let unclear = s.app.refund(refund(order, 100, key)).await.unwrap();
        assert_eq!(unclear.status, ActionStatus::AwaitingConfirmation, "{}", unclear.message);
    }
    s.sandbox.set_faults(Faults::default());
    let settle = |key: &str, made: bool, note: &str| SettleInput { intent_key: key.into(), made, note: note.into() };

    // A verdict needs what was checked.
    let blank = s.app.settle_action(settle("by-hand-1", false, "  ")).await.unwrap_err();
    assert_eq!(blank.code(), ErrorCode::InvalidInput, "{blank}");
    // Not made: nothing is sent, the order can be refunded again.
    let not_made = s.app.settle_action(settle("by-hand-1", false, "portal shows no refund")).await.unwrap();
    assert_eq!(not_made.status, ActionStatus::Rejected, "{}", not_made.message);
    assert!(not_made.message.contains("did not go through (portal shows no refund)"), "{}", not_made.message);
    assert!(s.sandbox.refunds(&first).is_empty());
    assert!(s.app.order_detail(&first).unwrap().refundable);
    let again = s.app.refund(refund(&first, 100, "by-hand-1b")).await.unwrap();
    assert_eq!(again.status, ActionStatus::Confirmed, "{}", again.message);
    assert_eq!(s.sandbox.refunds(&first).len(), 1);
    // Made: confirmed, nothing sent either.
    let made = s.app.settle_action(settle("by-hand-2", true, "refund seen in the portal")).await.unwrap();
    assert_eq!(made.status, ActionStatus::Confirmed, "{}", made.message);
    assert!(s.sandbox.refunds(&second).is_empty(), "settling by hand sends nothing");
    // A settled action is not settled again, and each verdict is in the audit log and the timeline.
    let twice = s.app.settle_action(settle("by-hand-2", false, "changed my mind")).await.unwrap_err();
    assert!(twice.user_message().contains("not awaiting confirmation"), "{}", twice.user_message());
    let audit = s.app.audit_log(100, 0).unwrap();
    let by_hand: Vec<_> = audit.iter().filter(|e| e.action == "refund_settled_by_hand").collect();
    assert_eq!(by_hand.len(), 2, "{audit:?}");
    assert!(s.app.verify_audit().unwrap().ok);
    let timeline = s.app.order_detail(&second).unwrap().timeline;
    assert!(timeline.iter().any(|t| t.summary.contains("Settled by hand")), "{timeline:?}");
}

#[tokio::test]
async fn refund_failures_are_explained_in_plain_words() {
    let s = setup().await;
    let pending = first_in_state(&s.app, OrderStateDto::Pending, Some(true));
    let err = s.app.refund(refund(&pending.order_session_key, 100, "p")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.user_message().contains("only approved orders"), "{}", err.user_message());
    let approved = first_in_state(&s.app, OrderStateDto::Approved, None);
    let err = s.app.refund(refund(&approved.order_session_key, approved.amount_cents + 1, "x")).await.unwrap_err();
    assert!(err.user_message().contains("more than"), "{}", err.user_message());
    assert!(s.sandbox.refunds(&approved.order_session_key).is_empty());
}

#[tokio::test]
async fn an_order_in_a_currency_without_cents_shows_its_own_units_and_is_not_refunded_from_flexdesk() {
    let s = setup().await;
    let approved = first_in_state(&s.app, OrderStateDto::Approved, None);
    let mut order = s.sandbox.order(&approved.order_session_key).unwrap();
    order.currency_code = Some("JPY".into());
    order.modified_on = order.modified_on.map(|m| m + chrono::Duration::seconds(1));
    s.sandbox.upsert_order(order);

    // The refund re-reads the order first: it is in yen now, and nothing is sent.
    let err = s.app.refund(refund(&approved.order_session_key, 100, "jpy")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.user_message().contains("Nothing was sent"), "{}", err.user_message());
    assert!(s.sandbox.refunds(&approved.order_session_key).is_empty());

    let detail = s.app.order_detail(&approved.order_session_key).unwrap();
    assert_eq!(detail.row.currency, "JPY");
    assert!(!detail.refundable, "a JPY order offered a refund");
    let note = detail.refund_note.expect("why the order cannot be refunded here");
    assert!(note.contains("JPY") && note.contains("FlexFactor portal"), "{note}");
    // The CSV export writes the amount in yen, not in hundredths of a yen.
    let path = s._dir.path().join("jpy.csv");
    let query = OrderQuery { search: Some(approved.order_session_key.clone()), ..Default::default() };
    s.app.export_orders_csv(&query, &path).unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    let line = csv.lines().find(|l| l.starts_with(&approved.order_session_key)).expect("the order's row");
    assert!(line.contains(&format!(",{},", approved.amount_cents)), "amount not in yen: {line}");
    assert!(!line.contains(&format!("{}.{:02}", approved.amount_cents / 100, approved.amount_cents % 100)), "{line}");
}

#[tokio::test]
async fn support_cancels_pending_rescues_and_is_refused_on_completed_orders() {
    let s = setup().await;
    let rescues = s.app.pending_rescues().unwrap();
    assert!(rescues.len() >= 3, "the seeded history has pending MIT rescues");
    let keys: Vec<String> = rescues.iter().take(3).map(|r| r.row.order_session_key.clone()).collect();
    let approved = first_in_state(&s.app, OrderStateDto::Approved, None);
    let mut with_completed = keys.clone();
    with_completed.push(approved.order_session_key.clone());
    let preview = s.app.cancel_preview(&with_completed).unwrap();
    assert_eq!(preview.iter().filter(|p| p.cancellable).count(), 3);
    assert!(!preview[3].cancellable && preview[3].reason.is_some());

    let results = s
        .app
        .cancel_orders(CancelInput {
            order_session_keys: with_completed,
            reason: "customer left".into(),
            intent_key: "bulk-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(results.iter().filter(|r| r.status == ActionStatus::Confirmed).count(), 3);
    assert_eq!(results[3].status, ActionStatus::Rejected);
    for k in &keys {
        assert_eq!(s.sandbox.order(k).unwrap().status, Some(2), "order {k} is not cancelled at the sandbox");
        assert_eq!(s.app.order_detail(k).unwrap().row.state, OrderStateDto::Cancelled);
    }
    assert_eq!(s.sandbox.order(&approved.order_session_key).unwrap().status, Some(7));
    assert_eq!(s.app.audit_log(100, 0).unwrap().iter().filter(|e| e.action == "cancel").count(), 3);
}

#[tokio::test]
async fn an_order_can_be_cancelled_by_the_merchant_order_id() {
    let s = setup().await;
    let rescue = s.app.pending_rescues().unwrap().remove(0);
    let merchant_id = rescue.row.merchant_order_id.clone().unwrap();
    let out = s
        .app
        .external_cancel(ExternalCancelInput {
            merchant_order_id: merchant_id,
            reason: "by phone".into(),
            intent_key: "ext-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(out.status, ActionStatus::Confirmed, "{}", out.message);
    assert_eq!(s.sandbox.order(&rescue.row.order_session_key).unwrap().status, Some(2));
    // The mirror knew the order: the cancel is listed among that order's actions.
    let detail = s.app.order_detail(&rescue.row.order_session_key).unwrap();
    assert!(
        detail.actions.iter().any(|a| a.intent_key == "ext-1" && a.kind == "external_cancel"),
        "{:?}",
        detail.actions
    );
}

#[tokio::test]
async fn an_unclear_cancel_by_merchant_order_id_from_a_day_ago_is_not_sent_again() {
    let s = setup().await;
    let rescue = s.app.pending_rescues().unwrap().remove(0).row;
    let merchant_id = rescue.merchant_order_id.clone().unwrap();
    // As a crash or a lost answer left it a day ago (before FlexDesk noted the order it meant).
    let mut m = flexdesk_mirror::Mirror::open(&s._dir.path().join("mirror.sqlite3")).unwrap();
    let account = m.active_account().unwrap().unwrap().id;
    let at = Utc::now() - chrono::Duration::hours(25);
    m.record_intent(&Intent {
        intent_key: "ext-old".into(),
        account_id: account,
        kind: IntentKind::ExternalCancel,
        order_session_key: None,
        merchant_order_id: Some(merchant_id.clone()),
        amount_cents: None,
        currency: None,
        reason: "by phone".into(),
        operator: "tester".into(),
        idempotency_key: flexfactor_client::new_idempotency_key(),
        baseline_refunded_cents: None,
        state: IntentState::AwaitingConfirmation,
        attempts: 1,
        result_message: Some("no answer".into()),
        created_at: at,
        updated_at: at,
    })
    .unwrap();
    let checked = s.app.check_action("ext-old").await.unwrap();
    assert_eq!(checked.status, ActionStatus::AwaitingConfirmation, "{}", checked.message);
    assert!(checked.message.starts_with("Not sent again"), "{}", checked.message);
    assert!(checked.message.contains(&merchant_id), "{}", checked.message);
    assert_eq!(s.sandbox.order(&rescue.order_session_key).unwrap().status, rescue.status_code, "nothing was cancelled");
}

#[tokio::test]
async fn an_edited_audit_entry_is_detected() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    s.app.refund(refund(&order.order_session_key, 100, "audit-1")).await.unwrap();
    s.app.add_note(&order.order_session_key, "called the customer").unwrap();
    assert!(s.app.verify_audit().unwrap().ok);
    let conn = rusqlite::Connection::open(s.app.data_dir().join("mirror.sqlite3")).unwrap();
    conn.execute("UPDATE audit_log SET detail = '0.01 USD: nothing to see' WHERE action = 'refund'", []).unwrap();
    let v = s.app.verify_audit().unwrap();
    assert!(!v.ok);
    assert!(v.problem.unwrap().contains("changed"));
}

#[tokio::test]
async fn an_order_whose_stored_record_is_damaged_still_opens_without_the_record() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::Approved, None);
    assert!(s.app.order_detail(&order.order_session_key).unwrap().record.is_some());
    let conn = rusqlite::Connection::open(s.app.data_dir().join("mirror.sqlite3")).unwrap();
    let damaged = conn
        .execute(
            "UPDATE order_json SET raw_json = substr(raw_json, 1, length(raw_json) / 2)
             WHERE order_id = (SELECT id FROM orders WHERE order_session_key = ?1)",
            [&order.order_session_key],
        )
        .unwrap();
    assert_eq!(damaged, 1);
    let detail = s.app.order_detail(&order.order_session_key).unwrap();
    assert_eq!(detail.record, None);
    assert_eq!(detail.row.order_session_key, order.order_session_key);
}

#[tokio::test]
async fn a_capture_whose_answer_was_lost_is_settled_from_the_order_a_day_later_not_refused() {
    let s = setup().await;
    let order = first_in_state(&s.app, OrderStateDto::CaptureRequired, None);
    s.sandbox.set_faults(Faults {
        drop_response_after_commit_rate: 1.0,
        only_path_suffix: Some("/capture".into()),
        ..Default::default()
    });
    let first = s.app.capture(&order.order_session_key, "customer confirmed", "cap-lost").await.unwrap();
    assert_eq!(first.status, ActionStatus::AwaitingConfirmation, "{}", first.message);
    assert_eq!(
        s.sandbox.order(&order.order_session_key).unwrap().captured_amount.map(|c| c.0),
        Some(order.amount_cents)
    );
    s.sandbox.set_faults(Faults::default());

    // A day later FlexFactor no longer knows the idempotency key: a resend would be refused
    // because the order is captured already. The order itself settles it.
    s.sandbox.advance_clock(std::time::Duration::from_secs(25 * 3600));
    let settled = s.app.capture(&order.order_session_key, "customer confirmed", "cap-lost").await.unwrap();
    assert_eq!(settled.status, ActionStatus::Confirmed, "{}", settled.message);
    assert!(settled.message.contains("re-reading"), "{}", settled.message);
    assert_eq!(s.app.order_detail(&order.order_session_key).unwrap().row.state, OrderStateDto::Approved);
    assert_eq!(s.app.audit_log(100, 0).unwrap().iter().filter(|e| e.action == "capture").count(), 1);
    assert!(s.app.resolve_open_actions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_cancel_whose_answer_was_lost_is_settled_from_the_order_a_day_later_not_refused() {
    let s = setup().await;
    let rescue = s.app.pending_rescues().unwrap().into_iter().next().expect("a pending MIT rescue").row;
    s.sandbox.set_faults(Faults {
        drop_response_after_commit_rate: 1.0,
        only_path_suffix: Some("/cancel".into()),
        ..Default::default()
    });
    let cancel = || CancelInput {
        order_session_keys: vec![rescue.order_session_key.clone()],
        reason: "customer left".into(),
        intent_key: "cancel-lost".into(),
    };
    let first = s.app.cancel_orders(cancel()).await.unwrap();
    assert_eq!(first[0].status, ActionStatus::AwaitingConfirmation, "{}", first[0].message);
    assert_eq!(s.sandbox.order(&rescue.order_session_key).unwrap().status, Some(2), "cancelled at the sandbox");
    s.sandbox.set_faults(Faults::default());

    s.sandbox.advance_clock(std::time::Duration::from_secs(25 * 3600));
    let settled = s.app.cancel_orders(cancel()).await.unwrap();
    assert_eq!(settled[0].status, ActionStatus::Confirmed, "{}", settled[0].message);
    assert!(settled[0].message.contains("re-reading"), "{}", settled[0].message);
    assert_eq!(s.app.order_detail(&rescue.order_session_key).unwrap().row.state, OrderStateDto::Cancelled);
    assert_eq!(s.app.audit_log(100, 0).unwrap().iter().filter(|e| e.action == "cancel").count(), 1);
}
