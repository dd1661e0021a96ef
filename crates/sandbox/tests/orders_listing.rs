mod common;

use std::collections::HashSet;

use chrono::Duration;
use flexfactor_sandbox::Sandbox;
use flexfactor_wire::{OrdersPage, ProblemDetails, WireOrder};
use reqwest::StatusCode;
use serde_json::Value;

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(sandbox: &Sandbox) -> Api {
        let client = reqwest::Client::new();
        let token = common::token(&client, sandbox).await;
        Api { client, base: sandbox.base_url(), token }
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client.get(format!("{}{path_and_query}", self.base)).bearer_auth(&self.token).send().await.unwrap()
    }

    async fn page(&self, query: &str) -> OrdersPage {
        let res = self.get(&format!("/orders?{query}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{query}");
        res.json().await.unwrap()
    }
}

#[tokio::test]
async fn walking_every_page_yields_every_order_exactly_once() {
    let sandbox = common::start(20_000).await;
    let api = Api::new(&sandbox).await;
    let mut seen = HashSet::new();
    let mut previous: Option<WireOrder> = None;
    let mut page_number = 1;
    loop {
        let page = api.page(&format!("pageSize=1000&pageNumber={page_number}")).await;
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
        if !page.has_next_page.unwrap() {
            assert_eq!(page.is_last_page, Some(true));
            break;
        }
        page_number += 1;
    }
    assert_eq!(page_number, 20);
    let all: HashSet<String> = sandbox.orders_snapshot().into_iter().map(|o| o.id).collect();
    assert_eq!(seen, all);
}

#[tokio::test]
async fn defaults_are_ten_per_page_and_oversized_pages_are_clamped() {
    let sandbox = common::start(3_000).await;
    let api = Api::new(&sandbox).await;
    let default = api.page("").await;
    assert_eq!(default.orders.len(), 10);
    assert_eq!(default.page_size, Some(10));
    assert_eq!(default.is_first_page, Some(true));
    let clamped = api.page("pageSize=5000").await;
    assert_eq!(clamped.page_size, Some(1000));
    assert_eq!(clamped.orders.len(), 1000);
    let past_the_end = api.page("pageSize=1000&pageNumber=9").await;
    assert!(past_the_end.orders.is_empty());
    assert_eq!(past_the_end.has_next_page, Some(false));
}

#[tokio::test]
async fn repeated_status_params_filter_to_those_statuses() {
    let sandbox = common::start(5_000).await;
    let api = Api::new(&sandbox).await;
    let expected = sandbox.orders_snapshot().iter().filter(|o| matches!(o.status, Some(0) | Some(4))).count() as u64;
    assert!(expected > 0);
    let page = api.page("status=0&status=4&pageSize=1000").await;
    assert_eq!(page.total_item_count, Some(expected));
    assert!(page.orders.iter().all(|o| matches!(o.status, Some(0) | Some(4))));
    let statuses: HashSet<i32> = page.orders.iter().filter_map(|o| o.status).collect();
    assert_eq!(statuses, HashSet::from([0, 4]));
}

#[tokio::test]
async fn from_is_inclusive_and_to_exclusive_on_created_on() {
    let sandbox = common::start(5_000).await;
    let api = Api::new(&sandbox).await;
    let orders = sandbox.orders_snapshot();
    let from = orders[100].created_on.unwrap();
    let to = from + Duration::days(3);
    let expected = orders.iter().filter(|o| o.created_on.is_some_and(|c| c >= from && c < to)).count() as u64;
    let fmt = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let page = api.page(&format!("from={}&to={}&pageSize=1000", fmt(from), fmt(to))).await;
    assert_eq!(page.total_item_count, Some(expected));
    assert!(page.orders.iter().any(|o| o.id == orders[100].id), "from must be inclusive");
    let exclusive = api.page(&format!("from={}&to={}", fmt(from), fmt(from))).await;
    assert_eq!(exclusive.total_item_count, Some(0));
}

