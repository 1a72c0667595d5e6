//! One execution environment serving invocations at once, as on Lambda Managed Instances
//! (`AWS_LAMBDA_MAX_CONCURRENCY`): the `bootstrap` process polls a stand-in of the Lambda
//! runtime API (axum on loopback) that gives each waiting `/next` poll the next queued event,
//! in front of the sandbox portal process.
//!
//! A stand-in of our own, because neither local runner can show it: AWS's emulator hands out
//! one event at a time, and `cargo lambda watch` (1.9.2) wedges once about 100 invocations are
//! queued (and its `--concurrency` starts more processes, each with a concurrency of 1).
//!
//! Each test waits until the function has as many polls open as it should, then queues every
//! event at once, so the polls are served together.

mod lambda_common;
mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use lambda_common::{event, Call, Kind};
use serde_json::Value;
use support::{log_path, spawn_sandbox, Sandbox};
use tokio::sync::{mpsc, oneshot};

/// `LAMBDA_BOOTSTRAP` (the release build, from scripts/test-lambda.sh), else this build's.
fn bootstrap() -> std::path::PathBuf {
    std::env::var_os("LAMBDA_BOOTSTRAP")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_bootstrap").into())
}
/// Pollers asked for in the concurrent case.
const CONCURRENCY: usize = 8;
/// No test waits longer than this for its answers.
const PATIENCE: Duration = Duration::from_secs(30);

/// What a queued invocation ends with: the function's answer, or its error report.
type Answer = Result<Value, String>;

struct Queued {
    id: String,
    event: String,
}

/// The stand-in's state: queued events, open polls, invocations handed out and not answered.
struct RuntimeApi {
    queue: mpsc::UnboundedSender<Queued>,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    polls: Gauge,
    in_flight: Gauge,
    init_error: Mutex<Option<String>>,
    ids: AtomicUsize,
}

/// A count with its highest value so far.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn up(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
    fn down(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
    fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }
    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Leaves the gauge when dropped: a poll whose connection closes stops counting.
struct Open<'a>(&'a Gauge);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.down();
    }
}

type Shared = Arc<RuntimeApi>;

async fn next_event(State(api): State<Shared>) -> (HeaderMap, String) {
    api.polls.up();
    let open = Open(&api.polls);
    let queued = api.next.lock().await.recv().await.expect("queue open");
    drop(open);
    api.in_flight.up();
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(10);
    let mut headers = HeaderMap::new();
    let value = |text: String| HeaderValue::from_str(&text).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", value(queued.id));
    headers.insert(
        "lambda-runtime-deadline-ms",
        value(deadline.as_millis().to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:111122223333:function:stock"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-00000000-000000000000000000000000;Sampled=0"),
    );
    (headers, queued.event)
}

