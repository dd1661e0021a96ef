-- The webhook a change seen by polling should have come with, one row per change: the state
-- hint of that webhook (order.refunded hints partiallyRefunded), and when polling saw it.
CREATE TABLE webhook_expectations (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    hint               TEXT NOT NULL,
    seen_at            TEXT NOT NULL
);
CREATE INDEX webhook_expectations_by_time ON webhook_expectations (account_id, seen_at);

-- Webhooks already matched to a change: each webhook answers for one change only (a second
-- refund needs a second order.refunded).
CREATE TABLE webhook_matches (
    timeline_id  INTEGER PRIMARY KEY REFERENCES timeline(id) ON DELETE CASCADE
);

-- 1. A read from the API that changed an order (its state, captured or refunded amount) goes
-- into the order's timeline as a `poll` entry. Only real changes fire it: `apply_orders`
-- updates a row only when the API's record differs, and inserts (a backfill) never fire it.
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

-- 3. Orders a webhook named, to re-read from the API (polling is the source of truth; a
-- webhook says that something changed). Queued in the webhook's own transaction and removed
-- once the re-read is applied, so a failed read or a crash in between loses nothing.
CREATE TABLE refresh_queue (
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    order_session_key  TEXT NOT NULL,
    queued_at          TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    PRIMARY KEY (account_id, order_session_key)
);

-- 4. The decision the order had when it was first mirrored: the evaluate result when FlexDesk
-- saw the order soon after it was evaluated (FlexFactor later rewrites `decision`, e.g.
-- SUBMITTED → APPROVED). Rows mirrored before this migration use their current decision.
ALTER TABLE orders ADD COLUMN first_decision TEXT;
