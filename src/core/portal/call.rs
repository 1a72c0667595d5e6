//! One lookup at the portal: send only the validated id, retry a rate-limit refusal while the
//! deadline allows, and turn everything else into a public error.

use std::time::Duration;

use bytes::Bytes;

use crate::core::api::api_error::ApiError;
use crate::core::portal::answer::{
    read_answer, OperatingTime, PortalAnswer, Refusal, StoreProduct,
};
use crate::core::ports::{Clock, PortalTransport, TransportError};
use crate::core::protection::budget::{PortalBudget, MAX_QUEUE_WAIT};
use crate::core::stock::id::RecordId;

pub const METHOD: &str = "catalog.storeproduct.get";

/// First pause after `QUERY_LIMIT_EXCEEDED`; doubled for each further try. The portal drains
/// its bucket at 2 requests/s, so half a second usually frees a slot.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Retry-After for a rate-limit refusal we could not outwait.
const QUERY_LIMIT_RETRY_SECS: u64 = 2;
/// The portal blocks a method for about ten minutes after `OPERATION_TIME_LIMIT`.
const OPERATION_LIMIT_RETRY_SECS: u64 = 600;
/// `OVERLOAD_LIMIT` gives no hint; a minute keeps callers from hammering.
const OVERLOAD_RETRY_SECS: u64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Found(StoreProduct),
    NotFound,
}

/// The outcome of one lookup and what the portal said about its operating time.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub outcome: Result<Fetched, ApiError>,
    pub operating: OperatingTime,
    /// Portal requests made (retries included).
    pub calls: u32,
    /// Why the portal refused, when it did.
    pub refusal: Option<Refusal>,
}

/// Every request, retries included, first takes a slot from `budget`.
pub async fn fetch_record<T: PortalTransport, C: Clock>(
    transport: &T,
    clock: &C,
    budget: &PortalBudget,
    id: RecordId,
    deadline: Duration,
) -> Lookup {
    let started = clock.monotonic();
    let body = Bytes::from(format!("{{\"id\":{id}}}"));
    let mut backoff = FIRST_BACKOFF;
    let mut calls = 0;
    let mut retrying = false;
    loop {
        let elapsed = clock.monotonic().saturating_sub(started);
        let Some(remaining) = deadline.checked_sub(elapsed).filter(|r| !r.is_zero()) else {
            return failed(ApiError::UpstreamTimeout, OperatingTime::default(), calls);
        };
        // A retry may wait longer for its slot: the portal just said the bucket is full.
        let max_wait = if retrying {
            remaining / 2
        } else {
            MAX_QUEUE_WAIT.min(remaining / 2)
        };
        if let Err(busy) = budget.acquire(clock, max_wait).await {
            return failed(busy, OperatingTime::default(), calls);
        }
        let remaining = deadline.saturating_sub(clock.monotonic().saturating_sub(started));
        calls += 1;
        let reply = match transport.post(METHOD, body.clone(), remaining).await {
            Ok(reply) => reply,
            Err(TransportError::Timeout) => {
                tracing::warn!(problem = "timeout", "portal call failed");
                return failed(ApiError::UpstreamTimeout, OperatingTime::default(), calls);
            }
            Err(error) => {
                tracing::warn!(problem = %error, "portal call failed");
                return failed(ApiError::UpstreamError, OperatingTime::default(), calls);
            }
        };
        let (answer, operating) = read_answer(reply.status, &reply.body, id);
        let refusal = match answer {
            PortalAnswer::Found(record) => return found(Fetched::Found(record), operating, calls),
            PortalAnswer::NotFound => return found(Fetched::NotFound, operating, calls),
            PortalAnswer::Refused(refusal) => refusal,
        };
        let retry_after_secs = match refusal {
            Refusal::QueryLimit => {
                budget.saturate(clock.monotonic());
                let left = deadline.saturating_sub(clock.monotonic().saturating_sub(started));
                // Retry only if the pause still leaves time for the call itself.
                if left > backoff * 2 {
                    tracing::info!(
                        pause_ms = backoff.as_millis() as u64,
                        "portal rate limit, retrying"
                    );
                    clock.sleep(backoff).await;
                    backoff *= 2;
                    retrying = true;
                    continue;
                }
                QUERY_LIMIT_RETRY_SECS
            }
            Refusal::OperationTimeLimit => {
                let now = clock.unix_time().as_secs() as i64;
                operating
                    .reset_at_unix
                    .map(|reset| (reset - now).clamp(1, OPERATION_LIMIT_RETRY_SECS as i64) as u64)
                    .unwrap_or(OPERATION_LIMIT_RETRY_SECS)
            }
            Refusal::Overload => OVERLOAD_RETRY_SECS,
            other => {
                if other == Refusal::Credentials {
                    transport.credentials_rejected();
                }
                if other.is_configuration_problem() {
                    tracing::error!(
                        problem = other.as_str(),
                        "portal refused the gateway; fix the webhook or its permissions"
                    );
                } else {
                    tracing::warn!(problem = other.as_str(), "portal call failed");
                }
                return refused(ApiError::UpstreamError, operating, calls, other);
            }
        };
        tracing::warn!(problem = refusal.as_str(), retry_after_secs, "portal busy");
        return refused(
            ApiError::UpstreamBusy { retry_after_secs },
            operating,
            calls,
            refusal,
        );
    }
}

fn found(fetched: Fetched, operating: OperatingTime, calls: u32) -> Lookup {
    Lookup {
        outcome: Ok(fetched),
        operating,
        calls,
        refusal: None,
    }
}

fn failed(error: ApiError, operating: OperatingTime, calls: u32) -> Lookup {
    Lookup {
        outcome: Err(error),
        operating,
        calls,
        refusal: None,
    }
}

fn refused(error: ApiError, operating: OperatingTime, calls: u32, refusal: Refusal) -> Lookup {
    Lookup {
        outcome: Err(error),
        operating,
        calls,
        refusal: Some(refusal),
    }
}
