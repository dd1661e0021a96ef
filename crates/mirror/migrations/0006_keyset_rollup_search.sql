-- Fast reads at a million orders (DESIGN.md §8):
-- 1. one index per list sort (filter column + sort key + orderSessionKey as the tiebreak), so a
--    page is an index range scan after a keyset cursor instead of an OFFSET walk;
-- 2. rollup tables kept by triggers on `orders`, so the charts read a few thousand groups
--    instead of scanning every order;
-- 3. the search index is filled in bulk: `mirror_marks.search_indexed_upto` is the highest
--    order id the word index covers; searches scan the (few) rows past it directly;
-- 4. the raw API JSON moves to its own table, so that scans and index builds over `orders`
--    read a quarter of the pages.

-- 4. Raw JSON beside, not inside, the order rows.
CREATE TABLE order_json (
    order_id  INTEGER PRIMARY KEY,
    raw_json  TEXT NOT NULL
);
INSERT INTO order_json (order_id, raw_json) SELECT id, raw_json FROM orders;
ALTER TABLE orders DROP COLUMN raw_json;
CREATE TRIGGER orders_json_ad AFTER DELETE ON orders BEGIN
    DELETE FROM order_json WHERE order_id = old.id;
END;

CREATE TABLE mirror_marks (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);

-- Definitions of the secondary indexes and triggers on `orders` taken off during a bulk load
-- into an (almost) empty mirror; restored, and the rollups recomputed, when it finishes.
CREATE TABLE mirror_bulk_ddl (
    name  TEXT PRIMARY KEY,
    sql   TEXT NOT NULL
);

-- 1. Keyset indexes. Ties break by orderSessionKey in the sort's direction, so one index
-- serves a sort both ways.
DROP INDEX orders_by_created;
DROP INDEX orders_by_state;
CREATE INDEX orders_by_created ON orders (account_id, created_at, order_session_key);
CREATE INDEX orders_by_state ON orders (account_id, state, created_at, order_session_key);
CREATE INDEX orders_by_amount ON orders (account_id, amount_cents, order_session_key);
CREATE INDEX orders_by_expiry ON orders (account_id, expiry_at, order_session_key);

-- 2. Rollups. Keys never hold NULL (an upsert could not find a NULL key again):
-- `day` is '' when the order has no creation time; `decline` is '' for no decline code and
-- '=' || code otherwise; `has_days` says whether `rescue_days` is meaningful.
CREATE TABLE rollup_days (
    account_id      TEXT NOT NULL,
    day             TEXT NOT NULL,
    currency        TEXT NOT NULL,
    is_mit          INTEGER NOT NULL,
    state           TEXT NOT NULL,
    decline         TEXT NOT NULL,
    orders          INTEGER NOT NULL,
    amount_cents    INTEGER NOT NULL,
    captured_cents  INTEGER NOT NULL,
    refunded_cents  INTEGER NOT NULL,
    PRIMARY KEY (account_id, day, currency, is_mit, state, decline)
) WITHOUT ROWID;

-- Whole days from placed_at to modified_at, per creation day and per creation month (the
-- charts group by month: whole months come from the month table, the days of a partial
-- month from the day table). State comes first: a query reads only the states it asks for.
CREATE TABLE rollup_rescue (
    account_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    day          TEXT NOT NULL,
    currency     TEXT NOT NULL,
    is_mit       INTEGER NOT NULL,
    has_days     INTEGER NOT NULL,
    rescue_days  INTEGER NOT NULL,
    orders       INTEGER NOT NULL,
    PRIMARY KEY (account_id, state, day, currency, is_mit, has_days, rescue_days)
) WITHOUT ROWID;
CREATE TABLE rollup_rescue_month (
    account_id   TEXT NOT NULL,
    state        TEXT NOT NULL,
    month        TEXT NOT NULL,
    currency     TEXT NOT NULL,
    is_mit       INTEGER NOT NULL,
    has_days     INTEGER NOT NULL,
    rescue_days  INTEGER NOT NULL,
    orders       INTEGER NOT NULL,
    PRIMARY KEY (account_id, state, month, currency, is_mit, has_days, rescue_days)
) WITHOUT ROWID;

-- MIT orders by creation day and expiry day ('' when none).
CREATE TABLE rollup_expiry (
    account_id    TEXT NOT NULL,
    day           TEXT NOT NULL,
    currency      TEXT NOT NULL,
    state         TEXT NOT NULL,
    expiry_day    TEXT NOT NULL,
    orders        INTEGER NOT NULL,
    amount_cents  INTEGER NOT NULL,
    PRIMARY KEY (account_id, state, day, currency, expiry_day)
) WITHOUT ROWID;

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

INSERT INTO rollup_days (account_id, day, currency, is_mit, state, decline, orders, amount_cents, captured_cents, refunded_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state, coalesce('=' || decline_code, ''),
       COUNT(*), SUM(amount_cents), SUM(captured_cents), SUM(refunded_cents)
FROM orders GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO rollup_rescue (account_id, day, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, is_mit, state,
       (CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000) IS NOT NULL,
       coalesce(CAST(round((julianday(modified_at) - julianday(placed_at)) * 86400000.0) AS INTEGER) / 86400000, 0), COUNT(*)
FROM orders GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_rescue_month (account_id, month, currency, is_mit, state, has_days, rescue_days, orders)
SELECT account_id, substr(day, 1, 7), currency, is_mit, state, has_days, rescue_days, SUM(orders)
FROM rollup_rescue GROUP BY 1, 2, 3, 4, 5, 6, 7;
INSERT INTO rollup_expiry (account_id, day, currency, state, expiry_day, orders, amount_cents)
SELECT account_id, coalesce(substr(created_at, 1, 10), ''), currency, state, coalesce(substr(expiry_at, 1, 10), ''),
       COUNT(*), SUM(amount_cents)
FROM orders WHERE is_mit = 1 GROUP BY 1, 2, 3, 4, 5;

-- 3. Search: rows up to the watermark are in the word index and kept there by triggers; rows
-- past it are added in bulk by `Mirror::index_search` (searches scan them until then).
-- Only whole-word prefix lookups are asked of it, so it keeps no positions or sizes
-- (detail = 'none', columnsize = 0): about a third less to write.
DROP TRIGGER orders_search_ai;
DROP TRIGGER orders_search_ad;
DROP TRIGGER orders_search_au;
DROP TABLE orders_search;
CREATE VIRTUAL TABLE orders_search USING fts5(
    order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code,
    content = 'orders', content_rowid = 'id', tokenize = 'unicode61', detail = 'none', columnsize = 0
);
INSERT INTO orders_search (orders_search) VALUES ('rebuild');
INSERT INTO mirror_marks (name, value) VALUES ('search_indexed_upto', (SELECT coalesce(MAX(id), 0) FROM orders));
CREATE TRIGGER orders_search_ai AFTER INSERT ON orders
WHEN new.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;
CREATE TRIGGER orders_search_ad AFTER DELETE ON orders
WHEN old.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
END;
CREATE TRIGGER orders_search_au AFTER UPDATE OF order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code ON orders
WHEN old.id <= (SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto') BEGIN
    INSERT INTO orders_search (orders_search, rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES ('delete', old.id, old.order_session_key, old.merchant_order_id, old.email, old.customer_name, old.card_last4, old.decline_code);
    INSERT INTO orders_search (rowid, order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code)
    VALUES (new.id, new.order_session_key, new.merchant_order_id, new.email, new.customer_name, new.card_last4, new.decline_code);
END;
