//! One stock record: one product in one warehouse, as the gateway understands it (read from the
//! portal's wire format by `portal::record`).

use super::id::{ProductId, RecordId};

#[derive(Debug, Clone, PartialEq)]
pub struct StoreProduct {
    pub id: RecordId,
    pub product_id: ProductId,
    pub store_id: i64,
    pub amount: f64,
    pub quantity_reserved: Option<f64>,
}
