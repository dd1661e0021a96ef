//! The per-order timeline, which is also the event ledger, and the drift list.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use crate::cursors::write_cursor;
use crate::error::{MirrorError, SqlContext};
use crate::{Mirror, OrderState};

/// One input about an order (a webhook, an operator action, a batch row …).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    /// Unique per input: applying the same key twice is a no-op (the ledger).
    pub event_key: String,
    pub order_session_key: String,
    pub at: DateTime<Utc>,
    /// e.g. `webhook:order.completed`, `action:refund`.
    pub kind: String,
    pub summary: String,
    /// The raw payload, kept verbatim (webhook bodies).
    pub payload: Option<String>,
    /// The state this input claims for the order, if any.
    pub state_hint: Option<OrderState>,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventApplied {
    /// The ledger already had this event: nothing changed.
    pub duplicate: bool,
    /// The order is in the mirror.
    pub known_order: bool,
    /// The order's effective state moved forward.
    pub state_changed: bool,
}

/// A timeline row.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub summary: String,
    pub payload: Option<String>,
    pub state_hint: Option<OrderState>,
    pub changed_state: bool,
}

/// States FlexFactor announces by webhook: the ones the poll trigger expects a webhook for
/// (migration 0018, `orders_poll_timeline`).
pub const ANNOUNCED_BY_WEBHOOK: [&str; 8] =
    ["approved", "cancelled", "expired", "partiallyRefunded", "refunded", "captureRequired", "chargeback", "challenge"];

/// An order flagged because webhooks and polls disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftEntry {
    pub order_session_key: String,
    pub kind: String,
    pub detected_at: DateTime<Utc>,
    pub detail: String,
}

/// A state as words ("partially refunded"), for texts the user reads.
fn state_words(state: &str) -> String {
    match state {
        "captureRequired" => "capture required".into(),
        "partiallyRefunded" => "partially refunded".into(),
        "onHold" => "on hold".into(),
        other => other.into(),
    }
}

pub(crate) fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

/// What a (new) webhook says about drift, in its apply's transaction: one announcing a state
/// polling saw without a webhook takes away the oldest such missing webhook of the order
/// (any webhook takes away one from before flags had a state), and the order's
/// `missing_webhook` flag clears once none is left; one for an order the mirror does not
/// have is flagged `unknown_order` (cleared once the API lists the order).
fn webhook_drift(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    e: &OrderEvent,
    timeline_id: i64,
    event: &str,
    known_order: bool,
) -> Result<(), MirrorError> {
    let now = Utc::now().to_rfc3339();
    // The oldest missing webhook this one answers for: one announcing its state, else a flag
    // from before flags had a state ('*'), which any webhook for the order answers.
    let missing: Option<i64> = tx
        .query_row(
            "SELECT id FROM drift_missing_webhooks WHERE account_id = ?1 AND order_session_key = ?2
               AND (hint = ?3 OR hint = '*') ORDER BY hint = '*', id LIMIT 1",
            rusqlite::params![account_id, e.order_session_key, e.state_hint.map(OrderState::as_str)],
            |r| r.get(0),
        )
        .optional()
        .op("reading missing webhooks")?;
    let answered = match missing {
        Some(id) => {
            tx.execute("DELETE FROM drift_missing_webhooks WHERE id = ?1", [id]).op("settling a missing webhook")?;
            update_missing_webhook_flag(tx, account_id, &e.order_session_key, None)?;
            e.state_hint.is_some()
        }
        None => false,
    };
    if answered {
        // This webhook answers the flagged change: a later change of the same kind (a second
        // refund) needs a webhook of its own.
        tx.execute("INSERT INTO webhook_matches (timeline_id) VALUES (?1)", [timeline_id])
            .op("matching a late webhook")?;
    }
    if !known_order {
        tx.execute(
            "INSERT INTO drift (account_id, order_session_key, kind, detected_at, detail)
             VALUES (?1, ?2, 'unknown_order', ?3, ?4)
             ON CONFLICT(account_id, order_session_key, kind) DO UPDATE SET detail = excluded.detail, resolved_at = NULL",
            rusqlite::params![
                account_id,
                e.order_session_key,
                now,
                format!("{event} arrived for an order the mirror does not have yet")
            ],
        )
        .op("flagging drift")?;
    }
    Ok(())
}

