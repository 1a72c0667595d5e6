//! Start-up of the binary: every setting is checked before a socket is bound, and the sandbox
//! says which webhook to use.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{client, BIN};

/// Runs the binary to its exit (bounded) and returns its exit code and everything it printed.
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
    let started = Instant::now();
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
fn server_settings_are_checked_before_the_socket_is_bound() {
    let port = support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let hook = (
        "B24_WEBHOOK_URL",
        "https://portal.example/rest/1/topsecretcode77/",
    );
    for (var, value) in [
        ("STOCK_TRUSTED_PROXY_HEADER", "not a header"),
        ("STOCK_HEADER_TIMEOUT_MS", "0"),
        ("STOCK_BODY_TIMEOUT_MS", "later"),
        ("STOCK_MAX_CONNECTIONS", "0"),
    ] {
        let (code, text) = run_to_exit(
            &["serve", "--listen", &listen, "--json-logs"],
            &[hook, (var, value)],
        );
        assert_eq!(code, Some(2), "{var}={value}: {text}");
        assert!(text.contains(var), "{text}");
        assert!(!text.contains("listening"), "{var}: {text}");
        assert!(!text.contains("topsecretcode77"), "{text}");
    }
    // And the port was never taken.
    assert!(std::net::TcpListener::bind(&listen).is_ok());
}

#[test]
fn a_misspelt_variable_is_refused_naming_the_closest_known_one() {
    let port = support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let hook = (
        "B24_WEBHOOK_URL",
        "https://portal.example/rest/1/topsecretcode77/",
    );
    // STOCK_ALLOWED_STORES without its S: left alone, every warehouse would be served.
    let (code, text) = run_to_exit(
        &["serve", "--listen", &listen],
        &[hook, ("STOCK_ALLOWED_STORE", "1")],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("STOCK_ALLOWED_STORE:"), "{text}");
    assert!(
        text.contains("did you mean STOCK_ALLOWED_STORES?"),
        "{text}"
    );
    assert!(!text.contains("listening"), "{text}");
    assert!(std::net::TcpListener::bind(&listen).is_ok());
}

#[tokio::test]
async fn the_sandbox_prints_the_webhook_to_use_when_it_made_up_the_code() {
    let mut child = Command::new(BIN)
        .args(["sandbox", "--listen", "127.0.0.1:0", "--exit-with-stdin"])
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
    let webhook = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the sandbox printed no webhook line");
        if let Some(url) = line.strip_prefix("webhook: ") {
            break url.to_string();
        }
    };
    assert!(
        webhook.starts_with("http://127.0.0.1:") && webhook.contains("/rest/1/"),
        "{webhook}"
    );
    let answer = client()
        .post(format!("{webhook}catalog.storeproduct.get"))
        .header("content-type", "application/json")
        .body(r#"{"id":13}"#)
        .send()
        .await
        .expect("call the printed webhook");
    assert_eq!(answer.status(), 200);
    let body = answer.text().await.unwrap();
    assert!(body.contains(r#""storeProduct""#), "{body}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn sigterm_stops_the_server_even_with_a_connection_open() {
    let log = support::log_path("sigterm");
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Demo mode prints where it listens: `open: http://ADDRESS/`.
    let listen = support::logged(&log, |line| {
        Some(
            line.strip_prefix("open: http://")?
                .trim_end_matches('/')
                .to_string(),
        )
    });
    support::wait_healthy(&format!("http://{listen}/healthz"));
    // A keep-alive connection that has been answered and now sits idle.
    let mut open = tokio::net::TcpStream::connect(&listen).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut open, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let _ = tokio::io::AsyncReadExt::read(&mut open, &mut buffer).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("still running 8 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

/// systemd's `LoadCredential=b24_webhook_url:…` hands the service a file in
/// `$CREDENTIALS_DIRECTORY`; the gateway uses it, and refuses it beside `B24_WEBHOOK_URL`.
#[tokio::test]
async fn the_webhook_can_come_from_a_credentials_directory() {
    let sandbox = support::spawn_sandbox(1000.0, 100_000.0);
    let dir = std::env::temp_dir().join(format!("b24-credentials-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b24_webhook_url"), sandbox.webhook()).unwrap();
    let dir_text = dir.to_str().unwrap();

    let log = support::log_path("credential");
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--exit-with-stdin"])
        .env_clear()
        .env("CREDENTIALS_DIRECTORY", dir_text)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn");
    let listen = support::logged(&log, |line| {
        let at = line.split("gateway listening address=").nth(1)?;
        Some(at.split_whitespace().next()?.to_string())
    });
    support::wait_healthy(&format!("http://{listen}/healthz"));
    let answer = client()
        .get(format!("http://{listen}/v1/store-products/13"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "the portal was reached with the file's webhook"
    );
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains(&sandbox.code), "{logged}");

    let (code, text) = run_to_exit(
        &["serve", "--listen", &listen],
        &[
            ("CREDENTIALS_DIRECTORY", dir_text),
            ("B24_WEBHOOK_URL", &sandbox.webhook()),
        ],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("keep only one"), "{text}");
    assert!(!text.contains(&sandbox.code), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
