//! Test harness: real processes on loopback ports, owned by the test binary.
#![allow(dead_code)]

pub mod exchange;
pub mod openapi;
pub mod redis;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_b24-stock-gateway");

/// A child process that exits when dropped, or when this test binary exits (its stdin closes).
pub struct Process {
    child: Child,
}

impl Process {
    /// Owns `child` from now on.
    pub fn adopt(child: Child) -> Self {
        Self { child }
    }

    /// The process id, to send the process a signal.
    #[allow(dead_code)]
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A fresh temp file path for a process's output.
pub fn log_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("b24-stock-gateway-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{name}-{}-{}.log", std::process::id(), free_port()))
}

fn spawn(args: &[&str], envs: &[(String, String)], log: &PathBuf) -> Process {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let mut command = Command::new(BIN);
    command
        .args(args)
        .arg("--exit-with-stdin")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err);
    for (k, v) in envs {
        command.env(k, v);
    }
    Process {
        child: command.spawn().expect("spawn b24-stock-gateway"),
    }
}

pub struct Sandbox {
    pub process: Process,
    pub base: String,
    pub code: String,
    pub log: PathBuf,
}

impl Sandbox {
    pub fn webhook(&self) -> String {
        format!("{}/rest/1/{}/", self.base, self.code)
    }
}

/// Starts `b24-stock-gateway sandbox` with a random webhook code.
pub fn spawn_sandbox(drain_per_sec: f64, burst: f64) -> Sandbox {
    spawn_sandbox_with(drain_per_sec, burst, 0)
}

/// The same, with `records` generated records on top of the fixed ones.
pub fn spawn_sandbox_with(drain_per_sec: f64, burst: f64, records: u32) -> Sandbox {
    let code = format!("sbx{:x}n{}", std::process::id(), unique() * 7919);
    let log = log_path("sandbox");
    let process = spawn(
        &[
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--drain-per-sec",
            &drain_per_sec.to_string(),
            "--burst",
            &burst.to_string(),
            "--records",
            &records.to_string(),
        ],
        &[("SANDBOX_WEBHOOK_CODE".into(), code.clone())],
        &log,
    );
    // Bound by the sandbox itself (port 0): no port picked here and released for a race.
    let base = logged(&log, |line| {
        let url = line.strip_prefix("webhook: ")?;
        Some(url[..url.find("/rest/")?].to_string())
    });
    wait_healthy(&format!("{base}/_sandbox/health"));
    Sandbox {
        process,
        base,
        code,
        log,
    }
}

pub struct Gateway {
    pub process: Process,
    pub base: String,
    pub log: PathBuf,
}

