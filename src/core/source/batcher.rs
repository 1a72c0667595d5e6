//! Batching: misses of concurrent requests, or of one, go to the portal together as one `batch`
//! (at most 50 commands), each command is in flight at most once, and the portal's budget is
//! spent one paced slot at a time, shared fairly between callers.
//!
//! A request joins one flight per command; the commands it leads wait in a queue of their
//! urgency, in the lane of its caller (the per-caller limit's key). One request at a time is a
//! queue's *sender*: it reserves the next budget slot the executor can give before its
//! deadline (a partial batch waits for the steady pace; a full one, or any while the last one
//! was full, may use the burst), sleeps
//! until then (at least the grouping window when others are about; a lone miss on a quiet
//! gateway goes at once), then takes up to 50 commands, one per lane in turn, and runs them as
//! one exchange. Misses arriving meanwhile wait for that slot instead of spending their own, so
//! the portal sees one request per slot with everything that was waiting: capacity grows to
//! the slot rate times 50 distinct ids, and one caller with many ids cannot push the others
//! out of a batch. Commands whose method is paused for operating time leave the queue at once
//! with `upstream_busy`, without taking a place. When more is queued than one batch holds,
//! commands that only ride along (a cold record's product flags, named by reference) leave
//! unsent and give their places to the rest: a burst of distinct records reads 50 records a
//! batch, and their flags after, once per product.
//!
//! Callers' and refreshes' commands never share an exchange: a batch is of one urgency. A
//! refresh waits while callers have commands queued or a slot reserved, and gathers longer
//! (its cached answer still stands), so refreshes due around the same time travel together.
//!
//! Requests that are not the sender wait for their flights, and look again when the sender's
//! slot has come. When no slot comes before its deadline, a request's own queued commands leave
//! with `upstream_busy` and an honest `Retry-After`. No request ever wakes another on Workers
//! ([`Waiting::Polling`]): each sends from its own context and the others look on their own
//! timers.
//!
//! If a request goes away, its queued commands leave the queue and its flights are abandoned;
//! followers then take over. A sender that goes away before its slot gives the role up; a batch
//! whose sender goes away mid-call abandons its flights the same way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::domain::caller::CallerKey;
use crate::core::domain::error::ApiError;
use crate::core::domain::reads::{Command, Outcome, Urgency};
use crate::core::kit::lock::lock;
use crate::core::metrics::{ExchangeOutcome, ExchangeStats};
use crate::core::portal::command::MAX_BATCH_COMMANDS;
use crate::core::ports::{Clock, Executor, Pace};
use crate::core::source::flights::{Flight, Flights, Joined, Lead, Waiting};

/// Whose commands these are: callers take turns by their key; commands of no caller (or of
/// callers the platform could not name) share one lane.
pub type Lane = Option<CallerKey>;

/// Who asks, and how urgently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    pub urgency: Urgency,
    pub lane: Lane,
}

impl Demand {
    pub fn caller(lane: Lane) -> Self {
        Self {
            urgency: Urgency::Caller,
            lane,
        }
    }

    pub const BACKGROUND: Demand = Demand {
        urgency: Urgency::Background,
        lane: None,
    };
}

/// The longest a sender goes on gathering past its slot while misses keep arriving.
const MORE_GATHER: Duration = Duration::from_millis(50);
/// How long waiters give a sender to take its batch once its slot has come.
const SETTLE: Duration = Duration::from_millis(20);
/// How often a waiting refresh looks whether callers have left it a slot.
const BACKGROUND_RECHECK: Duration = Duration::from_millis(100);
/// The longest a refresh gathers others before its slot.
const BACKGROUND_GATHER: Duration = Duration::from_secs(2);

/// Queues, groups and sends commands; `V` is what a settled command leaves in its flight.
pub struct Batcher<V> {
    flights: Flights<Command, V>,
    state: Mutex<State<V>>,
    next_request: AtomicU64,
    /// Exchanges under way; with the queue, tells whether a miss arrives alone.
    sending: Arc<AtomicUsize>,
    window: Duration,
    exchange_timeout: Duration,
    waiting: Waiting,
    stats: ExchangeStats,
}

