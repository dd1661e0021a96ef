-- Each webhook polling found missing, one row per change (the `missing_webhook` drift row of
-- the order lists them): a webhook announcing a state takes away the oldest row with that
-- state, and the order's flag clears once none is left. Before, the flag held one state only,
-- so a second missing webhook replaced the first and a late one for it cleared the flag
-- while the first was still missing. `hint` '*' stands for a flag raised before flags had a
-- state (before 0013): any webhook for the order answers for it.
CREATE TABLE drift_missing_webhooks (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    hint               TEXT NOT NULL,
    seen_at            TEXT NOT NULL
);
CREATE INDEX drift_missing_webhooks_by_order ON drift_missing_webhooks (account_id, order_session_key, hint);

-- Every open flag becomes one missing webhook, seen when its text says polling saw the change
-- ("polling saw it become <state> at YYYY-MM-DD HH:MM UTC, …"), else when it was flagged.
INSERT INTO drift_missing_webhooks (account_id, order_session_key, hint, seen_at)
SELECT account_id, order_session_key, coalesce(hint, '*'),
       CASE WHEN detail LIKE 'polling saw it become % at ____-__-__ __:__ UTC%'
            THEN replace(substr(detail, instr(detail, ' at ') + 4, 16), ' ', 'T') || ':00+00:00'
            ELSE detected_at END
FROM drift
WHERE kind = 'missing_webhook' AND resolved_at IS NULL;
