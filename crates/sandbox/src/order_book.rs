//! The in-memory order store and the `GET /orders` query over it: filter, total order,
//! X.PagedList paging. No HTTP here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use flexfactor_wire::{OrdersPage, WireOrder};

/// The sort keys `orderBy` accepts (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    CreatedOn,
    Amount,
    OrderPlacedDate,
    ModifiedOn,
}

impl SortKey {
    pub const NAMES: &'static str = "createdOn, amount, orderPlacedDate, modifiedOn";

    pub fn parse(s: &str) -> Option<SortKey> {
        match s.to_ascii_lowercase().as_str() {
            "createdon" => Some(SortKey::CreatedOn),
            "amount" => Some(SortKey::Amount),
            "orderplaceddate" => Some(SortKey::OrderPlacedDate),
            "modifiedon" => Some(SortKey::ModifiedOn),
            _ => None,
        }
    }

    /// The key as an integer; missing values sort first (ascending).
    fn of(self, o: &WireOrder) -> i64 {
        let ms = |d: Option<DateTime<Utc>>| d.map_or(i64::MIN, |d| d.timestamp_millis());
        match self {
            SortKey::CreatedOn => ms(o.created_on),
            SortKey::Amount => o.amount.map_or(i64::MIN, |c| c.0),
            SortKey::OrderPlacedDate => ms(o.order_placed_date),
            SortKey::ModifiedOn => ms(o.modified_on),
        }
    }
}

/// A validated `GET /orders` request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Lowercased free text; matched as a substring of id, externalOrderId, email, first
    /// name, last name or "first last".
    pub text: Option<String>,
    /// Status codes; empty means all.
    pub statuses: Vec<i32>,
    /// `createdOn >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `createdOn < to`.
    pub to: Option<DateTime<Utc>>,
    /// False when a `mid` was given that is not this merchant's: nothing matches.
    pub merchant_matches: bool,
    pub order_by: SortKey,
    pub descending: bool,
    /// At least 1, already clamped.
    pub page_size: u32,
    /// 1-based, at least 1.
    pub page_number: u32,
}

/// Orders with an index by id (lowercase) and precomputed search text.
#[derive(Debug, Default)]
pub struct OrderBook {
    orders: Vec<WireOrder>,
    haystacks: Vec<String>,
    by_id: HashMap<String, usize>,
}

impl OrderBook {
    pub fn new(orders: Vec<WireOrder>) -> OrderBook {
        let mut book = OrderBook {
            orders: Vec::with_capacity(orders.len()),
            haystacks: Vec::with_capacity(orders.len()),
            by_id: HashMap::with_capacity(orders.len()),
        };
        for o in orders {
            book.upsert(o);
        }
        book
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// The order with this id, compared case-insensitively (ids are GUIDs).
    pub fn get(&self, id: &str) -> Option<&WireOrder> {
        self.by_id.get(&id.to_ascii_lowercase()).and_then(|&i| self.orders.get(i))
    }

    /// The newest order whose merchant order id (`externalOrderId`) is exactly `external`.
    pub fn find_external(&self, external: &str) -> Option<&WireOrder> {
        self.orders.iter().rev().find(|o| o.external_order_id.as_deref() == Some(external))
    }

    /// Replaces the order with the same id, or appends it.
    pub fn upsert(&mut self, order: WireOrder) {
        let key = order.id.to_ascii_lowercase();
        let hay = haystack(&order);
        match self.by_id.get(&key) {
            Some(&i) if i < self.orders.len() => {
                self.orders[i] = order;
                self.haystacks[i] = hay;
            }
            _ => {
                self.by_id.insert(key, self.orders.len());
                self.orders.push(order);
                self.haystacks.push(hay);
            }
        }
    }

    pub fn snapshot(&self) -> Vec<WireOrder> {
        self.orders.clone()
    }

    /// One page of the matching orders, in a total order: the sort key, then the id; `desc`
    /// reverses both, so a descending listing is exactly the ascending one reversed.
    pub fn page(&self, q: &ListQuery) -> OrdersPage {
        let mut hits: Vec<(i64, usize)> = if q.merchant_matches {
            self.orders
                .iter()
                .enumerate()
                .filter(|(i, o)| self.matches(*i, o, q))
                .map(|(i, o)| (q.order_by.of(o), i))
                .collect()
        } else {
            Vec::new()
        };
        let by_id = |a: usize, b: usize| match (self.orders.get(a), self.orders.get(b)) {
            (Some(x), Some(y)) => x.id.cmp(&y.id),
            _ => a.cmp(&b),
        };
        hits.sort_unstable_by(|&(ka, a), &(kb, b)| {
            let asc = ka.cmp(&kb).then_with(|| by_id(a, b));
            if q.descending {
                asc.reverse()
            } else {
                asc
            }
        });
        let paging = Paging::new(hits.len() as u64, q.page_number, q.page_size);
        let skip = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
        let orders = hits
            .iter()
            .skip(skip)
            .take(q.page_size as usize)
            .filter_map(|&(_, i)| self.orders.get(i).cloned())
            .collect();
        paging.into_page(orders)
    }

    fn matches(&self, i: usize, o: &WireOrder, q: &ListQuery) -> bool {
        if !q.statuses.is_empty() && !o.status.is_some_and(|s| q.statuses.contains(&s)) {
            return false;
        }
        if q.from.is_some() || q.to.is_some() {
            let Some(created) = o.created_on else {
                return false;
            };
            if q.from.is_some_and(|f| created < f) || q.to.is_some_and(|t| created >= t) {
                return false;
            }
        }
        match &q.text {
            Some(text) => self.haystacks.get(i).is_some_and(|h| h.contains(text.as_str())),
            None => true,
        }
    }
}

/// Lowercased searchable fields, joined by a separator no query contains.
fn haystack(o: &WireOrder) -> String {
    let first = o.first_name.as_deref().unwrap_or("");
    let last = o.last_name.as_deref().unwrap_or("");
    let parts = [
        o.id.as_str(),
        o.external_order_id.as_deref().unwrap_or(""),
        o.email.as_deref().unwrap_or(""),
        first,
        last,
        &format!("{first} {last}"),
    ];
    parts.join("\u{1f}").to_lowercase()
}

/// X.PagedList's paging arithmetic, kept exactly (including `firstItemOnPage` past the
/// end and `pageCount` 0 for an empty result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub total: u64,
    pub page_number: u32,
    pub page_size: u32,
}

