//! The records and products the operator publishes, rendered once as the JSON bodies callers
//! get: the v1 object and the Bitrix result object of a record, and a product's stock. They
//! are made when an answer enters a cache; every hit serves these bytes.

use bytes::Bytes;
use http::HeaderValue;
use serde::{Serialize, Serializer};

use crate::core::kit::memo::Memo;

use crate::core::domain::policy::{Exposure, Figures, Policy};
use crate::core::domain::product::ProductStock;
use crate::core::domain::record::StoreProduct;
use std::collections::BTreeMap;

use crate::core::domain::id::ProductId;
use crate::core::domain::sellable::{sellable, ProductFlags, Sellable};
use crate::core::domain::variations::combined;

/// A stock quantity: whole numbers print without a fraction (`14`, not `14.0`).
#[derive(Debug, Clone, Copy)]
pub struct Quantity(pub f64);

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
    availability: &'static str,
    sellable: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelView {
    id: u32,
    product_id: u32,
    store_id: i64,
    availability: &'static str,
    in_stock: bool,
    sellable: bool,
}

/// `available` under `STOCK_EXPOSE=capped:N`: the figure up to N, `"N+"` above.
#[derive(Debug, Clone, Copy)]
pub struct Capped {
    pub available: f64,
    pub cap: u32,
}

impl Serialize for Capped {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.available > f64::from(self.cap) {
            s.serialize_str(&format!("{}+", self.cap))
        } else {
            Quantity(self.available.max(0.0)).serialize(s)
        }
    }
}

/// A record with a capped figure (v1 and Bitrix alike): no amount or reservation, which would
/// give the exact stock away.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CappedView {
    id: u32,
    product_id: u32,
    store_id: i64,
    available: Capped,
    in_stock: bool,
    availability: &'static str,
    sellable: bool,
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
    /// The ids an answer is tagged with for CDN purges (`Cache-Tag`, `Surrogate-Key`).
    pub product_id: u32,
    pub store_id: i64,
    /// The v1 answer's validator and purge tags, made on the first hit and shared by every
    /// copy taken from the cache.
    pub hit_headers: Memo<RecordHeaders>,
}

/// The headers a record's v1 answer carries besides its type and lifetime.
#[derive(Debug)]
pub struct RecordHeaders {
    pub etag: HeaderValue,
    pub cache_tag: HeaderValue,
    pub surrogate_key: HeaderValue,
}

/// What may be sold of `available` under the policy's threshold.
fn state(policy: &Policy, flags: Option<&ProductFlags>, available: f64) -> Sellable {
    sellable(flags, available, policy.low_stock_threshold)
}

/// A record as published; `flags` are its product's (`None`: unknown, the stock speaks alone).
pub fn render_record(
    policy: &Policy,
    record: &StoreProduct,
    flags: Option<&ProductFlags>,
) -> RenderedRecord {
    let figures = Figures::of(record);
    let state = state(policy, flags, figures.available);
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
                availability: state.availability.as_str(),
                sellable: state.sellable,
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
            product_id,
            store_id,
            hit_headers: Memo::new(),
        },
        Exposure::Level => {
            let level = LevelView {
                id,
                product_id,
                store_id,
                availability: state.availability.as_str(),
                in_stock: figures.in_stock(),
                sellable: state.sellable,
            };
            RenderedRecord {
                v1: to_bytes(&level),
                bitrix: to_bytes(&BitrixResult {
                    store_product: level,
                }),
                product_id,
                store_id,
                hit_headers: Memo::new(),
            }
        }
        Exposure::Capped(cap) => {
            let capped = CappedView {
                id,
                product_id,
                store_id,
                available: Capped {
                    available: figures.available,
                    cap,
                },
                in_stock: figures.in_stock(),
                availability: state.availability.as_str(),
                sellable: state.sellable,
            };
            RenderedRecord {
                v1: to_bytes(&capped),
                bitrix: to_bytes(&BitrixResult {
                    store_product: capped,
                }),
                product_id,
                store_id,
                hit_headers: Memo::new(),
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactProduct<'a> {
    product_id: u32,
    amount: Quantity,
    reserved: Quantity,
    available: Quantity,
    in_stock: bool,
    availability: &'static str,
    sellable: bool,
    stores: Vec<ExactStore<'a>>,
}

/// What the shop says about a warehouse (`STOCK_STORES`), beside its stock.
#[derive(Serialize, Default)]
struct StoreAbout<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<&'a str>,
}

