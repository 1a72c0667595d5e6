//! PHP's query-string decoding (`parse_str`), which the portal applies to query strings, form
//! bodies and batch commands: `filter[@storeId][]=1&filter[@storeId][]=11` becomes
//! `{"filter": {"@storeId": ["1", "11"]}}`. Values stay strings; the methods read numbers
//! leniently.

use serde_json::{Map, Value};

use super::php_array::PhpArray;

/// PHP's default `max_input_nesting_level`: deeper names are dropped, as PHP drops them.
const MAX_DEPTH: usize = 64;

/// A decoded value: a string, or a nested array.
#[derive(Debug, Clone, PartialEq)]
pub enum PhpValue {
    Str(String),
    Array(PhpArray<PhpValue>),
}

impl PhpValue {
    /// As JSON: arrays with keys 0..n-1 become JSON arrays, other arrays objects.
    pub fn to_json(&self) -> Value {
        match self {
            PhpValue::Str(s) => Value::String(s.clone()),
            PhpValue::Array(array) => array.to_json(PhpValue::to_json),
        }
    }
}

/// Decodes `a=1&b[x][]=2`, keeping the order names came in. Later names overwrite earlier ones.
pub fn parse(query: &[u8]) -> PhpArray<PhpValue> {
    let mut top = PhpArray::new();
    for (name, value) in form_urlencoded::parse(query) {
        let Some((base, path)) = split_name(&name) else {
            continue;
        };
        if path.len() >= MAX_DEPTH {
            continue;
        }
        assign(&mut top, Some(base), &path, value.into_owned());
    }
    top
}

/// Decoded names as the JSON parameters the methods read.
pub fn params(top: &PhpArray<PhpValue>) -> Map<String, Value> {
    top.iter()
        .map(|(k, v)| (k.to_string(), v.to_json()))
        .collect()
}

/// `parse`, then `params`.
pub fn parse_params(query: &[u8]) -> Map<String, Value> {
    params(&parse(query))
}

/// `a[b][]` → ("a", [Some("b"), None]). `None` for a name PHP ignores (empty base).
/// Anything after the last well-formed `[...]` is ignored, as PHP does; a first `[` without a
/// closing `]` makes the whole name a plain key.
fn split_name(name: &str) -> Option<(&str, Vec<Option<&str>>)> {
    let Some(open) = name.find('[') else {
        return (!name.is_empty()).then_some((name, Vec::new()));
    };
    let base = &name[..open];
    if base.is_empty() {
        return None;
    }
    let mut path = Vec::new();
    let mut rest = &name[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            break;
        };
        let key = &inner[..close];
        path.push((!key.is_empty()).then_some(key));
        rest = &inner[close + 1..];
    }
    if path.is_empty() {
        return Some((name, path));
    }
    Some((base, path))
}

