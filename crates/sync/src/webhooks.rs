//! Webhooks (from the relay feed) into the mirror: which state each event claims, and the
//! apply path that records every event once in the order's timeline.

use chrono::{DateTime, Utc};
use flexdesk_mirror::{EventApplied, Mirror, OrderEvent, OrderState};
use flexfactor_wire::webhook::{EventKind, WebhookPayload};

use crate::SyncError;

/// The state a webhook claims for its order, if any.
///
/// `order.refunded` claims only *partially* refunded: the payload does not say whether the
/// refund was full (open question 11 in flexfactor-api.md), and the effective state is the
/// highest claim, so an over-claim could never be corrected. The re-read of the order that
/// follows every webhook brings `Refunded` when it is.
pub fn state_hint(kind: &EventKind) -> Option<OrderState> {
    match kind {
        EventKind::OrderCompleted => Some(OrderState::Approved),
        EventKind::OrderCancelled => Some(OrderState::Cancelled),
        EventKind::OrderExpired => Some(OrderState::Expired),
        EventKind::OrderRefunded => Some(OrderState::PartiallyRefunded),
        EventKind::OrderCaptureRequired => Some(OrderState::CaptureRequired),
        EventKind::PaymentChargebackReceived => Some(OrderState::Chargeback),
        EventKind::ChallengePresented => Some(OrderState::Challenge),
        EventKind::ChallengeAttempted
        | EventKind::ChallengePassed
        | EventKind::ChallengeFailed
        | EventKind::PayoutCreated
        | EventKind::PayoutUpdated
        | EventKind::Other(_) => None,
    }
}

/// The timeline event for one webhook body; `None` when it names no order (payouts).
/// The event key is the at-least-once dedupe key `(Event, OrderId, ConfirmationId)`.
pub fn webhook_event(payload: &WebhookPayload, raw_body: &str, received_at: DateTime<Utc>) -> Option<OrderEvent> {
    let order = payload.order_id.clone().filter(|o| !o.is_empty())?;
    let (event, order_id, confirmation) = payload.dedupe_key();
    // The timeline labels the entry with the event's name already.
    let resent = if payload.is_resent { ", resent" } else { "" };
    let summary = match &payload.external_order_id {
        Some(ext) => format!("Merchant order {ext}{resent}"),
        None => format!("{event}{resent}"),
    };
    Some(OrderEvent {
        event_key: format!("webhook:{event}|{order_id}|{confirmation}"),
        order_session_key: order,
        at: payload.time_stamp.unwrap_or(received_at),
        kind: format!("webhook:{event}"),
        summary,
        payload: Some(raw_body.to_string()),
        state_hint: state_hint(&payload.event),
    })
}

/// Outcome of applying one webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookApplied {
    /// The event's name as FlexFactor sent it (e.g. `order.refunded`).
    pub event: String,
    pub order_session_key: Option<String>,
    pub applied: EventApplied,
}

