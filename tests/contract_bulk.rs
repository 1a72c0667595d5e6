//! The black-box contract for reading many things at once: id lists, product stock and the
//! Bitrix-compatible `batch`. Like `contract.rs`, it runs unchanged against the local server,
//! the Lambda and the Worker, in front of the sandbox portal, with `tests/contract.env`.
//!
//! Ids 200-259 are kept cold for this suite (no other contract test reads them).

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::exchange::{get, post_form, post_json, send, send_unlocked, GATEWAY_STATE, JSON};
use support::{contract_target, mirror_mode};

const STORE_PRODUCT_13: &str =
    r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}"#;

fn ids_of(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item["id"].as_u64().or(item.as_u64()).expect("an id"))
        .collect()
}

#[tokio::test]
async fn id_lists_answer_in_request_order_with_every_id_in_one_list() {
    let reply = get("/v1/store-products?ids=15,13,99997,17,990019,14").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some(JSON));
    let body = reply.json();
    assert_eq!(ids_of(&body["items"]), vec![15, 13, 14]);
    let fault = if mirror_mode() {
        "notFound"
    } else {
        "unavailable"
    };
    assert!(ids_of(&body[fault]).contains(&990019));
    assert_eq!(
        body["items"][1],
        serde_json::from_str::<Value>(
            r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}"#
        )
        .unwrap()
    );
    // 17 is in a hidden warehouse: indistinguishable from a missing record.
    let not_found: Vec<u64> = ids_of(&body["notFound"])
        .into_iter()
        .filter(|id| *id != 990019)
        .collect();
    assert_eq!(not_found, vec![99997, 17]);
    assert!(reply.header("x-cache").is_some());
    if mirror_mode() {
        // A fault id is no record of the table: not found, like any unknown id, and nothing
        // in the answer failed.
        assert_eq!(ids_of(&body["unavailable"]), Vec::<u64>::new());
        let mixed = get("/v1/store-products?ids=13,99996").await;
        assert_eq!(ids_of(&mixed.json()["notFound"]), vec![99996]);
        return;
    }
    // The portal failed for 990019 (INTERNAL_SERVER_ERROR) and nothing stale stands in.
    assert_eq!(ids_of(&body["unavailable"]), vec![990019]);
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    // The most restrictive part sets Cache-Control.
    let found = get("/v1/store-products?ids=13,14").await;
    assert_eq!(
        found.header("cache-control"),
        Some("public, max-age=30, stale-while-revalidate=30, stale-if-error=300")
    );
    let mixed = get("/v1/store-products?ids=13,99996").await;
    assert_eq!(
        mixed.header("cache-control"),
        Some("public, max-age=10, stale-while-revalidate=30, stale-if-error=300")
    );
    assert_eq!(ids_of(&mixed.json()["notFound"]), vec![99996]);
}

#[tokio::test]
async fn id_lists_are_validated() {
    let fifty_one: Vec<String> = (1..=51).map(|n| n.to_string()).collect();
    get(&format!("/v1/store-products?ids={}", fifty_one.join(",")))
        .await
        .assert_v1_error(400, "too_many_ids");
    for query in [
        "ids=",
        "ids=13,13",
        "ids=13,,14",
        "ids=13,",
        "ids=13,x",
        "ids=0",
        "ids=13&ids=14",
        "ids=13&id=14",
        "ids=13%2C-1",
    ] {
        get(&format!("/v1/store-products?{query}"))
            .await
            .assert_v1_error(400, "invalid_id");
    }
}

#[tokio::test]
async fn fifty_cold_ids_cost_one_portal_request() {
    if mirror_mode() {
        return; // How reads reach the portal on demand: a mirror's never do.
    }
    let _alone = GATEWAY_STATE.write().await;
    let target = contract_target();
    let ids: Vec<String> = (200..250).map(|n| n.to_string()).collect();
    let before = target.portal_requests().await;
    let reply = send_unlocked(
        Method::GET,
        &format!("/v1/store-products?ids={}", ids.join(",")),
        &[],
        None,
    )
    .await;
    let after = target.portal_requests().await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    let (items, missing) = (ids_of(&body["items"]), ids_of(&body["notFound"]));
    assert_eq!(items.len() + missing.len(), 50, "{}", reply.body);
    assert!(ids_of(&body["unavailable"]).is_empty());
    // Warehouse 2 is hidden: every third regular record is "not found".
    assert!(missing.iter().all(|id| id % 3 == 1), "{missing:?}");
    // One batch for the records, one for their products' flags (kept for STOCK_FLAGS_TTL_SECS).
    assert_eq!(after - before, 2, "50 cold ids, two portal requests");
    // Only validated integer ids were written into the commands: the flags batch holds one
    // command per product shown.
    let commands = target.sandbox_stats().await["lastBatchCommands"].clone();
    let commands = commands
        .as_array()
        .expect("the sandbox records batch commands");
    assert!(!commands.is_empty() && commands.len() <= items.len());
    for command in commands {
        let text = command.as_str().unwrap_or_default();
        let id = text.strip_prefix("catalog.product.get?id=").unwrap_or("x");
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{text}");
    }
}

