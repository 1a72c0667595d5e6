//! Randomness from the operating system, for seeds that must not be guessed.

use std::hash::{BuildHasher, RandomState};

/// 128 random bits: std's hasher keys come from the operating system's randomness.
pub fn seed() -> u128 {
    let keyed = RandomState::new();
    (u128::from(keyed.hash_one(1u8)) << 64) | u128::from(keyed.hash_one(2u8))
}
