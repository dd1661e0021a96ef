//! Changes no API call can make, driven by tests, demos and the traffic generator:
//! chargebacks and forced challenge results.

use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::EventKind;
use flexfactor_wire::OrderStatus;

use crate::engine::Engine;
use crate::order_book::OrderBook;

impl Engine {
    /// Records an issuer chargeback on a Completed or Returned order and emits
    /// `payment.chargeback.received` (EventData: `Amount` in cents, `Currency`). The
    /// numeric status is left unchanged (the docs give Chargeback no code). Returns false
    /// for an unknown or uncaptured order.
    pub fn chargeback(&mut self, book: &mut OrderBook, id: &str, now: DateTime<Utc>) -> bool {
        let Some(mut order) = book.get(id).cloned() else {
            return false;
        };
        if !matches!(order.status.map(OrderStatus::from), Some(OrderStatus::Completed | OrderStatus::Returned)) {
            return false;
        }
        order.modified_on = Some(now);
        let data = serde_json::json!({
            "Amount": order.captured_amount.or(order.amount).map(|c| c.0),
            "Currency": order.currency_code,
        });
        self.emit(EventKind::PaymentChargebackReceived, &order, now, Some(data));
        book.upsert(order);
        true
    }

    /// Resolves an open CHALLENGE now: `challenge.attempted`, then `challenge.passed` and
    /// Completed (or CAPTUREREQUIRED), or `challenge.failed` and Cancelled/DECLINED.
    /// Returns false when the order has no open challenge.
    pub fn resolve_challenge(&mut self, book: &mut OrderBook, id: &str, passed: bool, now: DateTime<Utc>) -> bool {
        let Some(mut order) = book.get(id).cloned() else {
            return false;
        };
        let open =
            order.status == Some(OrderStatus::Processing.code()) && order.decision.as_deref() == Some("CHALLENGE");
        if !open {
            return false;
        }
        self.clear_plans(&order.id);
        self.emit(EventKind::ChallengeAttempted, &order, now, None);
        self.finish_challenge(&mut order, passed, now);
        book.upsert(order);
        true
    }
}
