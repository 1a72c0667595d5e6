//! Test helpers for the core's unit tests, which run with the default (native) features: the
//! native clock, on tokio's timer.

pub use crate::native::clock::SystemClock as TokioClock;
