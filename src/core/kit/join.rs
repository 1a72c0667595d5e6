//! Running futures side by side in the current task, without a runtime (the core serves
//! native and wasm32 alike).

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

/// Polls every future until all are done; answers their outputs in order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Polls two futures of different kinds until both are done.
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none() {
            if let Poll::Ready(value) = a.as_mut().poll(cx) {
                out_a = Some(value);
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(value) = b.as_mut().poll(cx) {
                out_b = Some(value);
            }
        }
        if out_a.is_some() && out_b.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    match (out_a, out_b) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("both futures are done"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn two_of_different_kinds_side_by_side() {
        let started = std::time::Instant::now();
        let slow = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            "slow"
        };
        let quick = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            7
        };
        assert_eq!(join(slow, quick).await, ("slow", 7));
        assert!(started.elapsed() < Duration::from_millis(190));
    }

    #[tokio::test]
    async fn keeps_order_and_runs_side_by_side() {
        let started = std::time::Instant::now();
        let futures: Vec<_> = (0..5u64)
            .map(|n| async move {
                tokio::time::sleep(Duration::from_millis(100 - n * 10)).await;
                n
            })
            .collect();
        assert_eq!(join_all(futures).await, vec![0, 1, 2, 3, 4]);
        assert!(started.elapsed() < Duration::from_millis(300));
    }
}
