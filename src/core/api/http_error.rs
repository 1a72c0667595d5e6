//! How each public error is answered over HTTP: its status, and its code and status in the
//! portal's own envelope on the Bitrix-compatible routes.

use crate::core::domain::error::{ApiError, BatchProblem};
use crate::core::domain::id::IdError;

pub trait HttpError {
    fn status(self) -> u16;
    /// The `error` value of the Bitrix-compatible envelope: the portal's own code where one
    /// exists (`100` for a missing id, `QUERY_LIMIT_EXCEEDED` so SDKs back off), else ours in
    /// upper case.
    fn bitrix_code(self) -> serde_json::Value;
    /// Bitrix answers method errors (missing parameter, missing record) with 400.
    fn bitrix_status(self) -> u16;
}

impl HttpError for ApiError {
    fn status(self) -> u16 {
        match self {
            ApiError::InvalidId(_)
            | ApiError::InvalidBody
            | ApiError::TooManyIds
            | ApiError::InvalidBatch(_)
            | ApiError::WebhookCodeSent
            | ApiError::InvalidParameter => 400,
            ApiError::NotFound | ApiError::RouteNotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::RateLimited { .. } => 429,
            ApiError::UpstreamError => 502,
            ApiError::UpstreamBusy { .. } | ApiError::UpstreamUnavailable { .. } => 503,
            ApiError::UpstreamTimeout => 504,
        }
    }

    fn bitrix_code(self) -> serde_json::Value {
        match self {
            ApiError::InvalidId(IdError::Missing) => serde_json::Value::from(100),
            ApiError::InvalidBatch(BatchProblem::TooLong) => "ERROR_BATCH_LENGTH_EXCEEDED".into(),
            ApiError::InvalidBatch(BatchProblem::MethodNotAllowed) => {
                "ERROR_BATCH_METHOD_NOT_ALLOWED".into()
            }
            ApiError::UpstreamBusy { .. } => "QUERY_LIMIT_EXCEEDED".into(),
            other => other.code().to_ascii_uppercase().into(),
        }
    }

    fn bitrix_status(self) -> u16 {
        match self {
            ApiError::NotFound => 400,
            other => other.status(),
        }
    }
}
