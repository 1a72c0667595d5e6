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

/// The record the documentation shows.
fn record_13() -> Value {
    json!({"amount": 14.0, "id": 13, "productId": 6973, "quantityReserved": null, "storeId": 11})
}

fn get_cmd(id: u32) -> String {
    format!("catalog.storeproduct.get?id={id}")
}

/// Posts a batch; the answer's status, the raw body, and the body as JSON when it is JSON.
async fn batch(
    sandbox: &support::Sandbox,
    content_type: &str,
    body: String,
) -> (u16, String, Value) {
    let response = client()
        .post(format!("{}batch", sandbox.webhook()))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("batch call");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, value)
}

async fn batch_json(sandbox: &support::Sandbox, body: Value) -> (u16, Value) {
    let (status, _, answer) = batch(sandbox, "application/json", body.to_string()).await;
    (status, answer)
}

/// A PHP-style form body, names and values URL-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn a_batch_of_gets_from_json_and_form_bodies() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let (status, answer) = batch_json(
        &sandbox,
        json!({"halt": 0, "cmd": {"a": get_cmd(13), "b": get_cmd(14)}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let results = &answer["result"];
    assert_eq!(results["result"]["a"]["storeProduct"], record_13());
    assert_eq!(results["result"]["b"]["storeProduct"]["id"], 14);
    // PHP writes empty maps as [].
    for empty in ["result_error", "result_total", "result_next"] {
        assert_eq!(results[empty], json!([]), "{empty}");
    }
    for key in ["a", "b"] {
        assert!(
            results["result_time"][key]["operating"].is_number(),
            "{key}"
        );
    }
    assert!(answer["time"]["operating_reset_at"].is_number());

    // The same batch as a form body, and as a query string.
    let body = form(&[
        ("halt", "0"),
        ("cmd[a]", &get_cmd(13)),
        ("cmd[b]", &get_cmd(14)),
    ]);
    let (status, _, from_form) =
        batch(&sandbox, "application/x-www-form-urlencoded", body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(from_form["result"]["result"], results["result"]);
    let from_query: Value = client()
        .get(format!("{}batch.json?{body}", sandbox.webhook()))
        .send()
        .await
        .expect("batch by GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(from_query["result"]["result"], results["result"]);

    // Keys come back in command order, as PHP sends them (a raw body: `json!` sorts keys).
    let (_, text, _) = batch(
        &sandbox,
        "application/json",
        r#"{"cmd":{"z":"catalog.storeproduct.get?id=14","a":"catalog.storeproduct.get?id=13"}}"#
            .into(),
    )
    .await;
    let z = text.find(r#""z":"#).expect("z");
    let a = text.find(r#""a":"#).expect("a");
    assert!(z < a, "{text}");
}

#[tokio::test]
async fn array_commands_answer_arrays_unless_a_key_is_missing() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let (status, answer) = batch_json(&sandbox, json!({"cmd": [get_cmd(13), get_cmd(14)]})).await;
    assert_eq!(status, 200);
    let results = &answer["result"];
    assert_eq!(results["result"][0]["storeProduct"], record_13());
    assert_eq!(results["result"][1]["storeProduct"]["id"], 14);
    assert_eq!(results["result_time"].as_array().map(Vec::len), Some(2));
    assert_eq!(results["result_error"], json!([]));

    let body = form(&[("cmd[]", &get_cmd(13)), ("cmd[]", &get_cmd(14))]);
    let (_, _, from_form) = batch(&sandbox, "application/x-www-form-urlencoded", body).await;
    assert_eq!(from_form["result"]["result"], results["result"]);

    // Record 99999 does not exist: result has keys 0 and 2, an object; result_error {"1": …}.
    let (status, answer) = batch_json(
        &sandbox,
        json!({"cmd": [get_cmd(13), get_cmd(99_999), get_cmd(14)]}),
    )
    .await;
    assert_eq!(status, 200);
    let results = &answer["result"];
    assert!(results["result"].is_object(), "{results}");
    assert_eq!(results["result"]["0"]["storeProduct"], record_13());
    assert_eq!(results["result"]["2"]["storeProduct"]["id"], 14);
    assert_eq!(
        results["result_error"],
        json!({"1": {"error": 0, "error_description": "Entity is not exists"}})
    );

    // Everything failed: the result is an empty PHP array.
    let (_, answer) = batch_json(&sandbox, json!({"cmd": [get_cmd(99_998)]})).await;
    assert_eq!(answer["result"]["result"], json!([]));
    assert_eq!(
        answer["result"]["result_error"],
        json!([{"error": "-", "error_description": "Store product does not exist"}])
    );
}

#[tokio::test]
async fn per_command_errors_and_halt() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let (status, answer) = batch_json(
        &sandbox,
        json!({"halt": 0, "cmd": {
            "busy": get_cmd(990_008),
            "credentials": get_cmd(990_012),
            "unknown_code": get_cmd(990_026),
            "blocked": get_cmd(990_010),
            "shape": get_cmd(990_022),
            "other": get_cmd(990_023),
            "unknown_method": "crm.deal.list?select[]=ID",
            "nested": format!("batch?cmd[x]={}", get_cmd(13)),
            // (Keys run in the order sent: `json!` sorts them, so "good" runs before this.)
            "reference": "catalog.storeproduct.get?id=$result[good][storeProduct][id]",
            "good": get_cmd(13),
        }}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let errors = &answer["result"]["result_error"];
    let code = |key: &str| errors[key]["error"].clone();
    assert_eq!(code("busy"), "QUERY_LIMIT_EXCEEDED");
    assert_eq!(code("credentials"), "INVALID_CREDENTIALS");
    assert_eq!(code("unknown_code"), "SERVICE_UNAVAILABLE_X");
    assert_eq!(
        errors["unknown_code"]["error_description"],
        "Service not found"
    );
    assert_eq!(code("blocked"), "OPERATION_TIME_LIMIT");
    assert_eq!(code("unknown_method"), "ERROR_METHOD_NOT_FOUND");
    assert_eq!(code("nested"), "ERROR_BATCH_METHOD_NOT_ALLOWED");
    assert_eq!(errors.as_object().map(|e| e.len()), Some(6), "{errors}");
    let results = &answer["result"]["result"];
    // `$result[good][storeProduct][id]` took the id the earlier command answered with.
    assert_eq!(
        results["reference"]["storeProduct"],
        record_13(),
        "{answer}"
    );
    assert_eq!(results["shape"]["storeProduct"]["amount"], "plenty");
    assert_eq!(results["other"]["storeProduct"]["id"], 990_024);
    assert_eq!(results["good"]["storeProduct"], record_13());
    // The played operating-time block lends the batch its short reset.
    let reset = answer["time"]["operating_reset_at"]
        .as_u64()
        .expect("reset");
    assert!(reset <= unix_now().as_secs() + 3, "{reset}");

    // halt=1: the first failure stops the batch; later commands appear nowhere.
    let (status, answer) = batch_json(
        &sandbox,
        json!({"halt": 1, "cmd": {"a": get_cmd(13), "b": get_cmd(99_999), "c": get_cmd(15)}}),
    )
    .await;
    assert_eq!(status, 200);
    let results = &answer["result"];
    assert_eq!(results["result"].as_object().map(|r| r.len()), Some(1));
    assert_eq!(results["result_error"]["b"]["error"], 0);
    for part in ["result", "result_error", "result_time"] {
        assert!(results[part].get("c").is_none(), "{part}: {results}");
    }
    assert_eq!(sandbox.get_calls(15).await, 0);

    // The same with halt as a form string.
    let body = form(&[
        ("halt", "1"),
        ("cmd[a]", "crm.deal.list"),
        ("cmd[b]", &get_cmd(15)),
    ]);
    let (_, _, answer) = batch(&sandbox, "application/x-www-form-urlencoded", body).await;
    assert_eq!(answer["result"]["result"], json!([]));
    assert_eq!(
        answer["result"]["result_error"]["a"]["error"],
        "ERROR_METHOD_NOT_FOUND"
    );
    assert_eq!(sandbox.get_calls(15).await, 0);
}

#[tokio::test]
async fn a_transport_fault_fails_the_whole_batch() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    // HTML error page (990003) comes before broken JSON (990004): it decides.
    let (status, text, _) = batch(
        &sandbox,
        "application/json",
        json!({"cmd": [get_cmd(13), get_cmd(990_003), get_cmd(990_004)]}).to_string(),
    )
    .await;
    assert_eq!(status, 502);
    assert!(text.starts_with("<html>"), "{text}");

    let (status, text, _) = batch(
        &sandbox,
        "application/json",
        json!({"cmd": {"a": get_cmd(990_030), "b": get_cmd(990_003)}}).to_string(),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, ""));

    let response = client()
        .post(format!("{}batch", sandbox.webhook()))
        .header("content-type", "application/json")
        .body(json!({"cmd": [get_cmd(990_007)]}).to_string())
        .send()
        .await
        .expect("batch");
    assert_eq!(response.status().as_u16(), 302);

    // The commands still ran.
    assert_eq!(sandbox.get_calls(990_004).await, 1);
    assert_eq!(
        sandbox.stats().await["commands"]["catalog.storeproduct.get"],
        6
    );
}

#[tokio::test]
async fn the_global_fault_switch_reaches_gets_inside_batches() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    sandbox.control(json!({"fault": "busy"})).await;
    let (status, answer) = batch_json(
        &sandbox,
        json!({"cmd": {"get": get_cmd(13), "list": "catalog.storeproduct.list?filter[id]=13"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["result"]["result_error"]["get"]["error"],
        "QUERY_LIMIT_EXCEEDED"
    );
    assert_eq!(
        answer["result"]["result"]["list"]["storeProducts"][0],
        record_13()
    );

    sandbox.control(json!({"fault": "html_error"})).await;
    let (status, text, _) = batch(
        &sandbox,
        "application/json",
        json!({"cmd": [get_cmd(13)]}).to_string(),
    )
    .await;
    assert_eq!(status, 502, "{text}");
    sandbox.control(json!({"fault": null})).await;
}

#[tokio::test]
async fn at_most_fifty_commands() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let fifty: Vec<String> = (1..=50).map(get_cmd).collect();
    let (status, answer) = batch_json(&sandbox, json!({"cmd": fifty})).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["result"]["result"].as_array().map(Vec::len),
        Some(50)
    );

    let fifty_one: Vec<String> = (1..=51).map(get_cmd).collect();
    let (status, answer) = batch_json(&sandbox, json!({"cmd": fifty_one})).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "ERROR_BATCH_LENGTH_EXCEEDED");
    assert_eq!(answer["error_description"], "Max batch length exceeded");
    // Refused whole: none of its commands ran.
    assert_eq!(sandbox.get_calls(51).await, 0);
    assert_eq!(sandbox.get_calls(1).await, 1);
}

#[tokio::test]
async fn a_batch_takes_one_bucket_slot_and_counts_apart() {
    let sandbox = spawn_sandbox(0.01, 3.0);
    let commands: Vec<String> = (1..=10).map(get_cmd).collect();
    for n in 0..3 {
        let (status, answer) = batch_json(&sandbox, json!({"cmd": commands})).await;
        assert_eq!(status, 200, "batch {n}: {answer}");
    }
    let (status, answer) = batch_json(&sandbox, json!({"cmd": commands})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (503, Some("QUERY_LIMIT_EXCEEDED"))
    );

    let stats = sandbox.stats().await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["calls"], json!({"batch": 3}));
    assert_eq!(stats["commands"], json!({"catalog.storeproduct.get": 30}));
    assert_eq!(stats["queryLimitExceeded"], 1);
    assert_eq!(stats["getCallsById"]["7"], 3);
    assert_eq!(stats["lastBatchCommands"], json!(commands));
}

#[tokio::test]
async fn direct_calls_and_batched_gets_are_told_apart() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    assert_eq!(sandbox.stats().await["lastBatchCommands"], Value::Null);
    let get = format!("/rest/1/{}/catalog.storeproduct.get", sandbox.code);
    let (status, _) = call(&sandbox.base, &get, json!({"id": 13})).await;
    assert_eq!(status, 200);
    let (status, _) = batch_json(
        &sandbox,
        json!({"cmd": [get_cmd(13), "catalog.storeproduct.list?filter[id]=13", "crm.deal.list"]}),
    )
    .await;
    assert_eq!(status, 200);
    let stats = sandbox.stats().await;
    assert_eq!(stats["requests"], 2);
    assert_eq!(
        stats["calls"],
        json!({"batch": 1, "catalog.storeproduct.get": 1})
    );
    // The unknown method was refused, not run.
    assert_eq!(
        stats["commands"],
        json!({"catalog.storeproduct.get": 1, "catalog.storeproduct.list": 1})
    );
    assert_eq!(stats["getCallsById"]["13"], 2);
    assert_eq!(
        stats["lastBatchCommands"],
        json!([
            get_cmd(13),
            "catalog.storeproduct.list?filter[id]=13",
            "crm.deal.list"
        ])
    );
}

