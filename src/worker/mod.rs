//! The Cloudflare Worker adapter (wasm32 only): `#[event(fetch)]` hands each request to the
//! core and returns its answer. The platform pieces: `fetch` with an abort deadline
//! (`transport`), the JS clock (`clock`), the Cache API (`cache_api`), the `[[ratelimits]]`
//! binding (`ratelimit`) and console logging (`logging`).
//!
//! One gateway per isolate, built on the first request (the isolate is single-threaded), so
//! the core's per-isolate cache, coalescing and portal budget live as long as the isolate.

mod cache_api;
mod clock;
mod coordinator;
mod coordinator_link;
mod entropy;
mod logging;
mod metrics;
mod ratelimit;
mod table_store;
mod transport;
mod upstream;

use std::cell::RefCell;
use std::net::IpAddr;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::HeaderValue;
use wasm_bindgen::JsValue;
use worker::{event, Context, Env};

use crate::core::api::request::{InboundBody, HEADERS_READ, MAX_REQUEST_BODY_BYTES};
use crate::core::config::log_settings::LogSettings;
use crate::core::config::variables::refuse_unknown;
use crate::core::config::{
    webhook_from, ConfigError, CoordinatorMode, Settings, SourceMode, WEBHOOK_VAR,
};
use crate::core::coordination::upstream::CoordinatorUpstream;
use crate::core::domain::caller::ClientIp;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::gateway::Gateway;
use crate::core::portal::exchange::PortalExecutor;
use crate::core::source::flights::Waiting;
use crate::core::source::on_demand::OnDemand;
use crate::core::source::upstream::PortalUpstream;

use cache_api::CacheApi;
use clock::JsClock;
use coordinator_link::DurableObjectLink;
use metrics::MetricsLog;
use ratelimit::{CallerLimit, FallbackBinding};
use transport::FetchPortal;
use upstream::IsolateUpstream;

pub use coordinator::PortalCoordinator;

type WorkerGateway = Gateway<OnDemand<IsolateUpstream, JsClock, CacheApi>, JsClock, CallerLimit>;

/// A request woken by another one resumes in that one's I/O context and could not answer
/// ("Cannot perform I/O on behalf of a different request"): waiters for a shared portal call
/// look for its result on their own timer.
const WAITING: Waiting = Waiting::Polling(Duration::from_millis(10));

thread_local! {
    static GATEWAY: RefCell<Option<Rc<WorkerGateway>>> = const { RefCell::new(None) };
    static METRICS_LOG: std::cell::OnceCell<MetricsLog> = const { std::cell::OnceCell::new() };
}

#[event(start)]
fn start() {
    std::panic::set_hook(Box::new(logging::report_panic));
}

#[event(fetch)]
async fn fetch(
    request: worker::Request,
    env: Env,
    ctx: Context,
) -> worker::Result<worker::Response> {
    // Invalid log settings log with the defaults; isolate_gateway then refuses them.
    logging::init(|| log_settings(&env).unwrap_or_default());
    let gateway = match isolate_gateway(&env) {
        Ok(gateway) => gateway,
        Err(error) => {
            // Names the variable, never its value.
            tracing::error!(
                variable = error.variable,
                reason = %error.reason,
                "configuration problem: fix the Worker's [vars] or secrets"
            );
            return Ok(misconfigured());
        }
    };
    let head = request.method() == worker::Method::Head;
    let inbound = inbound(request).await;
    let (answer, refresh) = gateway.handle(inbound).await.into_parts();
    METRICS_LOG.with(|log| {
        let log = log.get_or_init(|| {
            MetricsLog::new(metrics::interval_from(
                env_text(&env, "STOCK_METRICS_INTERVAL_SECS").as_deref(),
            ))
        });
        log.maybe_log(js_clock_now(), || gateway.metrics());
    });
    if !refresh.is_empty() {
        // Runs after the answer is sent, in this request's own context.
        let gateway = gateway.clone();
        ctx.wait_until(async move { gateway.refresh(refresh).await });
    }
    Ok(outbound(answer, head))
}