/// Starts `b24-stock-gateway serve` with JSON logs and the given environment.
pub fn spawn_gateway(webhook: &str, envs: &[(&str, &str)]) -> Gateway {
    let log = log_path("gateway");
    let mut all: Vec<(String, String)> = vec![
        ("B24_WEBHOOK_URL".into(), webhook.into()),
        ("STOCK_LOG_FORMAT".into(), "json".into()),
    ];
    all.extend(envs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let process = spawn(&["serve", "--listen", "127.0.0.1:0"], &all, &log);
    let base = format!("http://{}", logged_address(&log, "gateway listening"));
    wait_healthy(&format!("{base}/healthz"));
    Gateway { process, base, log }
}

/// A local gateway whose webhook and settings come from `env_file` (`serve --env-file`).
#[allow(dead_code)]
pub fn spawn_gateway_from_file(env_file: &std::path::Path, envs: &[(&str, &str)]) -> Gateway {
    let listen = "127.0.0.1:0";
    let log = log_path("gateway");
    let mut all: Vec<(String, String)> = vec![("STOCK_LOG_FORMAT".into(), "json".into())];
    all.extend(envs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let file = env_file.to_str().expect("a UTF-8 path");
    let process = spawn(
        &["serve", "--listen", listen, "--env-file", file],
        &all,
        &log,
    );
    let base = format!("http://{}", logged_address(&log, "gateway listening"));
    wait_healthy(&format!("{base}/healthz"));
    Gateway { process, base, log }
}

/// A number no other call in this test binary gets.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Waits up to 20 s for a line of `log` that `pick` accepts, and returns what it picked.
pub fn logged(log: &std::path::Path, pick: impl Fn(&str) -> Option<String>) -> String {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(found) = text.lines().find_map(&pick) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{}: the expected line did not appear within 20 s:\n{}",
        log.display(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// The `address` of the log line with `message` (JSON, or pretty: `message address=…`): where
/// a server started on port 0 is.
pub fn logged_address(log: &std::path::Path, message: &str) -> String {
    logged(log, |line| {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(value) => (value["message"] == message)
                .then(|| value["address"].as_str().map(str::to_string))?,
            Err(_) => {
                let rest = line.split(message).nth(1)?;
                let at = rest.split("address=").nth(1)?;
                Some(at.split_whitespace().next()?.to_string())
            }
        }
    })
}

/// Polls a health URL for up to 20 s with a raw HTTP/1.0 request (no client dependencies).
pub fn wait_healthy(url: &str) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(mut stream) = std::net::TcpStream::connect(host) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{url} did not become healthy within 20 s");
}

/// The gateway configuration the contract suite expects (`tests/contract.env`).
pub fn contract_env() -> Vec<(&'static str, &'static str)> {
    include_str!("../contract.env")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect()
}

/// Where the contract suite sends its requests.
pub struct Target {
    pub base: String,
    /// The webhook code the gateway holds: it must never be seen by a caller or in a log.
    pub webhook_code: String,
    /// The gateway's captured output, when the runner has it.
    pub log: Option<PathBuf>,
    /// The sandbox portal behind the gateway, for its call counters.
    pub sandbox: String,
    _owned: Vec<Process>,
}

impl Target {
    pub async fn sandbox_stats(&self) -> serde_json::Value {
        sandbox_stats(&self.sandbox).await
    }

    /// HTTP requests the portal's bucket has counted so far (a batch is one).
    pub async fn portal_requests(&self) -> u64 {
        self.sandbox_stats().await["requests"]
            .as_u64()
            .expect("the sandbox counts requests")
    }
}

/// From `CONTRACT_BASE_URL` (+ `CONTRACT_WEBHOOK_CODE`, `CONTRACT_SANDBOX_URL`,
/// `CONTRACT_LOG_FILE`) when a runner started the gateway (Lambda, Worker); else a local server
/// in front of a sandbox, started here.
pub fn contract_target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        if let Ok(base) = std::env::var("CONTRACT_BASE_URL") {
            return Target {
                base: base.trim_end_matches('/').to_string(),
                webhook_code: std::env::var("CONTRACT_WEBHOOK_CODE")
                    .expect("CONTRACT_WEBHOOK_CODE must name the code the gateway uses"),
                log: std::env::var("CONTRACT_LOG_FILE").ok().map(PathBuf::from),
                sandbox: std::env::var("CONTRACT_SANDBOX_URL")
                    .expect("CONTRACT_SANDBOX_URL must name the sandbox behind the gateway")
                    .trim_end_matches('/')
                    .to_string(),
                _owned: Vec::new(),
            };
        }
        // A generous bucket: the suite's requests are not what this sandbox measures.
        let sandbox = spawn_sandbox(1000.0, 100_000.0);
        let mut env = contract_env();
        if mirror_mode() {
            env.extend([
                ("STOCK_SOURCE", "mirror"),
                ("STOCK_MIRROR_INTERVAL_SECS", "5"),
            ]);
        }
        let gateway = spawn_gateway(&sandbox.webhook(), &env);
        if mirror_mode() {
            wait_serving_mirror(&gateway.base);
        }
        Target {
            base: gateway.base.clone(),
            webhook_code: sandbox.code.clone(),
            log: Some(gateway.log.clone()),
            sandbox: sandbox.base.clone(),
            _owned: vec![sandbox.process, gateway.process],
        }
    })
}

/// Whether the contract suite runs against a gateway in mirror mode (`CONTRACT_SOURCE=mirror`):
/// checks of how the portal is called on demand do not apply there.
pub fn mirror_mode() -> bool {
    std::env::var("CONTRACT_SOURCE").is_ok_and(|s| s == "mirror")
}

/// Waits up to 30 s until the gateway at `base` answers from its mirror's table.
pub fn wait_serving_mirror(base: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let rest = base.strip_prefix("http://").expect("http base");
        if let Ok(mut stream) = std::net::TcpStream::connect(rest) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = write!(stream, "GET /healthz HTTP/1.0\r\nHost: {rest}\r\n\r\n");
            let mut answer = String::new();
            let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
            if answer.contains(r#""serving":"mirror""#) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{base} did not serve from its mirror within 30 s");
}

/// `GET /_sandbox/stats` of the sandbox at `base`.
pub async fn sandbox_stats(base: &str) -> serde_json::Value {
    let text = client()
        .get(format!("{base}/_sandbox/stats"))
        .send()
        .await
        .expect("sandbox stats")
        .text()
        .await
        .expect("sandbox stats body");
    serde_json::from_str(&text).expect("sandbox stats JSON")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl Sandbox {
    pub async fn stats(&self) -> serde_json::Value {
        sandbox_stats(&self.base).await
    }

    pub async fn control(&self, body: serde_json::Value) {
        let status = client()
            .post(format!("{}/_sandbox/control", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("sandbox control")
            .status();
        assert!(status.is_success(), "sandbox control answered {status}");
    }

    /// How many `catalog.storeproduct.get` calls reached the sandbox for `id`.
    pub async fn get_calls(&self, id: u32) -> u64 {
        self.stats().await["getCallsById"][id.to_string()]
            .as_u64()
            .unwrap_or(0)
    }
}
