//! The whole public API as one function from request to response, over the platform ports:
//! routing, the caller limit, the caches, batching, the portal budget and the upstream call.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AGE, CONTENT_TYPE, ORIGIN, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Request, Response};
use tracing::Instrument;

use crate::core::api::api_error::ApiError;
use crate::core::api::bitrix_batch::parse_batch;
use crate::core::api::bitrix_time::Timing;
use crate::core::api::cors;
use crate::core::api::request::{id_from_bitrix_call, ids_from_query, InboundBody, Wanted};
use crate::core::api::response::{self, max_age, ErrorStyle};
use crate::core::api::routes::Route;
use crate::core::api::storefront;
use crate::core::config::{ListStoreFilter, Settings};
use crate::core::lookup::cached::Cached;
use crate::core::lookup::refresh::Refresh;
use crate::core::lookup::Fetched;
use crate::core::metrics::{RequestStats, Snapshot};
use crate::core::portal::command::StoreFilter;
use crate::core::portal::exchange::{Executor, PortalExecutor};
use crate::core::ports::{Clock, PortalTransport};
use crate::core::protection::batcher::Batcher;
use crate::core::protection::budget::PortalBudget;
use crate::core::protection::cache::{CacheStatus, TtlCache};
use crate::core::protection::caller_limit::{CallerLimiter, InProcessLimiter};
use crate::core::protection::client_ip::ClientIp;
use crate::core::protection::flights::{Flights, Waiting};
use crate::core::protection::operating_time::OperatingGuard;
use crate::core::protection::shared_cache::{NoSharedCache, SharedCache};
use crate::core::request_id::RequestIds;
use crate::core::stock::id::{ProductId, RecordId};

/// Our own headers, parsed once.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// A flight whose leader vanished is taken over this long after its deadline.
const FLIGHT_MARGIN: Duration = Duration::from_secs(1);

/// The gateway, generic over the platform's ports so each adapter gets concrete (and, on
/// native, `Send`) futures. Build one per process (or isolate) and share it.
pub struct Gateway<E, C, L = InProcessLimiter, S = NoSharedCache> {
    pub(crate) settings: Settings,
    pub(crate) executor: E,
    pub(crate) clock: C,
    limiter: L,
    pub(crate) shared_cache: S,
    pub(crate) records: TtlCache<RecordId, Cached>,
    pub(crate) products: TtlCache<ProductId, Cached>,
    pub(crate) batcher: Batcher<Fetched>,
    pub(crate) product_flights: Flights<ProductId, Result<Cached, ApiError>>,
    pub(crate) waiting: Waiting,
    request_ids: RequestIds,
    request_stats: RequestStats,
    /// `Cache-Control` of a fresh answer, made once.
    pub(crate) fresh_cache_control: HeaderValue,
}

/// What one request cost, for its log line and headers.
#[derive(Default)]
pub(crate) struct Trace {
    pub cache: Option<CacheStatus>,
    pub age: Option<Duration>,
    pub upstream: Option<Duration>,
    pub refresh: Refresh,
    /// When the request arrived (Unix time), for Bitrix `time` objects.
    pub arrived: Duration,
}

impl Trace {
    /// Folds one part's cache status into the answer's: a miss anywhere makes it a miss, else
    /// a stale part makes it stale; the age is the oldest part's.
    pub fn saw(&mut self, status: CacheStatus, age: Option<Duration>) {
        self.cache = Some(match (self.cache, status) {
            (Some(CacheStatus::Miss), _) | (_, CacheStatus::Miss) => CacheStatus::Miss,
            (Some(CacheStatus::Stale), _) | (_, CacheStatus::Stale) => CacheStatus::Stale,
            _ => CacheStatus::Hit,
        });
        self.age = match (self.cache, self.age, age) {
            (Some(CacheStatus::Miss), _, _) => None,
            (_, Some(a), Some(b)) => Some(a.max(b)),
            (_, a, b) => a.or(b),
        };
    }
}