/// The isolate's gateway, built from `[vars]` and the secret on first use. A configuration
/// error is not kept: the next request tries again.
fn isolate_gateway(env: &Env) -> Result<Rc<WorkerGateway>, ConfigError> {
    if let Some(gateway) = GATEWAY.with(|g| g.borrow().clone()) {
        return Ok(gateway);
    }
    log_settings(env)?;
    refuse_unknown(env_names(env).iter().map(String::as_str))?;
    let settings = Settings::from_lookup(|name| env_text(env, name))?;
    let webhook = {
        let secret = env.secret(WEBHOOK_VAR).ok().map(|s| s.to_string());
        webhook_from(WEBHOOK_VAR, secret.as_deref())?
    };
    let limiter = CallerLimit::new(
        env.rate_limiter(ratelimit::BINDING).ok(),
        settings.rate_limit_per_min,
    );
    let shared_cache = CacheApi::new(&settings, &webhook);
    let upstream = isolate_upstream(env, &settings, webhook)?;
    tracing::info!(
        caller_limit = limiter.describe(),
        portal_budget = upstream.describe(),
        "gateway ready in this isolate"
    );
    let clock = JsClock::new();
    let source =
        OnDemand::new(&settings, upstream, clock.clone(), WAITING).with_shared_cache(shared_cache);
    // (Math.random only if the runtime had no crypto, which it always has.)
    let seed = entropy::seed().unwrap_or_else(|| (js_sys::Math::random() * 2f64.powi(53)) as u128);
    let gateway = Rc::new(Gateway::new(settings, source, clock, seed).with_limiter(limiter));
    GATEWAY.with(|g| *g.borrow_mut() = Some(gateway.clone()));
    Ok(gateway)
}

pub(super) fn log_settings(env: &Env) -> Result<LogSettings, ConfigError> {
    LogSettings::from_values(
        env_text(env, "RUST_LOG").as_deref(),
        env_text(env, "STOCK_LOG_FORMAT").as_deref(),
    )
}

/// The portal budget this isolate spends through: the coordinator's when its binding exists
/// (or `STOCK_PORTAL_COORDINATOR=durable_object` demands it), else its own share.
fn isolate_upstream(
    env: &Env,
    settings: &Settings,
    webhook: WebhookUrl,
) -> Result<IsolateUpstream, ConfigError> {
    let own = |budget| {
        let executor =
            PortalExecutor::from_settings(settings, FetchPortal::new(webhook.clone()), budget);
        PortalUpstream::new(settings, executor, WAITING)
    };
    let binding = env.durable_object(coordinator::BINDING).ok();
    if settings.source == SourceMode::Mirror
        && (settings.coordinator == CoordinatorMode::Isolate || binding.is_none())
    {
        // Every isolate would sweep on its own: one sweep per deployment needs the object.
        return Err(ConfigError {
            variable: "STOCK_SOURCE",
            reason: format!(
                "is mirror, which needs the portal coordinator (the {} binding, \
                 STOCK_PORTAL_COORDINATOR not isolate)",
                coordinator::BINDING
            ),
        });
    }
    match (settings.coordinator, binding) {
        (CoordinatorMode::Isolate, _) | (CoordinatorMode::Auto, None) => {
            Ok(IsolateUpstream::Isolate(own(settings.budget)))
        }
        (_, Some(namespace)) => {
            let name = coordinator::object_name(&webhook);
            let allowance = FallbackBinding::new(
                env.rate_limiter(ratelimit::FALLBACK_BINDING).ok(),
                name.clone(),
            );
            Ok(IsolateUpstream::Coordinated(
                CoordinatorUpstream::new(
                    DurableObjectLink::new(namespace, name),
                    own(settings.fallback_budget),
                )
                .with_allowance(allowance),
            ))
        }
        (CoordinatorMode::DurableObject, None) => Err(ConfigError {
            variable: "STOCK_PORTAL_COORDINATOR",
            reason: format!(
                "is durable_object, but the {} binding is missing",
                coordinator::BINDING
            ),
        }),
    }
}

/// A monotonic-enough reading for metrics intervals (the JS clock, in the isolate).
fn js_clock_now() -> Duration {
    Duration::from_secs_f64(js_sys::Date::now().max(0.0) / 1000.0)
}

