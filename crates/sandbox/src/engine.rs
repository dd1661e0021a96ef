//! The sandbox's business state and rules: the card vault, orders created by `/evaluate`,
//! their timed steps on the virtual clock, and the ledgers. No HTTP and no clock reads:
//! every method takes `now`. Methods that change an order push [`SandboxEvent`]s that the
//! caller drains with [`Engine::take_events`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use flexfactor_wire::webhook::EventKind;
use flexfactor_wire::{Cents, Decision, OrderStatus, WireOrder};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ledger::{EvaluationRecord, RefundRecord, SandboxEvent, TransmitRecord};
use crate::order_book::OrderBook;
use crate::problem::hex;
use crate::rules::{DecisionRule, Timing};

/// A card behind a `/tokenize` token.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultedCard {
    pub number: String,
    pub first_name: String,
    pub last_name: String,
    pub month: u32,
    pub year: u32,
}

impl std::fmt::Debug for VaultedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultedCard").field("last4", &last4(&self.number)).finish_non_exhaustive()
    }
}

pub fn last4(pan: &str) -> &str {
    pan.get(pan.len().saturating_sub(4)..).unwrap_or("")
}

/// How an order created here is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Cit,
    ManagedMit,
    SyncMit,
}

/// Sandbox-only facts about an order created by `/evaluate`.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    pub flow: Flow,
    /// `transactionType: AUTHORIZATION`: a rescue ends in CAPTUREREQUIRED.
    pub authorization: bool,
}

/// A timed step of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    StartProcessing,
    ChallengeAttempted,
    ChallengeResolve,
    Complete,
    Expire,
    AutoVoid,
}

#[derive(Debug)]
pub struct Engine {
    pub rules: Vec<DecisionRule>,
    pub timing: Timing,
    rng: ChaCha8Rng,
    pub(crate) vault: HashMap<String, VaultedCard>,
    pub(crate) meta: HashMap<String, Meta>,
    plans: HashMap<String, Vec<(DateTime<Utc>, Step)>>,
    /// MIT merchant order id → FlexFactor id (Sync/Managed MIT retries).
    pub(crate) mit_by_external: HashMap<String, String>,
    /// Forced challenge results (`Sandbox::resolve_challenge`).
    challenge_override: HashMap<String, bool>,
    pub(crate) refunds: HashMap<String, Vec<RefundRecord>>,
    pub(crate) evaluations: Vec<EvaluationRecord>,
    pub(crate) transmits: Vec<TransmitRecord>,
    events: Vec<SandboxEvent>,
}

