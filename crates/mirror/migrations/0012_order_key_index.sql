-- The order key becomes a named unique index, `orders_by_key`, instead of the table's inline
-- UNIQUE constraint (whose automatic index cannot be dropped). A bulk load into an empty
-- mirror can then take it off like the other secondary indexes and build it sorted at the
-- end: FlexFactor's order keys are random GUIDs, and keeping a B-tree over them current
-- rewrites most of its pages at every commit (measured in BENCHMARKS.md). While it is off,
-- each writer finds existing orders through a key map of its own (see `load_keys.rs`).
--
-- SQLite cannot drop a table constraint, so the table is rebuilt: same columns and ids (the
-- word index and `order_json` refer to them), then the indexes and triggers as they were.
-- A bulk load left open by an earlier build ends here (every index and trigger is back), and
-- the chart rollups are recomputed from the orders, which is right whatever that load did.

CREATE TABLE orders_rebuilt (
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
    synced_at          TEXT NOT NULL,
    api_state          TEXT,
    first_decision     TEXT
);
INSERT INTO orders_rebuilt (id, account_id, order_session_key, merchant_order_id, status_code, status_name, decision,
    state, is_mit, amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin, card_last4,
    decline_code, site_id, placed_at, created_at, modified_at, expiry_at, synced_at, api_state, first_decision)
SELECT id, account_id, order_session_key, merchant_order_id, status_code, status_name, decision,
    state, is_mit, amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin, card_last4,
    decline_code, site_id, placed_at, created_at, modified_at, expiry_at, synced_at, api_state, first_decision
FROM orders ORDER BY id;
-- Drops the old table's indexes and triggers with it (no trigger fires, no foreign key points here).
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;

CREATE UNIQUE INDEX orders_by_key ON orders (account_id, order_session_key);
CREATE INDEX orders_by_amount ON orders (account_id, amount_cents);
CREATE INDEX orders_by_created ON orders (account_id, created_at);
CREATE INDEX orders_by_expiry ON orders (account_id, expiry_at);
CREATE INDEX orders_by_merchant_id ON orders (merchant_order_id);
CREATE INDEX orders_by_state ON orders (account_id, state, created_at);
CREATE TRIGGER orders_json_ad AFTER DELETE ON orders BEGIN
    DELETE FROM order_json WHERE order_id = old.id;
END;
CREATE TRIGGER orders_poll_timeline AFTER UPDATE OF api_state, captured_cents, refunded_cents ON orders
WHEN old.api_state IS NOT new.api_state OR old.captured_cents <> new.captured_cents
  OR old.refunded_cents <> new.refunded_cents
BEGIN
    INSERT OR IGNORE INTO timeline (account_id, order_session_key, event_key, at, kind, summary, payload, state_hint, changed_state)
    VALUES (
        new.account_id, new.order_session_key,
        'poll:' || new.order_session_key || ':' || new.synced_at || ':' || coalesce(new.api_state, '') || ':'
            || new.captured_cents || ':' || new.refunded_cents,
        strftime('%Y-%m-%dT%H:%M:%fZ', new.synced_at),
        'poll',
        CASE WHEN old.api_state IS NOT new.api_state
                    THEN CASE old.api_state WHEN 'captureRequired' THEN 'capture required' WHEN 'partiallyRefunded' THEN 'partially refunded' WHEN 'onHold' THEN 'on hold' ELSE coalesce(old.api_state, 'unknown') END
                         || ' → ' || CASE new.api_state WHEN 'captureRequired' THEN 'capture required' WHEN 'partiallyRefunded' THEN 'partially refunded' WHEN 'onHold' THEN 'on hold' ELSE coalesce(new.api_state, 'unknown') END
                    ELSE CASE new.api_state WHEN 'captureRequired' THEN 'capture required' WHEN 'partiallyRefunded' THEN 'partially refunded' WHEN 'onHold' THEN 'on hold' ELSE coalesce(new.api_state, 'unknown') END END
            || CASE WHEN old.captured_cents <> new.captured_cents
                    THEN ', captured ' || printf('%.2f', new.captured_cents / 100.0) || ' ' || new.currency ELSE '' END
            || CASE WHEN old.refunded_cents <> new.refunded_cents
                    THEN ', refunded ' || printf('%.2f', new.refunded_cents / 100.0) || ' ' || new.currency ELSE '' END,
        NULL,
        new.api_state,
        old.state IS NOT new.state
    );
    -- 2. A state FlexFactor announces by webhook, or a further refund, seen first by polling:
    -- the webhook is expected. `Mirror::check_webhook_expectations` looks once the grace
    -- period is over.
    INSERT INTO webhook_expectations (account_id, order_session_key, hint, seen_at)
    SELECT new.account_id, new.order_session_key,
           CASE WHEN new.refunded_cents > old.refunded_cents OR new.api_state = 'refunded' THEN 'partiallyRefunded'
                ELSE new.api_state END,
           new.synced_at
    WHERE (old.api_state IS NOT new.api_state
           AND new.api_state IN ('approved', 'cancelled', 'expired', 'partiallyRefunded', 'refunded', 'captureRequired',
                                 'chargeback', 'challenge'))
       OR new.refunded_cents > old.refunded_cents;
