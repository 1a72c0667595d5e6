//! PHP arrays: ordered maps, and how the portal's `json_encode` writes them. The portal is PHP,
//! so a batch answer's maps follow these rules: an empty map is `[]`, a map whose keys are
//! exactly 0..n-1 in order is a JSON array, anything else is an object in insertion order.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// An ordered PHP array. Keys are kept as the strings they came as; PHP stores canonical integer
/// strings ("0", "17") as integers, which matters only for `push` and list detection here.
#[derive(Debug, Clone, PartialEq)]
pub struct PhpArray<T>(Vec<(String, T)>);

impl<T> Default for PhpArray<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> PhpArray<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// `$a[key] = value`: an existing key keeps its place, as in PHP.
    pub fn insert(&mut self, key: String, value: T) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value under `key` (`None`: PHP's `$a[]`, the next integer key), created with `make`
    /// when missing.
    pub fn slot(&mut self, key: Option<&str>, make: impl FnOnce() -> T) -> &mut T {
        let position = match key {
            Some(key) => self.0.iter().position(|(k, _)| k == key),
            None => None,
        };
        let position = position.unwrap_or_else(|| {
            let key = key.map_or_else(|| self.next_index().to_string(), str::to_string);
            self.0.push((key, make()));
            self.0.len() - 1
        });
        &mut self.0[position].1
    }

    /// `$a[] = value`.
    pub fn push(&mut self, value: T) {
        self.slot(None, || value);
    }

    /// PHP's next free integer key: one past the largest integer key, 0 when there is none.
    fn next_index(&self) -> i64 {
        self.0
            .iter()
            .filter_map(|(k, _)| integer_key(k))
            .max()
            .map_or(0, |max| max.saturating_add(1).max(0))
    }

    /// The same keys with converted values.
    pub fn map<U>(&self, convert: impl Fn(&T) -> U) -> PhpArray<U> {
        PhpArray(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), convert(v)))
                .collect(),
        )
    }

    /// Keys exactly 0..n-1 in order (true when empty): `json_encode` writes a JSON array.
    pub fn is_list(&self) -> bool {
        self.0
            .iter()
            .enumerate()
            .all(|(i, (k, _))| integer_key(k) == i64::try_from(i).ok())
    }

    /// As a JSON value, by the same rules, with `convert` for the values.
    pub fn to_json(&self, convert: impl Fn(&T) -> Value) -> Value {
        if self.is_list() {
            Value::Array(self.0.iter().map(|(_, v)| convert(v)).collect())
        } else {
            Value::Object(
                self.0
                    .iter()
                    .map(|(k, v)| (k.clone(), convert(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
    }
}

/// A key PHP would store as an integer: "0", or an optional minus and digits without a leading
/// zero, within i64.
fn integer_key(key: &str) -> Option<i64> {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && key != "-0";
    canonical.then(|| key.parse().ok()).flatten()
}

impl<T: Serialize> Serialize for PhpArray<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_list() {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for (_, value) in &self.0 {
                seq.serialize_element(value)?;
            }
            seq.end()
        } else {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for (key, value) in &self.0 {
                map.serialize_entry(key, value)?;
            }
            map.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn array(pairs: &[(&str, i64)]) -> PhpArray<Value> {
        let mut array = PhpArray::new();
        for (k, v) in pairs {
            array.insert(k.to_string(), json!(v));
        }
        array
    }

    fn encoded(array: &PhpArray<Value>) -> String {
        serde_json::to_string(array).expect("JSON")
    }

    #[test]
    fn json_encode_rules() {
        assert_eq!(encoded(&PhpArray::new()), "[]");
        assert_eq!(encoded(&array(&[("0", 1), ("1", 2)])), "[1,2]");
        assert_eq!(encoded(&array(&[("1", 2), ("0", 1)])), r#"{"1":2,"0":1}"#);
        assert_eq!(encoded(&array(&[("0", 1), ("2", 3)])), r#"{"0":1,"2":3}"#);
        assert_eq!(encoded(&array(&[("b", 1), ("a", 2)])), r#"{"b":1,"a":2}"#);
        // "00" and "-0" are string keys in PHP.
        assert_eq!(encoded(&array(&[("00", 1)])), r#"{"00":1}"#);
        assert_eq!(encoded(&array(&[("-0", 1)])), r#"{"-0":1}"#);
        assert_eq!(
            array(&[("b", 1), ("a", 2)]).to_json(Clone::clone),
            json!({"a": 2, "b": 1})
        );
        assert_eq!(array(&[("0", 1)]).to_json(Clone::clone), json!([1]));
    }

    #[test]
    fn insert_keeps_the_place_and_push_follows_the_largest_integer() {
        let mut a = array(&[("x", 1), ("y", 2)]);
        a.insert("x".into(), json!(3));
        assert_eq!(encoded(&a), r#"{"x":3,"y":2}"#);
        a.push(json!(4));
        a.insert("7".into(), json!(5));
        a.push(json!(6));
        assert_eq!(encoded(&a), r#"{"x":3,"y":2,"0":4,"7":5,"8":6}"#);
        let mut negative = array(&[("-5", 1)]);
        negative.push(json!(2));
        assert_eq!(encoded(&negative), r#"{"-5":1,"0":2}"#);
    }
}
