//! What the operator chose to publish: which warehouses, and exact amounts or only levels.

use std::sync::Arc;

use crate::core::domain::record::StoreProduct;
use crate::core::domain::stores::StoreDirectory;
use crate::core::domain::variations::Variations;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// `amount`, `reserved` and `available` as numbers.
    Exact,
    /// Only `availability`: `in_stock`, `low_stock` or `out_of_stock`.
    Level,
    /// `available` exactly up to the cap, and `"N+"` above it (`STOCK_EXPOSE=capped:N`): a
    /// shop that does not show competitors its stock, but tells a customer whether N are there.
    Capped(u32),
}

/// The largest cap `STOCK_EXPOSE=capped:N` takes.
pub const MAX_CAP: u32 = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Warehouse ids whose records may be shown; empty means all.
    pub allowed_stores: Vec<i64>,
    pub exposure: Exposure,
    /// `available` at or below this (and above zero) is `low_stock`.
    pub low_stock_threshold: f64,
    /// Names, addresses, coordinates and hours of the public warehouses (`STOCK_STORES`).
    pub stores: Arc<StoreDirectory>,
    /// Parents and their variations (`STOCK_VARIATIONS`).
    pub variations: Arc<Variations>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allowed_stores: Vec::new(),
            exposure: Exposure::Exact,
            low_stock_threshold: 5.0,
            stores: Arc::default(),
            variations: Arc::default(),
        }
    }
}

impl Policy {
    /// A record in a warehouse outside the list is treated exactly like a missing record.
    pub fn admits(&self, record: &StoreProduct) -> bool {
        self.allowed_stores.is_empty() || self.allowed_stores.contains(&record.store_id)
    }
}

/// Stock figures derived from one record, each rounded to 6 decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub amount: f64,
    /// `quantityReserved`, with null read as 0.
    pub reserved: f64,
    /// max(amount − reserved, 0), rounded to 6 decimals to cancel binary floating-point noise.
    pub available: f64,
}

impl Figures {
    pub fn of(record: &StoreProduct) -> Self {
        let reserved = record.quantity_reserved.unwrap_or(0.0);
        // All three at the same precision: a denormal amount (1e-320) reads as 0, like its
        // `available`.
        Self {
            amount: round6(record.amount),
            reserved: round6(reserved),
            available: round6((record.amount - reserved).max(0.0)),
        }
    }

    /// The figures of several warehouses together: what each can sell, added up (a reservation
    /// in one warehouse does not take stock from another).
    pub fn sum(parts: impl IntoIterator<Item = Figures>) -> Self {
        let mut total = Figures {
            amount: 0.0,
            reserved: 0.0,
            available: 0.0,
        };
        for part in parts {
            total.amount += part.amount;
            total.reserved += part.reserved;
            total.available += part.available;
        }
        Figures {
            amount: round6(total.amount),
            reserved: round6(total.reserved),
            available: round6(total.available),
        }
    }

    pub fn in_stock(self) -> bool {
        self.available > 0.0
    }
}

/// Rounded to 6 decimals to cancel binary floating-point noise (quantities are bounded, so
/// the scaling cannot overflow).
fn round6(n: f64) -> f64 {
    (n * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::id::RecordId;

    fn record(store_id: i64, amount: f64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(1).unwrap(),
            product_id: crate::core::domain::id::ProductId::from_u64(2).unwrap(),
            store_id,
            amount,
            quantity_reserved: reserved,
        }
    }

    #[test]
    fn store_filter() {
        let open = Policy::default();
        assert!(open.admits(&record(99, 1.0, None)));
        let closed = Policy {
            allowed_stores: vec![1, 11],
            ..Policy::default()
        };
        assert!(closed.admits(&record(11, 1.0, None)));
        assert!(!closed.admits(&record(2, 1.0, None)));
    }

    #[test]
    fn figures() {
        assert_eq!(Figures::of(&record(1, 14.0, None)).available, 14.0);
        assert_eq!(Figures::of(&record(1, 3.0, Some(5.0))).available, 0.0);
        assert_eq!(Figures::of(&record(1, 14.3, Some(0.1))).available, 14.2);
        let tiny = Figures::of(&record(1, 1e-320, Some(1e-9)));
        assert_eq!(
            (tiny.amount, tiny.reserved, tiny.available),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(Figures::of(&record(1, 2.5, Some(0.5))).reserved, 0.5);
        let sum = Figures::sum([
            Figures::of(&record(1, 0.1, None)),
            Figures::of(&record(2, 0.2, Some(1.0))),
            Figures::of(&record(3, 3.0, Some(1.0))),
        ]);
        assert_eq!((sum.amount, sum.reserved, sum.available), (3.3, 2.0, 2.1));
    }
}
