//! The gateway's counters as JSON log lines on the Workers console (they land in Workers Logs):
//! at most once per `STOCK_METRICS_INTERVAL_SECS` (default 60; 0 = after every request), what
//! changed since the last line of this isolate (or Durable Object):
//! `{"message":"metrics","requests":{"v1.store_product 200":3},"cache":{"hit":2,...},...}`.
//! Lines from several isolates add up: each counts only its own requests. The isolate's gateway
//! and the Durable Object each keep their own [`MetricsLog`] (in local development they may
//! share one JS isolate).

use std::cell::RefCell;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::core::metrics::{ExchangeOutcome, Snapshot, BATCH_BUCKETS};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// One source's metrics lines: how often, and what the last line had counted.
pub struct MetricsLog {
    interval: Duration,
    /// When the last line was written, and what had been counted then.
    last: RefCell<Option<(Duration, Snapshot)>>,
}

/// `STOCK_METRICS_INTERVAL_SECS`, read leniently: a bad value keeps the default (a Worker
/// cannot refuse to start).
pub fn interval_from(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|secs| *secs <= 86_400)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL)
}

impl MetricsLog {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: RefCell::new(None),
        }
    }

    /// Writes a line if the interval has passed since the last one (`snapshot` is only read
    /// then). `now` is any clock that does not go back.
    pub fn maybe_log(&self, now: Duration, snapshot: impl FnOnce() -> Snapshot) {
        let due = self
            .last
            .borrow()
            .as_ref()
            .is_none_or(|(at, _)| now.saturating_sub(*at) >= self.interval);
        if !due {
            return;
        }
        let current = snapshot();
        let delta = {
            let mut last = self.last.borrow_mut();
            let delta = match last.as_ref() {
                Some((_, earlier)) => current.since(earlier),
                None => current.clone(),
            };
            *last = Some((now, current));
            delta
        };
        if !delta.is_quiet() {
            worker::console_log!("{}", line(&delta));
        }
    }
}

pub fn line(delta: &Snapshot) -> String {
    let requests: Map<String, Value> = delta
        .requests
        .iter()
        .map(|((route, status), n)| (format!("{route} {status}"), json!(n)))
        .collect();
    let exchanges: Map<String, Value> = ExchangeOutcome::ALL
        .iter()
        .zip(delta.exchanges)
        .map(|(outcome, n)| (outcome.as_str().to_string(), json!(n)))
        .collect();
    let batches: Map<String, Value> = BATCH_BUCKETS
        .iter()
        .zip(delta.batch_buckets)
        .map(|(bound, n)| (format!("le{bound}"), json!(n)))
        .collect();
    let mirror = delta.mirror.as_ref().map(|m| {
        json!({
            "rows": m.rows,
            "oldest_age_secs": m.oldest_age.map(|a| a.as_secs()),
            "sweeps": m.sweeps,
            "sweep_failures": m.failures,
            "last_sweep_secs": m.last_duration.map(|d| d.as_secs_f64()),
            "last_sweep_portal_requests": m.last_requests,
            "behind": m.behind,
        })
    });
    json!({
        "level": "INFO",
        "message": "metrics",
        "requests": requests,
        "cache": {"hit": delta.cache[0], "miss": delta.cache[1], "stale": delta.cache[2]},
        "portal_exchanges": exchanges,
        "portal_requests": delta.portal_requests,
        "batch_commands": {"sum": delta.batch_commands, "buckets": batches},
        "portal_budget_level": delta.budget_level,
        "portal_credential_failures": delta.credential_failures,
        "mirror": mirror,
    })
    .to_string()
}
