//! The isolate's side of coordination: an [`Executor`] that sends misses to the coordinator
//! instead of the portal. If the coordinator cannot be reached, the isolate keeps answering on
//! a small budget share of its own (`STOCK_PORTAL_FALLBACK_SHARE`) and says so in its log.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use super::wire::{Ask, Told};
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Executed, Executor, PortalExecutor, Urgency};
use crate::core::ports::{Clock, PortalTransport};

/// The way to the coordinator (a Durable Object stub on Cloudflare). `Err` when it cannot be
/// reached or answered nothing usable within `deadline`.
pub trait CoordinatorLink {
    fn ask(&self, body: Bytes, deadline: Duration) -> impl Future<Output = Result<Bytes, ()>>;
}

/// At most one "coordinator unreachable" warning per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

pub struct CoordinatedExecutor<L, T> {
    link: L,
    fallback: PortalExecutor<T>,
    /// When the last fallback warning was logged (monotonic), to keep logs readable.
    warned_at: Cell<Option<Duration>>,
}

impl<L: CoordinatorLink, T: PortalTransport> CoordinatedExecutor<L, T> {
    /// `fallback` holds the isolate's small share of the budget.
    pub fn new(link: L, fallback: PortalExecutor<T>) -> Self {
        Self {
            link,
            fallback,
            warned_at: Cell::new(None),
        }
    }

    fn warn<C: Clock>(&self, clock: &C) {
        let now = clock.monotonic();
        let due = self
            .warned_at
            .get()
            .is_none_or(|at| now.saturating_sub(at) >= WARN_EVERY);
        if due {
            self.warned_at.set(Some(now));
            tracing::warn!(
                "portal coordinator unreachable: this isolate answers on its fallback budget share"
            );
        }
    }
}

impl<L: CoordinatorLink, T: PortalTransport> Executor for CoordinatedExecutor<L, T> {
    async fn execute<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> Executed {
        let left = deadline.saturating_sub(clock.monotonic());
        let ask = Ask::new(commands, urgency, left.as_millis() as u64);
        let body = serde_json::to_vec(&ask)
            .map(Bytes::from)
            .unwrap_or_default();
        let told = self
            .link
            .ask(body, left)
            .await
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Told>(&bytes).ok())
            .filter(|told| told.outcomes.len() == commands.len());
        match told {
            Some(told) => Executed {
                outcomes: told
                    .outcomes
                    .iter()
                    .zip(commands)
                    .map(|(outcome, command)| outcome.to_outcome(*command))
                    .collect(),
                ages: (0..commands.len())
                    .map(|i| Duration::from_millis(told.ages_ms.get(i).copied().unwrap_or(0)))
                    .collect(),
                // The coordinator's portal requests are its own.
                calls: 0,
            },
            None => {
                self.warn(clock);
                self.fallback
                    .execute(clock, commands, urgency, deadline)
                    .await
            }
        }
    }
}
