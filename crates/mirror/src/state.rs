//! The one derived **state** the UI shows, from the two vocabularies an order carries:
//! the `/evaluate` decision and the numeric `/orders` status (DESIGN.md §3).
//!
//! Mapping (status code first; the decision refines it):
//!
//! | status code | decision / amounts | state |
//! |---|---|---|
//! | 0 Draft, 4 Processing | CHALLENGE | Challenge |
//! | 0 Draft, 4 Processing | anything else | Pending |
//! | 5 Capturerequired | — | CaptureRequired |
//! | 7 Completed | refunded = 0 | Approved |
//! | 7 Completed, 6 Returned | 0 < refunded < captured (the amount when not given) | PartiallyRefunded |
//! | 6 Returned | otherwise | Refunded |
//! | 2 Cancelled | DECLINED | Declined |
//! | 2 Cancelled | EXPIRED | Expired |
//! | 2 Cancelled | otherwise | Cancelled |
//! | 1 Onhold | — | OnHold |
//! | 3 Problem | — | Problem |
//! | statusName "Chargeback" (no code is documented) | — | Chargeback |
//! | unknown code or none | from the decision: APPROVED→Approved, DECLINED→Declined, CHALLENGE→Challenge, SUBMITTED/PROCESSING→Pending, CAPTUREREQUIRED→CaptureRequired, EXPIRED→Expired, CANCELLED→Cancelled; else Problem | |