#[tokio::test]
async fn product_stock_adds_up_the_public_warehouses() {
    let reply = get("/v1/products/6973/stock").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Warehouse 2 (100 more) is hidden: never counted, never shown.
    assert_eq!(
        reply.body,
        r#"{"productId":6973,"amount":20,"reserved":1,"available":19,"inStock":true,"availability":"in_stock","sellable":true,"stores":[{"storeId":1,"amount":6,"reserved":1,"available":5,"inStock":true,"availability":"low_stock","sellable":true},{"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}],"summary":"In stock: 19 pcs in 2 stores"}"#
    );
    if !mirror_mode() {
        assert_eq!(
            reply.header("cache-control"),
            Some("public, max-age=30, stale-while-revalidate=30, stale-if-error=300")
        );
    }
    let again = get("/v1/products/6973/stock").await;
    assert_eq!(again.body, reply.body);
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert!(again.header("age").is_some());
}

/// A chatbot asks for one sentence: `?format=text` (or `Accept: text/plain`), in English or
/// Russian; the JSON carries the same sentence as `summary`.
#[tokio::test]
async fn product_stock_as_a_sentence_in_english_and_russian() {
    let ru = get("/v1/products/6973/stock?lang=ru").await;
    assert_eq!(ru.status, 200, "{}", ru.body);
    assert_eq!(ru.json()["summary"], "В наличии: 19 шт. в 2 магазинах");
    assert!(ru.header("vary").is_some_and(|v| v.contains("Accept")));
    for (path, accept, line) in [
        (
            "/v1/products/6973/stock?format=text",
            None,
            "In stock: 19 pcs in 2 stores\n",
        ),
        (
            "/v1/products/6973/stock?format=text&lang=ru",
            None,
            "В наличии: 19 шт. в 2 магазинах\n",
        ),
        (
            "/v1/products/6973/stock?lang=ru",
            Some("text/plain"),
            "В наличии: 19 шт. в 2 магазинах\n",
        ),
        // 7005 has one record, empty: nothing to sell.
        (
            "/v1/products/7005/stock?format=text&lang=ru",
            None,
            "Нет в наличии\n",
        ),
        (
            "/v1/products/7005/stock?format=text",
            None,
            "Out of stock\n",
        ),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let reply = send(Method::GET, path, &headers, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.body, line, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{path}"
        );
        assert!(reply.header("etag").is_some(), "{path}");
    }
    // Can 5 be sold? Together, and from each of warehouses 1 (5) and 11 (14). 20 cannot.
    let five = get("/v1/products/6973/stock?qty=5").await;
    assert_eq!(
        five.json()["qty"],
        json!({"asked": 5, "canSell": true, "stores": [1, 11]})
    );
    let twenty = get("/v1/products/6973/stock?qty=20").await;
    assert_eq!(
        twenty.json()["qty"],
        json!({"asked": 20, "canSell": false, "stores": []})
    );
    assert_eq!(twenty.json()["summary"], "In stock: 19 pcs in 2 stores");
    for path in [
        "/v1/products/6973/stock?qty=0",
        "/v1/products/6973/stock?qty=-1",
        "/v1/products/6973/stock?qty=1e3",
        "/v1/products/6973/stock?lang=de",
        "/v1/products/6973/stock?format=xml",
        "/v1/products/6973/stock?lang=en&lang=ru",
        "/v1/products/6973/stock?format=",
    ] {
        get(path).await.assert_v1_error(400, "invalid_parameter");
    }
}