impl<T: PortalTransport, C: Clock> Gateway<PortalExecutor<T>, C> {
    /// A gateway that calls the portal itself, with the in-process caller limit
    /// (`STOCK_RATE_LIMIT_PER_MIN`) and no shared cache; the `with_*` methods swap in a
    /// platform's own pieces.
    pub fn new(settings: Settings, transport: T, clock: C) -> Self {
        let executor = PortalExecutor::new(
            transport,
            PortalBudget::new(settings.budget),
            OperatingGuard::new(settings.operating_limit_secs),
            store_filter(&settings),
        );
        Gateway::with_executor(settings, executor, clock)
    }
}

/// The warehouses product reads ask the portal for.
pub fn store_filter(settings: &Settings) -> StoreFilter {
    StoreFilter {
        stores: match settings.list_store_filter {
            ListStoreFilter::Portal => settings.policy.allowed_stores.clone(),
            ListStoreFilter::Gateway => Vec::new(),
        },
    }
}

impl<E: Executor, C: Clock> Gateway<E, C> {
    /// A gateway whose portal reads go through `executor` (the portal itself, or a
    /// coordinator in front of it).
    pub fn with_executor(settings: Settings, executor: E, clock: C) -> Self {
        let waiting = Waiting::Woken;
        Self {
            records: TtlCache::new(settings.cache_max_entries, settings.stale_if_error),
            products: TtlCache::new(settings.cache_max_entries, settings.stale_if_error),
            batcher: batcher(&settings, waiting),
            product_flights: Flights::new(product_flight_lifetime(&settings)),
            waiting,
            request_ids: RequestIds::new(clock.unix_time()),
            request_stats: RequestStats::default(),
            limiter: InProcessLimiter::new(settings.rate_limit_per_min),
            shared_cache: NoSharedCache,
            fresh_cache_control: max_age(settings.cache_ttl.as_secs()),
            settings,
            executor,
            clock,
        }
    }
}

fn batcher(settings: &Settings, waiting: Waiting) -> Batcher<Fetched> {
    Batcher::new(
        settings.batch_window,
        settings.upstream_timeout + FLIGHT_MARGIN,
        waiting,
    )
}

/// A product read is two exchanges at most (the first page, then the rest in one batch).
fn product_flight_lifetime(settings: &Settings) -> Duration {
    settings.upstream_timeout * 2 + FLIGHT_MARGIN
}

impl<E, C, L, S> Gateway<E, C, L, S> {
    pub fn with_limiter<L2: CallerLimiter>(self, limiter: L2) -> Gateway<E, C, L2, S> {
        Gateway {
            settings: self.settings,
            executor: self.executor,
            clock: self.clock,
            limiter,
            shared_cache: self.shared_cache,
            records: self.records,
            products: self.products,
            batcher: self.batcher,
            product_flights: self.product_flights,
            waiting: self.waiting,
            request_ids: self.request_ids,
            request_stats: self.request_stats,
            fresh_cache_control: self.fresh_cache_control,
        }
    }

    /// How callers waiting for another caller's portal call learn its result; see
    /// [`Waiting`] (the Worker needs [`Waiting::Polling`]).
    pub fn with_waiting(mut self, waiting: Waiting) -> Self {
        self.batcher = batcher(&self.settings, waiting);
        self.waiting = waiting;
        self
    }