struct State<V> {
    /// By urgency: callers' commands, then refreshes'.
    queues: [Lanes<V>; 2],
    /// The sender holding a reserved slot, and when it takes its batch, by urgency.
    pending: [Option<(u64, Duration)>; 2],
    /// Whether the last batch taken was full, by urgency: demand beyond one batch a slot,
    /// which the burst is for.
    last_full: [bool; 2],
}

struct Queued<V> {
    request: u64,
    /// The request's deadline: an exchange never outlasts the latest of its commands'.
    deadline: Duration,
    lead: Lead<Command, V>,
}

/// Queued commands of one urgency, in lanes served round-robin.
struct Lanes<V> {
    lanes: VecDeque<(Lane, VecDeque<Queued<V>>)>,
    len: usize,
}

impl<V> Default for Lanes<V> {
    fn default() -> Self {
        Self {
            lanes: VecDeque::new(),
            len: 0,
        }
    }
}

impl<V> Lanes<V> {
    fn push(&mut self, lane: Lane, queued: Queued<V>) {
        match self.lanes.iter_mut().find(|(l, _)| *l == lane) {
            Some((_, queue)) => queue.push_back(queued),
            None => self.lanes.push_back((lane, VecDeque::from([queued]))),
        }
        self.len += 1;
    }

    /// Up to `most` commands, one from each lane in turn; the lane served last goes to the
    /// back, so the next batch starts with the others.
    fn take(&mut self, most: usize) -> Vec<Queued<V>> {
        let mut taken = Vec::with_capacity(most.min(self.len));
        while taken.len() < most {
            let Some((lane, mut queue)) = self.lanes.pop_front() else {
                break;
            };
            if let Some(queued) = queue.pop_front() {
                taken.push(queued);
            }
            if !queue.is_empty() {
                self.lanes.push_back((lane, queue));
            }
        }
        self.len -= taken.len();
        taken
    }

    fn withdraw(&mut self, request: u64) -> Vec<Queued<V>> {
        let mut withdrawn = Vec::new();
        for (_, queue) in &mut self.lanes {
            let (mine, others): (VecDeque<_>, VecDeque<_>) =
                queue.drain(..).partition(|q| q.request == request);
            *queue = others;
            withdrawn.extend(mine);
        }
        self.lanes.retain(|(_, queue)| !queue.is_empty());
        self.len -= withdrawn.len();
        withdrawn
    }

    /// Takes the queued command `command` out, if it is queued here.
    fn remove(&mut self, command: Command) -> Option<Queued<V>> {
        let mut found = None;
        for (_, queue) in &mut self.lanes {
            if let Some(at) = queue.iter().position(|q| *q.lead.key() == command) {
                found = queue.remove(at);
                break;
            }
        }
        self.lanes.retain(|(_, queue)| !queue.is_empty());
        self.len -= usize::from(found.is_some());
        found
    }

    fn first_of(&self, request: u64) -> Option<Arc<Flight<V>>> {
        self.lanes
            .iter()
            .flat_map(|(_, queue)| queue)
            .find(|q| q.request == request)
            .map(|q| q.lead.flight())
    }

    fn only_of(&self, request: u64) -> bool {
        self.lanes
            .iter()
            .flat_map(|(_, queue)| queue)
            .all(|q| q.request == request)
    }
}

/// What a request with queued commands does next.
enum Turn {
    /// Another sender holds a slot: look again at this time.
    Wait(Duration),
    /// This request is the sender: take a batch at this time.
    Send(Duration),
    /// No slot before the deadline: the next frees up after this long.
    Refused(Duration),
}

/// What a request asked for and what it got, per command, in order. `None`: no result within
/// the deadline.
pub type Gathered<V> = Vec<Option<V>>;

/// The flights a request joined, by command index.
type JoinedFlights<V> = Vec<(usize, Arc<Flight<V>>)>;

const fn slot(urgency: Urgency) -> usize {
    match urgency {
        Urgency::Caller => 0,
        Urgency::Background => 1,
    }
}

