//! A value worked out once, on first use, and shared by every clone of what holds it.
//!
//! A cached answer is cloned out of its cache for every hit; what a hit derives from it (a
//! validator, header values) is the same every time. A `Memo` inside the cached value keeps
//! that work to the first hit: the clones share one cell. It is derived data, so it never takes
//! part in comparisons.

use std::sync::{Arc, OnceLock};

pub struct Memo<T>(Arc<OnceLock<T>>);

impl<T> Memo<T> {
    pub fn new() -> Self {
        Memo(Arc::new(OnceLock::new()))
    }

    /// The value, made by `make` if no clone has made it yet.
    pub fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(make)
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo::new()
    }
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Memo(Arc::clone(&self.0))
    }
}

impl<T> PartialEq for Memo<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_first_value() {
        let memo = Memo::new();
        let copy = memo.clone();
        assert_eq!(*copy.get_or_init(|| 1), 1);
        assert_eq!(*memo.get_or_init(|| 2), 1, "made once, by the clone");
        assert_eq!(*Memo::new().get_or_init(|| 3), 3, "a new memo is its own");
    }
}
