//! Which client address the local server's per-caller limit counts, over real loopback:
//! `STOCK_TRUSTED_PROXY_HEADER` across several header lines, and IPv6 callers by their /64.

mod support;

use support::{client, spawn_gateway, spawn_sandbox};

async fn status(url: &str, forwarded: &[&str]) -> u16 {
    let mut request = client().get(url);
    for line in forwarded {
        // `header` appends: each value goes out as its own header line.
        request = request.header("x-forwarded-for", *line);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn the_line_the_proxy_appended_names_the_caller_not_the_forged_first_line() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_RATE_LIMIT_PER_MIN", "3"),
            ("STOCK_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
        ],
    );
    let url = format!("{}/v1/store-products/13", gateway.base);
    // The caller forges a new first line each time; the proxy appends the real address.
    let mut statuses = Vec::new();
    for n in 1..=5 {
        let forged = format!("198.51.100.{n}");
        statuses.push(status(&url, &[&forged, "203.0.113.10"]).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // A caller the proxy reports differently is counted on its own.
    assert_eq!(status(&url, &["198.51.100.1", "203.0.113.11"]).await, 200);
}

#[tokio::test]
async fn ipv6_callers_rotating_inside_a_slash_64_share_one_limit() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_RATE_LIMIT_PER_MIN", "3"),
            ("STOCK_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
        ],
    );
    let url = format!("{}/v1/store-products/13", gateway.base);
    let mut statuses = Vec::new();
    for n in 1..=5 {
        let address = format!("2001:db8:42:7:{n:x}::{n:x}");
        statuses.push(status(&url, &[&address]).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(status(&url, &["2001:db8:42:8::1"]).await, 200, "next /64");
}

#[tokio::test]
async fn without_a_trusted_proxy_header_forwarded_addresses_are_ignored() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    // The default: STOCK_TRUSTED_PROXY_HEADER unset, so the peer address is the caller.
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_RATE_LIMIT_PER_MIN", "3")]);
    let url = format!("{}/v1/store-products/13", gateway.base);
    // A different forwarded address each time: still one caller, loopback.
    let mut statuses = Vec::new();
    for n in 1..=5 {
        let forged = format!("198.51.100.{n}");
        statuses.push(status(&url, &[&forged]).await);
    }
    // The start-up probe of /healthz, from loopback too, was the first of the three.
    assert_eq!(statuses, [200, 200, 429, 429, 429]);
}