impl Engine {
    pub fn new(seed: u64, rules: Vec<DecisionRule>, timing: Timing) -> Engine {
        Engine {
            rules,
            timing,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x454e_4749_4e45),
            vault: HashMap::new(),
            meta: HashMap::new(),
            plans: HashMap::new(),
            mit_by_external: HashMap::new(),
            challenge_override: HashMap::new(),
            refunds: HashMap::new(),
            evaluations: Vec::new(),
            transmits: Vec::new(),
            events: Vec::new(),
        }
    }

    /// A GUID from the seeded stream.
    pub fn guid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// `bytes` random bytes as upper-case hex.
    pub fn hex_id(&mut self, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.rng.fill_bytes(&mut b);
        hex(&b).to_ascii_uppercase()
    }

    pub fn take_events(&mut self) -> Vec<SandboxEvent> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn emit(
        &mut self,
        kind: EventKind,
        order: &WireOrder,
        at: DateTime<Utc>,
        data: Option<serde_json::Value>,
    ) {
        let confirmation_id = self.hex_id(4);
        self.events.push(SandboxEvent {
            kind,
            order_id: order.id.clone(),
            external_order_id: order.external_order_id.clone(),
            confirmation_id,
            at,
            data,
        });
    }

    pub(crate) fn plan(&mut self, id: &str, at: DateTime<Utc>, step: Step) {
        self.plans.entry(id.to_ascii_lowercase()).or_default().push((at, step));
    }

    pub(crate) fn clear_plans(&mut self, id: &str) {
        self.plans.remove(&id.to_ascii_lowercase());
    }

    pub(crate) fn meta_of(&self, id: &str) -> Option<Meta> {
        self.meta.get(&id.to_ascii_lowercase()).copied()
    }

    pub fn set_challenge_result(&mut self, id: &str, passed: bool) {
        self.challenge_override.insert(id.to_ascii_lowercase(), passed);
    }

    /// Applies every step due at or before `now`, in time order (then order id, then step).
    /// Steps a step schedules are applied too when already due. Returns how many ran.
    pub fn tick(&mut self, book: &mut OrderBook, now: DateTime<Utc>) -> usize {
        let mut ran = 0;
        for _ in 0..64 {
            let mut due: Vec<(DateTime<Utc>, String, Step)> = Vec::new();
            for (id, steps) in &mut self.plans {
                steps.retain(|&(at, step)| {
                    if at <= now {
                        due.push((at, id.clone(), step));
                        false
                    } else {
                        true
                    }
                });
            }
            self.plans.retain(|_, steps| !steps.is_empty());
            if due.is_empty() {
                break;
            }
            due.sort();
            for (at, id, step) in due {
                self.apply(book, &id, step, at);
                ran += 1;
            }
        }
        ran
    }

    /// Runs the next pending step of `id` now (the traffic generator's "move forward").
    pub fn advance_order(&mut self, book: &mut OrderBook, id: &str, now: DateTime<Utc>) -> bool {
        let key = id.to_ascii_lowercase();
        let Some(steps) = self.plans.get_mut(&key) else {
            return false;
        };
        steps.sort();
        let Some(pos) = steps.iter().enumerate().min_by_key(|(_, (at, _))| *at).map(|(i, _)| i) else {
            return false;
        };
        let (_, step) = steps.remove(pos);
        self.apply(book, &key, step, now);
        true
    }

    /// Ids of orders with pending steps.
    pub fn pending_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.plans.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn apply(&mut self, book: &mut OrderBook, id: &str, step: Step, at: DateTime<Utc>) {
        let Some(mut order) = book.get(id).cloned() else {
            return;
        };
        let status = order.status.map(OrderStatus::from);
        let open = matches!(status, Some(OrderStatus::Draft | OrderStatus::Processing));
        match step {
            Step::StartProcessing if status == Some(OrderStatus::Draft) => {
                set_state(&mut order, OrderStatus::Processing, None, at);
            }
            Step::Complete if open => {
                self.clear_plans(id);
                self.rescue(&mut order, at);
            }
            Step::Expire if open => {
                self.clear_plans(id);
                set_state(&mut order, OrderStatus::Cancelled, Some(Decision::Expired), at);
                self.emit(EventKind::OrderExpired, &order, at, None);
            }
            Step::ChallengeAttempted if is_challenge(&order) => {
                self.emit(EventKind::ChallengeAttempted, &order, at, None);
            }
            Step::ChallengeResolve if is_challenge(&order) => {
                self.clear_plans(id);
                let passed = self.challenge_override.remove(id).unwrap_or(self.timing.challenge_passes);
                self.finish_challenge(&mut order, passed, at);
            }
            Step::AutoVoid if status == Some(OrderStatus::CaptureRequired) => {
                self.clear_plans(id);
                set_state(&mut order, OrderStatus::Cancelled, Some(Decision::Cancelled), at);
                self.emit(
                    EventKind::OrderCancelled,
                    &order,
                    at,
                    Some(serde_json::json!({"Reason": "CaptureWindowLapsed"})),
                );
            }
            _ => return,
        }
        book.upsert(order);
    }

    /// Passed → Completed (or CAPTUREREQUIRED); failed → Cancelled DECLINED.
    pub(crate) fn finish_challenge(&mut self, order: &mut WireOrder, passed: bool, at: DateTime<Utc>) {
        if passed {
            self.emit(EventKind::ChallengePassed, order, at, None);
            self.rescue(order, at);
        } else {
            self.emit(EventKind::ChallengeFailed, order, at, None);
            set_state(order, OrderStatus::Cancelled, Some(Decision::Declined), at);
        }
    }

    /// The rescue succeeded: Completed (captured in full) and `order.completed`, or for an
    /// authorization CAPTUREREQUIRED with its capture window and `order.capturerequired`.
    pub(crate) fn rescue(&mut self, order: &mut WireOrder, at: DateTime<Utc>) {
        let authorization = self.meta_of(&order.id).is_some_and(|m| m.authorization);
        if authorization {
            self.require_capture(order, at);
        } else {
            order.captured_amount = order.amount;
            set_state(order, OrderStatus::Completed, Some(Decision::Approved), at);
            self.emit(EventKind::OrderCompleted, order, at, None);
        }
    }

    pub(crate) fn require_capture(&mut self, order: &mut WireOrder, at: DateTime<Utc>) {
        set_state(order, OrderStatus::CaptureRequired, Some(Decision::CaptureRequired), at);
        let deadline = at + chrono::Duration::from_std(self.timing.capture_window).unwrap_or(chrono::Duration::MAX);
        let id = order.id.clone();
        self.plan(&id, deadline, Step::AutoVoid);
        self.emit(EventKind::OrderCaptureRequired, order, at, None);
    }

    pub fn record_transmit(&mut self, order_id: Option<String>, at: DateTime<Utc>) -> String {
        let transmit_id = self.guid();
        self.transmits.push(TransmitRecord { transmit_id: transmit_id.clone(), order_id, at });
        transmit_id
    }
}

fn is_challenge(order: &WireOrder) -> bool {
    order.status == Some(OrderStatus::Processing.code()) && order.decision.as_deref() == Some("CHALLENGE")
}

/// Sets status (and `statusName`), optionally the decision word, and `modifiedOn`.
pub(crate) fn set_state(order: &mut WireOrder, status: OrderStatus, decision: Option<Decision>, at: DateTime<Utc>) {
    order.status = Some(status.code());
    order.status_name = Some(status.name().to_string());
    if let Some(d) = decision {
        order.decision = Some(d.as_str().to_string());
    }
    order.modified_on = Some(at);
}

/// The word `/evaluate` (and a retry of it) answers for the order's current state:
/// SUBMITTED for an open Managed MIT, otherwise the stored decision.
pub fn status_word(order: &WireOrder, flow: Option<Flow>) -> String {
    let open = matches!(order.status.map(OrderStatus::from), Some(OrderStatus::Draft | OrderStatus::Processing));
    if open && flow == Some(Flow::ManagedMit) {
        return "SUBMITTED".to_string();
    }
    order.decision.clone().unwrap_or_else(|| "PROCESSING".to_string())
}

/// `Cents` minus `Cents`, saturating at zero.
pub fn remaining(captured: Option<Cents>, refunded: Option<Cents>) -> Cents {
    Cents((captured.unwrap_or_default().0 - refunded.unwrap_or_default().0).max(0))
}