#[tokio::test]
async fn query_finds_an_order_by_external_order_id_in_any_case() {
    let sandbox = common::start(5_000).await;
    let api = Api::new(&sandbox).await;
    let target = sandbox.orders_snapshot()[1234].clone();
    let ext = target.external_order_id.clone().unwrap().to_lowercase();
    let page = api.page(&format!("query={ext}")).await;
    assert_eq!(page.total_item_count, Some(1));
    assert_eq!(page.orders[0], target);
}

#[tokio::test]
async fn descending_amount_order_is_total_and_the_reverse_of_ascending() {
    let sandbox = common::start(2_000).await;
    let api = Api::new(&sandbox).await;
    let asc = api.page("orderBy=amount&pageSize=1000&pageNumber=2").await;
    let desc = api.page("ORDERBY=Amount&sort=DESC&pageSize=1000&pageNumber=1").await;
    let asc_ids: Vec<&str> = asc.orders.iter().map(|o| o.id.as_str()).collect();
    let mut desc_ids: Vec<&str> = desc.orders.iter().map(|o| o.id.as_str()).collect();
    desc_ids.reverse();
    assert_eq!(asc_ids, desc_ids);
    assert!(asc.orders.windows(2).all(|w| w[0].amount <= w[1].amount));
}

#[tokio::test]
async fn bad_parameters_get_a_400_problem_naming_the_field() {
    let sandbox = common::start(100).await;
    let api = Api::new(&sandbox).await;
    for (query, field) in [("pageSize=abc", "pageSize"), ("from=not-a-date", "from"), ("orderBy=colour", "orderBy")] {
        let res = api.get(&format!("/orders?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let problem: ProblemDetails = res.json().await.unwrap();
        assert_eq!(problem.status, 400);
        assert!(problem.errors.contains_key(field), "{query}: {problem:?}");
    }
}

#[tokio::test]
async fn single_order_is_served_by_id_and_unknown_ids_get_404() {
    let sandbox = common::start(100).await;
    let api = Api::new(&sandbox).await;
    let target = sandbox.orders_snapshot()[42].clone();
    let res = api.get(&format!("/orders/{}", target.id.to_uppercase())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let order: WireOrder = res.json().await.unwrap();
    assert_eq!(order, target);
    let missing = api.get("/orders/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let problem: ProblemDetails = missing.json().await.unwrap();
    assert_eq!(problem.status, 404);
}

#[tokio::test]
async fn list_body_carries_the_status_names_and_camel_case_paging_fields() {
    let sandbox = common::start(100).await;
    let api = Api::new(&sandbox).await;
    let body: Value = api.get("/orders?pageSize=5").await.json().await.unwrap();
    assert_eq!(body["additionalAttributes"]["statuses"]["7"], "Completed");
    assert_eq!(body["additionalAttributes"]["statuses"]["0"], "Draft");
    for field in [
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
    ] {
        assert!(body.get(field).is_some(), "{field} missing");
    }
    assert!(body["orders"][0]["externalOrderId"].is_string());
    assert!(body["orders"][0].get("isMIT").is_some());
}

#[tokio::test]
async fn another_merchants_mid_sees_nothing_and_upserts_are_served() {
    let sandbox = common::start(100).await;
    let api = Api::new(&sandbox).await;
    let other = api.page("mid=00000000-0000-4000-8000-000000000000").await;
    assert_eq!(other.total_item_count, Some(0));
    let own = api.page(&format!("mid={}", sandbox.mid())).await;
    assert_eq!(own.total_item_count, Some(100));

    let mut changed = sandbox.orders_snapshot()[3].clone();
    changed.status = Some(6);
    sandbox.upsert_order(changed.clone());
    let res = api.get(&format!("/orders/{}", changed.id)).await;
    assert_eq!(res.json::<WireOrder>().await.unwrap().status, Some(6));
    assert_eq!(sandbox.order_count(), 100);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sandbox = common::start(10).await;
    let url = format!("{}/orders", sandbox.base_url());
    sandbox.shutdown().await;
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}
