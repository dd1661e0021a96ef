-- Feed events the relay accepted (signed by FlexFactor) that this FlexDesk could not read (a
-- body its parser refuses, e.g. a newer format). Each is kept with the error, and the feed
-- cursor moves past it in the same transaction, so that one such event never holds up the
-- events behind it; the order the relay says it names (if any) is queued for a re-read in the
-- same transaction. The Webhooks screen lists them beside the relay's refused deliveries.
CREATE TABLE feed_unreadable (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    seq                INTEGER NOT NULL,
    order_session_key  TEXT,
    received_at  TEXT NOT NULL,
    error        TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX feed_unreadable_by_account ON feed_unreadable (account_id, id);