/// A `[vars]` value as text. Numbers and booleans written without quotes in wrangler.toml
/// arrive as JS numbers and booleans: read them too rather than silently using a default.
/// The names the Worker was given: `[vars]`, secrets and bindings.
fn env_names(env: &Env) -> Vec<String> {
    js_sys::Reflect::own_keys(env)
        .map(|keys| keys.iter().filter_map(|key| key.as_string()).collect())
        .unwrap_or_default()
}

pub(crate) fn env_text(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if let Some(text) = value.as_string() {
        Some(text)
    } else if let Some(number) = value.as_f64() {
        Some(number.to_string())
    } else {
        value.as_bool().map(|b| b.to_string())
    }
}

/// The Workers request as the core's: method, path and query, headers, the body up to the
/// limit, and the caller's address from `CF-Connecting-IP` (set by Cloudflare's edge).
async fn inbound(mut request: worker::Request) -> http::Request<InboundBody> {
    let method =
        http::Method::from_bytes(request.inner().method().as_bytes()).unwrap_or(http::Method::GET);
    // The path and query of the URL workerd hands over (an absolute URL: http::Uri reads it).
    let target = request
        .inner()
        .url()
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_string()))
        .unwrap_or_else(|| "/".to_string());
    let mut builder = http::Request::builder().method(method.clone());
    if let Ok(uri) = target.parse::<http::Uri>() {
        builder = builder.uri(uri);
    }
    // Read in place (a copy of the Headers object would be one more for every request), and
    // only what the core reads: each header is a call into JavaScript.
    let headers = request.headers();
    if let Some(map) = builder.headers_mut() {
        for name in HEADERS_READ {
            let value = headers.get(name.as_str()).ok().flatten();
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                map.insert(name, value);
            }
        }
    }
    let client = headers
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok());
    let body = if method == http::Method::GET || method == http::Method::HEAD {
        InboundBody::Empty
    } else {
        let declared = headers.get("content-length").ok().flatten();
        read_body(&mut request, declared).await
    };
    let mut inbound = builder
        .body(body)
        .unwrap_or_else(|_| http::Request::new(InboundBody::Empty));
    if let Some(ip) = client {
        inbound.extensions_mut().insert(ClientIp(ip));
    }
    inbound
}

/// Reads at most one byte past the limit, so a huge body is never buffered.
async fn read_body(request: &mut worker::Request, declared: Option<String>) -> InboundBody {
    let declared = declared.and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_REQUEST_BODY_BYTES as u64) {
        return InboundBody::TooLarge;
    }
    let Ok(stream) = request.stream() else {
        return InboundBody::Empty;
    };
    let mut stream = pin!(stream);
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            break;
        };
        buffer.extend_from_slice(&chunk);
        if buffer.len() > MAX_REQUEST_BODY_BYTES {
            return InboundBody::TooLarge;
        }
    }
    InboundBody::from_bytes(buffer.freeze())
}

/// The core's answer as a Workers response. Empty bodies go out as no body at all: `new
/// Response` refuses a body on 204. A `HEAD` answer (the core renders the GET's body) goes out
/// without body or `Content-Length`. A body the core already compressed (`/openapi.json`,
/// `/widget.js`) goes out as it is: by default the runtime would compress it again.
fn outbound(answer: http::Response<Bytes>, head: bool) -> worker::Response {
    let (parts, body) = answer.into_parts();
    let encode_body = if parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        worker::EncodeBody::Manual
    } else {
        worker::EncodeBody::Automatic
    };
    let headers = worker::Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            let _ = headers.append(name.as_str(), value);
        }
    }
    let builder = worker::Response::builder()
        .with_status(parts.status.as_u16())
        .with_headers(headers)
        .with_encode_body(encode_body);
    if head || body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(body.to_vec())
    }
}

/// Every request while the configuration is broken: our own message, nothing cached.
fn misconfigured() -> worker::Response {
    let headers = worker::Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("x-content-type-options", "nosniff");
    worker::Response::builder()
        .with_status(500)
        .with_headers(headers)
        .fixed(
            br#"{"error":{"code":"misconfigured","message":"The gateway is not configured; its operator has been told."}}"#
                .to_vec(),
        )
}
