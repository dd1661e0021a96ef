//! `GET /orders` and `GET /orders/{id}`.

use flexfactor_wire::{OrdersPage, OrdersQuery, WireOrder};

use crate::{ClientError, FlexFactorClient};

impl FlexFactorClient {
    /// One page of `GET /orders`. Retried on transient failures (it is a read).
    #[tracing::instrument(skip_all, err, fields(page = query.page_number))]
    pub async fn list_orders(&self, query: &OrdersQuery) -> Result<OrdersPage, ClientError> {
        self.get_json("/orders", &query.to_pairs()).await
    }

    /// `GET /orders/{id}` with `id` = orderSessionKey. A 404 is [`ClientError::NotFound`].
    #[tracing::instrument(skip_all, err)]
    pub async fn get_order(&self, order_session_key: &str) -> Result<WireOrder, ClientError> {
        let path = format!("/orders/{}", encode_path_segment(order_session_key));
        self.get_json(&path, &[]).await
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
    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(super::encode_path_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(super::encode_path_segment("e3b0c442-98fc"), "e3b0c442-98fc");
    }
}
