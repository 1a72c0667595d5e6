//! The local server binary: start-up, demo mode, policy variants, what reaches the portal.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{client, spawn_gateway, spawn_sandbox, BIN};

#[tokio::test]
async fn level_exposure_hides_amounts_on_every_route() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_EXPOSE", "level"),
            ("STOCK_LOW_STOCK_THRESHOLD", "5"),
            ("STOCK_ALLOWED_ORIGINS", "*"),
        ],
    );
    let http = client();
    let cases = [
        (
            13,
            r#"{"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true,"sellable":true}"#,
        ),
        (
            19,
            r#"{"id":19,"productId":7006,"storeId":11,"availability":"low_stock","inStock":true,"sellable":true}"#,
        ),
        (
            15,
            r#"{"id":15,"productId":7002,"storeId":1,"availability":"out_of_stock","inStock":false,"sellable":false}"#,
        ),
    ];
    for (id, want) in cases {
        let response = http
            .get(format!("{}/v1/store-products/{id}", gateway.base))
            .header("origin", "https://anywhere.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(response.text().await.unwrap(), want);
    }
    let bitrix = http
        .post(format!("{}/catalog.storeproduct.get", gateway.base))
        .header("content-type", "application/json")
        .body(r#"{"id":13}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bitrix: serde_json::Value = serde_json::from_str(&bitrix).unwrap();
    let level_13 = serde_json::json!({"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true,"sellable":true});
    assert_eq!(bitrix["result"]["storeProduct"], level_13);
    assert!(bitrix["time"]["start"].is_number());

    // Lists, products and batches publish levels only, too.
    let text = |path: String| {
        let http = http.clone();
        async move { http.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let list = text(format!("{}/v1/store-products?ids=15,13", gateway.base)).await;
    assert_eq!(
        list,
        r#"{"items":[{"id":15,"productId":7002,"storeId":1,"availability":"out_of_stock","inStock":false,"sellable":false},{"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true,"sellable":true}],"notFound":[],"unavailable":[]}"#
    );
    let product = text(format!("{}/v1/products/6973/stock", gateway.base)).await;
    assert_eq!(
        product,
        r#"{"productId":6973,"availability":"in_stock","inStock":true,"sellable":true,"stores":[{"storeId":1,"availability":"low_stock","inStock":true,"sellable":true},{"storeId":2,"availability":"in_stock","inStock":true,"sellable":true},{"storeId":11,"availability":"in_stock","inStock":true,"sellable":true}],"summary":"In stock in 3 stores"}"#
    );
    // Levels hide the figures a quantity would be checked against.
    let qty = http
        .get(format!("{}/v1/products/6973/stock?qty=1", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(qty.status(), 400);
    assert!(qty.text().await.unwrap().contains("invalid_parameter"));
    let batch: serde_json::Value = http
        .post(format!("{}/rest/0/public/batch", gateway.base))
        .header("content-type", "application/json")
        .body(r#"{"cmd":{"a":"catalog.storeproduct.get?id=13"}}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch["result"]["result"]["a"]["storeProduct"], level_13);
    for body in [&list, &product, &batch.to_string()] {
        assert!(
            !body.contains("amount") && !body.contains("reserved"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn only_the_validated_id_reaches_the_portal() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[]);
    let http = client();
    let answer = http
        .post(format!("{}/catalog.storeproduct.get", gateway.base))
        .header("content-type", "application/json")
        .body(r#"{"id":"13","auth":"stolen","select":["*"],"filter":{"storeId":2},"method":"crm.deal.list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let stats: serde_json::Value = http
        .get(format!("{}/_sandbox/stats", sandbox.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The record, its product's flags (the product id taken by the portal from the record's
    // answer) and whether the portal keeps inventory accounting, in one batch.
    assert_eq!(
        stats["lastBody"],
        r#"{"halt":0,"cmd":{"c0":"catalog.storeproduct.get?id=13","c1":"catalog.product.get?id=$result[c0][storeProduct][productId]","c2":"catalog.document.mode.status"}}"#
    );
    assert_eq!(stats["calls"], serde_json::json!({"batch": 1}));
}

fn start_and_wait(envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn bad_configuration_stops_start_up_naming_the_variable_not_the_secret() {
    let (code, text) = start_and_wait(&[]);
    assert_eq!(code, Some(2));
    assert!(text.contains("B24_WEBHOOK_URL: is required"), "{text}");

    let (code, text) = start_and_wait(&[(
        "B24_WEBHOOK_URL",
        "http://portal.example/rest/1/topsecretcode77/",
    )]);
    assert_eq!(code, Some(2));
    assert!(text.contains("B24_WEBHOOK_URL"), "{text}");
    assert!(!text.contains("topsecretcode77"), "{text}");

    let hook = (
        "B24_WEBHOOK_URL",
        "https://portal.example/rest/1/topsecretcode77/",
    );
    for (var, value) in [
        ("STOCK_EXPOSE", "everything"),
        ("STOCK_CACHE_TTL_SECS", "-3"),
        ("STOCK_UPSTREAM_TIMEOUT_MS", "soon"),
        ("STOCK_ALLOWED_STORES", "main"),
        ("STOCK_ALLOWED_ORIGINS", "shop"),
        ("STOCK_LOW_STOCK_THRESHOLD", "few"),
    ] {
        let (code, text) = start_and_wait(&[hook, (var, value)]);
        assert_eq!(code, Some(2), "{var}");
        assert!(text.contains(var), "{text}");
        assert!(!text.contains("topsecretcode77"), "{text}");
    }
}

#[tokio::test]
async fn demo_mode_prints_a_curl_line_that_works() {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--exit-with-stdin",
        ])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut page = None;
    let url = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("demo printed no curl line");
        seen.push(line.clone());
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            if line.starts_with("open:") {
                page = Some(url.to_string());
            }
            if line.starts_with("try: curl") {
                break url.to_string();
            }
        }
    };
    assert!(
        seen.iter().any(|l| l.contains("sandbox")),
        "demo mode must say it uses the sandbox: {seen:?}"
    );
    let body = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with(r#"{"id":13,"#), "{body}");
    // The page it offers shows badges (demo mode turns the demo page on).
    let page = page.expect("demo printed no page to open");
    let html = client()
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<b24-stock record=\"13\">"), "{html}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_demo_page_is_off_unless_asked_for() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[]);
    let response = client()
        .get(format!("{}/", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["message"], "no such route");
    // The badge script and the document are always there.
    for path in ["/widget.js", "/openapi.json"] {
        let status = client()
            .get(format!("{}{path}", gateway.base))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{path}");
    }
}

/// Pickup stores: `STOCK_STORES_FILE` (TOML) names the warehouses, product answers carry what
/// it says, and `?near=` puts the nearest first with its distance.
#[tokio::test]
async fn product_answers_name_their_stores_and_sort_them_by_distance() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let file = support::log_path("stores").with_extension("toml");
    std::fs::write(
        &file,
        "[[stores]]\nid = 1\nname = \"Tverskaya\"\naddress = \"Tverskaya 1, Moscow\"\n\
         lat = 55.7577\nlon = 37.6136\nhours = \"Mo-Su 10:00-22:00\"\n\n\
         [[stores]]\nid = 2\nname = \"Nevsky\"\nlat = 59.9343\nlon = 30.3351\n",
    )
    .unwrap();
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[("STOCK_STORES_FILE", file.to_str().unwrap())],
    );
    let http = client();
    let get = |query: &'static str| {
        let url = format!("{}/v1/products/6973/stock{query}", gateway.base);
        let http = http.clone();
        async move {
            let reply = http.get(url).send().await.unwrap();
            assert_eq!(reply.status(), 200);
            reply.json::<serde_json::Value>().await.unwrap()
        }
    };
    let plain = get("").await;
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["storeId"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&plain), [1, 2, 11]);
    assert_eq!(plain["stores"][0]["name"], "Tverskaya");
    assert_eq!(plain["stores"][0]["address"], "Tverskaya 1, Moscow");
    assert_eq!(plain["stores"][0]["hours"], "Mo-Su 10:00-22:00");
    assert_eq!(plain["stores"][1]["lat"], 59.9343);
    assert!(
        plain["stores"][2].get("name").is_none(),
        "11 is not in the file"
    );

    // A customer in Saint Petersburg: Nevsky first, then Moscow, then the unknown place.
    let near = get("?near=59.93,30.31").await;
    assert_eq!(ids(&near), [2, 1, 11]);
    assert!(near["stores"][0]["distanceKm"].as_f64().unwrap() < 5.0);
    assert!(near["stores"][1]["distanceKm"].as_f64().unwrap() > 600.0);
    assert!(near["stores"][2].get("distanceKm").is_none());
    assert_eq!(near["summary"], plain["summary"]);
    let bad = http
        .get(format!("{}/v1/products/6973/stock?near=91,0", gateway.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("invalid_parameter"));
}

/// A stores list that would mislead customers stops start-up, naming the variable.
#[test]
fn a_bad_stores_list_stops_start_up() {
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("B24_WEBHOOK_URL", "https://portal.example/rest/1/abc/")
        .env("STOCK_STORES", r#"[{"id":1,"lat":55.7}]"#)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("STOCK_STORES"), "{text}");
}

/// `STOCK_EXPOSE=capped:10`: figures up to 10, "10+" above, never an amount or a reservation;
/// the sentence and the quantity check stay within the cap.
#[tokio::test]
async fn capped_exposure_shows_figures_up_to_the_cap() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_EXPOSE", "capped:10")]);
    let http = client();
    let text = |path: String| {
        let http = http.clone();
        async move {
            let reply = http.get(path).send().await.unwrap();
            (reply.status().as_u16(), reply.text().await.unwrap())
        }
    };
    let base = &gateway.base;
    assert_eq!(
        text(format!("{base}/v1/store-products/13")).await,
        (
            200,
            r#"{"id":13,"productId":6973,"storeId":11,"available":"10+","inStock":true,"availability":"in_stock","sellable":true}"#.into()
        )
    );
    assert_eq!(
        text(format!("{base}/v1/store-products/14")).await,
        (
            200,
            r#"{"id":14,"productId":7001,"storeId":1,"available":2,"inStock":true,"availability":"low_stock","sellable":true}"#.into()
        )
    );
    let (status, product) = text(format!("{base}/v1/products/6973/stock?qty=5&lang=ru")).await;
    assert_eq!(status, 200, "{product}");
    assert_eq!(
        product,
        r#"{"productId":6973,"available":"10+","inStock":true,"availability":"in_stock","sellable":true,"stores":[{"storeId":1,"available":5,"inStock":true,"availability":"low_stock","sellable":true},{"storeId":2,"available":"10+","inStock":true,"availability":"in_stock","sellable":true},{"storeId":11,"available":"10+","inStock":true,"availability":"in_stock","sellable":true}],"qty":{"asked":5,"canSell":true,"stores":[1,2,11]},"summary":"В наличии: 10+ шт. в 3 магазинах"}"#
    );
    // Above the cap the answer would tell what the cap hides.
    let (status, body) = text(format!("{base}/v1/products/6973/stock?qty=11")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_parameter"));
    let (_, bitrix) = text(format!("{base}/catalog.storeproduct.get?id=13")).await;
    assert!(bitrix.contains(r#""available":"10+""#), "{bitrix}");
    assert!(!bitrix.contains("amount"), "{bitrix}");
}

/// Whether the portal keeps inventory accounting is read along with a product's flags and
/// shown on `/healthz`, never asked of the portal by `/healthz` itself.
#[tokio::test]
async fn health_says_whether_the_portal_keeps_inventory_accounting() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_FLAGS_TTL_SECS", "0")]);
    let http = client();
    let health = || async {
        http.get(format!("{}/healthz", gateway.base))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(health().await, serde_json::json!({"status": "ok"}));
    let read = |product: u32| {
        let url = format!("{}/v1/products/{product}/stock", gateway.base);
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(read(6973).await, 200);
    assert_eq!(health().await["inventoryAccounting"], true);
    sandbox
        .control(serde_json::json!({"inventoryAccounting": false}))
        .await;
    // Flags kept for no time: the next cold product reads them, and the mode, again.
    assert_eq!(read(7001).await, 200);
    let off = health().await;
    assert_eq!(off["inventoryAccounting"], false, "{off}");
    assert_eq!(off["status"], "ok", "{off}");
    let stats = sandbox.stats().await;
    let last: Vec<&str> = stats["lastBatchCommands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(last.contains(&"catalog.document.mode.status"), "{last:?}");
}

/// Without `STOCK_VARIATIONS`, a parent's variations are read from the portal when the
/// webhook may list them (an administrator's), and the parent is answered as any product
/// otherwise.
#[tokio::test]
async fn a_parent_s_variations_come_from_the_portal_when_the_webhook_may_list_them() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let http = client();
    let stock = |base: String| {
        let http = http.clone();
        async move {
            let reply = http
                .get(format!("{base}/v1/products/7200/stock"))
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<serde_json::Value>().await.unwrap())
        }
    };
    // A least-rights webhook: the parent has no stock of its own.
    let least = spawn_gateway(&sandbox.webhook(), &[]);
    let (status, body) = stock(least.base.clone()).await;
    assert_eq!(status, 404, "{body}");

    sandbox
        .control(serde_json::json!({"adminWebhook": true}))
        .await;
    let admin = spawn_gateway(&sandbox.webhook(), &[]);
    let (status, body) = stock(admin.base.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], 11, "{body}");
    let variations: Vec<u64> = body["variations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["productId"].as_u64().unwrap())
        .collect();
    assert_eq!(variations, [7201, 7202, 7203]);
    // The catalog list was asked once by each gateway (refused to the first), the variations
    // list once.
    let calls = sandbox.stats().await["calls"].clone();
    assert_eq!(calls["catalog.catalog.list"], 2, "{calls}");
    assert_eq!(calls["catalog.product.offer.list"], 1, "{calls}");
}

/// Flags change under a running gateway: a product's next read from the portal carries its
/// flags along (same batch), and its records then answer from those flags.
#[tokio::test]
async fn a_flag_changed_in_the_portal_shows_with_the_next_read() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_CACHE_TTL_SECS", "1"),
            ("STOCK_STALE_IF_ERROR_SECS", "0"),
        ],
    );
    let http = client();
    let state = |path: &'static str| {
        let (http, url) = (http.clone(), format!("{}{path}", gateway.base));
        async move {
            let body: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
            body["availability"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(state("/v1/products/7106/stock").await, "out_of_stock");
    assert_eq!(state("/v1/store-products/2106").await, "out_of_stock");
    sandbox
        .control(serde_json::json!({"products": {"7106": {"canBuyZero": "Y"}}}))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(state("/v1/products/7106/stock").await, "backorder");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(state("/v1/store-products/2106").await, "backorder");
}

/// A record read before says its product: when both its answer and its product's flags are
/// due, they travel in one portal request.
#[tokio::test]
async fn a_known_record_s_flags_ride_with_it() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_CACHE_TTL_SECS", "1"),
            ("STOCK_FLAGS_TTL_SECS", "1"),
            ("STOCK_STALE_IF_ERROR_SECS", "0"),
        ],
    );
    let http = client();
    let read = || {
        let (http, url) = (
            http.clone(),
            format!("{}/v1/store-products/13", gateway.base),
        );
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    let requests = || async { sandbox.stats().await["requests"].as_u64().unwrap() };
    let before = requests().await;
    assert_eq!(read().await, 200);
    let first = requests().await - before;
    assert_eq!(
        first, 1,
        "the first read: the record and its product's flags, in one batch"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_300)).await;
    let before = requests().await;
    assert_eq!(read().await, 200);
    assert_eq!(requests().await - before, 1, "both due again: one batch");
    let last = sandbox.stats().await["lastBatchCommands"].clone();
    assert_eq!(
        last,
        serde_json::json!([
            "catalog.storeproduct.get?id=13",
            "catalog.product.get?id=6973"
        ])
    );
}

/// A portal that resolves no `$result[…]` references: a cold record's chained flags read
/// nothing, and its product's flags are read on their own; the answer is the same.
#[tokio::test]
async fn without_references_a_record_s_flags_are_read_on_their_own() {
    let http = client();
    let mut answers = Vec::new();
    for references in [true, false] {
        let sandbox = spawn_sandbox(1000.0, 10_000.0);
        sandbox
            .control(serde_json::json!({"batchReferences": references}))
            .await;
        let gateway = spawn_gateway(&sandbox.webhook(), &[]);
        let before = sandbox.stats().await["requests"].as_u64().unwrap();
        // 2101's product lets it be ordered while none is in stock: its flags decide.
        let answer = http
            .get(format!("{}/v1/store-products/2101", gateway.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["availability"], "backorder", "{body}");
        let spent = sandbox.stats().await["requests"].as_u64().unwrap() - before;
        answers.push((body, spent));
    }
    assert_eq!(answers[0].0, answers[1].0, "the same answer either way");
    assert_eq!(
        (answers[0].1, answers[1].1),
        (1, 2),
        "one exchange with references, two without"
    );
}
