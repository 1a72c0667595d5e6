//! `?near=LAT,LON` on a product answer: its warehouses nearest first, each with `distanceKm`
//! (warehouses without coordinates in `STOCK_STORES` last, in their usual order). The rendered
//! answer is rearranged, not rendered again: `stores` is its last member, an array of objects.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::domain::stores::distance_km;
use crate::core::publish::render::Quantity;

const STORES: &[u8] = b",\"stores\":";

#[derive(Deserialize)]
struct Located {
    lat: Option<f64>,
    lon: Option<f64>,
}

/// The answer with its stores sorted by distance from `from`; `None` if it is not a rendered
/// product answer.
pub fn nearest_first(body: &Bytes, from: (f64, f64)) -> Option<Bytes> {
    let start = body.windows(STORES.len()).position(|w| w == STORES)? + STORES.len();
    let array = body.get(start..body.len().checked_sub(1)?)?;
    let stores: Vec<&RawValue> = serde_json::from_slice(array).ok()?;
    let mut placed: Vec<(Option<f64>, usize, &RawValue)> = Vec::with_capacity(stores.len());
    for (order, store) in stores.into_iter().enumerate() {
        let at: Located = serde_json::from_str(store.get()).ok()?;
        let km = at.lat.zip(at.lon).map(|to| distance_km(from, to));
        placed.push((km, order, store));
    }
    // Nearest first; unknown places last, in their usual order.
    placed.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.total_cmp(&y).then(a.1.cmp(&b.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    let mut out = BytesMut::with_capacity(body.len() + placed.len() * 24);
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(b"[");
    for (index, (km, _, store)) in placed.iter().enumerate() {
        if index > 0 {
            out.extend_from_slice(b",");
        }
        let text = store.get().as_bytes();
        match km {
            Some(km) => {
                out.extend_from_slice(text.strip_suffix(b"}")?);
                // To 100 m: what a customer choosing a shop needs.
                let rounded = serde_json::to_string(&Quantity((km * 10.0).round() / 10.0)).ok()?;
                out.extend_from_slice(b",\"distanceKm\":");
                out.extend_from_slice(rounded.as_bytes());
                out.extend_from_slice(b"}");
            }
            None => out.extend_from_slice(text),
        }
    }
    out.extend_from_slice(b"]}");
    Some(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_first_unknown_last() {
        let body = Bytes::from_static(
            br#"{"productId":1,"available":3,"inStock":true,"stores":[{"storeId":1,"name":"Far [x]","lat":59.93,"lon":30.34,"available":1},{"storeId":2,"available":1},{"storeId":11,"lat":55.76,"lon":37.62,"available":1}]}"#,
        );
        let sorted = nearest_first(&body, (55.75, 37.61)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&sorted).unwrap();
        let order: Vec<i64> = value["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["storeId"].as_i64().unwrap())
            .collect();
        assert_eq!(order, [11, 1, 2]);
        assert_eq!(value["stores"][0]["distanceKm"], 1.3);
        assert!(value["stores"][1]["distanceKm"].as_f64().unwrap() > 600.0);
        assert!(value["stores"][2].get("distanceKm").is_none());
        assert_eq!(value["productId"], 1);
        assert!(sorted.starts_with(
            br#"{"productId":1,"available":3,"inStock":true,"stores":[{"storeId":11,"#
        ));
    }

    #[test]
    fn not_a_product_answer() {
        assert_eq!(nearest_first(&Bytes::from_static(b"{}"), (0.0, 0.0)), None);
        assert_eq!(nearest_first(&Bytes::from_static(b"[]"), (0.0, 0.0)), None);
    }
}