impl<V: Clone> Batcher<V> {
    /// `window`: how long a miss waits for company when others are about; `exchange_timeout`:
    /// the most one exchange may take; a flight whose leader vanished is taken over that long
    /// after its deadline, plus `margin`.
    pub fn new(
        window: Duration,
        exchange_timeout: Duration,
        margin: Duration,
        waiting: Waiting,
    ) -> Self {
        Self {
            flights: Flights::new(exchange_timeout * 2 + margin),
            state: Mutex::new(State {
                queues: [Lanes::default(), Lanes::default()],
                pending: [None, None],
                last_full: [false, false],
            }),
            next_request: AtomicU64::new(1),
            sending: Arc::default(),
            window,
            exchange_timeout,
            waiting,
            stats: ExchangeStats::default(),
        }
    }

    /// The exchanges sent so far, for metrics.
    pub fn stats(&self) -> &ExchangeStats {
        &self.stats
    }

    /// Reads `commands` through the queues by `deadline` (monotonic). `settle` turns each
    /// exchange's outcome (and the answer's age) into the flight's value once, in the sending
    /// request, before followers see it (render, cache).
    pub async fn read<E, C, S>(
        &self,
        executor: &E,
        clock: &C,
        commands: &[Command],
        demand: Demand,
        deadline: Duration,
        settle: &S,
    ) -> Gathered<V>
    where
        E: Executor,
        C: Clock,
        S: Fn(Command, Outcome, Duration) -> V,
    {
        let mut gathered: Gathered<V> = vec![None; commands.len()];
        let mut wanted: Vec<usize> = (0..commands.len()).collect();
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        // Takes this request's queued commands out of the queues if it goes away early.
        let _queued = Withdraw {
            batcher: self,
            request,
        };
        while !wanted.is_empty() && clock.monotonic() < deadline {
            let (flights, led) = self.enqueue(clock, request, demand, deadline, commands, &wanted);
            if led {
                self.send_own(executor, clock, request, demand.urgency, deadline, settle)
                    .await;
            }
            let mut unsettled = Vec::new();
            for (index, flight) in flights {
                match flight.wait(self.waiting, deadline, clock).await {
                    Some(value) => gathered[index] = Some(value),
                    None => unsettled.push(index),
                }
            }
            wanted = unsettled;
        }
        gathered
    }

    /// Joins a flight for each wanted command; led ones go to the queue. Whether any was led.
    fn enqueue<C: Clock>(
        &self,
        clock: &C,
        request: u64,
        demand: Demand,
        deadline: Duration,
        commands: &[Command],
        wanted: &[usize],
    ) -> (JoinedFlights<V>, bool) {
        let mut state = lock(&self.state);
        let own = slot(demand.urgency);
        let mut led = false;
        let now = clock.monotonic();
        let flights = wanted
            .iter()
            .map(|&index| {
                let queued = match self.flights.join(commands[index], now) {
                    Joined::Lead(lead) => Queued {
                        request,
                        deadline,
                        lead,
                    },
                    Joined::Follow(flight) if demand.urgency == Urgency::Caller => {
                        // A caller's command still waiting among the refreshes moves to the
                        // callers' queue, and this request sends it: a caller never waits at
                        // background urgency.
                        match state.queues[slot(Urgency::Background)].remove(commands[index]) {
                            Some(refresh) => Queued {
                                request,
                                deadline,
                                lead: refresh.lead,
                            },
                            None => return (index, flight),
                        }
                    }
                    Joined::Follow(flight) => return (index, flight),
                };
                led = true;
                let flight = queued.lead.flight();
                state.queues[own].push(demand.lane, queued);
                (index, flight)
            })
            .collect();
        (flights, led)
    }

