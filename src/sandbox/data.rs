//! The sandbox portal's inventory: a few hundred stock records in warehouses 1, 2 and 11, more
//! warehouses for the documented product 6973, and a big product 8000 stocked in 90 warehouses
//! (more than one 50-row page).

use std::ops::RangeInclusive;

use serde_json::{json, Value};

/// Warehouses of the regular records.
pub const STORES: [i64; 3] = [1, 2, 11];
/// Regular records are 1..=REGULAR_RECORDS (some of them special, like the documented 13).
pub const REGULAR_RECORDS: u32 = 300;
/// Product 6973 (record 13, warehouse 11) is also in warehouse 1 (301) and warehouse 2 (302).
pub const MORE_6973: RangeInclusive<u32> = 301..=302;
/// The big product: record `BIG_RECORDS_BASE + k` (k in 1..=90) is in warehouse 99 + k, with
/// amount k and reserved k % 3.
pub const BIG_PRODUCT: u32 = 8000;
pub const BIG_RECORDS_BASE: u32 = 2000;
pub const BIG_RECORDS: RangeInclusive<u32> = 2001..=2090;
/// One record each for products whose flags say more than their stock (see [`flags`]).
pub const FLAGGED_RECORDS: RangeInclusive<u32> = 2101..=2106;
/// Products with variations: no stock of their own, but `catalog.product.get` knows them.
pub const PARENTS: [u32; 1] = [7200];
/// The products' catalog (information block), and the variations' (whose parents are in the
/// first).
pub const PRODUCTS_CATALOG: u32 = 23;
pub const VARIATIONS_CATALOG: u32 = 25;

/// The catalog a product is kept in: variations (type 4) in their own.
pub fn catalog_of(flags: &Flags) -> u32 {
    if flags.kind == 4 {
        VARIATIONS_CATALOG
    } else {
        PRODUCTS_CATALOG
    }
}

/// A parent's variations.
pub fn variations_of(parent: u32) -> &'static [u32] {
    match parent {
        7200 => &[7201, 7202, 7203],
        _ => &[],
    }
}
/// The records of parent 7200's three variations (7201-7203) in warehouses 1 and 11.
pub const VARIATION_RECORDS: RangeInclusive<u32> = 2111..=2115;

/// One record as the portal stores it (amounts are doubles; reserved may be null).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: u32,
    pub product_id: u32,
    pub store_id: i64,
    pub amount: f64,
    pub quantity_reserved: Option<f64>,
    /// Send numbers as quoted strings, as some real portals do.
    pub quoted: bool,
}

/// The fixed inventory. Record 13 is the one from the documentation's example.
pub fn record(id: u32) -> Option<Record> {
    let special = match id {
        13 => Some((6973, 11, 14.0, None, false)),
        14 => Some((7001, 1, 2.5, Some(0.5), false)),
        15 => Some((7002, 1, 3.0, Some(5.0), false)),
        16 => Some((7003, 11, 12.0, Some(2.0), true)),
        17 => Some((7004, 2, 9.0, None, false)),
        18 => Some((7005, 1, 0.0, None, false)),
        19 => Some((7006, 11, 4.0, Some(1.0), false)),
        301 => Some((6973, 1, 6.0, Some(1.0), false)),
        302 => Some((6973, 2, 100.0, None, false)),
        // Products whose flags decide what may be sold (see `flags`).
        2101 => Some((7101, 1, 0.0, None, false)),
        2102 => Some((7102, 1, 0.0, None, false)),
        2103 => Some((7103, 1, 8.0, None, false)),
        2104 => Some((7104, 11, 0.0, None, false)),
        2105 => Some((7105, 1, 3.0, None, false)),
        2106 => Some((7106, 1, 0.0, Some(0.0), false)),
        // Parent 7200 (type 3, no stock of its own) and its variations.
        2111 => Some((7201, 1, 4.0, None, false)),
        2112 => Some((7201, 11, 2.0, None, false)),
        2113 => Some((7202, 1, 0.0, None, false)),
        2114 => Some((7202, 11, 5.0, Some(1.0), false)),
        2115 => Some((7203, 1, 1.0, None, false)),
        _ => None,
    };
    if let Some((product_id, store_id, amount, quantity_reserved, quoted)) = special {
        return Some(Record {
            id,
            product_id,
            store_id,
            amount,
            quantity_reserved,
            quoted,
        });
    }
    if BIG_RECORDS.contains(&id) {
        let k = id - BIG_RECORDS_BASE;
        return Some(Record {
            id,
            product_id: BIG_PRODUCT,
            store_id: i64::from(99 + k),
            amount: f64::from(k),
            quantity_reserved: Some(f64::from(k % 3)),
            quoted: false,
        });
    }
    (1..=REGULAR_RECORDS).contains(&id).then(|| Record {
        id,
        product_id: 6000 + id,
        store_id: STORES[(id % 3) as usize],
        amount: f64::from((id * 7) % 23),
        quantity_reserved: (!id.is_multiple_of(5)).then(|| f64::from(id % 4)),
        quoted: false,
    })
}

