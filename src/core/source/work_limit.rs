//! A per-caller limit on portal work: how many cold commands (ids read from the upstream
//! because nobody had them) one caller may cause a minute, apart from how many requests it may
//! send. A request of 50 never-seen ids costs 50; hits and reads that join another caller's
//! cost nothing. Callers are keyed as the request limit keys them; callers the platform could
//! not name share one allowance.

use std::time::Duration;

use crate::core::domain::caller::CallerKey;
use crate::core::kit::gcra::Gcra;

/// How many callers are remembered at once.
const MAX_CALLERS: usize = 65_536;

pub struct WorkLimit {
    callers: Gcra<Option<CallerKey>>,
}

impl WorkLimit {
    /// `per_minute == 0`: no limit.
    pub fn new(per_minute: u32) -> Self {
        Self {
            callers: Gcra::new(per_minute, MAX_CALLERS),
        }
    }

    /// Takes `commands` of `caller`'s allowance, or answers the seconds until they would fit.
    pub fn take(
        &self,
        caller: Option<CallerKey>,
        commands: usize,
        now: Duration,
    ) -> Result<(), u64> {
        self.callers
            .take(caller, u32::try_from(commands).unwrap_or(u32::MAX), now)
    }
}
