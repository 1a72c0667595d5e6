//! Running commands at the portal: one plain call for a lone command, one `batch` for several.
//! Every exchange runs on a slot of the portal budget, respects each method's operating-time pause,
//! retries a rate-limit refusal while the deadline allows, and turns every failure into a
//! public error, per command.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use super::batch_answer::{read_batch, Slot};
use super::budget::{Admission, PortalBudget, MAX_QUEUE_WAIT};
use super::catalogs::{read_catalogs, read_offers};
use super::command::{
    batch_body, batch_key, json_body, known_method, method, record_before, StoreFilter,
    BATCH_METHOD,
};
use super::envelope::{open, OperatingTime};
use super::operating_time::OperatingGuard;
use super::page::{read_ids, read_page, read_range};
use super::product_flags::{read_flag_rows, read_flags, read_named_flags, yes_no};
use super::record::read_get_result;
use super::refusal::{Classified, Refusal};
use crate::core::config::{BudgetLimits, ListStoreFilter, Settings};
use crate::core::domain::error::ApiError;
use crate::core::domain::reads::{Command, Read, Urgency};
use crate::core::kit::lock::lock;
use crate::core::ports::{
    Clock, Executed, Executor, OwnShare, Pace, PortalAccess, PortalTransport, SharedBudget,
    SharedSlot, TransportError,
};

/// First pause after `QUERY_LIMIT_EXCEEDED`; doubled for each further try. The portal drains
/// its bucket at 2 requests/s, so half a second usually frees a slot.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Retry-After for a rate-limit refusal we could not outwait.
const QUERY_LIMIT_RETRY_SECS: u64 = 2;
/// The portal blocks a method for about ten minutes after `OPERATION_TIME_LIMIT`.
const OPERATION_LIMIT_RETRY_SECS: u64 = 600;
/// `OVERLOAD_LIMIT` gives no hint; a minute keeps callers from hammering.
const OVERLOAD_RETRY_SECS: u64 = 60;
/// A webhook the portal refuses stays refused until the operator acts: ask again in a minute.
const UNAVAILABLE_RETRY_SECS: u64 = 60;
/// A refusal only the operator can fix is logged at error level at most this often.
const PROBLEM_LOG_EVERY: Duration = Duration::from_secs(60);

/// What the portal's answers say of the webhook: the open problem, and when each kind of
/// problem was last logged.
#[derive(Default)]
struct AccessState {
    problem: Option<Refusal>,
    credential_failures: u64,
    logged: Vec<(Refusal, Duration)>,
}

/// The portal behind a transport, with the instance's share of its budget, or the budget of
/// the whole deployment where one is shared (`B`, kept in Redis).
///
/// With a shared budget every portal request takes a slot of the shared bucket first; this
/// instance paces its batches by a local copy of the whole budget (`whole`), brought up to the
/// shared bucket's level at every take. While the store cannot be asked, the instance spends
/// its own share (`budget`) as if it were alone with that share.
pub struct PortalExecutor<T, B = OwnShare> {
    transport: T,
    budget: PortalBudget,
    whole: Option<PortalBudget>,
    shared: B,
    operating: OperatingGuard,
    filter: StoreFilter,
    access: Mutex<AccessState>,
}

impl<T: PortalTransport> PortalExecutor<T> {
    /// The portal behind `transport`, spending `budget` (this instance's share, or an
    /// isolate's fallback share), with the operating-time guard and the warehouse filter the
    /// settings ask for.
    pub fn from_settings(settings: &Settings, transport: T, budget: BudgetLimits) -> Self {
        Self::new(
            transport,
            PortalBudget::new(budget),
            OperatingGuard::new(settings.operating_limit_secs),
            store_filter(settings),
        )
    }

    pub fn new(
        transport: T,
        budget: PortalBudget,
        operating: OperatingGuard,
        filter: StoreFilter,
    ) -> Self {
        Self {
            transport,
            budget,
            whole: None,
            shared: OwnShare,
            operating,
            filter,
            access: Mutex::new(AccessState::default()),
        }
    }
}

