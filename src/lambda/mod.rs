//! The AWS Lambda adapter (`lambda_http`): API Gateway REST (v1) and HTTP API (v2), ALB and
//! Function URL events in, the core's answers out. It translates and supplies the platform's
//! pieces; every rule of the API lives in the core.
//!
//! - [`event`]: event <-> core request/response (stage prefix, client IP, base64 bodies).
//! - [`secret`]: the webhook from Secrets Manager through the Parameters and Secrets extension.
//! - [`transport`]: the portal transport with the cached secret, refreshed on rejection.
//! - [`logging`]: JSON lines for CloudWatch.
//! - [`metrics`]: the gateway's counters as CloudWatch Embedded Metric Format lines.

pub mod event;
pub mod logging;
pub mod metrics;
pub mod s3_table;
pub mod secret;
pub mod transport;

use std::convert::Infallible;

use std::time::Duration;

use crate::core::config::variables::Vars;
use crate::core::config::{webhook_from, ConfigError, Settings, SourceMode, WEBHOOK_VAR};
use crate::core::gateway::Gateway;
use crate::core::source::configured::Configured;
use crate::core::source::mirror::{Mirror, PortalMirror};
use crate::core::source::on_demand::PortalSource;
use crate::core::source::unserved::Unserved;
use crate::native::clock::SystemClock;
use crate::native::entropy;
use crate::native::shared::{SharedLink, SharedState};
use s3_table::S3Table;

pub use secret::SECRET_ARN_VAR;
pub use transport::LambdaPortal;

/// In mirror mode an execution environment only reads the table the sweeper function puts in
/// S3, and never calls the portal: before the first table it answers 503.
pub type MirrorReader = Mirror<Unserved, (), SystemClock, S3Table>;

/// On demand, sharing budget and cache with the other environments through
/// `STOCK_SHARED_STATE` (nothing without it).
pub type LambdaSource =
    Configured<PortalSource<LambdaPortal, SystemClock, SharedState, SharedState>, MirrorReader>;

pub type LambdaGateway = Gateway<LambdaSource, SystemClock>;

/// The sweeper function's mirror: it sweeps through the portal and puts the table in S3.
pub type LambdaSweeper = PortalMirror<LambdaPortal, SystemClock, S3Table>;

/// How often an environment looks for a new table (a conditional GET; no body when unchanged).
pub const TABLE_LOOK_EVERY: Duration = Duration::from_secs(5);

/// `STOCK_LAMBDA_ROLE`: `serve` (HTTP events, the default) or `sweep` (scheduled sweeps).
pub const ROLE_VAR: &str = "STOCK_LAMBDA_ROLE";

/// How long a webhook read from the secret is used before it is read again.
pub const SECRET_MAX_AGE_VAR: &str = "STOCK_SECRET_MAX_AGE_SECS";

/// Builds the gateway from environment-style variables. Nothing here touches the network:
/// the secret and the HTTP client wait for the first call that needs them.
///
/// `B24_WEBHOOK_SECRET_ARN` (Secrets Manager, read at run time) wins over `B24_WEBHOOK_URL`
/// (the webhook itself, for local runs).
pub fn gateway_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<LambdaGateway, ConfigError> {
    let settings = Settings::from_lookup(&lookup)?;
    let clock = SystemClock::default();
    let source = match settings.source {
        SourceMode::OnDemand => {
            let link = SharedLink::from_lookup(&lookup)?;
            let shared = SharedState::for_portal(&link, &settings, &portal_identity(&lookup));
            Configured::OnDemand(PortalSource::over_shared_portal(
                &settings,
                transport_from_lookup(&lookup)?,
                clock,
                shared,
            ))
        }
        SourceMode::Mirror => {
            let unserved = Unserved {
                retry_after: settings.mirror_interval,
            };
            let store = S3Table::from_lookup(&lookup)?;
            Configured::Mirror(Mirror::reader(&settings, unserved, clock, store))
        }
    };
    Ok(Gateway::new(settings, source, clock, entropy::seed()))
}

/// The sweeper function's mirror, from the same variables (mirror mode only).
pub fn sweeper_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<LambdaSweeper, ConfigError> {
    let settings = Settings::from_lookup(&lookup)?;
    if settings.source != SourceMode::Mirror {
        return Err(ConfigError {
            variable: "STOCK_SOURCE",
            reason: format!("must be mirror for {ROLE_VAR}=sweep"),
        });
    }
    let store = S3Table::from_lookup(&lookup)?;
    let transport = transport_from_lookup(&lookup)?;
    Ok(PortalMirror::over_portal(
        &settings,
        transport,
        SystemClock::default(),
        store,
    ))
}

/// What names the portal in shared keys before its webhook is read: the secret's id, or the
/// webhook's portal and user (never its code).
fn portal_identity(lookup: impl Fn(&str) -> Option<String>) -> String {
    if let Some(id) = lookup(SECRET_ARN_VAR).filter(|v| !v.trim().is_empty()) {
        return format!("secret:{}", id.trim());
    }
    lookup(WEBHOOK_VAR)
        .and_then(|v| webhook_from(WEBHOOK_VAR, Some(&v)).ok())
        .map(|w| w.portal_identity())
        .unwrap_or_default()
}