impl Paging {
    pub fn new(total: u64, page_number: u32, page_size: u32) -> Paging {
        Paging { total, page_number: page_number.max(1), page_size: page_size.max(1) }
    }

    pub fn page_count(&self) -> u64 {
        self.total.div_ceil(u64::from(self.page_size))
    }

    /// Items before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page_number - 1) * u64::from(self.page_size)
    }

    pub fn into_page(self, orders: Vec<WireOrder>) -> OrdersPage {
        let page_count = self.page_count();
        let first = self.offset() + 1;
        let last = (first + u64::from(self.page_size) - 1).min(self.total);
        let n = u64::from(self.page_number);
        OrdersPage {
            orders,
            total_item_count: Some(self.total),
            page_number: Some(self.page_number),
            page_size: Some(self.page_size),
            page_count: Some(u32::try_from(page_count).unwrap_or(u32::MAX)),
            has_next_page: Some(n < page_count),
            has_previous_page: Some(n > 1),
            is_first_page: Some(n == 1),
            is_last_page: Some(n >= page_count),
            first_item_on_page: Some(first),
            last_item_on_page: Some(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_follows_x_pagedlist_arithmetic() {
        let p = Paging::new(25, 3, 10).into_page(Vec::new());
        assert_eq!(p.page_count, Some(3));
        assert_eq!(p.first_item_on_page, Some(21));
        assert_eq!(p.last_item_on_page, Some(25));
        assert_eq!(p.is_last_page, Some(true));
        assert_eq!(p.has_next_page, Some(false));
        assert_eq!(p.has_previous_page, Some(true));

        let empty = Paging::new(0, 1, 10).into_page(Vec::new());
        assert_eq!(empty.page_count, Some(0));
        assert_eq!(empty.is_first_page, Some(true));
        assert_eq!(empty.is_last_page, Some(true));
        assert_eq!(empty.has_next_page, Some(false));
        assert_eq!(empty.first_item_on_page, Some(1));
        assert_eq!(empty.last_item_on_page, Some(0));
    }

    #[test]
    fn upsert_replaces_by_id_case_insensitively() {
        let order = |id: &str, ext: &str| WireOrder {
            id: id.to_string(),
            external_order_id: Some(ext.to_string()),
            ..Default::default()
        };
        let mut book = OrderBook::new(vec![order("abc", "one")]);
        book.upsert(order("abc", "two"));
        assert_eq!(book.len(), 1);
        assert_eq!(book.get("ABC").and_then(|o| o.external_order_id.clone()).as_deref(), Some("two"));
        let q = ListQuery {
            text: Some("two".into()),
            merchant_matches: true,
            page_size: 10,
            page_number: 1,
            ..Default::default()
        };
        assert_eq!(book.page(&q).orders.len(), 1);
    }
}
