//! Append-only SQL migrations embedded in the binary. `PRAGMA user_version` records how
//! many have run. Never edit or reorder a shipped migration: add a new file.

use rusqlite::Connection;

use crate::error::{MirrorError, SqlContext};

/// `(name, sql)` in order; migration N (1-based) brings the schema to version N.
///
/// `orders` comes in two shapes: with the inline order key of `0001`, or, once a bulk load
/// has rewritten it (`bulk.rs`), with the key as `orders_by_key`. A migration that touches the
/// key must handle both, and one that creates an index a bulk load takes off must use
/// `IF NOT EXISTS` and remove it from `mirror_bulk_ddl` (as `0008` and `0011` do): a load
/// may be open when it runs.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("../migrations/0001_initial.sql")),
    ("0002_event_ledger_timeline", include_str!("../migrations/0002_event_ledger_timeline.sql")),
    ("0003_word_search", include_str!("../migrations/0003_word_search.sql")),
    ("0004_batches", include_str!("../migrations/0004_batches.sql")),
    ("0005_actions_audit", include_str!("../migrations/0005_actions_audit.sql")),
    ("0006_keyset_rollup_search", include_str!("../migrations/0006_keyset_rollup_search.sql")),
    ("0007_drop_email_index", include_str!("../migrations/0007_drop_email_index.sql")),
    ("0008_keyset_rowid_tiebreak", include_str!("../migrations/0008_keyset_rowid_tiebreak.sql")),
    ("0009_poll_timeline_webhook_checks", include_str!("../migrations/0009_poll_timeline_webhook_checks.sql")),
    ("0010_packed_order_json", include_str!("../migrations/0010_packed_order_json.sql")),
    (
        "0011_merchant_id_index_without_account",
        include_str!("../migrations/0011_merchant_id_index_without_account.sql"),
    ),
    (
        "0012_order_key_named_at_first_bulk_load",
        include_str!("../migrations/0012_order_key_named_at_first_bulk_load.sql"),
    ),
    ("0013_drift_hint", include_str!("../migrations/0013_drift_hint.sql")),
    ("0014_each_missing_webhook", include_str!("../migrations/0014_each_missing_webhook.sql")),
    ("0015_batch_looks", include_str!("../migrations/0015_batch_looks.sql")),
    ("0016_feed_unreadable", include_str!("../migrations/0016_feed_unreadable.sql")),
    ("0017_first_decision_time", include_str!("../migrations/0017_first_decision_time.sql")),
    ("0018_captured_when_missing", include_str!("../migrations/0018_captured_when_missing.sql")),
    ("0019_account_webhooks", include_str!("../migrations/0019_account_webhooks.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Runs every migration the database has not seen, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), MirrorError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).op("reading the schema version")?;
    if found > SCHEMA_VERSION {
        return Err(MirrorError::NewerSchema { found, supported: SCHEMA_VERSION });
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        tracing::info!(migration = name, version, "applying migration");
        let tx = conn.transaction().op("starting a migration")?;
        tx.execute_batch(sql).op("applying a migration")?;
        tx.pragma_update(None, "user_version", version).op("recording the schema version")?;
        tx.commit().op("committing a migration")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_in_order_on_an_empty_database_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
    }

    /// SHA-256 of each migration as it shipped. A database that ran a migration never runs
    /// it again, so editing one would leave older mirrors and new ones with different
    /// schemas: add a new migration instead (and its digest here).
    const SHIPPED: &[(&str, &str)] = &[
        ("0001_initial", "fe1e5e78932a1a344ec3a65b05b287694ba09ca20aa496ccc77ef8b7ca7466c8"),
        ("0002_event_ledger_timeline", "d86ae4f48dfa7ec324c645dc4bca38ad93d43a14c45ba8d0541e09cc7b55c28c"),
        ("0003_word_search", "d7d4a75e2af935a65d5d75c8ae671a6a3d4528bf53965c5f5cca33c747e0608e"),
        ("0004_batches", "389a24049131e236f26ea406ec34c6b8f7c50ab0b380a4008922090a7b0e06f3"),
        ("0005_actions_audit", "8ade3e0f789ee87856deb66d6baa2c0ee64a4928650bed47350223f8f01aae32"),
        ("0006_keyset_rollup_search", "36fe40ce10a1e3955132e95fd2c0eb9ee04d7e87d473678c197a44cf8f14304e"),
        ("0007_drop_email_index", "874a3e91179b3d03419c9ea6ce053ad957687c26c83cf5be4f906b80bb594604"),
        ("0008_keyset_rowid_tiebreak", "04afcaf14624ae07501720b226ac425c8196020089ab4281c824c205120be96f"),
        ("0009_poll_timeline_webhook_checks", "76afaea28efaa8baec23c0f0e04e554c536ad6099550389a2ae2b4eda1fd9100"),
        ("0010_packed_order_json", "a18716fb61da44c7be4c0921bd1f6bb6975397c297967adce6052490e47b03e4"),
        ("0011_merchant_id_index_without_account", "7b8a643c0470f4b58c6c61bd10c9bab4adc8d09b5a14c979f978007c7266faa9"),
        ("0012_order_key_named_at_first_bulk_load", "82c8ac4e92c2a08bb4c39b7b304d3d7ab2bdcdc2c424e7c720cdcbf5e972b5f9"),
        ("0013_drift_hint", "ddaaa91fea5a8e0f2932e4144e0345134e08d8381c1935eca57d32306b3b59c2"),
        ("0014_each_missing_webhook", "0a582367b9c80eead663e05906cdc6d8893f754fade8bf310d8914054834f474"),
        ("0015_batch_looks", "da82eab73b64b2e978364afde6c3c24b6f13d1ef3362521cb3b4b1fa44ee6e2c"),
        ("0016_feed_unreadable", "c379caa8f0ddd620b9ba747e280e8ebda916f6225e64749f6f8da3d4dda6d86a"),
        ("0017_first_decision_time", "316005468b7471c3a8cbdae60392b8b0451f4d4c8f121a9f1fc84fbadbd6a1b8"),
        ("0018_captured_when_missing", "523f25b47130799f1e38770ad3cc04190bf1d49ba8470fcb69534bab4b1173a7"),
        ("0019_account_webhooks", "d3a09fc2e912a65f6623cd846090f2d0bab6ee58de085aa53989d7ab1c914e2e"),
    ];

    #[test]
    fn shipped_migrations_are_never_edited_only_appended() {
        use sha2::{Digest, Sha256};
        assert_eq!(MIGRATIONS.len(), SHIPPED.len(), "a new migration needs its digest in SHIPPED");
        for ((name, sql), (shipped_name, digest)) in MIGRATIONS.iter().zip(SHIPPED) {
            assert_eq!(name, shipped_name);
            let found: String = Sha256::digest(sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(&found, digest, "{name} was edited after it shipped: add a new migration instead");
        }
    }

    #[test]
    fn migration_names_are_numbered_uniquely_in_order() {
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} out of order");
            assert!(!sql.trim().is_empty());
        }
    }

    #[test]
    fn upgrading_to_0006_moves_the_json_out_and_fills_rollups_and_search() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO orders (account_id, order_session_key, merchant_order_id, state, is_mit, amount_cents,
               captured_cents, refunded_cents, currency, email, created_at, raw_json, synced_at, api_state)
             VALUES ('a', 'k-1', 'SHOP-77', 'approved', 0, 500, 500, 0, 'USD', 'x@y.example',
               '2026-01-02T03:04:05.000Z', '{\"id\":\"k-1\"}', 'now', 'approved');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let json: String = conn.query_row("SELECT raw_json FROM order_json", [], |r| r.get(0)).unwrap();
        assert_eq!(json, "{\"id\":\"k-1\"}");
        let (n, cents): (i64, i64) = conn
            .query_row("SELECT orders, captured_cents FROM rollup_days WHERE day = '2026-01-02'", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, cents), (1, 500));
        let found: i64 = conn
            .query_row("SELECT COUNT(*) FROM orders_search WHERE orders_search MATCH '\"shop\"*'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(found, 1);
        let mark: i64 = conn
            .query_row("SELECT value FROM mirror_marks WHERE name = 'search_indexed_upto'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mark, 1);
    }

    #[test]
    fn upgrading_to_0008_in_the_middle_of_a_bulk_load_leaves_every_keyset_index_built_once() {
        let conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 7).unwrap();
        let mut m = crate::Mirror { conn, checkpointer: None, load_keys: None };
        m.conn
            .execute_batch(
                "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
                   VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');",
            )
            .unwrap();
        // A bulk load begun by the old schema: its keyset indexes are off, their old
        // definitions saved to be restored. This build keeps the indexes by creation time,
        // state and expiry on during a load; the build that ran before 0008 took the state
        // and expiry ones off as well, as done here by hand.
        assert!(m.begin_bulk_load(0).unwrap());
        for name in ["orders_by_state", "orders_by_expiry"] {
            m.conn
                .execute(
                    "INSERT INTO mirror_bulk_ddl (name, sql) SELECT name, sql FROM sqlite_master WHERE name = ?1",
                    [name],
                )
                .unwrap();
            m.conn.execute_batch(&format!("DROP INDEX {name}")).unwrap();
        }
        let saved: Vec<String> = {
            let mut stmt =
                m.conn.prepare("SELECT name FROM mirror_bulk_ddl WHERE name LIKE 'orders_by_%' ORDER BY name").unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(
            saved,
            ["orders_by_amount", "orders_by_expiry", "orders_by_key", "orders_by_merchant_id", "orders_by_state"],
            "the order key named by the load"
        );
        migrate(&mut m.conn).unwrap();
        m.finish_bulk_load().unwrap();
        let defs: Vec<(String, String)> = {
            let mut stmt = m
                .conn
                .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'orders_by_%' ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        let names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "orders_by_amount",
                "orders_by_created",
                "orders_by_expiry",
                "orders_by_key",
                "orders_by_merchant_id",
                "orders_by_state"
            ]
        );
        for (name, sql) in defs.iter().filter(|(name, _)| name != "orders_by_key") {
            assert!(!sql.contains("order_session_key"), "{name}: {sql}");
        }
        let merchant = &defs[4].1;
        assert!(merchant.ends_with("(merchant_order_id)"), "0011's shape: {merchant}");
        assert!(!m.bulk_loading().unwrap());
        assert!(m.quick_check().unwrap());
    }

    #[test]
    fn upgrading_to_0014_keeps_each_open_missing_webhook_flag_as_one_missing_webhook() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..13] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 13).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO drift (account_id, order_session_key, kind, detected_at, detail, hint) VALUES
               ('a', 'with-state', 'missing_webhook', '2026-02-01T00:10:00Z',
                'polling saw it become approved at 2026-02-01 00:04 UTC, but no webhook announcing it arrived',
                'approved'),
               ('a', 'before-0013', 'missing_webhook', '2026-02-01T00:00:00Z', 'd', NULL),
               ('a', 'settled', 'missing_webhook', '2026-02-01T00:00:00Z', 'd', 'approved'),
               ('a', 'unknown', 'unknown_order', '2026-02-01T00:00:00Z', 'd', NULL);
             UPDATE drift SET resolved_at = '2026-02-02T00:00:00Z' WHERE order_session_key = 'settled';",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let missing: Vec<(String, String, String)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT order_session_key, hint, seen_at FROM drift_missing_webhooks ORDER BY order_session_key",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
        };
        let row = |k: &str, h: &str, at: &str| (k.to_string(), h.to_string(), at.to_string());
        assert_eq!(
            missing,
            [
                // No state recorded: any webhook answers for it; seen when flagged.
                row("before-0013", "*", "2026-02-01T00:00:00Z"),
                // Seen when the flag's text says polling saw it.
                row("with-state", "approved", "2026-02-01T00:04:00+00:00"),
            ]
        );
    }

    #[test]
    fn upgrading_to_0015_marks_the_batches_whose_note_needs_the_operator() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..14] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 14).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO batches (id, account_id, kind, source_name, created_at, last_error) VALUES
               ('host-key', 'a', 'evaluate', 'x.csv', '2026-02-01T00:00:00Z', 'Action needed: the host key changed'),
               ('waiting', 'a', 'evaluate', 'y.csv', '2026-02-01T00:00:00Z', 'No response from FlexFactor yet'),
               ('clean', 'a', 'evaluate', 'z.csv', '2026-02-01T00:00:00Z', NULL);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let marked: Vec<(String, bool)> = {
            let mut stmt = conn.prepare("SELECT id, needs_action FROM batches ORDER BY id").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(marked, [("clean".into(), false), ("host-key".into(), true), ("waiting".into(), false)]);
    }

    #[test]
    fn upgrading_to_0018_counts_a_completed_orders_missing_capture_as_its_amount_and_polls_say_yen_whole() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (_, sql) in &MIGRATIONS[..17] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 17).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, created_at)
               VALUES ('a', 'A', 'sandbox', 'http://x', 'm', 'k', '2026-01-01T00:00:00Z');
             INSERT INTO orders (account_id, order_session_key, state, is_mit, amount_cents, captured_cents,
               refunded_cents, currency, created_at, synced_at, api_state)
             VALUES ('a', 'done', 'approved', 0, 1999, 0, 0, 'USD', '2026-01-02T03:04:05.000Z', 'then', 'approved'),
                    ('a', 'open', 'pending', 1, 2500, 0, 0, 'USD', '2026-01-02T03:04:05.000Z', 'then', 'pending'),
                    ('a', 'yen', 'approved', 0, 1999, 1999, 0, 'JPY', '2026-01-02T03:04:05.000Z', 'then', 'approved');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let captured = |key: &str| -> i64 {
            conn.query_row("SELECT captured_cents FROM orders WHERE order_session_key = ?1", [key], |r| r.get(0))
                .unwrap()
        };
        assert_eq!((captured("done"), captured("open")), (1999, 0));
        let rolled: i64 = conn
            .query_row(
                "SELECT captured_cents FROM rollup_days WHERE currency = 'USD' AND state = 'approved'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rolled, 1999, "the recovered money moved with it");
        let polls = |key: &str| -> Vec<String> {
            let mut stmt =
                conn.prepare("SELECT summary FROM timeline WHERE kind = 'poll' AND order_session_key = ?1").unwrap();
            stmt.query_map([key], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        assert!(polls("done").is_empty(), "no read from the API made that change");
        conn.execute("UPDATE orders SET refunded_cents = 500, synced_at = 'now' WHERE order_session_key = 'yen'", [])
            .unwrap();
        let said = polls("yen");
        assert!(said.len() == 1 && said[0].ends_with("refunded 500 JPY"), "{said:?}");
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, MirrorError::NewerSchema { .. }));
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION + 5);
    }
}
