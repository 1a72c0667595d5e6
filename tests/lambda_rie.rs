//! End to end over real HTTP: the release `bootstrap` under AWS's Runtime Interface Emulator
//! (`aws-lambda-rie`, from the aws-sam-cli wheel), in front of the sandbox portal process.
//! Events go in as AWS would send them; the emulator hands back the function's JSON answer.
//!
//! Needs `AWS_LAMBDA_RIE` (set by `source .tools/lambda-env.sh`) and a release bootstrap
//! (`LAMBDA_BOOTSTRAP`, default `target/release/bootstrap`); `scripts/test-lambda.sh` provides
//! both and sets `LAMBDA_E2E_REQUIRED=1`, so there the test fails instead of skipping.

mod lambda_common;
#[path = "lambda_common/s3_server.rs"]
mod s3_server;
mod support;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lambda_common::*;
use serde_json::{json, Value};
use support::{client, free_port, log_path, spawn_sandbox};

/// The emulator and the bootstrap it starts, in their own process group: both die on drop.
struct Emulator {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    let required = std::env::var_os("LAMBDA_E2E_REQUIRED").is_some();
    let rie = std::env::var_os("AWS_LAMBDA_RIE").map(PathBuf::from);
    let bootstrap = std::env::var_os("LAMBDA_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/bootstrap")
        });
    match rie {
        Some(rie) if rie.is_file() && bootstrap.is_file() => Some((rie, bootstrap)),
        _ if required => panic!(
            "LAMBDA_E2E_REQUIRED: need AWS_LAMBDA_RIE and {} (run scripts/test-lambda.sh)",
            bootstrap.display()
        ),
        _ => {
            eprintln!("skipped: set AWS_LAMBDA_RIE and build a release bootstrap (scripts/test-lambda.sh does)");
            None
        }
    }
}

