//! Every trait the core leaves to others, each with its contract, in one place:
//!
//! - [`PortalTransport`]: one outbound HTTP call to the portal (reqwest, `fetch`);
//! - [`Clock`]: time and timers (std + tokio, the JS clock);
//! - [`Executor`]: runs commands at the portal (the portal behind a transport, or the portal
//!   coordinator in front of it);
//! - [`SharedCache`]: a cache level shared between instances (the Worker's Cache API);
//! - [`CallerLimiter`]: how many requests one caller may send (in-process, a platform binding);
//! - [`KeyedLimit`]: a yes-or-no limit kept outside the process (the Workers `[[ratelimits]]`
//!   binding);
//! - [`CoordinatorLink`]: the way to the deployment's portal coordinator (a Durable Object);
//! - [`FallbackAllowance`]: what instances cut off from the coordinator may spend together;
//! - [`TableStore`]: where a mirror's table is kept for other instances (a Durable Object's
//!   storage, an S3 object, Redis).
//! - [`SharedBudget`]: one portal budget for every replica (a leaky bucket in Redis);
//! - [`SweepLease`]: which replica sweeps for the mirror (a lease in Redis).
//!
//! Futures are not required to be `Send`: Worker futures are not. Native adapters use concrete
//! types whose futures are `Send`, and the compiler sees that through these signatures.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::reads::{Command, Outcome, Urgency};
use crate::core::domain::shared_state::SharedStateHealth;

/// The largest portal answer read into memory; a longer one is a bad answer.
pub const MAX_PORTAL_ANSWER_BYTES: usize = 1024 * 1024;

/// What came back from the portal: status and the whole body (at most the cap).
#[derive(Debug, Clone)]
pub struct PortalReply {
    pub status: u16,
    pub body: Bytes,
}

/// A failed exchange. Deliberately carries no URL, no message from the HTTP client: those
/// contain the webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the portal did not answer within the deadline")]
    Timeout,
    #[error("the portal answered with a redirect, which is never followed")]
    Redirect,
    #[error("the portal's answer exceeded the size cap")]
    TooLarge,
    #[error("could not connect to the portal")]
    Connect,
    #[error("the connection to the portal broke")]
    Broken,
    /// The connection closed before any answer: typically a kept-alive connection the portal
    /// had just closed, so the request never reached it. Worth one more try.
    #[error("the connection to the portal closed before it answered")]
    Dropped,
    #[error("the webhook secret is not available")]
    SecretUnavailable,
}

/// Sends one REST call to the portal.
pub trait PortalTransport {
    /// POSTs JSON `body` to `METHOD` under the webhook. Must: finish within `deadline`
    /// (connect, headers and body together), never follow redirects, and stop reading past
    /// [`MAX_PORTAL_ANSWER_BYTES`].
    fn post(
        &self,
        method: &'static str,
        body: Bytes,
        deadline: Duration,
    ) -> impl Future<Output = Result<PortalReply, TransportError>>;

    /// The portal rejected the credentials; a transport that can reload its secret should
    /// do so before the next call.
    fn credentials_rejected(&self) {}
}

/// Time, from the platform (`std::time::Instant` traps on wasm32).
pub trait Clock {
    /// Wall-clock time since the Unix epoch (the portal's `operating_reset_at` is Unix time).
    fn unix_time(&self) -> Duration;
    /// A clock that never goes back, for TTLs, deadlines and latencies.
    fn monotonic(&self) -> Duration;
    /// Must complete at once, without a timer, for a zero `duration`: a lone miss "waits" for
    /// a slot that is free now, and a timer's tick (a millisecond on tokio) would be all of its
    /// added latency.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// How a budget slot may be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// A full batch or a retry: any slot the bucket has, the burst included.
    Burst,
    /// A partial batch: no sooner than one drain interval after the previous slot, so that
    /// misses arriving meanwhile travel together.
    Steady,
}

/// Runs commands against the portal (`portal::exchange::PortalExecutor`). The batcher reserves
/// a slot for each exchange first, then runs it.
pub trait Executor {
    /// Takes the budget slot for the next exchange: `Ok(wait)`, held from now and usable
    /// `wait` from now (zero: at once); `Err(wait)` when none frees up within `max_wait`, with
    /// when the next one will. Must: never hand out more slots than the budget it spends.
    fn reserve<C: Clock>(
        &self,
        clock: &C,
        max_wait: Duration,
        pace: Pace,
    ) -> Result<Duration, Duration>;

    /// Seconds until `command`'s method may be called again, while the portal's
    /// operating-time limit pauses it; `None` when it may go.
    fn paused<C: Clock>(&self, _clock: &C, _command: Command) -> Option<u64> {
        None
    }

    /// Runs `commands` (at most a batch's worth) on a slot taken with [`Executor::reserve`]
    /// and answers one outcome per command, in order, by `deadline` (on the clock's monotonic
    /// scale). Must: take a further slot for every retry, and never answer after `deadline`.
    fn execute<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> impl Future<Output = Executed>;

    /// How full the portal budget this executor spends is, 0 to 1; `None` when it is held
    /// elsewhere (a coordinator).
    fn budget_level(&self, _now: Duration) -> Option<f64> {
        None
    }

