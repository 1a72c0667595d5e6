//! What the operator chose to publish: which warehouses, and exact amounts or only levels.

use crate::core::portal::answer::StoreProduct;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// `amount`, `reserved` and `available` as numbers.
    Exact,
    /// Only `availability`: `in_stock`, `low_stock` or `out_of_stock`.
    Level,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Warehouse ids whose records may be shown; empty means all.
    pub allowed_stores: Vec<i64>,
    pub exposure: Exposure,
    /// `available` at or below this (and above zero) is `low_stock`.
    pub low_stock_threshold: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allowed_stores: Vec::new(),
            exposure: Exposure::Exact,
            low_stock_threshold: 5.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    InStock,
    LowStock,
    OutOfStock,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::InStock => "in_stock",
            Availability::LowStock => "low_stock",
            Availability::OutOfStock => "out_of_stock",
        }
    }
}

impl Policy {
    /// A record in a warehouse outside the list is treated exactly like a missing record.
    pub fn admits(&self, record: &StoreProduct) -> bool {
        self.allowed_stores.is_empty() || self.allowed_stores.contains(&record.store_id)
    }

    pub fn availability(&self, available: f64) -> Availability {
        if available <= 0.0 {
            Availability::OutOfStock
        } else if available <= self.low_stock_threshold {
            Availability::LowStock
        } else {
            Availability::InStock
        }
    }
}

/// Stock figures derived from one record.
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
        let available = ((record.amount - reserved).max(0.0) * 1e6).round() / 1e6;
        Self {
            amount: record.amount,
            reserved,
            available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stock::id::RecordId;

    fn record(store_id: i64, amount: f64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(1).unwrap(),
            product_id: 2,
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
        assert_eq!(Figures::of(&record(1, 2.5, Some(0.5))).reserved, 0.5);
    }

    #[test]
    fn levels() {
        let p = Policy::default();
        assert_eq!(p.availability(0.0), Availability::OutOfStock);
        assert_eq!(p.availability(0.5), Availability::LowStock);
        assert_eq!(p.availability(5.0), Availability::LowStock);
        assert_eq!(p.availability(5.5), Availability::InStock);
    }
}
