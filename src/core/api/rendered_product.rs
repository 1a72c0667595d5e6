//! A rendered product answer read back, for what is made from it per request (the sentence,
//! the quantity check): the figures it shows under any exposure, and nothing it hides.

use serde::Deserialize;

/// A product answer as rendered: exact figures, capped figures, or levels only.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedProduct {
    pub available: Option<Figure>,
    pub availability: Option<String>,
    pub in_stock: bool,
    pub stores: Vec<RenderedStore>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedStore {
    pub store_id: i64,
    pub available: Option<Figure>,
    pub in_stock: bool,
}

/// `available` as shown: a number, or `"N+"` above a cap (`STOCK_EXPOSE=capped:N`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum Figure {
    Exact(f64),
    Capped(String),
}

impl Figure {
    /// The figure, and whether it is only a floor (`"10+"`: more than 10).
    pub fn value(&self) -> Option<(f64, bool)> {
        match self {
            Figure::Exact(value) => Some((*value, false)),
            Figure::Capped(text) => {
                let cap: u32 = text.strip_suffix('+')?.parse().ok()?;
                Some((f64::from(cap), true))
            }
        }
    }
}

impl RenderedProduct {
    pub fn read(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_exposure() {
        let exact = RenderedProduct::read(br#"{"productId":1,"amount":3,"reserved":0,"available":2.5,"inStock":true,"stores":[{"storeId":1,"available":2.5,"inStock":true}]}"#).unwrap();
        assert_eq!(exact.available.unwrap().value(), Some((2.5, false)));
        let capped = RenderedProduct::read(br#"{"productId":1,"available":"10+","inStock":true,"stores":[{"storeId":1,"available":"10+","inStock":true}]}"#).unwrap();
        assert_eq!(capped.available.unwrap().value(), Some((10.0, true)));
        let level = RenderedProduct::read(
            br#"{"productId":1,"availability":"low_stock","inStock":true,"stores":[]}"#,
        )
        .unwrap();
        assert!(level.available.is_none());
        assert_eq!(level.availability.as_deref(), Some("low_stock"));
        assert!(RenderedProduct::read(b"[]").is_none());
    }
}
