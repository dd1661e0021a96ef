-- When FlexDesk last finished a look for a sent batch's responses (shown on the Batches screen,
-- so that "Check now" visibly did something), and whether the batch's note needs the operator
-- (a changed host key, a refused login): until now that was recognised by the note's wording.
ALTER TABLE batches ADD COLUMN last_checked_at TEXT;
ALTER TABLE batches ADD COLUMN needs_action INTEGER NOT NULL DEFAULT 0;
UPDATE batches SET needs_action = 1 WHERE last_error LIKE 'Action needed: %';
