//! Orders: the upsert path and single-order reads (the list queries are in `order_list.rs`).

use chrono::{DateTime, Utc};
use flexfactor_wire::WireOrder;
use rusqlite::{params_from_iter, types::Value, OptionalExtension, Row};

use crate::cursors::write_cursor;
use crate::error::{MirrorError, SqlContext};
use crate::load_keys::LoadKeys;
use crate::rollups::{RollupDelta, RollupRow};
use crate::{Mirror, OrderState};

/// One order as the mirror holds it (the raw API JSON is kept beside these columns).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub order_session_key: String,
    pub merchant_order_id: Option<String>,
    pub status_code: Option<i32>,
    pub status_name: Option<String>,
    pub decision: Option<String>,
    pub state: OrderState,
    pub is_mit: bool,
    pub amount_cents: i64,
    pub captured_cents: i64,
    pub refunded_cents: i64,
    pub currency: String,
    pub email: Option<String>,
    pub customer_name: Option<String>,
    pub card_bin: Option<String>,
    pub card_last4: Option<String>,
    pub decline_code: Option<String>,
    pub site_id: Option<String>,
    pub placed_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub expiry_at: Option<DateTime<Utc>>,
}

/// What a refund is measured against to tell a partial one from a full one: the captured
/// amount, or the order's amount when the API leaves `capturedAmount` out (a completed
/// order's capture is its amount).
fn refund_base(o: &WireOrder) -> i64 {
    o.captured_amount.or(o.amount).map(|c| c.0).unwrap_or(0)
}

/// The order's state as the API's record gives it (no state hint), with its refunded amount.
fn api_state(o: &WireOrder) -> (OrderState, i64) {
    let refunded = o.refunded_amount.map(|c| c.0).unwrap_or(0);
    let state = OrderState::derive(o.status, o.status_name.as_deref(), o.decision.as_deref(), refund_base(o), refunded);
    (state, refunded)
}

/// The captured amount: `capturedAmount`, or, when the API leaves it out (the field is
/// inferred, flexfactor-api.md), the order's amount once the order is completed (rescued:
/// approved, refunded or charged back), else 0. Recovered money and what can still be
/// refunded are measured from it.
fn captured(o: &WireOrder, state: OrderState) -> i64 {
    let completed = matches!(
        state,
        OrderState::Approved | OrderState::PartiallyRefunded | OrderState::Refunded | OrderState::Chargeback
    );
    match o.captured_amount {
        Some(c) => c.0,
        None if completed => o.amount.map(|c| c.0).unwrap_or(0),
        None => 0,
    }
}

impl OrderRecord {
    /// Flattens an API order. Absent amounts count as 0 (a completed order's absent capture
    /// as its amount) and an absent currency as USD (the API's only documented default).
    pub fn from_wire(o: &WireOrder) -> OrderRecord {
        let (state, refunded) = api_state(o);
        let captured = captured(o, state);
        let name = match (o.first_name.as_deref(), o.last_name.as_deref()) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.to_string()),
            (None, None) => None,
        };
        OrderRecord {
            order_session_key: o.id.clone(),
            merchant_order_id: o.external_order_id.clone(),
            status_code: o.status,
            status_name: o.status_name.clone(),
            decision: o.decision.clone(),
            state,
            is_mit: o.is_mit.unwrap_or(false),
            amount_cents: o.amount.map(|c| c.0).unwrap_or(0),
            captured_cents: captured,
            refunded_cents: refunded,
            currency: o.currency_code.clone().unwrap_or_else(|| "USD".into()),
            email: o.email.clone(),
            customer_name: name,
            card_bin: o.card_bin.clone(),
            card_last4: o.card_last4.clone(),
            decline_code: o.decline_code.clone(),
            site_id: o.site_id.clone(),
            placed_at: o.order_placed_date,
            created_at: o.created_on.or(o.order_placed_date),
            modified_at: o.modified_on,
            expiry_at: o.expiry_date,
        }
    }
}

/// What one apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

pub(crate) fn ts(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc))
}

pub(crate) const SELECT_COLUMNS: &str =
    "order_session_key, merchant_order_id, status_code, status_name, decision, state, is_mit, \
     amount_cents, captured_cents, refunded_cents, currency, email, customer_name, card_bin, card_last4, decline_code, \
     site_id, placed_at, created_at, modified_at, expiry_at";

pub(crate) fn read_order(r: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let state: String = r.get(5)?;
    Ok(OrderRecord {
        order_session_key: r.get(0)?,
        merchant_order_id: r.get(1)?,
        status_code: r.get(2)?,
        status_name: r.get(3)?,
        decision: r.get(4)?,
        state: OrderState::parse(&state).unwrap_or(OrderState::Problem),
        is_mit: r.get(6)?,
        amount_cents: r.get(7)?,
        captured_cents: r.get(8)?,
        refunded_cents: r.get(9)?,
        currency: r.get(10)?,
        email: r.get(11)?,
        customer_name: r.get(12)?,
        card_bin: r.get(13)?,
        card_last4: r.get(14)?,
        decline_code: r.get(15)?,
        site_id: r.get(16)?,
        placed_at: parse_ts(r.get(17)?),
        created_at: parse_ts(r.get(18)?),
        modified_at: parse_ts(r.get(19)?),
        expiry_at: parse_ts(r.get(20)?),
    })
}

