//! A product's flags as `catalog.product.get` sends them (`{"product": {...}}`) and
//! `catalog.product.list` lists them (`{"products": [...]}`): `Y`/`N` letters (or booleans
//! from a proxy that converted them), `D` for "the catalog's default", a numeric `type` and
//! `iblockId`, read leniently. A product with another id than asked is no answer.

use serde_json::{Map, Value};

use super::numbers::{lenient_integer, positive_id};
use crate::core::domain::id::ProductId;
use crate::core::domain::reads::RANGE_IDS;
use crate::core::domain::sellable::ProductFlags;

/// The flags in a `catalog.product.get` result; `None` when it is not this product's answer.
pub fn read_flags(result: &Value, expected: ProductId) -> Option<ProductFlags> {
    let product = result.get("product")?.as_object()?;
    if positive_id(product.get("id")?)? != expected.get() {
        return None;
    }
    Some(flags_of(product))
}

/// A `catalog.product.get` answer for a product named by reference: the product it is, and
/// its flags.
pub fn read_named_flags(result: &Value) -> Option<(ProductId, ProductFlags)> {
    let product = result.get("product")?.as_object()?;
    let id = ProductId::from_u64(positive_id(product.get("id")?)?.into()).ok()?;
    Some((id, flags_of(product)))
}

/// The products of a `catalog.product.list` page for ids `from..from + RANGE_IDS` of catalog
/// `iblock`; `None` when a row is outside what was asked (another catalog, another range, an
/// id twice), or the page is not one.
pub fn read_flag_rows(
    result: &Value,
    iblock: u32,
    from: ProductId,
) -> Option<Vec<(ProductId, ProductFlags)>> {
    let rows = match result.get("products")? {
        Value::Array(rows) => rows,
        // PHP's empty map.
        Value::Object(map) if map.is_empty() => return Some(Vec::new()),
        _ => return None,
    };
    let end = u64::from(from.get()) + u64::from(RANGE_IDS);
    let mut read: Vec<(ProductId, ProductFlags)> = Vec::with_capacity(rows.len());
    for row in rows {
        let product = row.as_object()?;
        let id = positive_id(product.get("id")?)?;
        let flags = flags_of(product);
        let inside = (u64::from(from.get())..end).contains(&u64::from(id));
        let same_catalog = flags.iblock == 0 || flags.iblock == iblock;
        if !inside || !same_catalog || read.iter().any(|(p, _)| p.get() == id) {
            return None;
        }
        read.push((ProductId::from_u64(id.into()).ok()?, flags));
    }
    Some(read)
}

fn flags_of(product: &Map<String, Value>) -> ProductFlags {
    let flag = |name: &str| product.get(name).and_then(yes_no);
    let kind = product
        .get("type")
        .and_then(lenient_integer)
        .filter(|t| (0..=u8::MAX.into()).contains(t))
        .unwrap_or(0) as u8;
    ProductFlags {
        active: flag("active"),
        available: flag("available"),
        can_buy_zero: flag("canBuyZero"),
        quantity_trace: flag("quantityTrace"),
        kind,
        iblock: product.get("iblockId").and_then(positive_id).unwrap_or(0),
    }
}

/// `Y`/`N` (any case) or a boolean; anything else (`D`, null, odd values) says nothing.
pub fn yes_no(value: &Value) -> Option<bool> {
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
            "canBuyZero": "Y", "quantityTrace": "N", "type": 1, "name": "Product", "iblockId": 23}});
        assert_eq!(
            read_flags(&documented, id(1243)),
            Some(ProductFlags {
                active: Some(true),
                available: Some(true),
                can_buy_zero: Some(true),
                quantity_trace: Some(false),
                kind: 1,
                iblock: 23
            })
        );
    }

    #[test]
    fn reads_a_list_page_of_the_range_asked_for() {
        let from = id(101);
        let page = json!({"products": [
            {"id": 101, "iblockId": 23, "active": "Y", "canBuyZero": "Y", "type": 1},
            {"id": "150", "iblockId": "23", "active": "N"}
        ]});
        let rows = read_flag_rows(&page, 23, from).unwrap();
        assert_eq!(
            rows.iter().map(|(p, _)| p.get()).collect::<Vec<_>>(),
            [101, 150]
        );
        assert_eq!(rows[0].1.can_buy_zero, Some(true));
        assert_eq!(rows[1].1.active, Some(false));
        assert_eq!(
            read_flag_rows(&json!({"products": {}}), 23, from),
            Some(vec![])
        );
        for odd in [
            json!({"products": [{"id": 151, "iblockId": 23}]}),
            json!({"products": [{"id": 101, "iblockId": 25}]}),
            json!({"products": [{"id": 101}, {"id": 101}]}),
            json!({"products": "x"}),
            json!({"items": []}),
        ] {
            assert_eq!(read_flag_rows(&odd, 23, from), None, "{odd}");
        }
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