END;
CREATE TRIGGER orders_rollup_ad AFTER DELETE ON orders BEGIN
    UPDATE rollup_days SET orders = orders - 1, amount_cents = amount_cents - old.amount_cents,
        captured_cents = captured_cents - old.captured_cents, refunded_cents = refunded_cents - old.refunded_cents
    WHERE account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state AND decline = coalesce('=' || old.decline_code, '');
    UPDATE rollup_rescue SET orders = orders - 1
    WHERE account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state
      AND has_days = ((CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL)
      AND rescue_days = coalesce(CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0);
    UPDATE rollup_rescue_month SET orders = orders - 1
    WHERE account_id = old.account_id AND month = coalesce(substr(old.created_at, 1, 7), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state
      AND has_days = ((CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL)
      AND rescue_days = coalesce(CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0);
    UPDATE rollup_expiry SET orders = orders - 1, amount_cents = amount_cents - old.amount_cents
    WHERE old.is_mit = 1 AND account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '')
      AND currency = old.currency AND state = old.state AND expiry_day = coalesce(substr(old.expiry_at, 1, 10), '');
END;
CREATE TRIGGER orders_rollup_ai AFTER INSERT ON orders BEGIN
    INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents, captured_cents, refunded_cents)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.is_mit, new.state,
            coalesce('=' || new.decline_code, ''), 1, new.amount_cents, new.captured_cents, new.refunded_cents)
    ON CONFLICT DO UPDATE SET orders = orders + 1, amount_cents = amount_cents + excluded.amount_cents,
        captured_cents = captured_cents + excluded.captured_cents, refunded_cents = refunded_cents + excluded.refunded_cents;
    INSERT INTO rollup_rescue (account_id, day, currency, is_mit, state, has_days, rescue_days, orders)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.is_mit, new.state,
            (CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL,
            coalesce(CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0), 1)
    ON CONFLICT DO UPDATE SET orders = orders + 1;
    INSERT INTO rollup_rescue_month (account_id, month, currency, is_mit, state, has_days, rescue_days, orders)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 7), ''), new.currency, new.is_mit, new.state,
            (CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL,
            coalesce(CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0), 1)
    ON CONFLICT DO UPDATE SET orders = orders + 1;
    INSERT INTO rollup_expiry (account_id, day, currency, state, expiry_day, orders, amount_cents)
    SELECT new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.state,
           coalesce(substr(new.expiry_at, 1, 10), ''), 1, new.amount_cents
    WHERE new.is_mit = 1
    ON CONFLICT DO UPDATE SET orders = orders + 1, amount_cents = amount_cents + excluded.amount_cents;
