//! The live traffic generator: new CIT and MIT evaluations at a steady rate, and pending
//! orders moved one step forward, so the Demo account changes while someone watches.
//! Off by default; `Sandbox::start_traffic` / `stop_traffic`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use flexfactor_wire::{Address, Cents, EvaluateRequest, Payer, PaymentMethod, Transaction};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::Engine;
use crate::evaluate::Valid;
use crate::order_book::OrderBook;
use crate::SandboxState;

const CARDS: [&str; 4] = ["4111111111111111", "4000002760003184", "4000300011112220", "5555555555554444"];
const NAMES: [(&str, &str); 5] =
    [("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper"), ("Edsger", "Dijkstra"), ("Barbara", "Liskov")];

/// Runs until aborted: every `60 / rate_per_minute` seconds one new order, and with
/// probability ½ one pending order's next step.
pub fn spawn(state: SandboxState, rate_per_minute: u32) -> tokio::task::JoinHandle<()> {
    let period = Duration::from_secs_f64(60.0 / f64::from(rate_per_minute.max(1)));
    tokio::spawn(async move {
        let mut rng = ChaCha8Rng::seed_from_u64(state.seed() ^ 0x0054_5241_4646_4943);
        let mut n: u64 = 0;
        let mut interval = tokio::time::interval(period);
        interval.tick().await;
        loop {
            interval.tick().await;
            n += 1;
            let mid = state.mid().to_string();
            state.with_engine(|engine, book, now| step(engine, book, &mut rng, &mid, n, now));
        }
    })
}

fn step(engine: &mut Engine, book: &mut OrderBook, rng: &mut ChaCha8Rng, mid: &str, n: u64, now: DateTime<Utc>) {
    let is_mit = rng.gen_bool(0.4);
    let card = CARDS[rng.gen_range(0..CARDS.len())].to_string();
    let (first, last) = NAMES[rng.gen_range(0..NAMES.len())];
    let amount = Cents(rng.gen_range(11..20_000));
    let managed = is_mit && rng.gen_bool(0.7);
    let expiry = managed.then(|| now + chrono::Duration::days(21));
    let external = if is_mit { format!("SUB-LIVE-{n}") } else { format!("WEB-LIVE-{n}") };
    let request = EvaluateRequest {
        is_declined: Some(true),
        is_mit: Some(is_mit),
        is_recurring: Some(is_mit),
        mid: Some(mid.to_string()),
        order_id: Some(external),
        idempotency_key: Some(engine.guid()),
        expiry_date_utc: expiry.map(|e| e.to_rfc3339()),
        transaction: Some(Transaction {
            id: Some(format!("psp-live-{n}")),
            amount: Some(amount),
            currency: Some("USD".to_string()),
            response_code: Some("05".to_string()),
            ..Default::default()
        }),
        payer: Some(Payer {
            email: Some(format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase())),
            ..Default::default()
        }),
        billing_information: Some(Address {
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            country_code: Some("US".to_string()),
            ..Default::default()
        }),
        payment_method: Some(PaymentMethod { token: Some(false), ..Default::default() }),
        ..Default::default()
    };
    engine.evaluate(book, &Valid { request, card, amount, expiry }, now);
    if rng.gen_bool(0.5) {
        let pending = engine.pending_ids();
        if !pending.is_empty() {
            let id = pending[rng.gen_range(0..pending.len())].clone();
            engine.advance_order(book, &id, now);
        }
    }
}
