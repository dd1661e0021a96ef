-- Money-moving intents (DESIGN.md §4): written before anything is sent; double clicks,
-- retries and restarts find the same row by its intent key.
CREATE TABLE outbox (
    intent_key               TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind                     TEXT NOT NULL CHECK (kind IN ('refund', 'cancel', 'external_cancel', 'capture')),
    order_session_key        TEXT,
    merchant_order_id        TEXT,
    amount_cents             INTEGER,
    currency                 TEXT,
    reason                   TEXT NOT NULL,
    operator                 TEXT NOT NULL,
    idempotency_key          TEXT NOT NULL,
    baseline_refunded_cents  INTEGER,
    state                    TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'confirmed', 'rejected', 'awaiting_confirmation')),
    attempts                 INTEGER NOT NULL DEFAULT 0,
    result_message           TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX outbox_by_order ON outbox (account_id, order_session_key);
CREATE INDEX outbox_by_state ON outbox (state);

-- Append-only, hash-chained operator log. No foreign key: the log outlives accounts.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT,
    at         TEXT NOT NULL,
    operator   TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE TABLE notes (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    at                 TEXT NOT NULL,
    operator           TEXT NOT NULL,
    text               TEXT NOT NULL
);
CREATE INDEX notes_by_order ON notes (account_id, order_session_key, at);

CREATE TABLE review_decisions (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    at                 TEXT NOT NULL,
    operator           TEXT NOT NULL,
    decision           TEXT NOT NULL,
    reason             TEXT NOT NULL
);
CREATE INDEX review_by_order ON review_decisions (account_id, order_session_key, at);

CREATE TABLE saved_views (
    id           INTEGER PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    query_json   TEXT NOT NULL,
    columns_json TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (account_id, name)
);
