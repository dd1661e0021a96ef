-- Accounts: non-secret settings only. Secrets live in the OS keychain.
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    environment  TEXT NOT NULL CHECK (environment IN ('demo', 'sandbox', 'production', 'custom')),
    base_url     TEXT NOT NULL,
    mid          TEXT NOT NULL,
    app_key      TEXT NOT NULL,
    demo_seed    INTEGER,
    demo_anchor  TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per FlexFactor order (orderSessionKey) per account. Money in integer cents.
CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    merchant_order_id  TEXT,
    status_code        INTEGER,
    status_name        TEXT,
    decision           TEXT,
    state              TEXT NOT NULL,
    is_mit             INTEGER NOT NULL,
    amount_cents       INTEGER NOT NULL,
    captured_cents     INTEGER NOT NULL,
    refunded_cents     INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    email              TEXT,
    customer_name      TEXT,
    card_bin           TEXT,
    card_last4         TEXT,
    decline_code       TEXT,
    site_id            TEXT,
    placed_at          TEXT,
    created_at         TEXT,
    modified_at        TEXT,
    expiry_at          TEXT,
    raw_json           TEXT NOT NULL,
    synced_at          TEXT NOT NULL,
    UNIQUE (account_id, order_session_key)
);
CREATE INDEX orders_by_created ON orders (account_id, created_at DESC, order_session_key);
CREATE INDEX orders_by_state ON orders (account_id, state, created_at DESC);
CREATE INDEX orders_by_merchant_id ON orders (account_id, merchant_order_id);
CREATE INDEX orders_by_email ON orders (account_id, email COLLATE NOCASE);

-- Substring search over ids, email, name, last-4 and decline code.
CREATE VIRTUAL TABLE orders_search USING fts5(
    order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code,
    content = 'orders', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER orders_search_ai AFTER INSERT ON orders BEGIN
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;
CREATE TRIGGER orders_search_ad AFTER DELETE ON orders BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
END;
CREATE TRIGGER orders_search_au AFTER UPDATE OF order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code ON orders BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;

-- Sync cursors, committed in the same transaction as the rows they cover.
CREATE TABLE sync_cursors (
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);