/// `env`: how the function finds its webhook (`B24_WEBHOOK_URL`, or the secret's variables).
fn start_emulator(rie: &PathBuf, bootstrap: &PathBuf, env: &[(&str, String)]) -> Emulator {
    let port = free_port();
    let api_port = free_port();
    let log = log_path("rie");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut command = Command::new(rie);
    command
        .args([
            "--runtime-interface-emulator-address",
            &format!("127.0.0.1:{port}"),
            "--runtime-api-address",
            &format!("127.0.0.1:{api_port}"),
        ])
        .arg(bootstrap)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("STOCK_LOG_FORMAT", "json")
        .envs(contract_env())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = command.spawn().expect("spawn aws-lambda-rie");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the emulator did not listen within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Emulator {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

async fn invoke(emulator: &Emulator, event: &str) -> Value {
    let response = client()
        .post(format!(
            "{}/2015-03-31/functions/function/invocations",
            emulator.base
        ))
        .body(event.to_string())
        .send()
        .await
        .expect("invoke");
    assert!(
        response.status().is_success(),
        "emulator: {}",
        response.status()
    );
    let text = response.text().await.expect("answer");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    answer["headers"][name]
        .as_str()
        .or_else(|| answer["multiValueHeaders"][name][0].as_str())
}

#[tokio::test]
async fn the_release_bootstrap_under_the_runtime_emulator() {
    let Some((rie, bootstrap)) = tools() else {
        return;
    };
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let emulator = start_emulator(&rie, &bootstrap, &[("B24_WEBHOOK_URL", sandbox.webhook())]);

    // The first invocation starts the function (the emulator inits on demand): a cold start.
    let started = Instant::now();
    let first = invoke(
        &emulator,
        &event(Kind::HttpV2, &Call::get("/v1/store-products/13")),
    )
    .await;
    eprintln!(
        "cold invocation through the emulator: {:?}",
        started.elapsed()
    );
    assert_eq!(first["statusCode"], 200, "{first}");
    assert_eq!(first["body"], RECORD_13);
    assert_eq!(first["isBase64Encoded"], false);
    assert_eq!(header(&first, "content-type"), Some(JSON));
    assert_eq!(header(&first, "x-cache"), Some("MISS"));

    let started = Instant::now();
    let warm = invoke(
        &emulator,
        &event(Kind::HttpV2, &Call::get("/v1/store-products/13")),
    )
    .await;
    eprintln!(
        "warm invocation (cache hit) through the emulator: {:?}",
        started.elapsed()
    );
    assert_eq!(header(&warm, "x-cache"), Some("HIT"));

    // REST API with the stage in the path: multi-value headers, as API Gateway v1 expects.
    let rest = invoke(
        &emulator,
        &event(Kind::RestV1, &Call::get("/prod/v1/store-products/14")),
    )
    .await;
    assert_eq!(rest["statusCode"], 200, "{rest}");
    assert_eq!(rest["multiValueHeaders"]["content-type"], json!([JSON]));

    // ALB: status description and the Bitrix route.
    let alb = invoke(
        &emulator,
        &event(
            Kind::Alb,
            &Call {
                query: &[("id", "13")],
                ..Call::get("/catalog.storeproduct.get")
            },
        ),
    )
    .await;
    assert_eq!(alb["statusCode"], 200, "{alb}");
    assert_eq!(
        bitrix_result(alb["body"].as_str().unwrap_or_default()),
        bitrix_13()
    );
    assert!(alb["statusDescription"]
        .as_str()
        .is_some_and(|d| d.starts_with("200")));

    // Function URL: a base64-encoded Bitrix POST.
    let post = invoke(
        &emulator,
        &event(
            Kind::FunctionUrl,
            &Call {
                method: "POST",
                path: "/catalog.storeproduct.get",
                query: &[],
                headers: &[
                    ("content-type", "application/json"),
                    ("origin", "https://shop.example"),
                ],
                body: Some(br#"{"id":13}"#),
            },
        ),
    )
    .await;
    assert_eq!(post["statusCode"], 200, "{post}");
    assert_eq!(
        bitrix_result(post["body"].as_str().unwrap_or_default()),
        bitrix_13()
    );
    assert_eq!(
        header(&post, "access-control-allow-origin"),
        Some("https://shop.example")
    );

    // Errors keep their status and no-store; a rejected webhook is an error-level log line.
    let missing = invoke(&emulator, &event(Kind::HttpV2, &Call::get("/nope"))).await;
    assert_eq!(missing["statusCode"], 404);
    let rejected = invoke(
        &emulator,
        &event(Kind::HttpV2, &Call::get("/v1/store-products/990012")),
    )
    .await;
    assert_eq!(rejected["statusCode"], 503);
    assert_eq!(header(&rejected, "cache-control"), Some("no-store"));

    // Nothing the function printed or answered shows the webhook.
    let mut log = String::new();
    for _ in 0..30 {
        log = std::fs::read_to_string(&emulator.log).unwrap_or_default();
        if log.contains("webhook rejected") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("webhook rejected")),
        "no error-level line about the rejected webhook:\n{log}"
    );
    assert!(
        log.contains(r#""route":"v1.store_product""#),
        "no access log:\n{log}"
    );
    // Metrics as Embedded Metric Format lines: one per route and status, one for the rest.
    let emf: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.contains(r#""_aws""#))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let requests: u64 = emf
        .iter()
        .filter(|m| m["Route"] == "v1.store_product" && m["Status"] == "503")
        .filter_map(|m| m["Requests"].as_u64())
        .sum();
    assert_eq!(requests, 1, "EMF lines:\n{emf:?}");
    assert!(
        emf.iter()
            .any(|m| m["PortalRequests"].as_u64().is_some_and(|n| n >= 1)
                && m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "B24StockGateway"),
        "no EMF line with portal requests:\n{emf:?}"
    );
    for answer in [&first, &rest, &alb, &post, &missing, &rejected] {
        assert!(!answer.to_string().contains(&sandbox.code));
    }
    assert!(
        !log.contains(&sandbox.code),
        "the log shows the webhook code"
    );
    assert!(!log.contains("/rest/"), "the log shows a portal path");
}

/// The release binary's run-time secret path: the webhook comes from a stand-in of the
/// Parameters and Secrets extension's endpoint (a real HTTP server on loopback, answering like
/// the extension), read once, with the session token the Lambda service provides.
#[tokio::test]
async fn the_release_bootstrap_reads_the_webhook_from_the_secrets_extension() {
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    const ARN: &str = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:b24-Xy12Ab";
    const TOKEN: &str = "emulator-session-token";
    let Some((rie, bootstrap)) = tools() else {
        return;
    };
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let reads = Arc::new(Mutex::new(0u32));
    let secret = format!(r#"{{"B24_WEBHOOK_URL":"{}"}}"#, sandbox.webhook());
    let app = axum::Router::new()
        .route(
            "/secretsmanager/get",
            axum::routing::get(
                move |State(reads): State<Arc<Mutex<u32>>>,
                      Query(query): Query<HashMap<String, String>>,
                      headers: HeaderMap| {
                    let secret = secret.clone();
                    async move {
                        let token = headers
                            .get("x-aws-parameters-secrets-token")
                            .and_then(|v| v.to_str().ok());
                        if token != Some(TOKEN)
                            || query.get("secretId").map(String::as_str) != Some(ARN)
                        {
                            return (StatusCode::BAD_REQUEST, String::new());
                        }
                        *reads.lock().unwrap() += 1;
                        let answer = json!({"ARN": ARN, "Name": "b24", "SecretString": secret});
                        (StatusCode::OK, answer.to_string())
                    }
                },
            ),
        )
        .with_state(reads.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let emulator = start_emulator(
        &rie,
        &bootstrap,
        &[
            ("B24_WEBHOOK_SECRET_ARN", ARN.to_string()),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()),
            ("B24_SECRETS_EXTENSION_HOST", "127.0.0.1".to_string()),
            ("AWS_SESSION_TOKEN", TOKEN.to_string()),
        ],
    );
    let health = invoke(&emulator, &event(Kind::HttpV2, &Call::get("/healthz"))).await;
    assert_eq!(health["statusCode"], 200);
    assert_eq!(
        *reads.lock().unwrap(),
        0,
        "nothing is read before a call needs the portal"
    );
    for id in [13, 14, 13] {
        let path = format!("/v1/store-products/{id}");
        let answer = invoke(&emulator, &event(Kind::FunctionUrl, &Call::get(&path))).await;
        assert_eq!(answer["statusCode"], 200, "{answer}");
    }
    assert_eq!(
        *reads.lock().unwrap(),
        1,
        "one read for the life of the environment"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = std::fs::read_to_string(&emulator.log).unwrap_or_default();
    assert!(log.contains("webhook secret loaded"), "{log}");
    assert!(
        !log.contains(&sandbox.code) && !log.contains(TOKEN),
        "the log shows a secret"
    );
}

/// Mirror mode with the release bootstrap in both roles, each under its own emulator: the
/// sweeper (`STOCK_LAMBDA_ROLE=sweep`) answers a scheduled event by sweeping the portal into an
/// S3 bucket (moto's server on loopback); the HTTP function answers from that table alone.
#[tokio::test]
async fn the_release_bootstrap_sweeps_into_s3_and_serves_from_the_table() {
    let Some((rie, bootstrap)) = tools() else {
        return;
    };
    let Some(endpoint) = s3_server::endpoint() else {
        return;
    };
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let mirror_env = [
        ("STOCK_SOURCE", "mirror".to_string()),
        ("STOCK_MIRROR_BUCKET", s3_server::bucket(&endpoint).await),
        ("STOCK_MIRROR_S3_ENDPOINT", endpoint),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("B24_WEBHOOK_URL", sandbox.webhook()),
    ];
    let server = start_emulator(&rie, &bootstrap, &mirror_env);
    let mut sweeper_env = mirror_env.to_vec();
    sweeper_env.push(("STOCK_LAMBDA_ROLE", "sweep".to_string()));
    let sweeper = start_emulator(&rie, &bootstrap, &sweeper_env);

    let record_13 = event(Kind::FunctionUrl, &Call::get("/v1/store-products/13"));
    let read = || invoke(&server, &record_13);
    let before = read().await;
    assert_eq!(before["statusCode"], 503, "no table yet: {before}");

    // What EventBridge Scheduler sends by default: an empty object.
    let swept = invoke(&sweeper, "{}").await;
    assert_eq!(swept["swept"], true, "{swept}");
    assert!(
        swept["rows"].as_u64().is_some_and(|rows| rows > 10),
        "{swept}"
    );
    let portal_requests = sandbox.stats().await["requests"].clone();

    // The environment looks for a table at most every 5 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    let answer = loop {
        let answer = read().await;
        if answer["statusCode"] == 200 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"], RECORD_13);
    assert_eq!(header(&answer, "x-cache"), Some("HIT"));
    assert_eq!(
        sandbox.stats().await["requests"],
        portal_requests,
        "the HTTP function never calls the portal in mirror mode"
    );
    let log = std::fs::read_to_string(&sweeper.log).unwrap_or_default()
        + &std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(
        !log.contains(&sandbox.webhook()),
        "a log line holds the webhook"
    );
}

#[tokio::test]
async fn two_environments_share_one_redis() {
    let Some((rie, bootstrap)) = tools() else {
        return;
    };
    let sandbox = spawn_sandbox(2.0, 50.0);
    let redis = support::redis::RedisServer::start();
    let env = [
        ("B24_WEBHOOK_URL", sandbox.webhook()),
        ("STOCK_SHARED_STATE", redis.url()),
        ("STOCK_PORTAL_INSTANCES", "2".to_string()),
    ];
    let (first, second) = (
        start_emulator(&rie, &bootstrap, &env),
        start_emulator(&rie, &bootstrap, &env),
    );
    let read = |emulator| async move {
        invoke(
            emulator,
            &event(Kind::HttpV2, &Call::get("/v1/store-products/13")),
        )
        .await
    };
    let cold = read(&first).await;
    assert_eq!(cold["statusCode"], 200, "{cold}");
    assert_eq!(header(&cold, "x-cache"), Some("MISS"));
    // The other environment has never read it: the first one's answer, from Redis.
    let shared = read(&second).await;
    assert_eq!(shared["statusCode"], 200, "{shared}");
    assert_eq!(shared["body"], RECORD_13);
    assert_eq!(header(&shared, "x-cache"), Some("HIT"));
    assert_eq!(
        sandbox.get_calls(13).await,
        1,
        "read once for both environments"
    );

    let health = invoke(&second, &event(Kind::HttpV2, &Call::get("/healthz"))).await;
    let body: Value =
        serde_json::from_str(health["body"].as_str().unwrap_or_default()).expect("healthz JSON");
    assert_eq!(body["sharedState"]["reachable"], true, "{body}");

    // Redis goes away: the environments answer on their own share and cache.
    drop(redis);
    let alone = invoke(
        &second,
        &event(Kind::HttpV2, &Call::get("/v1/store-products/14")),
    )
    .await;
    assert_eq!(alone["statusCode"], 200, "{alone}");
    let health = invoke(&second, &event(Kind::HttpV2, &Call::get("/healthz"))).await;
    let body: Value =
        serde_json::from_str(health["body"].as_str().unwrap_or_default()).expect("healthz JSON");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["sharedState"]["reachable"], false, "{body}");
}