    /// Whether the portal accepts the gateway, as its answers showed. Must: keep a problem
    /// until an exchange succeeds again.
    fn access(&self) -> PortalAccess {
        PortalAccess::default()
    }
}

/// Whether the portal accepts the gateway's webhook, as its last answers showed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortalAccess {
    /// A refusal only the operator can fix (`webhook_rejected`, `webhook_lacks_scope`, …),
    /// from the last exchange it spoiled until one succeeds.
    pub problem: Option<&'static str>,
    /// Exchanges the portal refused for the webhook's credentials, since start.
    pub credential_failures: u64,
}

/// The outcomes of one exchange, one per command, how old each answer is (zero when it comes
/// straight from the portal), and how many portal requests it took.
#[derive(Debug)]
pub struct Executed {
    pub outcomes: Vec<Outcome>,
    pub ages: Vec<Duration>,
    pub calls: u32,
}

impl Executed {
    /// Outcomes straight from the portal.
    pub fn fresh(outcomes: Vec<Outcome>, calls: u32) -> Self {
        Self {
            ages: vec![Duration::ZERO; outcomes.len()],
            outcomes,
            calls,
        }
    }
}

/// What a shared cache entry is about. Never anything from the webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Record(RecordId),
    Product(ProductId),
}

impl fmt::Display for CacheKey {
    /// `record/13`, `product/6973`: a path-safe name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheKey::Record(id) => write!(f, "record/{id}"),
            CacheKey::Product(id) => write!(f, "product/{id}"),
        }
    }
}

/// A second cache level shared between instances where the platform has one (the Worker's
/// Cache API). The store keeps opaque bytes under a key; the core owns their format, so a
/// platform only moves bytes. Must: answer only entries stored by this deployment (keys carry
/// `config::fingerprint`), never one past its `ttl`, and give up rather than wait long (a miss
/// is always a correct answer).
pub trait SharedCache {
    /// The entry and how long ago it was stored, if still fresh.
    fn get(&self, key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>>;
    fn put(&self, key: CacheKey, value: Bytes, ttl: Duration) -> impl Future<Output = ()>;

    /// The entry and its age past its `ttl` too, while inside the stale window the store
    /// keeps it for: another instance's last good answer, for when the portal fails.
    fn get_stale(&self, _key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>> {
        std::future::ready(None)
    }

    /// Claims the portal read of `key` for this instance, for at most `hold`, where instances
    /// keep one flight per key between them (Redis). `true`: this instance reads it (also when
    /// the claims cannot be asked); `false`: another instance is reading it and will
    /// [`SharedCache::put`] its answer. Must: give up rather than wait long.
    fn claim(&self, _key: CacheKey, _hold: Duration) -> impl Future<Output = bool> {
        std::future::ready(true)
    }

    /// Gives up this instance's claim on `key` (after its answer was put).
    fn release(&self, _key: CacheKey) -> impl Future<Output = ()> {
        std::future::ready(())
    }

    /// Claims the refresh of `key` for `hold`: `true` when this instance refreshes it (also when
    /// the claims cannot be asked), `false` when another instance does. Not given up: within
    /// `hold` one refresh serves every instance.
    fn claim_refresh(&self, _key: CacheKey, _hold: Duration) -> impl Future<Output = bool> {
        std::future::ready(true)
    }

    /// Gives up the claim on `key` without waiting (from drop code: a request that went away);
    /// a platform may do it in the background, or leave the claim to lapse.
    fn release_soon(&self, _key: CacheKey) {}

    /// Counts an id answered by another instance's read, which this one waited for.
    fn joined(&self) {}

    /// The state of the store, where it is one that replicas share and that can go away.
    fn status(&self) -> Option<SharedStateHealth> {
        None
    }
}

/// No shared level (native adapters: the in-process cache is the only one).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSharedCache;

impl SharedCache for NoSharedCache {
    fn get(&self, _key: CacheKey) -> impl Future<Output = Option<(Bytes, Duration)>> {
        std::future::ready(None)
    }

    fn put(&self, _key: CacheKey, _value: Bytes, _ttl: Duration) -> impl Future<Output = ()> {
        std::future::ready(())
    }
}

/// Decides whether one more request from `ip` may pass. `Err` carries Retry-After seconds.
/// Must: count by `domain::caller::caller_key` (an IPv6 caller by its /64).
pub trait CallerLimiter {
    fn check(&self, ip: IpAddr, now: Duration) -> impl Future<Output = Result<(), u64>>;
}

/// One more request under `key` against a limit kept outside the process (the Workers
/// `[[ratelimits]]` binding). Must: answer `Ok(true)` to let it pass, `Ok(false)` to refuse
/// it, and `Err` when the limit could not be asked (the caller then decides on its own).
pub trait KeyedLimit {
    fn allow(&self, key: String) -> impl Future<Output = Result<bool, ()>>;
}

/// The way to the portal coordinator (a Durable Object stub on Cloudflare). Must: answer the
/// coordinator's bytes, or `Err` when it cannot be reached or answered nothing usable, within
/// `deadline`.
pub trait CoordinatorLink {
    fn ask(&self, body: Bytes, deadline: Duration) -> impl Future<Output = Result<Bytes, ()>>;
}

/// What the instances cut off from the coordinator may spend on the portal together (a Workers
/// rate-limit binding every isolate of the deployment counts in). Must: count every instance's
/// takes in one count, and answer `Err(seconds until one frees up)` when it is spent.
pub trait FallbackAllowance {
    fn take(&self) -> impl Future<Output = Result<(), u64>>;
}

/// No count shared between instances: each spends only its own fallback share.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnShareOnly;

impl FallbackAllowance for OwnShareOnly {
    fn take(&self) -> impl Future<Output = Result<(), u64>> {
        std::future::ready(Ok(()))
    }
}

/// Where a mirror keeps its table (opaque bytes) for other instances to read. Must: answer
/// `Ok(None)` when nothing newer than `known` (a version it gave before, like an ETag) is
/// stored, give up rather than wait long, and never hold a partial table.
pub trait TableStore {
    fn load(
        &self,
        known: Option<&str>,
    ) -> impl Future<Output = Result<Option<(Bytes, String)>, ()>>;
    fn save(&self, table: Bytes) -> impl Future<Output = Result<(), ()>>;
    /// Whether it keeps anything at all: when not, a table is never written out as bytes (a
    /// copy of the whole table for nothing).
    fn keeps(&self) -> bool {
        true
    }
}

/// No store: the table lives in this process only (the local server).
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcessOnly;

impl TableStore for InProcessOnly {
    fn load(
        &self,
        _known: Option<&str>,
    ) -> impl Future<Output = Result<Option<(Bytes, String)>, ()>> {
        std::future::ready(Ok(None))
    }

    fn save(&self, _table: Bytes) -> impl Future<Output = Result<(), ()>> {
        std::future::ready(Ok(()))
    }

    fn keeps(&self) -> bool {
        false
    }
}

/// A slot of the deployment's shared budget, and what the store knew along with it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedSlot {
    /// `Ok(wait)`: held from now, usable `wait` from now; `Err(wait)`: none within the allowed
    /// wait, the next frees up after this long.
    pub slot: Result<Duration, Duration>,
    /// How many requests the shared bucket holds now (every instance's), to pace by.
    pub level: f64,
    /// Methods every instance leaves alone for operating time, until when (Unix time).
    pub pauses: Vec<(String, Duration)>,
}

/// The portal budget of the whole deployment, kept outside the process (a leaky bucket in
/// Redis) with the limits it was made with. Must: update the bucket atomically on one clock
/// (the store's), hand out no more slots than the limits, give up within its own deadline, and
/// answer `Err(())` when it cannot be asked: the instance then spends its own share.
pub trait SharedBudget {
    /// A slot now or within `max_wait`.
    fn take(&self, max_wait: Duration) -> impl Future<Output = Result<SharedSlot, ()>>;
    /// Tells every instance that `method` rests until `until` (Unix time).
    fn pause(&self, method: &'static str, until: Duration) -> impl Future<Output = ()>;
    /// Whether the store is in use now (it answered last time it was asked, or is due to be
    /// asked again): a synchronous look, for pacing.
    fn in_use(&self) -> bool;
}

/// No shared budget: the instance spends its own share.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnShare;

impl SharedBudget for OwnShare {
    fn take(&self, _max_wait: Duration) -> impl Future<Output = Result<SharedSlot, ()>> {
        std::future::ready(Err(()))
    }