#[tokio::test]
async fn an_answer_delay_holds_every_call_until_reset() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let get = format!("/rest/1/{}/catalog.storeproduct.get", sandbox.code);
    let timed = || async {
        let started = std::time::Instant::now();
        let (status, _) = call(&sandbox.base, &get, json!({"id": 13})).await;
        assert_eq!(status, 200);
        started.elapsed()
    };
    sandbox.control(json!({"answerDelayMs": 300})).await;
    assert!(timed().await >= Duration::from_millis(300));
    let reset = client()
        .post(format!("{}/_sandbox/reset", sandbox.base))
        .send()
        .await
        .expect("reset");
    assert!(reset.status().is_success());
    assert!(timed().await < Duration::from_millis(300));
}

#[tokio::test]
async fn operating_time_is_charged_per_command() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    sandbox
        .control(json!({"operatingCostSecs": 1.0, "operatingLimitSecs": 3.0}))
        .await;
    let commands: Vec<String> = (1..=5).map(get_cmd).collect();
    let (status, answer) = batch_json(&sandbox, json!({"cmd": commands})).await;
    assert_eq!(status, 200);
    let results = &answer["result"];
    assert_eq!(results["result"].as_array().map(Vec::len), Some(3));
    assert_eq!(results["result_time"][2]["operating"], 3.0);
    for key in ["3", "4"] {
        assert_eq!(
            results["result_error"][key]["error"],
            "OPERATION_TIME_LIMIT"
        );
    }
    assert_eq!(answer["time"]["operating"], 3.0);
    assert_eq!(sandbox.stats().await["operationTimeLimit"], 2);
}

