//! Coalescing: at most one call in flight per key. The first caller leads; later callers
//! follow and get the leader's result. A leader that goes away (dropped, cancelled) abandons
//! its flight, and a flight older than its lifetime counts as abandoned too (on Workers a
//! cancelled request may never run its drop code): followers then take over.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;

use crate::core::kit::lock::lock;
use crate::core::ports::Clock;

/// How a follower learns that a flight landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The leader wakes its followers (native runtimes).
    Woken,
    /// Followers look again on their own timer. On Cloudflare Workers a request woken by another
    /// request resumes in that request's I/O context and then cannot answer ("Cannot perform
    /// I/O on behalf of a different request"); polling keeps each request in its own context.
    Polling(Duration),
}

/// One call under way for one key.
pub struct Flight<V> {
    state: Mutex<State<V>>,
    landed: Notify,
    /// After this (monotonic) time the flight is presumed dead.
    expires_at: Duration,
}

enum State<V> {
    Open,
    Done(V),
    Abandoned,
}

type Map<K, V> = Arc<Mutex<HashMap<K, Arc<Flight<V>>>>>;

/// The flights under way, by key.
pub struct Flights<K, V> {
    map: Map<K, V>,
    lifetime: Duration,
}

/// The outcome of joining: lead a new flight, or follow one under way.
pub enum Joined<K: Eq + Hash, V> {
    Lead(Lead<K, V>),
    Follow(Arc<Flight<V>>),
}

/// The right and duty to land a flight: [`Lead::land`] with the result, or drop to abandon.
pub struct Lead<K: Eq + Hash, V> {
    map: Map<K, V>,
    key: K,
    flight: Arc<Flight<V>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Flights<K, V> {
    /// `lifetime` bounds how long a flight may stay open: the upstream deadline plus a margin.
    pub fn new(lifetime: Duration) -> Self {
        Self {
            map: Arc::default(),
            lifetime,
        }
    }

    pub fn join(&self, key: K, now: Duration) -> Joined<K, V> {
        let mut map = lock(&self.map);
        if let Some(flight) = map.get(&key) {
            if flight.is_open() && now < flight.expires_at {
                return Joined::Follow(flight.clone());
            }
        }
        let flight = Arc::new(Flight {
            state: Mutex::new(State::Open),
            landed: Notify::new(),
            expires_at: now + self.lifetime,
        });
        map.insert(key.clone(), flight.clone());
        Joined::Lead(Lead {
            map: self.map.clone(),
            key,
            flight,
        })
    }

    /// Flights under way (for tests and metrics).
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash, V> Lead<K, V> {
    pub fn flight(&self) -> Arc<Flight<V>> {
        self.flight.clone()
    }

    pub fn key(&self) -> &K {
        &self.key
    }

    /// Lands the flight with its result and wakes the followers.
    pub fn land(self, value: V) {
        self.settle(State::Done(value));
    }

    fn settle(&self, state: State<V>) {
        {
            let mut current = lock(&self.flight.state);
            if matches!(*current, State::Open) {
                *current = state;
            }
        }
        let mut map = lock(&self.map);
        if map
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            map.remove(&self.key);
        }
        drop(map);
        self.flight.landed.notify_waiters();
    }
}

impl<K: Eq + Hash, V> Drop for Lead<K, V> {
    fn drop(&mut self) {
        // A no-op after `land`; otherwise the leader went away: let a follower take over.
        self.settle(State::Abandoned);
    }
}

impl<V: Clone> Flight<V> {
    fn is_open(&self) -> bool {
        matches!(*lock(&self.state), State::Open)
    }

    pub fn expires_at(&self) -> Duration {
        self.expires_at
    }

    /// `Some(Some(v))` landed, `Some(None)` abandoned, `None` still open.
    fn outcome(&self) -> Option<Option<V>> {
        match &*lock(&self.state) {
            State::Open => None,
            State::Done(value) => Some(Some(value.clone())),
            State::Abandoned => Some(None),
        }
    }

