//! A product's flags as `catalog.product.get` sends them (`{"product": {...}}`): `Y`/`N`
//! letters (or booleans from a proxy that converted them), `D` for "the catalog's default",
//! and a numeric `type`, read leniently. A product with another id than asked is no answer.

use serde_json::Value;

use super::numbers::{lenient_integer, positive_id};
use crate::core::domain::id::ProductId;
use crate::core::domain::sellable::ProductFlags;

/// The flags in a `catalog.product.get` result; `None` when it is not this product's answer.
pub fn read_flags(result: &Value, expected: ProductId) -> Option<ProductFlags> {
    let product = result.get("product")?.as_object()?;
    if positive_id(product.get("id")?)? != expected.get() {
        return None;
    }
    let flag = |name: &str| product.get(name).and_then(yes_no);
    let kind = product
        .get("type")
        .and_then(lenient_integer)
        .filter(|t| (0..=u8::MAX.into()).contains(t))
        .unwrap_or(0) as u8;
    Some(ProductFlags {
        active: flag("active"),
        available: flag("available"),
        can_buy_zero: flag("canBuyZero"),
        quantity_trace: flag("quantityTrace"),
        kind,
    })
}

/// `Y`/`N` (any case) or a boolean; anything else (`D`, null, odd values) says nothing.
fn yes_no(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("y") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("n") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(n: u64) -> ProductId {
        ProductId::from_u64(n).unwrap()
    }

    #[test]
    fn reads_the_documented_product() {
        let documented = json!({"product": {"id": 1243, "active": "Y", "available": "Y",
            "canBuyZero": "Y", "quantityTrace": "N", "type": 1, "name": "Product"}});
        assert_eq!(
            read_flags(&documented, id(1243)),
            Some(ProductFlags {
                active: Some(true),
                available: Some(true),
                can_buy_zero: Some(true),
                quantity_trace: Some(false),
                kind: 1
            })
        );
    }

    #[test]
    fn odd_values_say_nothing_and_other_products_are_no_answer() {
        let odd = json!({"product": {"id": "7", "active": "D", "available": null,
            "canBuyZero": false, "quantityTrace": 1, "type": "300"}});
        assert_eq!(
            read_flags(&odd, id(7)),
            Some(ProductFlags {
                can_buy_zero: Some(false),
                ..ProductFlags::default()
            })
        );
        for result in [
            json!({"product": {"id": 8, "active": "Y"}}),
            json!({"product": "x"}),
            json!({"product": {"active": "Y"}}),
            json!([]),
            json!(null),
        ] {
            assert_eq!(read_flags(&result, id(7)), None, "{result}");
        }
    }
}