/// Brings an order's `missing_webhook` flag in line with its missing webhooks: listed in
/// its detail while any is left (`flagged_at`: a new one was just found, which dates the
/// flag), resolved once none is.
fn update_missing_webhook_flag(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    order_session_key: &str,
    flagged_at: Option<&str>,
) -> Result<(), MirrorError> {
    let missing: Vec<(String, String)> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT hint, seen_at FROM drift_missing_webhooks WHERE account_id = ?1 AND order_session_key = ?2
                 ORDER BY id",
            )
            .op("reading missing webhooks")?;
        let rows = stmt
            .query_map([account_id, order_session_key], |r| Ok((r.get(0)?, r.get(1)?)))
            .op("reading missing webhooks")?;
        rows.collect::<Result<_, _>>().op("reading missing webhooks")?
    };
    let now = Utc::now().to_rfc3339();
    let Some((last_hint, _)) = missing.last() else {
        tx.execute(
            "UPDATE drift SET resolved_at = ?3 WHERE account_id = ?1 AND order_session_key = ?2
               AND kind = 'missing_webhook' AND resolved_at IS NULL",
            [account_id, order_session_key, now.as_str()],
        )
        .op("resolving drift")?;
        return Ok(());
    };
    let seen: Vec<String> = missing
        .iter()
        .map(|(hint, at)| {
            // '*': flagged before flags recorded the state (migration 0014).
            let state = if hint == "*" { "something else".to_string() } else { state_words(hint) };
            format!("{state} at {} UTC", at.get(..16).unwrap_or(at).replace('T', " "))
        })
        .collect();
    let detail = if seen.len() == 1 {
        format!("polling saw it become {}, but no webhook announcing it arrived", seen[0])
    } else {
        format!(
            "polling saw it become {}, but none of these {} changes came with its webhook",
            seen.join(", then "),
            seen.len()
        )
    };
    tx.execute(
        "INSERT INTO drift (account_id, order_session_key, kind, detected_at, detail, hint)
         VALUES (?1, ?2, 'missing_webhook', coalesce(?3, ?6), ?4, ?5)
         ON CONFLICT(account_id, order_session_key, kind)
         DO UPDATE SET detail = excluded.detail, hint = excluded.hint,
                       detected_at = CASE WHEN ?3 IS NOT NULL OR resolved_at IS NOT NULL THEN excluded.detected_at
                                          ELSE detected_at END,
                       resolved_at = NULL",
        rusqlite::params![account_id, order_session_key, flagged_at, detail, last_hint, now],
    )
    .op("flagging a missing webhook")?;
    Ok(())
}

impl Mirror {
    /// Applies one event: ledger check, timeline row, state hint (never backwards: the
    /// effective state is the highest-ranked claim), and the cursor in the same transaction.
    pub fn apply_event(
        &mut self,
        account_id: &str,
        e: &OrderEvent,
        cursor: Option<(&str, &str)>,
    ) -> Result<EventApplied, MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting an event apply")?;
        // Taken out for the transaction: put back only once it has committed.
        let mut load_keys = self.load_keys.take();
        let mut out = EventApplied::default();
        let seen: Option<i64> = tx
            .query_row(
                "SELECT id FROM timeline WHERE account_id = ?1 AND event_key = ?2",
                [account_id, e.event_key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .op("checking the event ledger")?;
        if seen.is_some() {
            out.duplicate = true;
        } else {
            let id = crate::load_keys::order_id_by_key(&mut load_keys, &tx, account_id, &e.order_session_key)?;
            let current: Option<String> = match id {
                Some(id) => tx
                    .query_row("SELECT state FROM orders WHERE id = ?1", [id], |r| r.get(0))
                    .optional()
                    .op("reading the order's state")?,
                None => None,
            };
            out.known_order = current.is_some();
            let current = current.as_deref().and_then(OrderState::parse);
            if let Some(hint) = e.state_hint {
                tx.execute(
                    "INSERT INTO order_hints (account_id, order_session_key, state_rank) VALUES (?1, ?2, ?3)
                     ON CONFLICT(account_id, order_session_key) DO UPDATE SET state_rank = MAX(state_rank, excluded.state_rank)",
                    rusqlite::params![account_id, e.order_session_key, hint.rank()],
                )
                .op("recording a state hint")?;
                if let (Some(cur), Some(id)) = (current, id) {
                    if hint.rank() > cur.rank() {
                        tx.execute("UPDATE orders SET state = ?2 WHERE id = ?1", rusqlite::params![id, hint.as_str()])
                            .op("moving an order's state forward")?;
                        out.state_changed = true;
                    }
                }
            }
            tx.execute(
                "INSERT INTO timeline (account_id, order_session_key, event_key, at, kind, summary, payload, state_hint, changed_state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    account_id,
                    e.order_session_key,
                    e.event_key,
                    e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    e.kind,
                    e.summary,
                    e.payload,
                    e.state_hint.map(OrderState::as_str),
                    out.state_changed,
                ],
            )
            .op("adding a timeline entry")?;
            let timeline_id = tx.last_insert_rowid();
            if let Some(event) = e.kind.strip_prefix("webhook:") {
                // The webhook says the order changed; its API record says how.
                Mirror::queue_refresh(&tx, account_id, &e.order_session_key)?;
                webhook_drift(&tx, account_id, e, timeline_id, event, out.known_order)?;
            }
        }
        if let Some((name, value)) = cursor {
            write_cursor(&tx, account_id, name, value)?;
        }
        tx.commit().op("committing an event apply")?;
        self.load_keys = load_keys;
        Ok(out)
    }