/// Appends `d` as the mirror stores timestamps (RFC 3339, milliseconds, `Z`) to `out`: the
/// same text as [`ts`], without chrono's formatting machinery on the hot path.
fn ts_push(d: DateTime<Utc>, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    let nanos = d.nanosecond();
    if !(0..=9999).contains(&d.year()) || nanos >= 1_000_000_000 {
        // Signed or five-digit years and leap seconds: chrono's own text.
        out.extend_from_slice(d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true).as_bytes());
        return;
    }
    let fields = [
        (None, d.year() as u32, 4),
        (Some(b'-'), d.month(), 2),
        (Some(b'-'), d.day(), 2),
        (Some(b'T'), d.hour(), 2),
        (Some(b':'), d.minute(), 2),
        (Some(b':'), d.second(), 2),
        (Some(b'.'), nanos / 1_000_000, 3),
    ];
    for (sep, value, width) in fields {
        if let Some(sep) = sep {
            out.push(sep);
        }
        for place in (0..width).rev() {
            out.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
        }
    }
    out.push(b'Z');
}

/// Orders from which [`Mirror::apply_orders`] prepares rows on a helper thread while SQLite
/// writes on the calling one (below this, a thread costs more than it saves).
const PIPELINE_MIN: usize = 512;
/// Orders per hand-over from the preparing thread.
const PIPELINE_CHUNK: usize = 256;

/// A piece of one of a [`Batch`]'s buffers (`text` or `packed`).
#[derive(Clone, Copy)]
struct Span(u32, u32);

/// What an order needs besides SQLite: its flattened fields, its packed JSON (see
/// `packed_json.rs`) and its timestamp text (in the batch's buffers, so a batch is a few
/// allocations to hand between threads, reused from batch to batch).
struct Prepared<'a> {
    wire: &'a WireOrder,
    api_state: OrderState,
    amount: i64,
    captured: i64,
    refunded: i64,
    /// In [`Batch::packed`].
    json: Span,
    name: Option<Span>,
    placed_at: Option<Span>,
    created_at: Option<Span>,
    modified_at: Option<Span>,
    expiry_at: Option<Span>,
}

/// Orders prepared together (on a helper thread for large applies). The writer hands each
/// batch back once written and the helper refills it: reusing the buffers avoids an
/// allocation per batch on one thread and its (costly, cross-arena) free on the other.
#[derive(Default)]
struct Batch<'a> {
    text: String,
    packed: Vec<u8>,
    /// An order's JSON text when it has none of its own (see `refill_batch`).
    scratch: Vec<u8>,
    rows: Vec<Prepared<'a>>,
}

impl Batch<'_> {
    fn get(&self, span: Span) -> &str {
        self.text.get(span.0 as usize..span.1 as usize).unwrap_or_default()
    }

    fn packed_json(&self, span: Span) -> &[u8] {
        self.packed.get(span.0 as usize..span.1 as usize).unwrap_or_default()
    }

    fn opt(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| self.get(s))
    }
}

fn prepare_batch<'a>(orders: &'a [WireOrder], dict: &[u8]) -> Result<Batch<'a>, MirrorError> {
    let mut batch = Batch::default();
    refill_batch(orders, dict, &mut batch)?;
    Ok(batch)
}

/// The JSON text stored for an order: the API's own text when the order came from it
/// (nothing it sent is lost), else its serialization (written into `scratch`).
fn json_text<'b>(wire: &'b WireOrder, scratch: &'b mut Vec<u8>) -> Result<&'b [u8], MirrorError> {
    match wire.raw.get() {
        Some(json) => Ok(json.as_bytes()),
        None => {
            scratch.clear();
            serde_json::to_writer(&mut *scratch, wire)
                .map_err(|e| MirrorError::Data { op: "serializing an order", message: e.to_string() })?;
            Ok(scratch.as_slice())
        }
    }
}

