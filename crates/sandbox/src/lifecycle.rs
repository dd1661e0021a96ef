//! Where a seeded order ended up in the FlexFactor lifecycle (flexfactor-api.md §10), and
//! the status code, decision word, timestamps and money that follow from it.
//!
//! The mapping from outcome to numeric status is INFERRED (the docs give no diagram):
//! see the crate docs for the table.

use flexfactor_wire::{Cents, Decision, OrderStatus};
use rand::Rng;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Orders younger than this may still be awaiting capture (a typical auth hold).
const CAPTURE_WINDOW: i64 = 7 * DAY;
/// Orders younger than this may still be Draft or have an open CIT challenge.
const FRESH: i64 = 2 * DAY;

/// The story of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Rescued: 7 Completed, APPROVED.
    Approved,
    /// Rescued, then part of it refunded: still 7 Completed, APPROVED.
    PartiallyRefunded,
    /// Rescued, then refunded in full: 6 Returned, APPROVED.
    Returned,
    /// Not rescuable: 2 Cancelled, DECLINED.
    Declined,
    /// Managed MIT whose window lapsed: 2 Cancelled, EXPIRED.
    Expired,
    /// MIT cancelled by the merchant: 2 Cancelled, CANCELLED.
    CancelledByMerchant,
    /// Advanced CIT waiting for the shopper: 4 Processing, CHALLENGE.
    ChallengePending,
    /// Managed MIT not yet picked up: 0 Draft, SUBMITTED.
    Submitted,
    /// Managed MIT being worked on: 4 Processing, SUBMITTED.
    InProgress,
    /// Auth+capture account, awaiting `/capture`: 5 CaptureRequired, CAPTUREREQUIRED.
    AwaitingCapture,
    /// Suspended by Flex: 1 Onhold.
    OnHold,
    /// Needs support: 3 Problem.
    Problem,
}

/// What the fate depends on.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    pub is_mit: bool,
    /// `anchor - createdOn`, in ms.
    pub age_ms: i64,
    /// MIT whose `expiryDate` is after the anchor.
    pub open: bool,
}

impl Fate {
    /// Draws a fate that is possible in `s` (e.g. Draft only for fresh MIT).
    pub fn draw<R: Rng>(rng: &mut R, s: Situation) -> Fate {
        let fresh = s.age_ms < FRESH;
        let capturable = s.age_ms < CAPTURE_WINDOW;
        let only = |cond: bool, w: u32| if cond { w } else { 0 };
        let table: [(Fate, u32); 12] = if !s.is_mit {
            [
                (Fate::Approved, 470),
                (Fate::PartiallyRefunded, 30),
                (Fate::Returned, 50),
                (Fate::Declined, 420),
                (Fate::Expired, 0),
                (Fate::CancelledByMerchant, 0),
                (Fate::ChallengePending, only(fresh, 90)),
                (Fate::Submitted, 0),
                (Fate::InProgress, 0),
                (Fate::AwaitingCapture, only(capturable, 60)),
                (Fate::OnHold, 6),
                (Fate::Problem, 4),
            ]
        } else if s.open {
            [
                (Fate::Approved, 250),
                (Fate::PartiallyRefunded, 5),
                (Fate::Returned, 10),
                (Fate::Declined, 20),
                (Fate::Expired, 0),
                (Fate::CancelledByMerchant, 40),
                (Fate::ChallengePending, 0),
                (Fate::Submitted, only(fresh, 250)),
                (Fate::InProgress, 450),
                (Fate::AwaitingCapture, only(capturable, 20)),
                (Fate::OnHold, 10),
                (Fate::Problem, 5),
            ]
        } else {
            [
                (Fate::Approved, 440),
                (Fate::PartiallyRefunded, 20),
                (Fate::Returned, 40),
                (Fate::Declined, 120),
                (Fate::Expired, 300),
                (Fate::CancelledByMerchant, 50),
                (Fate::ChallengePending, 0),
                (Fate::Submitted, 0),
                (Fate::InProgress, 0),
                (Fate::AwaitingCapture, 0),
                (Fate::OnHold, 5),
                (Fate::Problem, 5),
            ]
        };
        weighted(rng, &table).unwrap_or(Fate::Declined)
    }

    /// The numeric order status.
    pub fn status(self) -> OrderStatus {
        match self {
            Fate::Approved | Fate::PartiallyRefunded => OrderStatus::Completed,
            Fate::Returned => OrderStatus::Returned,
            Fate::Declined | Fate::Expired | Fate::CancelledByMerchant => OrderStatus::Cancelled,
            Fate::ChallengePending | Fate::InProgress => OrderStatus::Processing,
            Fate::Submitted => OrderStatus::Draft,
            Fate::AwaitingCapture => OrderStatus::CaptureRequired,
            Fate::OnHold => OrderStatus::OnHold,
            Fate::Problem => OrderStatus::Problem,
        }
    }

