//! The sandbox portal's inventory: three warehouses and a few hundred stock records.

use serde_json::{json, Value};

/// Warehouses that exist in the sandbox.
pub const STORES: [i64; 3] = [1, 2, 11];
/// Regular records are 1..=REGULAR_RECORDS (plus the documented record 13).
pub const REGULAR_RECORDS: u32 = 300;

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
    (1..=REGULAR_RECORDS).contains(&id).then(|| Record {
        id,
        product_id: 6000 + id,
        store_id: STORES[(id % 3) as usize],
        amount: f64::from((id * 7) % 23),
        quantity_reserved: (!id.is_multiple_of(5)).then(|| f64::from(id % 4)),
        quoted: false,
    })
}

pub fn all_records() -> impl Iterator<Item = Record> {
    (1..=REGULAR_RECORDS).filter_map(record)
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