    /// The kind of the order's latest timeline event whose kind starts with `prefix` (e.g.
    /// `webhook:challenge.`). Reads the timeline alone: cheap per order in a list, also while
    /// a bulk load has the order-key index off.
    pub fn latest_event_kind(
        &self,
        account_id: &str,
        order_session_key: &str,
        prefix: &str,
    ) -> Result<Option<String>, MirrorError> {
        self.conn
            .prepare_cached(
                "SELECT kind FROM timeline WHERE account_id = ?1 AND order_session_key = ?2
                   AND substr(kind, 1, length(?3)) = ?3
                 ORDER BY at DESC, event_key DESC LIMIT 1",
            )
            .and_then(|mut stmt| stmt.query_row([account_id, order_session_key, prefix], |r| r.get(0)).optional())
            .op("reading an order's latest event")
    }

    /// An order's timeline, oldest first (ties in event-key order, so it is deterministic).
    /// It opens with the evaluate result, at the time the order was placed: the decision the
    /// order had when FlexDesk first mirrored it (FlexDesk never calls `/evaluate`; the
    /// merchant's server does, and FlexFactor later rewrites the decision, e.g. SUBMITTED →
    /// APPROVED), with the current one beside it when they differ. For an order first mirrored
    /// long after it was evaluated, that is the earliest decision FlexDesk knows. The entry is
    /// derived from the order row rather than stored once per order.
    pub fn timeline(&self, account_id: &str, order_session_key: &str) -> Result<Vec<TimelineEntry>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, kind, summary, payload, state_hint, changed_state FROM timeline
                 WHERE account_id = ?1 AND order_session_key = ?2 ORDER BY at, event_key",
            )
            .op("reading a timeline")?;
        let evaluated: Option<(Option<String>, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT coalesce(first_decision, decision), decision, coalesce(placed_at, created_at) FROM orders
                 WHERE account_id = ?1 AND order_session_key = ?2",
                [account_id, order_session_key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .op("reading an order's evaluate result")?;
        let rows = stmt
            .query_map([account_id, order_session_key], |r| {
                Ok(TimelineEntry {
                    at: parse_ts(&r.get::<_, String>(0)?),
                    kind: r.get(1)?,
                    summary: r.get(2)?,
                    payload: r.get(3)?,
                    state_hint: r.get::<_, Option<String>>(4)?.as_deref().and_then(OrderState::parse),
                    changed_state: r.get(5)?,
                })
            })
            .op("reading a timeline")?;
        let mut entries = rows.collect::<Result<Vec<_>, _>>().op("reading a timeline")?;
        if let Some((Some(first), now, Some(at))) = evaluated {
            let summary = match now {
                Some(now) if now != first => format!("Answered {first} (decision now {now})"),
                _ => format!("Answered {first}"),
            };
            let entry = TimelineEntry {
                at: parse_ts(&at),
                kind: "evaluate".into(),
                summary,
                payload: None,
                state_hint: None,
                changed_state: false,
            };
            let position = entries.partition_point(|e| e.at < entry.at);
            entries.insert(position, entry);
        }
        Ok(entries)
    }

    /// Flags an order (idempotent per order and kind).
    pub fn flag_drift(
        &self,
        account_id: &str,
        order_session_key: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "INSERT INTO drift (account_id, order_session_key, kind, detected_at, detail) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(account_id, order_session_key, kind) DO UPDATE SET detail = excluded.detail, resolved_at = NULL",
                rusqlite::params![account_id, order_session_key, kind, Utc::now().to_rfc3339(), detail],
            )
            .op("flagging drift")?;
        Ok(())
    }

    pub fn resolve_drift(&self, account_id: &str, order_session_key: &str, kind: &str) -> Result<(), MirrorError> {
        let tx = self.conn.unchecked_transaction().op("starting to resolve drift")?;
        if kind == "missing_webhook" {
            tx.execute(
                "DELETE FROM drift_missing_webhooks WHERE account_id = ?1 AND order_session_key = ?2",
                [account_id, order_session_key],
            )
            .op("resolving drift")?;
        }
        tx.execute(
            "UPDATE drift SET resolved_at = ?4 WHERE account_id = ?1 AND order_session_key = ?2 AND kind = ?3 AND resolved_at IS NULL",
            rusqlite::params![account_id, order_session_key, kind, Utc::now().to_rfc3339()],
        )
        .op("resolving drift")?;
        tx.commit().op("resolving drift")
    }

    /// Unresolved drift, newest first.
    pub fn drift(&self, account_id: &str) -> Result<Vec<DriftEntry>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT order_session_key, kind, detected_at, detail FROM drift
                 WHERE account_id = ?1 AND resolved_at IS NULL ORDER BY detected_at DESC",
            )
            .op("reading drift")?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok(DriftEntry {
                    order_session_key: r.get(0)?,
                    kind: r.get(1)?,
                    detected_at: parse_ts(&r.get::<_, String>(2)?),
                    detail: r.get(3)?,
                })
            })
            .op("reading drift")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading drift")
    }

    /// Settles the webhooks expected since polling saw an order change (to a state FlexFactor
    /// announces by webhook, or by a further refund; the `poll` trigger records one expectation
    /// per change). Each one seen before `seen_before` (the grace period, during which the
    /// webhook may still be on its way) is removed; when `flag` is set (a relay is in use) it
    /// is matched to a webhook of the order with that state hint that no earlier change was
    /// matched to, and without one the order is flagged as `missing_webhook` drift. Webhook
    /// times are FlexFactor's clock and polls are ours, so matching is by hint and count, not
    /// time: two refunds seen by polling need two order.refunded webhooks. Returns how many
    /// orders were flagged.
    pub fn check_webhook_expectations(
        &mut self,
        account_id: &str,
        seen_before: DateTime<Utc>,
        flag: bool,
    ) -> Result<u64, MirrorError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .op("starting a webhook check")?;
        let before = seen_before.to_rfc3339();
        let due: Vec<(i64, String, String, String)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, order_session_key, hint, seen_at FROM webhook_expectations
                     WHERE account_id = ?1 AND julianday(seen_at) <= julianday(?2) ORDER BY id",
                )
                .op("reading webhook expectations")?;
            let rows = stmt
                .query_map([account_id, before.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .op("reading webhook expectations")?;
            rows.collect::<Result<_, _>>().op("reading webhook expectations")?
        };
        let mut flagged = std::collections::HashSet::new();
        for (id, order, hint, seen_at) in due {
            if flag {
                let matched: Option<i64> = tx
                    .query_row(
                        "SELECT t.id FROM timeline t
                         WHERE t.account_id = ?1 AND t.order_session_key = ?2 AND t.kind LIKE 'webhook:%'
                           AND t.state_hint = ?3 AND t.id NOT IN (SELECT timeline_id FROM webhook_matches)
                         ORDER BY t.id LIMIT 1",
                        [account_id, order.as_str(), hint.as_str()],
                        |r| r.get(0),
                    )
                    .optional()
                    .op("matching a webhook")?;
                match matched {
                    Some(webhook) => {
                        tx.execute("INSERT INTO webhook_matches (timeline_id) VALUES (?1)", [webhook])
                            .op("matching a webhook")?;
                    }
                    None => {
                        tx.execute(
                            "INSERT INTO drift_missing_webhooks (account_id, order_session_key, hint, seen_at)
                             VALUES (?1, ?2, ?3, ?4)",
                            [account_id, order.as_str(), hint.as_str(), seen_at.as_str()],
                        )
                        .op("flagging a missing webhook")?;
                        update_missing_webhook_flag(&tx, account_id, &order, Some(&Utc::now().to_rfc3339()))?;
                        flagged.insert(order);
                    }
                }
            }
            tx.execute("DELETE FROM webhook_expectations WHERE id = ?1", [id]).op("settling a webhook expectation")?;
        }
        tx.commit().op("committing a webhook check")?;
        Ok(flagged.len() as u64)
    }

    /// Which of `keys` the mirror holds for `account_id`.
    pub fn stored_order_keys(
        &self,
        account_id: &str,
        keys: &[&str],
    ) -> Result<std::collections::HashSet<String>, MirrorError> {
        let list = serde_json::to_string(keys)
            .map_err(|e| MirrorError::Data { op: "listing order keys", message: e.to_string() })?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT order_session_key FROM orders
                 WHERE account_id = ?1 AND order_session_key IN (SELECT value FROM json_each(?2))",
            )
            .op("reading stored order keys")?;
        let rows = stmt.query_map([account_id, list.as_str()], |r| r.get(0)).op("reading stored order keys")?;
        rows.collect::<Result<_, _>>().op("reading stored order keys")
    }

    /// `PRAGMA data_version`: changes whenever another connection commits (the UI's cue to
    /// refresh visible rows).
    pub fn data_version(&self) -> Result<i64, MirrorError> {
        self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).op("reading the data version")
    }
}

