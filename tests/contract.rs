//! The black-box contract: HTTP against a running gateway in front of the sandbox portal.
//! Runs unchanged against the local server (default), the Lambda and the Worker
//! (`CONTRACT_BASE_URL`, `CONTRACT_WEBHOOK_CODE`, `CONTRACT_LOG_FILE`). The gateway must run
//! with `tests/contract.env`.

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use support::exchange::{get, post_json, send, send_unlocked, Reply, GATEWAY_STATE, JSON};
use support::{contract_target, mirror_mode};

const RECORD_13: &str = r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}"#;
const BITRIX_13: &str = r#"{"storeProduct":{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}}"#;

/// The Bitrix single-call envelope: exactly this `result`, and a `time` object.
fn assert_bitrix_record(reply: &Reply, result: &str) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some(JSON));
    let expected: serde_json::Value = serde_json::from_str(result).unwrap();
    assert_eq!(reply.json()["result"], expected, "{}", reply.body);
    reply.assert_bitrix_time();
}

/// A fresh answer's `Cache-Control`: the configured lifetime on demand; on a mirror, the time
/// left to its next sweep (`STOCK_MIRROR_INTERVAL_SECS=5` for the suite).
fn assert_fresh(reply: &Reply) {
    let cache_control = reply.header("cache-control").unwrap_or_default();
    // Caches may go on using it while they ask again (one more promise) and while the
    // gateway fails (its stale window, 300 s by default).
    if mirror_mode() {
        let secs = cache_control
            .strip_prefix("public, max-age=")
            .and_then(|rest| rest.strip_suffix(", stale-while-revalidate=5, stale-if-error=300"))
            .map(str::parse::<u64>);
        assert!(
            matches!(secs, Some(Ok(0..=5))) || cache_control == "no-store",
            "{cache_control}"
        );
    } else {
        assert_eq!(
            cache_control,
            "public, max-age=30, stale-while-revalidate=30, stale-if-error=300"
        );
    }
}

