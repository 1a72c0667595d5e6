//! The sandbox portal speaks the documented wire format: authentication, both methods, list
//! paging and filters, the leaky bucket.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{client, spawn_sandbox};

async fn call(base: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = call_raw(base, path, body).await;
    (status, serde_json::from_str(&text).expect("JSON"))
}

async fn call_raw(base: &str, path: &str, body: Value) -> (u16, String) {
    let response = client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sandbox call");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock")
}

#[tokio::test]
async fn authenticates_by_webhook_path_and_knows_its_methods() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let (status, answer) = call(
        &sandbox.base,
        "/rest/1/wrongcode/catalog.storeproduct.get",
        json!({"id": 13}),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );

    let hook = format!("/rest/1/{}/", sandbox.code);
    let (status, answer) = call(
        &sandbox.base,
        &format!("{hook}catalog.storeproduct.get.json"),
        json!({"id": 13}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["result"]["storeProduct"],
        json!({"amount": 14.0, "id": 13, "productId": 6973, "quantityReserved": null, "storeId": 11})
    );
    assert!(answer["time"]["operating"].is_number());

    let (status, answer) = call(
        &sandbox.base,
        &format!("{hook}catalog.storeproduct.get"),
        json!({}),
    )
    .await;
    assert_eq!((status, answer["error"].clone()), (400, json!(100)));
    let (status, answer) = call(&sandbox.base, &format!("{hook}crm.deal.list"), json!({})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("ERROR_METHOD_NOT_FOUND"))
    );
}

#[tokio::test]
async fn lists_in_pages_of_fifty_with_filters() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let list = format!("/rest/1/{}/catalog.storeproduct.list", sandbox.code);
    let (status, first) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"storeId": 11}, "order": {"id": "ASC"}}),
    )
    .await;
    assert_eq!(status, 200);
    let rows = first["result"]["storeProducts"].as_array().expect("rows");
    assert_eq!(rows.len(), 50);
    // Record 16 sends its numbers as strings, like some real portals.
    assert!(rows
        .iter()
        .all(|r| r["storeId"] == 11 || r["storeId"] == "11"));
    let total = first["total"].as_u64().expect("total");
    assert!(total > 50);
    assert_eq!(first["next"], 50);

    let (_, last) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"storeId": 11}, "start": 50 * (total / 50)}),
    )
    .await;
    assert_eq!(
        last["result"]["storeProducts"].as_array().map(Vec::len),
        Some((total % 50) as usize)
    );
    assert!(last.get("next").is_none(), "no next on the last page");

    let (_, some) = call(
        &sandbox.base,
        &list,
        json!({"select": ["id", "amount"], "filter": {"@id": [13, 14, 999], ">=amount": 3}, "order": {"id": "DESC"}}),
    )
    .await;
    assert_eq!(
        some["result"]["storeProducts"],
        json!([{"amount": 14.0, "id": 13}])
    );
}

#[tokio::test]
async fn refuses_past_the_leaky_bucket() {
    let sandbox = spawn_sandbox(0.01, 50.0);
    let get = format!("/rest/1/{}/catalog.storeproduct.get", sandbox.code);
    let mut statuses = Vec::new();
    for _ in 0..55 {
        let (status, answer) = call(&sandbox.base, &get, json!({"id": 13})).await;
        if status == 503 {
            assert_eq!(answer["error"], "QUERY_LIMIT_EXCEEDED");
        }
        statuses.push(status);
    }
    assert!(statuses[..50].iter().all(|s| *s == 200));
    assert!(statuses[50..].iter().all(|s| *s == 503));
    assert_eq!(sandbox.stats().await["queryLimitExceeded"], 5);
}

#[tokio::test]
async fn odd_records_and_odd_errors_by_fault_id() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let get = format!("/rest/1/{}/catalog.storeproduct.get", sandbox.code);
    let record = |id: u32| {
        let get = get.clone();
        let base = sandbox.base.clone();
        async move {
            let (status, answer) = call(&base, &get, json!({"id": id})).await;
            assert_eq!(status, 200, "{id}: {answer}");
            answer["result"]["storeProduct"].clone()
        }
    };
    assert_eq!(
        record(990_024).await,
        json!({"amount": 5.0, "id": 990_024, "productId": 6973, "quantityReserved": -3.0, "storeId": 11})
    );
    assert_eq!(record(990_025).await["amount"], json!(1e305));
    assert_eq!(
        record(990_029).await,
        json!({"amount": "7.5", "id": "990029", "productId": "6973", "quantityReserved": "2.5", "storeId": "11"})
    );

    let (status, answer) = call(&sandbox.base, &get, json!({"id": 990_026})).await;
    assert_eq!(status, 503);
    assert_eq!(answer["error"], "SERVICE_UNAVAILABLE_X");
    assert_eq!(answer["error_description"], "Service not found");

    let (status, answer) = call(&sandbox.base, &get, json!({"id": 990_027})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("OPERATION_TIME_LIMIT"))
    );
    let reset = answer["time"]["operating_reset_at"]
        .as_u64()
        .expect("reset");
    let nine_years = 9 * 365 * 24 * 3600;
    assert!(reset > unix_now().as_secs() + nine_years, "{reset}");

    let (status, answer) = call(&sandbox.base, &get, json!({"id": 990_028})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("OPERATION_TIME_LIMIT"))
    );
    let reset_ms = answer["time"]["operating_reset_at"]
        .as_u64()
        .expect("reset");
    let now_ms = unix_now().as_millis() as u64;
    assert!(
        (now_ms..now_ms + 5_000).contains(&reset_ms),
        "{reset_ms} is not a reset time in milliseconds"
    );

    let (status, body) = call_raw(&sandbox.base, &get, json!({"id": 990_030})).await;
    assert_eq!((status, body.as_str()), (200, ""));
}
