-- A completed order (approved, refunded, charged back) whose record has no `capturedAmount`
-- was stored with nothing captured; what it captured is its amount (`orders.rs`, `captured`),
-- as orders applied from now on are stored. The rollup triggers move the recovered money.
-- The poll-timeline trigger is set aside meanwhile (no read from the API made this change)
-- and comes back writing amounts with the currency's own decimals (ISO 4217: JPY none, KWD
-- three; `flexfactor_wire::minor_unit_digits`), not always two.
DROP TRIGGER IF EXISTS orders_poll_timeline;
UPDATE orders SET captured_cents = amount_cents
 WHERE captured_cents = 0 AND amount_cents > 0
   AND coalesce(api_state, state) IN ('approved', 'partiallyRefunded', 'refunded', 'chargeback');
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
                    THEN ', captured ' || CASE WHEN upper(new.currency) IN ('BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','UYI','VND','VUV','XAF','XOF','XPF') THEN printf('%d', new.captured_cents) WHEN upper(new.currency) IN ('BHD','IQD','JOD','KWD','LYD','OMR','TND') THEN printf('%.3f', new.captured_cents / 1000.0) WHEN upper(new.currency) IN ('CLF','UYW') THEN printf('%.4f', new.captured_cents / 10000.0) ELSE printf('%.2f', new.captured_cents / 100.0) END || ' ' || new.currency ELSE '' END
            || CASE WHEN old.refunded_cents <> new.refunded_cents
                    THEN ', refunded ' || CASE WHEN upper(new.currency) IN ('BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','UYI','VND','VUV','XAF','XOF','XPF') THEN printf('%d', new.refunded_cents) WHEN upper(new.currency) IN ('BHD','IQD','JOD','KWD','LYD','OMR','TND') THEN printf('%.3f', new.refunded_cents / 1000.0) WHEN upper(new.currency) IN ('CLF','UYW') THEN printf('%.4f', new.refunded_cents / 10000.0) ELSE printf('%.2f', new.refunded_cents / 100.0) END || ' ' || new.currency ELSE '' END,
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