    /// Waits for the result until `until` (monotonic). `None`: abandoned, expired or out of
    /// time; the caller may lead a new flight if its own deadline allows.
    pub async fn wait<C: Clock>(&self, waiting: Waiting, until: Duration, clock: &C) -> Option<V> {
        let until = until.min(self.expires_at);
        loop {
            match waiting {
                Waiting::Woken => {
                    let mut landed = pin!(self.landed.notified());
                    // Registered before looking, so a landing in between is not missed.
                    landed.as_mut().enable();
                    if let Some(outcome) = self.outcome() {
                        return outcome;
                    }
                    let left = until
                        .checked_sub(clock.monotonic())
                        .filter(|l| !l.is_zero())?;
                    first_of(landed, clock.sleep(left)).await;
                }
                Waiting::Polling(interval) => {
                    if let Some(outcome) = self.outcome() {
                        return outcome;
                    }
                    let left = until
                        .checked_sub(clock.monotonic())
                        .filter(|l| !l.is_zero())?;
                    clock.sleep(interval.min(left)).await;
                }
            }
        }
    }
}

/// Completes when either future does (the other is dropped).
async fn first_of(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::TokioClock;

    const LIFE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn followers_get_the_leaders_result() {
        let clock = TokioClock::default();
        let flights = Flights::<u32, &str>::new(LIFE);
        let Joined::Lead(lead) = flights.join(1, clock.monotonic()) else {
            panic!()
        };
        let Joined::Follow(flight) = flights.join(1, clock.monotonic()) else {
            panic!()
        };
        let waiter = {
            let flight = flight.clone();
            tokio::spawn(async move {
                flight
                    .wait(
                        Waiting::Woken,
                        Duration::from_secs(60),
                        &TokioClock::default(),
                    )
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        lead.land("record");
        assert_eq!(waiter.await.unwrap(), Some("record"));
        assert!(flights.is_empty(), "a landed flight is forgotten");
    }

    #[tokio::test]
    async fn a_dropped_leader_abandons_and_the_next_caller_leads() {
        for waiting in [Waiting::Woken, Waiting::Polling(Duration::from_millis(5))] {
            let clock = TokioClock::default();
            let flights = Flights::<u32, &str>::new(LIFE);
            let Joined::Lead(lead) = flights.join(1, clock.monotonic()) else {
                panic!()
            };
            let Joined::Follow(flight) = flights.join(1, clock.monotonic()) else {
                panic!()
            };
            let waiter = tokio::spawn(async move {
                flight
                    .wait(waiting, Duration::from_secs(60), &TokioClock::default())
                    .await
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(lead);
            let waited = tokio::time::timeout(Duration::from_secs(2), waiter).await;
            assert_eq!(waited.expect("woken").unwrap(), None);
            assert!(flights.is_empty(), "no entry left behind");
            assert!(matches!(
                flights.join(1, clock.monotonic()),
                Joined::Lead(_)
            ));
        }
    }

    #[tokio::test]
    async fn a_flight_past_its_lifetime_is_taken_over() {
        let clock = TokioClock::default();
        let flights = Flights::<u32, &str>::new(Duration::from_millis(50));
        // A leader that never lands nor drops (a cancelled Worker request).
        let Joined::Lead(stuck) = flights.join(1, clock.monotonic()) else {
            panic!()
        };
        let Joined::Follow(flight) = flights.join(1, clock.monotonic()) else {
            panic!()
        };
        let started = clock.monotonic();
        let waited = flight
            .wait(
                Waiting::Polling(Duration::from_millis(5)),
                Duration::from_secs(60),
                &clock,
            )
            .await;
        assert_eq!(waited, None);
        assert!(clock.monotonic() - started < Duration::from_secs(1));
        let Joined::Lead(fresh) = flights.join(1, clock.monotonic()) else {
            panic!("not taken over")
        };
        fresh.land("new");
        // The stuck leader landing late changes nothing for the new flight's followers.
        stuck.land("old");
        assert!(flights.is_empty());
    }
}
