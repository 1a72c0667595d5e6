//! Per-caller limits with the `[[ratelimits]]` binding, keyed by `CF-Connecting-IP` (IPv6 by
//! its /64, like every limiter: the core's [`caller_key`]), or the core's in-process limiter
//! (`STOCK_RATE_LIMIT_PER_MIN`) where the binding is absent. `STOCK_RATE_LIMIT_PER_MIN=0` turns
//! the per-caller limit off on every adapter, so it bypasses the binding too.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::core::gateway::caller_limit::{InProcessLimiter, KeyedOrInProcess};
use crate::core::ports::{CallerLimiter, FallbackAllowance, KeyedLimit};

/// The binding's name in wrangler.toml.
pub const BINDING: &str = "CALLER_RATE_LIMIT";
/// The binding answers yes or no; its `simple.period` in wrangler.toml (60 s) is the honest
/// upper bound for when a refused caller may try again.
pub const BINDING_RETRY_AFTER_SECS: u64 = 60;

pub enum CallerLimit {
    /// The binding decides; the in-process limiter stands in if a call to it fails (the
    /// core's [`KeyedOrInProcess`], whose unit tests play a failing binding).
    Binding(KeyedOrInProcess<Binding>),
    InProcess(InProcessLimiter),
}

/// The `[[ratelimits]]` binding as a keyed limit.
pub struct Binding(worker::RateLimiter);

impl KeyedLimit for Binding {
    async fn allow(&self, key: String) -> Result<bool, ()> {
        self.0
            .limit(key)
            .await
            .map(|outcome| outcome.success)
            .map_err(|_| ())
    }
}

impl CallerLimit {
    pub fn new(binding: Option<worker::RateLimiter>, per_minute: u32) -> Self {
        let fallback = InProcessLimiter::new(per_minute);
        match binding {
            Some(binding) if per_minute > 0 => CallerLimit::Binding(KeyedOrInProcess::new(
                Binding(binding),
                fallback,
                BINDING_RETRY_AFTER_SECS,
            )),
            _ => CallerLimit::InProcess(fallback),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            CallerLimit::Binding(_) => "ratelimits binding",
            CallerLimit::InProcess(limiter) if limiter.is_off() => "off",
            CallerLimit::InProcess(_) => "in-process",
        }
    }

    async fn decide(&self, ip: IpAddr, now: Duration) -> Result<(), u64> {
        match self {
            CallerLimit::InProcess(limiter) => limiter.decide(ip, now),
            CallerLimit::Binding(limit) => limit.decide(ip, now).await,
        }
    }
}

impl CallerLimiter for CallerLimit {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>> {
        self.decide(ip, now)
    }
}

/// The fallback allowance's binding in wrangler.toml: what isolates cut off from the portal
/// coordinator may spend on the portal together, per Cloudflare location.
pub const FALLBACK_BINDING: &str = "PORTAL_FALLBACK";

/// The deployment-wide fallback allowance, counted by the `[[ratelimits]]` binding under the
/// portal's name (never the webhook). Without the binding, or when a call to it fails, each
/// isolate spends only its own fallback share.
pub struct FallbackBinding {
    binding: Option<worker::RateLimiter>,
    key: String,
}

impl FallbackBinding {
    pub fn new(binding: Option<worker::RateLimiter>, key: String) -> Self {
        Self { binding, key }
    }
}

impl FallbackAllowance for FallbackBinding {
    async fn take(&self) -> Result<(), u64> {
        let Some(binding) = &self.binding else {
            return Ok(());
        };
        match binding.limit(self.key.clone()).await {
            Ok(outcome) if outcome.success => Ok(()),
            Ok(_) => Err(BINDING_RETRY_AFTER_SECS),
            Err(_) => Ok(()),
        }
    }
}
