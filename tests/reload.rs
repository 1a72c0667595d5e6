//! Rotating the webhook without a restart: the local server reads its environment file and
//! `$CREDENTIALS_DIRECTORY` again on SIGHUP, and keeps what it runs with when the new ones are
//! invalid.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{client, log_path, spawn_gateway_from_file, spawn_sandbox, Gateway};

fn hang_up(gateway: &Gateway) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &gateway.process.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits (up to 5 s) for a log line containing `text`, and returns the whole log.
fn wait_for_line(log: &Path, text: &str) -> String {
    let started = Instant::now();
    loop {
        let content = std::fs::read_to_string(log).unwrap_or_default();
        if content.contains(text) {
            return content;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no log line with {text:?}:\n{content}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn status(gateway: &Gateway, id: u32) -> u16 {
    client()
        .get(format!("{}/v1/store-products/{id}", gateway.base))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn sighup_rotates_the_webhook_from_the_env_file_and_keeps_it_when_the_file_is_bad() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let revoked = sandbox.webhook().replace(&sandbox.code, "revokedcode4417");
    let file = log_path("gateway-env");
    let write = |webhook: &str, extra: &str| {
        std::fs::write(
            &file,
            format!("# the gateway's settings\nB24_WEBHOOK_URL={webhook}\nSTOCK_NEGATIVE_TTL_SECS=0\n{extra}"),
        )
        .unwrap()
    };
    write(&revoked, "");
    let gateway = spawn_gateway_from_file(&file, &[("STOCK_RATE_LIMIT_PER_MIN", "0")]);
    assert_eq!(
        status(&gateway, 13).await,
        503,
        "the portal refuses the old webhook"
    );

    // The operator puts the new webhook in the file and tells the gateway.
    write(&sandbox.webhook(), "");
    hang_up(&gateway);
    wait_for_line(&gateway.log, "reloaded");
    assert_eq!(status(&gateway, 14).await, 200, "the new webhook is used");

    // A file with a typo is refused whole: the running webhook stays.
    write(&revoked, "STOCK_ALLOWED_STORE=1\n");
    hang_up(&gateway);
    let log = wait_for_line(&gateway.log, "reload refused");
    assert!(
        log.contains("STOCK_ALLOWED_STORES"),
        "names the closest variable: {log}"
    );
    assert_eq!(status(&gateway, 15).await, 200, "still the good webhook");

    // New settings go into service: store 11 hidden, so its record 16 is gone.
    assert_eq!(status(&gateway, 16).await, 200);
    write(&sandbox.webhook(), "STOCK_ALLOWED_STORES=1,2\n");
    hang_up(&gateway);
    wait_for_line(&gateway.log, "new settings in service");
    assert_eq!(status(&gateway, 16).await, 404, "the new policy");
    assert_eq!(status(&gateway, 17).await, 200, "store 2 is still shown");

    // Another source: the new gateway sweeps a mirror of its own.
    write(
        &sandbox.webhook(),
        "STOCK_SOURCE=mirror\nSTOCK_MIRROR_INTERVAL_SECS=5\n",
    );
    hang_up(&gateway);
    support::wait_serving_mirror(&gateway.base);
    assert_eq!(status(&gateway, 16).await, 200, "every store again");

    // The server's own settings are bound at start: said to need a restart.
    write(
        &sandbox.webhook(),
        "STOCK_SOURCE=mirror\nSTOCK_MIRROR_INTERVAL_SECS=5\nSTOCK_TRUSTED_PROXY_HEADER=x-forwarded-for\n",
    );
    hang_up(&gateway);
    wait_for_line(&gateway.log, "take effect at the next restart");

    let log = std::fs::read_to_string(&gateway.log).unwrap();
    assert!(
        !log.contains(&sandbox.code),
        "the log shows the webhook code"
    );
    assert!(
        !log.contains("revokedcode4417"),
        "the log shows a webhook code"
    );
}

#[tokio::test]
async fn sighup_reads_the_credentials_directory_again() {
    let sandbox = spawn_sandbox(100.0, 1000.0);
    let dir = log_path("credentials");
    std::fs::create_dir_all(&dir).unwrap();
    let credential = dir.join("b24_webhook_url");
    std::fs::write(
        &credential,
        sandbox.webhook().replace(&sandbox.code, "revokedcode4418"),
    )
    .unwrap();
    let file = log_path("gateway-env");
    std::fs::write(&file, "STOCK_NEGATIVE_TTL_SECS=0\n").unwrap();
    let gateway = spawn_gateway_from_file(
        &file,
        &[
            ("STOCK_RATE_LIMIT_PER_MIN", "0"),
            ("CREDENTIALS_DIRECTORY", dir.to_str().unwrap()),
        ],
    );
    assert_eq!(status(&gateway, 13).await, 503);
    std::fs::write(&credential, sandbox.webhook()).unwrap();
    hang_up(&gateway);
    wait_for_line(&gateway.log, "reloaded");
    assert_eq!(status(&gateway, 14).await, 200);
}