/// Parses and applies one raw webhook body; `cursor` commits with it. A body that does
/// not parse is an error for the caller to report (the relay verified its signature, so
/// it is FlexFactor's, and nothing is dropped silently).
pub fn apply_webhook(
    mirror: &mut Mirror,
    account_id: &str,
    raw_body: &str,
    received_at: DateTime<Utc>,
    cursor: Option<(&str, &str)>,
) -> Result<WebhookApplied, SyncError> {
    let payload: WebhookPayload = serde_json::from_str(raw_body).map_err(|e| SyncError::BadEvent(e.to_string()))?;
    match webhook_event(&payload, raw_body, received_at) {
        Some(event) => {
            // Drift (a late webhook clearing its `missing_webhook` flag, one for an unknown
            // order flagged) is written in the same transaction: see `Mirror::apply_event`.
            let applied = mirror.apply_event(account_id, &event, cursor)?;
            Ok(WebhookApplied {
                event: payload.event.as_str().to_string(),
                order_session_key: Some(event.order_session_key),
                applied,
            })
        }
        None => {
            // No order (a payout): kept for the Webhooks screen, deduplicated by the same
            // key as order webhooks, with the cursor.
            let (event, order_id, confirmation) = payload.dedupe_key();
            let webhook = flexdesk_mirror::AccountWebhook {
                id: 0,
                event_key: format!("webhook:{event}|{order_id}|{confirmation}"),
                event: payload.event.as_str().to_string(),
                received_at,
                payload: raw_body.to_string(),
            };
            let added = mirror.record_account_webhook(account_id, &webhook, cursor)?;
            Ok(WebhookApplied {
                event: webhook.event,
                order_session_key: None,
                applied: EventApplied { duplicate: !added, ..EventApplied::default() },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_webhooks_never_claim_more_than_a_partial_refund() {
        assert_eq!(state_hint(&EventKind::OrderRefunded), Some(OrderState::PartiallyRefunded));
        assert_eq!(state_hint(&EventKind::OrderCompleted), Some(OrderState::Approved));
        assert_eq!(state_hint(&EventKind::PayoutCreated), None);
    }

    #[test]
    fn a_payout_webhook_is_kept_once_with_the_cursor_and_names_no_order() {
        let mut m = Mirror::open_in_memory().unwrap();
        let account =
            flexdesk_mirror::Account::new("acct", "t", flexdesk_mirror::Environment::Sandbox, "http://x/v1", "m", "k");
        m.insert_account(&account).unwrap();
        let body = r#"{"Event":"payout.created","PayoutId":"P1","Amount":1250}"#;
        let first = apply_webhook(&mut m, "acct", body, Utc::now(), Some(("relay_feed", "3"))).unwrap();
        assert_eq!((first.event.as_str(), first.order_session_key.as_deref()), ("payout.created", None));
        assert!(!first.applied.duplicate);
        // The relay delivers it again (a retry, IsResent): kept once, the cursor still moves.
        let again = r#"{"Event":"payout.created","PayoutId":"P1","Amount":1250,"IsResent":true}"#;
        let second = apply_webhook(&mut m, "acct", again, Utc::now(), Some(("relay_feed", "4"))).unwrap();
        assert!(second.applied.duplicate);
        let kept = m.recent_account_webhooks("acct", 10).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].event.as_str(), kept[0].payload.as_str()), ("payout.created", body));
        assert_eq!(m.cursor("acct", "relay_feed").unwrap().as_deref(), Some("4"));
        // Another payout is another event.
        let other = r#"{"Event":"payout.updated","PayoutId":"P1","Status":"completed"}"#;
        assert!(!apply_webhook(&mut m, "acct", other, Utc::now(), None).unwrap().applied.duplicate);
        assert_eq!(m.recent_account_webhooks("acct", 10).unwrap().len(), 2);
        // They belong to the account: removing it removes them.
        m.delete_account("acct").unwrap();
        assert!(m.recent_account_webhooks("acct", 10).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_event_goes_into_the_timeline_verbatim_without_moving_the_state() {
        let mut m = Mirror::open_in_memory().unwrap();
        let account =
            flexdesk_mirror::Account::new("acct", "t", flexdesk_mirror::Environment::Sandbox, "http://x/v1", "m", "k");
        m.insert_account(&account).unwrap();
        let order = flexfactor_wire::WireOrder {
            id: "o1".into(),
            status: Some(4),
            decision: Some("SUBMITTED".into()),
            ..Default::default()
        };
        m.apply_orders("acct", &[order], None).unwrap();
        let body = r#"{"Event":"order.teleported","OrderId":"o1","ConfirmationId":"C7","Where":"moon"}"#;
        let applied = apply_webhook(&mut m, "acct", body, Utc::now(), Some(("relay_feed", "7"))).unwrap();
        assert_eq!(applied.event, "order.teleported");
        assert!(!applied.applied.duplicate && !applied.applied.state_changed);
        let timeline = m.timeline("acct", "o1").unwrap();
        let entry = timeline.iter().find(|t| t.kind == "webhook:order.teleported").unwrap();
        assert_eq!((entry.payload.as_deref(), entry.state_hint), (Some(body), None));
        assert_eq!(m.order("acct", "o1").unwrap().unwrap().state, OrderState::Pending);
        assert_eq!(m.cursor("acct", "relay_feed").unwrap().as_deref(), Some("7"), "the feed moves past it");
    }

    #[test]
    fn retries_of_one_webhook_share_the_event_key() {
        let body = r#"{"Event":"order.completed","OrderId":"o1","ConfirmationId":"C1","IsResent":false}"#;
        let resent = r#"{"event":"order.completed","orderId":"o1","confirmationId":"C1","isResent":true}"#;
        let a = webhook_event(&serde_json::from_str(body).unwrap(), body, Utc::now()).unwrap();
        let b = webhook_event(&serde_json::from_str(resent).unwrap(), resent, Utc::now()).unwrap();
        assert_eq!(a.event_key, b.event_key);
    }
}
