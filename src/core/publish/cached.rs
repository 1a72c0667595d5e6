//! What a lookup settled on, as served to every caller until it expires, and its byte form for
//! shared caches.

use bytes::{BufMut, Bytes, BytesMut};

use super::render::RenderedRecord;

#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    Record(RenderedRecord),
    /// A product's rendered stock.
    Product(Bytes),
    /// No such record or product, or one the policy hides.
    Missing,
    /// A product with more stock records than the gateway reads (answered 502): kept like
    /// `Missing`, so asking again within the negative lifetime costs no portal request.
    TooLarge,
}

const MISSING: u8 = b'm';
/// `R`: with the record's product and store ids. Entries of the earlier `r` form (kept by a
/// shared cache across a deploy) read as foreign: a miss, read again.
const RECORD: u8 = b'R';
/// Kind, product id, store id, length of the v1 rendering.
const RECORD_HEAD: usize = 1 + 4 + 8 + 4;
const PRODUCT: u8 = b'p';
const TOO_LARGE: u8 = b't';

impl Cached {
    /// A kind byte, then the bytes; a record's ids come first, and its two renderings are split
    /// by a 4-byte length.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Cached::Missing => Bytes::from_static(&[MISSING]),
            Cached::TooLarge => Bytes::from_static(&[TOO_LARGE]),
            Cached::Product(body) => {
                let mut out = BytesMut::with_capacity(body.len() + 1);
                out.put_u8(PRODUCT);
                out.put_slice(body);
                out.freeze()
            }
            Cached::Record(record) => {
                let mut out =
                    BytesMut::with_capacity(RECORD_HEAD + record.v1.len() + record.bitrix.len());
                out.put_u8(RECORD);
                out.put_u32(record.product_id);
                out.put_i64(record.store_id);
                out.put_u32(record.v1.len() as u32);
                out.put_slice(&record.v1);
                out.put_slice(&record.bitrix);
                out.freeze()
            }
        }
    }

    /// Reads [`Cached::to_bytes`]; anything else (a damaged or foreign entry) is `None`.
    pub fn from_bytes(bytes: &Bytes) -> Option<Self> {
        let (&kind, rest) = bytes.split_first()?;
        match kind {
            MISSING if rest.is_empty() => Some(Cached::Missing),
            TOO_LARGE if rest.is_empty() => Some(Cached::TooLarge),
            PRODUCT => Some(Cached::Product(bytes.slice(1..))),
            RECORD => {
                let product_id = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
                let store_id = i64::from_be_bytes(rest.get(4..12)?.try_into().ok()?);
                let len = u32::from_be_bytes(rest.get(12..16)?.try_into().ok()?) as usize;
                let v1_end = RECORD_HEAD
                    .checked_add(len)
                    .filter(|end| *end <= bytes.len())?;
                Some(Cached::Record(RenderedRecord {
                    v1: bytes.slice(RECORD_HEAD..v1_end),
                    bitrix: bytes.slice(v1_end..),
                    product_id,
                    store_id,
                    hit_headers: Default::default(),
                }))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        for value in [
            Cached::Missing,
            Cached::TooLarge,
            Cached::Product(Bytes::from_static(b"{\"productId\":1}")),
            Cached::Record(RenderedRecord {
                v1: Bytes::from_static(b"{\"id\":1}"),
                bitrix: Bytes::from_static(b"{\"storeProduct\":{}}"),
                product_id: 6973,
                store_id: -2,
                hit_headers: Default::default(),
            }),
        ] {
            assert_eq!(Cached::from_bytes(&value.to_bytes()), Some(value));
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_foreign_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Cached::from_bytes(&Bytes::from(bytes));
        }
    }
}