#[tokio::test]
async fn operating_time_is_counted_per_method() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    sandbox
        .control(json!({"operatingUsedSecs": {"catalog.storeproduct.list": 480}}))
        .await;
    let list = format!("/rest/1/{}/catalog.storeproduct.list", sandbox.code);
    let (status, blocked) =
        call(&sandbox.base, &list, json!({"filter": {"productId": 6973}})).await;
    assert_eq!(
        (status, blocked["error"].as_str()),
        (429, Some("OPERATION_TIME_LIMIT"))
    );
    let get = format!("/rest/1/{}/catalog.storeproduct.get", sandbox.code);
    let (status, record) = call(&sandbox.base, &get, json!({"id": 13})).await;
    assert_eq!(status, 200, "{record}");
    assert!(
        record["time"]["operating"].as_f64().unwrap_or(1.0) < 1.0,
        "get's own time"
    );
    let commands = vec![
        get_cmd(13),
        "catalog.storeproduct.list?filter[productId]=6973".to_string(),
    ];
    let (status, answer) = batch_json(&sandbox, json!({"cmd": commands})).await;
    assert_eq!(status, 200);
    assert!(
        answer["result"]["result"]["0"].is_object() || answer["result"]["result"][0].is_object()
    );
    assert_eq!(
        answer["result"]["result_error"]["1"]["error"],
        "OPERATION_TIME_LIMIT"
    );
    let bad = client()
        .post(format!("{}/_sandbox/control", sandbox.base))
        .json(&json!({"operatingUsedSecs": {"crm.deal.list": 1}}))
        .send()
        .await
        .expect("control");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_big_product_lists_in_two_pages() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let list = format!("/rest/1/{}/catalog.storeproduct.list", sandbox.code);
    let (status, first) = call(&sandbox.base, &list, json!({"filter": {"productId": 8000}})).await;
    assert_eq!(status, 200);
    let rows = first["result"]["storeProducts"].as_array().expect("rows");
    assert_eq!(rows.len(), 50);
    assert_eq!(
        rows[0],
        json!({"amount": 1.0, "id": 2001, "productId": 8000, "quantityReserved": 1.0, "storeId": 100})
    );
    assert_eq!(
        (first["total"].clone(), first["next"].clone()),
        (json!(90), json!(50))
    );

    let (_, second) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"productId": "8000"}, "start": "50"}),
    )
    .await;
    let rows = second["result"]["storeProducts"].as_array().expect("rows");
    assert_eq!(rows.len(), 40);
    assert_eq!(rows[39]["storeId"], 189);
    assert_eq!(rows[39]["quantityReserved"], 0.0);
    assert_eq!(second["total"], 90);
    assert!(second.get("next").is_none());

    // start=-1: no counting.
    let (_, uncounted) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"productId": 8000}, "start": -1, "order": {"storeId": "desc"}, "select": ["storeId"]}),
    )
    .await;
    assert_eq!(
        uncounted["result"]["storeProducts"]
            .as_array()
            .map(Vec::len),
        Some(50)
    );
    assert_eq!(
        uncounted["result"]["storeProducts"][0],
        json!({"storeId": 189})
    );
    assert!(uncounted.get("total").is_none() && uncounted.get("next").is_none());
}

