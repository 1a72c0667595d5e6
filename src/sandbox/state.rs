//! The sandbox's mutable state: bucket, operating time, fault switch and call counters.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::bucket::LeakyBucket;
use super::faults::Fault;
use super::inventory::Inventory;

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub user: String,
    pub code: String,
    /// The leaky bucket: drain per second and threshold (portal: 2/50; Enterprise 5/250).
    pub drain_per_sec: f64,
    pub burst: f64,
    /// Server time each `get` costs, and the cap over the operating window.
    pub operating_cost_secs: f64,
    pub operating_limit_secs: f64,
    /// Generated records on top of the fixed ones (a large catalogue for sweeps).
    pub catalogue: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            user: "1".into(),
            code: "sandboxcode0000".into(),
            drain_per_sec: 2.0,
            burst: 50.0,
            operating_cost_secs: 0.01,
            operating_limit_secs: 480.0,
            catalogue: 0,
        }
    }
}

/// The portal sums operating time over ten minutes.
pub const OPERATING_WINDOW: Duration = Duration::from_secs(600);

/// What reached the sandbox, for tests (`GET /_sandbox/stats`). A direct call and a batch are
/// each one request; the commands inside a batch are counted apart from direct calls.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests the leaky bucket counted (after authentication): direct calls and batches alike,
    /// a batch being one. A direct `get` that plays the `busy` fault skips the bucket and is
    /// not counted here.
    pub requests: u64,
    /// Requests that reached a method (after authentication and the bucket), by method; a batch
    /// counts under "batch", its commands under `commands`.
    pub calls: BTreeMap<String, u64>,
    /// Commands run inside batches, by method (refused commands are not run).
    pub commands: BTreeMap<String, u64>,
    /// `catalog.storeproduct.get` by id, direct or inside a batch.
    pub get_calls_by_id: BTreeMap<u32, u64>,
    pub query_limit_exceeded: u64,
    /// Calls and batch commands refused by the operating-time accounting.
    pub operation_time_limit: u64,
    pub rejected_credentials: u64,
    /// The body of the last request that reached a method (a batch included), to check what a
    /// gateway forwards.
    pub last_body: Option<String>,
    /// The command strings of the last batch, in order (null before any batch).
    pub last_batch_commands: Option<Vec<String>>,
    /// The command strings of the last few batches, oldest first.
    pub recent_batches: std::collections::VecDeque<Vec<String>>,
}

/// How many batches `recent_batches` keeps.
pub const RECENT_BATCHES: usize = 64;

pub struct Inner {
    pub inventory: Inventory,
    pub bucket: LeakyBucket,
    pub fault: Option<Fault>,
    pub stats: Stats,
    /// Operating time used in the current window, by method (the portal counts per method).
    pub operating_used: BTreeMap<&'static str, f64>,
    pub operating_since: Instant,
    pub operating_cost_secs: f64,
    pub operating_limit_secs: f64,
    /// Every authenticated call waits this long before it is handled (tests that need a
    /// portal call to stay in flight while others arrive).
    pub answer_delay: Duration,
    /// Whether `batch` resolves `$result[…]` references (off: passed on as written, as a
    /// portal that does not resolve them would).
    pub batch_references: bool,
}

pub struct SandboxState {
    pub config: SandboxConfig,
    pub inner: Mutex<Inner>,
}

/// What the operating-time accounting says about one call.
pub struct Operating {
    pub used: f64,
    pub reset_at: i64,
    pub blocked: bool,
}

impl SandboxState {
    pub fn new(config: SandboxConfig) -> Self {
        let inner = Inner {
            inventory: Inventory::new(config.catalogue),
            bucket: LeakyBucket::new(config.drain_per_sec, config.burst),
            fault: None,
            stats: Stats::default(),
            operating_used: BTreeMap::new(),
            operating_since: Instant::now(),
            operating_cost_secs: config.operating_cost_secs,
            operating_limit_secs: config.operating_limit_secs,
            answer_delay: Duration::ZERO,
            batch_references: true,
        };
        Self {
            config,
            inner: Mutex::new(inner),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters behind: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    /// Charges one call of `method` its operating time; `blocked` once the method's time in
    /// the window has reached the cap.
    pub fn charge_operating(&mut self, method: &'static str) -> Operating {
        let reading = self.operating_reading(Some(method));
        if reading.blocked {
            return reading;
        }
        let used = self.operating_used.entry(method).or_default();
        *used += self.operating_cost_secs;
        Operating {
            used: *used,
            ..reading
        }
    }

    /// The accounting of `method` as it stands, charging nothing; of the busiest method for a
    /// batch's own `time` (`None`).
    pub fn operating_reading(&mut self, method: Option<&'static str>) -> Operating {
        if self.operating_since.elapsed() >= OPERATING_WINDOW {
            self.operating_used.clear();
            self.operating_since = Instant::now();
        }
        let reset_in = OPERATING_WINDOW.saturating_sub(self.operating_since.elapsed());
        let used = match method {
            Some(method) => self.operating_used.get(method).copied().unwrap_or(0.0),
            None => self.operating_used.values().copied().fold(0.0, f64::max),
        };
        Operating {
            used,
            reset_at: (unix_now() + reset_in).as_secs() as i64,
            blocked: used >= self.operating_limit_secs,
        }
    }

    /// Counts one request in the portal's bucket; false (and counted as refused) when full.
    pub fn admit_request(&mut self) -> bool {
        if !self.bucket.admit() {
            self.stats.query_limit_exceeded += 1;
            return false;
        }
        self.stats.requests += 1;
        true
    }

    /// Back to the start: the records too.
    pub fn reset(&mut self, catalogue: u32) {
        self.inventory = Inventory::new(catalogue);
        self.bucket.reset();
        self.fault = None;
        self.stats = Stats::default();
        self.operating_used.clear();
        self.operating_since = Instant::now();
        self.answer_delay = Duration::ZERO;
    }
}

pub fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
