//! Building the HTTP answers: JSON bodies with the headers every answer carries.

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};

use super::bitrix;
use super::bitrix_time::Timing;
use super::render::render_v1_error;
use super::routes::Route;
use crate::core::api::http_error::HttpError;
use crate::core::domain::error::ApiError;
use crate::core::metrics::MirrorHealth;
use crate::core::publish::render::to_bytes;
use crate::core::source::Health;
use serde::Serialize;

const JSON: &str = "application/json; charset=utf-8";

/// How many headers a stock answer carries at most, about.
const ANSWER_HEADERS: usize = 14;

pub fn json(status: StatusCode, body: Bytes, cache_control: HeaderValue) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    // Room for every header an answer gets on its way out (validators, tags, CORS, the
    // request id), so the map is allocated once rather than grown.
    headers.reserve(ANSWER_HEADERS);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(CACHE_CONTROL, cache_control);
    response
}

/// How long shared caches and browsers may go on using a copy past its `max-age`, from the
/// gateway's own settings: while they ask again (one more lifetime), and while the gateway
/// fails (its stale window, `STOCK_STALE_IF_ERROR_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct Revalidation {
    pub while_revalidate_secs: u64,
    pub if_error_secs: u64,
}

/// `public, max-age=N, stale-while-revalidate=…, stale-if-error=…` (a zero directive left
/// out), or `no-store` for 0.
pub fn fresh_for(secs: u64, revalidation: Revalidation) -> HeaderValue {
    if secs == 0 {
        return HeaderValue::from_static("no-store");
    }
    let mut value = format!("public, max-age={secs}");
    if revalidation.while_revalidate_secs > 0 {
        value += &format!(
            ", stale-while-revalidate={}",
            revalidation.while_revalidate_secs
        );
    }
    if revalidation.if_error_secs > 0 {
        value += &format!(", stale-if-error={}", revalidation.if_error_secs);
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("no-store"))
}

/// `public, max-age=N`, or `no-store` for 0.
pub fn max_age(secs: u64) -> HeaderValue {
    if secs == 0 {
        return HeaderValue::from_static("no-store");
    }
    HeaderValue::from_str(&format!("public, max-age={secs}"))
        .unwrap_or(HeaderValue::from_static("no-store"))
}

/// How an error is written.
#[derive(Debug, Clone, Copy)]
pub enum ErrorStyle {
    /// `{"error":{"code","message"}}`; a missing record may be cached this many seconds.
    V1 { not_found_max_age: u64 },
    /// The portal's envelope with a `time` object.
    Bitrix(Timing),
}

/// An error answer, with `Retry-After` where it applies. Errors are `no-store`, except a
/// missing record on the v1 routes.
pub fn error(error: ApiError, style: ErrorStyle) -> Response<Bytes> {
    let (status, body, cache_control) = match style {
        ErrorStyle::V1 { not_found_max_age } => {
            let cache_control = if error == ApiError::NotFound {
                max_age(not_found_max_age)
            } else {
                HeaderValue::from_static("no-store")
            };
            (error.status(), render_v1_error(error), cache_control)
        }
        ErrorStyle::Bitrix(timing) => (
            error.bitrix_status(),
            bitrix::error(error, timing),
            HeaderValue::from_static("no-store"),
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(status, body, cache_control);
    if let Some(secs) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `{"status":"ok"}`, or `"degraded"` with the `problem` only the operator can fix (the
/// process still serves: 200 either way); a mirror adds where answers come from now and its
/// table's state; `inventoryAccounting` once the portal said whether it keeps it.
pub fn health(health: &Health) -> Response<Bytes> {
    let shared_away = health.shared_state.is_some_and(|s| !s.reachable);
    let body = match (&health.mirror, health.problem, health.inventory_accounting) {
        (None, None, None) if health.shared_state.is_none() => {
            Bytes::from_static(br#"{"status":"ok"}"#)
        }
        (mirror, problem, inventory_accounting) => to_bytes(&HealthBody {
            status: if problem.is_some() || shared_away {
                "degraded"
            } else {
                "ok"
            },
            problem,
            inventory_accounting,
            shared_state: health.shared_state.map(|s| SharedStateBody {
                reachable: s.reachable,
                fallbacks: s.fallbacks,
            }),
            source: mirror.as_ref().map(|_| health.source),
            serving: mirror.as_ref().map(|_| health.serving),
            mirror: mirror.as_ref().map(MirrorBody::of),
        }),
    };
    json(StatusCode::OK, body, HeaderValue::from_static("no-store"))
}

/// The store replicas share: whether it answers, and how often this instance had to do
/// without it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SharedStateBody {
    reachable: bool,
    fallbacks: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthBody {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inventory_accounting: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_state: Option<SharedStateBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serving: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirror: Option<MirrorBody>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MirrorBody {
    rows: u64,
    oldest_age_secs: Option<u64>,
    sweeps: u64,
    sweep_failures: u64,
    last_sweep_secs: Option<f64>,
    last_sweep_portal_requests: u32,
    behind: bool,
}

impl MirrorBody {
    fn of(mirror: &MirrorHealth) -> Self {
        Self {
            rows: mirror.rows,
            oldest_age_secs: mirror.oldest_age.map(|a| a.as_secs()),
            sweeps: mirror.sweeps,
            sweep_failures: mirror.failures,
            last_sweep_secs: mirror
                .last_duration
                .map(|d| (d.as_millis() as f64) / 1000.0),
            last_sweep_portal_requests: mirror.last_requests,
            behind: mirror.behind,
        }
    }
}

/// 204 with `Allow`; the CORS part is added with the other CORS headers.
pub fn preflight(route: Route<'_>) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(ALLOW, HeaderValue::from_static(route.allow()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub fn method_not_allowed(route: Route<'_>, style: ErrorStyle) -> Response<Bytes> {
    let mut response = error(ApiError::MethodNotAllowed, style);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(route.allow()));
    response
}