#[tokio::test]
async fn product_stock_reads_every_page() {
    let _alone = GATEWAY_STATE.write().await;
    let target = contract_target();
    let before = target.portal_requests().await;
    let reply = send_unlocked(Method::GET, "/v1/products/8000/stock", &[], None).await;
    let after = target.portal_requests().await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    // Warehouses 100-179 are public (80 rows: two pages), 180-189 hidden.
    let stores: Vec<u64> = body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["storeId"].as_u64().unwrap())
        .collect();
    assert_eq!(stores, (100..180).collect::<Vec<u64>>());
    // Record in warehouse 99+k holds k, reserves k % 3.
    assert_eq!(body["amount"], 3240);
    assert_eq!(body["reserved"], 81);
    assert_eq!(body["available"], 3159);
    assert_eq!(body["inStock"], true);
    // (A mirror reads no page, but may sweep meanwhile: the bound is the same.)
    assert!(
        after - before <= 2,
        "{} portal requests for two pages",
        after - before
    );
}

#[tokio::test]
async fn products_without_public_stock_are_not_found() {
    // 7004 has one record, in hidden warehouse 2.
    for path in ["/v1/products/7004/stock", "/v1/products/99999/stock"] {
        let reply = get(path).await;
        reply.assert_v1_error(404, "not_found");
        if !mirror_mode() {
            assert_eq!(reply.header("cache-control"), Some("public, max-age=10"));
        }
    }
    for segment in ["0", "-1", "abc", "2147483648", "013", "1.5", ""] {
        get(&format!("/v1/products/{segment}/stock"))
            .await
            .assert_v1_error(400, "invalid_id");
    }
}

