//! `GET /orders` and `GET /orders/{id}`.

use flexfactor_wire::{OrdersPage, OrdersQuery, WireOrder};

use crate::{ClientError, FlexFactorClient};

impl FlexFactorClient {
    /// One page of `GET /orders`. Retried on transient failures (it is a read). Each order
    /// keeps its JSON text as the API sent it in [`WireOrder::raw`].
    #[tracing::instrument(skip_all, err, fields(page = query.page_number))]
    pub async fn list_orders(&self, query: &OrdersQuery) -> Result<OrdersPage, ClientError> {
        self.get_json("/orders", &query.to_pairs()).await
    }

    /// `GET /orders/{id}` with `id` = orderSessionKey. A 404 is [`ClientError::NotFound`].
    /// The order keeps the API's JSON text in [`WireOrder::raw`], like a listed one.
    #[tracing::instrument(skip_all, err)]
    pub async fn get_order(&self, order_session_key: &str) -> Result<WireOrder, ClientError> {
        let path = format!("/orders/{}", encode_path_segment(order_session_key));
        let body = self.get_text(&path, &[]).await?;
        WireOrder::from_api_json(&body).map_err(|e| ClientError::Decode { path, message: e.to_string() })
    }

    /// Every page of `GET /orders` for `query`, one request per [`OrderPages::next_page`],
    /// starting at `query.page_number` (default 1).
    pub fn order_pages(&self, query: &OrdersQuery) -> OrderPages<'_> {
        let first = query.page_number.unwrap_or(1).max(1);
        OrderPages { client: self, query: query.clone(), next: Some(first) }
    }

    /// Every order matching `query`, across all pages (loads them all into memory: for
    /// large histories, prefer [`order_pages`](Self::order_pages) and commit page by page).
    #[tracing::instrument(skip_all, err)]
    pub async fn list_all_orders(&self, query: &OrdersQuery) -> Result<Vec<WireOrder>, ClientError> {
        let mut pages = self.order_pages(query);
        let mut out = Vec::new();
        while let Some(page) = pages.next_page().await? {
            out.extend(page.orders);
        }
        Ok(out)
    }
}

/// A cursor over the pages of `GET /orders`. After an error the cursor stays on the same
/// page, so calling [`next_page`](Self::next_page) again retries it.
#[derive(Debug)]
pub struct OrderPages<'a> {
    client: &'a FlexFactorClient,
    query: OrdersQuery,
    next: Option<u32>,
}

impl OrderPages<'_> {
    /// The next page, or `None` once the last page was returned.
    pub async fn next_page(&mut self) -> Result<Option<OrdersPage>, ClientError> {
        let Some(number) = self.next else {
            return Ok(None);
        };
        let query = OrdersQuery { page_number: Some(number), ..self.query.clone() };
        let page = self.client.list_orders(&query).await?;
        self.next = if is_last(&page, number, self.query.page_size) { None } else { number.checked_add(1) };
        if page.orders.is_empty() && number > 1 {
            return Ok(None);
        }
        Ok(Some(page))
    }

    /// The page number the next call will request, if any.
    pub fn next_page_number(&self) -> Option<u32> {
        self.next
    }
}

/// Whether page `number` is the last, from whichever paging fields the answer carries.
fn is_last(page: &OrdersPage, number: u32, requested_size: Option<u32>) -> bool {
    if page.orders.is_empty() || page.has_next_page == Some(false) || page.is_last_page == Some(true) {
        return true;
    }
    if page.has_next_page == Some(true) {
        return false;
    }
    if let Some(count) = page.page_count {
        return number >= count;
    }
    match page.page_size.or(requested_size) {
        Some(size) => page.orders.len() < size as usize,
        None => false,
    }
}

/// Percent-encodes one path segment (ids are GUIDs, but merchant ids are free text).
pub(crate) fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize) -> OrdersPage {
        OrdersPage { orders: vec![WireOrder::default(); n], ..Default::default() }
    }

    #[test]
    fn the_last_page_is_found_from_any_paging_field() {
        assert!(is_last(&page(0), 1, None));
        assert!(is_last(&OrdersPage { has_next_page: Some(false), ..page(3) }, 1, None));
        assert!(is_last(&OrdersPage { is_last_page: Some(true), ..page(3) }, 1, None));
        assert!(!is_last(&OrdersPage { has_next_page: Some(true), ..page(3) }, 1, None));
        assert!(is_last(&OrdersPage { page_count: Some(2), ..page(3) }, 2, None));
        assert!(!is_last(&OrdersPage { page_count: Some(3), ..page(3) }, 2, None));
        assert!(is_last(&page(2), 1, Some(3)));
        assert!(!is_last(&page(3), 1, Some(3)));
        assert!(!is_last(&page(3), 1, None));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(super::encode_path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(super::encode_path_segment("e3b0c442-98fc"), "e3b0c442-98fc");
    }
}