impl<'a> StoreAbout<'a> {
    fn of(policy: &'a Policy, store_id: i64) -> Self {
        let Some(info) = policy.stores.get(store_id) else {
            return Self::default();
        };
        Self {
            name: info.name.as_deref(),
            address: info.address.as_deref(),
            lat: info.location.map(|(lat, _)| lat),
            lon: info.location.map(|(_, lon)| lon),
            hours: info.hours.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExactStore<'a> {
    store_id: i64,
    #[serde(flatten)]
    about: StoreAbout<'a>,
    amount: Quantity,
    reserved: Quantity,
    available: Quantity,
    in_stock: bool,
    availability: &'static str,
    sellable: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelProduct<'a> {
    product_id: u32,
    availability: &'static str,
    in_stock: bool,
    sellable: bool,
    stores: Vec<LevelStore<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelStore<'a> {
    store_id: i64,
    #[serde(flatten)]
    about: StoreAbout<'a>,
    availability: &'static str,
    in_stock: bool,
    sellable: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CappedProduct<'a> {
    product_id: u32,
    available: Capped,
    in_stock: bool,
    availability: &'static str,
    sellable: bool,
    stores: Vec<CappedStore<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CappedStore<'a> {
    store_id: i64,
    #[serde(flatten)]
    about: StoreAbout<'a>,
    available: Capped,
    in_stock: bool,
    availability: &'static str,
    sellable: bool,
}

/// `{"productId","amount","reserved","available","inStock","stores":[…]}`, with levels only,
/// or with capped figures only.
pub fn render_product(
    policy: &Policy,
    stock: &ProductStock,
    flags: Option<&ProductFlags>,
) -> Bytes {
    let total = state(policy, flags, stock.total.available);
    render_stock(policy, stock, total, |_, available| {
        state(policy, flags, available)
    })
}

/// A parent product's answer: its variations' stock added up per warehouse and in total, with
/// the state they make together ([`combined`]), and `"variations"`: each variation's own
/// answer, as [`render_product`] makes it. `None` when no variation is in a public warehouse.
pub fn render_parent(
    policy: &Policy,
    parent: ProductId,
    parent_flags: Option<&ProductFlags>,
    variations: &[(ProductStock, Option<ProductFlags>)],
) -> Option<Bytes> {
    if variations.is_empty() {
        return None;
    }
    let low = policy.low_stock_threshold;
    let mut by_store: BTreeMap<i64, Vec<Figures>> = BTreeMap::new();
    for (stock, _) in variations {
        for (store, figures) in &stock.stores {
            by_store.entry(*store).or_default().push(*figures);
        }
    }
    let stores: Vec<(i64, Figures)> = by_store
        .into_iter()
        .map(|(store, parts)| (store, Figures::sum(parts)))
        .collect();
    let together = ProductStock {
        product_id: parent,
        total: Figures::sum(stores.iter().map(|(_, f)| *f)),
        stores,
    };
    let part = |(_, flags): &(ProductStock, Option<ProductFlags>), available: f64| {
        sellable(flags.as_ref(), available, low)
    };
    let parts: Vec<Sellable> = variations
        .iter()
        .map(|v| part(v, v.0.total.available))
        .collect();
    let total = combined(parent_flags, &parts, together.total.available, low);
    let body = render_stock(policy, &together, total, |store, available| {
        let here: Vec<Sellable> = variations
            .iter()
            .filter_map(|v| {
                let (_, figures) = v.0.stores.iter().find(|(s, _)| *s == store)?;
                Some(part(v, figures.available))
            })
            .collect();
        combined(parent_flags, &here, available, low)
    });
    let mut out = body.strip_suffix(b"}")?.to_vec();
    out.extend_from_slice(b",\"variations\":[");
    for (i, (stock, flags)) in variations.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&render_product(policy, stock, flags.as_ref()));
    }
    out.extend_from_slice(b"]}");
    Some(Bytes::from(out))
}

/// A product's (or a parent's) stock, with the state of the whole and of each warehouse.
fn render_stock(
    policy: &Policy,
    stock: &ProductStock,
    total: Sellable,
    store_state: impl Fn(i64, f64) -> Sellable,
) -> Bytes {
    let product_id = stock.product_id.get();
    match policy.exposure {
        Exposure::Exact => to_bytes(&ExactProduct {
            product_id,
            amount: Quantity(stock.total.amount),
            reserved: Quantity(stock.total.reserved),
            available: Quantity(stock.total.available),
            in_stock: stock.total.in_stock(),
            availability: total.availability.as_str(),
            sellable: total.sellable,
            stores: stock
                .stores
                .iter()
                .map(|(store_id, f)| ExactStore {
                    store_id: *store_id,
                    about: StoreAbout::of(policy, *store_id),
                    amount: Quantity(f.amount),
                    reserved: Quantity(f.reserved),
                    available: Quantity(f.available),
                    in_stock: f.in_stock(),
                    availability: store_state(*store_id, f.available).availability.as_str(),
                    sellable: store_state(*store_id, f.available).sellable,
                })
                .collect(),
        }),
        Exposure::Level => to_bytes(&LevelProduct {
            product_id,
            availability: total.availability.as_str(),
            in_stock: stock.total.in_stock(),
            sellable: total.sellable,
            stores: stock
                .stores
                .iter()
                .map(|(store_id, f)| LevelStore {
                    store_id: *store_id,
                    about: StoreAbout::of(policy, *store_id),
                    availability: store_state(*store_id, f.available).availability.as_str(),
                    in_stock: f.in_stock(),
                    sellable: store_state(*store_id, f.available).sellable,
                })
                .collect(),
        }),
        Exposure::Capped(cap) => to_bytes(&CappedProduct {
            product_id,
            available: Capped {
                available: stock.total.available,
                cap,
            },
            in_stock: stock.total.in_stock(),
            availability: total.availability.as_str(),
            sellable: total.sellable,
            stores: stock
                .stores
                .iter()
                .map(|(store_id, f)| CappedStore {
                    store_id: *store_id,
                    about: StoreAbout::of(policy, *store_id),
                    available: Capped {
                        available: f.available,
                        cap,
                    },
                    in_stock: f.in_stock(),
                    availability: store_state(*store_id, f.available).availability.as_str(),
                    sellable: store_state(*store_id, f.available).sellable,
                })
                .collect(),
        }),
    }
}

