//! What the binary logs: nothing of the outbound HTTP stack even at `RUST_LOG=trace`, invalid
//! log settings stop start-up, and no colour codes when stdout is not a terminal.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{client, spawn_gateway, spawn_sandbox, BIN};

/// Requests that make the gateway call the portal: records, a missing one, a portal fault.
async fn reach_the_portal(base: &str) {
    let http = client();
    for path in [
        "/v1/store-products/13",
        "/v1/store-products/14",
        "/v1/store-products/99999",
        "/v1/store-products/990012",
    ] {
        let status = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request")
            .status();
        assert!(status.as_u16() < 600, "{path}");
    }
    let bitrix = http
        .post(format!("{base}/catalog.storeproduct.get"))
        .header("content-type", "application/json")
        .body(r#"{"id":19}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(bitrix.status(), 200);
}

async fn settled_log(path: &std::path::Path) -> String {
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::read_to_string(path).expect("gateway log")
}

#[tokio::test]
async fn trace_logs_never_show_the_portal_host_the_code_or_its_path() {
    for format in ["json", "pretty"] {
        let sandbox = spawn_sandbox(1000.0, 10_000.0);
        let portal_host = sandbox.base.trim_start_matches("http://").to_string();
        let gateway = spawn_gateway(
            &sandbox.webhook(),
            &[("RUST_LOG", "trace"), ("STOCK_LOG_FORMAT", format)],
        );
        reach_the_portal(&gateway.base).await;
        let log = settled_log(&gateway.log).await;
        assert!(
            log.lines().count() >= 5,
            "{format}: too little was logged to check: {log}"
        );
        for line in log.lines() {
            assert!(
                !line.contains(&portal_host),
                "{format}: portal host: {line}"
            );
            assert!(
                !line.contains(&sandbox.code),
                "{format}: webhook code: {line}"
            );
            assert!(!line.contains("/rest/"), "{format}: portal path: {line}");
        }
    }
}

#[tokio::test]
async fn a_filter_naming_the_http_client_cannot_turn_it_back_on() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let portal_host = sandbox.base.trim_start_matches("http://").to_string();
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[(
            "RUST_LOG",
            "trace,reqwest=trace,hyper=trace,hyper_util::client=trace,h2=trace,rustls=trace",
        )],
    );
    reach_the_portal(&gateway.base).await;
    let log = settled_log(&gateway.log).await;
    assert!(!log.contains(&portal_host), "{log}");
    assert!(!log.contains("/rest/"), "{log}");
}

/// Runs the binary to its exit (it must exit on its own) and returns its code and output.
fn run_to_exit(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn invalid_log_settings_stop_start_up_naming_the_variable() {
    let hook = (
        "B24_WEBHOOK_URL",
        "https://portal.example/rest/1/topsecretcode77/",
    );
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    let sandbox = ["sandbox", "--listen", "127.0.0.1:0", "--code", "c0de"];
    for (args, var, value) in [
        (&serve[..], "STOCK_LOG_FORMAT", "xml"),
        (&serve[..], "RUST_LOG", "info,b24_stock_gateway=loud"),
        (&sandbox[..], "STOCK_LOG_FORMAT", "xml"),
        (&sandbox[..], "RUST_LOG", "debug,a=b=c"),
    ] {
        let (code, text) = run_to_exit(args, &[hook, (var, value)]);
        assert_eq!(code, Some(2), "{args:?} {var}={value}: {text}");
        assert!(text.contains(var), "{text}");
        assert!(!text.contains("topsecretcode77"), "{text}");
        assert!(!text.contains("listening"), "{text}");
    }
}

#[tokio::test]
async fn pretty_logs_to_a_file_have_no_colour_codes() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_LOG_FORMAT", "pretty")]);
    reach_the_portal(&gateway.base).await;
    let log = settled_log(&gateway.log).await;
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escape codes in a file: {log:?}"
    );
    let sandbox_log = std::fs::read_to_string(&sandbox.log).expect("sandbox log");
    assert!(!sandbox_log.contains('\u{1b}'), "{sandbox_log:?}");
}
