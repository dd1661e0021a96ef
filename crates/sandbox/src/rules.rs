//! How the sandbox decides: deterministic decision rules per card and amount, the
//! `/evaluate` required-field set, and the virtual-time delays of every asynchronous step.

use std::time::Duration;

use flexfactor_wire::Cents;

/// What a matching rule makes of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOutcome {
    /// CIT: APPROVED (Completed). Managed MIT: completes after `mit_rescue_delay`.
    /// Sync MIT: APPROVED at once.
    Approve,
    /// CIT and Sync MIT: DECLINED (Cancelled). Managed MIT: expires at `expiryDateUtc`.
    Decline,
    /// CIT: CHALLENGE (Processing), resolved on the virtual clock or by
    /// `Sandbox::resolve_challenge`. MIT: treated as [`RuleOutcome::Defer`] approving.
    Challenge,
    /// Sync MIT: PROCESSING now; later Completed (`approve`) or expired at the end of the
    /// retry period. Managed MIT: like Approve/Decline. CIT: like Challenge.
    Defer { approve: bool },
}

/// One rule; the first rule whose conditions all hold wins. `None` conditions match all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRule {
    /// Prefix of the card number (the PAN behind a token).
    pub card_prefix: Option<String>,
    /// Only CIT (`Some(false)`) or only MIT (`Some(true)`).
    pub is_mit: Option<bool>,
    /// Inclusive bounds on `transaction.amount`.
    pub min_amount: Option<Cents>,
    pub max_amount: Option<Cents>,
    pub outcome: RuleOutcome,
}

impl DecisionRule {
    pub fn card(prefix: &str, outcome: RuleOutcome) -> DecisionRule {
        DecisionRule {
            card_prefix: Some(prefix.to_string()),
            is_mit: None,
            min_amount: None,
            max_amount: None,
            outcome,
        }
    }

    pub fn matches(&self, card: &str, is_mit: bool, amount: Cents) -> bool {
        self.card_prefix.as_deref().is_none_or(|p| card.starts_with(p))
            && self.is_mit.is_none_or(|m| m == is_mit)
            && self.min_amount.is_none_or(|m| amount >= m)
            && self.max_amount.is_none_or(|m| amount <= m)
    }

    /// The defaults of flexfactor-api.md §15 (observed sandbox behaviour):
    /// 4000300011112220 declines, 4000002760003184 approves, 4111… challenges on CIT and is
    /// processed-then-approved on MIT.
    pub fn defaults() -> Vec<DecisionRule> {
        vec![
            DecisionRule::card("4000300011112220", RuleOutcome::Decline),
            DecisionRule::card("4000002760003184", RuleOutcome::Approve),
            DecisionRule { is_mit: Some(false), ..DecisionRule::card("4111", RuleOutcome::Challenge) },
            DecisionRule { is_mit: Some(true), ..DecisionRule::card("4111", RuleOutcome::Defer { approve: true }) },
        ]
    }
}

/// The outcome for a card: the first matching rule, else `fallback`.
pub fn decide(rules: &[DecisionRule], fallback: RuleOutcome, card: &str, is_mit: bool, amount: Cents) -> RuleOutcome {
    rules.iter().find(|r| r.matches(card, is_mit, amount)).map_or(fallback, |r| r.outcome)
}

/// Dotted PascalCase paths `/evaluate` requires (present, not null, not an empty string).
pub fn default_evaluate_required() -> Vec<String> {
    [
        "IdempotencyKey",
        "Mid",
        "OrderId",
        "IsMIT",
        "IsDeclined",
        "Transaction.Id",
        "Transaction.Amount",
        "Transaction.Currency",
        "Transaction.TimestampUtc",
        "Payer.Email",
        "BillingInformation",
        "PaymentMethod.CardNumber",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The stricter set the live sandbox enforced in April 2024 (§4.3).
pub fn strict_2024_evaluate_required() -> Vec<String> {
    let mut v = default_evaluate_required();
    for extra in [
        "Transaction.ResponseCode",
        "Transaction.AvsResultCode",
        "Transaction.CvvResultCode",
        "Transaction.CavvResultCode",
        "Transaction.ResponseCodeSource",
    ] {
        v.push(extra.to_string());
    }
    v
}

/// Virtual-time delays of the asynchronous steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Managed MIT: Draft → Processing (default 1 h).
    pub mit_pickup_delay: Duration,
    /// Managed/Sync MIT: Processing → Completed when rescuable (default 3 days; an
    /// order whose expiry comes first expires instead).
    pub mit_rescue_delay: Duration,
    /// Sync MIT without `expiryDateUtc`: the account's retry period (default 14 days).
    pub sync_mit_retry_period: Duration,
    /// CHALLENGE: presented at evaluate, attempted after one step, passed/failed after two
    /// (default 5 min).
    pub challenge_step: Duration,
    /// Whether a challenge resolved by the clock passes (default true).
    pub challenge_passes: bool,
    /// CAPTUREREQUIRED orders auto-void after this (default 7 days).
    pub capture_window: Duration,
    /// Idempotency keys are kept this long (default 24 h).
    pub idempotency_ttl: Duration,
    /// Fallback outcome when no rule matches (default Approve).
    pub fallback: RuleOutcome,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            mit_pickup_delay: Duration::from_secs(3600),
            mit_rescue_delay: Duration::from_secs(3 * 86_400),
            sync_mit_retry_period: Duration::from_secs(14 * 86_400),
            challenge_step: Duration::from_secs(300),
            challenge_passes: true,
            capture_window: Duration::from_secs(7 * 86_400),
            idempotency_ttl: Duration::from_secs(86_400),
            fallback: RuleOutcome::Approve,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_follow_the_observed_sandbox() {
        let r = DecisionRule::defaults();
        let d = |card: &str, mit: bool| decide(&r, RuleOutcome::Approve, card, mit, Cents(1000));
        assert_eq!(d("4111111111111111", false), RuleOutcome::Challenge);
        assert_eq!(d("4111111111111111", true), RuleOutcome::Defer { approve: true });
        assert_eq!(d("4000002760003184", true), RuleOutcome::Approve);
        assert_eq!(d("4000300011112220", false), RuleOutcome::Decline);
        assert_eq!(d("5555555555554444", false), RuleOutcome::Approve);
    }
}
