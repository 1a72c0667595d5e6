//! The whole public API as one function from request to response, over the platform ports:
//! routing, the caller limit, the caches, batching, the portal budget and the upstream call.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, ACCEPT, AGE, CONTENT_TYPE, ORIGIN, X_CONTENT_TYPE_OPTIONS,
};
use http::{Method, Request, Response};
use tracing::Instrument;

use crate::core::api::bitrix_batch::parse_batch;
use crate::core::api::bitrix_time::Timing;
use crate::core::api::cors;
use crate::core::api::request::{id_from_bitrix_call, ids_from_query, InboundBody, Wanted};
use crate::core::api::response::{self, fresh_for, ErrorStyle, Revalidation};
use crate::core::api::routes::Route;
use crate::core::api::storefront;
use crate::core::api::{product_view, validators};
use crate::core::config::{Settings, SourceMode};
use crate::core::domain::caller::{caller_key, ClientIp};
use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::kit::request_id::RequestIds;
use crate::core::metrics::{RequestStats, Snapshot};
use crate::core::ports::{CallerLimiter, Clock};
use crate::core::source::{Refresh, StockSource, Trace};

pub mod answers;
pub mod caller_limit;

use caller_limit::InProcessLimiter;

/// Our own headers, parsed once.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The gateway over a stock source `Src`, generic over the platform's ports so each adapter
/// gets concrete (and, on native, `Send`) futures. Build one per process (or isolate) and
/// share it.
pub struct Gateway<Src, C, L = InProcessLimiter> {
    settings: Settings,
    source: Src,
    clock: C,
    limiter: L,
    request_ids: RequestIds,
    request_stats: RequestStats,
    /// `Cache-Control` of a fresh answer, made once.
    fresh_cache_control: HeaderValue,
    revalidation: Revalidation,
}

/// A request's answer, and the refresh it owes: send the response, then run the refresh
/// ([`Gateway::refresh`]) in the background where the platform allows (a task on the local
/// server, `ctx.wait_until` on the Worker), or in line (the Lambda, frozen between
/// invocations).
#[must_use = "send the response, then run the refresh it owes"]
pub struct Answered {
    response: Response<Bytes>,
    refresh: Refresh,
}

impl Answered {
    pub fn into_parts(self) -> (Response<Bytes>, Refresh) {
        (self.response, self.refresh)
    }
}

impl<Src: StockSource, C: Clock> Gateway<Src, C> {
    /// A gateway over `source`, with the in-process caller limit (`STOCK_RATE_LIMIT_PER_MIN`);
    /// [`Gateway::with_limiter`] swaps in a platform's own. `id_seed`, from the platform's
    /// randomness, makes its request ids unguessable.
    pub fn new(settings: Settings, source: Src, clock: C, id_seed: u128) -> Self {
        Self {
            request_ids: RequestIds::new(id_seed),
            request_stats: RequestStats::default(),
            limiter: InProcessLimiter::new(settings.rate_limit_per_min),
            fresh_cache_control: fresh_for(settings.cache_ttl.as_secs(), revalidation(&settings)),
            revalidation: revalidation(&settings),
            settings,
            source,
            clock,
        }
    }
}

