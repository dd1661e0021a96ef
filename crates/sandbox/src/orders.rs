//! `GET /v1/orders` and `GET /v1/orders/{id}` (flexfactor-api.md §8).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use flexfactor_wire::{OrderStatus, OrdersPage, WireOrder};
use serde::Serialize;

use crate::order_book::{ListQuery, SortKey};
use crate::problem::ApiError;
use crate::SandboxState;

/// Default `pageSize` when none is given [DOC].
pub const DEFAULT_PAGE_SIZE: u32 = 10;

/// The list body: the paged list plus `additionalAttributes.statuses` (code → name).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrdersPageBody {
    #[serde(flatten)]
    pub page: OrdersPage,
    pub additional_attributes: AdditionalAttributes,
}

#[derive(Debug, Serialize)]
pub struct AdditionalAttributes {
    pub statuses: BTreeMap<String, String>,
}

/// `GET /v1/orders`: see [`parse_list_query`] for the parameters; 400 ProblemDetails naming
/// every bad parameter.
pub async fn list_orders(
    State(state): State<SandboxState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<OrdersPageBody>, ApiError> {
    let query = parse_list_query(raw.as_deref().unwrap_or(""), state.max_page_size(), state.mid())?;
    state.tick();
    let page = state.orders().page(&query);
    tracing::debug!(
        total = page.total_item_count,
        page = query.page_number,
        size = query.page_size,
        "sandbox: orders listed"
    );
    let statuses = OrderStatus::ALL.iter().map(|s| (s.code().to_string(), s.name().to_string())).collect();
    Ok(Json(OrdersPageBody { page, additional_attributes: AdditionalAttributes { statuses } }))
}

/// `GET /v1/orders/{id}`: the order, or 404 ProblemDetails. Ids compare case-insensitively.
pub async fn get_order(State(state): State<SandboxState>, Path(id): Path<String>) -> Result<Json<WireOrder>, ApiError> {
    state.tick();
    let found = state.orders().get(&id).cloned();
    found.map(Json).ok_or_else(|| {
        let mut errors = BTreeMap::new();
        errors.insert("id".to_string(), vec![format!("No order with id '{id}'.")]);
        ApiError::problem(StatusCode::NOT_FOUND, "Not Found", errors)
    })
}

/// Parses the raw query string. Keys are case-insensitive (ASP.NET binding); `status` may
/// repeat; for other keys the first occurrence wins; empty values count as absent;
/// unknown keys are ignored.
///
/// # Errors
/// A 400 ProblemDetails whose `errors` has one entry per bad parameter, keyed by its
/// documented name (`pageSize`, `from`, ...).
pub fn parse_list_query(raw: &str, max_page_size: u32, mid: &str) -> Result<ListQuery, ApiError> {
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut bad = |name: &str, value: &str, extra: &str| {
        errors
            .entry(name.to_string())
            .or_default()
            .push(format!("The value '{value}' is not valid for {name}.{extra}"));
    };
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    let mut statuses = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        let key = key.to_ascii_lowercase();
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        if key == "status" {
            match value.parse::<i32>() {
                Ok(code) => statuses.push(code),
                Err(_) => bad("status", &value, ""),
            }
        } else {
            first.entry(key).or_insert(value);
        }
    }
    let get = |name: &str| first.get(&name.to_ascii_lowercase()).cloned();

    let mut date = |name: &str| {
        get(name).and_then(|v| {
            let parsed = parse_datetime(&v);
            if parsed.is_none() {
                bad(name, &v, "");
            }
            parsed
        })
    };
    let from = date("from");
    let to = date("to");
    let mut int = |name: &str, default: i64| match get(name) {
        None => default,
        Some(v) => v.parse::<i64>().unwrap_or_else(|_| {
            bad(name, &v, "");
            default
        }),
    };
    let page_size = int("pageSize", i64::from(DEFAULT_PAGE_SIZE));
    let page_number = int("pageNumber", 1);
    let order_by = match get("orderBy") {
        None => SortKey::default(),
        Some(v) => SortKey::parse(&v).unwrap_or_else(|| {
            bad("orderBy", &v, &format!(" Expected one of: {}.", SortKey::NAMES));
            SortKey::default()
        }),
    };
    let descending = match get("sort").map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "asc" => false,
        Some(v) if v == "desc" => true,
        Some(v) => {
            bad("sort", &v, " Expected asc or desc.");
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let max = i64::from(max_page_size.max(1));
    Ok(ListQuery {
        text: get("query").map(|q| q.to_lowercase()),
        statuses,
        from,
        to,
        merchant_matches: get("mid").is_none_or(|m| m.eq_ignore_ascii_case(mid)),
        order_by,
        descending,
        page_size: u32::try_from(page_size.clamp(1, max)).unwrap_or(1),
        page_number: u32::try_from(page_number.clamp(1, i64::from(i32::MAX))).unwrap_or(1),
    })
}

/// ISO-8601: with offset (a `+` decoded to a space is repaired), without offset (taken as
/// UTC), or a bare date (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let repaired = s.replace(' ', "+");
    for candidate in [s, repaired.as_str()] {
        if let Ok(d) = DateTime::parse_from_rfc3339(candidate) {
            return Some(d.with_timezone(&Utc));
        }
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(d.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), String>;

    fn parse(raw: &str) -> Result<ListQuery, String> {
        parse_list_query(raw, 1000, "m").map_err(|e| format!("{e:?}"))
    }

    fn errors_of(r: Result<ListQuery, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Problem(_, p)) => p.errors.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn repeated_status_keys_all_apply_and_keys_ignore_case() -> TestResult {
        let q = parse("status=0&STATUS=4&PageSize=5000&orderby=AMOUNT&sort=DESC")?;
        assert_eq!(q.statuses, vec![0, 4]);
        assert_eq!(q.page_size, 1000);
        assert_eq!(q.order_by, SortKey::Amount);
        assert!(q.descending);
        assert_eq!(q.page_number, 1);
        Ok(())
    }

    #[test]
    fn small_page_sizes_and_numbers_are_raised_to_one() -> TestResult {
        let q = parse("pageSize=0&pageNumber=-3")?;
        assert_eq!((q.page_size, q.page_number), (1, 1));
        Ok(())
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let keys = errors_of(parse_list_query("pageSize=abc&from=yesterday&status=x&orderBy=color&sort=up", 1000, "m"));
        assert_eq!(keys, vec!["from", "orderBy", "pageSize", "sort", "status"]);
    }

    #[test]
    fn dates_accept_offsets_plain_utc_and_bare_days() -> TestResult {
        let z = parse_datetime("2026-01-02T03:04:05.678Z").ok_or("no parse")?;
        assert_eq!(parse_datetime("2026-01-02T04:04:05.678 01:00"), Some(z));
        assert_eq!(parse_datetime("2026-01-02T03:04:05.678"), Some(z));
        assert_eq!(parse_datetime("2026-01-02").map(|d| d.to_rfc3339()).as_deref(), Some("2026-01-02T00:00:00+00:00"));
        assert_eq!(parse_datetime("2026-13-02"), None);
        Ok(())
    }

    #[test]
    fn another_merchants_mid_matches_nothing() -> TestResult {
        assert!(!parse("mid=other")?.merchant_matches);
        assert!(parse("mid=M")?.merchant_matches);
        assert!(parse("")?.merchant_matches);
        Ok(())
    }
}
