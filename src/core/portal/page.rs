//! `catalog.storeproduct.list` answers, read defensively: one page of a product's records, a
//! sweep's range of ids, and the highest id.

use serde_json::Value;

use super::command::{range_end, LIST_PAGE_ROWS};
use super::numbers::{count, positive_id};
use super::record::read_record;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::reads::Page;
use crate::core::domain::record::StoreProduct;

/// Reads a list result (`{"storeProducts": [...]}`) with its `total` and `next`. Every row must
/// be a readable record of `product`; a page longer than the portal's page size is refused.
pub fn read_page(
    result: &Value,
    total: Option<&Value>,
    next: Option<&Value>,
    product: ProductId,
) -> Option<Page> {
    let rows = list_rows(result)?
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

/// The rows of a list result: at most a page of them, from `{"storeProducts": […]}` (a list, or
/// an object when PHP's keys had gaps) or PHP's empty `[]`.
fn list_rows(result: &Value) -> Option<Vec<&Value>> {
    let rows: Vec<&Value> = match result {
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
    (rows.len() <= LIST_PAGE_ROWS as usize).then_some(rows)
}

/// The records of a sweep's range from `from`: every row readable and inside the range, in id
/// order with no id twice. A `next` (more than one page for 50 ids) is not a portal answer.
pub fn read_range(
    result: &Value,
    next: Option<&Value>,
    from: RecordId,
) -> Option<Vec<StoreProduct>> {
    if next.is_some_and(|n| !n.is_null()) {
        return None;
    }
    let end = range_end(from);
    let mut rows = list_rows(result)?
        .into_iter()
        .map(|row| read_record(row).filter(|r| r.id >= from && u64::from(r.id.get()) < end))
        .collect::<Option<Vec<_>>>()?;
    rows.sort_by_key(|r| r.id);
    rows.dedup_by_key(|r| r.id);
    Some(rows)
}

/// The ids of a list of rows with only `id` selected (a sweep's edges: the highest id, the next
/// id after a gap); `None` for anything that is not such a list.
pub fn read_ids(result: &Value) -> Option<Vec<RecordId>> {
    list_rows(result)?
        .iter()
        .map(|row| {
            let id = row.as_object()?.get("id")?;
            RecordId::from_u64(positive_id(id)?.into()).ok()
        })
        .collect()
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

    #[test]
    fn reads_ranges_and_the_highest_id() {
        let from = RecordId::from_u64(51).unwrap();
        let rows = json!({"storeProducts": [row(60, 1), row(51, 2), row(60, 1)]});
        let read = read_range(&rows, None, from).unwrap();
        assert_eq!(
            read.iter().map(|r| r.id.get()).collect::<Vec<_>>(),
            vec![51, 60],
            "sorted, no id twice"
        );
        assert_eq!(read_range(&json!([]), None, from), Some(vec![]));
        let outside = json!({"storeProducts": [row(101, 1)]});
        assert_eq!(
            read_range(&outside, None, from),
            None,
            "an id outside the range"
        );
        assert_eq!(
            read_range(&rows, Some(&json!(50)), from),
            None,
            "a second page"
        );
        let id = |n| RecordId::from_u64(n).unwrap();
        assert_eq!(
            read_ids(&json!({"storeProducts": [{"id": "120"}, {"id": 7}]})),
            Some(vec![id(120), id(7)])
        );
        assert_eq!(read_ids(&json!([])), Some(vec![]));
        assert_eq!(read_ids(&json!({"storeProducts": [{"id": 0}]})), None);
        assert_eq!(read_ids(&json!({"storeProducts": [{"x": 1}]})), None);
    }
}
