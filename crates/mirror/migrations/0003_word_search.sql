-- Replace the trigram index (about 95 index entries per order; too slow to fill at a
-- million orders) with a word index: ids, e-mail and names split into words, searched by
-- word prefix ("WEB-2026" finds WEB-20261122-…, "36a4" finds that FlexFactor id).
DROP TRIGGER orders_search_ai;
DROP TRIGGER orders_search_ad;
DROP TRIGGER orders_search_au;
DROP TABLE orders_search;

CREATE VIRTUAL TABLE orders_search USING fts5(
    order_session_key, merchant_order_id, email, customer_name, card_last4, decline_code,
    content = 'orders', content_rowid = 'id', tokenize = 'unicode61', detail = 'column'
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
INSERT INTO orders_search (orders_search) VALUES ('rebuild');
