-- No schema change. From this version on, the first bulk load into an (almost) empty mirror
-- rewrites `orders` so that the order key is a unique index of its own (`orders_by_key`,
-- see `crates/mirror/src/bulk.rs`), which a bulk load then takes off and builds sorted at the
-- end, while the writers find existing orders through key maps (`load_keys.rs`). A build
-- from before this version would take that index off too without such maps, and store
-- orders twice: the version number makes it refuse a mirror this build has opened.
DELETE FROM mirror_marks WHERE 0;
