//! Batching: misses waiting at the same moment, from concurrent requests or inside one, go to
//! the portal together as one `batch` (at most 50 commands), and each command is in flight at
//! most once.
//!
//! A request with misses joins one flight per command. Commands it leads wait in a shared
//! queue. If nothing else is queued or under way, the request sends at once (a lone miss pays
//! no window); otherwise it waits the grouping window, so that concurrent misses gather, then
//! takes up to 50 commands off the front of the queue (its own or others') and runs them as one
//! exchange, until none of its own is left queued. Then it waits for all its flights, led by
//! whoever sent them. No request ever wakes another on Workers ([`Waiting::Polling`]): each
//! sends from its own context and the others look for the result on their own timers.
//!
//! If a request goes away, its queued commands leave the queue and its flights are abandoned;
//! followers then take over. The same happens to a batch whose sender goes away mid-call.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::metrics::{ExchangeOutcome, ExchangeStats};

use crate::core::domain::reads::{Command, Outcome, Urgency};
use crate::core::kit::lock::lock;
use crate::core::portal::command::MAX_BATCH_COMMANDS;
use crate::core::ports::{Clock, Executor};
use crate::core::source::flights::{Flight, Flights, Joined, Lead, Waiting};

/// Queues, groups and sends commands; `V` is what a settled command leaves in its flight.
pub struct Batcher<V> {
    flights: Flights<Command, V>,
    queue: Mutex<VecDeque<Queued<V>>>,
    next_owner: AtomicU64,
    /// Exchanges under way; with the queue, tells whether a miss arrives alone.
    sending: Arc<AtomicUsize>,
    window: Duration,
    waiting: Waiting,
    stats: ExchangeStats,
}

struct Queued<V> {
    owner: u64,
    lead: Lead<Command, V>,
}

/// The flights a request joined, by command index; whether it led any; whether nothing else was
/// queued or under way when it came (a lone miss goes at once).
struct Enqueued<V> {
    flights: Vec<(usize, Arc<Flight<V>>)>,
    led: bool,
    alone: bool,
}

/// What a request asked for and what it got, per command, in order. `None`: no result within
/// the deadline.
pub type Gathered<V> = Vec<Option<V>>;

impl<V: Clone> Batcher<V> {
    /// `window`: how long a miss waits for company when others are about; `flight_lifetime`:
    /// when a flight whose leader vanished is taken over (upstream deadline plus a margin).
    pub fn new(window: Duration, flight_lifetime: Duration, waiting: Waiting) -> Self {
        Self {
            flights: Flights::new(flight_lifetime),
            queue: Mutex::new(VecDeque::new()),
            next_owner: AtomicU64::new(1),
            sending: Arc::default(),
            window,
            waiting,
            stats: ExchangeStats::default(),
        }
    }

    /// The exchanges sent so far, for metrics.
    pub fn stats(&self) -> &ExchangeStats {
        &self.stats
    }