/// `B24_WEBHOOK_SECRET_ARN` (Secrets Manager, read at run time) wins over `B24_WEBHOOK_URL`
/// (the webhook itself, for local runs).
fn transport_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<LambdaPortal, ConfigError> {
    let secret_id = lookup(SECRET_ARN_VAR).filter(|v| !v.trim().is_empty());
    match secret_id {
        Some(id) => {
            let max_age = Vars::new(&lookup).whole(SECRET_MAX_AGE_VAR)?;
            Ok(LambdaPortal::from_secret(
                secret::SecretsExtension::from_lookup(&id, &lookup)?,
                Duration::from_secs(max_age),
            ))
        }
        None => match lookup(WEBHOOK_VAR).filter(|v| !v.trim().is_empty()) {
            Some(value) => Ok(LambdaPortal::fixed(webhook_from(
                WEBHOOK_VAR,
                Some(&value),
            )?)),
            None => Err(ConfigError {
                variable: SECRET_ARN_VAR,
                reason: format!("is required (or {WEBHOOK_VAR} for local runs)"),
            }),
        },
    }
}

/// One scheduled invocation of the sweeper: one sweep, its table put in S3. Answers what it
/// did (no stock, no secret): `{"swept":true,"rows":…}` or `{"swept":false,"error":code}`.
pub async fn sweep(sweeper: &LambdaSweeper) -> serde_json::Value {
    let result = sweeper.sweep().await;
    metrics::flush_mirror(sweeper);
    match result {
        Ok(()) => serde_json::json!({"swept": true, "rows": sweeper.rows()}),
        Err(error) => serde_json::json!({"swept": false, "error": error.code()}),
    }
}

/// Serves scheduled sweeps until the runtime API goes away.
pub async fn run_sweeper(sweeper: LambdaSweeper) -> Result<(), lambda_runtime::Error> {
    let sweeper: &'static LambdaSweeper = Box::leak(Box::new(sweeper));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Infallible>(sweep(sweeper).await)
        },
    ))
    .await
}

/// One invocation: event in, answer out. Never fails: errors are answers.
///
/// A refresh of answers near their end runs in line, before the answer goes out: the execution
/// environment is frozen between invocations, so a background task would stall mid-call.
pub async fn handle(
    gateway: &LambdaGateway,
    request: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    let head = request.method() == http::Method::HEAD;
    if let Configured::Mirror(reader) = gateway.source() {
        // In line, like the refresh: a frozen environment cannot look in the background.
        reader.load_if_due(TABLE_LOOK_EVERY).await;
    }
    let (answer, refresh) = gateway.handle(event::to_core(request)).await.into_parts();
    gateway.refresh(refresh).await;
    metrics::flush(gateway);
    event::from_core(answer, head)
}

/// Set by Lambda Managed Instances: how many invocations one execution environment serves at
/// once. Unset on classic Lambda (one at a time).
pub const MAX_CONCURRENCY_VAR: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// Invocations this environment serves at once, read as `lambda_runtime` reads it (a whole
/// number above 0; anything else means one at a time), so the async runtime we build matches
/// the number of pollers it starts.
pub fn max_concurrency(lookup: impl Fn(&str) -> Option<String>) -> u32 {
    lookup(MAX_CONCURRENCY_VAR)
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// Serves invocations until the runtime API goes away: one at a time, or with
/// `AWS_LAMBDA_MAX_CONCURRENCY` above 1 that many at once through one gateway, so concurrent
/// misses share portal calls and batches as on the local server.
pub async fn run(gateway: LambdaGateway, concurrency: u32) -> Result<(), lambda_http::Error> {
    if concurrency > 1 {
        tracing::info!(
            max_concurrency = concurrency,
            "managed instances: serving {concurrency} invocations at once"
        );
    }
    // One gateway per execution environment, alive as long as the process.
    let gateway: &'static LambdaGateway = Box::leak(Box::new(gateway));
    lambda_http::run_concurrent(lambda_http::service_fn(
        move |request: lambda_http::Request| async move {
            Ok::<_, Infallible>(handle(gateway, request).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_concurrency_reads_like_the_runtime() {
        let with = |value: Option<&str>| {
            let value = value.map(str::to_owned);
            max_concurrency(move |name| {
                assert_eq!(name, MAX_CONCURRENCY_VAR);
                value.clone()
            })
        };
        assert_eq!(with(None), 1, "classic Lambda");
        assert_eq!(with(Some("1")), 1);
        assert_eq!(with(Some("64")), 64);
        for ignored in ["0", "-4", "many", "", " 8"] {
            assert_eq!(with(Some(ignored)), 1, "{ignored:?}");
        }
    }
}
