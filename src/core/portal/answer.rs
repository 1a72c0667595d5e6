//! Reading what the portal answered to `catalog.storeproduct.get`, and classifying failures.
//!
//! The portal's error text is never passed on: every answer becomes one of a few variants.

use serde_json::Value;

use crate::core::stock::id::RecordId;

/// One stock record: one product in one warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreProduct {
    pub id: RecordId,
    pub product_id: i64,
    pub store_id: i64,
    pub amount: f64,
    pub quantity_reserved: Option<f64>,
}

/// `time.operating` and `time.operating_reset_at`, when the portal sends them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperatingTime {
    pub operating_secs: Option<f64>,
    pub reset_at_unix: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PortalAnswer {
    Found(StoreProduct),
    NotFound,
    Refused(Refusal),
}

/// Why the portal did not give a record. Each variant maps to one public error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `QUERY_LIMIT_EXCEEDED`: refused before running; safe to retry.
    QueryLimit,
    /// `OPERATION_TIME_LIMIT`: the method is blocked for minutes.
    OperationTimeLimit,
    /// `OVERLOAD_LIMIT`: REST blocked by the vendor.
    Overload,
    /// Bad, deleted, blocked or expired webhook (`INVALID_CREDENTIALS`, `NO_AUTH_FOUND`, tokens).
    Credentials,
    /// The webhook's user lacks catalog read rights (`200040300010`, `user_access_error`).
    AccessDenied,
    /// The webhook lacks the `catalog` scope.
    Scope,
    /// REST is only on commercial plans (`ACCESS_DENIED`).
    Plan,
    /// The portal does not know the method.
    MethodNotFound,
    /// The portal wants HTTPS.
    HttpsRequired,
    /// The portal did not see our `id` (error `100`).
    ParameterRejected,
    PortalDeleted,
    /// `INTERNAL_SERVER_ERROR`, `ERROR_UNEXPECTED_ANSWER`, code `0`, or an unknown code.
    ServerFault,
    /// Not JSON, broken or truncated JSON, or an unexpected shape.
    BadAnswer,
}

impl Refusal {
    /// A short name for logs; never the portal's own text.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::QueryLimit => "portal rate limit (QUERY_LIMIT_EXCEEDED)",
            Refusal::OperationTimeLimit => {
                "method blocked for operating time (OPERATION_TIME_LIMIT)"
            }
            Refusal::Overload => "REST blocked by the vendor (OVERLOAD_LIMIT)",
            Refusal::Credentials => {
                "webhook rejected: invalid, deleted, blocked or expired credentials"
            }
            Refusal::AccessDenied => "webhook user lacks catalog read permission",
            Refusal::Scope => "webhook lacks the catalog scope",
            Refusal::Plan => "portal plan does not allow REST",
            Refusal::MethodNotFound => "portal does not know catalog.storeproduct.get",
            Refusal::HttpsRequired => "portal requires https",
            Refusal::ParameterRejected => "portal did not accept the id parameter",
            Refusal::PortalDeleted => "portal deleted",
            Refusal::ServerFault => "portal server fault",
            Refusal::BadAnswer => "unreadable or unexpected portal answer",
        }
    }

    /// Problems with our configuration that an operator must fix (logged at error level).
    pub fn is_configuration_problem(self) -> bool {
        matches!(
            self,
            Refusal::Credentials
                | Refusal::AccessDenied
                | Refusal::Scope
                | Refusal::Plan
                | Refusal::MethodNotFound
                | Refusal::HttpsRequired
                | Refusal::PortalDeleted
        )
    }
}

/// Reads one answer. `expected` is the id we asked for: a record with another id is a bad answer.
pub fn read_answer(status: u16, body: &[u8], expected: RecordId) -> (PortalAnswer, OperatingTime) {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return (
            PortalAnswer::Refused(Refusal::BadAnswer),
            OperatingTime::default(),
        );
    };
    let operating = root.get("time").map(read_operating).unwrap_or_default();
    if let Some(code) = root.get("error") {
        let description = root
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or("");
        return (classify_error(code, description), operating);
    }
    if !(200..300).contains(&status) {
        return (PortalAnswer::Refused(Refusal::BadAnswer), operating);
    }
    let record = root
        .get("result")
        .and_then(|r| r.get("storeProduct"))
        .and_then(read_store_product);
    match record {
        Some(record) if record.id == expected => (PortalAnswer::Found(record), operating),
        _ => (PortalAnswer::Refused(Refusal::BadAnswer), operating),
    }
}

