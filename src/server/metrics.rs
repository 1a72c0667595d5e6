//! The operator's metrics: Prometheus (OpenMetrics text) at `GET /metrics` on a separate,
//! opt-in listener (`serve --metrics-listen ADDR`), never on the public port.

use std::fmt;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use super::InService;
use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::metrics::{ExchangeOutcome, MirrorHealth, BATCH_BUCKETS};

/// Reads the gateway's counters at each scrape.
struct GatewayCollector(InService);

impl fmt::Debug for GatewayCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewayCollector")
    }
}

impl Collector for GatewayCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let snapshot = self.0.load().metrics();
        let mut requests = encoder.encode_descriptor(
            "b24_gateway_requests",
            "Requests answered, by route and status",
            None,
            MetricType::Counter,
        )?;
        for ((route, status), count) in &snapshot.requests {
            let status = status.to_string();
            let labels = [("route", *route), ("status", status.as_str())];
            ConstCounter::new(*count).encode(requests.encode_family(&labels)?)?;
        }
        let mut cache = encoder.encode_descriptor(
            "b24_gateway_cache",
            "Answers by where they came from: hit, miss (read from the portal) or stale",
            None,
            MetricType::Counter,
        )?;
        for (result, count) in ["hit", "miss", "stale"].iter().zip(snapshot.cache) {
            ConstCounter::new(count).encode(cache.encode_family(&[("result", *result)])?)?;
        }
        let mut exchanges = encoder.encode_descriptor(
            "b24_gateway_portal_exchanges",
            "Portal exchanges (one call or one batch), by outcome",
            None,
            MetricType::Counter,
        )?;
        for (outcome, count) in ExchangeOutcome::ALL.iter().zip(snapshot.exchanges) {
            let labels = [("outcome", outcome.as_str())];
            ConstCounter::new(count).encode(exchanges.encode_family(&labels)?)?;
        }
        ConstCounter::new(snapshot.portal_requests).encode(encoder.encode_descriptor(
            "b24_gateway_portal_requests",
            "HTTP requests to the portal, retries included (what its rate limit counts)",
            None,
            MetricType::Counter,
        )?)?;
        let buckets: Vec<(f64, u64)> = BATCH_BUCKETS
            .iter()
            .zip(snapshot.batch_buckets)
            .map(|(bound, count)| (*bound as f64, count))
            .chain(std::iter::once((f64::INFINITY, 0)))
            .collect();
        encoder
            .encode_descriptor(
                "b24_gateway_batch_commands",
                "Commands per portal exchange",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(
                snapshot.batch_commands as f64,
                snapshot.batch_buckets.iter().sum(),
                &buckets,
                None,
            )?;
        ConstCounter::new(snapshot.credential_failures).encode(encoder.encode_descriptor(
            "b24_gateway_portal_credential_failures",
            "Portal exchanges refused for the webhook's credentials (revoked, deleted or expired)",
            None,
            MetricType::Counter,
        )?)?;
        ConstGauge::new(snapshot.cache_entries as i64).encode(encoder.encode_descriptor(
            "b24_gateway_cache_entries",
            "Answers held in this instance's caches (records and products)",
            None,
            MetricType::Gauge,
        )?)?;
        if let Some(mirror) = &snapshot.mirror {
            encode_mirror(&mut encoder, mirror)?;
        }
        if let Some(shared) = &snapshot.shared_state {
            encode_shared_state(&mut encoder, shared)?;
        }
        if let Some(level) = snapshot.budget_level {
            ConstGauge::new(level).encode(encoder.encode_descriptor(
                "b24_gateway_portal_budget_level",
                "How full this instance's share of the portal budget is (1 = full; above 1 while callers queue)",
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

/// The mirror's table and sweeps (mirror mode only).
fn encode_mirror(encoder: &mut DescriptorEncoder, mirror: &MirrorHealth) -> fmt::Result {
    let gauges: [(&str, &str, i64); 4] = [
        ("b24_gateway_mirror_rows", "Records in the mirror's table in service", mirror.rows as i64),
        (
            "b24_gateway_mirror_oldest_age_seconds",
            "Age of the oldest stretch of the table in service (-1: no table yet)",
            mirror.oldest_age.map_or(-1, |a| a.as_secs() as i64),
        ),
        (
            "b24_gateway_mirror_last_sweep_portal_requests",
            "Portal requests of the last sweep, finished or not",
            i64::from(mirror.last_requests),
        ),
        (
            "b24_gateway_mirror_behind",
            "1 when the last sweep failed or took longer than the interval: answers are older than promised",
            i64::from(mirror.behind),
        ),
    ];
    for (name, help, value) in gauges {
        ConstGauge::new(value).encode(encoder.encode_descriptor(
            name,
            help,
            None,
            MetricType::Gauge,
        )?)?;
    }
    ConstGauge::new(mirror.last_duration.map_or(-1.0, |d| d.as_secs_f64())).encode(
        encoder.encode_descriptor(
            "b24_gateway_mirror_last_sweep_seconds",
            "How long the last finished sweep took (-1: none yet)",
            None,
            MetricType::Gauge,
        )?,
    )?;
    let counters = [
        (
            "b24_gateway_mirror_sweeps",
            "Sweeps finished since start",
            mirror.sweeps,
        ),
        (
            "b24_gateway_mirror_sweep_failures",
            "Sweeps that failed since start (the last table stayed in service)",
            mirror.failures,
        ),
    ];
    encode_counters(encoder, &counters)
}

/// Counters without labels: `(name, help, value)`.
fn encode_counters(encoder: &mut DescriptorEncoder, counters: &[(&str, &str, u64)]) -> fmt::Result {
    for (name, help, value) in counters {
        ConstCounter::new(*value).encode(encoder.encode_descriptor(
            name,
            help,
            None,
            MetricType::Counter,
        )?)?;
    }
    Ok(())
}

/// The store replicas share (`STOCK_SHARED_STATE` only).
fn encode_shared_state(encoder: &mut DescriptorEncoder, shared: &SharedStateHealth) -> fmt::Result {
    ConstGauge::new(i64::from(shared.reachable)).encode(encoder.encode_descriptor(
        "b24_gateway_shared_state_up",
        "1 while the store replicas share answers; 0 while this instance runs on its own share and cache",
        None,
        MetricType::Gauge,
    )?)?;
    let counters = [
        (
            "b24_gateway_shared_budget_waits",
            "Portal requests that waited for (or were refused) a slot of the shared budget",
            shared.budget_waits,
        ),
        (
            "b24_gateway_shared_flights_joined",
            "Ids not read here because another replica was reading them",
            shared.flights_joined,
        ),
        (
            "b24_gateway_shared_state_fallbacks",
            "Times this instance lost the shared store and fell back to its own share and cache",
            shared.fallbacks,
        ),
    ];
    encode_counters(encoder, &counters)
}

async fn scrape(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
        text.clear();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// Serves `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gateway: InService) -> std::io::Result<()> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(GatewayCollector(gateway)));
    let router = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(registry));
    axum::serve(listener, router).await
}
