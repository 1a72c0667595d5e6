//! A sweep: the whole public stock read in id order, 50 ranges of 50 ids to a `batch` (up to
//! 2,500 records per portal request), after one descending row has told where the ids end.
//!
//! Every exchange takes a steady-paced slot of the portal budget, like any partial batch, so a
//! sweep never spends the burst that callers' misses and the merchant's own integrations need;
//! it respects the operating-time pause of the list method, and retries a failed exchange
//! while the sweep's time allows. A sweep that cannot finish in its time fails whole: a table
//! is only ever replaced by a complete one.

use std::time::Duration;

use super::table::{Table, TableBuilder};
use crate::core::domain::error::ApiError;
use crate::core::domain::id::RecordId;
use crate::core::domain::reads::{Command, Read, Urgency, RANGE_IDS};
use crate::core::portal::command::MAX_BATCH_COMMANDS;
use crate::core::ports::{Clock, Executor, Pace};

/// Pause before trying a failed exchange again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// A finished sweep.
#[derive(Debug)]
pub struct Swept {
    pub table: Table,
    /// Portal requests it took, retries included.
    pub requests: u32,
    pub duration: Duration,
}

/// Why a sweep did not finish, and the portal requests it took anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepFailed {
    pub error: ApiError,
    pub requests: u32,
}

pub struct Sweeper<X> {
    executor: X,
    /// The most one exchange may take.
    timeout: Duration,
}

impl<X: Executor> Sweeper<X> {
    pub fn new(executor: X, timeout: Duration) -> Self {
        Self { executor, timeout }
    }

    /// Reads everything within `within`; the table is built as ranges come back.
    pub async fn sweep<C: Clock>(&self, clock: &C, within: Duration) -> Result<Swept, SweepFailed> {
        let started = clock.monotonic();
        let end = started + within;
        let mut requests = 0u32;
        let failed = |error, requests| SweepFailed { error, requests };
        let highest = match self
            .exchange(clock, &[Command::Highest], end, &mut requests)
            .await
        {
            Ok(reads) => match reads.first() {
                Some(Read::Highest(highest)) => highest.map_or(0, |id| id.get()),
                _ => return Err(failed(ApiError::UpstreamError, requests)),
            },
            Err(error) => return Err(failed(error, requests)),
        };
        let mut builder = TableBuilder::new(highest);
        let ranges: Vec<Command> = (0..highest.div_ceil(RANGE_IDS))
            .filter_map(|k| {
                let from = RecordId::from_u64(u64::from(k * RANGE_IDS + 1)).ok()?;
                Some(Command::Range { from })
            })
            .collect();
        for chunk in ranges.chunks(MAX_BATCH_COMMANDS) {
            let reads = self
                .exchange(clock, chunk, end, &mut requests)
                .await
                .map_err(|error| failed(error, requests))?;
            let read_at = clock.unix_time();
            for (command, read) in chunk.iter().zip(reads) {
                match (command, read) {
                    (Command::Range { from }, Read::Rows(rows)) => {
                        builder.add(*from, read_at, &rows)
                    }
                    _ => return Err(failed(ApiError::UpstreamError, requests)),
                }
            }
        }
        Ok(Swept {
            table: builder.finish(),
            requests,
            duration: clock.monotonic().saturating_sub(started),
        })
    }

    /// One exchange, every command answered, on a steady slot; tried again after a failure
    /// while `end` allows.
    async fn exchange<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        end: Duration,
        requests: &mut u32,
    ) -> Result<Vec<Read>, ApiError> {
        loop {
            let now = clock.monotonic();
            let left = end.saturating_sub(now);
            if let Some(retry_after_secs) = commands
                .iter()
                .find_map(|c| self.executor.paused(clock, *c))
            {
                let pause = Duration::from_secs(retry_after_secs);
                if pause >= left {
                    return Err(ApiError::UpstreamBusy { retry_after_secs });
                }
                clock.sleep(pause).await;
                continue;
            }
            let wait = self
                .executor
                .reserve(clock, left.saturating_sub(self.timeout), Pace::Steady)
                .map_err(|wait| ApiError::UpstreamBusy {
                    retry_after_secs: wait.as_secs().max(1),
                })?;
            clock.sleep(wait).await;
            let deadline = end.min(clock.monotonic() + self.timeout);
            let executed = self
                .executor
                .execute(clock, commands, Urgency::Background, deadline)
                .await;
            *requests += executed.calls;
            let reads: Result<Vec<Read>, ApiError> = executed.outcomes.into_iter().collect();
            match reads {
                Ok(reads) => return Ok(reads),
                Err(error) if error.is_upstream_failure() => {
                    let left = end.saturating_sub(clock.monotonic());
                    if left <= RETRY_PAUSE + self.timeout {
                        return Err(error);
                    }
                    tracing::warn!(code = error.code(), "sweep exchange failed; trying again");
                    clock.sleep(RETRY_PAUSE).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub fn executor(&self) -> &X {
        &self.executor
    }
}
