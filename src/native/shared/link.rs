//! The connection to the store replicas share (Redis or Valkey), and whether it answers.
//!
//! Every question is bounded by one deadline (`STOCK_SHARED_STATE_TIMEOUT_MS`; tables get
//! longer). A question that fails or runs out of time marks the store away: the instance then
//! runs on its own budget share and cache, says so once in its log, and asks nothing more for a
//! while (one second, doubling to ten while it stays away), so a dead or slow store costs
//! callers nothing. After each pause a probe asks again (a caller's question, or a `PING` of
//! the link's own while callers ask nothing, all their answers being in the local cache): when
//! it is answered the instance rejoins, and says that once too.
//!
//! `redis`'s connection manager keeps one multiplexed connection and reconnects by itself;
//! it is made on first use, so a gateway starts even while the store is away.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::kit::lock::lock;

/// The first pause after the store failed; doubled while it stays away, up to the longest.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

pub struct Link {
    /// Itself, for the prober task.
    me: Weak<Link>,
    probing: AtomicBool,
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    deadline: Duration,
    state: Mutex<State>,
    budget_waits: AtomicU64,
    flights_joined: AtomicU64,
    fallbacks: AtomicU64,
}

/// Away since a failure, until a probe is due.
#[derive(Debug, Clone, Copy)]
struct State {
    away: bool,
    probe_at: Option<Instant>,
    pause: Duration,
}

impl Link {
    pub fn new(client: redis::Client, deadline: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            probing: AtomicBool::new(false),
            client,
            manager: OnceCell::new(),
            deadline,
            state: Mutex::new(State {
                away: false,
                probe_at: None,
                pause: FIRST_PAUSE,
            }),
            budget_waits: AtomicU64::new(0),
            flights_joined: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        })
    }

    /// Probes with `PING` after each pause until the store answers, unless a prober runs.
    fn probe_until_back(&self) {
        let (Some(link), Ok(runtime)) = (self.me.upgrade(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(async move {
            loop {
                let due = lock(&link.state).probe_at;
                let Some(due) = due else { break };
                tokio::time::sleep_until(due.into()).await;
                let ping = link
                    .ask(false, |mut c| async move {
                        redis::cmd("PING").query_async::<String>(&mut c).await
                    })
                    .await;
                if ping.is_ok() || Arc::strong_count(&link) == 1 {
                    break;
                }
            }
            link.probing.store(false, Ordering::Release);
        });
    }

    /// Whether a question may be asked now: the store answered last time, or a probe is due.
    pub fn in_use(&self) -> bool {
        let state = lock(&self.state);
        !state.away || state.probe_at.is_none_or(|at| Instant::now() >= at)
    }

    /// Asks `question` of the store within the deadline (`longer`: a whole table's worth);
    /// `Err` at once while the store is away and no probe is due.
    pub async fn ask<T, F, Fut>(&self, longer: bool, question: F) -> Result<T, ()>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.in_use() {
            return Err(());
        }
        let deadline = if longer {
            self.deadline.max(Duration::from_secs(5))
        } else {
            self.deadline
        };
        let answered = tokio::time::timeout(deadline, async {
            let manager = self.connection(deadline).await?;
            question(manager).await
        })
        .await;
        match answered {
            Ok(Ok(value)) => {
                self.answered();
                Ok(value)
            }
            Ok(Err(error)) => {
                self.failed(if error.is_timeout() {
                    "timeout"
                } else if error.kind() == redis::ErrorKind::AuthenticationFailed {
                    "authentication"
                } else if error.is_connection_dropped() || error.is_connection_refusal() {
                    "connection"
                } else {
                    "error"
                });
                Err(())
            }
            Err(_) => {
                self.failed("timeout");
                Err(())
            }
        }
    }

    async fn connection(&self, deadline: Duration) -> redis::RedisResult<ConnectionManager> {
        let manager = self
            .manager
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(deadline)
                    .set_response_timeout(deadline.max(Duration::from_secs(5)))
                    // One try each time: the link's own probes ask again, and a refused
                    // password shows as such rather than as retries running out of time.
                    .set_number_of_retries(0)
                    .set_max_delay(200);
                ConnectionManager::new_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    fn answered(&self) {
        let mut state = lock(&self.state);
        if state.away {
            tracing::info!(
                "shared state answers again: this instance rejoined the shared budget and cache"
            );
        }
        *state = State {
            away: false,
            probe_at: None,
            pause: FIRST_PAUSE,
        };
    }

    /// Never the store's address or its message: the URL may carry a password.
    fn failed(&self, problem: &'static str) {
        let mut state = lock(&self.state);
        if !state.away {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                problem,
                "shared state unreachable: this instance spends its own budget share \
                 (STOCK_PORTAL_INSTANCES) and its own cache until it answers again"
            );
            state.pause = FIRST_PAUSE;
        } else {
            state.pause = (state.pause * 2).min(LONGEST_PAUSE);
        }
        state.away = true;
        state.probe_at = Some(Instant::now() + state.pause);
        drop(state);
        self.probe_until_back();
    }

    pub fn count_budget_wait(&self) {
        self.budget_waits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_flight_joined(&self) {
        self.flights_joined.fetch_add(1, Ordering::Relaxed);
    }

    pub fn health(&self) -> SharedStateHealth {
        SharedStateHealth {
            reachable: !lock(&self.state).away,
            budget_waits: self.budget_waits.load(Ordering::Relaxed),
            flights_joined: self.flights_joined.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }
}
