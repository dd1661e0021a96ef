//! The shared state behind the router: the order book, the token store and the settings
//! the handlers need.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use flexfactor_wire::WireOrder;

use crate::auth::TokenStore;
use crate::order_book::OrderBook;
use crate::{seed_history, SandboxConfig, SandboxCredentials};

/// Cheap to clone (an `Arc`); every clone sees the same orders and tokens.
#[derive(Clone)]
pub struct SandboxState {
    inner: Arc<Inner>,
}

struct Inner {
    mid: String,
    credentials: Vec<SandboxCredentials>,
    token_ttl: Duration,
    max_page_size: u32,
    orders: RwLock<OrderBook>,
    tokens: Mutex<TokenStore>,
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

impl SandboxState {
    /// State holding the seeded history of `config` (see [`seed_history`]).
    pub fn new(config: &SandboxConfig) -> SandboxState {
        SandboxState::with_orders(config, seed_history(config))
    }

    /// State holding exactly `orders` (seed fields of `config` are ignored).
    pub fn with_orders(config: &SandboxConfig, orders: Vec<WireOrder>) -> SandboxState {
        SandboxState {
            inner: Arc::new(Inner {
                mid: config.mid.clone(),
                credentials: config.credentials.clone(),
                token_ttl: config.token_ttl,
                max_page_size: config.max_page_size.max(1),
                orders: RwLock::new(OrderBook::new(orders)),
                tokens: Mutex::new(TokenStore::default()),
            }),
        }
    }

    pub fn mid(&self) -> &str {
        &self.inner.mid
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
