//! The outer shape of every portal answer: a JSON object with `result` or an error envelope,
//! and a `time` object that reports the method's operating time.

use serde_json::{Map, Value};

use super::numbers::{lenient_integer, lenient_number};
use super::refusal::{classify, Classified, Refusal};

/// `time.operating` and `time.operating_reset_at`, when the portal sends them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperatingTime {
    pub operating_secs: Option<f64>,
    pub reset_at_unix: Option<i64>,
}

impl OperatingTime {
    pub fn read(time: &Value) -> Self {
        Self {
            operating_secs: time
                .get("operating")
                .and_then(lenient_number)
                .filter(|s| *s >= 0.0),
            reset_at_unix: time.get("operating_reset_at").and_then(lenient_integer),
        }
    }

    /// The more alarming of two readings (a batch reports one per command).
    pub fn max(self, other: Self) -> Self {
        Self {
            operating_secs: match (self.operating_secs, other.operating_secs) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            reset_at_unix: self.reset_at_unix.max(other.reset_at_unix),
        }
    }
}

/// A readable answer: its top-level object (with `result`) and its operating time.
#[derive(Debug)]
pub struct Opened {
    pub root: Map<String, Value>,
    pub operating: OperatingTime,
}

/// Opens one answer. An error envelope, a non-JSON body, or a non-2xx status without an
/// envelope is returned as its classification, with whatever operating time it carried.
pub fn open(status: u16, body: &[u8]) -> Result<Opened, (Classified, OperatingTime)> {
    // A self-hosted Bitrix with a PHP file saved with a byte order mark prints it before every
    // answer; the JSON after it is sound.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return Err((
            Classified::Refused(Refusal::BadAnswer),
            OperatingTime::default(),
        ));
    };
    let operating = root
        .get("time")
        .map(OperatingTime::read)
        .unwrap_or_default();
    if let Some(code) = root.get("error") {
        return Err((error_of(code, &root, Some(status)), operating));
    }
    if !(200..300).contains(&status) {
        return Err((Classified::Refused(Refusal::BadAnswer), operating));
    }
    Ok(Opened { root, operating })
}

/// Classifies an `{"error", "error_description"}` object (top level or a batch entry).
pub fn error_of(code: &Value, envelope: &Map<String, Value>, status: Option<u16>) -> Classified {
    let description = envelope
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or("");
    classify(code, description, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_and_errors() {
        let ok = open(
            200,
            br#"{"result":{},"time":{"operating":"0.25","operating_reset_at":1758089895}}"#,
        )
        .unwrap();
        assert_eq!(ok.operating.operating_secs, Some(0.25));
        assert_eq!(ok.operating.reset_at_unix, Some(1_758_089_895));
        let (err, time) = open(
            503,
            br#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"x","time":{"operating":1}}"#,
        )
        .unwrap_err();
        assert_eq!(err, Classified::Refused(Refusal::QueryLimit));
        assert_eq!(time.operating_secs, Some(1.0));
        for (status, body) in [
            (200, &b"<html>"[..]),
            (200, b""),
            (200, b"[1]"),
            (502, b"{}"),
            (200, b"\xEF\xBB"),
            (200, b"\xEF\xBB\xBF\xEF\xBB\xBF{}"),
        ] {
            assert_eq!(
                open(status, body).unwrap_err().0,
                Classified::Refused(Refusal::BadAnswer)
            );
        }
    }

    #[test]
    fn reads_past_a_byte_order_mark() {
        let opened = open(200, b"\xEF\xBB\xBF{\"result\":{\"storeProduct\":null}}").unwrap();
        assert!(opened.root.contains_key("result"));
    }
}
