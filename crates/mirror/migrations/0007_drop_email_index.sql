-- `orders_by_email` (account_id, email COLLATE NOCASE) serves no query: searches match
-- e-mails through the word index (and a case-folded GLOB past its mark), which cannot use a
-- NOCASE index, and nothing else looks orders up by e-mail. Dropping it saves one index
-- build per bulk load and one index update per row otherwise. (`orders_by_merchant_id`
-- stays: batch results look orders up by merchant order id.)
DROP INDEX IF EXISTS orders_by_email;
-- A bulk load interrupted before this migration keeps the definitions it took off; do not
-- bring this one back when it finishes.
DELETE FROM mirror_bulk_ddl WHERE name = 'orders_by_email';
