-- Webhooks that name no order (payout.created, payout.updated): kept for the Webhooks
-- screen, deduplicated by the same event key as order webhooks, the feed cursor moving past
-- each in the same transaction. Received only here (the API lists no payouts): a damaged
-- mirror's rebuild salvages them (health.rs, IRREPLACEABLE_TABLES).
CREATE TABLE account_webhooks (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    event_key TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (account_id, event_key)
);
