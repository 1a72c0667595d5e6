//! Answers in the portal's own shapes, for code written with Bitrix SDKs: the single-call
//! envelope, the error envelope and the `batch` answer, each with a `time` object.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use super::bitrix_time::Timing;
use crate::core::api::http_error::HttpError;
use crate::core::domain::error::ApiError;
use crate::core::publish::render::to_bytes;

/// `{"result":{"storeProduct":{…}},"time":{…}}` around a cached result object.
pub fn single(result: &[u8], timing: Timing) -> Bytes {
    let time = timing.to_json();
    let mut out = BytesMut::with_capacity(result.len() + time.len() + 20);
    out.put_slice(b"{\"result\":");
    out.put_slice(result);
    out.put_slice(b",\"time\":");
    out.put_slice(time.as_bytes());
    out.put_u8(b'}');
    out.freeze()
}

#[derive(Serialize)]
struct ErrorBody {
    error: serde_json::Value,
    error_description: &'static str,
}

fn error_object(error: ApiError) -> Bytes {
    to_bytes(&ErrorBody {
        error: error.bitrix_code(),
        error_description: error.message(),
    })
}

/// `{"error":…,"error_description":…,"time":{…}}`
pub fn error(error: ApiError, timing: Timing) -> Bytes {
    let object = error_object(error);
    let time = timing.to_json();
    let mut out = BytesMut::with_capacity(object.len() + time.len() + 10);
    out.put_slice(&object[..object.len() - 1]);
    out.put_slice(b",\"time\":");
    out.put_slice(time.as_bytes());
    out.put_u8(b'}');
    out.freeze()
}

/// What one command of a caller's batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A cached result object (`{"storeProduct":{…}}`).
    Result(Bytes),
    Error(ApiError),
}

/// The portal's batch answer: `result`, `result_error`, `result_total`, `result_next` and
/// `result_time`, each keyed by the caller's keys, then `time`. As PHP does, an empty map is
/// `[]` and a map whose keys are exactly 0..n in order is an array.
pub fn batch(entries: &[(String, Entry)], timing: Timing) -> Bytes {
    let time = timing.to_json();
    let results: Vec<(&str, Bytes)> = entries
        .iter()
        .filter_map(|(key, entry)| match entry {
            Entry::Result(bytes) => Some((key.as_str(), bytes.clone())),
            Entry::Error(_) => None,
        })
        .collect();
    let errors: Vec<(&str, Bytes)> = entries
        .iter()
        .filter_map(|(key, entry)| match entry {
            Entry::Error(error) => Some((key.as_str(), error_object(*error))),
            Entry::Result(_) => None,
        })
        .collect();
    let times: Vec<(&str, Bytes)> = entries
        .iter()
        .map(|(key, _)| (key.as_str(), Bytes::from(time.clone())))
        .collect();
    let mut out = BytesMut::new();
    out.put_slice(b"{\"result\":{\"result\":");
    put_map(&mut out, &results);
    out.put_slice(b",\"result_error\":");
    put_map(&mut out, &errors);
    out.put_slice(b",\"result_total\":[],\"result_next\":[],\"result_time\":");
    put_map(&mut out, &times);
    out.put_slice(b"},\"time\":");
    out.put_slice(time.as_bytes());
    out.put_u8(b'}');
    out.freeze()
}

fn put_map(out: &mut BytesMut, entries: &[(&str, Bytes)]) {
    let listed = entries
        .iter()
        .enumerate()
        .all(|(i, (key, _))| *key == i.to_string());
    out.put_u8(if listed { b'[' } else { b'{' });
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        if !listed {
            // Keys are the caller's text: escaped as JSON strings.
            out.put_slice(&serde_json::to_vec(key).unwrap_or_default());
            out.put_u8(b':');
        }
        out.put_slice(value);
    }
    out.put_u8(if listed { b']' } else { b'}' });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::time::Duration;

    const TIMING: Timing = Timing {
        start: Duration::from_secs(1_796_036_400),
        finish: Duration::from_secs(1_796_036_400),
    };

    fn parsed(bytes: Bytes) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn single_and_error_carry_time() {
        let answer = parsed(single(br#"{"storeProduct":{"id":13}}"#, TIMING));
        assert_eq!(answer["result"]["storeProduct"]["id"], 13);
        assert_eq!(answer["time"]["operating"], 0);
        let error = parsed(error(ApiError::NotFound, TIMING));
        assert_eq!(error["error"], "NOT_FOUND");
        assert!(error["error_description"].is_string());
        assert_eq!(error["time"]["date_start"], "2026-11-30T11:00:00+00:00");
    }

    #[test]
    fn batch_maps_follow_php() {
        let record = Bytes::from_static(br#"{"storeProduct":{"id":13}}"#);
        let keyed = parsed(batch(
            &[
                ("a".into(), Entry::Result(record.clone())),
                ("b\"".into(), Entry::Error(ApiError::NotFound)),
            ],
            TIMING,
        ));
        assert_eq!(
            keyed["result"]["result"],
            json!({"a": {"storeProduct": {"id": 13}}})
        );
        assert_eq!(keyed["result"]["result_error"]["b\""]["error"], "NOT_FOUND");
        assert_eq!(keyed["result"]["result_total"], json!([]));
        assert_eq!(keyed["result"]["result_next"], json!([]));
        assert!(keyed["result"]["result_time"]["a"]["start"].is_number());
        assert!(keyed["time"]["operating"].is_number());

        let listed = parsed(batch(
            &[
                ("0".into(), Entry::Result(record.clone())),
                ("1".into(), Entry::Result(record)),
            ],
            TIMING,
        ));
        assert!(listed["result"]["result"].is_array());
        assert_eq!(listed["result"]["result_error"], json!([]));
        assert!(listed["result"]["result_time"].is_array());

        let gap = parsed(batch(
            &[
                ("0".into(), Entry::Error(ApiError::NotFound)),
                ("1".into(), Entry::Result(Bytes::from_static(b"{}"))),
            ],
            TIMING,
        ));
        assert_eq!(
            gap["result"]["result"],
            json!({"1": {}}),
            "a gap makes PHP write an object"
        );
        assert_eq!(
            gap["result"]["result_error"].as_array().map(Vec::len),
            Some(1)
        );
    }
}
