//! The orders list: filters, sorts, search, and windows by keyset cursor or by offset.
//!
//! Each sort has an index (migrations 0006 and 0008) holding `account_id` and the sort key;
//! like every SQLite index entry it ends with the row id, which breaks ties in the sort's
//! direction, so the page after an [`OrderCursor`] is one index range scan whatever the
//! depth. Offsets stay for far jumps (a scrollbar drag to row 700,000): they walk the index
//! from the start.
//!
//! Search narrows by the word index (`orders_search`, FTS5) for rows up to the
//! `search_indexed_upto` mark and checks the rows past it directly (see `bulk.rs`).

use chrono::{DateTime, Utc};
use rusqlite::{params_from_iter, types::Value, OptionalExtension};

use crate::error::{MirrorError, SqlContext};
use crate::orders::{read_order, ts, SELECT_COLUMNS};
use crate::{Mirror, OrderRecord, OrderState};

/// How a list is ordered. Ties always break by the mirror's row id (the order in which the
/// orders arrived) in the sort's direction, so windows never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrderSort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    AmountDesc,
    AmountAsc,
    /// Soonest `expiryDateUtc` first (pending MIT rescues); orders without one last.
    ExpiryAsc,
}

impl OrderSort {
    /// The sort column, whether it runs descending, and whether NULLs come first.
    fn key(self) -> (&'static str, bool, bool) {
        match self {
            OrderSort::CreatedDesc => ("created_at", true, false),
            OrderSort::CreatedAsc => ("created_at", false, true),
            OrderSort::AmountDesc => ("amount_cents", true, false),
            OrderSort::AmountAsc => ("amount_cents", false, false),
            OrderSort::ExpiryAsc => ("expiry_at", false, false),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            OrderSort::CreatedDesc => "created_at DESC, orders.id DESC",
            OrderSort::CreatedAsc => "created_at ASC, orders.id ASC",
            OrderSort::AmountDesc => "amount_cents DESC, orders.id DESC",
            OrderSort::AmountAsc => "amount_cents ASC, orders.id ASC",
            OrderSort::ExpiryAsc => "expiry_at IS NULL, expiry_at ASC, orders.id ASC",
        }
    }
}

/// Where a page ends: the last row's sort key (as stored: RFC 3339 text for times, decimal
/// cents for amounts; `None` when the row has no value) and its FlexFactor id. The next page
/// starts right after it (the query looks up the row id that breaks ties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCursor {
    pub sort_value: Option<String>,
    pub order_session_key: String,
}

impl OrderCursor {
    /// The cursor just after `row` in `sort`.
    pub fn after(sort: OrderSort, row: &OrderRecord) -> OrderCursor {
        let sort_value = match sort {
            OrderSort::CreatedDesc | OrderSort::CreatedAsc => ts(row.created_at),
            OrderSort::AmountDesc | OrderSort::AmountAsc => Some(row.amount_cents.to_string()),
            OrderSort::ExpiryAsc => ts(row.expiry_at),
        };
        OrderCursor { sort_value, order_session_key: row.order_session_key.clone() }
    }

    /// The sort value as SQL compares it (amounts are integers).
    fn value(&self, sort: OrderSort) -> Result<Option<Value>, MirrorError> {
        let Some(v) = &self.sort_value else { return Ok(None) };
        match sort {
            OrderSort::AmountDesc | OrderSort::AmountAsc => {
                v.parse::<i64>().map(|n| Some(Value::Integer(n))).map_err(|_| MirrorError::Data {
                    op: "reading a list cursor",
                    message: format!("{v:?} is not an amount in cents"),
                })
            }
            _ => Ok(Some(Value::Text(v.clone()))),
        }
    }
}

/// A list query: filters plus a window, either after a keyset cursor or at an offset (the
/// virtual table's far jumps). Time bounds are `from` inclusive, `to` exclusive; amounts are
/// cents, inclusive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    /// Any of these states (in addition to `state`, when both are given).
    pub states: Vec<OrderState>,
    pub is_mit: Option<bool>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub placed_from: Option<DateTime<Utc>>,
    pub placed_to: Option<DateTime<Utc>>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub site_id: Option<String>,
    pub decline_code: Option<String>,
    pub currency: Option<String>,
    /// Only these orders (FlexFactor ids); `Some` of an empty list matches none.
    pub keys: Option<Vec<String>>,
    pub sort: OrderSort,
    /// Words (or word prefixes) of the FlexFactor id, merchant order id, email, name, last-4
    /// or decline code, case-insensitive.
    pub search: Option<String>,
    /// Start right after this row (of the same sort); `offset` is then ignored.
    pub after: Option<OrderCursor>,
    pub offset: u64,
    pub limit: u64,
}