/// Empties `batch` (keeping its buffers) and prepares `orders` into it, their JSON packed
/// against `dict`.
fn refill_batch<'a>(orders: &'a [WireOrder], dict: &[u8], batch: &mut Batch<'a>) -> Result<(), MirrorError> {
    let mut text = std::mem::take(&mut batch.text).into_bytes();
    text.clear();
    text.reserve(orders.len() * 128);
    batch.packed.clear();
    let rows = &mut batch.rows;
    rows.clear();
    rows.reserve(orders.len());
    for wire in orders {
        let span = |text: &mut Vec<u8>, write: &mut dyn FnMut(&mut Vec<u8>)| {
            let start = text.len() as u32;
            write(text);
            Span(start, text.len() as u32)
        };
        let (api_state, refunded) = api_state(wire);
        let captured = captured(wire, api_state);
        let start = batch.packed.len() as u32;
        crate::packed_json::pack_into(json_text(wire, &mut batch.scratch)?, dict, &mut batch.packed)?;
        let json = Span(start, batch.packed.len() as u32);
        let name = match (wire.first_name.as_deref(), wire.last_name.as_deref()) {
            (Some(f), Some(l)) => Some(span(&mut text, &mut |t| {
                t.extend_from_slice(f.as_bytes());
                t.push(b' ');
                t.extend_from_slice(l.as_bytes());
            })),
            (Some(n), None) | (None, Some(n)) => Some(span(&mut text, &mut |t| t.extend_from_slice(n.as_bytes()))),
            (None, None) => None,
        };
        let mut stamp = |d: Option<DateTime<Utc>>| d.map(|d| span(&mut text, &mut |t| ts_push(d, t)));
        let placed_at = stamp(wire.order_placed_date);
        let created_at = stamp(wire.created_on.or(wire.order_placed_date));
        let modified_at = stamp(wire.modified_on);
        let expiry_at = stamp(wire.expiry_date);
        rows.push(Prepared {
            wire,
            api_state,
            amount: wire.amount.map(|c| c.0).unwrap_or(0),
            captured,
            refunded,
            json,
            name,
            placed_at,
            created_at,
            modified_at,
            expiry_at,
        });
    }
    batch.text =
        String::from_utf8(text).map_err(|e| MirrorError::Data { op: "preparing orders", message: e.to_string() })?;
    Ok(())
}

/// The flags an apply reads once, under the write lock.
struct ApplyMode {
    any_hints: bool,
    any_unknown: bool,
    /// A bulk load has the rollup triggers off: inserted rows bring their rollups.
    rollups_here: bool,
}

impl Mirror {
    /// Upserts `orders` for `account_id` and, in the same transaction, writes the cursor
    /// `(name, value)` if given. A row whose stored `modified_at` is newer than the
    /// incoming one is left alone (a stale page never moves an order backwards).
    ///
    /// During a bulk load (rollup triggers off) the rollup contributions of the inserted rows
    /// are added up here and written in the same transaction (see `rollups.rs`). For large
    /// batches the JSON is packed and the timestamp text prepared on a helper thread meanwhile.
    pub fn apply_orders(
        &mut self,
        account_id: &str,
        orders: &[WireOrder],
        cursor: Option<(&str, &str)>,
    ) -> Result<ApplyStats, MirrorError> {
        self.apply_orders_expecting(account_id, orders, cursor, &[])
    }