    /// Until none of this request's commands is queued: waits for the sender, or is the sender.
    async fn send_own<E, C, S>(
        &self,
        executor: &E,
        clock: &C,
        request: u64,
        urgency: Urgency,
        deadline: Duration,
        settle: &S,
    ) where
        E: Executor,
        C: Clock,
        S: Fn(Command, Outcome, Duration) -> V,
    {
        let own = slot(urgency);
        loop {
            let now = clock.monotonic();
            if now >= deadline {
                return;
            }
            let turn = {
                let mut state = lock(&self.state);
                let Some(flight) = state.queues[own].first_of(request) else {
                    return;
                };
                let callers_busy = state.queues[0].len > 0 || state.pending[0].is_some();
                if urgency == Urgency::Background && callers_busy {
                    let next =
                        state.pending[0].map_or(now + BACKGROUND_RECHECK, |(_, at)| at + SETTLE);
                    (Turn::Wait(next), Some(flight))
                } else if let Some((_, at)) = state.pending[own] {
                    (Turn::Wait(at + SETTLE), Some(flight))
                } else {
                    let turn =
                        self.reserve(executor, clock, &mut state, request, urgency, deadline);
                    (turn, None)
                }
            };
            match turn {
                (Turn::Wait(until), Some(flight)) => {
                    // Never less than a moment: a sender late to take its batch must not be
                    // raced by waiters spinning round this loop.
                    let until = until.max(now + SETTLE).min(deadline);
                    match self.waiting {
                        // Woken early when a sender took the command and it landed.
                        Waiting::Woken => {
                            let _ = flight.wait(self.waiting, until, clock).await;
                        }
                        // One timer until the sender's slot, not a poll every few milliseconds
                        // for each waiting request (hundreds may wait in one Durable Object).
                        Waiting::Polling(_) => {
                            clock.sleep(until.saturating_sub(clock.monotonic())).await;
                        }
                    }
                }
                (Turn::Send(at), _) => {
                    let pending = Pending {
                        batcher: self,
                        urgency: own,
                        request,
                    };
                    let seen = lock(&self.state).queues[own].len;
                    // A sender that waits for its slot gathers meanwhile; one that only waits
                    // the window may go on gathering while misses keep arriving.
                    let pause = at.saturating_sub(clock.monotonic());
                    clock.sleep(pause).await;
                    if pause <= self.window {
                        self.gather_while_arriving(clock, own, seen, deadline).await;
                    }
                    let (batch, paused, unsent) = {
                        let mut state = lock(&self.state);
                        state.pending[own] = None;
                        state.last_full[own] = state.queues[own].len >= MAX_BATCH_COMMANDS;
                        // More queued than a batch holds: commands that only ride along (a
                        // record's flags) give their places to the ones that must go.
                        let crowded = state.queues[own].len > MAX_BATCH_COMMANDS;
                        let mut batch = Vec::new();
                        let mut paused = Vec::new();
                        let mut unsent = Vec::new();
                        while batch.len() < MAX_BATCH_COMMANDS && state.queues[own].len > 0 {
                            let want = MAX_BATCH_COMMANDS - batch.len();
                            for queued in state.queues[own].take(want) {
                                let key = *queued.lead.key();
                                match (
                                    crowded.then(|| key.unsent()).flatten(),
                                    executor.paused(clock, key),
                                ) {
                                    (Some(read), _) => unsent.push((queued, read)),
                                    (None, Some(retry_after_secs)) => {
                                        paused.push((queued, retry_after_secs))
                                    }
                                    (None, None) => batch.push(queued),
                                }
                            }
                        }
                        (batch, paused, unsent)
                    };
                    drop(pending);
                    for (queued, retry_after_secs) in paused {
                        let busy = Err(ApiError::UpstreamBusy { retry_after_secs });
                        let value = settle(*queued.lead.key(), busy, Duration::ZERO);
                        queued.lead.land(value);
                    }
                    for (queued, read) in unsent {
                        let value = settle(*queued.lead.key(), Ok(read), Duration::ZERO);
                        queued.lead.land(value);
                    }
                    self.send(executor, clock, batch, urgency, settle).await;
                }
                (Turn::Refused(wait), _) => {
                    let mine = lock(&self.state).queues[own].withdraw(request);
                    let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                    for queued in mine {
                        let busy = Err(ApiError::UpstreamBusy { retry_after_secs });
                        let value = settle(*queued.lead.key(), busy, Duration::ZERO);
                        queued.lead.land(value);
                    }
                    return;
                }
                (Turn::Wait(_), None) => return,
            }
        }
    }