impl<T, B> PortalExecutor<T, B> {
    /// Spends `shared`, a budget of `whole` limits for the whole deployment, while it answers;
    /// the share this executor was made with otherwise.
    pub fn with_shared_budget<B2: SharedBudget>(
        self,
        shared: B2,
        whole: BudgetLimits,
    ) -> PortalExecutor<T, B2> {
        PortalExecutor {
            transport: self.transport,
            budget: self.budget,
            whole: Some(PortalBudget::new(whole)),
            shared,
            operating: self.operating,
            filter: self.filter,
            access: self.access,
        }
    }
}

impl<T: PortalTransport, B: SharedBudget> PortalExecutor<T, B> {
    /// The local bucket to pace by: the whole budget's copy while the shared one is in use.
    fn local(&self) -> &PortalBudget {
        match &self.whole {
            Some(whole) if self.shared.in_use() => whole,
            _ => &self.budget,
        }
    }

    /// The slot for one portal request: the shared bucket's while its store answers, else
    /// this instance's share (where the batcher took the first request's slot already).
    async fn slot<C: Clock>(
        &self,
        clock: &C,
        max_wait: Duration,
        reserved: bool,
    ) -> Result<(), ApiError> {
        if self.shared.in_use() {
            if let Ok(SharedSlot {
                slot,
                level,
                pauses,
            }) = self.shared.take(max_wait).await
            {
                if let Some(whole) = &self.whole {
                    whole.align(clock.monotonic(), level);
                }
                let now = clock.unix_time();
                for (name, until) in pauses {
                    if let Some(method) = known_method(&name) {
                        self.operating.adopt(method, until, now);
                    }
                }
                return match slot {
                    Ok(wait) => {
                        clock.sleep(wait).await;
                        Ok(())
                    }
                    Err(wait) => Err(ApiError::UpstreamBusy {
                        retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
                    }),
                };
            }
            // The store failed just now: this instance's own share, as when it is away.
            return self.budget.acquire(clock, max_wait).await;
        }
        if reserved {
            return Ok(());
        }
        self.local().acquire(clock, max_wait).await
    }

