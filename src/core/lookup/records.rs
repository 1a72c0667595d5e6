//! Record lookups, one id or many: every miss of a request goes to the batcher together.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use super::cached::Cached;
use super::{Fetched, Found, Looked, Settled};
use crate::core::api::api_error::ApiError;
use crate::core::api::render::render_record;
use crate::core::gateway::{Gateway, Trace};
use crate::core::join::join_all;
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Executor, Outcome, Read, Urgency};
use crate::core::ports::Clock;
use crate::core::protection::cache::CacheStatus;
use crate::core::protection::shared_cache::{CacheKey, SharedCache};
use crate::core::stock::id::RecordId;

/// Shared-cache writes owed by the request that settled them (each settled exactly once).
pub(crate) type Owed = Mutex<Vec<(CacheKey, Bytes, Duration)>>;

impl<E: Executor, C: Clock, L, S: SharedCache> Gateway<E, C, L, S> {
    /// One answer per id, in order.
    pub(crate) async fn lookup_records(&self, ids: &[RecordId], trace: &mut Trace) -> Vec<Looked> {
        let now = self.clock.monotonic();
        let mut looked: Vec<Option<Looked>> = vec![None; ids.len()];
        let mut missed: Vec<usize> = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            match self.records.fresh(*id, now) {
                Some(hit) => {
                    if hit.refresh {
                        trace.refresh.records.push(*id);
                    }
                    trace.saw(CacheStatus::Hit, Some(hit.age));
                    looked[index] = Some(Ok(found(hit.value, CacheStatus::Hit, Some(hit.age))));
                }
                None => missed.push(index),
            }
        }
        if !missed.is_empty() {
            missed = self.shared_hits(ids, missed, &mut looked, trace).await;
        }
        if !missed.is_empty() {
            let commands: Vec<Command> = missed.iter().map(|&i| Command::Record(ids[i])).collect();
            let started = self.clock.monotonic();
            let fetched = self.read(&commands, Urgency::Caller).await;
            trace.upstream = Some(self.clock.monotonic().saturating_sub(started));
            for (&index, outcome) in missed.iter().zip(fetched) {
                let answer = match outcome {
                    Ok(Settled::Record(value)) => Ok(found(value, CacheStatus::Miss, None)),
                    Ok(Settled::Page(..)) => Err(ApiError::UpstreamError),
                    Err(error) => self.stale_record(ids[index], error),
                };
                if let Ok(found) = &answer {
                    trace.saw(found.status, found.age);
                } else {
                    trace.saw(CacheStatus::Miss, None);
                }
                looked[index] = Some(answer);
            }
        }
        looked
            .into_iter()
            .map(|l| l.unwrap_or(Err(ApiError::UpstreamError)))
            .collect()
    }

    /// Tries the shared level for the missed ids; answers those still missing.
    async fn shared_hits(
        &self,
        ids: &[RecordId],
        missed: Vec<usize>,
        looked: &mut [Option<Looked>],
        trace: &mut Trace,
    ) -> Vec<usize> {
        let gets = missed
            .iter()
            .map(|&i| self.shared_cache.get(CacheKey::Record(ids[i])))
            .collect();
        let mut still = Vec::new();
        for (index, entry) in missed.into_iter().zip(join_all(gets).await) {
            let Some((value, age)) =
                entry.and_then(|(b, age)| Some((Cached::from_bytes(&b)?, age)))
            else {
                still.push(index);
                continue;
            };
            let ttl = match value {
                Cached::Missing => self.settings.negative_ttl,
                _ => self.settings.cache_ttl,
            };
            // Keep it here for what is left of its life.
            let stored_at = self.clock.monotonic().saturating_sub(age);
            self.records
                .store(ids[index], value.clone(), stored_at, ttl);
            trace.saw(CacheStatus::Hit, Some(age));
            looked[index] = Some(Ok(found(value, CacheStatus::Hit, Some(age))));
        }
        still
    }

    /// The last good answer when the portal failed, if recent enough.
    fn stale_record(&self, id: RecordId, error: ApiError) -> Looked {
        if !error.is_upstream_failure() {
            return Err(error);
        }
        match self.records.stale(id, self.clock.monotonic()) {
            Some((value, age)) => Ok(found(value, CacheStatus::Stale, Some(age))),
            None => Err(error),
        }
    }

    /// Reads commands through the batcher; each settled record is rendered and cached once,
    /// by the request that sent it, which then owes the shared cache its copy.
    pub(crate) async fn read(&self, commands: &[Command], urgency: Urgency) -> Vec<Fetched> {
        let owed = Owed::default();
        let deadline = self.clock.monotonic() + self.settings.upstream_timeout;
        let settle = |command: Command, outcome: Outcome, age: Duration| {
            self.settle(command, outcome, age, &owed)
        };
        let gathered = self
            .batcher
            .read(
                &self.executor,
                &self.clock,
                commands,
                urgency,
                deadline,
                &settle,
            )
            .await;
        let owed = owed.into_inner().unwrap_or_else(|e| e.into_inner());
        let puts = owed
            .into_iter()
            .map(|(key, bytes, ttl)| self.shared_cache.put(key, bytes, ttl))
            .collect();
        join_all(puts).await;
        gathered
            .into_iter()
            .map(|g| g.unwrap_or(Err(ApiError::UpstreamTimeout)))
            .collect()
    }

    /// `age`: how old the answer already is (a coordinator may answer from its cache); the
    /// cache counts its life from when the portal gave it.
    fn settle(&self, command: Command, outcome: Outcome, age: Duration, owed: &Owed) -> Fetched {
        let policy = &self.settings.policy;
        let value = match (command, outcome) {
            (Command::Record(_), Ok(Read::Record(Some(record)))) if policy.admits(&record) => {
                Cached::Record(render_record(policy, &record))
            }
            // Missing, or in a hidden warehouse: the same answer either way.
            (Command::Record(_), Ok(Read::Record(_))) => Cached::Missing,
            (Command::ProductPage { .. }, Ok(Read::Page(page))) => {
                return Ok(Settled::Page(page.into(), age));
            }
            (_, Ok(_)) => return Err(ApiError::UpstreamError),
            (_, Err(error)) => return Err(error),
        };
        let Command::Record(id) = command else {
            return Err(ApiError::UpstreamError);
        };
        let ttl = match value {
            Cached::Missing => self.settings.negative_ttl,
            _ => self.settings.cache_ttl,
        };
        let stored_at = self.clock.monotonic().saturating_sub(age);
        self.records.store(id, value.clone(), stored_at, ttl);
        let life_left = ttl.saturating_sub(age);
        if !life_left.is_zero() {
            if let Ok(mut owed) = owed.lock() {
                owed.push((CacheKey::Record(id), value.to_bytes(), life_left));
            }
        }
        Ok(Settled::Record(value))
    }
}

pub(crate) fn found(value: Cached, status: CacheStatus, age: Option<Duration>) -> Found {
    Found { value, status, age }
}
