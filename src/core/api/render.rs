//! The JSON bodies we send: trimmed records, product stock, lists and errors. Records are
//! serialized once, when they enter the cache; answers made of several are spliced from those
//! bytes.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Serialize, Serializer};

use super::api_error::ApiError;
use crate::core::portal::record::StoreProduct;
use crate::core::stock::id::RecordId;
use crate::core::stock::policy::{Exposure, Figures, Policy};
use crate::core::stock::product::ProductStock;

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
    product_id: u32,
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
    product_id: u32,
    store_id: i64,
    availability: &'static str,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactBitrix {
    id: u32,
    product_id: u32,
    store_id: i64,
    amount: Quantity,
    quantity_reserved: Option<Quantity>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BitrixResult<T> {
    store_product: T,
}

/// Both public renderings of one record, made once and reused for every hit: the v1 object,
/// and the Bitrix result object (`{"storeProduct":{…}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRecord {
    pub v1: Bytes,
    pub bitrix: Bytes,
}

pub fn render_record(policy: &Policy, record: &StoreProduct) -> RenderedRecord {
    let figures = Figures::of(record);
    let (id, product_id, store_id) = (record.id.get(), record.product_id.get(), record.store_id);
    match policy.exposure {
        Exposure::Exact => RenderedRecord {
            v1: to_bytes(&ExactV1 {
                id,
                product_id,
                store_id,
                amount: Quantity(figures.amount),
                reserved: Quantity(figures.reserved),
                available: Quantity(figures.available),
                in_stock: figures.in_stock(),
            }),
            bitrix: to_bytes(&BitrixResult {
                store_product: ExactBitrix {
                    id,
                    product_id,
                    store_id,
                    amount: Quantity(record.amount),
                    quantity_reserved: record.quantity_reserved.map(Quantity),
                },
            }),
        },
        Exposure::Level => {
            let level = LevelView {
                id,
                product_id,
                store_id,
                availability: policy.availability(figures.available).as_str(),
                in_stock: figures.in_stock(),
            };
            RenderedRecord {
                v1: to_bytes(&level),
                bitrix: to_bytes(&BitrixResult {
                    store_product: level,
                }),
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactProduct {
    product_id: u32,
    amount: Quantity,
    reserved: Quantity,
    available: Quantity,
    in_stock: bool,
    stores: Vec<ExactStore>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactStore {
    store_id: i64,
    amount: Quantity,
    reserved: Quantity,
    available: Quantity,
    in_stock: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelProduct {
    product_id: u32,
    availability: &'static str,
    in_stock: bool,
    stores: Vec<LevelStore>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelStore {
    store_id: i64,
    availability: &'static str,
    in_stock: bool,
}

/// `{"productId","amount","reserved","available","inStock","stores":[…]}`, or with levels only.
pub fn render_product(policy: &Policy, stock: &ProductStock) -> Bytes {
    let product_id = stock.product_id.get();
    match policy.exposure {
        Exposure::Exact => to_bytes(&ExactProduct {
            product_id,
            amount: Quantity(stock.total.amount),
            reserved: Quantity(stock.total.reserved),
            available: Quantity(stock.total.available),
            in_stock: stock.total.in_stock(),
            stores: stock
                .stores
                .iter()
                .map(|(store_id, f)| ExactStore {
                    store_id: *store_id,
                    amount: Quantity(f.amount),
                    reserved: Quantity(f.reserved),
                    available: Quantity(f.available),
                    in_stock: f.in_stock(),
                })
                .collect(),
        }),
        Exposure::Level => to_bytes(&LevelProduct {
            product_id,
            availability: policy.availability(stock.total.available).as_str(),
            in_stock: stock.total.in_stock(),
            stores: stock
                .stores
                .iter()
                .map(|(store_id, f)| LevelStore {
                    store_id: *store_id,
                    availability: policy.availability(f.available).as_str(),
                    in_stock: f.in_stock(),
                })
                .collect(),
        }),
    }
}

/// `{"items":[…],"notFound":[…],"unavailable":[…]}` from already rendered records.
pub fn render_id_lists(items: &[Bytes], not_found: &[RecordId], unavailable: &[RecordId]) -> Bytes {
    let size = items.iter().map(Bytes::len).sum::<usize>()
        + 12 * (not_found.len() + unavailable.len())
        + 48;
    let mut out = BytesMut::with_capacity(size);
    out.put_slice(b"{\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(item);
    }
    out.put_slice(b"],\"notFound\":");
    put_ids(&mut out, not_found);
    out.put_slice(b",\"unavailable\":");
    put_ids(&mut out, unavailable);
    out.put_u8(b'}');
    out.freeze()
}

fn put_ids(out: &mut BytesMut, ids: &[RecordId]) {
    out.put_u8(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(id.get().to_string().as_bytes());
    }
    out.put_u8(b']');
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

pub fn render_v1_error(error: ApiError) -> Bytes {
    to_bytes(&V1Error {
        error: V1ErrorBody {
            code: error.code(),
            message: error.message(),
        },
    })
}

pub fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no I/O.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stock::id::ProductId;
    use crate::core::stock::product::product_stock;

    fn record(amount: f64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(13).unwrap(),
            product_id: ProductId::from_u64(6973).unwrap(),
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
            r#"{"storeProduct":{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}}"#
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
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(3.0, Some(1.0))],
            &policy,
        )
        .unwrap();
        assert_eq!(
            render_product(&policy, &stock),
            r#"{"productId":6973,"availability":"low_stock","inStock":true,"stores":[{"storeId":11,"availability":"low_stock","inStock":true}]}"#
        );
    }

    #[test]
    fn products_and_lists() {
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(14.0, None)],
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            render_product(&Policy::default(), &stock),
            r#"{"productId":6973,"amount":14,"reserved":0,"available":14,"inStock":true,"stores":[{"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true}]}"#
        );
        let id = |n| RecordId::from_u64(n).unwrap();
        assert_eq!(
            render_id_lists(
                &[
                    Bytes::from_static(b"{\"id\":1}"),
                    Bytes::from_static(b"{\"id\":2}")
                ],
                &[id(3)],
                &[]
            ),
            r#"{"items":[{"id":1},{"id":2}],"notFound":[3],"unavailable":[]}"#
        );
        assert_eq!(
            render_id_lists(&[], &[], &[id(4), id(5)]),
            r#"{"items":[],"notFound":[],"unavailable":[4,5]}"#
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            render_v1_error(ApiError::TooManyIds),
            r#"{"error":{"code":"too_many_ids","message":"at most 50 ids per request"}}"#
        );
    }
}