    /// Learns `command`'s operating time from an answer; a pause it began is owed to the
    /// other instances.
    fn observe<C: Clock>(
        &self,
        clock: &C,
        command: Command,
        operating: OperatingTime,
        blocked: bool,
        owed: &mut Vec<(&'static str, Duration)>,
    ) {
        let method = method(command);
        if let Some(until) = self
            .operating
            .observe(method, operating, blocked, clock.unix_time())
        {
            owed.push((method, until));
        }
    }

    /// Tells the other instances of pauses this exchange began.
    async fn share_pauses(&self, owed: Vec<(&'static str, Duration)>) {
        if !self.shared.in_use() {
            return;
        }
        for (method, until) in owed {
            self.shared.pause(method, until).await;
        }
    }

    /// One log line per kind of refusal in an exchange (never the portal's text; a problem
    /// only the operator can fix at error level, at most once a minute per kind); the webhook
    /// is reloaded after a credentials refusal. An exchange with any answer closes the open
    /// problem: the portal accepts the gateway again.
    fn report(&self, slots: &[Result<Read, Refusal>], now: Duration) {
        let mut access = lock(&self.access);
        if slots.iter().any(Result::is_ok) {
            access.problem = None;
        }
        let mut seen: Vec<Refusal> = Vec::new();
        for refusal in slots.iter().filter_map(|s| s.as_ref().err()) {
            if seen.contains(refusal) {
                continue;
            }
            seen.push(*refusal);
            if *refusal == Refusal::Credentials {
                access.credential_failures += 1;
                self.transport.credentials_rejected();
            }
            if !refusal.is_configuration_problem() {
                tracing::warn!(problem = refusal.as_str(), "portal call failed");
                continue;
            }
            access.problem = Some(*refusal);
            let due = match access.logged.iter_mut().find(|(r, _)| r == refusal) {
                Some((_, at)) if now.saturating_sub(*at) < PROBLEM_LOG_EVERY => false,
                Some((_, at)) => {
                    *at = now;
                    true
                }
                None => {
                    access.logged.push((*refusal, now));
                    true
                }
            };
            if due {
                tracing::error!(
                    problem = refusal.as_str(),
                    code = refusal.problem_code(),
                    "portal refused the gateway; fix the webhook or its permissions \
                     (logged at most once a minute while it lasts)"
                );
            }
        }
    }

    fn public_error<C: Clock>(
        &self,
        clock: &C,
        refusal: Refusal,
        operating: OperatingTime,
    ) -> ApiError {
        let retry_after_secs = match refusal {
            Refusal::QueryLimit => QUERY_LIMIT_RETRY_SECS,
            Refusal::OperationTimeLimit => {
                let now = clock.unix_time().as_secs() as i64;
                operating
                    .reset_at_unix
                    .map(|reset| {
                        reset
                            .saturating_sub(now)
                            .clamp(1, OPERATION_LIMIT_RETRY_SECS as i64)
                            as u64
                    })
                    .unwrap_or(OPERATION_LIMIT_RETRY_SECS)
            }
            Refusal::Overload => OVERLOAD_RETRY_SECS,
            // Only the operator can fix these (a revoked webhook, missing rights): the service
            // is unavailable until then, not answering nonsense.
            refusal if refusal.is_configuration_problem() => {
                return ApiError::UpstreamUnavailable {
                    retry_after_secs: UNAVAILABLE_RETRY_SECS,
                }
            }
            _ => return ApiError::UpstreamError,
        };
        ApiError::UpstreamBusy { retry_after_secs }
    }

    /// Sends `commands` as one exchange (a plain call for one, a `batch` for several).
    async fn send<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> Executed {
        let all =
            |error: ApiError, calls: u32| Executed::fresh(vec![Err(error); commands.len()], calls);
        if commands.is_empty() {
            return all(ApiError::UpstreamError, 0);
        }
        if let Some(retry_after_secs) = commands.iter().find_map(|c| self.paused(clock, *c)) {
            return all(ApiError::UpstreamBusy { retry_after_secs }, 0);
        }
        let (method, body) = match commands {
            [one] => (method(*one), json_body(*one, &self.filter)),
            many => (BATCH_METHOD, batch_body(many, &self.filter)),
        };
        let body = Bytes::from(body);
        let mut backoff = FIRST_BACKOFF;
        let mut calls = 0;
        let mut retrying = false;
        let mut redialled = false;
        // The batcher reserved the first request's slot; every further one takes its own.
        let mut reserved = true;
        loop {
            let Some(remaining) = deadline
                .checked_sub(clock.monotonic())
                .filter(|r| !r.is_zero())
            else {
                return all(ApiError::UpstreamTimeout, calls);
            };
            // A retry may wait longer for its slot: the portal just said the bucket is full.
            let max_wait = match urgency {
                Urgency::Background => Duration::ZERO,
                Urgency::Caller if retrying => remaining / 2,
                Urgency::Caller => MAX_QUEUE_WAIT.min(remaining / 2),
            };
            let first = std::mem::take(&mut reserved);
            if let Err(busy) = self.slot(clock, max_wait, first).await {
                return all(busy, calls);
            }
            // Another instance may have paused a method meanwhile.
            if let Some(retry_after_secs) = commands.iter().find_map(|c| self.paused(clock, *c)) {
                return all(ApiError::UpstreamBusy { retry_after_secs }, calls);
            }
            let remaining = deadline.saturating_sub(clock.monotonic());
            calls += 1;
            let reply = match self.transport.post(method, body.clone(), remaining).await {
                Ok(reply) => reply,
                Err(TransportError::Timeout) => {
                    tracing::warn!(
                        problem = "timeout",
                        commands = commands.len(),
                        "portal call failed"
                    );
                    return all(ApiError::UpstreamTimeout, calls);
                }
                Err(TransportError::Dropped) if !redialled => {
                    // Most likely a kept-alive connection the portal had just closed: the
                    // request never reached it. Once, through the budget like any call.
                    tracing::info!("portal connection closed before an answer, trying once more");
                    redialled = true;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(problem = %error, commands = commands.len(), "portal call failed");
                    return all(ApiError::UpstreamError, calls);
                }
            };
            let (slots, times) = match read_reply(commands, reply.status, &reply.body) {
                Ok(read) => read,
                Err((Classified::Refused(Refusal::QueryLimit), operating)) => {
                    self.local().saturate(clock.monotonic());
                    let left = deadline.saturating_sub(clock.monotonic());
                    // Retry only if the pause still leaves time for the call itself.
                    if urgency == Urgency::Caller && left > backoff * 2 {
                        tracing::info!(
                            pause_ms = backoff.as_millis() as u64,
                            "portal rate limit, retrying"
                        );
                        clock.sleep(backoff).await;
                        backoff *= 2;
                        retrying = true;
                        continue;
                    }
                    let mut owed = Vec::new();
                    for command in commands {
                        self.observe(clock, *command, operating, false, &mut owed);
                    }
                    self.share_pauses(owed).await;
                    tracing::warn!(problem = Refusal::QueryLimit.as_str(), "portal busy");
                    return all(
                        ApiError::UpstreamBusy {
                            retry_after_secs: QUERY_LIMIT_RETRY_SECS,
                        },
                        calls,
                    );
                }
                // A whole exchange cannot be "not found": that shape only exists per command.
                Err((Classified::NotFound, operating)) => (
                    vec![Err(Refusal::ServerFault); commands.len()],
                    vec![operating; commands.len()],
                ),
                Err((Classified::Refused(refusal), operating)) => (
                    vec![Err(refusal); commands.len()],
                    vec![operating; commands.len()],
                ),
            };
            // The portal counts operating time per method: each command's reading pauses its
            // own method only.
            let mut owed = Vec::new();
            for ((command, slot), time) in commands.iter().zip(&slots).zip(&times) {
                let blocked = *slot == Err(Refusal::OperationTimeLimit);
                self.observe(clock, *command, *time, blocked, &mut owed);
            }
            self.share_pauses(owed).await;
            self.report(&slots, clock.monotonic());
            let outcomes = slots
                .into_iter()
                .zip(times)
                .map(|(slot, time)| slot.map_err(|refusal| self.public_error(clock, refusal, time)))
                .collect();
            return Executed::fresh(outcomes, calls);
        }
    }
}

impl<T: PortalTransport, B: SharedBudget> Executor for PortalExecutor<T, B> {
    fn reserve<C: Clock>(
        &self,
        clock: &C,
        max_wait: Duration,
        pace: Pace,
    ) -> Result<Duration, Duration> {
        match self.local().admit(clock.monotonic(), max_wait, pace) {
            Admission::Go => Ok(Duration::ZERO),
            Admission::After(wait) => Ok(wait),
            Admission::Refused(wait) => Err(wait),
        }
    }

    fn paused<C: Clock>(&self, clock: &C, command: Command) -> Option<u64> {
        self.operating
            .check(method(command), clock.unix_time())
            .err()
    }

    /// Runs `commands`; a record's chained flags whose record is not in this exchange (the
    /// batcher split them) are answered "not read" unsent, and their product's flags are read
    /// on their own.
    async fn execute<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> Executed {
        let orphan = |i: usize| {
            matches!(commands[i], Command::FlagsOfRecord(_)) && record_before(commands, i).is_none()
        };
        if !(0..commands.len()).any(orphan) {
            return self.send(clock, commands, urgency, deadline).await;
        }
        let sent: Vec<Command> = (0..commands.len())
            .filter(|i| !orphan(*i))
            .map(|i| commands[i])
            .collect();
        let ran = if sent.is_empty() {
            Executed::fresh(Vec::new(), 0)
        } else {
            Box::pin(self.send(clock, &sent, urgency, deadline)).await
        };
        let mut outcomes = ran.outcomes.into_iter().zip(ran.ages);
        let (outcomes, ages) = (0..commands.len())
            .map(|i| match orphan(i) {
                true => (Ok(Read::RecordFlags(None)), Duration::ZERO),
                false => outcomes
                    .next()
                    .unwrap_or((Err(ApiError::UpstreamError), Duration::ZERO)),
            })
            .unzip();
        Executed {
            outcomes,
            ages,
            calls: ran.calls,
        }
    }

    fn budget_level(&self, now: Duration) -> Option<f64> {
        Some(self.local().fill(now))
    }

    fn access(&self) -> PortalAccess {
        let access = lock(&self.access);
        PortalAccess {
            problem: access.problem.and_then(Refusal::problem_code),
            credential_failures: access.credential_failures,
        }
    }
}

/// The warehouses product reads ask the portal for: the public ones, or all of them when the
/// portal refuses `@storeId` and the gateway filters instead.
pub fn store_filter(settings: &Settings) -> StoreFilter {
    StoreFilter {
        stores: match settings.list_store_filter {
            ListStoreFilter::Portal => settings.policy.allowed_stores.clone(),
            ListStoreFilter::Gateway => Vec::new(),
        },
    }
}

/// One slot per command, and the operating time the answer reported for each command's method.
pub type Slots = (Vec<Result<Read, Refusal>>, Vec<OperatingTime>);

/// Reads the portal's reply to `commands` as one exchange sent them: a plain call's answer for
/// one command, a `batch` answer for several. Public so the fuzz targets reach the same path.
pub fn read_reply(
    commands: &[Command],
    status: u16,
    body: &[u8],
) -> Result<Slots, (Classified, OperatingTime)> {
    match commands {
        [one] => read_single(*one, status, body),
        many => read_many(many, status, body),
    }
}

/// A plain call's answer, as the one command's slot.
fn read_single(
    command: Command,
    status: u16,
    body: &[u8],
) -> Result<Slots, (Classified, OperatingTime)> {
    let opened = match open(status, body) {
        Ok(opened) => opened,
        // A single get's not-found envelope is that command's answer.
        Err((Classified::NotFound, operating)) if matches!(command, Command::Record(_)) => {
            return Ok((vec![Ok(Read::Record(None))], vec![operating]));
        }
        Err((classified, operating)) if withheld(command, classified) => {
            let read = match command {
                Command::InventoryMode => Read::Mode(None),
                Command::Catalogs => Read::Catalogs(None),
                Command::Offers { .. } => Read::Offers(None),
                _ => Read::Flags(None),
            };
            return Ok((vec![Ok(read)], vec![operating]));
        }
        Err(failure) => return Err(failure),
    };
    let mut root = opened.root;
    let slot = Slot::Result {
        result: root.remove("result").unwrap_or_default(),
        total: root.remove("total"),
        next: root.remove("next"),
    };
    Ok((vec![read_slot(command, slot)], vec![opened.operating]))
}

fn read_many(
    commands: &[Command],
    status: u16,
    body: &[u8],
) -> Result<Slots, (Classified, OperatingTime)> {
    let keys: Vec<String> = (0..commands.len()).map(batch_key).collect();
    let answer = read_batch(status, body, &keys)?;
    let slots = commands
        .iter()
        .zip(answer.slots)
        .map(|(command, slot)| read_slot(*command, slot))
        .collect();
    Ok((slots, answer.times))
}

/// A product the portal does not have, or will not show the webhook: its flags are unknown,
/// which is an answer (the stock alone then speaks), not a fault of the exchange; the same for
/// the inventory mode.
fn withheld(command: Command, classified: Classified) -> bool {
    matches!(
        command,
        Command::Flags(_) | Command::InventoryMode | Command::Catalogs | Command::Offers { .. }
    ) && match classified {
        Classified::NotFound => true,
        Classified::Refused(refusal) => {
            refusal != Refusal::Credentials && refusal.is_configuration_problem()
        }
    }
}

fn read_slot(command: Command, slot: Slot) -> Result<Read, Refusal> {
    match (command, slot) {
        // Whatever else it met (a portal that resolves no reference, a refusal) only means the
        // flags are read on their own: it never fails the exchange.
        (Command::FlagsOfRecord(_), Slot::Result { result, .. }) => {
            Ok(Read::RecordFlags(read_named_flags(&result)))
        }
        (Command::FlagsOfRecord(_), _) => Ok(Read::RecordFlags(None)),
        (Command::Flags(id), Slot::Result { result, .. }) => read_flags(&result, id)
            .map(|flags| Read::Flags(Some(flags)))
            .ok_or(Refusal::BadAnswer),
        (Command::Flags(_), Slot::Error(classified)) if withheld(command, classified) => {
            Ok(Read::Flags(None))
        }
        // Any answer will do: an odd one says nothing, and never fails a sweep's exchange.
        (Command::InventoryMode, Slot::Result { result, .. }) => Ok(Read::Mode(yes_no(&result))),
        (Command::InventoryMode, Slot::Error(classified)) if withheld(command, classified) => {
            Ok(Read::Mode(None))
        }
        (Command::Catalogs, Slot::Result { result, .. }) => read_catalogs(&result)
            .map(|catalogs| Read::Catalogs(Some(catalogs)))
            .ok_or(Refusal::BadAnswer),
        (Command::Catalogs, Slot::Error(classified)) if withheld(command, classified) => {
            Ok(Read::Catalogs(None))
        }
        (Command::Offers { parent, .. }, Slot::Result { result, .. }) => {
            read_offers(&result, parent)
                .map(|offers| Read::Offers(Some(offers)))
                .ok_or(Refusal::BadAnswer)
        }
        (Command::Offers { .. }, Slot::Error(classified)) if withheld(command, classified) => {
            Ok(Read::Offers(None))
        }
        (Command::FlagsRange { iblock, from }, Slot::Result { result, .. }) => {
            read_flag_rows(&result, iblock, from)
                .map(Read::FlagRows)
                .ok_or(Refusal::BadAnswer)
        }
        (Command::Record(id), Slot::Result { result, .. }) => read_get_result(&result, id)
            .map(|record| Read::Record(Some(record)))
            .ok_or(Refusal::BadAnswer),
        (Command::Record(_), Slot::Error(Classified::NotFound)) => Ok(Read::Record(None)),
        (
            Command::ProductPage { product, .. },
            Slot::Result {
                result,
                total,
                next,
            },
        ) => read_page(&result, total.as_ref(), next.as_ref(), product)
            .map(Read::Page)
            .ok_or(Refusal::BadAnswer),
        (Command::Range { from }, Slot::Result { result, next, .. }) => {
            read_range(&result, next.as_ref(), from)
                .map(Read::Rows)
                .ok_or(Refusal::BadAnswer)
        }
        (Command::Highest, Slot::Result { result, .. }) => read_ids(&result)
            .map(|ids| Read::Id(ids.into_iter().max()))
            .ok_or(Refusal::BadAnswer),
        // Every row at or above `from`, as asked: anything else is not this answer.
        (Command::NextId { from }, Slot::Result { result, .. }) => read_ids(&result)
            .filter(|ids| ids.iter().all(|id| *id >= from))
            .map(|ids| Read::Id(ids.into_iter().min()))
            .ok_or(Refusal::BadAnswer),
        // A list cannot miss a record: an error that says so is a fault.
        (
            Command::ProductPage { .. }
            | Command::Range { .. }
            | Command::Highest
            | Command::NextId { .. }
            | Command::Flags(_)
            | Command::FlagsRange { .. }
            | Command::InventoryMode
            | Command::Catalogs
            | Command::Offers { .. },
            Slot::Error(Classified::NotFound),
        ) => Err(Refusal::ServerFault),
        (_, Slot::Error(Classified::Refused(refusal))) => Err(refusal),
        (_, Slot::Missing) => Err(Refusal::BadAnswer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::id::{ProductId, RecordId};

    fn get(n: u64) -> Command {
        Command::Record(RecordId::from_u64(n).unwrap())
    }

    #[test]
    fn sweep_edges_are_read_strictly() {
        let id = |n| RecordId::from_u64(n).unwrap();
        let slot = |ids: serde_json::Value| Slot::Result {
            result: serde_json::json!({ "storeProducts": ids }),
            total: None,
            next: None,
        };
        let rows = serde_json::json!([{"id": 900}, {"id": "120"}]);
        assert_eq!(
            read_slot(Command::Highest, slot(rows.clone())),
            Ok(Read::Id(Some(id(900))))
        );
        let next = Command::NextId { from: id(100) };
        assert_eq!(read_slot(next, slot(rows)), Ok(Read::Id(Some(id(120)))));
        assert_eq!(
            read_slot(next, slot(serde_json::json!([]))),
            Ok(Read::Id(None))
        );
        // An id below the one asked from is not this answer: a sweep must always move on.
        assert_eq!(
            read_slot(next, slot(serde_json::json!([{"id": 99}]))),
            Err(Refusal::BadAnswer)
        );
    }

    fn single(status: u16, body: &str) -> Result<Read, Refusal> {
        match read_single(get(13), status, body.as_bytes()) {
            Ok((mut slots, _)) => slots.remove(0),
            Err((Classified::Refused(refusal), _)) => Err(refusal),
            Err((Classified::NotFound, _)) => panic!("a single get's not-found is its answer"),
        }
    }

    #[test]
    fn single_gets() {
        let found = single(
            200,
            r#"{"result":{"storeProduct":{"amount":14,"id":13,"productId":6973,"quantityReserved":null,"storeId":11}},"time":{"operating":0.1}}"#,
        );
        assert!(matches!(found, Ok(Read::Record(Some(ref r))) if r.amount == 14.0));
        assert_eq!(
            single(
                400,
                r#"{"error":"-","error_description":"Store product does not exist"}"#
            ),
            Ok(Read::Record(None))
        );
        assert_eq!(
            single(
                503,
                r#"{"error":"SERVICE_UNAVAILABLE_X","error_description":"Service not found"}"#
            ),
            Err(Refusal::ServerFault)
        );
        for (status, body) in [
            (200, "<html>502 Bad Gateway</html>"),
            (200, ""),
            (200, r#"{"result":{"storeProduct":{"amount":14,"id":13"#),
            (200, r#"{"result":{"storeProduct":null}}"#),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":1,"id":14,"productId":1,"storeId":1}}}"#,
            ),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":5,"quantityReserved":-3,"id":13,"productId":1,"storeId":1}}}"#,
            ),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":1e305,"id":13,"productId":1,"storeId":1}}}"#,
            ),
            (
                500,
                r#"{"result":{"storeProduct":{"amount":1,"id":13,"productId":1,"storeId":1}}}"#,
            ),
            (200, "[1,2]"),
        ] {
            assert_eq!(single(status, body), Err(Refusal::BadAnswer), "{body}");
        }
    }

    #[test]
    fn chained_flags_never_fail_the_exchange() {
        let chained = |n| Command::FlagsOfRecord(RecordId::from_u64(n).unwrap());
        let commands = [get(13), chained(13), get(14), chained(14), chained(15)];
        let body = r#"{"result":{
            "result":{"c0":{"storeProduct":{"amount":"2","id":"13","productId":"6973","storeId":"11"}},
                      "c1":{"product":{"id":"6973","iblockId":"23","canBuyZero":"Y","quantityTrace":"N","type":"1"}},
                      "c4":{"product":"odd"}},
            "result_error":{"c2":{"error":"-","error_description":"Entity is not exists"},
                            "c3":{"error":"OPERATION_TIME_LIMIT","error_description":"blocked"}},
            "result_total":[],"result_next":[],"result_time":[]}}"#;
        let (slots, _) = read_many(&commands, 200, body.as_bytes()).unwrap();
        let Ok(Read::RecordFlags(Some((product, flags)))) = &slots[1] else {
            panic!("{:?}", slots[1])
        };
        assert_eq!((product.get(), flags.iblock), (6973, 23));
        for i in [3, 4] {
            assert_eq!(slots[i], Ok(Read::RecordFlags(None)), "slot {i}");
        }
    }

    #[test]
    fn batches_map_per_command_with_the_single_call_classification() {
        let commands = [
            get(13),
            get(14),
            get(15),
            get(16),
            Command::ProductPage {
                product: ProductId::from_u64(6973).unwrap(),
                start: 0,
            },
        ];
        let body = r#"{"result":{
            "result":{"c0":{"storeProduct":{"amount":"2","id":"13","productId":"6973","storeId":"11"}},
                      "c4":{"storeProducts":[{"amount":6,"id":301,"productId":6973,"storeId":1,"quantityReserved":1}]}},
            "result_error":{"c1":{"error":"-","error_description":"Entity is not exists"},
                            "c2":{"error":"OPERATION_TIME_LIMIT","error_description":"blocked"}},
            "result_total":{"c4":"1"},"result_next":[],"result_time":[]}}"#;
        let (slots, _) = read_many(&commands, 200, body.as_bytes()).unwrap();
        assert!(matches!(slots[0], Ok(Read::Record(Some(_)))));
        assert_eq!(slots[1], Ok(Read::Record(None)));
        assert_eq!(slots[2], Err(Refusal::OperationTimeLimit));
        assert_eq!(slots[3], Err(Refusal::BadAnswer), "absent from the answer");
        let Ok(Read::Page(page)) = &slots[4] else {
            panic!("{:?}", slots[4])
        };
        assert_eq!((page.rows.len(), page.total), (1, Some(1)));
        let refused = read_many(&commands, 503, br#"{"error":"QUERY_LIMIT_EXCEEDED"}"#);
        assert_eq!(
            refused.unwrap_err().0,
            Classified::Refused(Refusal::QueryLimit)
        );
    }
}
