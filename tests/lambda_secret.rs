//! The webhook from Secrets Manager, through a local stand-in of the AWS Parameters and Secrets
//! Lambda Extension (a real HTTP server on loopback speaking the extension's protocol), in front
//! of the embedded sandbox portal. Covers: one read per environment, the session token header,
//! plain and JSON secret values, rotation picked up after the portal rejects the old webhook,
//! and unreadable secrets answering 502 with an error log that never shows the value; an
//! endless answer is cut off at the cap while it streams in; a non-loopback extension host is
//! refused before anything is sent.

mod lambda_common;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use b24_stock_gateway::core::config::ConfigError;
use b24_stock_gateway::lambda::{self, LambdaGateway};
use b24_stock_gateway::sandbox::{self, Sandbox, SandboxConfig};
use lambda_common::*;

const ARN: &str = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:b24/webhook-Ab12Cd";
const TOKEN: &str = "session-token-for-tests";

/// What the stand-in holds and saw.
#[derive(Default)]
struct Extension {
    /// `None`: answer 400 as the extension does for an unknown secret.
    value: Option<String>,
    reads: u32,
    bad_token: u32,
}

type Shared = Arc<Mutex<Extension>>;

async fn secret_get(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let mut ext = state.lock().unwrap();
    if headers
        .get("x-aws-parameters-secrets-token")
        .and_then(|v| v.to_str().ok())
        != Some(TOKEN)
    {
        ext.bad_token += 1;
        return (StatusCode::UNAUTHORIZED, "missing or bad token".into());
    }
    if query.get("secretId").map(String::as_str) != Some(ARN) {
        return (StatusCode::BAD_REQUEST, "unknown secret".into());
    }
    ext.reads += 1;
    match &ext.value {
        None => (
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.".into(),
        ),
        Some(value) => (
            StatusCode::OK,
            serde_json::json!({
                "ARN": ARN,
                "Name": "b24/webhook",
                "SecretString": value,
                "VersionId": "v1",
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": "2026-11-26T12:00:00Z"
            })
            .to_string(),
        ),
    }
}

async fn spawn_extension(value: Option<String>) -> (Shared, u16) {
    let state: Shared = Arc::new(Mutex::new(Extension {
        value,
        ..Extension::default()
    }));
    let app = Router::new()
        .route("/secretsmanager/get", get(secret_get))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (state, port)
}

/// A stand-in that answers 200 with a body that never ends (no Content-Length), counting what
/// it managed to send.
async fn spawn_endless_extension() -> (Arc<AtomicU64>, u16) {
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let app = Router::new().route(
        "/secretsmanager/get",
        get(move || {
            let counter = counter.clone();
            async move {
                let chunks = futures_util::stream::iter(std::iter::repeat_with(move || {
                    counter.fetch_add(64 * 1024, Ordering::Relaxed);
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![b' '; 64 * 1024]))
                }));
                axum::body::Body::from_stream(chunks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (sent, port)
}

async fn spawn_sandbox(code: &str) -> Sandbox {
    sandbox::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig {
            code: code.into(),
            drain_per_sec: 1000.0,
            burst: 100_000.0,
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox")
}

fn gateway(extension_port: u16) -> LambdaGateway {
    gateway_on("127.0.0.1", extension_port).expect("gateway")
}

fn gateway_on(host: &str, extension_port: u16) -> Result<LambdaGateway, ConfigError> {
    gateway_with(host, extension_port, &[])
}

fn gateway_with(
    host: &str,
    extension_port: u16,
    extra: &[(&str, &str)],
) -> Result<LambdaGateway, ConfigError> {
    let mut env: HashMap<String, String> = contract_env().into_iter().collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env.insert("B24_WEBHOOK_SECRET_ARN".into(), ARN.into());
    env.insert(
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT".into(),
        extension_port.to_string(),
    );
    env.insert("B24_SECRETS_EXTENSION_HOST".into(), host.into());
    env.insert("AWS_SESSION_TOKEN".into(), TOKEN.into());
    lambda::gateway_from_lookup(|name| env.get(name).cloned())
}

async fn status_of(gateway: &LambdaGateway, id: u32) -> (u16, String) {
    let path = format!("/v1/store-products/{id}");
    let request = lambda_http::request::from_str(&event(Kind::HttpV2, &Call::get(&path))).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), lambda::handle(gateway, request))
        .await
        .expect("answered within 10 s");
    let status = response.status().as_u16();
    let body = match response.into_body() {
        lambda_http::Body::Text(text) => text,
        _ => String::new(),
    };
    (status, body)
}

/// Everything the tests log, to check what an operator would see.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink;
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                logs().lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(|| Sink)
            .try_init();
        Mutex::new(Vec::new())
    })
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

