//! The whole public API as one function from request to response, over the platform ports:
//! routing, the caller limit, the cache, the portal budget and the upstream call.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, ORIGIN};
use http::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use crate::core::api::api_error::ApiError;
use crate::core::api::cors;
use crate::core::api::render::{render_record, RenderedRecord};
use crate::core::api::request::{id_from_bitrix_call, id_from_query, InboundBody};
use crate::core::api::response;
use crate::core::api::routes::Route;
use crate::core::config::Settings;
use crate::core::portal::answer::Refusal;
use crate::core::portal::call::{fetch_record, Fetched};
use crate::core::ports::{Clock, PortalTransport};
use crate::core::protection::budget::PortalBudget;
use crate::core::protection::cache::{CacheStatus, Cached, StockCache, Waiting};
use crate::core::protection::caller_limit::{CallerLimiter, InProcessLimiter};
use crate::core::protection::client_ip::ClientIp;
use crate::core::protection::operating_time::OperatingGuard;
use crate::core::protection::shared_cache::{NoSharedCache, SharedCache};
use crate::core::request_id::RequestIds;
use crate::core::stock::id::RecordId;

/// The gateway, generic over the platform's ports so each adapter gets concrete (and, on
/// native, `Send`) futures. Build one per process (or isolate) and share it.
pub struct Gateway<T, C, L = InProcessLimiter, S = NoSharedCache> {
    settings: Settings,
    transport: T,
    clock: C,
    limiter: L,
    shared_cache: S,
    cache: StockCache,
    budget: PortalBudget,
    operating: OperatingGuard,
    request_ids: RequestIds,
    /// `Cache-Control` of a fresh record, made once.
    fresh_cache_control: HeaderValue,
}

/// What one request cost, for its log line and headers.
#[derive(Default)]
struct Trace {
    cache: Option<CacheStatus>,
    age: Option<Duration>,
    upstream: Option<Duration>,
}

impl<T: PortalTransport, C: Clock> Gateway<T, C> {
    /// A gateway with the in-process caller limit (`STOCK_RATE_LIMIT_PER_MIN`) and no shared
    /// cache; `with_limiter` and `with_shared_cache` swap in a platform's own.
    pub fn new(settings: Settings, transport: T, clock: C) -> Self {
        Self {
            cache: StockCache::new(settings.cache_max_entries, settings.stale_if_error),
            budget: PortalBudget::new(settings.budget),
            operating: OperatingGuard::new(settings.operating_limit_secs),
            request_ids: RequestIds::new(clock.unix_time()),
            limiter: InProcessLimiter::new(settings.rate_limit_per_min),
            shared_cache: NoSharedCache,
            fresh_cache_control: HeaderValue::from_str(&format!(
                "public, max-age={}",
                settings.cache_ttl.as_secs()
            ))
            .unwrap_or(HeaderValue::from_static("no-store")),
            settings,
            transport,
            clock,
        }
    }
}

impl<T, C, L, S> Gateway<T, C, L, S> {
    pub fn with_limiter<L2: CallerLimiter>(self, limiter: L2) -> Gateway<T, C, L2, S> {
        Gateway {
            settings: self.settings,
            transport: self.transport,
            clock: self.clock,
            limiter,
            shared_cache: self.shared_cache,
            cache: self.cache,
            budget: self.budget,
            operating: self.operating,
            request_ids: self.request_ids,
            fresh_cache_control: self.fresh_cache_control,
        }
    }

    /// How callers waiting for another caller's portal call learn its result; see
    /// [`Waiting`] (the Worker needs [`Waiting::Polling`]).
    pub fn with_waiting(mut self, waiting: Waiting) -> Self {
        self.cache = self.cache.with_waiting(waiting);
        self
    }

    pub fn with_shared_cache<S2: SharedCache>(self, shared_cache: S2) -> Gateway<T, C, L, S2> {
        Gateway {
            settings: self.settings,
            transport: self.transport,
            clock: self.clock,
            limiter: self.limiter,
            shared_cache,
            cache: self.cache,
            budget: self.budget,
            operating: self.operating,
            request_ids: self.request_ids,
            fresh_cache_control: self.fresh_cache_control,
        }
    }
}