    /// [`Mirror::apply_orders`], also expecting, in the same transaction (a crash keeps both
    /// or neither), a webhook for each order in `expected` (`(order key, state hint)`): orders
    /// first seen by polling in a state FlexFactor announces by webhook. Hints are written as
    /// the poll trigger writes them (`OrderState::as_str`, a refund as `partiallyRefunded`);
    /// other hints are skipped. This is what an update's trigger does for a change, for an
    /// order the mirror did not have yet; [`Mirror::check_webhook_expectations`] looks for the
    /// webhooks later.
    #[tracing::instrument(skip_all, err, fields(n = orders.len()))]
    pub fn apply_orders_expecting(
        &mut self,
        account_id: &str,
        orders: &[WireOrder],
        cursor: Option<(&str, &str)>,
        expected: &[(&str, &str)],
    ) -> Result<ApplyStats, MirrorError> {
        let now = Utc::now().to_rfc3339();
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).op("starting an apply")?;
        // Per-row lookups of state hints and unknown-order drift are skipped when the account
        // has none (the common case of a backfill); the write lock makes this stable.
        let (any_hints, any_unknown, rollups_here, search_trigger_off, key_index_off): (bool, bool, bool, bool, bool) = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM order_hints WHERE account_id = ?1),
                        EXISTS (SELECT 1 FROM drift WHERE account_id = ?1 AND kind = 'unknown_order' AND resolved_at IS NULL),
                        EXISTS (SELECT 1 FROM mirror_bulk_ddl WHERE name = 'orders_rollup_ai'),
                        EXISTS (SELECT 1 FROM mirror_bulk_ddl WHERE name = 'orders_search_ai'),
                        EXISTS (SELECT 1 FROM mirror_bulk_ddl WHERE name = ?2)",
                [account_id, crate::bulk::KEY_INDEX],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .op("checking hints and drift")?;
        // A bulk load has the order-key index off: existing orders are found through this
        // connection's key map (see `load_keys.rs`).
        // Taken out for the transaction: put back only once it has committed.
        let mut load_keys = self.load_keys.take().filter(|_| key_index_off);
        let keys = if key_index_off && !orders.is_empty() {
            Some(LoadKeys::refresh(&mut load_keys, &tx, account_id)?)
        } else {
            None
        };
        if search_trigger_off {
            // The word-index insert trigger is off during a bulk load, so every new row must
            // land past the search mark (searches scan those). New ids are past the largest
            // one; when deletions left the mark above it, no row and no index entry exist
            // between the two, and the mark can come down to it.
            tx.execute(
                "UPDATE mirror_marks SET value = (SELECT coalesce(MAX(id), 0) FROM orders)
                 WHERE name = 'search_indexed_upto' AND value > (SELECT coalesce(MAX(id), 0) FROM orders)",
                [],
            )
            .op("keeping new orders past the search mark")?;
        }
        let mode = ApplyMode { any_hints, any_unknown, rollups_here };
        let mut stats = ApplyStats::default();
        let mut delta = RollupDelta::default();
        if let Some(first) = orders.first() {
            let (dict_id, dict) = json_dict(&tx, first)?;
            let dict = dict.as_slice();
            let mut writer = RowWriter::new(&tx, account_id, &now, dict_id, mode, keys)?;
            if orders.len() < PIPELINE_MIN {
                writer.write_batch(&prepare_batch(orders, dict)?, &mut stats, &mut delta)?;
            } else {
                std::thread::scope(|scope| -> Result<(), MirrorError> {
                    let (send, receive) = std::sync::mpsc::sync_channel::<Result<Batch<'_>, MirrorError>>(4);
                    let (give_back, written) = std::sync::mpsc::channel::<Batch<'_>>();
                    scope.spawn(move || {
                        for chunk in orders.chunks(PIPELINE_CHUNK) {
                            let mut batch = written.try_recv().unwrap_or_default();
                            let batch = refill_batch(chunk, dict, &mut batch).map(|()| batch);
                            let failed = batch.is_err();
                            if send.send(batch).is_err() || failed {
                                return;
                            }
                        }
                    });
                    // Dropping `receive` on an early error stops the helper at its next send.
                    for batch in receive {
                        let batch = batch?;
                        writer.write_batch(&batch, &mut stats, &mut delta)?;
                        // The helper may be done already: then the batch is simply dropped.
                        let _ = give_back.send(batch);
                    }
                    Ok(())
                })?;
            }
        }
        if rollups_here {
            delta.write(&tx, account_id)?;
        }
        if !expected.is_empty() {
            crate::timeline::insert_expectations(&tx, account_id, expected, &now)?;
        }
        if let Some((name, value)) = cursor {
            write_cursor(&tx, account_id, name, value)?;
        }
        tx.commit().op("committing an apply")?;
        self.load_keys = load_keys;
        Ok(stats)
    }

    /// Number of orders mirrored for the account (from the rollups when they are kept).
    pub fn order_count(&self, account_id: &str) -> Result<u64, MirrorError> {
        self.count_orders(account_id, &crate::OrderFilter::default())
    }

    /// One order by FlexFactor id.
    pub fn order(&self, account_id: &str, order_session_key: &str) -> Result<Option<OrderRecord>, MirrorError> {
        self.conn
            .query_row(
                &format!("SELECT {SELECT_COLUMNS} FROM orders WHERE account_id = ?1 AND order_session_key = ?2"),
                [account_id, order_session_key],
                read_order,
            )
            .optional()
            .op("reading an order")
    }

    /// The order's API JSON as last applied, byte for byte.
    pub fn order_json(&self, account_id: &str, order_session_key: &str) -> Result<Option<String>, MirrorError> {
        let stored: Option<(Value, Option<Vec<u8>>)> = self
            .conn
            .query_row(
                "SELECT j.raw_json, d.dict FROM orders o JOIN order_json j ON j.order_id = o.id
                   LEFT JOIN json_dicts d ON d.id = j.dict_id
                 WHERE o.account_id = ?1 AND o.order_session_key = ?2",
                [account_id, order_session_key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .op("reading an order's JSON")?;
        let damaged =
            |message: &str| MirrorError::Data { op: "reading an order's stored JSON", message: message.into() };
        match stored {
            None => Ok(None),
            // Written before migration 0010: plain text.
            Some((Value::Text(text), None)) => Ok(Some(text)),
            Some((Value::Blob(packed), Some(dict))) => crate::packed_json::unpack(&packed, &dict).map(Some),
            Some((Value::Blob(_), None)) => {
                Err(damaged("the record's dictionary is missing; re-sync the order to store it again"))
            }
            Some(_) => Err(damaged("the stored record has an unexpected type; re-sync the order to store it again")),
        }
    }

    /// The ids of orders in the given states (e.g. the non-final ones to re-check), oldest
    /// first.
    pub fn order_keys_in_states(&self, account_id: &str, states: &[OrderState]) -> Result<Vec<String>, MirrorError> {
        let placeholders = vec!["?"; states.len()].join(", ");
        let sql = format!(
            "SELECT order_session_key FROM orders WHERE account_id = ? AND state IN ({placeholders}) ORDER BY created_at, id"
        );
        let mut args: Vec<Value> = vec![Value::Text(account_id.to_string())];
        args.extend(states.iter().map(|s| Value::Text(s.as_str().to_string())));
        let mut stmt = self.conn.prepare(&sql).op("listing orders by state")?;
        let rows = stmt.query_map(params_from_iter(args), |r| r.get(0)).op("listing orders by state")?;
        rows.collect::<Result<Vec<String>, _>>().op("reading order ids")
    }

    /// The newest order with this merchant order id that a cancel can still act on
    /// (pending or awaiting capture): the one FlexFactor's `external-cancel` addresses when
    /// several share the id (rebills of one subscription). An older order cancelled long
    /// ago is never taken for it.
    pub fn cancellable_order_key_by_merchant_id(
        &self,
        account_id: &str,
        merchant_order_id: &str,
    ) -> Result<Option<String>, MirrorError> {
        self.conn
            .query_row(
                "SELECT order_session_key FROM orders WHERE merchant_order_id = ?2 AND account_id = ?1
                   AND state IN (?3, ?4)
                 ORDER BY created_at DESC, id DESC LIMIT 1",
                [account_id, merchant_order_id, OrderState::Pending.as_str(), OrderState::CaptureRequired.as_str()],
                |r| r.get(0),
            )
            .optional()
            .op("looking an order up by its merchant order id")
    }
}

/// A dictionary shorter than this came from an order with next to nothing in it: the next
/// apply whose first order gives a longer one adds that one.
const MIN_DICT: usize = 64;

/// The dictionary new JSON is packed with: the newest in `json_dicts`; a new one made from
/// `first`'s text (see `packed_json.rs`) when there is none yet, or when the newest is too
/// short to help and `first` gives a better one.
fn json_dict(tx: &rusqlite::Transaction<'_>, first: &WireOrder) -> Result<(i64, Vec<u8>), MirrorError> {
    let newest: Option<(i64, Vec<u8>)> = tx
        .query_row("SELECT id, dict FROM json_dicts ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .op("reading the JSON dictionary")?;
    if let Some(found) = newest.as_ref().filter(|(_, dict)| dict.len() >= MIN_DICT) {
        return Ok(found.clone());
    }
    let dict = crate::packed_json::skeleton(&String::from_utf8_lossy(json_text(first, &mut Vec::new())?));
    if let Some(found) = newest.filter(|_| dict.len() < MIN_DICT) {
        return Ok(found);
    }
    tx.execute("INSERT INTO json_dicts (dict) VALUES (?1)", [&dict]).op("storing the JSON dictionary")?;
    Ok((tx.last_insert_rowid(), dict))
}

/// Parameters of the insert and update statements (`?1` … `?27`; the updates by id also
/// `?28`, the order's id).
const PARAMS: usize = 28;

/// The columns an update sets and the conditions it keeps, after the row is chosen: it
/// changes nothing when the stored JSON is the same, or the stored row is newer.
const UPDATE_SET: &str = "UPDATE orders SET merchant_order_id = ?3, status_code = ?4, status_name = ?5, decision = ?6,
    state = ?7, is_mit = ?8, amount_cents = ?9, captured_cents = ?10, refunded_cents = ?11, currency = ?12,
    email = ?13, customer_name = ?14, card_bin = ?15, card_last4 = ?16, decline_code = ?17, site_id = ?18,
    placed_at = ?19, created_at = ?20, modified_at = coalesce(?21, modified_at), expiry_at = ?22, synced_at = ?24,
    api_state = ?25";
const UPDATE_UNLESS: &str = "AND NOT EXISTS (SELECT 1 FROM order_json WHERE order_id = orders.id
                     AND ((dict_id IS ?26 AND raw_json IS ?23) OR (dict_id IS NULL AND raw_json IS ?27)))
    AND (modified_at IS NULL OR ?21 IS NULL OR modified_at <= ?21)
    RETURNING id";

/// The prepared statements of one apply.
struct RowWriter<'t, 'k> {
    tx: &'t rusqlite::Transaction<'t>,
    account_id: &'t str,
    now: &'t str,
    dict_id: i64,
    mode: ApplyMode,
    /// During a bulk load with the key index off: where existing orders are found.
    keys: Option<&'k mut LoadKeys>,
    insert: rusqlite::CachedStatement<'t>,
    update: rusqlite::CachedStatement<'t>,
    update_by_id: rusqlite::CachedStatement<'t>,
    put_json: rusqlite::CachedStatement<'t>,
    resolve_unknown: rusqlite::CachedStatement<'t>,
    hint: rusqlite::CachedStatement<'t>,
    stored_state: rusqlite::CachedStatement<'t>,
    stored_state_by_id: rusqlite::CachedStatement<'t>,
    older_decision: rusqlite::CachedStatement<'t>,
    older_decision_by_id: rusqlite::CachedStatement<'t>,
}

impl<'t, 'k> RowWriter<'t, 'k> {
    fn new(
        tx: &'t rusqlite::Transaction<'t>,
        account_id: &'t str,
        now: &'t str,
        dict_id: i64,
        mode: ApplyMode,
        keys: Option<&'k mut LoadKeys>,
    ) -> Result<RowWriter<'t, 'k>, MirrorError> {
        Ok(RowWriter {
            tx,
            account_id,
            now,
            dict_id,
            mode,
            keys,
            // No RETURNING: SQLite would buffer each row's result in a temporary table.
            insert: tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO orders (account_id, order_session_key, merchant_order_id, status_code, status_name,
                        decision, state, is_mit, amount_cents, captured_cents, refunded_cents, currency, email, customer_name,
                        card_bin, card_last4, decline_code, site_id, placed_at, created_at, modified_at, expiry_at, synced_at, api_state,
                        first_decision, first_decision_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?24, ?25,
                        ?6, ?21)",
                )
                .op("preparing the order insert")?,
            update: tx
                .prepare_cached(&format!("{UPDATE_SET} WHERE account_id = ?1 AND order_session_key = ?2 {UPDATE_UNLESS}"))
                .op("preparing the order update")?,
            update_by_id: tx
                .prepare_cached(&format!(
                    "{UPDATE_SET} WHERE id = ?28 AND account_id = ?1 AND order_session_key = ?2 {UPDATE_UNLESS}"
                ))
                .op("preparing the order update")?,
            put_json: tx
                .prepare_cached("INSERT OR REPLACE INTO order_json (order_id, raw_json, dict_id) VALUES (?1, ?2, ?3)")
                .op("preparing the raw JSON write")?,
            resolve_unknown: tx
                .prepare_cached(
                    "UPDATE drift SET resolved_at = ?3 WHERE account_id = ?1 AND order_session_key = ?2
                       AND kind = 'unknown_order' AND resolved_at IS NULL",
                )
                .op("preparing the drift resolution")?,
            hint: tx
                .prepare_cached("SELECT state_rank FROM order_hints WHERE account_id = ?1 AND order_session_key = ?2")
                .op("preparing the hint lookup")?,
            stored_state: tx
                .prepare_cached(
                    "SELECT api_state, modified_at FROM orders WHERE account_id = ?1 AND order_session_key = ?2",
                )
                .op("preparing the stored-state lookup")?,
            stored_state_by_id: tx
                .prepare_cached("SELECT api_state, modified_at FROM orders WHERE id = ?1")
                .op("preparing the stored-state lookup")?,
            // An older copy than the one the first decision came from (arriving out of order)
            // gives the order its first decision.
            older_decision: tx
                .prepare_cached(
                    "UPDATE orders SET first_decision = ?3, first_decision_at = ?4
                     WHERE account_id = ?1 AND order_session_key = ?2 AND first_decision_at IS NOT NULL
                       AND ?4 < first_decision_at",
                )
                .op("preparing the first-decision check")?,
            // The same by id, during a bulk load (the key index is off then).
            older_decision_by_id: tx
                .prepare_cached(
                    "UPDATE orders SET first_decision = ?3, first_decision_at = ?4
                     WHERE id = ?5 AND account_id = ?1 AND order_session_key = ?2 AND first_decision_at IS NOT NULL
                       AND ?4 < first_decision_at",
                )
                .op("preparing the first-decision check")?,
        })
    }

    /// During a bulk load with the key index off: `Some(id)` of the stored order with this
    /// key, `Some(None)` when there is none. `None` outside such a load (the insert's unique
    /// key decides then).
    fn existing(&self, key: &str) -> Result<Option<Option<i64>>, MirrorError> {
        match self.keys.as_deref() {
            Some(keys) => keys.find(self.tx, key).map(Some),
            None => Ok(None),
        }
    }

    fn write_batch<'a>(
        &mut self,
        batch: &Batch<'a>,
        stats: &mut ApplyStats,
        delta: &mut RollupDelta<'a>,
    ) -> Result<(), MirrorError> {
        for p in &batch.rows {
            self.write(batch, p, stats, delta)?;
        }
        Ok(())
    }

    /// Inserts the order, or updates it unless the stored row is newer or identical.
    fn write<'a>(
        &mut self,
        batch: &Batch<'a>,
        p: &Prepared<'a>,
        stats: &mut ApplyStats,
        delta: &mut RollupDelta<'a>,
    ) -> Result<(), MirrorError> {
        let wire = p.wire;
        // Every order applied here came from FlexFactor's API, so the API knows it: a flag
        // saying it answered 404 (a passing glitch, a replica behind) is cleared, whether the
        // order is new, changed or the same.
        if self.mode.any_unknown {
            self.resolve_unknown.execute([self.account_id, wire.id.as_str(), self.now]).op("resolving drift")?;
        }
        let json = batch.packed_json(p.json);
        let created_at = batch.opt(p.created_at);
        let expiry_at = batch.opt(p.expiry_at);
        let hint_rank: Option<i64> = if self.mode.any_hints {
            self.hint.query_row([self.account_id, wire.id.as_str()], |r| r.get(0)).optional().op("reading a hint")?
        } else {
            None
        };
        let effective = match hint_rank.and_then(OrderState::from_rank) {
            Some(h) if h.rank() > p.api_state.rank() => h,
            _ => p.api_state,
        };
        let is_mit = wire.is_mit.unwrap_or(false);
        let currency = wire.currency_code.as_deref().unwrap_or("USD");
        let existing = self.existing(&wire.id)?;
        let (account_id, now, dict_id) = (self.account_id, self.now, self.dict_id);
        let mut params: [&dyn rusqlite::ToSql; PARAMS] = [
            &account_id,
            &wire.id,
            &wire.external_order_id,
            &wire.status,
            &wire.status_name,
            &wire.decision,
            &effective.as_str(),
            &is_mit,
            &p.amount,
            &p.captured,
            &p.refunded,
            &currency,
            &wire.email,
            &batch.opt(p.name),
            &wire.card_bin,
            &wire.card_last4,
            &wire.decline_code,
            &wire.site_id,
            &batch.opt(p.placed_at),
            &created_at,
            &batch.opt(p.modified_at),
            &expiry_at,
            // ?23, ?26 and ?27 (the packed JSON, its dictionary, the JSON's text) only serve
            // the update's unchanged-row test: the insert does not read them, so they stay NULL
            // (SQLite copies bound values).
            &rusqlite::types::Null,
            &now,
            &p.api_state.as_str(),
            &rusqlite::types::Null,
            &rusqlite::types::Null,
            &rusqlite::types::Null,
        ];
        // The insert names ?1 … ?25. With the key index on, it does nothing for a stored key.
        let inserted = match existing {
            Some(Some(_)) => false,
            Some(None) | None => self.insert.execute(&params[..25]).op("inserting an order")? == 1,
        };
        if !inserted {
            if let (Some(decision), Some(modified)) = (wire.decision.as_deref(), batch.opt(p.modified_at)) {
                match existing.flatten() {
                    Some(id) => self.older_decision_by_id.execute(rusqlite::params![
                        self.account_id,
                        wire.id,
                        decision,
                        modified,
                        id
                    ]),
                    None => {
                        self.older_decision.execute(rusqlite::params![self.account_id, wire.id, decision, modified])
                    }
                }
                .op("checking an order's first decision")?;
            }
        }
        if inserted {
            let id = self.tx.last_insert_rowid();
            if let Some(keys) = self.keys.as_deref_mut() {
                keys.record(&wire.id, id);
            }
            self.put_json.execute(rusqlite::params![id, json, self.dict_id]).op("storing an order's JSON")?;
            stats.inserted += 1;
            if self.mode.rollups_here {
                delta.add(&RollupRow {
                    created_at,
                    expiry_at,
                    placed: wire.order_placed_date,
                    modified: wire.modified_on,
                    currency,
                    is_mit,
                    state: effective.as_str(),
                    decline_code: wire.decline_code.as_deref(),
                    amount_cents: p.amount,
                    captured_cents: p.captured,
                    refunded_cents: p.refunded,
                });
            }
        } else if self.moves_backwards(&wire.id, existing.flatten(), p.api_state, batch.opt(p.modified_at))? {
            // No `modifiedOn` that orders it after the stored copy, and it would move the
            // order back in its lifecycle: most likely a stale copy. Kept out, like one with
            // an older time.
            stats.unchanged += 1;
        } else {
            // A row stored before JSON was packed is unchanged when its text is the same.
            let mut scratch = Vec::new();
            let text = std::str::from_utf8(json_text(wire, &mut scratch)?).ok();
            params[22] = &json;
            params[25] = &dict_id;
            params[26] = &text;
            let by_id = existing.flatten();
            params[27] = &by_id;
            let updated = match by_id {
                Some(_) => self.update_by_id.query_row(params, |r| r.get::<_, i64>(0)),
                None => self.update.query_row(&params[..27], |r| r.get::<_, i64>(0)),
            };
            match updated.optional().op("updating an order")? {
                Some(id) => {
                    self.put_json.execute(rusqlite::params![id, json, self.dict_id]).op("storing an order's JSON")?;
                    stats.updated += 1;
                }
                None => stats.unchanged += 1,
            }
        }
        Ok(())
    }
}

