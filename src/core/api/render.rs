//! The JSON bodies we send: trimmed records and errors, serialized once.

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::core::api::api_error::ApiError;
use crate::core::portal::answer::StoreProduct;
use crate::core::stock::policy::{Exposure, Figures, Policy};

/// A stock quantity: whole numbers print without a fraction (`14`, not `14.0`).
#[derive(Debug, Clone, Copy)]
struct Quantity(f64);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53
        if self.0.fract() == 0.0 && self.0.abs() < EXACT_INT {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactV1 {
    id: u32,
    product_id: i64,
    store_id: i64,
    amount: Quantity,
    reserved: Quantity,
    available: Quantity,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelView {
    id: u32,
    product_id: i64,
    store_id: i64,
    availability: &'static str,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactBitrix {
    id: u32,
    product_id: i64,
    store_id: i64,
    amount: Quantity,
    quantity_reserved: Option<Quantity>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BitrixEnvelope<T> {
    result: BitrixResult<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BitrixResult<T> {
    store_product: T,
}

/// Both public renderings of one record, made once and reused for every hit.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRecord {
    pub v1: Bytes,
    pub bitrix: Bytes,
}

pub fn render_record(policy: &Policy, record: &StoreProduct) -> RenderedRecord {
    let figures = Figures::of(record);
    let in_stock = figures.available > 0.0;
    let (v1, bitrix) = match policy.exposure {
        Exposure::Exact => (
            to_bytes(&ExactV1 {
                id: record.id.get(),
                product_id: record.product_id,
                store_id: record.store_id,
                amount: Quantity(figures.amount),
                reserved: Quantity(figures.reserved),
                available: Quantity(figures.available),
                in_stock,
            }),
            to_bytes(&BitrixEnvelope {
                result: BitrixResult {
                    store_product: ExactBitrix {
                        id: record.id.get(),
                        product_id: record.product_id,
                        store_id: record.store_id,
                        amount: Quantity(record.amount),
                        quantity_reserved: record.quantity_reserved.map(Quantity),
                    },
                },
            }),
        ),
        Exposure::Level => {
            let level = LevelView {
                id: record.id.get(),
                product_id: record.product_id,
                store_id: record.store_id,
                availability: policy.availability(figures.available).as_str(),
                in_stock,
            };
            let v1 = to_bytes(&level);
            let bitrix = to_bytes(&BitrixEnvelope {
                result: BitrixResult {
                    store_product: level,
                },
            });
            (v1, bitrix)
        }
    };
    RenderedRecord { v1, bitrix }
}

#[derive(Serialize)]
struct V1Error {
    error: V1ErrorBody,
}

#[derive(Serialize)]
struct V1ErrorBody {
    code: &'static str,
    message: &'static str,
}

#[derive(Serialize)]
struct BitrixError {
    error: serde_json::Value,
    error_description: &'static str,
}

pub fn render_v1_error(error: ApiError) -> Bytes {
    to_bytes(&V1Error {
        error: V1ErrorBody {
            code: error.code(),
            message: error.message(),
        },
    })
}

pub fn render_bitrix_error(error: ApiError) -> Bytes {
    to_bytes(&BitrixError {
        error: error.bitrix_code(),
        error_description: error.message(),
    })
}

fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no I/O.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stock::id::RecordId;

    fn record(amount: f64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(13).unwrap(),
            product_id: 6973,
            store_id: 11,
            amount,
            quantity_reserved: reserved,
        }
    }

    #[test]
    fn exact_matches_the_contract_byte_for_byte() {
        let r = render_record(&Policy::default(), &record(14.0, None));
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true}"#
        );
        assert_eq!(
            r.bitrix,
            r#"{"result":{"storeProduct":{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}}}"#
        );
    }

    #[test]
    fn fractions_stay_fractions() {
        let r = render_record(&Policy::default(), &record(2.5, Some(0.5)));
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"amount":2.5,"reserved":0.5,"available":2,"inStock":true}"#
        );
    }

    #[test]
    fn level_hides_amounts_everywhere() {
        let policy = Policy {
            exposure: Exposure::Level,
            ..Policy::default()
        };
        let r = render_record(&policy, &record(3.0, Some(1.0)));
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"availability":"low_stock","inStock":true}"#
        );
        assert!(!String::from_utf8_lossy(&r.bitrix).contains("amount"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            render_v1_error(ApiError::NotFound),
            r#"{"error":{"code":"not_found","message":"no stock record with this id"}}"#
        );
        assert_eq!(
            render_bitrix_error(ApiError::InvalidId(
                crate::core::stock::id::IdError::Missing
            )),
            r#"{"error":100,"error_description":"id is required"}"#
        );
    }
}
