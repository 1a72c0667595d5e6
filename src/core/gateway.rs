//! The whole public API as one function from request to response, over the platform ports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, ORIGIN};
use http::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use super::api_error::ApiError;
use super::config::Settings;
use super::cors;
use super::id::RecordId;
use super::ports::{Clock, PortalTransport};
use super::render::{render_bitrix_error, render_record, render_v1_error, RenderedRecord};
use super::request::{id_from_bitrix_call, id_from_query, InboundBody};
use super::routes::Route;
use super::upstream::{fetch_record, Fetched};

const JSON: &str = "application/json; charset=utf-8";

/// The gateway, generic over the platform's ports so each adapter gets concrete (and, on
/// native, `Send`) futures.
pub struct Gateway<T, C> {
    settings: Settings,
    transport: T,
    clock: C,
    request_ids: RequestIds,
}

/// What a lookup produced, ready to serve.
enum Served {
    Record(RenderedRecord),
    Failed(ApiError),
}

impl<T: PortalTransport, C: Clock> Gateway<T, C> {
    pub fn new(settings: Settings, transport: T, clock: C) -> Self {
        let request_ids = RequestIds::new(clock.unix_time());
        Self {
            settings,
            transport,
            clock,
            request_ids,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Answers one request and writes one log line about it; every line logged meanwhile
    /// carries the request id.
    pub async fn handle(&self, request: Request<InboundBody>) -> Response<Bytes> {
        let request_id = self.request_ids.next();
        let span = tracing::info_span!("request", request_id = %request_id);
        self.handle_logged(request, request_id)
            .instrument(span)
            .await
    }

    async fn handle_logged(
        &self,
        request: Request<InboundBody>,
        request_id: String,
    ) -> Response<Bytes> {
        let started = self.clock.monotonic();
        let mut upstream = None;
        let route = Route::recognise(request.uri().path());
        let mut response = match route {
            None => self.error_response(ApiError::RouteNotFound, false),
            Some(route) => self.route(route, &request, &mut upstream).await,
        };
        let origin = request.headers().get(ORIGIN);
        let headers = response.headers_mut();
        cors::decorate(&self.settings.allowed_origins, origin, headers);
        if let (Some(route), &Method::OPTIONS) = (route, request.method()) {
            cors::allow_preflight(route.allow(), headers);
        }
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", value);
        }
        if request.method() == Method::HEAD {
            *response.body_mut() = Bytes::new();
        }
        let latency = self.clock.monotonic().saturating_sub(started);
        tracing::info!(
            request_id = %request_id,
            method = %request.method(),
            route = route.map_or("unknown", Route::name),
            status = response.status().as_u16(),
            latency_ms = millis(latency),
            upstream_ms = upstream.map(millis),
            "request"
        );
        response
    }

    async fn route(
        &self,
        route: Route<'_>,
        request: &Request<InboundBody>,
        upstream: &mut Option<Duration>,
    ) -> Response<Bytes> {
        let bitrix = route.speaks_bitrix();
        if request.method() == Method::OPTIONS {
            return preflight(route);
        }
        if !route.accepts(request.method()) {
            let mut response = self.error_response(ApiError::MethodNotAllowed, bitrix);
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static(route.allow()));
            return response;
        }
        let query = request.uri().query();
        let id = match route {
            Route::Health => return health(),
            Route::StoreProductByPath(segment) => {
                RecordId::parse(segment).map_err(ApiError::InvalidId)
            }
            Route::StoreProductByQuery => id_from_query(query),
            Route::BitrixGet => {
                let content_type = request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                id_from_bitrix_call(content_type, request.body(), query)
            }
        };
        let served = match id {
            Ok(id) => self.lookup(id, upstream).await,
            Err(error) => Served::Failed(error),
        };
        match served {
            Served::Record(record) => {
                let body = if bitrix { record.bitrix } else { record.v1 };
                let max_age = self.settings.cache_ttl.as_secs();
                json_response(StatusCode::OK, body, &format!("public, max-age={max_age}"))
            }
            Served::Failed(error) => self.error_response(error, bitrix),
        }
    }

    async fn lookup(&self, id: RecordId, upstream: &mut Option<Duration>) -> Served {
        let started = self.clock.monotonic();
        let lookup = fetch_record(
            &self.transport,
            &self.clock,
            id,
            self.settings.upstream_timeout,
        )
        .await;
        *upstream = Some(self.clock.monotonic().saturating_sub(started));
        match lookup.outcome {
            Ok(Fetched::Found(record)) if self.settings.policy.admits(&record) => {
                Served::Record(render_record(&self.settings.policy, &record))
            }
            Ok(_) => Served::Failed(ApiError::NotFound),
            Err(error) => Served::Failed(error),
        }
    }

    fn error_response(&self, error: ApiError, bitrix: bool) -> Response<Bytes> {
        let (status, body) = if bitrix {
            (error.bitrix_status(), render_bitrix_error(error))
        } else {
            (error.status(), render_v1_error(error))
        };
        let cache_control = if error == ApiError::NotFound {
            // Missing records are cheap to confirm again; a short shared-cache life is fine.
            "public, max-age=10"
        } else {
            "no-store"
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json_response(status, body, cache_control);
        if let Some(secs) = error.retry_after_secs() {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// 204 with `Allow`; the CORS part is added with the other CORS headers.
fn preflight(route: Route<'_>) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert("allow", HeaderValue::from_static(route.allow()));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

fn health() -> Response<Bytes> {
    json_response(
        StatusCode::OK,
        Bytes::from_static(br#"{"status":"ok"}"#),
        "no-store",
    )
}

fn json_response(status: StatusCode, body: Bytes, cache_control: &str) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    if let Ok(value) = HeaderValue::from_str(cache_control) {
        headers.insert("cache-control", value);
    }
    response
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

/// Short unique ids for log lines: an instance prefix from the start time, then a counter.
struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    fn new(now: Duration) -> Self {
        Self {
            prefix: (now.as_nanos() as u64 ^ (now.as_secs() << 20)) as u32,
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.prefix)
    }
}