impl RowWriter<'_, '_> {
    /// True when the times cannot order the incoming copy after the stored row (found by its
    /// id during a bulk load, else by key): either has no `modifiedOn`, or both have the same
    /// one; and the stored row has a final API state later in the lifecycle than `incoming`.
    /// Then it is most likely a stale copy (a newer time would order it; an older one the
    /// update refuses by itself). Moves between non-final states (on hold → processing) stay
    /// allowed.
    fn moves_backwards(
        &mut self,
        key: &str,
        id: Option<i64>,
        incoming: OrderState,
        incoming_modified: Option<&str>,
    ) -> Result<bool, MirrorError> {
        let stored: Option<(Option<String>, Option<String>)> = match id {
            Some(id) => self.stored_state_by_id.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))),
            None => self.stored_state.query_row([self.account_id, key], |r| Ok((r.get(0)?, r.get(1)?))),
        }
        .optional()
        .op("reading an order's stored state")?;
        let Some((state, modified)) = stored else { return Ok(false) };
        let ordered_by_time = matches!((modified.as_deref(), incoming_modified), (Some(a), Some(b)) if a != b);
        let stored = state.as_deref().and_then(OrderState::parse);
        Ok(!ordered_by_time && stored.is_some_and(|s| s.is_final() && s.rank() > incoming.rank()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Account, Environment};
    use chrono::TimeZone;

    fn orders(from: usize, n: usize) -> Vec<WireOrder> {
        (from..from + n)
            .map(|i| WireOrder {
                id: format!("00000000-0000-4000-8000-{i:012}"),
                email: Some(format!("buyer{i}@example.test")),
                amount: Some(flexfactor_wire::Cents(100 + i as i64)),
                created_on: Utc.timestamp_millis_opt(1_780_000_000_000 + i as i64 * 60_000).single(),
                ..Default::default()
            })
            .collect()
    }

    fn page_count(m: &Mirror) -> i64 {
        m.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap()
    }

    /// SQLite refuses to grow the file past `pages` pages: the same `SQLITE_FULL` a full
    /// disk (or quota) gives when the database or its WAL cannot grow.
    fn fill_the_disk_at(m: &Mirror, pages: i64) {
        let set: i64 = m.conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).unwrap();
        assert_eq!(set, pages);
    }

    fn free_the_disk(m: &Mirror) {
        fill_the_disk_at(m, 1 << 30);
    }

    fn mirror_with_ten_orders(dir: &std::path::Path) -> Mirror {
        let mut m = Mirror::open(&dir.join("m.sqlite3")).unwrap();
        m.insert_account(&Account::new("acct", "A", Environment::Sandbox, "http://x", "m", "k")).unwrap();
        m.apply_orders("acct", &orders(0, 10), Some(("backfill", "page-1"))).unwrap();
        m
    }

    #[test]
    fn a_full_disk_fails_the_apply_whole_with_a_disk_full_error_and_loses_nothing() {
        for n in [400, 5000] {
            // 400 orders take the small path, 5,000 the helper thread.
            let dir = tempfile::tempdir().unwrap();
            let mut m = mirror_with_ten_orders(dir.path());
            fill_the_disk_at(&m, page_count(&m));
            let err = m.apply_orders("acct", &orders(10, n), Some(("backfill", "page-2"))).unwrap_err();
            assert!(matches!(err, MirrorError::DiskFull { .. }), "{n}: {err:?}");
            assert!(err.is_disk_full());
            assert!(err.to_string().contains("Free some disk space"), "{err}");
            // Neither the rows nor the cursor of the failed page went in; the earlier ones stay.
            assert_eq!(m.order_count("acct").unwrap(), 10);
            assert_eq!(m.cursor("acct", "backfill").unwrap().as_deref(), Some("page-1"));
            assert!(m.order_json("acct", &orders(3, 1)[0].id).unwrap().is_some());
            assert!(m.quick_check().unwrap());
            // With space again, the same page goes in whole.
            free_the_disk(&m);
            m.apply_orders("acct", &orders(10, n), Some(("backfill", "page-2"))).unwrap();
            assert_eq!(m.order_count("acct").unwrap(), 10 + n as u64);
            assert_eq!(m.cursor("acct", "backfill").unwrap().as_deref(), Some("page-2"));
        }
    }

    #[test]
    fn a_full_disk_while_a_bulk_load_builds_its_indexes_leaves_the_load_open_to_finish_later() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = mirror_with_ten_orders(dir.path());
        assert!(m.begin_bulk_load(10).unwrap());
        m.apply_orders("acct", &orders(10, 20_000), Some(("backfill", "page-2"))).unwrap();
        fill_the_disk_at(&m, page_count(&m));
        let err = m.finish_bulk_load().unwrap_err();
        assert!(matches!(err, MirrorError::DiskFull { op: "restoring an index or trigger" }), "{err:?}");
        assert!(m.bulk_loading().unwrap(), "the load stays open");
        assert_eq!(m.order_count("acct").unwrap(), 20_010);
        assert!(m.quick_check().unwrap());
        free_the_disk(&m);
        m.finish_bulk_load().unwrap();
        assert!(!m.bulk_loading().unwrap());
        let indexes: i64 = m
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'orders' AND name LIKE 'orders_by_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 6, "every secondary index is back, the order key's too");
        assert_eq!(m.order_count("acct").unwrap(), 20_010);
    }

    #[test]
    fn the_fast_timestamp_text_equals_chronos_rfc3339_with_milliseconds() {
        let mut out = Vec::new();
        let samples = [
            Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(7, 2, 3, 4, 5, 6).unwrap() + chrono::Duration::microseconds(1_500),
            Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for d in samples.into_iter().chain((0..2000).map(|i| {
            Utc.timestamp_millis_opt(1_700_000_000_123 + i * 987_654_321).unwrap() + chrono::Duration::nanoseconds(i)
        })) {
            out.clear();
            ts_push(d, &mut out);
            assert_eq!(String::from_utf8(out.clone()).ok(), ts(Some(d)), "{d:?}");
        }
    }
}