impl<Src, C, L> Gateway<Src, C, L> {
    pub fn with_limiter<L2: CallerLimiter>(self, limiter: L2) -> Gateway<Src, C, L2> {
        Gateway {
            settings: self.settings,
            source: self.source,
            clock: self.clock,
            limiter,
            request_ids: self.request_ids,
            request_stats: self.request_stats,
            fresh_cache_control: self.fresh_cache_control,
            revalidation: self.revalidation,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn source(&self) -> &Src {
        &self.source
    }
}

impl<Src: StockSource, C, L> Gateway<Src, C, L> {
    /// Everything counted since start, and the budget level now.
    pub fn metrics(&self) -> Snapshot {
        let mut snapshot = Snapshot::default();
        self.request_stats.report(&mut snapshot);
        self.source.report(&mut snapshot);
        snapshot
    }

    /// Runs the refresh an answer owed.
    pub async fn refresh(&self, owed: Refresh) {
        if !owed.is_empty() {
            self.source.refresh(owed).await;
        }
    }
}

impl<Src: StockSource, C: Clock, L: CallerLimiter> Gateway<Src, C, L> {
    /// Answers one request and writes one log line about it; every line logged meanwhile
    /// carries the request id. An answer that used cached entries near their end owes a
    /// refresh ([`Answered`]).
    pub async fn handle(&self, request: Request<InboundBody>) -> Answered {
        let request_id = self.request_ids.next_id();
        let span = tracing::info_span!("request", request_id = %request_id);
        self.handle_logged(request, request_id)
            .instrument(span)
            .await
    }

    async fn handle_logged(&self, request: Request<InboundBody>, request_id: String) -> Answered {
        let started = self.clock.monotonic();
        let mut trace = Trace {
            arrived: self.clock.unix_time(),
            ..Trace::default()
        };
        let route = Route::recognise(request.uri().path())
            .filter(|route| *route != Route::DemoPage || self.settings.demo_page);
        let mut answer = match route {
            None => response::error(
                ApiError::RouteNotFound,
                ErrorStyle::V1 {
                    not_found_max_age: 0,
                },
            ),
            Some(route) => self.route(route, &request, &mut trace).await,
        };
        if route.is_some_and(Route::is_stock_data) {
            validators::tag_and_revalidate(&mut answer, request.headers());
        }
        let headers = answer.headers_mut();
        cors::decorate(
            &self.settings.allowed_origins,
            request.headers().get(ORIGIN),
            headers,
        );
        if let (Some(route), &Method::OPTIONS) = (route, request.method()) {
            cors::allow_preflight(route.allow(), headers);
        }
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert(X_REQUEST_ID, value);
        }
        if let Some(status) = trace.cache {
            headers.insert(X_CACHE, HeaderValue::from_static(status.as_str()));
        }
        if let Some(age) = trace.age {
            headers.insert(AGE, HeaderValue::from(age.as_secs()));
        }
        let route_name = route.map_or("unknown", Route::name);
        self.request_stats
            .record(route_name, answer.status().as_u16(), trace.cache);
        let latency = self.clock.monotonic().saturating_sub(started);
        tracing::info!(
            // Also on the line itself, not only in its span: `jq .request_id` finds it.
            request_id = %request_id,
            method = %request.method(),
            route = route_name,
            status = answer.status().as_u16(),
            latency_ms = millis(latency),
            upstream_ms = trace.upstream.map(millis),
            cache = trace.cache.map(CacheStatus::as_str),
            "request"
        );
        Answered {
            response: answer,
            refresh: trace.refresh,
        }
    }

    async fn route(
        &self,
        route: Route<'_>,
        request: &Request<InboundBody>,
        trace: &mut Trace,
    ) -> Response<Bytes> {
        if request.method() == Method::OPTIONS {
            return response::preflight(route);
        }
        if !route.accepts(request.method()) {
            return response::method_not_allowed(route, self.error_style(route, trace));
        }
        // A request the platform could not name a caller for shares one allowance with every
        // other such request (fail closed), under an address no client has.
        let ip = request
            .extensions()
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ClientIp(ip)| *ip);
        if let Err(retry_after_secs) = self.limiter.check(ip, self.clock.monotonic()).await {
            return self.error(route, ApiError::RateLimited { retry_after_secs }, trace);
        }
        // The gateway's own answers count too (the OpenAPI document is 46 KB): a caller
        // cannot use them to load the gateway beyond its allowance.
        if route.is_local() {
            return local_answer(route, request, &self.source).await;
        }
        trace.caller = Some(caller_key(ip));
        let query = request.uri().query();
        let content_type = || {
            request
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
        };
        let answer = match route {
            Route::StoreProductByPath(segment) => match RecordId::parse(segment) {
                Ok(id) => self.one_record(id, trace).await,
                Err(error) => Err(ApiError::InvalidId(error)),
            },
            Route::StoreProductsByQuery => match ids_from_query(query) {
                Ok(Wanted::One(id)) => self.one_record(id, trace).await,
                Ok(Wanted::Many(ids)) => self.many_records(&ids, trace).await,
                Err(error) => Err(error),
            },
            Route::ProductStock(segment) => {
                let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
                match (ProductId::parse(segment), product_view::view(query, accept)) {
                    (Ok(id), Ok(view)) => self.product_stock(id, view, trace).await,
                    (Err(error), _) => Err(ApiError::InvalidId(error)),
                    (_, Err(error)) => Err(error),
                }
            }
            Route::BitrixGet => match id_from_bitrix_call(content_type(), request.body(), query) {
                Ok(id) => self.bitrix_record(id, trace).await,
                Err(error) => Err(error),
            },
            Route::BitrixBatch => match parse_batch(content_type(), request.body(), query) {
                Ok(batch) => Ok(self.bitrix_batch(batch, trace).await),
                Err(error) => Err(error),
            },
            Route::WebhookCodeSent => Err(ApiError::WebhookCodeSent),
            Route::Health | Route::OpenApi | Route::Widget | Route::DemoPage => {
                Ok(local_answer(route, request, &self.source).await)
            }
        };
        answer.unwrap_or_else(|error| self.error(route, error, trace))
    }
}

impl<Src, C: Clock, L> Gateway<Src, C, L> {
    fn error(&self, route: Route<'_>, error: ApiError, trace: &Trace) -> Response<Bytes> {
        response::error(error, self.error_style(route, trace))
    }

    fn error_style(&self, route: Route<'_>, trace: &Trace) -> ErrorStyle {
        if route.speaks_bitrix() {
            ErrorStyle::Bitrix(self.timing(trace))
        } else {
            ErrorStyle::V1 {
                not_found_max_age: self.settings.negative_ttl.as_secs(),
            }
        }
    }

    /// The gateway's own timing of this request, for Bitrix `time` objects.
    fn timing(&self, trace: &Trace) -> Timing {
        Timing {
            start: trace.arrived,
            finish: self.clock.unix_time(),
        }
    }
}

/// The gateway's own answers, made without the portal: health and the embedded files.
async fn local_answer<Src: StockSource>(
    route: Route<'_>,
    request: &Request<InboundBody>,
    source: &Src,
) -> Response<Bytes> {
    let headers = request.headers();
    match route {
        Route::OpenApi => storefront::openapi(headers),
        Route::Widget => storefront::widget(request.uri().query(), headers),
        Route::DemoPage => storefront::demo_page(headers),
        _ => response::health(&source.health().await),
    }
}

/// What fresh answers let caches do past their `max-age`: serve for one more promise (a
/// lifetime, or a mirror's interval) while asking again, and for the stale window while the
/// gateway fails.
fn revalidation(settings: &Settings) -> Revalidation {
    let promise = match settings.source {
        SourceMode::OnDemand => settings.cache_ttl,
        SourceMode::Mirror => settings.mirror_interval,
    };
    Revalidation {
        while_revalidate_secs: promise.as_secs(),
        if_error_secs: settings.stale_if_error.as_secs(),
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