    /// Misses still pouring in (the queue grew while the sender gathered, `seen` before): one
    /// window more at a time while it keeps growing, up to [`MORE_GATHER`], so that a burst
    /// of misses arriving over some milliseconds fills batches instead of spending a slot on
    /// each fragment. A lone miss never waits here: its queue does not grow.
    async fn gather_while_arriving<C: Clock>(
        &self,
        clock: &C,
        own: usize,
        mut seen: usize,
        deadline: Duration,
    ) {
        if self.window.is_zero() {
            return;
        }
        let stop = (clock.monotonic() + MORE_GATHER).min(deadline);
        loop {
            let queued = lock(&self.state).queues[own].len;
            if queued <= seen || queued >= MAX_BATCH_COMMANDS {
                return;
            }
            seen = queued;
            if clock.monotonic() + self.window > stop {
                return;
            }
            clock.sleep(self.window).await;
        }
    }

    /// Makes this request the sender of its urgency: the slot it may send in, after gathering.
    fn reserve<E: Executor, C: Clock>(
        &self,
        executor: &E,
        clock: &C,
        state: &mut State<V>,
        request: u64,
        urgency: Urgency,
        deadline: Duration,
    ) -> Turn {
        let own = slot(urgency);
        let now = clock.monotonic();
        let left = deadline.saturating_sub(now);
        // A full batch waiting, or one just sent: more is asked than a batch a slot carries, and
        // the burst is there for it. Otherwise misses gather for the steady slot.
        let full = state.queues[own].len >= MAX_BATCH_COMMANDS || state.last_full[own];
        let pace = if full && urgency == Urgency::Caller {
            Pace::Burst
        } else {
            Pace::Steady
        };
        // Leave the exchange half the time, and at most a second of it.
        let max_wait = left.saturating_sub((left / 2).min(Duration::from_secs(1)));
        match executor.reserve(clock, max_wait, pace) {
            Err(wait) => Turn::Refused(wait),
            Ok(wait) => {
                let alone =
                    self.sending.load(Ordering::Acquire) == 0 && state.queues[own].only_of(request);
                let gather = match urgency {
                    Urgency::Background => BACKGROUND_GATHER.min(left / 2),
                    Urgency::Caller if alone => Duration::ZERO,
                    Urgency::Caller => self.window,
                };
                let at = now + wait.max(gather).min(max_wait);
                state.pending[own] = Some((request, at));
                Turn::Send(at)
            }
        }
    }

    /// One exchange for `batch`; each flight lands with its settled outcome. Dropped midway,
    /// the leads drop with it and their followers take over.
    async fn send<E, C, S>(
        &self,
        executor: &E,
        clock: &C,
        batch: Vec<Queued<V>>,
        urgency: Urgency,
        settle: &S,
    ) where
        E: Executor,
        C: Clock,
        S: Fn(Command, Outcome, Duration) -> V,
    {
        let Some(latest) = batch.iter().map(|q| q.deadline).max() else {
            return;
        };
        let _sending = Sending::start(&self.sending);
        // A caller's exchange ends with the latest caller's deadline; a refresh's may take its
        // whole timeout (its deadline only bounded how long it could wait for a slot).
        let timeout = clock.monotonic() + self.exchange_timeout;
        let deadline = match urgency {
            Urgency::Caller => latest.min(timeout),
            Urgency::Background => timeout,
        };
        let commands: Vec<Command> = batch.iter().map(|q| *q.lead.key()).collect();
        let executed = executor.execute(clock, &commands, urgency, deadline).await;
        self.stats.record(
            commands.len(),
            executed.calls,
            ExchangeOutcome::of(&executed.outcomes),
        );
        let answers = executed.outcomes.into_iter().zip(executed.ages);
        for (queued, (outcome, age)) in batch.into_iter().zip(answers) {
            let value = settle(*queued.lead.key(), outcome, age);
            queued.lead.land(value);
        }
    }

    /// Commands led but not yet sent (for tests and metrics).
    pub fn queued(&self) -> usize {
        let state = lock(&self.state);
        state.queues.iter().map(|q| q.len).sum()
    }