fn assert_bitrix_batch_time(reply: &support::exchange::Reply, keys: &[&str]) {
    reply.assert_bitrix_time();
    let times = &reply.json()["result"]["result_time"];
    for key in keys {
        assert!(
            times[key]["start"].is_number(),
            "result_time.{key}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn bitrix_batch_answers_in_the_portal_shape() {
    let reply = post_json(
        "/batch",
        r#"{"halt":0,"cmd":{"a":"catalog.storeproduct.get?id=13","b":"catalog.storeproduct.get?id=99995","c":"catalog.storeproduct.get?__order=order0000000000&id=14&"}}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some(JSON));
    let result = &reply.json()["result"];
    let record_13: Value = serde_json::from_str(STORE_PRODUCT_13).unwrap();
    assert_eq!(result["result"]["a"]["storeProduct"], record_13);
    assert_eq!(result["result"]["c"]["storeProduct"]["id"], 14);
    assert_eq!(result["result_error"]["b"]["error"], "NOT_FOUND");
    assert!(result["result_error"]["b"]["error_description"].is_string());
    assert_eq!(result["result_total"], json!([]));
    assert_eq!(result["result_next"], json!([]));
    assert_bitrix_batch_time(&reply, &["a", "b", "c"]);

    // `cmd` as an array: the maps come back as arrays, as PHP writes them.
    let list = post_json(
        "/batch.json",
        r#"{"cmd":["catalog.storeproduct.get?id=13","catalog.storeproduct.get?id=15"]}"#,
    )
    .await;
    let result = &list.json()["result"];
    assert_eq!(
        ids_of(&json!([
            result["result"][0]["storeProduct"],
            result["result"][1]["storeProduct"]
        ])),
        vec![13, 15]
    );
    assert_eq!(result["result_error"], json!([]));
    assert!(result["result_time"].is_array());
}

#[tokio::test]
async fn bitrix_batch_halts_at_the_first_failure() {
    let reply = post_json(
        "/batch",
        r#"{"halt":1,"cmd":{"a":"catalog.storeproduct.get?id=13","b":"catalog.storeproduct.get?id=99994","c":"catalog.storeproduct.get?id=14"}}"#,
    )
    .await;
    let result = &reply.json()["result"];
    assert_eq!(result["result"]["a"]["storeProduct"]["id"], 13);
    assert_eq!(result["result_error"]["b"]["error"], "NOT_FOUND");
    assert!(result["result"].get("c").is_none(), "{}", reply.body);
    assert!(result["result_error"].get("c").is_none(), "{}", reply.body);
    // Per-key id problems are answered under their key, like the portal's error 100.
    let reply = post_json(
        "/batch",
        r#"{"cmd":{"a":"catalog.storeproduct.get","b":"catalog.storeproduct.get?id=abc","c":"catalog.storeproduct.get?id=13"}}"#,
    )
    .await;
    let result = &reply.json()["result"];
    assert_eq!(result["result_error"]["a"]["error"], 100);
    assert_eq!(result["result_error"]["b"]["error"], "INVALID_ID");
    assert_eq!(result["result"]["c"]["storeProduct"]["id"], 13);
}

#[tokio::test]
async fn bitrix_batch_takes_forms_and_webhook_shaped_urls() {
    let form = post_form(
        "/rest/0/public/batch.json?bx24_request_id=7&bx24_sdk_ver=2.2.0&bx24_sdk_type=b24-js-sdk",
        "halt=0&cmd%5Bx%5D=catalog.storeproduct.get%3Fid%3D13&cmd%5By%5D=catalog.storeproduct.get%3Fid%3D16",
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    let result = &form.json()["result"]["result"];
    assert_eq!(result["x"]["storeProduct"]["id"], 13);
    assert_eq!(result["y"]["storeProduct"]["amount"], 12);
    assert_bitrix_batch_time(&form, &["x", "y"]);
}

#[tokio::test]
async fn bitrix_batch_refusals_never_reach_the_portal() {
    let _alone = GATEWAY_STATE.write().await;
    let target = contract_target();
    let before = target.portal_requests().await;
    let fifty_one: Vec<String> = (200..251)
        .map(|n| format!("\"catalog.storeproduct.get?id={n}\""))
        .collect();
    let too_long = format!(r#"{{"cmd":[{}]}}"#, fifty_one.join(","));
    let cases: [(&str, u16, Value); 8] = [
        (
            r#"{"cmd":{"a":"catalog.storeproduct.get?id=251","b":"crm.deal.list"}}"#,
            400,
            json!("ERROR_BATCH_METHOD_NOT_ALLOWED"),
        ),
        (
            r#"{"cmd":{"a":"catalog.storeproduct.list?filter[productId]=6973"}}"#,
            400,
            json!("ERROR_BATCH_METHOD_NOT_ALLOWED"),
        ),
        (
            r#"{"cmd":{"a":"batch?cmd[b]=catalog.storeproduct.get%3Fid%3D252"}}"#,
            400,
            json!("ERROR_BATCH_METHOD_NOT_ALLOWED"),
        ),
        (
            r#"{"cmd":{"a":"catalog.storeproduct.get?id=253","b":"catalog.storeproduct.get?id=$result[a][id]"}}"#,
            400,
            json!("INVALID_BATCH"),
        ),
        (
            r#"{"cmd":{"a":"catalog.storeproduct.get?id=254&id=255"}}"#,
            400,
            json!("INVALID_BATCH"),
        ),
        (r#"{"cmd":{}}"#, 400, json!("INVALID_BATCH")),
        (&too_long, 400, json!("ERROR_BATCH_LENGTH_EXCEEDED")),
        ("not json", 400, json!("INVALID_BODY")),
    ];
    for (body, status, code) in cases {
        let reply = send_unlocked(
            Method::POST,
            "/batch",
            &[("content-type", "application/json")],
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(
            (reply.status, &reply.json()["error"]),
            (status, &code),
            "{body}"
        );
        assert!(reply.json()["error_description"].is_string());
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        reply.assert_bitrix_time();
    }
    assert_eq!(
        target.portal_requests().await,
        before,
        "a refused batch reached the portal"
    );
}

#[tokio::test]
async fn bitrix_batch_forwards_nothing_but_ids() {
    if mirror_mode() {
        return; // How reads reach the portal on demand: a mirror's never do.
    }
    let _alone = GATEWAY_STATE.write().await;
    let target = contract_target();
    let reply = send_unlocked(
        Method::POST,
        "/rest/1/public/batch",
        &[("content-type", "application/json")],
        Some(
            br#"{"halt":0,"auth":"secret-ish","cmd":{"o1":"catalog.storeproduct.get?__order=order0000000001&select[]=*&filter[storeId]=2&id=256&","o2":"catalog.storeproduct.get?id=257&&"}}"#,
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let stats = target.sandbox_stats().await;
    // The records' batch (their products' flags follow in it, or in one of their own).
    let batches: Vec<Vec<&str>> = stats["recentBatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|batch| {
            batch
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect()
        })
        .collect();
    assert!(
        batches.iter().any(|batch| batch.starts_with(&[
            "catalog.storeproduct.get?id=256",
            "catalog.storeproduct.get?id=257"
        ])),
        "{batches:?}"
    );
}

/// The sandbox's products whose flags say more than their stock: what may be sold, in record
/// and product answers alike, in the quantity check and in the chatbot's sentence.
#[tokio::test]
async fn what_may_be_sold_follows_the_product_flags() {
    for (record, product, availability, sellable, ru) in [
        (
            2101,
            7101,
            "backorder",
            true,
            "Нет в наличии, можно заказать",
        ),
        (2102, 7102, "untracked", true, "Доступен к заказу"),
        (2103, 7103, "discontinued", false, "Снят с продажи"),
        (2104, 7104, "untracked", true, "Доступен к заказу"),
        (2105, 7105, "discontinued", false, "Снят с продажи"),
        (2106, 7106, "out_of_stock", false, "Нет в наличии"),
        (14, 7001, "low_stock", true, "В наличии: 2 шт. в 1 магазине"),
    ] {
        let shown = get(&format!("/v1/store-products/{record}")).await;
        assert_eq!(shown.status, 200, "{record}: {}", shown.body);
        let json = shown.json();
        assert_eq!(
            json["availability"], availability,
            "{record}: {}",
            shown.body
        );
        assert_eq!(json["sellable"], sellable, "{record}: {}", shown.body);

        let stock = get(&format!("/v1/products/{product}/stock?qty=1&lang=ru")).await;
        assert_eq!(stock.status, 200, "{product}: {}", stock.body);
        let json = stock.json();
        assert_eq!(
            json["availability"], availability,
            "{product}: {}",
            stock.body
        );
        assert_eq!(json["sellable"], sellable, "{product}: {}", stock.body);
        assert_eq!(json["stores"][0]["availability"], availability, "{product}");
        assert_eq!(
            json["qty"]["canSell"], sellable,
            "{product}: {}",
            stock.body
        );
        assert_eq!(json["summary"], ru, "{product}");
    }
    // A backorder can be sold in any quantity; a discontinued product in none, stock or not.
    let many = get("/v1/products/7101/stock?qty=1000").await;
    assert_eq!(many.json()["qty"]["canSell"], true, "{}", many.body);
    let gone = get("/v1/products/7103/stock?qty=1").await;
    assert_eq!(gone.json()["available"], 8, "{}", gone.body);
    assert_eq!(gone.json()["qty"]["canSell"], false, "{}", gone.body);
    let text = get("/v1/products/7101/stock?format=text").await;
    assert_eq!(text.body, "Out of stock, can be ordered\n");
}

/// A parent product (7200) answers its three variations' stock: one entry per variation, each
/// with its warehouses, and the totals per warehouse and overall (`STOCK_VARIATIONS`).
#[tokio::test]
async fn a_parent_answers_its_variations_per_store_and_in_total() {
    let reply = get("/v1/products/7200/stock?qty=6&lang=ru").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    // 7201: 4 in warehouse 1, 2 in 11; 7202: 0 in 1, 5 - 1 reserved in 11; 7203: 1 in 1.
    assert_eq!(json["productId"], 7200);
    assert_eq!(json["available"], 11, "{}", reply.body);
    assert_eq!(json["availability"], "in_stock");
    let stores: Vec<(u64, u64, &str)> = json["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["storeId"].as_u64().unwrap(),
                s["available"].as_u64().unwrap(),
                s["availability"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(stores, [(1, 5, "low_stock"), (11, 6, "in_stock")]);
    let variations: Vec<(u64, u64, usize)> = json["variations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["productId"].as_u64().unwrap(),
                v["available"].as_u64().unwrap(),
                v["stores"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(variations, [(7201, 6, 2), (7202, 4, 2), (7203, 1, 1)]);
    assert_eq!(json["qty"]["canSell"], true);
    assert_eq!(json["qty"]["stores"], json!([11]));
    assert_eq!(json["summary"], "В наличии: 11 шт. в 2 магазинах");
    // A variation asked for alone is an ordinary product.
    let one = get("/v1/products/7202/stock").await;
    assert_eq!(one.json()["available"], 4, "{}", one.body);
    assert!(one.json().get("variations").is_none());
}
