-- Smaller keyset indexes. Every index entry already ends with the row's id (rowid), so ties
-- of a sort break by `id` (the order in which the mirror first stored the orders) instead
-- of a copy of the 36-byte orderSessionKey in each entry: about a third less to sort and
-- write per entry when a bulk load rebuilds them. `orders_by_expiry` only holds orders that
-- have an expiry (MIT rescues); the rows without one come last in the expiry sort and are
-- listed in id order without it.
DROP INDEX IF EXISTS orders_by_created;
DROP INDEX IF EXISTS orders_by_state;
DROP INDEX IF EXISTS orders_by_amount;
DROP INDEX IF EXISTS orders_by_expiry;
CREATE INDEX orders_by_created ON orders (account_id, created_at);
CREATE INDEX orders_by_state ON orders (account_id, state, created_at);
CREATE INDEX orders_by_amount ON orders (account_id, amount_cents);
CREATE INDEX orders_by_expiry ON orders (account_id, expiry_at);
-- A bulk load interrupted before this migration saved the old definitions; the new indexes
-- exist now, so it must not create them again when it finishes.
DELETE FROM mirror_bulk_ddl
WHERE name IN ('orders_by_created', 'orders_by_state', 'orders_by_amount', 'orders_by_expiry');