#[tokio::test]
async fn filters_by_warehouse_lists_and_operators() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let list = format!("/rest/1/{}/catalog.storeproduct.list", sandbox.code);
    let ids = |answer: &Value| -> Vec<u64> {
        answer["result"]["storeProducts"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|r| r["id"].as_u64())
            .collect()
    };
    for filter in [
        json!({"productId": 6973, "@storeId": [1, 11]}),
        json!({"productId": "6973", "@storeId": ["1", "11"]}),
        json!({"=productId": 6973, "!@storeId": [2]}),
        json!({"productId": 6973, "!storeId": 2}),
        json!({"productId": 6973, "!=storeId": "2"}),
        json!({"productId": 6973, "<amount": 50}),
    ] {
        let (_, answer) = call(
            &sandbox.base,
            &list,
            json!({"filter": filter, "select": ["*"]}),
        )
        .await;
        assert_eq!(ids(&answer), [13, 301], "{filter}");
        assert_eq!(answer["total"], 2, "{filter}");
    }
    // A PHP-style form body and a query string are read into the same nested parameters.
    let stores = "filter[productId]=6973&filter[@storeId][]=1&filter[@storeId][]=11";
    let from_form: Value = client()
        .post(format!("{}{list}", sandbox.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(stores)
        .send()
        .await
        .expect("form list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ids(&from_form), [13, 301]);
    let from_query: Value = client()
        .get(format!("{}{list}?{stores}", sandbox.base))
        .send()
        .await
        .expect("query list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(ids(&from_query), [13, 301]);
    let (_, answer) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"productId": 8000, ">storeId": 150, "<=storeId": 152, ">=amount": 1}}),
    )
    .await;
    assert_eq!(ids(&answer), [2052, 2053]);
    let (_, answer) = call(
        &sandbox.base,
        &list,
        json!({"filter": {"productId": 6973}, "order": {"amount": "DESC"}, "select": ["id"]}),
    )
    .await;
    assert_eq!(
        answer["result"]["storeProducts"],
        json!([{"id": 302}, {"id": 13}, {"id": 301}])
    );
}