use flexfactor_wire::{Decision, OrderStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderState {
    Pending,
    Challenge,
    CaptureRequired,
    Approved,
    PartiallyRefunded,
    Refunded,
    Declined,
    Expired,
    Cancelled,
    OnHold,
    Problem,
    Chargeback,
}

impl OrderState {
    pub const ALL: [OrderState; 12] = [
        OrderState::Pending,
        OrderState::Challenge,
        OrderState::CaptureRequired,
        OrderState::Approved,
        OrderState::PartiallyRefunded,
        OrderState::Refunded,
        OrderState::Declined,
        OrderState::Expired,
        OrderState::Cancelled,
        OrderState::OnHold,
        OrderState::Problem,
        OrderState::Chargeback,
    ];

    /// Lifecycle rank: an order's effective state is the highest-ranked of its API state
    /// and every webhook hint, which makes applying events order- and duplicate-independent
    /// (max is commutative and idempotent). Non-final states rank lowest, then the final
    /// "no money" outcomes, then money captured and what can only follow it.
    pub fn rank(self) -> i64 {
        match self {
            OrderState::Pending => 0,
            OrderState::Challenge => 1,
            OrderState::CaptureRequired => 2,
            OrderState::OnHold => 3,
            OrderState::Problem => 4,
            OrderState::Declined => 5,
            OrderState::Expired => 6,
            OrderState::Cancelled => 7,
            OrderState::Approved => 8,
            OrderState::PartiallyRefunded => 9,
            OrderState::Refunded => 10,
            OrderState::Chargeback => 11,
        }
    }

    pub fn from_rank(rank: i64) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.rank() == rank)
    }

    /// True for states the API may still change.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            OrderState::Pending
                | OrderState::Challenge
                | OrderState::CaptureRequired
                | OrderState::OnHold
                | OrderState::Problem
        )
    }

    /// The stable text stored in SQLite.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Challenge => "challenge",
            OrderState::CaptureRequired => "captureRequired",
            OrderState::Approved => "approved",
            OrderState::PartiallyRefunded => "partiallyRefunded",
            OrderState::Refunded => "refunded",
            OrderState::Declined => "declined",
            OrderState::Expired => "expired",
            OrderState::Cancelled => "cancelled",
            OrderState::OnHold => "onHold",
            OrderState::Problem => "problem",
            OrderState::Chargeback => "chargeback",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Derives the state; see the module table.
    pub fn derive(
        status: Option<i32>,
        status_name: Option<&str>,
        decision: Option<&str>,
        captured_cents: i64,
        refunded_cents: i64,
    ) -> OrderState {
        if status_name.is_some_and(|n| n.eq_ignore_ascii_case("chargeback")) {
            return OrderState::Chargeback;
        }
        let decision = decision.map(Decision::parse);
        let refund_state = || {
            if refunded_cents > 0 && refunded_cents < captured_cents {
                OrderState::PartiallyRefunded
            } else {
                OrderState::Refunded
            }
        };
        match status.map(OrderStatus::from) {
            Some(OrderStatus::Draft | OrderStatus::Processing) => match decision {
                Some(Decision::Challenge) => OrderState::Challenge,
                _ => OrderState::Pending,
            },
            Some(OrderStatus::CaptureRequired) => OrderState::CaptureRequired,
            Some(OrderStatus::Completed) if refunded_cents <= 0 => OrderState::Approved,
            Some(OrderStatus::Completed) | Some(OrderStatus::Returned) => refund_state(),
            Some(OrderStatus::Cancelled) => match decision {
                Some(Decision::Declined) => OrderState::Declined,
                Some(Decision::Expired) => OrderState::Expired,
                _ => OrderState::Cancelled,
            },
            Some(OrderStatus::OnHold) => OrderState::OnHold,
            Some(OrderStatus::Problem) => OrderState::Problem,
            Some(OrderStatus::Unknown(_)) | None => match decision {
                Some(Decision::Approved) => OrderState::Approved,
                Some(Decision::Declined) => OrderState::Declined,
                Some(Decision::Challenge) => OrderState::Challenge,
                Some(Decision::Submitted | Decision::Processing) => OrderState::Pending,
                Some(Decision::CaptureRequired) => OrderState::CaptureRequired,
                Some(Decision::Expired) => OrderState::Expired,
                Some(Decision::Cancelled) => OrderState::Cancelled,
                Some(Decision::Other(_)) | None => OrderState::Problem,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderState as S;

    fn d(status: i32, decision: &str) -> S {
        S::derive(Some(status), None, Some(decision), 1000, 0)
    }

    #[test]
    fn pending_mit_and_challenge_are_told_apart() {
        assert_eq!(d(0, "SUBMITTED"), S::Pending);
        assert_eq!(d(4, "SUBMITTED"), S::Pending);
        assert_eq!(d(4, "CHALLENGE"), S::Challenge);
    }

    #[test]
    fn cancelled_orders_keep_why_they_ended() {
        assert_eq!(d(2, "DECLINED"), S::Declined);
        assert_eq!(d(2, "EXPIRED"), S::Expired);
        assert_eq!(d(2, "CANCELLED"), S::Cancelled);
        assert_eq!(d(2, "SUBMITTED"), S::Cancelled);
    }

    #[test]
    fn refunds_decide_between_approved_partially_refunded_and_refunded() {
        assert_eq!(S::derive(Some(7), None, Some("APPROVED"), 1000, 0), S::Approved);
        assert_eq!(S::derive(Some(7), None, Some("APPROVED"), 1000, 400), S::PartiallyRefunded);
        assert_eq!(S::derive(Some(6), None, Some("APPROVED"), 1000, 400), S::PartiallyRefunded);
        assert_eq!(S::derive(Some(6), None, Some("APPROVED"), 1000, 1000), S::Refunded);
        assert_eq!(S::derive(Some(6), None, None, 0, 0), S::Refunded);
    }

    #[test]
    fn remaining_codes_and_chargeback_name_map_directly() {
        assert_eq!(d(1, "APPROVED"), S::OnHold);
        assert_eq!(d(3, "APPROVED"), S::Problem);
        assert_eq!(d(5, "CAPTUREREQUIRED"), S::CaptureRequired);
        assert_eq!(S::derive(Some(7), Some("Chargeback"), Some("APPROVED"), 1, 0), S::Chargeback);
    }

    #[test]
    fn unknown_status_codes_fall_back_to_the_decision() {
        assert_eq!(d(99, "APPROVED"), S::Approved);
        assert_eq!(d(99, "SUBMITTED"), S::Pending);
        assert_eq!(S::derive(None, None, None, 0, 0), S::Problem);
    }

    #[test]
    fn stored_text_round_trips_for_every_state() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