fn settle(api: &RuntimeApi, id: &str, answer: Answer) -> StatusCode {
    let waiter = api.waiting.lock().unwrap().remove(id);
    match waiter {
        Some(waiter) => {
            api.in_flight.down();
            let _ = waiter.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn answer(State(api): State<Shared>, Path(id): Path<String>, body: String) -> StatusCode {
    let answer = serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {body}"));
    settle(&api, &id, answer)
}

async fn report_error(
    State(api): State<Shared>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    settle(&api, &id, Err(format!("invocation error: {body}")))
}

async fn init_error(State(api): State<Shared>, body: String) -> StatusCode {
    *api.init_error.lock().unwrap() = Some(body);
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    async fn spawn() -> (Shared, u16) {
        let (queue, next) = mpsc::unbounded_channel();
        let api = Arc::new(RuntimeApi {
            queue,
            next: tokio::sync::Mutex::new(next),
            waiting: Mutex::default(),
            polls: Gauge::default(),
            in_flight: Gauge::default(),
            init_error: Mutex::default(),
            ids: AtomicUsize::new(1),
        });
        let base = "/2018-06-01/runtime";
        let app = Router::new()
            .route(&format!("{base}/invocation/next"), get(next_event))
            .route(&format!("{base}/invocation/{{id}}/response"), post(answer))
            .route(
                &format!("{base}/invocation/{{id}}/error"),
                post(report_error),
            )
            .route(&format!("{base}/init/error"), post(init_error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (api, port)
    }

    /// Queues every event at once; the answers come back in the same order.
    async fn invoke_all(&self, events: Vec<String>) -> Vec<Value> {
        let mut answers = Vec::new();
        for event in events {
            let id = format!("req-{}", self.ids.fetch_add(1, Ordering::SeqCst));
            let (tx, rx) = oneshot::channel();
            self.waiting.lock().unwrap().insert(id.clone(), tx);
            self.queue.send(Queued { id, event }).expect("queue open");
            answers.push(rx);
        }
        let all = futures_util::future::join_all(answers);
        let answers = tokio::time::timeout(PATIENCE, all)
            .await
            .unwrap_or_else(|_| panic!("no answers within {PATIENCE:?}"));
        answers
            .into_iter()
            .map(|a| a.expect("answered").unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// Until the function holds `count` polls open at once.
    async fn wait_for_polls(&self, count: usize) {
        let started = Instant::now();
        while self.polls.now() < count {
            if let Some(error) = self.init_error.lock().unwrap().clone() {
                panic!("the function failed its init: {error}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the function opened {} of {count} polls within 20 s",
                self.polls.now()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The bootstrap process; killed on drop.
struct Function {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_function(port: u16, sandbox: &Sandbox, extra: &[(&str, &str)]) -> Function {
    let log = log_path("lambda-concurrent");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bootstrap())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "stock")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST.PUBLISHED")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
        .env("RUST_LOG", "info")
        .env("STOCK_LOG_FORMAT", "json")
        .env("B24_WEBHOOK_URL", sandbox.webhook())
        // Every event comes from one address: this measures sharing, not the per-caller limit.
        .env("STOCK_RATE_LIMIT_PER_MIN", "0")
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn bootstrap");
    Function { child, log }
}

fn get_event(path: &str) -> String {
    event(Kind::FunctionUrl, &Call::get(path))
}

/// Invokes one read per id, all queued at once; every answer must be 200. Returns the HTTP
/// requests the portal counted meanwhile (a batch is one).
async fn portal_requests_for_cold_ids(
    api: &RuntimeApi,
    sandbox: &Sandbox,
    ids: std::ops::Range<usize>,
) -> usize {
    let before = sandbox.stats().await["requests"].as_u64().unwrap();
    let events = ids
        .map(|id| get_event(&format!("/v1/store-products/{id}")))
        .collect();
    let answers = api.invoke_all(events).await;
    assert!(answers.iter().all(|a| a["statusCode"] == 200));
    (sandbox.stats().await["requests"].as_u64().unwrap() - before) as usize
}

fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    answer["headers"][name].as_str()
}

/// The function's log: JSON lines, and never the webhook.
fn check_log(function: &Function, sandbox: &Sandbox) -> String {
    let log = std::fs::read_to_string(&function.log).expect("function log");
    assert!(!log.contains(&sandbox.code), "the webhook is in the log");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_environment_serves_invocations_at_once_and_shares_portal_calls() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let (api, port) = RuntimeApi::spawn().await;
    let concurrency = CONCURRENCY.to_string();
    let function = start_function(
        port,
        &sandbox,
        &[("AWS_LAMBDA_MAX_CONCURRENCY", concurrency.as_str())],
    );
    api.wait_for_polls(CONCURRENCY).await;

    // 400 reads of one cold id, all queued at once: one portal call. The portal takes 300 ms
    // to answer, so every poller's first invocation arrives while the call is in flight.
    sandbox
        .control(serde_json::json!({"answerDelayMs": 300}))
        .await;
    let started = Instant::now();
    let answers = api
        .invoke_all(vec![get_event("/v1/store-products/42"); 400])
        .await;
    eprintln!(
        "400 reads with {CONCURRENCY} pollers: {:?}",
        started.elapsed()
    );
    assert!(
        answers.iter().all(|a| a["statusCode"] == 200),
        "{:?}",
        answers[0]
    );
    assert!(answers.iter().all(|a| a["body"] == answers[0]["body"]));
    assert_eq!(
        sandbox.get_calls(42).await,
        1,
        "one portal call for 400 reads"
    );
    assert_eq!(
        api.polls.peak(),
        CONCURRENCY,
        "the environment polls as many at once as AWS_LAMBDA_MAX_CONCURRENCY"
    );
    assert!(
        api.in_flight.peak() > 1,
        "invocations overlapped (at most {} at once)",
        api.in_flight.peak()
    );
    // Every invocation that waited for the shared call reports a miss.
    let misses = answers
        .iter()
        .filter(|a| header(a, "x-cache") == Some("MISS"))
        .count();
    eprintln!("misses that shared the one call: {misses}");
    assert!(
        misses >= 2,
        "only {misses} invocation(s) waited for the shared call"
    );

    sandbox
        .control(serde_json::json!({"answerDelayMs": 0}))
        .await;

    // Distinct cold ids arriving together go to the portal in fewer requests than ids
    // (misses that wait at the same moment share a batch).
    api.wait_for_polls(CONCURRENCY).await;
    let requests = portal_requests_for_cold_ids(&api, &sandbox, 101..101 + CONCURRENCY).await;
    eprintln!("{CONCURRENCY} distinct cold ids at once: {requests} portal requests");
    assert!(
        requests < CONCURRENCY,
        "{requests} portal requests for {CONCURRENCY} ids: no batching across invocations"
    );

    let log = check_log(&function, &sandbox);
    assert!(
        log.contains("invocations at once"),
        "the start-up line names the concurrency"
    );
}

/// Without `AWS_LAMBDA_MAX_CONCURRENCY` (classic Lambda): one poll, one invocation at a time,
/// so nothing is shared between invocations but the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_variable_one_invocation_at_a_time() {
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let (api, port) = RuntimeApi::spawn().await;
    let function = start_function(port, &sandbox, &[]);
    api.wait_for_polls(1).await;

    let answers = api
        .invoke_all(vec![get_event("/v1/store-products/42"); 50])
        .await;
    assert!(answers.iter().all(|a| a["statusCode"] == 200));
    assert_eq!(
        sandbox.get_calls(42).await,
        1,
        "the cache still serves repeats"
    );
    assert_eq!(api.polls.peak(), 1, "one poll at a time");
    assert_eq!(api.in_flight.peak(), 1, "one invocation at a time");
    let misses = answers
        .iter()
        .filter(|a| header(a, "x-cache") == Some("MISS"))
        .count();
    assert_eq!(misses, 1, "only the first read waits for the portal");

    // Each id alone: its record and its product's flags in one batch.
    let requests = portal_requests_for_cold_ids(&api, &sandbox, 101..109).await;
    assert_eq!(requests, 8, "one portal request per id, one after another");
    let log = check_log(&function, &sandbox);
    assert!(!log.contains("invocations at once"));
}