pub fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no I/O.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::id::{ProductId, RecordId};
    use crate::core::domain::product::product_stock;

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
        let r = render_record(&Policy::default(), &record(14.0, None), None);
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}"#
        );
        assert_eq!(
            r.bitrix,
            r#"{"storeProduct":{"id":13,"productId":6973,"storeId":11,"amount":14,"quantityReserved":null}}"#
        );
    }

    #[test]
    fn fractions_stay_fractions() {
        let r = render_record(&Policy::default(), &record(2.5, Some(0.5)), None);
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"amount":2.5,"reserved":0.5,"available":2,"inStock":true,"availability":"low_stock","sellable":true}"#
        );
    }

    #[test]
    fn level_hides_amounts_everywhere() {
        let policy = Policy {
            exposure: Exposure::Level,
            ..Policy::default()
        };
        let r = render_record(&policy, &record(3.0, Some(1.0)), None);
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"availability":"low_stock","inStock":true,"sellable":true}"#
        );
        assert!(!String::from_utf8_lossy(&r.bitrix).contains("amount"));
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(3.0, Some(1.0))],
            &policy,
        )
        .unwrap();
        assert_eq!(
            render_product(&policy, &stock, None),
            r#"{"productId":6973,"availability":"low_stock","inStock":true,"sellable":true,"stores":[{"storeId":11,"availability":"low_stock","inStock":true,"sellable":true}]}"#
        );
    }

    #[test]
    fn capped_shows_figures_up_to_the_cap_and_never_amounts() {
        let policy = Policy {
            exposure: Exposure::Capped(10),
            ..Policy::default()
        };
        let under = render_record(&policy, &record(7.0, Some(1.0)), None);
        assert_eq!(
            under.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"available":6,"inStock":true,"availability":"in_stock","sellable":true}"#
        );
        let over = render_record(&policy, &record(40.0, None), None);
        assert_eq!(
            over.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"available":"10+","inStock":true,"availability":"in_stock","sellable":true}"#
        );
        assert_eq!(
            over.bitrix,
            r#"{"storeProduct":{"id":13,"productId":6973,"storeId":11,"available":"10+","inStock":true,"availability":"in_stock","sellable":true}}"#
        );
        let exactly = render_record(&policy, &record(10.0, None), None);
        assert!(String::from_utf8_lossy(&exactly.v1).contains(r#""available":10,"#));
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(40.0, None)],
            &policy,
        )
        .unwrap();
        assert_eq!(
            render_product(&policy, &stock, None),
            r#"{"productId":6973,"available":"10+","inStock":true,"availability":"in_stock","sellable":true,"stores":[{"storeId":11,"available":"10+","inStock":true,"availability":"in_stock","sellable":true}]}"#
        );
    }

    #[test]
    fn flags_say_what_may_be_sold() {
        let backorder = ProductFlags {
            can_buy_zero: Some(true),
            ..ProductFlags::default()
        };
        let r = render_record(&Policy::default(), &record(0.0, None), Some(&backorder));
        assert_eq!(
            r.v1,
            r#"{"id":13,"productId":6973,"storeId":11,"amount":0,"reserved":0,"available":0,"inStock":false,"availability":"backorder","sellable":true}"#
        );
        assert!(!String::from_utf8_lossy(&r.bitrix).contains("sellable"));
        let inactive = ProductFlags {
            active: Some(false),
            ..ProductFlags::default()
        };
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(14.0, None)],
            &Policy::default(),
        )
        .unwrap();
        let body = render_product(&Policy::default(), &stock, Some(&inactive));
        assert!(
            String::from_utf8_lossy(&body).contains(
                r#""inStock":true,"availability":"discontinued","sellable":false,"stores""#
            ),
            "{body:?}"
        );
    }

    #[test]
    fn products() {
        let stock = product_stock(
            ProductId::from_u64(6973).unwrap(),
            &[record(14.0, None)],
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            render_product(&Policy::default(), &stock, None),
            r#"{"productId":6973,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true,"stores":[{"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true,"availability":"in_stock","sellable":true}]}"#
        );
    }
}
