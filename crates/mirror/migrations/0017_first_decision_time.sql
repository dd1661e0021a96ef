-- When the copy that gave an order its first decision was modified (`modifiedOn`): an older
-- copy arriving later (out of order) gives the order its decision instead, so the evaluate
-- result the timeline shows is the oldest copy's, whatever the order copies arrive in. NULL
-- for orders stored before (their first decision stays as it is).
ALTER TABLE orders ADD COLUMN first_decision_at TEXT;