fn classify_error(code: &Value, description: &str) -> PortalAnswer {
    let code = match code {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let known = match code.as_str() {
        "QUERY_LIMIT_EXCEEDED" => Some(Refusal::QueryLimit),
        "OPERATION_TIME_LIMIT" => Some(Refusal::OperationTimeLimit),
        "OVERLOAD_LIMIT" => Some(Refusal::Overload),
        "NO_AUTH_FOUND" | "INVALID_CREDENTIALS" | "expired_token" | "invalid_token" => {
            Some(Refusal::Credentials)
        }
        "200040300010" | "user_access_error" => Some(Refusal::AccessDenied),
        "insufficient_scope" => Some(Refusal::Scope),
        "ACCESS_DENIED" => Some(Refusal::Plan),
        // Its text, "Method not found", must not pass for a missing record.
        "ERROR_METHOD_NOT_FOUND" => Some(Refusal::MethodNotFound),
        "INVALID_REQUEST" => Some(Refusal::HttpsRequired),
        "100" => Some(Refusal::ParameterRejected),
        "PORTAL_DELETED" => Some(Refusal::PortalDeleted),
        "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER" => Some(Refusal::ServerFault),
        _ => None,
    };
    if let Some(refusal) = known {
        return PortalAnswer::Refused(refusal);
    }
    // The documented not-found code is "-" and unreliable; the description identifies it.
    let lowered = description.to_ascii_lowercase();
    if lowered.contains("not exist") || lowered.contains("not found") {
        return PortalAnswer::NotFound;
    }
    PortalAnswer::Refused(Refusal::ServerFault)
}

fn read_store_product(value: &Value) -> Option<StoreProduct> {
    let obj = value.as_object()?;
    let id = lenient_integer(obj.get("id")?)?;
    let quantity_reserved = match obj.get("quantityReserved") {
        None | Some(Value::Null) => None,
        Some(v) => Some(lenient_number(v)?),
    };
    Some(StoreProduct {
        id: RecordId::from_u64(u64::try_from(id).ok()?).ok()?,
        product_id: lenient_integer(obj.get("productId")?)?,
        store_id: lenient_integer(obj.get("storeId")?)?,
        amount: lenient_number(obj.get("amount")?)?,
        quantity_reserved,
    })
}

fn read_operating(time: &Value) -> OperatingTime {
    OperatingTime {
        operating_secs: time.get("operating").and_then(lenient_number),
        reset_at_unix: time.get("operating_reset_at").and_then(lenient_integer),
    }
}

/// A JSON number, or a string holding a plain decimal number (SDK authors report quoted numbers).
pub fn lenient_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            let plain = !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            if !plain {
                return None;
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Like [`lenient_number`], but the value must be a whole number that fits an `i64`.
pub fn lenient_integer(value: &Value) -> Option<i64> {
    if let Value::Number(n) = value {
        if let Some(i) = n.as_i64() {
            return Some(i);
        }
    }
    let n = lenient_number(value)?;
    let whole = n.fract() == 0.0 && n.abs() < 9.0e15;
    whole.then_some(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u64) -> RecordId {
        RecordId::from_u64(n).unwrap()
    }

    #[test]
    fn reads_the_documented_success() {
        let body = br#"{"result":{"storeProduct":{"amount":14,"id":13,"productId":6973,"quantityReserved":null,"storeId":11}},"time":{"start":1.5,"operating":0.25,"operating_reset_at":1758089895}}"#;
        let (answer, time) = read_answer(200, body, id(13));
        assert_eq!(
            answer,
            PortalAnswer::Found(StoreProduct {
                id: id(13),
                product_id: 6973,
                store_id: 11,
                amount: 14.0,
                quantity_reserved: None
            })
        );
        assert_eq!(time.operating_secs, Some(0.25));
        assert_eq!(time.reset_at_unix, Some(1_758_089_895));
    }

    #[test]
    fn reads_quoted_numbers() {
        let body = br#"{"result":{"storeProduct":{"amount":"2.5","id":"13","productId":"6973","quantityReserved":"0.5","storeId":"11"}}}"#;
        let (answer, _) = read_answer(200, body, id(13));
        let PortalAnswer::Found(record) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(record.amount, 2.5);
        assert_eq!(record.quantity_reserved, Some(0.5));
    }

    #[test]
    fn not_found_is_recognised_by_description_whatever_the_code() {
        for body in [
            r#"{"error":"-","error_description":"Store product does not exist"}"#,
            r#"{"error":0,"error_description":"Store product is not exists"}"#,
            r#"{"error":"ERROR","error_description":"Entity is not exists"}"#,
        ] {
            assert_eq!(
                read_answer(400, body.as_bytes(), id(1)).0,
                PortalAnswer::NotFound
            );
        }
    }

    #[test]
    fn classifies_the_documented_errors() {
        let cases: [(&str, Refusal); 14] = [
            (
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
                Refusal::QueryLimit,
            ),
            (
                r#"{"error":"OPERATION_TIME_LIMIT","error_description":"x"}"#,
                Refusal::OperationTimeLimit,
            ),
            (
                r#"{"error":"OVERLOAD_LIMIT","error_description":"x"}"#,
                Refusal::Overload,
            ),
            (
                r#"{"error":"INVALID_CREDENTIALS","error_description":"x"}"#,
                Refusal::Credentials,
            ),
            (
                r#"{"error":"NO_AUTH_FOUND","error_description":"x"}"#,
                Refusal::Credentials,
            ),
            (
                r#"{"error":"expired_token","error_description":"x"}"#,
                Refusal::Credentials,
            ),
            (
                r#"{"error":200040300010,"error_description":"Access Denied"}"#,
                Refusal::AccessDenied,
            ),
            (
                r#"{"error":"insufficient_scope","error_description":"x"}"#,
                Refusal::Scope,
            ),
            (
                r#"{"error":"ACCESS_DENIED","error_description":"x"}"#,
                Refusal::Plan,
            ),
            (
                r#"{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}"#,
                Refusal::MethodNotFound,
            ),
            (
                r#"{"error":"INVALID_REQUEST","error_description":"Https required."}"#,
                Refusal::HttpsRequired,
            ),
            (
                r#"{"error":100,"error_description":"Could not find value for parameter {id}"}"#,
                Refusal::ParameterRejected,
            ),
            (
                r#"{"error":"PORTAL_DELETED","error_description":"x"}"#,
                Refusal::PortalDeleted,
            ),
            (
                r#"{"error":0,"error_description":"something"}"#,
                Refusal::ServerFault,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                read_answer(400, body.as_bytes(), id(1)).0,
                PortalAnswer::Refused(want),
                "{body}"
            );
        }
    }

    #[test]
    fn bad_answers() {
        for (status, body) in [
            (200, "<html>502 Bad Gateway</html>"),
            (200, ""),
            (200, r#"{"result":{"storeProduct":{"amount":14,"id":13"#),
            (200, r#"{"result":{"storeProduct":"x"}}"#),
            (200, r#"{"result":{"storeProduct":null}}"#),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":"lots","id":13,"productId":1,"storeId":1}}}"#,
            ),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":true,"id":13,"productId":1,"storeId":1}}}"#,
            ),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":"NaN","id":13,"productId":1,"storeId":1}}}"#,
            ),
            (
                200,
                r#"{"result":{"storeProduct":{"amount":1,"id":14,"productId":1,"storeId":1}}}"#,
            ),
            (
                500,
                r#"{"result":{"storeProduct":{"amount":1,"id":13,"productId":1,"storeId":1}}}"#,
            ),
            (200, "[1,2]"),
        ] {
            assert_eq!(
                read_answer(status, body.as_bytes(), id(13)).0,
                PortalAnswer::Refused(Refusal::BadAnswer),
                "{body}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256), status in 100u16..600) {
            let _ = read_answer(status, &body, id(13));
        }

        #[test]
        fn numbers_and_their_quoted_forms_read_alike(amount in -1.0e9f64..1.0e9, reserved in proptest::option::of(0.0f64..1.0e6)) {
            let reserved_json = reserved.map_or("null".to_string(), |r| r.to_string());
            let plain = format!(r#"{{"result":{{"storeProduct":{{"amount":{amount},"id":13,"productId":5,"quantityReserved":{reserved_json},"storeId":1}}}}}}"#);
            let quoted = format!(r#"{{"result":{{"storeProduct":{{"amount":"{amount}","id":"13","productId":"5","quantityReserved":{},"storeId":"1"}}}}}}"#,
                reserved.map_or("null".to_string(), |r| format!("\"{r}\"")));
            let a = read_answer(200, plain.as_bytes(), id(13)).0;
            let b = read_answer(200, quoted.as_bytes(), id(13)).0;
            prop_assert_eq!(&a, &b);
            let PortalAnswer::Found(record) = a else { panic!("not found") };
            prop_assert_eq!(record.amount, amount);
            prop_assert_eq!(record.quantity_reserved, reserved);
        }

        #[test]
        fn non_numeric_strings_are_rejected(s in "[a-zA-Z ]{1,8}") {
            prop_assert_eq!(lenient_number(&Value::String(s)), None);
        }
    }
}
