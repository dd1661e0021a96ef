//! The shared state behind the router: the order book, tokens, the business engine, the
//! virtual clock, faults, the idempotency store, webhook targets and the logs tests read.
//!
//! Lock order (never taken the other way round): engine → orders. The webhook channel
//! and the logs are only touched after both are released.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use flexfactor_wire::WireOrder;
use tokio::sync::mpsc::UnboundedSender;

use crate::auth::TokenStore;
use crate::clock::{Clock, VirtualClock};
use crate::engine::Engine;
use crate::faults::{FaultState, Faults};
use crate::idempotency::IdempotencyStore;
use crate::ledger::SandboxEvent;
use crate::order_book::OrderBook;
use crate::webhooks::{DeliveryRecord, ResolvedTarget, WebhookSettings};
use crate::{seed_history, SandboxConfig, SandboxCredentials};

/// Cheap to clone (an `Arc`); every clone sees the same orders and tokens.
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    mid: String,
    seed: u64,
    tokenization_key: String,
    credentials: Vec<SandboxCredentials>,
    token_ttl: Duration,
    max_page_size: u32,
    evaluate_required: Vec<String>,
    clock: VirtualClock,
    orders: RwLock<OrderBook>,
    tokens: Mutex<TokenStore>,
    engine: Mutex<Engine>,
    faults: Mutex<FaultState>,
    idempotency: Mutex<IdempotencyStore>,
    targets: Mutex<Vec<ResolvedTarget>>,
    webhook_settings: Mutex<WebhookSettings>,
    events_tx: Mutex<Option<UnboundedSender<SandboxEvent>>>,
    events: Mutex<Vec<SandboxEvent>>,
    deliveries: Mutex<Vec<DeliveryRecord>>,
}

