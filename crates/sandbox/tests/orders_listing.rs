mod common;

use std::collections::HashSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use common::TestResult;
use flexfactor_sandbox::Sandbox;
use flexfactor_wire::{OrdersPage, ProblemDetails, WireOrder};
use reqwest::StatusCode;
use serde_json::Value;

/// An authenticated client for one sandbox.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(sandbox: &Sandbox) -> TestResult<Api> {
        let client = reqwest::Client::new();
        let token = common::token(&client, sandbox).await?;
        Ok(Api { client, base: sandbox.base_url(), token })
    }

    async fn get(&self, path_and_query: &str) -> TestResult<reqwest::Response> {
        let url = format!("{}{path_and_query}", self.base);
        Ok(self.client.get(url).bearer_auth(&self.token).send().await?)
    }

    async fn page(&self, query: &str) -> TestResult<OrdersPage> {
        let res = self.get(&format!("/orders?{query}")).await?;
        assert_eq!(res.status(), StatusCode::OK, "{query}");
        Ok(res.json().await?)
    }
}

fn iso(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn nth(sandbox: &Sandbox, i: usize) -> TestResult<WireOrder> {
    Ok(sandbox.orders_snapshot().get(i).cloned().ok_or("too few orders")?)
}

#[tokio::test]
async fn walking_every_page_yields_every_order_exactly_once() -> TestResult {
    let sandbox = common::start(20_000).await?;
    let api = Api::new(&sandbox).await?;
    let mut seen = HashSet::new();
    let mut previous: Option<WireOrder> = None;
    let mut page_number = 1;
    loop {
        let page = api.page(&format!("pageSize=1000&pageNumber={page_number}")).await?;
        assert_eq!(page.total_item_count, Some(20_000));
        assert_eq!(page.page_count, Some(20));
        assert_eq!(page.page_number, Some(page_number));
        assert_eq!(page.first_item_on_page, Some(u64::from(page_number - 1) * 1000 + 1));
        for order in page.orders {
            if let Some(prev) = &previous {
                assert!((prev.created_on, &prev.id) < (order.created_on, &order.id), "not ascending");
            }
            assert!(seen.insert(order.id.clone()), "{} twice", order.id);
            previous = Some(order);
        }
        if page.has_next_page != Some(true) {
            assert_eq!(page.is_last_page, Some(true));
            break;
        }
        page_number += 1;
    }
    assert_eq!(page_number, 20);
    let all: HashSet<String> = sandbox.orders_snapshot().into_iter().map(|o| o.id).collect();
    assert_eq!(seen, all);
    Ok(())
}

#[tokio::test]
async fn defaults_are_ten_per_page_and_oversized_pages_are_clamped() -> TestResult {
    let sandbox = common::start(3_000).await?;
    let api = Api::new(&sandbox).await?;
    let default = api.page("").await?;
    assert_eq!(default.orders.len(), 10);
    assert_eq!(default.page_size, Some(10));
    assert_eq!(default.is_first_page, Some(true));
    let clamped = api.page("pageSize=5000").await?;
    assert_eq!(clamped.page_size, Some(1000));
    assert_eq!(clamped.orders.len(), 1000);
    let past_the_end = api.page("pageSize=1000&pageNumber=9").await?;
    assert!(past_the_end.orders.is_empty());
    assert_eq!(past_the_end.has_next_page, Some(false));
    Ok(())
}

#[tokio::test]
async fn repeated_status_params_filter_to_those_statuses() -> TestResult {
    let sandbox = common::start(5_000).await?;
    let api = Api::new(&sandbox).await?;
    let wanted = |o: &WireOrder| matches!(o.status, Some(0) | Some(4));
    let expected = sandbox.orders_snapshot().iter().filter(|o| wanted(o)).count() as u64;
    assert!(expected > 0);
    let page = api.page("status=0&status=4&pageSize=1000").await?;
    assert_eq!(page.total_item_count, Some(expected));
    assert!(page.orders.iter().all(wanted));
    let statuses: HashSet<i32> = page.orders.iter().filter_map(|o| o.status).collect();
    assert_eq!(statuses, HashSet::from([0, 4]));
    Ok(())
}

#[tokio::test]
async fn from_is_inclusive_and_to_exclusive_on_created_on() -> TestResult {
    let sandbox = common::start(5_000).await?;
    let api = Api::new(&sandbox).await?;
    let target = nth(&sandbox, 100)?;
    let from = target.created_on.ok_or("no createdOn")?;
    let to = from + Duration::days(3);
    let expected =
        sandbox.orders_snapshot().iter().filter(|o| o.created_on.is_some_and(|c| c >= from && c < to)).count() as u64;
    let page = api.page(&format!("from={}&to={}&pageSize=1000", iso(from), iso(to))).await?;
    assert_eq!(page.total_item_count, Some(expected));
    assert!(page.orders.iter().any(|o| o.id == target.id), "from must be inclusive");
    let empty = api.page(&format!("from={}&to={}", iso(from), iso(from))).await?;
    assert_eq!(empty.total_item_count, Some(0), "to must be exclusive");
    Ok(())
}

#[tokio::test]
async fn query_finds_an_order_by_external_order_id_in_any_case() -> TestResult {
    let sandbox = common::start(5_000).await?;
    let api = Api::new(&sandbox).await?;
    let target = nth(&sandbox, 1234)?;
    let ext = target.external_order_id.clone().ok_or("no externalOrderId")?.to_lowercase();
    let page = api.page(&format!("query={ext}")).await?;
    assert_eq!(page.total_item_count, Some(1));
    assert_eq!(page.orders, vec![target]);
    Ok(())
}

#[tokio::test]
async fn descending_amount_order_is_total_and_the_reverse_of_ascending() -> TestResult {
    let sandbox = common::start(2_000).await?;
    let api = Api::new(&sandbox).await?;
    let asc = api.page("orderBy=amount&pageSize=1000&pageNumber=2").await?;
    let desc = api.page("ORDERBY=Amount&sort=DESC&pageSize=1000&pageNumber=1").await?;
    let asc_ids: Vec<&str> = asc.orders.iter().map(|o| o.id.as_str()).collect();
    let mut desc_ids: Vec<&str> = desc.orders.iter().map(|o| o.id.as_str()).collect();
    desc_ids.reverse();
    assert_eq!(asc_ids.len(), 1000);
    assert_eq!(asc_ids, desc_ids);
    assert!(asc.orders.windows(2).all(|w| w[0].amount <= w[1].amount));
    Ok(())
}

#[tokio::test]
async fn bad_parameters_get_a_400_problem_naming_the_field() -> TestResult {
    let sandbox = common::start(100).await?;
    let api = Api::new(&sandbox).await?;
    let cases = [("pageSize=abc", "pageSize"), ("from=not-a-date", "from"), ("orderBy=colour", "orderBy")];
    for (query, field) in cases {
        let res = api.get(&format!("/orders?{query}")).await?;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let problem: ProblemDetails = res.json().await?;
        assert_eq!(problem.status, 400);
        assert!(problem.errors.contains_key(field), "{query}: {problem:?}");
    }
    Ok(())
}

#[tokio::test]
async fn single_order_is_served_by_id_and_unknown_ids_get_404() -> TestResult {
    let sandbox = common::start(100).await?;
    let api = Api::new(&sandbox).await?;
    let target = nth(&sandbox, 42)?;
    let res = api.get(&format!("/orders/{}", target.id.to_uppercase())).await?;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<WireOrder>().await?, target);
    let missing = api.get("/orders/00000000-0000-4000-8000-000000000000").await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<ProblemDetails>().await?.status, 404);
    Ok(())
}