/// The SQL function that lowercases text as Rust does (all of Unicode; SQLite's `lower`
/// folds ASCII only), registered on every mirror connection (`db.rs`).
pub(crate) const FOLD: &str = "flexdesk_fold";

/// The word the index is asked for: the longest word of what a person typed, lowercased
/// (`WEB-2026` → `2026`). Matching on the most selective word keeps common words ("com" of
/// an email) from dragging in most of the table; the whole term is checked afterwards.
fn longest_word(term: &str) -> Option<String> {
    term.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).max_by_key(|w| w.len()).map(str::to_lowercase)
}

/// Whether the word index can be asked for `word`: ASCII letters and digits only. For other
/// words the index's tokenizer (unicode61) may split where Rust sees one word (the vowel signs
/// of some scripts), turning the quoted word into a phrase the index cannot answer
/// (`detail=none`), and it folds case and accents differently: those are looked for by a
/// scan of the account's orders instead (slower, never an error).
fn indexable(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_alphanumeric())
}

const SEARCHED: [&str; 6] =
    ["order_session_key", "merchant_order_id", "email", "customer_name", "card_last4", "decline_code"];

/// The rows a search term can match, as a FROM clause: the word index up to the indexed
/// mark, plus a direct word-prefix check (GLOB) of the rows past it. The direct check splits
/// words at anything but ASCII letters and digits, which is what the index does for ASCII
/// text (ids, e-mails, codes).
fn search_source(account_id: &str, word: &str, indexed_upto: i64, args: &mut Vec<Value>) -> String {
    let all = SEARCHED.iter().map(|c| format!("coalesce({c}, '')")).collect::<Vec<_>>().join(" || ' ' || ");
    if !indexable(word) {
        // A substring of any searched column, folded by Rust's Unicode lowercase.
        args.push(Value::Text(account_id.to_string()));
        args.push(Value::Text(word.to_string()));
        return format!(
            "(SELECT id FROM orders WHERE +account_id = ? AND instr({FOLD}({all}), ?)) AS hit \
             CROSS JOIN orders ON orders.id = hit.id"
        );
    }
    args.push(Value::Text(format!("\"{word}\"*")));
    args.push(Value::Text(account_id.to_string()));
    args.push(Value::Integer(indexed_upto));
    // A word-prefix match in any column contains the word, so one substring test over all
    // the columns first skips the per-column patterns for almost every row (the scan is what
    // a search costs until a first backfill's rows are in the word index).
    args.push(Value::Text(word.to_string()));
    let tail = SEARCHED
        .iter()
        .map(|c| {
            args.push(Value::Text(format!("{word}*")));
            args.push(Value::Text(format!("*[^0-9a-z]{word}*")));
            format!("lower({c}) GLOB ? OR lower({c}) GLOB ?")
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    format!(
        "(SELECT rowid AS id FROM orders_search WHERE orders_search MATCH ? \
         UNION ALL SELECT id FROM orders WHERE +account_id = ? AND id > ? AND instr(lower({all}), ?) AND ({tail})) AS hit \
         CROSS JOIN orders ON orders.id = hit.id"
    )
}

/// The state and MIT conditions of a filter: `orders` and `rollup_days` name these columns
/// alike.
fn state_and_mit_clauses(filter: &OrderFilter, clauses: &mut Vec<String>, args: &mut Vec<Value>) {
    if let Some(state) = filter.state {
        clauses.push("state = ?".into());
        args.push(Value::Text(state.as_str().into()));
    }
    if !filter.states.is_empty() {
        clauses.push(format!("state IN ({})", vec!["?"; filter.states.len()].join(", ")));
        args.extend(filter.states.iter().map(|s| Value::Text(s.as_str().into())));
    }
    if let Some(mit) = filter.is_mit {
        clauses.push("is_mit = ?".into());
        args.push(Value::Integer(i64::from(mit)));
    }
}

/// FROM and WHERE clauses (and their arguments) for a filter.
fn query_parts(account_id: &str, filter: &OrderFilter, indexed_upto: i64) -> (String, String, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut from = "orders".to_string();
    let mut clauses = vec!["account_id = ?".to_string()];
    let term = filter.search.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some((term, word)) = term.and_then(|t| longest_word(t).map(|w| (t, w))) {
        from = search_source(account_id, &word, indexed_upto, &mut args);
        // A term of several words must also appear whole in one of the searched columns.
        if term.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count() > 1 {
            let fold = if term.is_ascii() { "lower" } else { FOLD };
            let each = SEARCHED.iter().map(|c| format!("instr({fold}(coalesce({c}, '')), ?)")).collect::<Vec<_>>();
            clauses.push(format!("({})", each.join(" OR ")));
        }
    }
    args.push(Value::Text(account_id.to_string()));
    if let Some(term) = term.filter(|t| longest_word(t).is_some()) {
        if term.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).count() > 1 {
            args.extend(std::iter::repeat_n(Value::Text(term.to_lowercase()), SEARCHED.len()));
        }
    }
    state_and_mit_clauses(filter, &mut clauses, &mut args);
    if let Some(keys) = &filter.keys {
        if keys.is_empty() {
            clauses.push("0".into());
        } else {
            // One JSON argument however many keys (SQLite limits bound variables).
            clauses.push("order_session_key IN (SELECT value FROM json_each(?))".into());
            args.push(Value::Text(serde_json::to_string(keys).unwrap_or_else(|_| "[]".into())));
        }
    }
    let mut time = |column: &str, op: &str, t: Option<DateTime<Utc>>| {
        if let Some(t) = ts(t) {
            clauses.push(format!("{column} {op} ?"));
            args.push(Value::Text(t));
        }
    };
    time("created_at", ">=", filter.created_from);
    time("created_at", "<", filter.created_to);
    time("placed_at", ">=", filter.placed_from);
    time("placed_at", "<", filter.placed_to);
    if let Some(min) = filter.amount_min {
        clauses.push("amount_cents >= ?".into());
        args.push(Value::Integer(min));
    }
    if let Some(max) = filter.amount_max {
        clauses.push("amount_cents <= ?".into());
        args.push(Value::Integer(max));
    }
    for (column, value) in
        [("site_id", &filter.site_id), ("decline_code", &filter.decline_code), ("currency", &filter.currency)]
    {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    (from, clauses.join(" AND "), args)
}

impl Mirror {
    /// The filtered total and one window of rows.
    pub fn list_orders(&self, account_id: &str, filter: &OrderFilter) -> Result<(u64, Vec<OrderRecord>), MirrorError> {
        Ok((self.count_orders(account_id, filter)?, self.order_window(account_id, filter)?))
    }

    /// How many orders match the filter (ignores the window). Filters the rollups can answer
    /// (state, MIT, currency, decline code) are summed from them, so a count over a large
    /// mirror reads a few thousand groups instead of an index of every order.
    pub fn count_orders(&self, account_id: &str, filter: &OrderFilter) -> Result<u64, MirrorError> {
        if let Some(n) = self.count_from_rollups(account_id, filter)? {
            return Ok(n);
        }
        let (from, where_sql, args) = query_parts(account_id, filter, self.search_indexed_upto()?);
        self.conn
            .query_row(&format!("SELECT COUNT(*) FROM {from} WHERE {where_sql}"), params_from_iter(args.iter()), |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .op("counting filtered orders")
    }

    /// The count from `rollup_days` when the filter only uses columns it groups by, and the
    /// rollups are being kept (not during a bulk load). None: count the orders.
    fn count_from_rollups(&self, account_id: &str, filter: &OrderFilter) -> Result<Option<u64>, MirrorError> {
        let searching = filter.search.as_deref().is_some_and(|t| !t.trim().is_empty());
        let other = searching
            || filter.created_from.is_some()
            || filter.created_to.is_some()
            || filter.placed_from.is_some()
            || filter.placed_to.is_some()
            || filter.amount_min.is_some()
            || filter.amount_max.is_some()
            || filter.site_id.is_some()
            || filter.keys.is_some();
        if other || self.bulk_loading()? {
            return Ok(None);
        }
        let mut clauses = vec!["account_id = ?".to_string()];
        let mut args = vec![Value::Text(account_id.to_string())];
        state_and_mit_clauses(filter, &mut clauses, &mut args);
        if let Some(code) = &filter.decline_code {
            clauses.push("decline = '=' || ?".into());
            args.push(Value::Text(code.clone()));
        }
        if let Some(currency) = &filter.currency {
            clauses.push("currency = ?".into());
            args.push(Value::Text(currency.clone()));
        }
        let sql = format!("SELECT coalesce(SUM(orders), 0) FROM rollup_days WHERE {}", clauses.join(" AND "));
        self.conn
            .query_row(&sql, params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
            .map(|n| Some(n as u64))
            .op("counting orders from the rollups")
    }

    /// One window of the filtered orders: the `limit` rows after `filter.after`, or at
    /// `filter.offset` when there is no cursor.
    pub fn order_window(&self, account_id: &str, filter: &OrderFilter) -> Result<Vec<OrderRecord>, MirrorError> {
        let limit = filter.limit.min(1000);
        let (from, where_sql, args) = query_parts(account_id, filter, self.search_indexed_upto()?);
        let Some(cursor) = &filter.after else {
            let mut args = args;
            let sql = format!(
                "SELECT {SELECT_COLUMNS} FROM {from} WHERE {where_sql} ORDER BY {} LIMIT ? OFFSET ?",
                filter.sort.sql()
            );
            args.push(Value::Integer(limit as i64));
            args.push(Value::Integer(filter.offset as i64));
            return self.select_orders(&sql, args);
        };
        // Keyset: the rest of the cursor's segment (rows with a sort value, or those without),
        // then, if the page is not full, the segment that follows it.
        let (column, desc, nulls_first) = filter.sort.key();
        let (op, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
        let value = cursor.value(filter.sort)?;
        let row_id = Value::Integer(self.cursor_row_id(account_id, cursor, filter.sort, value.as_ref(), desc)?);
        let mut segments: Vec<(String, Vec<Value>)> = Vec::new();
        match &value {
            Some(v) => {
                segments.push((format!("({column}, orders.id) {op} (?, ?)"), vec![v.clone(), row_id]));
                if !nulls_first {
                    segments.push((format!("{column} IS NULL"), vec![]));
                }
            }
            None => {
                segments.push((format!("{column} IS NULL AND orders.id {op} ?"), vec![row_id]));
                if nulls_first {
                    segments.push((format!("{column} IS NOT NULL"), vec![]));
                }
            }
        }
        let mut out = Vec::new();
        for (condition, extra) in segments {
            let want = limit.saturating_sub(out.len() as u64);
            if want == 0 {
                break;
            }
            let sql = format!(
                "SELECT {SELECT_COLUMNS} FROM {from} WHERE {where_sql} AND {condition} \
                 ORDER BY {column} {dir}, orders.id {dir} LIMIT ?"
            );
            let mut seg_args = args.clone();
            seg_args.extend(extra);
            seg_args.push(Value::Integer(want as i64));
            out.extend(self.select_orders(&sql, seg_args)?);
        }
        Ok(out)
    }

    /// The row id of a cursor's order, which breaks ties after its sort value. An order gone
    /// since the page was read (its account was removed) gives the id that skips every tie
    /// rather than one that would list a row twice.
    ///
    /// Looked up with its sort value first: during a bulk load the key index is off, and the
    /// creation-time index of the newest- and oldest-first lists then finds the row at once
    /// (see `bulk.rs`). An order
    /// whose sort value changed since is found by its key alone.
    fn cursor_row_id(
        &self,
        account_id: &str,
        cursor: &OrderCursor,
        sort: OrderSort,
        value: Option<&Value>,
        desc: bool,
    ) -> Result<i64, MirrorError> {
        let (column, _, _) = sort.key();
        let key = cursor.order_session_key.as_str();
        let mut id: Option<i64> = self
            .conn
            .prepare_cached(&format!(
                "SELECT id FROM orders WHERE account_id = ?1 AND {column} IS ?3 AND order_session_key = ?2"
            ))
            .and_then(|mut stmt| stmt.query_row(rusqlite::params![account_id, key, value], |r| r.get(0)).optional())
            .op("reading a list cursor")?;
        if id.is_none() {
            id = crate::load_keys::id_by_key(&self.conn, account_id, key)?;
        }
        Ok(id.unwrap_or(if desc { i64::MIN } else { i64::MAX }))
    }

    fn select_orders(&self, sql: &str, args: Vec<Value>) -> Result<Vec<OrderRecord>, MirrorError> {
        let mut stmt = self.conn.prepare_cached(sql).op("preparing the order list")?;
        let rows = stmt.query_map(params_from_iter(args), read_order).op("listing orders")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading orders")
    }
}