impl std::fmt::Debug for SandboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxState")
            .field("mid", &self.inner.mid)
            .field("credentials", &self.inner.credentials)
            .field("orders", &self.order_count())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SandboxState {
    /// State holding the seeded history of `config` (see [`seed_history`]).
    pub fn new(config: &SandboxConfig) -> SandboxState {
        SandboxState::with_orders(config, seed_history(config))
    }

    /// State holding exactly `orders` (seed fields of `config` are ignored). Webhook
    /// targets that do not resolve are skipped here; `SandboxConfig::validate` rejects them.
    pub fn with_orders(config: &SandboxConfig, orders: Vec<WireOrder>) -> SandboxState {
        let clock = match config.clock_start {
            Some(start) => VirtualClock::frozen(start),
            None => VirtualClock::running(),
        };
        let targets = config.webhooks.iter().filter_map(|t| ResolvedTarget::resolve(t).ok()).collect();
        SandboxState {
            inner: Arc::new(Inner {
                mid: config.mid.clone(),
                seed: config.seed,
                tokenization_key: config.tokenization_key.clone(),
                credentials: config.credentials.clone(),
                token_ttl: config.token_ttl,
                max_page_size: config.max_page_size.max(1),
                evaluate_required: config.evaluate_required.clone(),
                clock,
                orders: RwLock::new(OrderBook::new(orders)),
                tokens: Mutex::new(TokenStore::default()),
                engine: Mutex::new(Engine::new(config.seed, config.decision_rules.clone(), config.timing.clone())),
                faults: Mutex::new(FaultState::new(config.faults.clone())),
                idempotency: Mutex::new(IdempotencyStore::default()),
                targets: Mutex::new(targets),
                webhook_settings: Mutex::new(config.webhook_settings.clone()),
                events_tx: Mutex::new(None),
                events: Mutex::new(Vec::new()),
                deliveries: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn mid(&self) -> &str {
        &self.inner.mid
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The `environment` value `/tokenize` accepts.
    pub fn tokenization_key(&self) -> &str {
        &self.inner.tokenization_key
    }

    pub fn credentials(&self) -> &[SandboxCredentials] {
        &self.inner.credentials
    }

    pub fn token_ttl(&self) -> Duration {
        self.inner.token_ttl
    }

    pub fn max_page_size(&self) -> u32 {
        self.inner.max_page_size
    }

    pub fn evaluate_required(&self) -> &[String] {
        &self.inner.evaluate_required
    }

    /// Virtual now.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Moves virtual time forward and applies every step that became due.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by);
        self.tick();
    }

    /// Applies every step due at virtual now.
    pub fn tick(&self) {
        self.with_engine(|_, _, _| ());
    }

    pub fn idempotency_ttl(&self) -> Duration {
        lock(&self.inner.engine).timing.idempotency_ttl
    }

    pub fn order_count(&self) -> usize {
        self.orders().len()
    }

    /// Every order as currently served, in insertion order.
    pub fn orders_snapshot(&self) -> Vec<WireOrder> {
        self.orders().snapshot()
    }

    /// Replaces the order with the same id, or adds it: lets tests change history
    /// (e.g. a new `modifiedOn`) between two syncs.
    pub fn upsert_order(&self, order: WireOrder) {
        self.orders_mut().upsert(order);
    }

    /// Every issued access token stops working at once.
    pub fn force_token_expiry(&self) {
        self.tokens().clear();
        tracing::info!("sandbox: all access tokens revoked");
    }

    /// Runs `f` on the engine and the orders after applying every due step, then
    /// publishes the events it produced.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine, &mut OrderBook, DateTime<Utc>) -> R) -> R {
        let now = self.now();
        let (out, events) = {
            let mut engine = lock(&self.inner.engine);
            let mut book = self.orders_mut();
            engine.tick(&mut book, now);
            let out = f(&mut engine, &mut book, now);
            (out, engine.take_events())
        };
        self.publish(events);
        out
    }

    fn publish(&self, events: Vec<SandboxEvent>) {
        if events.is_empty() {
            return;
        }
        for e in &events {
            tracing::info!(event = %e.kind.as_str(), order = %e.order_id, "sandbox: event");
        }
        if let Some(tx) = lock(&self.inner.events_tx).as_ref() {
            for e in &events {
                let _ = tx.send(e.clone());
            }
        }
        lock(&self.inner.events).extend(events);
    }

    pub(crate) fn set_event_sink(&self, tx: UnboundedSender<SandboxEvent>) {
        *lock(&self.inner.events_tx) = Some(tx);
    }

    /// Every event emitted so far.
    pub fn events(&self) -> Vec<SandboxEvent> {
        lock(&self.inner.events).clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults() = FaultState::new(faults);
    }

    pub fn webhook_targets(&self) -> Vec<ResolvedTarget> {
        lock(&self.inner.targets).clone()
    }

    pub(crate) fn set_webhook_targets(&self, targets: Vec<ResolvedTarget>) {
        *lock(&self.inner.targets) = targets;
    }

    pub fn webhook_settings(&self) -> WebhookSettings {
        lock(&self.inner.webhook_settings).clone()
    }

    pub fn set_webhook_settings(&self, settings: WebhookSettings) {
        *lock(&self.inner.webhook_settings) = settings;
    }

    pub(crate) fn record_delivery(&self, record: DeliveryRecord) {
        lock(&self.inner.deliveries).push(record);
    }

    pub fn delivered_webhooks(&self) -> Vec<DeliveryRecord> {
        lock(&self.inner.deliveries).clone()
    }

    pub(crate) fn engine(&self) -> MutexGuard<'_, Engine> {
        lock(&self.inner.engine)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.inner.faults)
    }

    pub(crate) fn idempotency(&self) -> MutexGuard<'_, IdempotencyStore> {
        lock(&self.inner.idempotency)
    }

    /// Read access to the orders. A poisoned lock is recovered: the book is only ever
    /// replaced element-wise, so it is consistent even after a panicking writer.
    pub(crate) fn orders(&self) -> RwLockReadGuard<'_, OrderBook> {
        self.inner.orders.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn orders_mut(&self) -> RwLockWriteGuard<'_, OrderBook> {
        self.inner.orders.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn tokens(&self) -> MutexGuard<'_, TokenStore> {
        self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}