#[tokio::test]
async fn list_body_carries_the_status_names_and_camel_case_paging_fields() -> TestResult {
    let sandbox = common::start(100).await?;
    let api = Api::new(&sandbox).await?;
    let body: Value = api.get("/orders?pageSize=5").await?.json().await?;
    assert_eq!(body["additionalAttributes"]["statuses"]["7"], "Completed");
    assert_eq!(body["additionalAttributes"]["statuses"]["0"], "Draft");
    let fields = [
        "orders",
        "totalItemCount",
        "pageNumber",
        "pageSize",
        "pageCount",
        "hasNextPage",
        "hasPreviousPage",
        "isFirstPage",
        "isLastPage",
        "firstItemOnPage",
        "lastItemOnPage",
    ];
    for field in fields {
        assert!(body.get(field).is_some(), "{field} missing");
    }
    assert!(body["orders"][0]["externalOrderId"].is_string());
    assert!(body["orders"][0]["isMIT"].is_boolean());
    Ok(())
}

#[tokio::test]
async fn another_merchants_mid_sees_nothing_and_upserts_are_served() -> TestResult {
    let sandbox = common::start(100).await?;
    let api = Api::new(&sandbox).await?;
    let other = api.page("mid=00000000-0000-4000-8000-000000000000").await?;
    assert_eq!(other.total_item_count, Some(0));
    let own = api.page(&format!("mid={}", sandbox.mid())).await?;
    assert_eq!(own.total_item_count, Some(100));

    let mut changed = nth(&sandbox, 3)?;
    changed.status = Some(6);
    sandbox.upsert_order(changed.clone());
    let res = api.get(&format!("/orders/{}", changed.id)).await?;
    assert_eq!(res.json::<WireOrder>().await?.status, Some(6));
    assert_eq!(sandbox.order_count(), 100);
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_the_server() -> TestResult {
    let sandbox = common::start(10).await?;
    let url = format!("{}/orders", sandbox.base_url());
    sandbox.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    Ok(())
}
