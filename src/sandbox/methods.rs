//! The two REST methods the sandbox implements, over its fixed inventory. They return an
//! `Outcome`, which a direct call writes as the whole answer and a batch as one command's part.

use serde_json::{json, Map, Value};

use super::data::{self, Record};
use super::filter;
use super::inventory::Inventory;

/// Rows per `list` page, as on the portal.
pub const PAGE: usize = 50;

/// What one method call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Done),
    Failed(Failure),
}

/// A method's `result`, and for lists the `total` and `next` a portal sends beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub result: Value,
    pub total: Option<usize>,
    pub next: Option<usize>,
}

/// A Bitrix error envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    pub code: Value,
    pub description: &'static str,
    /// A played fault's own `time.operating_reset_at`, instead of the accounting's.
    pub reset_at: Option<Value>,
}

impl Outcome {
    pub fn done(result: Value) -> Self {
        Outcome::Done(Done {
            result,
            total: None,
            next: None,
        })
    }

    pub fn failed(status: u16, code: Value, description: &'static str) -> Self {
        Outcome::Failed(Failure {
            status,
            code,
            description,
            reset_at: None,
        })
    }
}

pub fn storeproduct_get(inventory: &Inventory, params: &Map<String, Value>) -> Outcome {
    let Some(raw) = params.get("id") else {
        return Outcome::failed(400, json!(100), "Could not find value for parameter {id}");
    };
    match data_id(raw).and_then(|id| inventory.get(id)) {
        Some(record) => Outcome::done(json!({"storeProduct": record.to_json()})),
        // Real portals vary the code and the wording of this error; so does the sandbox.
        None if data_id(raw).is_some_and(|id| id.is_multiple_of(2)) => {
            Outcome::failed(400, json!("-"), "Store product does not exist")
        }
        None => Outcome::failed(400, json!(0), "Entity is not exists"),
    }
}

/// A product's flags, as `{"product": {...}}`; the portal's own wording for an unknown one.
pub fn product_get(inventory: &Inventory, params: &Map<String, Value>) -> Outcome {
    let Some(raw) = params.get("id") else {
        return Outcome::failed(400, json!(100), "Could not find value for parameter {id}");
    };
    match data_id(raw).and_then(|id| inventory.product(id)) {
        Some(product) => Outcome::done(json!({ "product": product })),
        None => Outcome::failed(400, json!(""), "product does not exist."),
    }
}

/// What a webhook without administrator rights gets from the catalog and variations lists.
fn admins_only() -> Outcome {
    Outcome::failed(400, json!("200040300010"), "Access Denied")
}

/// The catalogs (`catalog.catalog.list`): products in 23, their variations in 25.
pub fn catalogs(inventory: &Inventory) -> Outcome {
    if !inventory.admin {
        return admins_only();
    }
    Outcome::done(json!({"catalogs": [
        {"id": data::PRODUCTS_CATALOG, "iblockId": data::PRODUCTS_CATALOG, "productIblockId": null},
        {"id": data::VARIATIONS_CATALOG, "iblockId": data::VARIATIONS_CATALOG,
         "productIblockId": data::PRODUCTS_CATALOG},
    ]}))
}

/// A parent's variations (`catalog.product.offer.list`, filtered by `iblockId` and `parentId`).
pub fn offers(inventory: &Inventory, params: &Map<String, Value>) -> Outcome {
    if !inventory.admin {
        return admins_only();
    }
    let filter = params.get("filter").and_then(Value::as_object);
    let field = |name: &str| filter.and_then(|f| f.get(name)).and_then(lenient_integer);
    let Some(catalog) = field("iblockId") else {
        return Outcome::failed(400, json!(100), "Required filter field iblockId is missing");
    };
    let parent = field("parentId").unwrap_or(0);
    let listed: Vec<Value> = if catalog == i64::from(data::VARIATIONS_CATALOG) {
        data::variations_of(u32::try_from(parent).unwrap_or(0))
            .iter()
            .map(|id| {
                json!({"id": id, "iblockId": data::VARIATIONS_CATALOG,
                       "parentId": {"value": parent.to_string(), "valueId": id.to_string()}})
            })
            .collect()
    } else {
        Vec::new()
    };
    Outcome::done(json!({ "offers": listed }))
}

/// `"Y"` or `"N"`, as the portal says whether it keeps inventory accounting.
pub fn mode_status(inventory: &Inventory) -> Outcome {
    Outcome::done(json!(if inventory.accounting { "Y" } else { "N" }))
}

