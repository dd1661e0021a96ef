//! `GET /v1/orders` and `GET /v1/orders/{id}`.
//!
//! The documented order fields are only partly known (flexfactor-api.md §8). Fields tagged
//! INFERRED below are this project's decisions; every field is optional on input so an
//! odd body from the live service still parses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Cents;

/// Numeric order status code of `/orders` (flexfactor-api.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i32", from = "i32")]
pub enum OrderStatus {
    Draft,
    OnHold,
    Cancelled,
    Problem,
    Processing,
    CaptureRequired,
    Returned,
    Completed,
    /// A code this version does not know; kept verbatim, never dropped.
    Unknown(i32),
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Draft,
        OrderStatus::OnHold,
        OrderStatus::Cancelled,
        OrderStatus::Problem,
        OrderStatus::Processing,
        OrderStatus::CaptureRequired,
        OrderStatus::Returned,
        OrderStatus::Completed,
    ];

    pub fn code(self) -> i32 {
        match self {
            OrderStatus::Draft => 0,
            OrderStatus::OnHold => 1,
            OrderStatus::Cancelled => 2,
            OrderStatus::Problem => 3,
            OrderStatus::Processing => 4,
            OrderStatus::CaptureRequired => 5,
            OrderStatus::Returned => 6,
            OrderStatus::Completed => 7,
            OrderStatus::Unknown(c) => c,
        }
    }

    /// The name the docs' mapping table gives.
    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Draft => "Draft",
            OrderStatus::OnHold => "Onhold",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Problem => "Problem",
            OrderStatus::Processing => "Processing",
            OrderStatus::CaptureRequired => "Capturerequired",
            OrderStatus::Returned => "Returned",
            OrderStatus::Completed => "Completed",
            OrderStatus::Unknown(_) => "Unknown",
        }
    }
}

impl From<i32> for OrderStatus {
    fn from(c: i32) -> Self {
        match c {
            0 => OrderStatus::Draft,
            1 => OrderStatus::OnHold,
            2 => OrderStatus::Cancelled,
            3 => OrderStatus::Problem,
            4 => OrderStatus::Processing,
            5 => OrderStatus::CaptureRequired,
            6 => OrderStatus::Returned,
            7 => OrderStatus::Completed,
            other => OrderStatus::Unknown(other),
        }
    }
}

impl From<OrderStatus> for i32 {
    fn from(s: OrderStatus) -> i32 {
        s.code()
    }
}

/// The `/evaluate` decision vocabulary plus the outcome words.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decision {
    Approved,
    Declined,
    Challenge,
    Submitted,
    CaptureRequired,
    Processing,
    Expired,
    Cancelled,
    Other(String),
}

impl Decision {
    /// Parses case-insensitively; unknown words are kept as `Other`.
    pub fn parse(s: &str) -> Decision {
        match s.trim().to_ascii_uppercase().as_str() {
            "APPROVED" | "SUCCESS" => Decision::Approved,
            "DECLINED" => Decision::Declined,
            "CHALLENGE" => Decision::Challenge,
            "SUBMITTED" => Decision::Submitted,
            "CAPTUREREQUIRED" => Decision::CaptureRequired,
            "PROCESSING" => Decision::Processing,
            "EXPIRED" => Decision::Expired,
            "CANCELLED" | "CANCELED" => Decision::Cancelled,
            _ => Decision::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Decision::Approved => "APPROVED",
            Decision::Declined => "DECLINED",
            Decision::Challenge => "CHALLENGE",
            Decision::Submitted => "SUBMITTED",
            Decision::CaptureRequired => "CAPTUREREQUIRED",
            Decision::Processing => "PROCESSING",
            Decision::Expired => "EXPIRED",
            Decision::Cancelled => "CANCELLED",
            Decision::Other(s) => s,
        }
    }
}

/// A postal address as `/orders` returns it. Both `zipCode` spellings are accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireAddress {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    #[serde(alias = "zipcode")]
    pub zip_code: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

/// One order as `GET /orders` and `GET /orders/{id}` return it.
///
/// [DOC] fields: id, correlationId, referenceNumber, status, statusName, orderPlacedDate,
/// expiryDate, billingAddress, shippingAddress, firstName, lastName, email, phone,
/// currencyCode, currencySymbol. The rest are INFERRED (the docs' table was cut off) and
/// optional, so the client tolerates their absence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireOrder {
    /// FlexFactor's order id (= orderSessionKey).
    pub id: String,
    /// The merchant's own order id ("External Order Id" in the portal). INFERRED name.
    pub external_order_id: Option<String>,
    pub correlation_id: Option<String>,
    pub reference_number: Option<String>,
    pub status: Option<i32>,
    pub status_name: Option<String>,
    /// The /evaluate decision word. INFERRED.
    pub decision: Option<String>,
    #[serde(rename = "isMIT", alias = "isMit")]
    pub is_mit: Option<bool>,
    pub order_placed_date: Option<DateTime<Utc>>,
    /// When FlexFactor processed the order. INFERRED name.
    pub created_on: Option<DateTime<Utc>>,
    /// Last change. INFERRED.
    pub modified_on: Option<DateTime<Utc>>,
    pub expiry_date: Option<DateTime<Utc>>,
    /// Order amount in cents. INFERRED.
    pub amount: Option<Cents>,
    /// Captured amount in cents. INFERRED.
    pub captured_amount: Option<Cents>,
    /// Sum of refunds in cents. INFERRED.
    pub refunded_amount: Option<Cents>,
    pub currency_code: Option<String>,
    pub currency_symbol: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub secondary_email: Option<String>,
    pub phone: Option<String>,
    pub billing_address: Option<WireAddress>,
    pub shipping_address: Option<WireAddress>,
    pub site_id: Option<String>,
    /// The PSP decline code sent to /evaluate (`transaction.responseCode`). INFERRED.
    #[serde(alias = "responseCode")]
    pub decline_code: Option<String>,
    /// First six digits of the card. INFERRED.
    pub card_bin: Option<String>,
    /// Last four digits of the card. INFERRED.
    pub card_last4: Option<String>,
    /// This order's JSON exactly as the API sent it, when it came from the API (a page of
    /// `GET /orders` or `GET /orders/{id}`): fields this struct does not model are kept there.
    #[serde(skip)]
    pub raw: RawRecord,
}