    /// Reads `commands` through the queue by `deadline` (monotonic). `settle` turns each
    /// exchange's outcome (and the answer's age) into the flight's value once, in the sending
    /// request, before followers see it (render, cache).
    pub async fn read<E, C, S>(
        &self,
        executor: &E,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
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
        let owner = self.next_owner.fetch_add(1, Ordering::Relaxed);
        // Takes this request's queued commands out of the queue if it goes away early.
        let _queued = Withdraw {
            batcher: self,
            owner,
        };
        while !wanted.is_empty() && clock.monotonic() < deadline {
            let Enqueued {
                flights,
                led,
                alone,
            } = self.enqueue(clock, owner, commands, &wanted);
            if led {
                if !alone && !self.window.is_zero() {
                    let pause = self.window.min(deadline.saturating_sub(clock.monotonic()));
                    clock.sleep(pause).await;
                }
                while self.has_queued(owner) {
                    let batch = self.take(MAX_BATCH_COMMANDS);
                    self.send(executor, clock, batch, urgency, deadline, settle)
                        .await;
                }
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

    /// Joins a flight for each wanted command; led ones go to the queue.
    fn enqueue<C: Clock>(
        &self,
        clock: &C,
        owner: u64,
        commands: &[Command],
        wanted: &[usize],
    ) -> Enqueued<V> {
        let mut queue = lock(&self.queue);
        let alone = queue.is_empty() && self.sending.load(Ordering::Acquire) == 0;
        let mut led = false;
        let now = clock.monotonic();
        let flights = wanted
            .iter()
            .map(|&index| {
                let flight = match self.flights.join(commands[index], now) {
                    Joined::Lead(lead) => {
                        led = true;
                        let flight = lead.flight();
                        queue.push_back(Queued { owner, lead });
                        flight
                    }
                    Joined::Follow(flight) => flight,
                };
                (index, flight)
            })
            .collect();
        Enqueued {
            flights,
            led,
            alone,
        }
    }

    fn has_queued(&self, owner: u64) -> bool {
        lock(&self.queue).iter().any(|q| q.owner == owner)
    }

    fn take(&self, most: usize) -> Vec<Lead<Command, V>> {
        let mut queue = lock(&self.queue);
        let n = most.min(queue.len());
        queue.drain(..n).map(|q| q.lead).collect()
    }

    /// One exchange for `batch`; each flight lands with its settled outcome. Dropped midway,
    /// the leads drop with it and their followers take over.
    async fn send<E, C, S>(
        &self,
        executor: &E,
        clock: &C,
        batch: Vec<Lead<Command, V>>,
        urgency: Urgency,
        deadline: Duration,
        settle: &S,
    ) where
        E: Executor,
        C: Clock,
        S: Fn(Command, Outcome, Duration) -> V,
    {
        if batch.is_empty() {
            return;
        }
        let _sending = Sending::start(&self.sending);
        let commands: Vec<Command> = batch.iter().map(|lead| *lead.key()).collect();
        let executed = executor.execute(clock, &commands, urgency, deadline).await;
        self.stats.record(
            commands.len(),
            executed.calls,
            ExchangeOutcome::of(&executed.outcomes),
        );
        let answers = executed.outcomes.into_iter().zip(executed.ages);
        for (lead, (outcome, age)) in batch.into_iter().zip(answers) {
            let value = settle(*lead.key(), outcome, age);
            lead.land(value);
        }
    }

    /// Commands led but not yet sent (for tests and metrics).
    pub fn queued(&self) -> usize {
        lock(&self.queue).len()
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

/// Removes a request's still-queued commands when it finishes or goes away; dropping their
/// leads abandons the flights, so followers take over instead of waiting for nobody.
struct Withdraw<'a, V> {
    batcher: &'a Batcher<V>,
    owner: u64,
}

impl<V> Drop for Withdraw<'_, V> {
    fn drop(&mut self) {
        let withdrawn: Vec<Queued<V>> = {
            let mut queue = lock(&self.batcher.queue);
            let (mine, others): (VecDeque<_>, VecDeque<_>) =
                queue.drain(..).partition(|q| q.owner == self.owner);
            *queue = others;
            mine.into_iter().collect()
        };
        // Dropped outside the queue's lock: abandoning takes the flights' locks.
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

    /// Records each exchange's commands and answers "not found" for all after a pause.
    #[derive(Default)]
    struct Recorder {
        exchanges: StdMutex<Vec<Vec<Command>>>,
        pause: Duration,
    }

    impl Executor for Recorder {
        fn execute<C: Clock>(
            &self,
            _clock: &C,
            commands: &[Command],
            _urgency: Urgency,
            _deadline: Duration,
        ) -> impl Future<Output = Executed> {
            self.exchanges.lock().unwrap().push(commands.to_vec());
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
        let batcher = Batcher::new(Duration::from_millis(200), 5 * SECOND, Waiting::Woken);
        let executor = Recorder::default();
        let clock = TokioClock::default();
        let started = clock.monotonic();
        let one = batcher
            .read(
                &executor,
                &clock,
                &[record(1)],
                Urgency::Caller,
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
                Urgency::Caller,
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
            5 * SECOND,
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
                        Urgency::Caller,
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
                    Urgency::Caller,
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
                5 * SECOND,
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
}