#[tokio::test]
async fn list_commands_inside_a_batch() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let (status, answer) = batch_json(
        &sandbox,
        json!({"cmd": {
            "page1": "catalog.storeproduct.list?filter[productId]=8000&select[]=id&select[]=amount&order[id]=asc",
            "page2": "catalog.storeproduct.list?filter[productId]=8000&select[]=id&select[]=amount&order[id]=asc&start=50",
            "stores": "catalog.storeproduct.list?filter[productId]=6973&filter[@storeId][]=1&filter[@storeId][]=11&select[]=id",
            "one": get_cmd(13),
        }}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let results = &answer["result"];
    let page1 = results["result"]["page1"]["storeProducts"]
        .as_array()
        .expect("page 1");
    assert_eq!(page1.len(), 50);
    assert_eq!(page1[0], json!({"amount": 1.0, "id": 2001}));
    let page2 = results["result"]["page2"]["storeProducts"]
        .as_array()
        .expect("page 2");
    assert_eq!(page2.len(), 40);
    assert_eq!(page2[0], json!({"amount": 51.0, "id": 2051}));
    assert_eq!(
        results["result"]["stores"]["storeProducts"],
        json!([{"id": 13}, {"id": 301}])
    );
    assert_eq!(
        results["result_total"],
        json!({"page1": 90, "page2": 90, "stores": 2})
    );
    assert_eq!(results["result_next"], json!({"page1": 50}));
    assert_eq!(results["result"]["one"]["storeProduct"], record_13());
    assert!(results["result"]["one"].get("total").is_none());
}
