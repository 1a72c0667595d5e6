//! The gateway's counters as CloudWatch Embedded Metric Format lines: after each invocation,
//! what changed since the last flush, as JSON lines on stdout that CloudWatch Logs turns into
//! metrics (namespace `B24StockGateway`). Deltas, so concurrent invocations never count twice.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::LambdaGateway;
use crate::core::metrics::{ExchangeOutcome, Snapshot};

pub const NAMESPACE: &str = "B24StockGateway";

/// What was counted at the last flush.
static FLUSHED: Mutex<Option<Snapshot>> = Mutex::new(None);

/// Prints the EMF lines for what happened since the last flush.
pub fn flush(gateway: &LambdaGateway) {
    let now = gateway.metrics();
    let delta = {
        let mut flushed = FLUSHED.lock().unwrap_or_else(|e| e.into_inner());
        let delta = match flushed.as_ref() {
            Some(earlier) => now.since(earlier),
            None => now.clone(),
        };
        *flushed = Some(now);
        delta
    };
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    for line in emf_lines(&delta, millis) {
        println!("{line}");
    }
}

/// The sweeper's state after a sweep, as one EMF line: the table's rows, the last sweep's
/// seconds and portal requests, and sweeps failed so far.
pub fn flush_mirror(sweeper: &super::LambdaSweeper) {
    let mut snapshot = Snapshot::default();
    crate::core::source::StockSource::report(sweeper, &mut snapshot);
    let Some(mirror) = snapshot.mirror else {
        return;
    };
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let line = json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": [
                {"Name": "MirrorRows", "Unit": "Count"},
                {"Name": "SweepSeconds", "Unit": "Seconds"},
                {"Name": "SweepPortalRequests", "Unit": "Count"},
                {"Name": "SweepFailures", "Unit": "Count"}
            ]}]
        },
        "MirrorRows": mirror.rows,
        "SweepSeconds": mirror.last_duration.map_or(0.0, |d| d.as_secs_f64()),
        "SweepPortalRequests": mirror.last_requests,
        "SweepFailures": mirror.failures,
    });
    println!("{line}");
}

/// One line per route and status (dimensions `Route`, `Status`), and one for the rest.
pub fn emf_lines(delta: &Snapshot, timestamp_ms: u64) -> Vec<String> {
    if delta.is_quiet() {
        return Vec::new();
    }
    let document = |dimensions: Value, metrics: &[(&str, &str)], values: Map<String, Value>| {
        let names: Vec<Value> = metrics
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        let mut root = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": names}]
            }
        });
        if let Value::Object(root) = &mut root {
            root.extend(values);
        }
        root.to_string()
    };
    let mut lines = Vec::new();
    for ((route, status), count) in &delta.requests {
        let values = Map::from_iter([
            ("Route".to_string(), json!(route)),
            ("Status".to_string(), json!(status.to_string())),
            ("Requests".to_string(), json!(count)),
        ]);
        lines.push(document(
            json!([["Route", "Status"]]),
            &[("Requests", "Count")],
            values,
        ));
    }
    let mut values = Map::new();
    let mut metrics: Vec<(&str, &str)> = Vec::new();
    let mut put = |name: &'static str, unit: &'static str, value: Value| {
        metrics.push((name, unit));
        values.insert(name.to_string(), value);
    };
    for (name, count) in ["CacheHits", "CacheMisses", "CacheStale"]
        .iter()
        .zip(delta.cache)
    {
        put(name, "Count", json!(count));
    }
    for (outcome, count) in ExchangeOutcome::ALL.iter().zip(delta.exchanges) {
        let name = match outcome {
            ExchangeOutcome::Ok => "PortalExchangesOk",
            ExchangeOutcome::Busy => "PortalExchangesBusy",
            ExchangeOutcome::Error => "PortalExchangesError",
            ExchangeOutcome::Timeout => "PortalExchangesTimeout",
        };
        put(name, "Count", json!(count));
    }
    put("PortalRequests", "Count", json!(delta.portal_requests));
    // With PortalExchanges*, the average batch size: commands over exchanges.
    put("BatchCommands", "Count", json!(delta.batch_commands));
    put(
        "PortalCredentialFailures",
        "Count",
        json!(delta.credential_failures),
    );
    if let Some(level) = delta.budget_level {
        put("PortalBudgetLevel", "None", json!(level));
    }
    if let Some(shared) = delta.shared_state {
        put("SharedStateUp", "None", json!(u8::from(shared.reachable)));
        put("SharedBudgetWaits", "Count", json!(shared.budget_waits));
        put("SharedFlightsJoined", "Count", json!(shared.flights_joined));
        put("SharedStateFallbacks", "Count", json!(shared.fallbacks));
    }
    lines.push(document(json!([[]]), &metrics, values));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::shared_state::SharedStateHealth;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let mut delta = Snapshot::default();
        assert!(emf_lines(&delta, 1).is_empty(), "nothing to say");
        delta.requests.insert(("v1.store_product", 200), 3);
        delta.cache = [2, 1, 0];
        delta.exchanges = [1, 0, 0, 0];
        delta.portal_requests = 1;
        delta.batch_commands = 1;
        delta.budget_level = Some(0.02);
        let lines: Vec<Value> = emf_lines(&delta, 1_796_036_400_000)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        let per_route = &lines[0];
        assert_eq!(per_route["_aws"]["Timestamp"], 1_796_036_400_000u64);
        assert_eq!(
            per_route["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            NAMESPACE
        );
        assert_eq!(
            per_route["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Route", "Status"]])
        );
        assert_eq!(
            (
                &per_route["Route"],
                &per_route["Status"],
                &per_route["Requests"]
            ),
            (&json!("v1.store_product"), &json!("200"), &json!(3))
        );
        let rest = &lines[1];
        for metric in rest["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
        {
            let name = metric["Name"].as_str().unwrap();
            assert!(rest[name].is_number(), "{name} has a value");
        }
        assert_eq!(rest["CacheHits"], 2);
        assert_eq!(rest["PortalBudgetLevel"], 0.02);
        assert!(
            rest.get("SharedStateUp").is_none(),
            "only with a shared state"
        );

        delta.shared_state = Some(SharedStateHealth {
            reachable: false,
            budget_waits: 4,
            flights_joined: 7,
            fallbacks: 1,
        });
        let rest: Value = serde_json::from_str(&emf_lines(&delta, 1)[1]).unwrap();
        assert_eq!(
            (
                &rest["SharedStateUp"],
                &rest["SharedBudgetWaits"],
                &rest["SharedFlightsJoined"],
                &rest["SharedStateFallbacks"]
            ),
            (&json!(0), &json!(4), &json!(7), &json!(1))
        );
    }
}