/// Writes the expectations of [`Mirror::apply_orders_expecting`] inside the caller's
/// transaction.
pub(crate) fn insert_expectations(
    conn: &rusqlite::Connection,
    account_id: &str,
    expected: &[(&str, &str)],
    now: &str,
) -> Result<(), MirrorError> {
    // One already waiting for the same state (the order was stored meanwhile by another
    // writer, whose update expected it) stands for this one.
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO webhook_expectations (account_id, order_session_key, hint, seen_at)
             SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM webhook_expectations
               WHERE account_id = ?1 AND order_session_key = ?2 AND hint = ?3)",
        )
        .op("expecting a webhook")?;
    for (key, hint) in expected.iter().filter(|(_, hint)| ANNOUNCED_BY_WEBHOOK.contains(hint)) {
        insert.execute([account_id, key, hint, now]).op("expecting a webhook")?;
    }
    Ok(())
}

/// A webhook as recorded in an order's timeline (for the Webhooks screen).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    pub id: i64,
    pub order_session_key: String,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub summary: String,
    pub payload: Option<String>,
}

impl Mirror {
    /// The newest webhooks received, across orders.
    pub fn recent_webhooks(&self, account_id: &str, limit: u64) -> Result<Vec<WebhookRecord>, MirrorError> {
        self.webhook_rows(account_id, "AND kind LIKE 'webhook:%' ORDER BY id DESC LIMIT ?2", limit as i64)
    }

    /// One recorded webhook by its timeline id.
    pub fn webhook_record(&self, account_id: &str, id: i64) -> Result<Option<WebhookRecord>, MirrorError> {
        Ok(self.webhook_rows(account_id, "AND kind LIKE 'webhook:%' AND id = ?2", id)?.into_iter().next())
    }

    fn webhook_rows(&self, account_id: &str, tail: &str, arg: i64) -> Result<Vec<WebhookRecord>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, order_session_key, at, kind, summary, payload FROM timeline WHERE account_id = ?1 {tail}"
            ))
            .op("reading webhooks")?;
        let rows = stmt
            .query_map(rusqlite::params![account_id, arg], |r| {
                Ok(WebhookRecord {
                    id: r.get(0)?,
                    order_session_key: r.get(1)?,
                    at: parse_ts(&r.get::<_, String>(2)?),
                    kind: r.get(3)?,
                    summary: r.get(4)?,
                    payload: r.get(5)?,
                })
            })
            .op("reading webhooks")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading webhooks")
    }
}
