//! A webhook the portal stops accepting is visible to the operator: `/healthz` says
//! `degraded` with a reason code (never the URL), an error line is logged at most once a
//! minute while it lasts, a metric counts the refusals, and all of it clears once the portal
//! answers again.

mod support;

use serde_json::{json, Value};
use support::{client, spawn_gateway, spawn_sandbox};

async fn get(url: String) -> (u16, Value) {
    let reply = client().get(url).send().await.expect("gateway answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_revoked_webhook_shows_in_health_logs_and_metrics_until_it_works_again() {
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let gateway = spawn_gateway(
        &sandbox.webhook(),
        &[
            ("STOCK_METRICS_LISTEN", "127.0.0.1:0"),
            ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ],
    );
    let metrics_at = support::logged_address(&gateway.log, "metrics at /metrics");
    let record = |id: u32| format!("{}/v1/store-products/{id}", gateway.base);
    let health = || get(format!("{}/healthz", gateway.base));
    assert_eq!(health().await, (200, json!({"status": "ok"})));

    // The portal rejects the webhook from now on (every get, alone or in a batch).
    sandbox
        .control(json!({"fault": "invalid_credentials"}))
        .await;
    for id in [13, 14, 15, 16] {
        let (status, body) = get(record(id)).await;
        // Nothing stale to stand in: unavailable until the operator acts.
        assert_eq!(
            (status, &body["error"]["code"]),
            (503, &json!("upstream_unavailable"))
        );
    }
    let (status, mut body) = health().await;
    assert_eq!(status, 200, "the process still serves");
    assert!(!body.to_string().contains(&sandbox.code), "{body}");
    // (The inventory mode rode with the first record's read, which the fault let through.)
    body.as_object_mut().unwrap().remove("inventoryAccounting");
    assert_eq!(
        body,
        json!({"status": "degraded", "problem": "webhook_rejected"})
    );
    assert!(!body.to_string().contains(&sandbox.code), "{body}");

    // One error line for four refusals within the minute.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&gateway.log).expect("gateway log");
    let errors = log
        .lines()
        .filter(|l| l.contains("\"ERROR\"") && l.contains("portal refused the gateway"))
        .count();
    assert_eq!(errors, 1, "{log}");
    assert!(log.contains("webhook_rejected"), "{log}");
    assert!(!log.contains(&sandbox.code));

    let scrape = client()
        .get(format!("http://{metrics_at}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failures: f64 = scrape
        .lines()
        .find(|l| l.starts_with("b24_gateway_portal_credential_failures_total "))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no credential failures counter in:\n{scrape}"));
    assert!(failures >= 4.0, "{failures}");

    // The operator fixes the webhook: the next answer clears the problem.
    sandbox.control(json!({"fault": null})).await;
    let (status, _) = get(record(17)).await;
    assert!([200, 404].contains(&status), "{status}");
    // Healthy again; the mode read with the record's product flags shows too.
    assert_eq!(
        health().await,
        (200, json!({"status": "ok", "inventoryAccounting": true}))
    );
}
