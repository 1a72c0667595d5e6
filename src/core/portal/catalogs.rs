//! The catalogs and a parent's variations as the portal lists them to administrators:
//! `catalog.catalog.list` (`{"catalogs": [...]}`: each catalog's `iblockId`, and for a
//! variations catalog its parents' `productIblockId`) and `catalog.product.offer.list`
//! (`{"offers": [...]}`: ids, with `parentId` as a number or a `{"value": …}` property).

use serde_json::Value;

use super::numbers::positive_id;
use crate::core::domain::id::ProductId;

/// Each catalog and the catalog of its parents (for a variations catalog); `None` when the
/// answer is not a list of catalogs.
pub fn read_catalogs(result: &Value) -> Option<Vec<(u32, Option<u32>)>> {
    rows(result, "catalogs")?
        .iter()
        .map(|row| {
            let row = row.as_object()?;
            let parents = match row.get("productIblockId") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) if n.as_u64() == Some(0) => None,
                Some(value) => Some(positive_id(value)?),
            };
            Some((positive_id(row.get("iblockId")?)?, parents))
        })
        .collect()
}

/// The variations listed for `parent`, in id order, each once; `None` when a row belongs to
/// another parent or the answer is not a list.
pub fn read_offers(result: &Value, parent: ProductId) -> Option<Vec<ProductId>> {
    let mut ids = Vec::new();
    for row in rows(result, "offers")? {
        let row = row.as_object()?;
        let of = match row.get("parentId") {
            None | Some(Value::Null) => None,
            Some(Value::Object(property)) => Some(positive_id(property.get("value")?)?),
            Some(value) => Some(positive_id(value)?),
        };
        if of.is_some_and(|p| p != parent.get()) {
            return None;
        }
        let id = ProductId::from_u64(positive_id(row.get("id")?)?.into()).ok()?;
        if id != parent {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

/// The list under `name`: an array, or PHP's empty map.
fn rows<'a>(result: &'a Value, name: &str) -> Option<&'a [Value]> {
    match result.get(name)? {
        Value::Array(rows) => Some(rows),
        Value::Object(map) if map.is_empty() => Some(&[]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_catalogs_and_variations() {
        let catalogs = json!({"catalogs": [
            {"id": 1, "iblockId": 23, "productIblockId": null},
            {"id": 2, "iblockId": "25", "productIblockId": "23"}
        ]});
        assert_eq!(
            read_catalogs(&catalogs),
            Some(vec![(23, None), (25, Some(23))])
        );
        assert_eq!(read_catalogs(&json!({"catalogs": {}})), Some(vec![]));
        assert_eq!(read_catalogs(&json!({"catalogs": [{"id": 1}]})), None);

        let parent = ProductId::from_u64(7200).unwrap();
        let offers = json!({"offers": [
            {"id": 7203, "iblockId": 25, "parentId": {"value": "7200", "valueId": "1"}},
            {"id": 7201, "iblockId": 25, "parentId": 7200},
            {"id": 7201, "iblockId": 25}
        ]});
        let ids: Vec<u32> = read_offers(&offers, parent)
            .unwrap()
            .iter()
            .map(|p| p.get())
            .collect();
        assert_eq!(ids, [7201, 7203]);
        let foreign = json!({"offers": [{"id": 9, "parentId": 7300}]});
        assert_eq!(read_offers(&foreign, parent), None);
        assert_eq!(read_offers(&json!({"items": []}), parent), None);
    }
}