/// An API record's JSON text, kept beside its parsed fields. Not serialized, and not part of
/// equality: two reads of one order are the same order whatever the API's spacing or field
/// order.
#[derive(Clone, Default)]
pub struct RawRecord(Option<std::sync::Arc<str>>);

impl RawRecord {
    pub fn new(json: &str) -> RawRecord {
        RawRecord(Some(json.into()))
    }

    /// The JSON text, if the record came from the API.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, _: &RawRecord) -> bool {
        true
    }
}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(json) => write!(f, "RawRecord({} bytes)", json.len()),
            None => f.write_str("RawRecord(none)"),
        }
    }
}

impl WireOrder {
    /// Parses one order from the API's JSON text, keeping the text in [`WireOrder::raw`].
    pub fn from_api_json(json: &str) -> serde_json::Result<WireOrder> {
        let mut order: WireOrder = serde_json::from_str(json)?;
        order.raw = RawRecord::new(json);
        Ok(order)
    }
}

/// `OrdersPage::orders`: each order parsed from its own JSON text, which it keeps.
fn orders_keeping_their_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WireOrder>, D::Error> {
    let texts = Vec::<Box<serde_json::value::RawValue>>::deserialize(d)?;
    texts.iter().map(|t| WireOrder::from_api_json(t.get()).map_err(serde::de::Error::custom)).collect()
}

/// A page of `GET /orders`, with the X.PagedList paging fields.
///
/// The array's property name is undocumented: `orders` is what the sandbox sends, and
/// `items`, `results` and `data` are accepted too.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrdersPage {
    #[serde(alias = "items", alias = "results", alias = "data", deserialize_with = "orders_keeping_their_json")]
    pub orders: Vec<WireOrder>,
    pub total_item_count: Option<u64>,
    pub page_number: Option<u32>,
    pub page_size: Option<u32>,
    pub page_count: Option<u32>,
    pub has_next_page: Option<bool>,
    pub has_previous_page: Option<bool>,
    pub is_first_page: Option<bool>,
    pub is_last_page: Option<bool>,
    pub first_item_on_page: Option<u64>,
    pub last_item_on_page: Option<u64>,
}

/// Query parameters of `GET /orders`. `pageNumber` is 1-based (INFERRED, X.PagedList).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrdersQuery {
    pub query: Option<String>,
    pub status: Vec<i32>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub mid: Option<String>,
    pub order_by: Option<String>,
    pub sort: Option<String>,
    pub page_size: Option<u32>,
    pub page_number: Option<u32>,
}

impl OrdersQuery {
    /// The query string pairs, with `status` repeated once per code.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(q) = &self.query {
            out.push(("query", q.clone()));
        }
        for s in &self.status {
            out.push(("status", s.to_string()));
        }
        if let Some(f) = self.from {
            out.push(("from", f.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        }
        if let Some(t) = self.to {
            out.push(("to", t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        }
        if let Some(m) = &self.mid {
            out.push(("mid", m.clone()));
        }
        if let Some(o) = &self.order_by {
            out.push(("orderBy", o.clone()));
        }
        if let Some(s) = &self.sort {
            out.push(("sort", s.clone()));
        }
        if let Some(p) = self.page_size {
            out.push(("pageSize", p.to_string()));
        }
        if let Some(p) = self.page_number {
            out.push(("pageNumber", p.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_codes_round_trip_unchanged() {
        assert_eq!(OrderStatus::from(42), OrderStatus::Unknown(42));
        assert_eq!(OrderStatus::from(42).code(), 42);
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::from(s.code()), s);
        }
    }

    #[test]
    fn orders_page_accepts_items_alias_and_unknown_fields() {
        let body = r#"{"items":[{"id":"a","status":7,"zzz":1,"billingAddress":{"zipcode":"123"}}],
                      "totalItemCount":1,"additionalAttributes":{"7":"Completed"}}"#;
        let page: OrdersPage = serde_json::from_str(body).unwrap();
        assert_eq!(page.orders.len(), 1);
        assert_eq!(page.orders[0].status, Some(7));
        assert_eq!(page.orders[0].billing_address.as_ref().unwrap().zip_code.as_deref(), Some("123"));
    }

    #[test]
    fn query_repeats_status_once_per_code() {
        let q = OrdersQuery { status: vec![0, 4], page_number: Some(2), ..Default::default() };
        let pairs = q.to_pairs();
        assert_eq!(pairs.iter().filter(|(k, _)| *k == "status").count(), 2);
        assert!(pairs.contains(&("pageNumber", "2".to_string())));
    }

    #[test]
    fn decision_parse_is_case_insensitive_and_keeps_unknown_words() {
        assert_eq!(Decision::parse("approved"), Decision::Approved);
        assert_eq!(Decision::parse("CaptureRequired"), Decision::CaptureRequired);
        assert_eq!(Decision::parse("weird"), Decision::Other("weird".into()));
    }
}
