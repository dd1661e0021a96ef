-- Each order's API JSON is stored compressed against a dictionary (see `packed_json.rs`):
-- a typical order's text takes a fraction of the space, and its exact bytes are still kept.
-- A dictionary is a stored order's keys and layout (numbers as 0, string values emptied but
-- for a few codes and timestamps: no customer data). It never changes once written; a better
-- one may be added later, and each row names its own. AUTOINCREMENT: an id is never reused.
CREATE TABLE json_dicts (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    dict  BLOB NOT NULL
);
-- The dictionary a row's `raw_json` was packed with (a BLOB then); NULL: plain text, as every
-- row written before this migration. Such a row is packed once its order changes; an
-- unchanged record compares equal to its text, so the upgrade rewrites nothing.
ALTER TABLE order_json ADD COLUMN dict_id INTEGER;