impl<T: PortalTransport, C: Clock, L: CallerLimiter, S: SharedCache> Gateway<T, C, L, S> {
    /// Answers one request and writes one log line about it; every line logged meanwhile
    /// carries the request id.
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
        let mut trace = Trace::default();
        let route = Route::recognise(request.uri().path());
        let mut answer = match route {
            None => response::error(ApiError::RouteNotFound, false, 0),
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
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", value);
        }
        if let Some(status) = trace.cache {
            headers.insert("x-cache", HeaderValue::from_static(status.as_str()));
        }
        if let Some(age) = trace.age {
            headers.insert("age", HeaderValue::from(age.as_secs()));
        }
        let latency = self.clock.monotonic().saturating_sub(started);
        tracing::info!(
            method = %request.method(),
            route = route.map_or("unknown", Route::name),
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
        let bitrix = route.speaks_bitrix();
        if request.method() == Method::OPTIONS {
            return response::preflight(route);
        }
        if !route.accepts(request.method()) {
            return response::method_not_allowed(route);
        }
        if route == Route::Health {
            return response::health();
        }
        if let Some(ClientIp(ip)) = request.extensions().get::<ClientIp>() {
            if let Err(retry_after_secs) = self.limiter.check(*ip, self.clock.monotonic()).await {
                return self.error(ApiError::RateLimited { retry_after_secs }, bitrix);
            }
        }
        let query = request.uri().query();
        let id = match route {
            Route::StoreProductByPath(segment) => {
                RecordId::parse(segment).map_err(ApiError::InvalidId)
            }
            Route::BitrixGet => {
                let content_type = request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                id_from_bitrix_call(content_type, request.body(), query)
            }
            Route::StoreProductByQuery | Route::Health => id_from_query(query),
        };
        let record = match id {
            Ok(id) => self.lookup(id, trace).await,
            Err(error) => Err(error),
        };
        match record {
            Ok(record) => {
                let body = if bitrix { record.bitrix } else { record.v1 };
                let cache_control = if trace.cache == Some(CacheStatus::Stale) {
                    // Served past its life because the portal failed: nobody should keep it.
                    HeaderValue::from_static("no-store")
                } else {
                    self.fresh_cache_control.clone()
                };
                response::json(StatusCode::OK, body, cache_control)
            }
            Err(error) => self.error(error, bitrix),
        }
    }

    fn error(&self, error: ApiError, bitrix: bool) -> Response<Bytes> {
        response::error(error, bitrix, self.settings.negative_ttl.as_secs())
    }

    /// Cache first; on a miss one shared portal call; on a portal failure the last good answer
    /// if it is recent enough.
    async fn lookup(&self, id: RecordId, trace: &mut Trace) -> Result<RenderedRecord, ApiError> {
        if let Some((value, age)) = self.cache.fresh(id, self.clock.monotonic()) {
            trace.cache = Some(CacheStatus::Hit);
            trace.age = Some(age);
            return served(value);
        }
        if let Some((value, age)) = self.shared_cache.get(id).await {
            trace.cache = Some(CacheStatus::Hit);
            trace.age = Some(age);
            let ttl = match value {
                Cached::Record(_) => self.settings.cache_ttl,
                Cached::Missing => self.settings.negative_ttl,
            };
            // Keep it locally for what is left of its life.
            let stored_at = self.clock.monotonic().saturating_sub(age);
            self.cache.store(id, value.clone(), stored_at, ttl);
            return served(value);
        }
        trace.cache = Some(CacheStatus::Miss);
        let upstream = &mut trace.upstream;
        let result = self
            .cache
            .coalesce(
                id,
                || self.fetch_and_store(id, upstream),
                |pause| self.clock.sleep(pause),
            )
            .await;
        match result {
            Ok(value) => served(value),
            Err(error) if error.is_upstream_failure() => {
                match self.cache.stale(id, self.clock.monotonic()) {
                    Some((value, age)) => {
                        trace.cache = Some(CacheStatus::Stale);
                        trace.age = Some(age);
                        served(value)
                    }
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn fetch_and_store(
        &self,
        id: RecordId,
        upstream: &mut Option<Duration>,
    ) -> Result<Cached, ApiError> {
        if let Err(retry_after_secs) = self.operating.check(self.clock.unix_time()) {
            return Err(ApiError::UpstreamBusy { retry_after_secs });
        }
        let started = self.clock.monotonic();
        let lookup = fetch_record(
            &self.transport,
            &self.clock,
            &self.budget,
            id,
            self.settings.upstream_timeout,
        )
        .await;
        if lookup.calls > 0 {
            *upstream = Some(self.clock.monotonic().saturating_sub(started));
        }
        let blocked = lookup.refusal == Some(Refusal::OperationTimeLimit);
        self.operating
            .observe(lookup.operating, blocked, self.clock.unix_time());
        let now = self.clock.monotonic();
        match lookup.outcome {
            Ok(Fetched::Found(record)) if self.settings.policy.admits(&record) => {
                let value = Cached::Record(render_record(&self.settings.policy, &record));
                self.remember(id, &value, now, self.settings.cache_ttl)
                    .await;
                Ok(value)
            }
            // Missing, or in a hidden warehouse: the same answer either way.
            Ok(_) => {
                let value = Cached::Missing;
                self.remember(id, &value, now, self.settings.negative_ttl)
                    .await;
                Ok(value)
            }
            Err(error) => Err(error),
        }
    }

    async fn remember(&self, id: RecordId, value: &Cached, now: Duration, ttl: Duration) {
        self.cache.store(id, value.clone(), now, ttl);
        if !ttl.is_zero() {
            self.shared_cache.put(id, value, ttl).await;
        }
    }
}

fn served(value: Cached) -> Result<RenderedRecord, ApiError> {
    match value {
        Cached::Record(record) => Ok(record),
        Cached::Missing => Err(ApiError::NotFound),
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}
