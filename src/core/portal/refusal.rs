//! Why the portal did not give what was asked, read from its error envelope. The portal's own
//! text is never passed on: every error becomes one of a few variants.

use serde_json::Value;

/// Why the portal did not answer with data. Each variant maps to one public error.
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
    /// The portal did not see a parameter we sent (error `100`).
    ParameterRejected,
    PortalDeleted,
    /// `INTERNAL_SERVER_ERROR`, `ERROR_UNEXPECTED_ANSWER`, code `0`, or an unknown code.
    ServerFault,
    /// Not JSON, broken or truncated JSON, an unexpected shape, or values out of bounds.
    BadAnswer,
}

/// An error envelope, classified: a missing record, or a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    NotFound,
    Refused(Refusal),
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
            Refusal::MethodNotFound => "portal does not know a catalog.storeproduct method",
            Refusal::HttpsRequired => "portal requires https",
            Refusal::ParameterRejected => "portal did not accept a parameter",
            Refusal::PortalDeleted => "portal deleted",
            Refusal::ServerFault => "portal server fault",
            Refusal::BadAnswer => "unreadable or unexpected portal answer",
        }
    }

    /// The stable code of a problem an operator must fix, for `/healthz`; `None` for the rest.
    pub fn problem_code(self) -> Option<&'static str> {
        Some(match self {
            Refusal::Credentials => "webhook_rejected",
            Refusal::AccessDenied => "webhook_lacks_permission",
            Refusal::Scope => "webhook_lacks_scope",
            Refusal::Plan => "plan_without_rest",
            Refusal::MethodNotFound => "method_not_found",
            Refusal::HttpsRequired => "https_required",
            Refusal::PortalDeleted => "portal_deleted",
            _ => return None,
        })
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

/// Every code [`Refusal::problem_code`] gives, to read one back from another instance.
pub const PROBLEM_CODES: [&str; 7] = [
    "webhook_rejected",
    "webhook_lacks_permission",
    "webhook_lacks_scope",
    "plan_without_rest",
    "method_not_found",
    "https_required",
    "portal_deleted",
];

/// Classifies `{"error": code, "error_description": text}`. `status` is the HTTP status of a
/// single call; `None` inside a batch, where each command has no status of its own.
///
/// Known codes are checked first ("Method not found!" must not pass for a missing record).
/// Only the documented not-found shape is a missing record: an unlisted code whose text says
/// the record does not exist, on a 400 (or inside a batch). Anything else is a server fault,
/// so a "Service not found" from a failing proxy never becomes a cacheable 404.
pub fn classify(code: &Value, description: &str, status: Option<u16>) -> Classified {
    let code = match code {
        Value::String(s) => s.trim().to_string(),
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
        // No right to view the catalog, or to read its products (`catalog.product.get`).
        "200040300010" | "200040300040" | "user_access_error" => Some(Refusal::AccessDenied),
        "insufficient_scope" => Some(Refusal::Scope),
        "ACCESS_DENIED" => Some(Refusal::Plan),
        "ERROR_METHOD_NOT_FOUND" => Some(Refusal::MethodNotFound),
        "INVALID_REQUEST" => Some(Refusal::HttpsRequired),
        "100" => Some(Refusal::ParameterRejected),
        "PORTAL_DELETED" => Some(Refusal::PortalDeleted),
        "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER" => Some(Refusal::ServerFault),
        _ => None,
    };
    if let Some(refusal) = known {
        return Classified::Refused(refusal);
    }
    // The documented not-found code is "-" and unreliable; the description identifies it:
    // "Store product does not exist", "… is not exists", "Entity is not exists".
    let method_error = status.is_none_or(|s| s == 400);
    if method_error && description.to_ascii_lowercase().contains("not exist") {
        return Classified::NotFound;
    }
    Classified::Refused(Refusal::ServerFault)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(code: Value, text: &str, status: Option<u16>) -> Classified {
        classify(&code, text, status)
    }

    #[test]
    fn not_found_is_recognised_by_description_whatever_the_code() {
        for (code, text) in [
            (json!("-"), "Store product does not exist"),
            (json!(0), "Store product is not exists"),
            (json!("ERROR"), "Entity is not exists"),
        ] {
            assert_eq!(of(code.clone(), text, Some(400)), Classified::NotFound);
            assert_eq!(of(code, text, None), Classified::NotFound, "inside a batch");
        }
    }

    #[test]
    fn only_the_documented_not_found_shape_is_a_missing_record() {
        // A failing proxy or service says "not found" with another status: a fault, never 404.
        assert_eq!(
            of(
                json!("SERVICE_UNAVAILABLE_X"),
                "Service not found",
                Some(503)
            ),
            Classified::Refused(Refusal::ServerFault)
        );
        assert_eq!(
            of(json!("X"), "Service not found", Some(400)),
            Classified::Refused(Refusal::ServerFault)
        );
        assert_eq!(
            of(json!("-"), "Store product does not exist", Some(503)),
            Classified::Refused(Refusal::ServerFault)
        );
        assert_eq!(
            of(
                json!("ERROR_METHOD_NOT_FOUND"),
                "Method not found!",
                Some(400)
            ),
            Classified::Refused(Refusal::MethodNotFound)
        );
    }

    #[test]
    fn classifies_the_documented_errors() {
        let cases = [
            (json!("QUERY_LIMIT_EXCEEDED"), Refusal::QueryLimit),
            (json!("OPERATION_TIME_LIMIT"), Refusal::OperationTimeLimit),
            (json!("OVERLOAD_LIMIT"), Refusal::Overload),
            (json!("INVALID_CREDENTIALS"), Refusal::Credentials),
            (json!("NO_AUTH_FOUND"), Refusal::Credentials),
            (json!("expired_token"), Refusal::Credentials),
            (json!(200040300010u64), Refusal::AccessDenied),
            (json!("insufficient_scope"), Refusal::Scope),
            (json!("ACCESS_DENIED"), Refusal::Plan),
            (json!("ERROR_METHOD_NOT_FOUND"), Refusal::MethodNotFound),
            (json!("INVALID_REQUEST"), Refusal::HttpsRequired),
            (json!(100), Refusal::ParameterRejected),
            (json!("PORTAL_DELETED"), Refusal::PortalDeleted),
            (json!(0), Refusal::ServerFault),
            (json!(null), Refusal::ServerFault),
        ];
        for (code, want) in cases {
            assert_eq!(
                of(code.clone(), "some text", Some(400)),
                Classified::Refused(want),
                "{code}"
            );
        }
    }
}