END;
CREATE TRIGGER orders_rollup_au AFTER UPDATE OF account_id, created_at, currency, is_mit, state, decline_code, amount_cents,
    captured_cents, refunded_cents, placed_at, modified_at, expiry_at ON orders BEGIN
    UPDATE rollup_days SET orders = orders - 1, amount_cents = amount_cents - old.amount_cents,
        captured_cents = captured_cents - old.captured_cents, refunded_cents = refunded_cents - old.refunded_cents
    WHERE account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state AND decline = coalesce('=' || old.decline_code, '');
    UPDATE rollup_rescue SET orders = orders - 1
    WHERE account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state
      AND has_days = ((CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL)
      AND rescue_days = coalesce(CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0);
    UPDATE rollup_rescue_month SET orders = orders - 1
    WHERE account_id = old.account_id AND month = coalesce(substr(old.created_at, 1, 7), '') AND currency = old.currency
      AND is_mit = old.is_mit AND state = old.state
      AND has_days = ((CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL)
      AND rescue_days = coalesce(CAST(round((julianday(old.modified_at) - julianday(old.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0);
    UPDATE rollup_expiry SET orders = orders - 1, amount_cents = amount_cents - old.amount_cents
    WHERE old.is_mit = 1 AND account_id = old.account_id AND day = coalesce(substr(old.created_at, 1, 10), '')
      AND currency = old.currency AND state = old.state AND expiry_day = coalesce(substr(old.expiry_at, 1, 10), '');
    INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents, captured_cents, refunded_cents)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.is_mit, new.state,
            coalesce('=' || new.decline_code, ''), 1, new.amount_cents, new.captured_cents, new.refunded_cents)
    ON CONFLICT DO UPDATE SET orders = orders + 1, amount_cents = amount_cents + excluded.amount_cents,
        captured_cents = captured_cents + excluded.captured_cents, refunded_cents = refunded_cents + excluded.refunded_cents;
    INSERT INTO rollup_rescue (account_id, day, currency, is_mit, state, has_days, rescue_days, orders)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.is_mit, new.state,
            (CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL,
            coalesce(CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0), 1)
    ON CONFLICT DO UPDATE SET orders = orders + 1;
    INSERT INTO rollup_rescue_month (account_id, month, currency, is_mit, state, has_days, rescue_days, orders)
    VALUES (new.account_id, coalesce(substr(new.created_at, 1, 7), ''), new.currency, new.is_mit, new.state,
            (CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL,
            coalesce(CAST(round((julianday(new.modified_at) - julianday(new.placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0), 1)
    ON CONFLICT DO UPDATE SET orders = orders + 1;
    INSERT INTO rollup_expiry (account_id, day, currency, state, expiry_day, orders, amount_cents)
    SELECT new.account_id, coalesce(substr(new.created_at, 1, 10), ''), new.currency, new.state,
           coalesce(substr(new.expiry_at, 1, 10), ''), 1, new.amount_cents
    WHERE new.is_mit = 1
    ON CONFLICT DO UPDATE SET orders = orders + 1, amount_cents = amount_cents + excluded.amount_cents;
END;
CREATE TRIGGER orders_search_ad AFTER DELETE ON orders
WHEN old.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
END;
CREATE TRIGGER orders_search_ai AFTER INSERT ON orders
WHEN new.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;
CREATE TRIGGER orders_search_au AFTER UPDATE OF order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code ON orders
WHEN old.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;

-- A bulk load left open ends here: its saved definitions are all restored above.
DELETE FROM mirror_bulk_ddl;
DELETE FROM mirror_marks WHERE name = 'rollups_stale';
DELETE FROM rollup_days;
DELETE FROM rollup_rescue;
DELETE FROM rollup_rescue_month;
DELETE FROM rollup_expiry;
INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents, captured_cents, refunded_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state, coalesce('=' || decline_code, ''),
       COUNT(*), SUM(amount_cents), SUM(captured_cents), SUM(refunded_cents)
FROM orders GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO rollup_rescue (account_id, day, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state, d IS NOT NULL, coalesce(d, 0), COUNT(*)
FROM (SELECT account_id, created_at, currency, is_mit, state,
             CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000 AS d
      FROM orders)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_rescue_month (account_id, month, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, substr(day, 1, 7), currency, is_mit, state, has_days, rescue_days, SUM(orders)
FROM rollup_rescue GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_expiry (account_id, day, currency, state, expiry_day, orders, amount_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, state, coalesce(substr(expiry_at, 1, 10), ''),
       COUNT(*), SUM(amount_cents)
FROM orders WHERE is_mit = 1 GROUP BY 1, 2, 3, 4, 5;
