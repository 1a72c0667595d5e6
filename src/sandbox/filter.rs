//! `catalog.storeproduct.list` filters: `FIELD` with an optional operator prefix, read as the
//! portal's ORM reads them. `=` (the default) and `!`/`!=` with a list mean IN and NOT IN.

use serde_json::Value;

use super::data::Record;

/// Longest first, so `!@` is not read as `!` followed by `@field`.
const OPERATORS: [&str; 9] = ["!@", "!=", ">=", "<=", "@", "!", ">", "<", "="];

/// Whether `record` passes one `filter` entry. An unknown field, a null field or a value that is
/// not a number matches nothing.
pub fn matches(record: &Record, key: &str, want: &Value) -> bool {
    let (op, field) = OPERATORS
        .iter()
        .find_map(|op| key.strip_prefix(op).map(|f| (*op, f)))
        .unwrap_or(("=", key));
    let Some(have) = record.field(field) else {
        return false;
    };
    match (op, list(want)) {
        ("@" | "=", Some(list)) => list.contains(&have),
        ("!@" | "!" | "!=", Some(list)) => !list.contains(&have),
        // A single value for IN is a one-element list.
        ("@", None) => number(want) == Some(have),
        ("!@", None) => number(want).is_some_and(|v| v != have),
        (_, Some(_)) => false,
        (op, None) => number(want).is_some_and(|value| match op {
            "=" => have == value,
            "!" | "!=" => have != value,
            ">" => have > value,
            ">=" => have >= value,
            "<" => have < value,
            "<=" => have <= value,
            _ => false,
        }),
    }
}

/// The id range a filter asks for (`>=id`, `>id`, `<id`, `<=id`), as `from..to`, so that a
/// list need not look at records outside it (the filter still checks each record).
pub fn id_bounds(filter: &serde_json::Map<String, Value>) -> (Option<u32>, Option<u32>) {
    let (mut from, mut to) = (None::<u32>, None::<u32>);
    for (key, want) in filter {
        let Some(value) = number(want).filter(|v| *v >= 0.0 && *v < f64::from(u32::MAX)) else {
            continue;
        };
        let (low, high) = match key.as_str() {
            ">=id" => (Some(value.ceil() as u32), None),
            ">id" => (Some(value.floor() as u32 + 1), None),
            "<id" => (None, Some(value.ceil() as u32)),
            "<=id" => (None, Some(value.floor() as u32 + 1)),
            _ => (None, None),
        };
        from = from.max(low);
        to = match (to, high) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    (from, to)
}

/// A JSON number or a numeric string.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

/// The numbers of a list (or of a PHP array decoded as an object); `None` for a single value.
fn list(value: &Value) -> Option<Vec<f64>> {
    let values: Vec<&Value> = match value {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) => map.values().collect(),
        _ => return None,
    };
    Some(values.into_iter().filter_map(number).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::data::record;
    use serde_json::json;

    fn passes(id: u32, key: &str, want: Value) -> bool {
        matches(&record(id).expect("record"), key, &want)
    }

    #[test]
    fn every_operator() {
        // Record 13: product 6973, store 11, amount 14, reserved null.
        assert!(passes(13, "storeId", json!(11)));
        assert!(passes(13, "=storeId", json!("11")));
        assert!(!passes(13, "storeId", json!(1)));
        assert!(passes(13, "!storeId", json!(1)));
        assert!(passes(13, "!=storeId", json!("1")));
        assert!(!passes(13, "!=storeId", json!(11)));
        assert!(passes(13, ">amount", json!(13)));
        assert!(!passes(13, ">amount", json!(14)));
        assert!(passes(13, ">=amount", json!("14")));
        assert!(passes(13, "<amount", json!(14.5)));
        assert!(passes(13, "<=amount", json!(14)));
        assert!(!passes(13, "<=amount", json!(13.9)));
        assert!(passes(13, "@storeId", json!([1, 11])));
        assert!(passes(13, "@storeId", json!(["1", "11"])));
        assert!(passes(13, "@storeId", json!({"0": "2", "5": "11"})));
        assert!(!passes(13, "@storeId", json!([1, 2])));
        assert!(passes(13, "@storeId", json!("11")));
        assert!(passes(13, "!@storeId", json!([1, 2])));
        assert!(!passes(13, "!@storeId", json!(["11"])));
        assert!(passes(13, "storeId", json!([2, 11])));
        assert!(passes(13, "!storeId", json!([2, 1])));
    }

    #[test]
    fn what_matches_nothing() {
        assert!(!passes(13, "quantityReserved", json!(0)));
        assert!(!passes(13, "!quantityReserved", json!(0)));
        assert!(!passes(13, "colour", json!(1)));
        assert!(!passes(13, "storeId", json!("eleven")));
        assert!(!passes(13, ">amount", json!([1])));
        assert!(!passes(13, "amount", json!(null)));
    }
}