/// Stores `value` at `key` followed by `path`, creating (or replacing strings with) arrays on
/// the way, like PHP.
fn assign(array: &mut PhpArray<PhpValue>, key: Option<&str>, path: &[Option<&str>], value: String) {
    let Some((next, rest)) = path.split_first() else {
        *array.slot(key, || PhpValue::Str(String::new())) = PhpValue::Str(value);
        return;
    };
    let slot = array.slot(key, || PhpValue::Array(PhpArray::new()));
    if !matches!(slot, PhpValue::Array(_)) {
        *slot = PhpValue::Array(PhpArray::new());
    }
    if let PhpValue::Array(child) = slot {
        assign(child, *next, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn params(query: &str) -> Value {
        Value::Object(parse_params(query.as_bytes()))
    }

    #[test]
    fn nests_objects_and_lists() {
        assert_eq!(
            params("filter[productId]=6973&filter[@storeId][]=1&filter[@storeId][]=11&select[]=id&order[id]=asc&start=50"),
            json!({
                "filter": {"productId": "6973", "@storeId": ["1", "11"]},
                "select": ["id"],
                "order": {"id": "asc"},
                "start": "50",
            })
        );
    }

    #[test]
    fn decodes_names_and_values() {
        assert_eq!(
            params("cmd%5Ba%5D=catalog.storeproduct.get%3Fid%3D13&x=a+b%26c"),
            json!({"cmd": {"a": "catalog.storeproduct.get?id=13"}, "x": "a b&c"})
        );
    }

    #[test]
    fn keeps_order_and_php_indexes() {
        let parsed = parse(b"cmd[b]=2&cmd[a]=1&cmd[b]=3");
        let Some(PhpValue::Array(cmd)) = parsed.get("cmd") else {
            panic!("cmd is not an array: {parsed:?}");
        };
        let keys: Vec<&str> = cmd.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(cmd.get("b"), Some(&PhpValue::Str("3".into())));
        // `[]` continues after the largest integer key.
        assert_eq!(params("l[5]=a&l[]=b"), json!({"l": {"5": "a", "6": "b"}}));
        assert_eq!(params("l[0]=a&l[1]=b"), json!({"l": ["a", "b"]}));
        // Each `[]` is a new element, even with more brackets after it.
        assert_eq!(
            params("l[][x]=a&l[][x]=b"),
            json!({"l": [{"x": "a"}, {"x": "b"}]})
        );
    }

    #[test]
    fn odd_names_as_php_reads_them() {
        assert_eq!(params("a=1&a[x]=2"), json!({"a": {"x": "2"}}));
        assert_eq!(params("a[x]=2&a=1"), json!({"a": "1"}));
        assert_eq!(params("=1&[x]=2&b"), json!({"b": ""}));
        assert_eq!(params("a[b=1"), json!({"a[b": "1"}));
        assert_eq!(params("a[b]c[d]=1"), json!({"a": {"b": "1"}}));
        let deep = format!("a{}=1", "[x]".repeat(MAX_DEPTH));
        assert_eq!(params(&deep), json!({}));
    }

    /// Writes parameters the way a PHP client's `http_build_query` would (lists with explicit
    /// indexes), for the round trip.
    fn encode(params: &Map<String, Value>) -> String {
        fn walk(name: String, value: &Value, out: &mut Vec<String>) {
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        walk(format!("{name}[{k}]"), v, out);
                    }
                }
                Value::Array(list) => {
                    for (i, v) in list.iter().enumerate() {
                        walk(format!("{name}[{i}]"), v, out);
                    }
                }
                Value::String(s) => out.push(format!("{}={}", enc(&name), enc(s))),
                other => out.push(format!("{}={}", enc(&name), enc(&other.to_string()))),
            }
        }
        let mut out = Vec::new();
        for (k, v) in params {
            walk(k.clone(), v, &mut out);
        }
        out.join("&")
    }

    /// Parameter trees a query can express: non-empty containers, keys without brackets that
    /// cannot be taken for list indexes.
    fn tree() -> impl Strategy<Value = Value> {
        let key = "[a-zA-Z_@!<>=. &%+-][a-zA-Z0-9_@!<>=. &%+-]{0,6}";
        let leaf = "\\PC{0,12}".prop_map(Value::String);
        leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 1..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(
            top in prop::collection::btree_map("[a-zA-Z_@][a-zA-Z0-9_@]{0,6}", tree(), 1..5)
        ) {
            let top: Map<String, Value> = top.into_iter().collect();
            prop_assert_eq!(parse_params(encode(&top).as_bytes()), top);
        }

        #[test]
        fn bracket_lists_keep_their_order(values in prop::collection::vec("\\PC{0,8}", 1..20)) {
            let query: Vec<String> = values
                .iter()
                .map(|v| format!("cmd[]={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()))
                .collect();
            prop_assert_eq!(params(&query.join("&")), json!({"cmd": values}));
        }

        #[test]
        fn any_bytes_parse_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_params(&bytes);
        }
    }
}