/// Every record, by id.
pub fn all_records() -> impl Iterator<Item = Record> {
    (1..=REGULAR_RECORDS)
        .chain(MORE_6973)
        .chain(BIG_RECORDS)
        .chain(FLAGGED_RECORDS)
        .chain(VARIATION_RECORDS)
        .filter_map(record)
}

/// A product's flags as `catalog.product.get` sends them (`Y`/`N` letters, a numeric type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    pub active: String,
    pub can_buy_zero: String,
    pub quantity_trace: String,
    /// `None`: worked out from the stock, as the portal does.
    pub available: Option<String>,
    pub kind: u8,
}

impl Default for Flags {
    fn default() -> Self {
        Self {
            active: "Y".into(),
            can_buy_zero: "N".into(),
            quantity_trace: "Y".into(),
            available: None,
            kind: 1,
        }
    }
}

/// The fixed products' flags: 7101 may be sold at zero (a backorder), 7102 keeps no stock
/// (untracked), 7103 is inactive, 7104 is a service, 7105 is marked unavailable with stock on
/// the shelf (both discontinued), 7106 is a plain product sold out; every other product has the
/// catalog's defaults.
pub fn flags(product_id: u32) -> Flags {
    let mut flags = Flags::default();
    match product_id {
        7101 => flags.can_buy_zero = "Y".into(),
        7102 => flags.quantity_trace = "N".into(),
        7103 => flags.active = "N".into(),
        7104 => flags.kind = 7,
        7105 => flags.available = Some("N".into()),
        7200 => flags.kind = 3,
        7201..=7203 => flags.kind = 4,
        _ => {}
    }
    flags
}

impl Record {
    pub fn to_json(&self) -> Value {
        if self.quoted {
            json!({
                "amount": self.amount.to_string(),
                "id": self.id.to_string(),
                "productId": self.product_id.to_string(),
                "quantityReserved": self.quantity_reserved.map(|r| r.to_string()),
                "storeId": self.store_id.to_string(),
            })
        } else {
            json!({
                "amount": self.amount,
                "id": self.id,
                "productId": self.product_id,
                "quantityReserved": self.quantity_reserved,
                "storeId": self.store_id,
            })
        }
    }

    /// A field by its API name, for list filters and ordering.
    pub fn field(&self, name: &str) -> Option<f64> {
        match name {
            "id" => Some(f64::from(self.id)),
            "productId" => Some(f64::from(self.product_id)),
            "storeId" => Some(self.store_id as f64),
            "amount" => Some(self.amount),
            "quantityReserved" => self.quantity_reserved,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_6973_is_in_three_warehouses() {
        let rows: Vec<(u32, i64, f64, Option<f64>)> = all_records()
            .filter(|r| r.product_id == 6973)
            .map(|r| (r.id, r.store_id, r.amount, r.quantity_reserved))
            .collect();
        assert_eq!(
            rows,
            [
                (13, 11, 14.0, None),
                (301, 1, 6.0, Some(1.0)),
                (302, 2, 100.0, None)
            ]
        );
    }

    #[test]
    fn the_big_product_has_one_record_per_warehouse_100_to_189() {
        let rows: Vec<Record> = all_records()
            .filter(|r| r.product_id == BIG_PRODUCT)
            .collect();
        assert_eq!(rows.len(), 90);
        for (k, record) in (1u32..).zip(&rows) {
            assert_eq!(record.id, 2000 + k);
            assert_eq!(record.store_id, i64::from(99 + k));
            assert_eq!(record.amount, f64::from(k));
            assert_eq!(record.quantity_reserved, Some(f64::from(k % 3)));
        }
        assert!(record(2000).is_none() && record(2091).is_none() && record(303).is_none());
        // Every id is listed once, in id order.
        let ids: Vec<u32> = all_records().map(|r| r.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids.len(), 300 + 2 + 90 + 6 + 5);
    }
}
