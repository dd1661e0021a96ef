-- Each order's API JSON is stored compressed against a dictionary (see `packed_json.rs`):
-- a typical order's text takes a fraction of the space, and its exact bytes are still kept.
-- A dictionary is the first stored order's text with every string value emptied (keys and
-- layout, no customer data); it never changes once written.
CREATE TABLE json_dicts (
    id    INTEGER PRIMARY KEY,
    dict  BLOB NOT NULL
);
-- The dictionary a row's `raw_json` was packed with (a BLOB then); NULL: plain text, as every
-- row written before this migration. Such a row is packed once its order changes; an
-- unchanged record compares equal to its text, so the upgrade rewrites nothing.
ALTER TABLE order_json ADD COLUMN dict_id INTEGER;
