//! Locking a mutex whose data stays consistent even if a holder panicked.

use std::sync::{Mutex, MutexGuard};

/// Every user of this keeps its updates to single assignments or calls, so the data is whole
/// after a panic elsewhere: take it rather than spread the panic.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