    pub fn in_flight(&self) -> usize {
        self.flights.len()
    }
}

/// Counts an exchange under way while it lives.
struct Sending(Arc<AtomicUsize>);

impl Sending {
    fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter.clone())
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A sender's reserved slot: given up when the sender takes its batch or goes away, so that
/// the waiting requests elect another.
struct Pending<'a, V> {
    batcher: &'a Batcher<V>,
    urgency: usize,
    request: u64,
}

impl<V> Drop for Pending<'_, V> {
    fn drop(&mut self) {
        let mut state = lock(&self.batcher.state);
        if state.pending[self.urgency].is_some_and(|(sender, _)| sender == self.request) {
            state.pending[self.urgency] = None;
        }
    }
}

/// Removes a request's still-queued commands when it finishes or goes away; dropping their
/// leads abandons the flights, so followers take over instead of waiting for nobody.
struct Withdraw<'a, V> {
    batcher: &'a Batcher<V>,
    request: u64,
}

impl<V> Drop for Withdraw<'_, V> {
    fn drop(&mut self) {
        let withdrawn: Vec<Queued<V>> = {
            let mut state = lock(&self.batcher.state);
            let mut mine = state.queues[0].withdraw(self.request);
            mine.extend(state.queues[1].withdraw(self.request));
            mine
        };
        // Dropped outside the state's lock: abandoning takes the flights' locks.
        drop(withdrawn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::error::ApiError;
    use crate::core::domain::id::RecordId;
    use crate::core::domain::reads::Read;
    use crate::core::ports::Executed;
    use crate::core::testing::TokioClock;
    use std::future::Future;
    use std::sync::Mutex as StdMutex;

    /// Records each exchange's commands and answers "not found" for all after a pause; with
    /// `refuse`, has no slot to give.
    #[derive(Default)]
    struct Recorder {
        exchanges: StdMutex<Vec<Vec<Command>>>,
        urgencies: StdMutex<Vec<Urgency>>,
        pause: Duration,
        refuse: Option<Duration>,
    }

    impl Executor for Recorder {
        fn reserve<C: Clock>(
            &self,
            _clock: &C,
            _max_wait: Duration,
            _pace: Pace,
        ) -> Result<Duration, Duration> {
            self.refuse.map_or(Ok(Duration::ZERO), Err)
        }

        fn execute<C: Clock>(
            &self,
            _clock: &C,
            commands: &[Command],
            urgency: Urgency,
            _deadline: Duration,
        ) -> impl Future<Output = Executed> {
            self.exchanges.lock().unwrap().push(commands.to_vec());
            self.urgencies.lock().unwrap().push(urgency);
            let n = commands.len();
            let pause = self.pause;
            async move {
                tokio::time::sleep(pause).await;
                Executed::fresh(vec![Ok(Read::Record(None)); n], 1)
            }
        }
    }

    fn record(n: u64) -> Command {
        Command::Record(RecordId::from_u64(n).unwrap())
    }

    fn settle(_: Command, outcome: Outcome, _: Duration) -> Result<bool, ApiError> {
        outcome.map(|read| read == Read::Record(None))
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_lone_miss_goes_at_once_and_a_request_s_misses_go_together() {
        let batcher = Batcher::new(Duration::from_millis(200), SECOND, SECOND, Waiting::Woken);
        let executor = Recorder::default();
        let clock = TokioClock::default();
        let started = clock.monotonic();
        let one = batcher
            .read(
                &executor,
                &clock,
                &[record(1)],
                Demand::caller(None),
                started + SECOND,
                &settle,
            )
            .await;
        assert_eq!(one, vec![Some(Ok(true))]);
        assert!(
            clock.monotonic() - started < Duration::from_millis(150),
            "no window when alone"
        );
        let many: Vec<Command> = (1..=120).map(record).collect();
        let answers = batcher
            .read(
                &executor,
                &clock,
                &many,
                Demand::caller(None),
                clock.monotonic() + SECOND,
                &settle,
            )
            .await;
        assert!(answers.iter().all(|a| *a == Some(Ok(true))));
        let sizes: Vec<usize> = executor
            .exchanges
            .lock()
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(
            sizes,
            vec![1, 50, 50, 20],
            "at most 50 commands an exchange"
        );
        assert_eq!((batcher.queued(), batcher.in_flight()), (0, 0));
    }

    #[tokio::test]
    async fn concurrent_misses_share_exchanges_and_flights() {
        let batcher = Arc::new(Batcher::new(
            Duration::from_millis(20),
            2 * SECOND,
            SECOND,
            Waiting::Woken,
        ));
        let executor = Arc::new(Recorder {
            pause: Duration::from_millis(50),
            ..Recorder::default()
        });
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..60u64 {
            let (batcher, executor) = (batcher.clone(), executor.clone());
            tasks.spawn(async move {
                let clock = TokioClock::default();
                // Ten callers per id: each id is in flight once.
                let command = record(1 + n % 6);
                batcher
                    .read(
                        &*executor,
                        &clock,
                        &[command],
                        Demand::caller(None),
                        clock.monotonic() + SECOND,
                        &settle,
                    )
                    .await
            });
        }
        let answers = tasks.join_all().await;
        assert!(answers.iter().all(|a| *a == vec![Some(Ok(true))]));
        let exchanges = executor.exchanges.lock().unwrap().clone();
        let commands: usize = exchanges.iter().map(Vec::len).sum();
        assert!(
            commands <= 12,
            "six ids, each in flight once at a time: {exchanges:?}"
        );
        assert!(
            exchanges.len() <= 3,
            "grouped into few exchanges: {exchanges:?}"
        );
    }

    type Shared = Arc<Batcher<Result<bool, ApiError>>>;

    /// One caller reading `id` in a task of its own, with a deadline a second away.
    fn reader(
        batcher: &Shared,
        executor: &Arc<Recorder>,
        id: u64,
    ) -> tokio::task::JoinHandle<Gathered<Result<bool, ApiError>>> {
        let (batcher, executor) = (batcher.clone(), executor.clone());
        tokio::spawn(async move {
            let clock = TokioClock::default();
            let deadline = clock.monotonic() + SECOND;
            batcher
                .read(
                    &*executor,
                    &clock,
                    &[record(id)],
                    Demand::caller(None),
                    deadline,
                    &settle,
                )
                .await
        })
    }

    #[tokio::test]
    async fn a_request_that_goes_away_withdraws_its_commands_and_followers_take_over() {
        for waiting in [Waiting::Woken, Waiting::Polling(Duration::from_millis(5))] {
            let batcher: Shared = Arc::new(Batcher::new(
                Duration::from_millis(500),
                2 * SECOND,
                SECOND,
                waiting,
            ));
            let executor = Arc::new(Recorder::default());
            // Something under way, so the next miss waits the (long) window.
            let slow = Arc::new(Recorder {
                pause: Duration::from_millis(300),
                ..Recorder::default()
            });
            let busy = reader(&batcher, &slow, 99);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let leader = reader(&batcher, &executor, 7);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let follower = reader(&batcher, &executor, 7);
            tokio::time::sleep(Duration::from_millis(20)).await;
            leader.abort();
            let answer = tokio::time::timeout(Duration::from_millis(900), follower)
                .await
                .expect("the follower took over well before the deadline")
                .unwrap();
            assert_eq!(answer, vec![Some(Ok(true))], "{waiting:?}");
            assert!(busy.await.is_ok());
            assert_eq!(batcher.queued(), 0);
        }
    }

    /// One request reading `ids` as `demand`, in a task of its own.
    fn asking(
        batcher: &Shared,
        executor: &Arc<Recorder>,
        ids: std::ops::RangeInclusive<u64>,
        demand: Demand,
        within: Duration,
    ) -> tokio::task::JoinHandle<Gathered<Result<bool, ApiError>>> {
        let (batcher, executor) = (batcher.clone(), executor.clone());
        tokio::spawn(async move {
            let clock = TokioClock::default();
            let commands: Vec<Command> = ids.map(record).collect();
            let deadline = clock.monotonic() + within;
            batcher
                .read(&*executor, &clock, &commands, demand, deadline, &settle)
                .await
        })
    }

    fn lane(n: u8) -> Lane {
        Some(crate::core::domain::caller::caller_key(
            std::net::Ipv4Addr::new(203, 0, 113, n).into(),
        ))
    }

    #[tokio::test]
    async fn a_batch_s_places_are_shared_round_robin_between_callers() {
        let batcher: Shared = Arc::new(Batcher::new(
            Duration::from_millis(100),
            2 * SECOND,
            SECOND,
            Waiting::Woken,
        ));
        let executor = Arc::new(Recorder {
            pause: Duration::from_millis(100),
            ..Recorder::default()
        });
        // Under way, so the next sender gathers for the window.
        let busy = asking(
            &batcher,
            &executor,
            999..=999,
            Demand::caller(lane(9)),
            SECOND,
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let greedy = asking(
            &batcher,
            &executor,
            1..=100,
            Demand::caller(lane(1)),
            SECOND,
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let modest = asking(
            &batcher,
            &executor,
            201..=205,
            Demand::caller(lane(2)),
            SECOND,
        );
        for task in [busy, greedy, modest] {
            assert!(task.await.unwrap().iter().all(|a| *a == Some(Ok(true))));
        }
        let exchanges = executor.exchanges.lock().unwrap().clone();
        let first = &exchanges[1];
        assert_eq!(first.len(), 50);
        let modest_in_first = first
            .iter()
            .filter(|c| (201..=205).contains(&id_of(c)))
            .count();
        assert_eq!(
            modest_in_first, 5,
            "the small caller is not pushed out: {exchanges:?}"
        );
    }

    fn id_of(command: &Command) -> u64 {
        match command {
            Command::Record(id) => u64::from(id.get()),
            _ => 0,
        }
    }

    #[tokio::test]
    async fn callers_and_refreshes_never_share_an_exchange_and_a_caller_takes_its_refresh_along() {
        let batcher: Shared = Arc::new(Batcher::new(
            Duration::from_millis(50),
            2 * SECOND,
            SECOND,
            Waiting::Woken,
        ));
        let executor = Arc::new(Recorder::default());
        let clock = TokioClock::default();
        let started = clock.monotonic();
        // Refreshes gather (for half their 3 s); a caller asking for one of them meanwhile
        // takes it to its own queue and does not wait for the gathering.
        let refresh = asking(&batcher, &executor, 1..=10, Demand::BACKGROUND, 3 * SECOND);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let caller = asking(&batcher, &executor, 5..=5, Demand::caller(lane(1)), SECOND);
        assert_eq!(caller.await.unwrap(), vec![Some(Ok(true))]);
        assert!(
            clock.monotonic() - started < Duration::from_millis(500),
            "the caller did not wait for the refreshes"
        );
        assert!(refresh.await.unwrap().iter().all(|a| *a == Some(Ok(true))));
        let exchanges = executor.exchanges.lock().unwrap().clone();
        let urgencies = executor.urgencies.lock().unwrap().clone();
        assert_eq!(urgencies, vec![Urgency::Caller, Urgency::Background]);
        assert_eq!(exchanges[0], vec![record(5)]);
        assert_eq!(exchanges[1].len(), 9, "the other refreshes, together");
    }

    #[tokio::test]
    async fn no_slot_before_the_deadline_is_an_honest_busy() {
        let batcher: Shared =
            Arc::new(Batcher::new(Duration::ZERO, SECOND, SECOND, Waiting::Woken));
        let executor = Arc::new(Recorder {
            refuse: Some(Duration::from_millis(4500)),
            ..Recorder::default()
        });
        let answers = asking(&batcher, &executor, 1..=3, Demand::caller(None), SECOND)
            .await
            .unwrap();
        let busy = Some(Err(ApiError::UpstreamBusy {
            retry_after_secs: 5,
        }));
        assert_eq!(answers, vec![busy; 3]);
        assert!(executor.exchanges.lock().unwrap().is_empty());
        assert_eq!((batcher.queued(), batcher.in_flight()), (0, 0));
    }
}