fn code(tag: &str) -> String {
    format!("{tag}{:x}", std::process::id())
}

#[tokio::test]
async fn the_secret_is_read_once_and_the_token_is_sent() {
    logs();
    let code = code("once");
    let portal = spawn_sandbox(&code).await;
    let (ext, port) = spawn_extension(Some(portal.webhook_url())).await;
    let gateway = gateway(port);
    // Nothing is read before a call needs the portal.
    assert_eq!(status_of(&gateway, 0).await.0, 400);
    assert_eq!(ext.lock().unwrap().reads, 0);
    for id in [13, 14, 15, 16] {
        assert_eq!(status_of(&gateway, id).await.0, 200, "{id}");
    }
    let ext = ext.lock().unwrap();
    assert_eq!((ext.reads, ext.bad_token), (1, 0));
    assert!(!logged().contains(&code), "a log line shows the webhook");
}

#[tokio::test]
async fn concurrent_first_calls_share_one_read() {
    let portal = spawn_sandbox(&code("conc")).await;
    let (ext, port) = spawn_extension(Some(portal.webhook_url())).await;
    let gateway = Arc::new(gateway(port));
    let mut tasks = Vec::new();
    for id in 20..30 {
        let gateway = gateway.clone();
        tasks.push(tokio::spawn(async move { status_of(&gateway, id).await.0 }));
    }
    for task in tasks {
        // Some of these records are in a warehouse the contract settings hide (404).
        assert!([200, 404].contains(&task.await.unwrap()));
    }
    assert_eq!(ext.lock().unwrap().reads, 1);
}

#[tokio::test]
async fn a_rotated_webhook_is_picked_up_after_the_portal_rejects_the_old_one() {
    logs();
    let code = code("rot");
    let portal = spawn_sandbox(&code).await;
    // The secret still holds an old (revoked) webhook.
    let old = portal.webhook_url().replace(&code, "revokedwebhook0001");
    let (ext, port) = spawn_extension(Some(old)).await;
    let gateway = gateway(port);
    let (status, body) = status_of(&gateway, 13).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("upstream_unavailable"));
    assert_eq!(ext.lock().unwrap().reads, 1);
    // Someone rotates the secret (JSON form this time); no redeploy, no restart.
    ext.lock().unwrap().value = Some(format!(
        r#"{{"B24_WEBHOOK_URL":"{}"}}"#,
        portal.webhook_url()
    ));
    let (status, body) = status_of(&gateway, 13).await;
    assert_eq!((status, body.as_str()), (200, RECORD_13));
    assert_eq!(ext.lock().unwrap().reads, 2);
    // And it stays cached.
    assert_eq!(status_of(&gateway, 19).await.0, 200);
    assert_eq!(ext.lock().unwrap().reads, 2);
    let log = logged();
    assert!(log.contains("the secret will be read again"), "{log}");
    assert!(!log.contains(&code) && !log.contains("revokedwebhook0001"));
    assert!(!log.contains("/rest/"), "a log line shows a portal path");
}

#[tokio::test]
async fn the_secret_is_read_again_after_its_max_age_and_kept_if_that_read_fails() {
    logs();
    let code = code("age");
    let portal = spawn_sandbox(&code).await;
    let (ext, port) = spawn_extension(Some(portal.webhook_url())).await;
    let gateway =
        gateway_with("127.0.0.1", port, &[("STOCK_SECRET_MAX_AGE_SECS", "1")]).expect("gateway");
    assert_eq!(status_of(&gateway, 13).await.0, 200);
    assert_eq!(status_of(&gateway, 14).await.0, 200);
    assert_eq!(ext.lock().unwrap().reads, 1, "kept while young");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(status_of(&gateway, 15).await.0, 200);
    assert_eq!(ext.lock().unwrap().reads, 2, "read again once a second old");
    // The extension stops answering: the aged webhook stays in use rather than nothing.
    ext.lock().unwrap().value = None;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(status_of(&gateway, 16).await.0, 200);
    assert_eq!(ext.lock().unwrap().reads, 3);
}

