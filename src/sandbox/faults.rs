//! Failure modes the sandbox can play, chosen per request by a reserved id or switched on for
//! every `get` through the control API.
//!
//! Inside a `batch`, a fault plays by its class: a Bitrix error envelope becomes that command's
//! `result_error` entry; an odd record (wrong shape, wrong record, negative reserved, huge
//! amount, string numbers) becomes its `result`; a fault that breaks the exchange (slow, trickle,
//! HTML page, broken JSON, truncated, reset, redirect, huge, empty body, dropped connection) plays
//! over the whole batch answer, the first such command deciding.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Waits 30 s before answering.
    Slow,
    /// Sends headers, then one byte of the body every 200 ms.
    Trickle,
    /// A proxy's HTML error page with status 502.
    HtmlError,
    /// Status 200 with a body that is not JSON.
    BrokenJson,
    /// A JSON answer cut off in the middle.
    Truncated,
    /// Closes the connection without answering.
    Reset,
    /// 302 to another host.
    Redirect,
    /// `QUERY_LIMIT_EXCEEDED`, whatever the bucket says.
    Busy,
    /// A 2 MiB answer.
    Huge,
    OperationTimeLimit,
    Overload,
    InvalidCredentials,
    NoAuthFound,
    ExpiredToken,
    AccessDenied,
    InsufficientScope,
    PlanAccessDenied,
    MethodNotFound,
    InternalError,
    PortalDeleted,
    /// `{"error":0}` with some text.
    OtherError,
    /// A record whose `amount` is not a number.
    WrongShape,
    /// A record with a different id from the one asked for.
    WrongRecord,
    /// The asked id with amount 5 and `quantityReserved` -3.
    NegativeReserved,
    /// The asked id with amount 1e305.
    HugeAmount,
    /// 503 `SERVICE_UNAVAILABLE_X` "Service not found": a code no client knows, whose text says
    /// "not found".
    ServiceNotFound,
    /// 429 `OPERATION_TIME_LIMIT` whose `time.operating_reset_at` is ten years away.
    FarFutureReset,
    /// 429 `OPERATION_TIME_LIMIT` whose `time.operating_reset_at` (2 s away) is in milliseconds.
    MillisReset,
    /// The asked id with every number a string, `amount` "7.5" and `quantityReserved` "2.5".
    StringNumbers,
    /// Status 200 with an empty body.
    #[serde(rename = "empty_body_200")]
    EmptyBody200,
    /// Closes the connection without answering on every other exchange it plays in (the first,
    /// the third, ...) and answers normally in between: a kept-alive connection the portal
    /// dropped just as the request went out.
    DroppedConnection,
}

/// Reserved ids: asking for `FAULT_ID_BASE + n` plays the n-th fault. The list is the
/// sandbox's documentation for tests.
pub const FAULT_ID_BASE: u32 = 990_000;
pub const FAULTS_BY_ID: [Fault; 31] = [
    Fault::Slow,
    Fault::Trickle,
    Fault::HtmlError,
    Fault::BrokenJson,
    Fault::Truncated,
    Fault::Reset,
    Fault::Redirect,
    Fault::Busy,
    Fault::Huge,
    Fault::OperationTimeLimit,
    Fault::Overload,
    Fault::InvalidCredentials,
    Fault::NoAuthFound,
    Fault::ExpiredToken,
    Fault::AccessDenied,
    Fault::InsufficientScope,
    Fault::PlanAccessDenied,
    Fault::MethodNotFound,
    Fault::InternalError,
    Fault::PortalDeleted,
    Fault::OtherError,
    Fault::WrongShape,
    Fault::WrongRecord,
    Fault::NegativeReserved,
    Fault::HugeAmount,
    Fault::ServiceNotFound,
    Fault::FarFutureReset,
    Fault::MillisReset,
    Fault::StringNumbers,
    Fault::EmptyBody200,
    Fault::DroppedConnection,
];

