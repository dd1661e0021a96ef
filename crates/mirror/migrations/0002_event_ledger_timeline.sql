-- The order state as the API last reported it; `orders.state` is the effective state:
-- the highest in lifecycle rank of the API state and every webhook hint (state.rs).
ALTER TABLE orders ADD COLUMN api_state TEXT;
UPDATE orders SET api_state = state;

-- Per-order timeline; `event_key` makes it the event ledger too: an input already applied
-- (a webhook retry, a replayed feed page) is recognized and ignored.
CREATE TABLE timeline (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    event_key          TEXT NOT NULL,
    at                 TEXT NOT NULL,
    kind               TEXT NOT NULL,
    summary            TEXT NOT NULL,
    payload            TEXT,
    state_hint         TEXT,
    changed_state      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, event_key)
);
CREATE INDEX timeline_by_order ON timeline (account_id, order_session_key, at);

-- The highest state any webhook claimed for an order (kept even before the order is mirrored).
CREATE TABLE order_hints (
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    state_rank         INTEGER NOT NULL,
    PRIMARY KEY (account_id, order_session_key)
);

-- Orders whose webhooks and polls disagree.
CREATE TABLE drift (
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('missing_webhook', 'unknown_order')),
    detected_at        TEXT NOT NULL,
    detail             TEXT NOT NULL,
    resolved_at        TEXT,
    PRIMARY KEY (account_id, order_session_key, kind)
);