#[tokio::test]
async fn a_revoked_webhook_sends_the_gateway_back_to_the_secret_at_most_once_a_minute() {
    logs();
    let code = code("once");
    let portal = spawn_sandbox(&code).await;
    let revoked = portal.webhook_url().replace(&code, "revokedwebhook0002");
    let (ext, port) = spawn_extension(Some(revoked)).await;
    let gateway = gateway(port);
    for id in [13, 14, 15, 16, 17] {
        assert_eq!(status_of(&gateway, id).await.0, 503);
    }
    // The first read, and one more after the first refusal; not one per refusal.
    assert_eq!(ext.lock().unwrap().reads, 2);
}

#[tokio::test]
async fn an_unreadable_secret_is_a_502_with_an_error_log_naming_the_problem() {
    logs();
    let leak = "https://portal.example/rest/1/leakyvalue77/";
    for (value, problem) in [
        (None, "answered HTTP 400"),
        (
            Some(r#"{"url":"https://x.example/"}"#.to_string()),
            "without a string field B24_WEBHOOK_URL",
        ),
        (
            Some(leak.replace("https", "http")),
            "the webhook in the secret must use https://",
        ),
    ] {
        let (_ext, port) = spawn_extension(value).await;
        let (status, body) = status_of(&gateway(port), 13).await;
        assert_eq!(status, 502, "{body}");
        assert!(body.contains("upstream_error"), "{body}");
        let log = logged();
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains("cannot read the webhook secret")
                && l.contains(problem)),
            "no error line with {problem:?}: {log}"
        );
        assert!(
            !log.contains("leakyvalue77"),
            "the value reached a log line"
        );
    }
    // No extension at all (port closed).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (status, _) = status_of(&gateway(port), 13).await;
    assert_eq!(status, 502);
    assert!(logged().contains("extension is not reachable"));
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_at_the_cap_while_it_streams_in() {
    logs();
    let (sent, port) = spawn_endless_extension().await;
    let started = std::time::Instant::now();
    let (status, body) = status_of(&gateway(port), 13).await;
    assert_eq!(status, 502, "{body}");
    // Refused for its size, long before the deadline (buffering it all would never end).
    assert!(
        logged().contains("larger than"),
        "no error line about the size: {}",
        logged()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Far less than what an unbounded read would have taken in by the deadline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes went out");
}

#[tokio::test]
async fn only_a_loopback_extension_host_is_accepted() {
    for host in [
        "127.0.0.1",
        "localhost",
        "LOCALHOST",
        "::1",
        "[::1]",
        "127.0.0.2",
    ] {
        assert!(gateway_on(host, 2773).is_ok(), "{host}");
    }
    for host in [
        "169.254.169.254",
        "10.0.0.1",
        "example.com",
        "localhost.example.com",
        "2001:db8::1",
        "0.0.0.0",
    ] {
        let error = gateway_on(host, 2773).err().expect(host);
        assert_eq!(error.variable, "B24_SECRETS_EXTENSION_HOST", "{host}");
        assert!(error.reason.contains("loopback"), "{error}");
    }
}

#[tokio::test]
async fn an_ipv6_loopback_extension_is_reached() {
    let code = code("six");
    let portal = spawn_sandbox(&code).await;
    let state: Shared = Arc::new(Mutex::new(Extension {
        value: Some(portal.webhook_url()),
        ..Extension::default()
    }));
    let app = Router::new()
        .route("/secretsmanager/get", get(secret_get))
        .with_state(state.clone());
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let gateway = gateway_on("::1", port).expect("gateway");
    assert_eq!(status_of(&gateway, 13).await.0, 200);
    assert_eq!(state.lock().unwrap().reads, 1);
}