    fn pause(&self, _method: &'static str, _until: Duration) -> impl Future<Output = ()> {
        std::future::ready(())
    }

    fn in_use(&self) -> bool {
        false
    }
}

/// Which instance sweeps for a mirror (a lease in Redis). Must: let one holder at a time hold
/// it, let another take it once it lapses, and answer `Err(())` when it cannot be asked.
pub trait SweepLease {
    /// Takes or renews the lease for `hold`: `Ok(true)` when this instance holds it.
    fn hold(&self, hold: Duration) -> impl Future<Output = Result<bool, ()>>;
}

/// Every instance sweeps for itself (a lone server).
impl SweepLease for () {
    fn hold(&self, _hold: Duration) -> impl Future<Output = Result<bool, ()>> {
        std::future::ready(Ok(true))
    }
}

/// A shared executor runs like the one it shares (a mirror's sweeps and on-demand misses spend
/// one budget).
impl<X: Executor> Executor for std::sync::Arc<X> {
    fn reserve<C: Clock>(
        &self,
        clock: &C,
        max_wait: Duration,
        pace: Pace,
    ) -> Result<Duration, Duration> {
        (**self).reserve(clock, max_wait, pace)
    }

    fn paused<C: Clock>(&self, clock: &C, command: Command) -> Option<u64> {
        (**self).paused(clock, command)
    }

    fn execute<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> impl Future<Output = Executed> {
        (**self).execute(clock, commands, urgency, deadline)
    }

    fn budget_level(&self, now: Duration) -> Option<f64> {
        (**self).budget_level(now)
    }

    fn access(&self) -> PortalAccess {
        (**self).access()
    }
}
