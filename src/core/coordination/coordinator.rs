//! The coordinator: one per portal (a Durable Object on Cloudflare), the only caller of the
//! portal for the whole deployment. It owns the full budget share, the leaky bucket and the
//! operating-time pause; it gathers misses from every isolate and runs them through the same
//! batching as a gateway; and it keeps a small cache of answers, so one isolate's miss is
//! often another's hit.

use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Told, WireOutcome};
use crate::core::config::Settings;
use crate::core::gateway::store_filter;
use crate::core::metrics::{RequestStats, Snapshot};
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Executor, Outcome, PortalExecutor, Read, Urgency};
use crate::core::ports::{Clock, PortalTransport};
use crate::core::protection::batcher::Batcher;
use crate::core::protection::budget::PortalBudget;
use crate::core::protection::cache::TtlCache;
use crate::core::protection::flights::Waiting;
use crate::core::protection::operating_time::OperatingGuard;

/// Answers kept by the coordinator: isolates keep their own, larger caches in front.
const MAX_ANSWERS: usize = 4096;
/// How often coordinator requests waiting on a shared exchange look for its result.
const POLL: Duration = Duration::from_millis(5);
/// A flight whose sender vanished is taken over this long after the deadline.
const FLIGHT_MARGIN: Duration = Duration::from_secs(1);

pub struct Coordinator<T> {
    executor: PortalExecutor<T>,
    batcher: Batcher<Outcome>,
    answers: TtlCache<Command, Outcome>,
    cache_ttl: Duration,
    negative_ttl: Duration,
    upstream_timeout: Duration,
}

impl<T: PortalTransport> Coordinator<T> {
    pub fn new(settings: &Settings, transport: T) -> Self {
        Self {
            executor: PortalExecutor::new(
                transport,
                PortalBudget::new(settings.budget),
                OperatingGuard::new(settings.operating_limit_secs),
                store_filter(settings),
            ),
            // Polling: each request to the object waits on its own timer.
            batcher: Batcher::new(
                settings.batch_window,
                settings.upstream_timeout + FLIGHT_MARGIN,
                Waiting::Polling(POLL),
            ),
            answers: TtlCache::new(MAX_ANSWERS.min(settings.cache_max_entries), Duration::ZERO),
            cache_ttl: settings.cache_ttl,
            negative_ttl: settings.negative_ttl,
            upstream_timeout: settings.upstream_timeout,
        }
    }

    /// One isolate's request: JSON commands in, JSON outcomes out. `None` for a request that is
    /// not one (the object answers 400).
    pub async fn answer<C: Clock>(&self, clock: &C, request: &[u8]) -> Option<Bytes> {
        let ask: Ask = serde_json::from_slice(request).ok()?;
        let commands: Vec<Command> = ask
            .commands
            .iter()
            .map(|c| c.to_command())
            .collect::<Option<_>>()?;
        let now = clock.monotonic();
        let deadline = now + Duration::from_millis(ask.deadline_ms).min(self.upstream_timeout);
        let urgency = ask.urgency();
        let mut ages = vec![Duration::ZERO; commands.len()];
        let mut outcomes: Vec<Option<Outcome>> = vec![None; commands.len()];
        // A refresh wants the portal's answer, not this cache's.
        if urgency == Urgency::Caller {
            for (i, command) in commands.iter().enumerate() {
                if let Some(hit) = self.answers.fresh(*command, now) {
                    ages[i] = hit.age;
                    outcomes[i] = Some(hit.value);
                }
            }
        }
        let missed: Vec<usize> = (0..commands.len())
            .filter(|&i| outcomes[i].is_none())
            .collect();
        if !missed.is_empty() {
            let misses: Vec<Command> = missed.iter().map(|&i| commands[i]).collect();
            let settle = |command: Command, outcome: Outcome, _age: Duration| {
                self.keep(clock, command, &outcome);
                outcome
            };
            let gathered = self
                .batcher
                .read(&self.executor, clock, &misses, urgency, deadline, &settle)
                .await;
            for (&index, outcome) in missed.iter().zip(gathered) {
                outcomes[index] = outcome;
            }
        }
        let told = Told {
            outcomes: outcomes
                .iter()
                .map(|o| match o {
                    Some(outcome) => WireOutcome::from_outcome(outcome),
                    None => WireOutcome::TimedOut,
                })
                .collect(),
            ages_ms: ages.iter().map(|age| age.as_millis() as u64).collect(),
        };
        serde_json::to_vec(&told).ok().map(Bytes::from)
    }

    /// The object's exchanges with the portal since start, and its budget level now.
    pub fn metrics<C: Clock>(&self, clock: &C) -> Snapshot {
        Snapshot::read(
            &RequestStats::default(),
            self.batcher.stats(),
            self.executor.budget_level(clock.monotonic()),
        )
    }

    fn keep<C: Clock>(&self, clock: &C, command: Command, outcome: &Outcome) {
        let ttl = match outcome {
            Ok(Read::Record(None)) => self.negative_ttl,
            Ok(_) => self.cache_ttl,
            Err(_) => return,
        };
        self.answers
            .store(command, outcome.clone(), clock.monotonic(), ttl);
    }
}
