//! One page of `catalog.storeproduct.list` filtered by product, read defensively.

use serde_json::Value;

use super::command::LIST_PAGE_ROWS;
use super::numbers::count;
use super::record::read_record;
use crate::core::domain::id::ProductId;
use crate::core::domain::reads::Page;

/// Reads a list result (`{"storeProducts": [...]}`) with its `total` and `next`. Every row must
/// be a readable record of `product`; a page longer than the portal's page size is refused.
pub fn read_page(
    result: &Value,
    total: Option<&Value>,
    next: Option<&Value>,
    product: ProductId,
) -> Option<Page> {
    let rows = match result {
        // PHP sends an empty result as `[]`.
        Value::Array(items) if items.is_empty() => Vec::new(),
        Value::Object(obj) => match obj.get("storeProducts") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            // A PHP array with gaps in its keys arrives as an object.
            Some(Value::Object(items)) => items.values().collect(),
            Some(_) => return None,
        },
        _ => return None,
    };
    if rows.len() > LIST_PAGE_ROWS as usize {
        return None;
    }
    let rows = rows
        .into_iter()
        .map(|row| read_record(row).filter(|r| r.product_id == product))
        .collect::<Option<Vec<_>>>()?;
    let number = |v: Option<&Value>| -> Result<Option<u32>, ()> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) => count(v).map(Some).ok_or(()),
        }
    };
    Some(Page {
        rows,
        total: number(total).ok()?,
        next: number(next).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn product() -> ProductId {
        ProductId::from_u64(6973).unwrap()
    }

    fn row(id: u32, store: u32) -> Value {
        json!({"id": id, "productId": 6973, "storeId": store, "amount": 2, "quantityReserved": null})
    }

    #[test]
    fn reads_pages_and_their_totals() {
        let page = read_page(
            &json!({"storeProducts": [row(13, 11), row(301, 1)]}),
            Some(&json!(2)),
            None,
            product(),
        )
        .unwrap();
        assert_eq!(page.rows.len(), 2);
        assert_eq!((page.total, page.next), (Some(2), None));
        let page = read_page(
            &json!({"storeProducts": []}),
            Some(&json!("0")),
            None,
            product(),
        )
        .unwrap();
        assert!(page.rows.is_empty());
        assert_eq!(
            read_page(&json!([]), None, None, product()),
            Some(Page::default())
        );
        let gaps = json!({"storeProducts": {"0": row(13, 11), "5": row(301, 1)}});
        assert_eq!(
            read_page(&gaps, None, Some(&json!("50")), product())
                .unwrap()
                .next,
            Some(50)
        );
    }

    #[test]
    fn refuses_other_products_odd_rows_and_odd_counts() {
        let other =
            json!({"storeProducts": [json!({"id": 1, "productId": 5, "storeId": 1, "amount": 1})]});
        assert_eq!(read_page(&other, None, None, product()), None);
        assert_eq!(
            read_page(&json!({"storeProducts": [1]}), None, None, product()),
            None
        );
        assert_eq!(
            read_page(&json!({"storeProducts": "x"}), None, None, product()),
            None
        );
        assert_eq!(read_page(&json!("x"), None, None, product()), None);
        let ok = json!({"storeProducts": [row(13, 11)]});
        assert_eq!(read_page(&ok, Some(&json!(-1)), None, product()), None);
        assert_eq!(read_page(&ok, None, Some(&json!("soon")), product()), None);
        let long: Vec<Value> = (1..=51).map(|i| row(i, 1)).collect();
        assert_eq!(
            read_page(&json!({"storeProducts": long}), None, None, product()),
            None
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_json(text in "\\PC{0,64}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let _ = read_page(&value, value.get("total"), value.get("next"), product());
            }
        }
    }
}