    pub fn with_shared_cache<S2: SharedCache>(self, shared_cache: S2) -> Gateway<E, C, L, S2> {
        Gateway {
            settings: self.settings,
            executor: self.executor,
            clock: self.clock,
            limiter: self.limiter,
            shared_cache,
            records: self.records,
            products: self.products,
            batcher: self.batcher,
            product_flights: self.product_flights,
            waiting: self.waiting,
            request_ids: self.request_ids,
            request_stats: self.request_stats,
            fresh_cache_control: self.fresh_cache_control,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl<E: Executor, C: Clock, L, S> Gateway<E, C, L, S> {
    /// Everything counted since start, and the budget level now.
    pub fn metrics(&self) -> Snapshot {
        Snapshot {
            cache_entries: (self.records.len() + self.products.len()) as u64,
            ..Snapshot::read(
                &self.request_stats,
                self.batcher.stats(),
                self.executor.budget_level(self.clock.monotonic()),
            )
        }
    }
}

impl<E: Executor, C: Clock, L: CallerLimiter, S: SharedCache> Gateway<E, C, L, S> {
    /// Answers one request and writes one log line about it; every line logged meanwhile
    /// carries the request id. An answer that used cached entries near their end carries a
    /// [`Refresh`] extension: the adapter runs [`Gateway::refresh`] with it after answering.
    pub async fn handle(&self, request: Request<InboundBody>) -> Response<Bytes> {
        let request_id = self.request_ids.next_id();
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
        if !trace.refresh.is_empty() {
            answer
                .extensions_mut()
                .insert(std::mem::take(&mut trace.refresh));
        }
        let route_name = route.map_or("unknown", Route::name);
        self.request_stats
            .record(route_name, answer.status().as_u16(), trace.cache);
        let latency = self.clock.monotonic().saturating_sub(started);
        tracing::info!(
            method = %request.method(),
            route = route_name,
            status = answer.status().as_u16(),
            latency_ms = millis(latency),
            upstream_ms = trace.upstream.map(millis),
            cache = trace.cache.map(CacheStatus::as_str),
            "request"
        );
        answer
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
        if route.is_local() {
            return local_answer(route, request);
        }
        if let Some(ClientIp(ip)) = request.extensions().get::<ClientIp>() {
            if let Err(retry_after_secs) = self.limiter.check(*ip, self.clock.monotonic()).await {
                return self.error(route, ApiError::RateLimited { retry_after_secs }, trace);
            }
        }
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
                Ok(Wanted::Many(ids)) => Ok(self.many_records(&ids, trace).await),
                Err(error) => Err(error),
            },
            Route::ProductStock(segment) => match ProductId::parse(segment) {
                Ok(id) => self.product_stock(id, trace).await,
                Err(error) => Err(ApiError::InvalidId(error)),
            },
            Route::BitrixGet => match id_from_bitrix_call(content_type(), request.body(), query) {
                Ok(id) => self.bitrix_record(id, trace).await,
                Err(error) => Err(error),
            },
            Route::BitrixBatch => match parse_batch(content_type(), request.body(), query) {
                Ok(batch) => Ok(self.bitrix_batch(batch, trace).await),
                Err(error) => Err(error),
            },
            Route::Health | Route::OpenApi | Route::Widget | Route::DemoPage => {
                Ok(local_answer(route, request))
            }
        };
        answer.unwrap_or_else(|error| self.error(route, error, trace))
    }
}

impl<E, C: Clock, L, S> Gateway<E, C, L, S> {
    pub(crate) fn error(
        &self,
        route: Route<'_>,
        error: ApiError,
        trace: &Trace,
    ) -> Response<Bytes> {
        response::error(error, self.error_style(route, trace))
    }

    pub(crate) fn error_style(&self, route: Route<'_>, trace: &Trace) -> ErrorStyle {
        if route.speaks_bitrix() {
            ErrorStyle::Bitrix(self.timing(trace))
        } else {
            ErrorStyle::V1 {
                not_found_max_age: self.settings.negative_ttl.as_secs(),
            }
        }
    }

    /// The gateway's own timing of this request, for Bitrix `time` objects.
    pub(crate) fn timing(&self, trace: &Trace) -> Timing {
        Timing {
            start: trace.arrived,
            finish: self.clock.unix_time(),
        }
    }
}

/// The gateway's own answers, made without the portal: health and the embedded files.
fn local_answer(route: Route<'_>, request: &Request<InboundBody>) -> Response<Bytes> {
    let headers = request.headers();
    match route {
        Route::OpenApi => storefront::openapi(headers),
        Route::Widget => storefront::widget(request.uri().query(), headers),
        Route::DemoPage => storefront::demo_page(headers),
        _ => response::health(),
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
