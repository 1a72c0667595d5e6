//! Reading a `batch` answer: one slot per command we sent, from maps that PHP sends as `[]`
//! when empty, that may lack keys, and whose values may be strings.

use serde_json::{Map, Value};

use super::envelope::{error_of, open, OperatingTime};
use super::refusal::{Classified, Refusal};

/// What the batch said about one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// The command's result, with its `result_total` and `result_next` when present.
    Result {
        result: Value,
        total: Option<Value>,
        next: Option<Value>,
    },
    /// The command's entry in `result_error`.
    Error(Classified),
    /// The answer says nothing about the command.
    Missing,
}

/// The slots of a batch answer, in the order of `keys`, and each command's operating time
/// (its `result_time` entry, or the batch's own `time` when it has none).
#[derive(Debug)]
pub struct BatchAnswer {
    pub slots: Vec<Slot>,
    pub times: Vec<OperatingTime>,
}

/// Reads a batch answer for the commands sent under `keys`. A whole-batch failure (an error
/// envelope, a non-JSON page, no `result` object) comes back as its classification.
pub fn read_batch(
    status: u16,
    body: &[u8],
    keys: &[String],
) -> Result<BatchAnswer, (Classified, OperatingTime)> {
    let opened = open(status, body)?;
    let operating = opened.operating;
    let Some(Value::Object(mut parts)) = opened.root.get("result").cloned() else {
        return Err((Classified::Refused(Refusal::BadAnswer), operating));
    };
    let mut results = take_map(&mut parts, "result");
    let mut errors = take_map(&mut parts, "result_error");
    let mut totals = take_map(&mut parts, "result_total");
    let mut nexts = take_map(&mut parts, "result_next");
    let mut times = take_map(&mut parts, "result_time");
    let mut own_times = Vec::with_capacity(keys.len());
    let slots = keys
        .iter()
        .enumerate()
        .map(|(index, key)| {
            own_times.push(match entry(&mut times, key, index) {
                Some(time) => OperatingTime::read(&time),
                None => operating,
            });
            // An error wins over a result for the same key: never serve half a failure.
            if let Some(error) = entry(&mut errors, key, index) {
                let classified = match &error {
                    Value::Object(envelope) => envelope
                        .get("error")
                        .map(|code| error_of(code, envelope, None))
                        .unwrap_or(Classified::Refused(Refusal::BadAnswer)),
                    _ => Classified::Refused(Refusal::BadAnswer),
                };
                return Slot::Error(classified);
            }
            match entry(&mut results, key, index) {
                Some(result) => Slot::Result {
                    result,
                    total: entry(&mut totals, key, index),
                    next: entry(&mut nexts, key, index),
                },
                None => Slot::Missing,
            }
        })
        .collect();
    Ok(BatchAnswer {
        slots,
        times: own_times,
    })
}

/// One of the per-key maps: an object, or (PHP's empty map, or keys that happened to be 0..n)
/// an array. Anything else counts as empty.
enum KeyedMap {
    Object(Map<String, Value>),
    Array(Vec<Value>),
    Empty,
}

fn take_map(parts: &mut Map<String, Value>, name: &str) -> KeyedMap {
    match parts.remove(name) {
        Some(Value::Object(map)) => KeyedMap::Object(map),
        Some(Value::Array(items)) => KeyedMap::Array(items),
        _ => KeyedMap::Empty,
    }
}

fn entry(map: &mut KeyedMap, key: &str, index: usize) -> Option<Value> {
    let value = match map {
        KeyedMap::Object(map) => map.remove(key),
        KeyedMap::Array(items) => items.get_mut(index).map(Value::take),
        KeyedMap::Empty => None,
    }?;
    (!value.is_null()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(super::super::command::batch_key).collect()
    }

    #[test]
    fn reads_results_errors_and_empty_maps() {
        let body = json!({
            "result": {
                "result": {"c0": {"storeProduct": {"id": 13}}, "c2": {"storeProducts": []}},
                "result_error": {"c1": {"error": "-", "error_description": "Store product does not exist"}},
                "result_total": {"c2": "0"},
                "result_next": [],
                "result_time": {"c0": {"operating": 1.5}, "c1": {"operating": "3", "operating_reset_at": 1700000000}}
            },
            "time": {"operating": 0.5}
        });
        let answer = read_batch(200, body.to_string().as_bytes(), &keys(4)).unwrap();
        assert_eq!(
            answer.slots[0],
            Slot::Result {
                result: json!({"storeProduct": {"id": 13}}),
                total: None,
                next: None
            }
        );
        assert_eq!(answer.slots[1], Slot::Error(Classified::NotFound));
        assert_eq!(
            answer.slots[2],
            Slot::Result {
                result: json!({"storeProducts": []}),
                total: Some(json!("0")),
                next: None
            }
        );
        assert_eq!(answer.slots[3], Slot::Missing);
        assert_eq!(answer.times[0].operating_secs, Some(1.5));
        assert_eq!(answer.times[1].operating_secs, Some(3.0));
        assert_eq!(answer.times[1].reset_at_unix, Some(1_700_000_000));
        assert_eq!(
            answer.times[2].operating_secs,
            Some(0.5),
            "no entry: the batch's own time"
        );
    }

    #[test]
    fn whole_batch_failures() {
        let busy = br#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#;
        assert_eq!(
            read_batch(503, busy, &keys(2)).unwrap_err().0,
            Classified::Refused(Refusal::QueryLimit)
        );
        for body in [
            &b"<html>"[..],
            b"{}",
            br#"{"result":[]}"#,
            br#"{"result":"x"}"#,
        ] {
            assert_eq!(
                read_batch(200, body, &keys(2)).unwrap_err().0,
                Classified::Refused(Refusal::BadAnswer)
            );
        }
    }

    #[test]
    fn odd_entries_are_bad_answers_or_missing() {
        let body = json!({"result": {"result": ["x", null], "result_error": {"c0": "boom"}}});
        let answer = read_batch(200, body.to_string().as_bytes(), &keys(2)).unwrap();
        assert_eq!(
            answer.slots[0],
            Slot::Error(Classified::Refused(Refusal::BadAnswer))
        );
        assert_eq!(answer.slots[1], Slot::Missing);
    }

    proptest! {
        #[test]
        fn never_panics_and_always_gives_one_slot_per_key(body in "\\PC{0,96}", n in 1usize..5) {
            if let Ok(answer) = read_batch(200, body.as_bytes(), &keys(n)) {
                prop_assert_eq!(answer.slots.len(), n);
            }
        }

        #[test]
        fn keeps_per_key_results_whatever_the_order(ids in proptest::collection::vec(1u32..1000, 1..10)) {
            let results: Map<String, Value> = ids.iter().enumerate().rev()
                .map(|(i, id)| (format!("c{i}"), json!({"storeProduct": {"id": id}})))
                .collect();
            let body = json!({"result": {"result": results, "result_error": []}});
            let answer = read_batch(200, body.to_string().as_bytes(), &keys(ids.len())).unwrap();
            for (slot, id) in answer.slots.iter().zip(&ids) {
                let Slot::Result { result, .. } = slot else { panic!("{slot:?}") };
                prop_assert_eq!(&result["storeProduct"]["id"], &json!(id));
            }
        }
    }
}
