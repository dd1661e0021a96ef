-- Each webhook polling found missing, one row per change (the `missing_webhook` drift row of
-- the order lists them): a webhook announcing a state takes away the oldest row with that
-- state, and the order's flag clears once none is left. Before, the flag held one state only,
-- so a second missing webhook replaced the first and a late one for it cleared the flag
-- while the first was still missing.
CREATE TABLE drift_missing_webhooks (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    hint               TEXT NOT NULL,
    seen_at            TEXT NOT NULL
);
CREATE INDEX drift_missing_webhooks_by_order ON drift_missing_webhooks (account_id, order_session_key, hint);

-- Flags raised with a state (0013) become one missing webhook each; flags from before 0013
-- (no state) stay as they were: any webhook for the order clears them.
INSERT INTO drift_missing_webhooks (account_id, order_session_key, hint, seen_at)
SELECT account_id, order_session_key, hint, detected_at FROM drift
WHERE kind = 'missing_webhook' AND resolved_at IS NULL AND hint IS NOT NULL;