/// The fault a reserved id plays (`990001` is the first).
pub fn fault_for_id(id: u32) -> Option<Fault> {
    let index = id.checked_sub(FAULT_ID_BASE + 1)? as usize;
    FAULTS_BY_ID.get(index).copied()
}

impl Fault {
    /// A Bitrix error envelope (status, code, description) for the faults that are one.
    pub fn bitrix_error(self) -> Option<(u16, serde_json::Value, &'static str)> {
        use serde_json::Value;
        let s = |v: &str| Value::String(v.to_string());
        Some(match self {
            Fault::Busy => (503, s("QUERY_LIMIT_EXCEEDED"), "Too many requests"),
            Fault::OperationTimeLimit | Fault::FarFutureReset | Fault::MillisReset => (
                429,
                s("OPERATION_TIME_LIMIT"),
                "Method is blocked due to operation time limit.",
            ),
            Fault::Overload => (
                503,
                s("OVERLOAD_LIMIT"),
                "REST API is blocked due to overload.",
            ),
            Fault::InvalidCredentials => {
                (401, s("INVALID_CREDENTIALS"), "Invalid request credentials")
            }
            Fault::NoAuthFound => (401, s("NO_AUTH_FOUND"), "Wrong authorization data"),
            Fault::ExpiredToken => (
                401,
                s("expired_token"),
                "The access token provided has expired.",
            ),
            Fault::AccessDenied => (400, Value::from(200_040_300_010u64), "Access Denied"),
            Fault::InsufficientScope => (
                403,
                s("insufficient_scope"),
                "The request requires higher privileges than provided by the webhook token",
            ),
            Fault::PlanAccessDenied => (
                403,
                s("ACCESS_DENIED"),
                "REST is available only on commercial plans.",
            ),
            Fault::MethodNotFound => (404, s("ERROR_METHOD_NOT_FOUND"), "Method not found!"),
            Fault::InternalError => (500, s("INTERNAL_SERVER_ERROR"), "Internal server error"),
            Fault::PortalDeleted => (500, s("PORTAL_DELETED"), "Portal was deleted"),
            Fault::OtherError => (400, Value::from(0), "Something failed inside the portal"),
            Fault::ServiceNotFound => (503, s("SERVICE_UNAVAILABLE_X"), "Service not found"),
            _ => return None,
        })
    }

    /// Faults that spoil the HTTP exchange itself rather than one method's answer.
    pub fn breaks_exchange(self) -> bool {
        matches!(
            self,
            Fault::Slow
                | Fault::Trickle
                | Fault::HtmlError
                | Fault::BrokenJson
                | Fault::Truncated
                | Fault::Reset
                | Fault::Redirect
                | Fault::Huge
                | Fault::EmptyBody200
                | Fault::DroppedConnection
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_numbering() {
        assert_eq!(fault_for_id(990_000), None);
        assert_eq!(fault_for_id(990_001), Some(Fault::Slow));
        assert_eq!(fault_for_id(990_023), Some(Fault::WrongRecord));
        assert_eq!(fault_for_id(990_024), Some(Fault::NegativeReserved));
        assert_eq!(fault_for_id(990_030), Some(Fault::EmptyBody200));
        assert_eq!(fault_for_id(990_031), Some(Fault::DroppedConnection));
        assert_eq!(fault_for_id(990_032), None);
    }

    #[test]
    fn every_fault_has_one_batch_class_and_a_control_name() {
        for fault in FAULTS_BY_ID {
            let envelope = fault.bitrix_error().is_some();
            assert!(!(envelope && fault.breaks_exchange()), "{fault:?}");
            let name = serde_json::to_value(fault).expect("name");
            assert_eq!(serde_json::from_value::<Fault>(name).ok(), Some(fault));
        }
        assert_eq!(
            serde_json::to_value(Fault::EmptyBody200).ok(),
            Some(serde_json::json!("empty_body_200"))
        );
    }
}