#[tokio::test]
async fn record_by_path_is_exactly_the_trimmed_json() {
    let reply = get("/v1/store-products/13").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, RECORD_13);
    assert_eq!(reply.header("content-type"), Some(JSON));
    assert_fresh(&reply);
    assert!(reply
        .header("x-request-id")
        .is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn answers_say_whether_they_came_from_the_cache() {
    let first = get("/v1/store-products/23").await;
    assert_eq!(first.status, 200);
    if mirror_mode() {
        // Every answer comes from the table, as old as its range's reading.
        assert_eq!(first.header("x-cache"), Some("HIT"));
        assert!(first.header("age").is_some());
    } else {
        assert_eq!(first.header("x-cache"), Some("MISS"));
        assert_eq!(first.header("age"), None);
    }
    let second = get("/v1/store-products/23").await;
    assert_eq!(second.body, first.body, "a hit serves the same bytes");
    assert_eq!(second.header("x-cache"), Some("HIT"));
    assert!(second
        .header("age")
        .is_some_and(|a| a.parse::<u64>().is_ok()));
    assert_fresh(&second);
    // The Bitrix route shares the cache entry.
    let bitrix = post_json("/catalog.storeproduct.get", r#"{"id":23}"#).await;
    assert_eq!(bitrix.header("x-cache"), Some("HIT"));
    assert!(bitrix
        .body
        .starts_with(r#"{"result":{"storeProduct":{"id":23,"#));
}

#[tokio::test]
async fn record_by_query_is_the_same() {
    let reply = get("/v1/store-products?id=13").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, RECORD_13);
    let reply = get("/v1/store-products?utm=x&id=13").await;
    assert_eq!(reply.body, RECORD_13);
}

#[tokio::test]
async fn derived_figures() {
    // 2.5 in stock, 0.5 reserved.
    let r = get("/v1/store-products/14").await;
    assert_eq!(
        r.body,
        r#"{"id":14,"productId":7001,"storeId":1,"amount":2.5,"reserved":0.5,"available":2,"inStock":true,"availability":"low_stock","sellable":true}"#
    );
    // More reserved than in stock: never negative.
    let r = get("/v1/store-products/15").await;
    assert_eq!(
        r.body,
        r#"{"id":15,"productId":7002,"storeId":1,"amount":3,"reserved":5,"available":0,"inStock":false,"availability":"out_of_stock","sellable":false}"#
    );
    // The portal sent every number as a string.
    let r = get("/v1/store-products/16").await;
    assert_eq!(
        r.body,
        r#"{"id":16,"productId":7003,"storeId":11,"amount":12,"reserved":2,"available":10,"inStock":true,"availability":"in_stock","sellable":true}"#
    );
    // Nothing at all.
    let r = get("/v1/store-products/18").await;
    assert_eq!(r.json()["inStock"], false);
}

#[tokio::test]
async fn missing_and_hidden_records_are_indistinguishable() {
    let missing_odd = get("/v1/store-products/99999").await;
    let missing_even = get("/v1/store-products/99998").await;
    // Record 17 exists, in warehouse 2, which the policy hides.
    let hidden = get("/v1/store-products/17").await;
    for reply in [&missing_odd, &missing_even, &hidden] {
        reply.assert_v1_error(404, "not_found");
        assert_eq!(reply.body, missing_odd.body);
        assert_eq!(
            reply.header("cache-control"),
            missing_odd.header("cache-control")
        );
    }
}

#[tokio::test]
async fn invalid_ids_are_rejected_before_the_portal() {
    let paths = [
        "/v1/store-products/0",
        "/v1/store-products/-1",
        "/v1/store-products/+1",
        "/v1/store-products/013",
        "/v1/store-products/1.5",
        "/v1/store-products/1e3",
        "/v1/store-products/0x1F",
        "/v1/store-products/%2013",
        "/v1/store-products/13%20",
        "/v1/store-products/1%2C000",
        "/v1/store-products/1_000",
        "/v1/store-products/13%00",
        "/v1/store-products/2147483648",
        "/v1/store-products/99999999999999999999999999",
        "/v1/store-products/abc",
        "/v1/store-products/",
        "/v1/store-products",
        "/v1/store-products?id=",
        "/v1/store-products?id=13&id=13",
        "/v1/store-products?id=-5",
        "/v1/store-products?id=%2B5",
        "/v1/store-products?id=5%00",
        "/v1/store-products?id=%EF%BC%91",
    ];
    for path in paths {
        get(path).await.assert_v1_error(400, "invalid_id");
    }
}

#[tokio::test]
async fn bitrix_compatible_route_answers_the_trimmed_envelope() {
    for path in [
        "/catalog.storeproduct.get",
        "/catalog.storeproduct.get.json",
    ] {
        let r = post_json(path, r#"{"id":13}"#).await;
        assert_bitrix_record(&r, BITRIX_13);
    }
    // Other fields are ignored; quoted ids are read.
    let r = post_json(
        "/catalog.storeproduct.get",
        r#"{"id":"13","auth":"token","select":["*"]}"#,
    )
    .await;
    assert_bitrix_record(&r, BITRIX_13);
    let form = send(
        Method::POST,
        "/catalog.storeproduct.get",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"id=13&auth=zzz"),
    )
    .await;
    assert_bitrix_record(&form, BITRIX_13);
    assert_bitrix_record(&get("/catalog.storeproduct.get?id=13").await, BITRIX_13);
    // SDKs insist on a webhook URL: one shaped like it, with the placeholder token, reaches
    // the same route, and the caller's user goes nowhere.
    for path in [
        "/rest/0/public/catalog.storeproduct.get",
        "/rest/7/public/catalog.storeproduct.get.json?bx24_request_id=1&bx24_sdk_ver=2.2.0",
    ] {
        assert_bitrix_record(&post_json(path, r#"{"id":13}"#).await, BITRIX_13);
    }
}

/// Stock answers carry a strong ETag; a browser or CDN that asks with it gets 304 without a
/// body from the gateway's cache (no portal call), and tags to purge by record, product and
/// warehouse.
#[tokio::test]
async fn stock_answers_revalidate_with_their_etag_and_carry_purge_tags() {
    let target = contract_target();
    let cases = [
        ("/v1/store-products/13", "record-13,product-6973,store-11"),
        (
            "/v1/store-products?ids=13,301",
            "record-13,product-6973,store-11,record-301,store-1",
        ),
        ("/v1/products/6973/stock", "product-6973,store-1,store-11"),
    ];
    for (path, tags) in cases {
        let first = get(path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.body);
        assert_eq!(first.header("cache-tag"), Some(tags), "{path}");
        assert_eq!(
            first.header("surrogate-key"),
            Some(tags.replace(',', " ").as_str()),
            "{path}"
        );
        let etag = first.header("etag").expect("an ETag").to_string();
        assert!(etag.starts_with('"') && etag.len() == 18, "{path}: {etag}");
        // Alone, so that no other test's reads move the portal's counter meanwhile.
        let _alone = GATEWAY_STATE.write().await;
        let before = target.portal_requests().await;
        for validator in [etag.clone(), format!("W/{etag}"), format!("\"0\", {etag}")] {
            let again =
                send_unlocked(Method::GET, path, &[("if-none-match", &validator)], None).await;
            assert_eq!(again.status, 304, "{path} {validator}: {}", again.body);
            assert!(again.body.is_empty());
            assert_eq!(again.header("etag"), Some(etag.as_str()));
            assert!(again
                .header("cache-control")
                .is_some_and(|c| c.starts_with("public")));
        }
        if !mirror_mode() {
            assert_eq!(
                target.portal_requests().await,
                before,
                "{path}: a 304 called the portal"
            );
        }
        let other = send_unlocked(Method::GET, path, &[("if-none-match", "\"0000\"")], None).await;
        assert_eq!(other.status, 200, "{path}: another ETag gets the answer");
        assert_eq!(other.body, first.body);
    }
}

/// An SDK user who swapped only the host keeps sending the portal's real webhook code: the
/// gateway refuses it (400, pointing at the placeholder URL), calls no portal, and never writes
/// the code to its log.
#[tokio::test]
async fn a_webhook_code_in_the_path_is_refused_and_never_logged() {
    let token = "kq81vz3realcode";
    let target = contract_target();
    // Alone: no other test's reads may move the portal's counter meanwhile.
    let _alone = GATEWAY_STATE.write().await;
    for path in [
        format!("/rest/1/{token}/catalog.storeproduct.get"),
        format!("/rest/1/{token}/batch.json"),
    ] {
        let before = target.portal_requests().await;
        let r = send_unlocked(
            Method::POST,
            &path,
            &[("content-type", "application/json")],
            Some(br#"{"id":13,"cmd":{"a":"catalog.storeproduct.get?id=14"}}"#),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["error"], "WEBHOOK_CODE_SENT", "{}", r.body);
        let description = r.json()["error_description"].as_str().unwrap().to_string();
        assert!(description.contains("/rest/0/public/"), "{description}");
        assert!(!r.body.contains(token), "{}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        r.assert_bitrix_time();
        // A mirror sweeps on its own schedule; on demand nothing may have moved.
        if !mirror_mode() {
            assert_eq!(
                target.portal_requests().await,
                before,
                "{path} reached the portal"
            );
        }
    }
    if let Some(log) = target.log.as_ref() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let log = std::fs::read_to_string(log).expect("gateway log");
        assert!(!log.contains(token), "the log shows the sent webhook code");
    }
}

#[tokio::test]
async fn bitrix_compatible_route_errors_use_the_bitrix_envelope() {
    let missing = post_json("/catalog.storeproduct.get", r#"{}"#).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"], 100);
    assert!(missing.json()["error_description"].is_string());

    missing.assert_bitrix_time();

    // The portal's own status for a missing record; like every error on this route, no-store.
    let not_found = post_json("/catalog.storeproduct.get", r#"{"id":99999}"#).await;
    assert_eq!(not_found.status, 400);
    assert_eq!(not_found.json()["error"], "NOT_FOUND");
    assert_eq!(not_found.header("cache-control"), Some("no-store"));
    not_found.assert_bitrix_time();

    for body in [
        r#"{"id":0}"#,
        r#"{"id":1.5}"#,
        r#"{"id":"x"}"#,
        r#"{"id":1,"id":2}"#,
    ] {
        let r = post_json("/catalog.storeproduct.get", body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["error"], "INVALID_ID", "{body}");
    }
    for body in [r#"[13]"#, r#"{"id":13"#, "not json"] {
        let r = post_json("/catalog.storeproduct.get", body).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("INVALID_BODY")),
            "{body}"
        );
    }

    let text = send(
        Method::POST,
        "/catalog.storeproduct.get",
        &[("content-type", "text/plain")],
        Some(b"id=13"),
    )
    .await;
    assert_eq!(
        (text.status, text.json()["error"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );

    let big = format!(r#"{{"id":13,"pad":"{}"}}"#, "x".repeat(64 * 1024));
    let r = post_json("/catalog.storeproduct.get", &big).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );

    let put = send(Method::PUT, "/catalog.storeproduct.get", &[], None).await;
    assert_eq!(
        (put.status, put.json()["error"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
    assert!(put.header("allow").is_some_and(|a| a.contains("POST")));
}

#[tokio::test]
async fn methods_routes_and_health() {
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let r = send(method.clone(), "/v1/store-products/13", &[], None).await;
        r.assert_v1_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    }
    get("/nope").await.assert_v1_error(404, "not_found");
    get("/v1/store-products/13/extra")
        .await
        .assert_v1_error(404, "not_found");
    for path in [
        "/rest/1/public/crm.deal.list",
        "/rest/1/public/catalog.storeproduct.list",
        "/rest/1/x/crm.deal.list",
        "/rest/x/y/catalog.storeproduct.get",
        "/v1/products/6973",
    ] {
        let r = get(path).await;
        r.assert_v1_error(404, "not_found");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }

    let health = get("/healthz").await;
    assert_eq!(health.status, 200);
    // Other tests of this suite make the shared portal reject the webhook on purpose, which
    // shows here until its next good answer (tests/portal_access.rs follows that alone).
    let body = health.json();
    match body["status"].as_str() {
        Some("ok") => assert!(body.get("problem").is_none(), "{body}"),
        Some("degraded") => assert!(body["problem"].is_string(), "{body}"),
        _ => panic!("{body}"),
    }

    let head = send(Method::HEAD, "/v1/store-products/13", &[], None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn head_answers_have_no_body_and_either_no_length_or_the_gets() {
    for path in [
        "/v1/store-products/13",
        "/v1/store-products?id=14",
        "/v1/store-products/99999",
        "/healthz",
    ] {
        let get = get(path).await;
        let head = send(Method::HEAD, path, &[], None).await;
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}: HEAD sent a body");
        // RFC 9110, 8.6: a HEAD answer's Content-Length, if sent, is the GET's.
        if let Some(length) = head.header("content-length") {
            assert_eq!(length, get.body.len().to_string(), "{path}");
        }
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn cors_for_listed_origins_only() {
    let listed = send(
        Method::GET,
        "/v1/store-products/13",
        &[("origin", "https://shop.example")],
        None,
    )
    .await;
    assert_eq!(
        listed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(listed.header("vary").is_some_and(|v| v.contains("Origin")));

    let other = send(
        Method::GET,
        "/v1/store-products/13",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);

    let preflight = send(
        Method::OPTIONS,
        "/v1/store-products/13",
        &[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    assert!(preflight
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("GET")));
    assert!(preflight
        .header("access-control-allow-headers")
        .is_some_and(|h| h.contains("Content-Type")));

    let bitrix_preflight = send(
        Method::OPTIONS,
        "/catalog.storeproduct.get",
        &[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "POST"),
        ],
        None,
    )
    .await;
    assert!(bitrix_preflight
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("POST")));

    let unlisted = send(
        Method::OPTIONS,
        "/v1/store-products/13",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    assert_eq!(unlisted.status, 204);
    assert_eq!(unlisted.header("access-control-allow-origin"), None);
    assert_eq!(unlisted.header("access-control-allow-methods"), None);

    // Errors carry CORS headers too, so a widget can read them.
    let error = send(
        Method::GET,
        "/v1/store-products/0",
        &[("origin", "https://shop.example")],
        None,
    )
    .await;
    assert_eq!(
        error.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
}

/// (sandbox fault id, status, code, with Retry-After). 990010 (`OPERATION_TIME_LIMIT`) pauses the
/// whole gateway, so it has a test of its own.
const FAULTS: [(u32, u16, &str, bool); 26] = [
    (990_001, 504, "upstream_timeout", false),    // slow
    (990_002, 504, "upstream_timeout", false),    // trickle
    (990_003, 502, "upstream_error", false),      // HTML error page
    (990_004, 502, "upstream_error", false),      // broken JSON
    (990_005, 502, "upstream_error", false),      // truncated body
    (990_006, 502, "upstream_error", false),      // connection reset
    (990_007, 502, "upstream_error", false),      // redirect
    (990_008, 503, "upstream_busy", true),        // QUERY_LIMIT_EXCEEDED
    (990_009, 502, "upstream_error", false),      // 2 MiB answer
    (990_011, 503, "upstream_busy", true),        // OVERLOAD_LIMIT
    (990_012, 503, "upstream_unavailable", true), // INVALID_CREDENTIALS
    (990_013, 503, "upstream_unavailable", true), // NO_AUTH_FOUND
    (990_014, 503, "upstream_unavailable", true), // expired_token
    (990_015, 503, "upstream_unavailable", true), // Access Denied
    (990_016, 503, "upstream_unavailable", true), // insufficient_scope
    (990_017, 503, "upstream_unavailable", true), // ACCESS_DENIED (plan)
    (990_018, 503, "upstream_unavailable", true), // ERROR_METHOD_NOT_FOUND
    (990_019, 502, "upstream_error", false),      // INTERNAL_SERVER_ERROR
    (990_020, 503, "upstream_unavailable", true), // PORTAL_DELETED
    (990_021, 502, "upstream_error", false),      // error 0
    (990_022, 502, "upstream_error", false),      // amount not a number
    (990_023, 502, "upstream_error", false),      // another record's id
    (990_024, 502, "upstream_error", false),      // reserved -3: would make available exceed amount
    (990_025, 502, "upstream_error", false),      // amount 1e305: no number survives scaling
    (990_026, 502, "upstream_error", false),      // 503 "Service not found": a fault, never a 404
    (990_030, 502, "upstream_error", false),      // 200 with an empty body
];

/// Texts the sandbox puts in its answers; none may reach a caller.
const UPSTREAM_TEXTS: [&str; 10] = [
    "Invalid request credentials",
    "Access Denied",
    "Method not found",
    "Too many requests",
    "operation time limit",
    "<html",
    "PHPSESSID",
    "moved-portal",
    "plenty",
    "Wrong authorization",
];

#[tokio::test]
async fn every_fault_class_maps_to_a_stable_error() {
    if mirror_mode() {
        return; // How the portal is called on demand: a mirror never calls it for a read.
    }
    // Alone and one at a time: callers batched together share an exchange's fate.
    let _alone = GATEWAY_STATE.write().await;
    for (id, status, code, retry_after) in FAULTS {
        {
            let started = Instant::now();
            let reply =
                send_unlocked(Method::GET, &format!("/v1/store-products/{id}"), &[], None).await;
            let took = started.elapsed();
            reply.assert_v1_error(status, code);
            assert_eq!(
                reply.header("retry-after").is_some(),
                retry_after,
                "{id}: {:?}",
                reply.headers
            );
            if let Some(secs) = reply.header("retry-after") {
                assert!(
                    secs.parse::<u64>().is_ok_and(|s| s >= 1),
                    "{id}: Retry-After {secs}"
                );
            }
            assert!(reply.header("set-cookie").is_none(), "{id}");
            for text in UPSTREAM_TEXTS {
                assert!(
                    !reply.body.to_lowercase().contains(&text.to_lowercase()),
                    "{id} leaked {text}"
                );
            }
            // The deadline is 1 s: even a portal that never finishes answers within it, plus slack.
            assert!(took < Duration::from_secs(5), "{id} took {took:?}");
        }
    }
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_tried_once_more() {
    if mirror_mode() {
        return; // How the portal is called on demand: a mirror never calls it for a read.
    }
    // 990031 drops the connection on its first exchange, answers on its second. Alone, so no
    // other id shares (and is counted in) its exchanges.
    let _alone = GATEWAY_STATE.write().await;
    let calls = || async {
        contract_target().sandbox_stats().await["getCallsById"]["990031"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = calls().await;
    let reply = send_unlocked(Method::GET, "/v1/store-products/990031", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.starts_with(r#"{"id":990031,"#), "{}", reply.body);
    assert_eq!(
        calls().await - before,
        2,
        "one dropped exchange, one answered"
    );
}

#[tokio::test]
async fn numbers_sent_as_strings_are_read_as_numbers() {
    if mirror_mode() {
        // Record 16 comes with its numbers quoted, in sweeps as in single reads.
        let reply = get("/v1/store-products/16").await;
        assert_eq!(
            reply.body,
            r#"{"id":16,"productId":7003,"storeId":11,"amount":12,"reserved":2,"available":10,"inStock":true,"availability":"in_stock","sellable":true}"#
        );
        return;
    }
    // 990029: every number quoted, amount 7.5, reserved 2.5, in warehouse 11.
    let reply = get("/v1/store-products/990029").await;
    assert_eq!(
        reply.body,
        r#"{"id":990029,"productId":6973,"storeId":11,"amount":7.5,"reserved":2.5,"available":5,"inStock":true,"availability":"low_stock","sellable":true}"#
    );
}

#[tokio::test]
async fn operating_time_block_pauses_portal_calls_until_the_reset() {
    if mirror_mode() {
        return; // How the portal is called on demand: a mirror never calls it for a read.
    }
    let _alone = GATEWAY_STATE.write().await;
    let get = |path: String| async move { send_unlocked(Method::GET, &path, &[], None).await };
    let blocked = get("/v1/store-products/990010".into()).await;
    blocked.assert_v1_error(503, "upstream_busy");
    let retry_after: u64 = blocked
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!(
        (1..=3).contains(&retry_after),
        "the sandbox resets in 2 s; got {retry_after}"
    );
    // Any uncached id now waits for the reset instead of calling the blocked method.
    let paused = get("/v1/store-products/21".into()).await;
    paused.assert_v1_error(503, "upstream_busy");
    assert!(paused.header("retry-after").is_some());
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(200)).await;
    let resumed = get("/v1/store-products/21".into()).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
}

#[tokio::test]
async fn bitrix_route_busy_uses_the_portal_code_so_sdks_back_off() {
    if mirror_mode() {
        return; // How the portal is called on demand: a mirror never calls it for a read.
    }
    let r = post_json("/catalog.storeproduct.get", r#"{"id":990008}"#).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "QUERY_LIMIT_EXCEEDED");
    assert!(r.header("retry-after").is_some());
    // A revoked webhook is no rate limit: SDKs must not take it for one.
    let r = post_json("/catalog.storeproduct.get", r#"{"id":990012}"#).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (503, Some("UPSTREAM_UNAVAILABLE"))
    );
    let r = post_json("/catalog.storeproduct.get", r#"{"id":990019}"#).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (502, Some("UPSTREAM_ERROR"))
    );
}

/// Polls the captured log for up to 3 s (log lines may lag the response).
async fn log_contains(predicate: impl Fn(&str) -> bool) -> bool {
    let Some(path) = &contract_target().log else {
        return true;
    };
    for _ in 0..30 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(&predicate) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn configuration_problems_are_logged_at_error_level_and_requests_are_logged_once() {
    if mirror_mode() {
        return; // How the portal is called on demand: a mirror never calls it for a read.
    }
    let reply = get("/v1/store-products/990012").await;
    assert_eq!(reply.status, 503);
    assert!(
        log_contains(|l| l.contains("ERROR") && l.contains("webhook rejected")).await,
        "no error-level line naming the credentials problem"
    );
    let request_id = get("/v1/store-products/13")
        .await
        .header("x-request-id")
        .unwrap_or_default()
        .to_string();
    assert!(
        log_contains(|l| l.contains(&request_id)
            && l.contains("v1.store_product")
            && l.contains("200"))
        .await,
        "no access log line for request {request_id}"
    );
}

#[tokio::test]
async fn the_webhook_never_leaks() {
    // Alone: it plays faults that fail whole exchanges.
    let _alone = GATEWAY_STATE.write().await;
    let code = &contract_target().webhook_code;
    assert!(code.len() >= 8, "the leak check needs a distinctive code");
    let get = |path: String| async move { send_unlocked(Method::GET, &path, &[], None).await };
    let post = |path: &'static str, body: String| async move {
        send_unlocked(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            Some(body.as_bytes()),
        )
        .await
    };
    let mut replies = Vec::new();
    for path in [
        "/v1/store-products/13",
        "/v1/store-products/99999",
        "/v1/store-products/0",
        "/v1/store-products?ids=13,14,99999,990012,990019",
        "/v1/products/6973/stock",
        "/v1/products/99999/stock",
        "/nope",
        "/rest/1/x/crm.deal.list",
        "/healthz",
    ] {
        replies.push(get(path.to_string()).await);
    }
    for (id, ..) in FAULTS
        .iter()
        .filter(|(id, ..)| *id != 990_001 && *id != 990_002)
    {
        replies.push(get(format!("/v1/store-products/{id}")).await);
        replies.push(get(format!("/v1/store-products?ids=13,{id}")).await);
        replies.push(post("/catalog.storeproduct.get", format!(r#"{{"id":{id}}}"#)).await);
        replies.push(
            post(
                "/rest/0/public/batch",
                format!(r#"{{"halt":0,"cmd":{{"a":"catalog.storeproduct.get?id={id}","b":"catalog.storeproduct.get?id=14"}}}}"#),
            )
            .await,
        );
    }
    for reply in &replies {
        assert!(
            !reply.body.contains(code.as_str()),
            "body leaked the webhook: {}",
            reply.body
        );
        // The placeholder base URL (named in the answer to a sent webhook code) is ours.
        assert!(
            !reply.body.replace("/rest/0/public/", "").contains("/rest/"),
            "body shows a portal path: {}",
            reply.body
        );
        for (name, value) in &reply.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(
                !value.contains(code.as_str()),
                "header {name} leaked the webhook"
            );
            assert!(
                !value.contains("/rest/"),
                "header {name} shows a portal path"
            );
        }
    }
    // Every runner hands the suite the gateway's log: a run without one checks nothing.
    let path = contract_target()
        .log
        .as_ref()
        .expect("CONTRACT_LOG_FILE must name the gateway's log: the leak check reads it");
    // Give the last lines time to land, then read everything the gateway printed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(path).expect("gateway log");
    assert!(
        !log.is_empty(),
        "the gateway log is empty: nothing was checked"
    );
    for line in log.lines() {
        assert!(
            !line.contains(code.as_str()),
            "log line leaked the webhook: {line}"
        );
        assert!(
            !line.contains("/rest/"),
            "log line shows a portal path: {line}"
        );
    }
}

/// Sample values for the documented path templates.
fn sample_path(template: &str) -> String {
    template
        .replace("{id}", "13")
        .replace("{productId}", "6973")
        .replace("{user}", "0")
        .replace("{token}", "public")
}

#[tokio::test]
async fn every_documented_path_is_routed() {
    use b24_stock_gateway::core::api::routes::DOCUMENTED_PATHS;
    for template in DOCUMENTED_PATHS {
        let path = sample_path(template);
        for method in [Method::GET, Method::OPTIONS] {
            let reply = send(method.clone(), &path, &[], None).await;
            let unrouted = reply.status == 404
                && reply.json()["error"]["message"].as_str() == Some("no such route");
            assert!(!unrouted, "{method} {path}: the router does not know it");
        }
    }
}

/// `/openapi.json` and `/widget.js` go compressed to a caller that accepts Brotli or gzip
/// (made at build time; on the Worker, by the runtime), and revalidate in any coding.
#[tokio::test]
async fn storefront_files_are_compressed_for_callers_that_accept_it() {
    let base = &contract_target().base;
    let files = [
        ("/openapi.json", &include_bytes!("../openapi.json")[..]),
        ("/widget.js", &include_bytes!("../widget/b24-stock.js")[..]),
    ];
    for (path, plain) in files {
        let mut etags = Vec::new();
        // Brotli is preferred, but the Workers runtime hands a Worker `Accept-Encoding: gzip`
        // whatever the caller sent (its edge compresses on its own): gzip is fine there.
        for (accept, codings) in [
            ("gzip, deflate, br", &[Some("br"), Some("gzip")][..]),
            ("gzip", &[Some("gzip")][..]),
            ("identity", &[None][..]),
        ] {
            let _shared = GATEWAY_STATE.read().await;
            let response = support::client()
                .get(format!("{base}{path}"))
                .header("accept-encoding", accept)
                .send()
                .await
                .expect(path);
            assert_eq!(response.status(), 200, "{path} {accept}");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_string())
            };
            let coding = header("content-encoding");
            assert!(
                codings.contains(&coding.as_deref()),
                "{path} {accept}: {coding:?}"
            );
            let coding = coding.as_deref();
            let etag = header("etag").expect("an ETag");
            let sent = response.bytes().await.expect("body").to_vec();
            let body = match coding {
                Some("br") => {
                    let mut out = Vec::new();
                    brotli::BrotliDecompress(&mut &sent[..], &mut out).expect("brotli");
                    out
                }
                Some(_) => {
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::GzDecoder::new(&sent[..]),
                        &mut out,
                    )
                    .expect("gzip");
                    out
                }
                None => sent.clone(),
            };
            assert_eq!(body, plain, "{path} {accept}: not the file");
            if coding.is_some() {
                assert!(
                    sent.len() * 2 < plain.len(),
                    "{path} {accept}: {} B",
                    sent.len()
                );
            }
            etags.push((coding.map(str::to_string), etag));
        }
        // Every ETag sent revalidates. (One ETag per coding and `Vary: Accept-Encoding` are
        // the unit tests' of `StaticAsset`: on the Worker the runtime compresses, not the core.)
        for (_, etag) in &etags {
            let again = send(Method::GET, path, &[("if-none-match", etag.as_str())], None).await;
            assert_eq!(again.status, 304, "{path} {etag}");
        }
    }
}

#[tokio::test]
async fn storefront_files_are_embedded_with_validators_and_lifetimes() {
    let openapi = get("/openapi.json").await;
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.header("content-type"), Some(JSON));
    assert_eq!(openapi.body, include_str!("../openapi.json"));
    assert_eq!(
        openapi.header("cache-control"),
        Some("public, max-age=86400")
    );
    let etag = openapi.header("etag").expect("an ETag").to_string();
    let again = send(
        Method::GET,
        "/openapi.json",
        &[("if-none-match", etag.as_str())],
        None,
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let widget = get("/widget.js").await;
    assert_eq!(widget.status, 200);
    assert_eq!(
        widget.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(widget.body, include_str!("../widget/b24-stock.js"));
    assert_eq!(widget.header("cache-control"), Some("public, max-age=3600"));
    // The version in `?v=` is the ETag's value: that URL never changes.
    let version = widget
        .header("etag")
        .expect("an ETag")
        .trim_matches('"')
        .to_string();
    let pinned = get(&format!("/widget.js?v={version}")).await;
    assert_eq!(
        pinned.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let head = send(Method::HEAD, "/widget.js", &[], None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // The demo page (tests/contract.env turns it on) links this very widget version.
    let page = get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page
        .body
        .contains(&format!("<script src=\"widget.js?v={version}\"")));
    assert!(page.body.contains("<b24-stock record=\"13\">"));
    assert!(page.body.contains("href=\"openapi.json\""));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("script-src 'self'")));
}
