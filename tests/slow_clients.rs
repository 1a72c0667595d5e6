//! The local server against slow and numerous connections, over real loopback: a slow header
//! sender is cut off while others are served, a slow body gets a JSON 408 and a closed
//! connection, and connections past the cap wait until another one closes.

mod support;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{client, spawn_gateway, spawn_sandbox, Gateway};

fn address(gateway: &Gateway) -> String {
    gateway.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes: then `None`).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&answer).into_owned())
}

async fn healthy(gateway: &Gateway) -> bool {
    client()
        .get(format!("{}/healthz", gateway.base))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn a_slow_header_sender_is_closed_while_others_are_served() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_HEADER_TIMEOUT_MS", "700")]);
    let started = Instant::now();
    // Slowloris: a request head that never ends, one header line every 100 ms.
    let mut slow = TcpStream::connect(address(&gateway)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        for n in 0..100 {
            if slow
                .write_all(format!("X-Slow-{n}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        started.elapsed()
    };
    // Meanwhile a normal client is served.
    let normal = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        healthy(&gateway).await
    };
    let (cut_off_after, normal_served) = tokio::join!(trickle, normal);
    assert!(normal_served, "a normal client was not served");
    assert!(
        cut_off_after < Duration::from_secs(4),
        "the slow sender could write for {cut_off_after:?}"
    );
    // A connection that never says anything is closed too.
    let mut idle = TcpStream::connect(address(&gateway)).await.unwrap();
    let idle_started = Instant::now();
    assert!(
        read_until_closed(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle connection stayed open"
    );
    assert!(idle_started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_slow_body_gets_a_json_408_and_the_connection_is_closed() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(&sandbox.webhook(), &[("STOCK_BODY_TIMEOUT_MS", "500")]);
    let mut slow = TcpStream::connect(address(&gateway)).await.unwrap();
    slow.write_all(
        b"POST /catalog.storeproduct.get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"id\"",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut slow, Duration::from_secs(5))
        .await
        .expect("the server neither answered nor closed within 5 s");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    assert!(healthy(&gateway).await);
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_another_one_closes() {
    let sandbox = spawn_sandbox(1000.0, 10_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_MAX_CONNECTIONS", "2"),
            ("STOCK_HEADER_TIMEOUT_MS", "20000"),
        ],
    );
    // Two connections hold both slots (accepted, saying nothing yet).
    let first = TcpStream::connect(address(&gateway)).await.unwrap();
    let mut second = TcpStream::connect(address(&gateway)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third caller connects (the kernel's backlog takes it) but is not served.
    let mut third = TcpStream::connect(address(&gateway)).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(800), third.read(&mut byte)).await;
    assert!(early.is_err(), "served past the cap: {early:?}");
    // One of the two closes: the third is served.
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("not served within 5 s of a slot freeing");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The held connection still works.
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut second, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