    /// The `/evaluate` decision word. On hold / problem orders keep the word they had:
    /// SUBMITTED for MIT, APPROVED for CIT (held after approval).
    pub fn decision(self, is_mit: bool) -> Decision {
        match self {
            Fate::Approved | Fate::PartiallyRefunded | Fate::Returned => Decision::Approved,
            Fate::Declined => Decision::Declined,
            Fate::Expired => Decision::Expired,
            Fate::CancelledByMerchant => Decision::Cancelled,
            Fate::ChallengePending => Decision::Challenge,
            Fate::Submitted | Fate::InProgress => Decision::Submitted,
            Fate::AwaitingCapture => Decision::CaptureRequired,
            Fate::OnHold | Fate::Problem if is_mit => Decision::Submitted,
            Fate::OnHold | Fate::Problem => Decision::Approved,
        }
    }

    /// `(capturedAmount, refundedAmount)` for an order of `amount`.
    pub fn money<R: Rng>(self, rng: &mut R, amount: Cents) -> (Cents, Cents) {
        match self {
            Fate::Approved => (amount, Cents(0)),
            Fate::Returned => (amount, amount),
            Fate::PartiallyRefunded => {
                let lo = (amount.0 / 10).max(1);
                let hi = (amount.0 * 6 / 10).max(lo);
                let refunded = rng.gen_range(lo..=hi).min(amount.0 - 1).max(1);
                (amount, Cents(refunded))
            }
            _ => (Cents(0), Cents(0)),
        }
    }

    /// `modifiedOn` (epoch ms): the last thing that happened to the order, never before
    /// `created` and never after `anchor`. `expiry` is the MIT window end, if any.
    pub fn modified_on<R: Rng>(self, rng: &mut R, is_mit: bool, created: i64, expiry: Option<i64>, anchor: i64) -> i64 {
        let window_end = expiry.unwrap_or(anchor).min(anchor);
        let real_time = |rng: &mut R| created + rng.gen_range(150..2_500);
        let completed = |rng: &mut R| {
            if is_mit {
                between(rng, created + HOUR, window_end)
            } else {
                real_time(rng)
            }
        };
        let t = match self {
            Fate::Approved => completed(rng),
            Fate::PartiallyRefunded | Fate::Returned => {
                let done = completed(rng);
                between(rng, done + HOUR, (done + 30 * DAY).min(anchor))
            }
            Fate::Declined if is_mit => between(rng, created + MINUTE, created + 3 * DAY),
            Fate::Declined | Fate::AwaitingCapture => real_time(rng),
            Fate::Expired => window_end,
            Fate::CancelledByMerchant => between(rng, created + 10 * MINUTE, window_end),
            Fate::ChallengePending => created + rng.gen_range(2 * SECOND..10 * MINUTE),
            Fate::Submitted => created + rng.gen_range(0..50),
            Fate::InProgress => between(rng, created, anchor),
            Fate::OnHold | Fate::Problem => between(rng, created + HOUR, anchor),
        };
        t.clamp(created, anchor.max(created))
    }
}

/// Uniform in `[lo, hi]`; `lo` when the range is empty.
pub fn between<R: Rng>(rng: &mut R, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..=hi)
    }
}

/// One item of a weighted table; `None` when every weight is zero.
pub fn weighted<T: Copy, R: Rng>(rng: &mut R, table: &[(T, u32)]) -> Option<T> {
    let total: u32 = table.iter().map(|(_, w)| *w).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.gen_range(0..total);
    for (item, w) in table {
        if r < *w {
            return Some(*item);
        }
        r -= *w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn closed_mit_orders_never_draw_open_states() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = Situation { is_mit: true, age_ms: 40 * DAY, open: false };
        for _ in 0..5_000 {
            let f = Fate::draw(&mut rng, s);
            assert!(!matches!(f, Fate::Submitted | Fate::InProgress | Fate::ChallengePending));
        }
    }

    #[test]
    fn partial_refunds_stay_strictly_between_zero_and_the_amount() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for amount in [11, 12, 99, 1999, 19_999] {
            for _ in 0..200 {
                let (cap, refunded) = Fate::PartiallyRefunded.money(&mut rng, Cents(amount));
                assert_eq!(cap, Cents(amount));
                assert!(refunded.0 > 0 && refunded.0 < amount, "{amount}: {refunded:?}");
            }
        }
    }

    #[test]
    fn modified_on_stays_within_created_and_anchor() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let anchor = 100 * DAY;
        for fate in [Fate::Approved, Fate::Returned, Fate::Declined, Fate::InProgress] {
            for created in [anchor - 10, anchor - HOUR, anchor - 20 * DAY] {
                let m = fate.modified_on(&mut rng, true, created, Some(created + 14 * DAY), anchor);
                assert!(m >= created && m <= anchor, "{fate:?} {created} {m}");
            }
        }
    }
}
