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
            r#"{"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true}"#,
        ),
        (
            19,
            r#"{"id":19,"productId":7006,"storeId":11,"availability":"low_stock","inStock":true}"#,
        ),
        (
            15,
            r#"{"id":15,"productId":7002,"storeId":1,"availability":"out_of_stock","inStock":false}"#,
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
    let level_13 = serde_json::json!({"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true});
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
        r#"{"items":[{"id":15,"productId":7002,"storeId":1,"availability":"out_of_stock","inStock":false},{"id":13,"productId":6973,"storeId":11,"availability":"in_stock","inStock":true}],"notFound":[],"unavailable":[]}"#
    );
    let product = text(format!("{}/v1/products/6973/stock", gateway.base)).await;
    assert_eq!(
        product,
        r#"{"productId":6973,"availability":"in_stock","inStock":true,"stores":[{"storeId":1,"availability":"low_stock","inStock":true},{"storeId":2,"availability":"in_stock","inStock":true},{"storeId":11,"availability":"in_stock","inStock":true}],"summary":"In stock in 3 stores"}"#
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
    assert_eq!(stats["lastBody"], r#"{"id":13}"#);
    assert_eq!(
        stats["calls"],
        serde_json::json!({"catalog.storeproduct.get": 1})
    );
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