/// Products of a catalog by id range, as `{"products": [...]}` (ascending, one page): the
/// filter must name the catalog (`iblockId`), as on the portal.
pub fn product_list(inventory: &Inventory, params: &Map<String, Value>) -> Outcome {
    let filter = params
        .get("filter")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(catalog) = filter.get("iblockId").and_then(lenient_integer) else {
        return Outcome::failed(400, json!(100), "Required filter field iblockId is missing");
    };
    let (from, to) = filter::id_bounds(&filter);
    let ids: Vec<u32> = inventory
        .product_ids(from, to)
        .into_iter()
        .filter(|id| i64::from(data::catalog_of(&inventory.flags(*id))) == catalog)
        .collect();
    let select = strings(params.get("select"));
    let start = params.get("start").and_then(lenient_integer).unwrap_or(0);
    let offset = usize::try_from(start).unwrap_or(0);
    let page: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(PAGE)
        .filter_map(|id| inventory.product(*id))
        .map(|mut product| {
            if let Value::Object(map) = &mut product {
                if !select.is_empty() && !select.iter().any(|s| s == "*") {
                    map.retain(|k, _| select.contains(k));
                }
            }
            product
        })
        .collect();
    let counted = start != -1;
    Outcome::Done(Done {
        result: json!({ "products": page }),
        total: counted.then_some(ids.len()),
        next: (counted && offset + PAGE < ids.len()).then_some(offset + PAGE),
    })
}

/// `filter`, `order` (one field), `select` (`*` for all), `start` (an offset; -1 for no count).
pub fn storeproduct_list(inventory: &Inventory, params: &Map<String, Value>) -> Outcome {
    let filter = params
        .get("filter")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // An id range narrows the records to look at first (a sweep reads 50 ids at a time from
    // a catalogue of 100,000).
    let (from, to) = filter::id_bounds(&filter);
    let mut rows: Vec<&Record> = inventory
        .range(from, to)
        .filter(|record| {
            filter
                .iter()
                .all(|(key, want)| filter::matches(record, key, want))
        })
        .collect();
    if let Some((field, direction)) = params
        .get("order")
        .and_then(Value::as_object)
        .and_then(|o| o.iter().next())
    {
        let descending = direction
            .as_str()
            .is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        // Stable: equal values stay in id order.
        rows.sort_by(|a, b| {
            let ordering = a
                .field(field)
                .partial_cmp(&b.field(field))
                .unwrap_or(std::cmp::Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let select = strings(params.get("select"));
    let start = params.get("start").and_then(lenient_integer).unwrap_or(0);
    // `start=-1` asks the portal not to count: the first page, no `total`, no `next`.
    let counted = start != -1;
    let offset = usize::try_from(start).unwrap_or(0);
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(PAGE)
        .map(|record| {
            let mut row = record.to_json();
            if let (Value::Object(map), false) = (
                &mut row,
                select.is_empty() || select.iter().any(|s| s == "*"),
            ) {
                map.retain(|k, _| select.contains(k));
            }
            row
        })
        .collect();
    let total = rows.len();
    Outcome::Done(Done {
        result: json!({"storeProducts": page}),
        total: counted.then_some(total),
        next: (counted && offset + PAGE < total).then_some(offset + PAGE),
    })
}

/// `select` as a list, a PHP array with other keys, or one name.
fn strings(value: Option<&Value>) -> Vec<String> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    match value {
        Some(Value::Array(list)) => list.iter().filter_map(text).collect(),
        Some(Value::Object(map)) => map.values().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// An id as a JSON number or a numeric string (form bodies and batch commands send strings).
pub fn data_id(value: &Value) -> Option<u32> {
    lenient_integer(value).and_then(|n| u32::try_from(n).ok())
}

/// A whole number from a number or a numeric string ("50", " 50 ", 50.0).
pub fn lenient_integer(value: &Value) -> Option<i64> {
    let float = match value {
        Value::Number(n) => {
            if let Some(n) = n.as_i64() {
                return Some(n);
            }
            n.as_f64()?
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse() {
                return Some(n);
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    (float.fract() == 0.0 && float.abs() < 9e15).then_some(float as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_leniently() {
        for (value, want) in [
            (json!(50), Some(50)),
            (json!("50"), Some(50)),
            (json!(" 50 "), Some(50)),
            (json!(50.0), Some(50)),
            (json!("-1"), Some(-1)),
            (json!(-1), Some(-1)),
            (json!("7.5"), None),
            (json!("NaN"), None),
            (json!("inf"), None),
            (json!(null), None),
            (json!([50]), None),
        ] {
            assert_eq!(lenient_integer(&value), want, "{value}");
        }
        assert_eq!(data_id(&json!("-1")), None);
        assert_eq!(data_id(&json!("13")), Some(13));
    }
}
