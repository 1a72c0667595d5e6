//! The public error vocabulary: stable codes, our own messages, never upstream text. How each
//! is answered over HTTP (status, the Bitrix envelope) is `api::http_error`'s.

use super::id::IdError;

/// Why a Bitrix `batch` from a caller is refused whole (nothing reaches the portal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchProblem {
    /// No commands.
    Empty,
    /// More than 50 commands.
    TooLong,
    /// A command for another method, or a nested `batch`.
    MethodNotAllowed,
    /// A `$result[...]` reference to another command's result.
    Reference,
    /// A command that names `id` more than once.
    RepeatedId,
    /// `cmd` or a command is not of the documented shape.
    Malformed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiError {
    InvalidId(IdError),
    /// The body of the Bitrix-compatible route is not the JSON object or form it should be.
    InvalidBody,
    /// More ids than one request may ask for.
    TooManyIds,
    /// A Bitrix `batch` that is refused whole.
    InvalidBatch(BatchProblem),
    /// No such record, or a record in a warehouse the policy hides.
    NotFound,
    /// No such route.
    RouteNotFound,
    /// A webhook-shaped URL whose token is not the placeholder: probably the portal's real code.
    WebhookCodeSent,
    /// `format`, `lang` or `qty` of a product answer is not one the gateway takes, or is given
    /// twice.
    InvalidParameter,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The portal is busy or its budget is spent; `retry_after_secs` is honest.
    UpstreamBusy {
        retry_after_secs: u64,
    },
    UpstreamError,
    UpstreamTimeout,
    /// The portal refuses the gateway in a way only its operator can fix (a revoked webhook,
    /// missing rights, no REST on the plan) and nothing stale can stand in.
    UpstreamUnavailable {
        retry_after_secs: u64,
    },
    /// This caller sent too many requests.
    RateLimited {
        retry_after_secs: u64,
    },
}

impl ApiError {
    pub fn code(self) -> &'static str {
        match self {
            ApiError::InvalidId(_) => "invalid_id",
            ApiError::InvalidBody => "invalid_body",
            ApiError::TooManyIds => "too_many_ids",
            ApiError::InvalidBatch(_) => "invalid_batch",
            ApiError::WebhookCodeSent => "webhook_code_sent",
            ApiError::InvalidParameter => "invalid_parameter",
            ApiError::NotFound | ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::UpstreamError => "upstream_error",
            ApiError::UpstreamBusy { .. } => "upstream_busy",
            ApiError::UpstreamTimeout => "upstream_timeout",
            ApiError::UpstreamUnavailable { .. } => "upstream_unavailable",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ApiError::InvalidId(IdError::Missing) => "id is required",
            ApiError::InvalidId(IdError::Invalid) => {
                "id must be a positive decimal integer no larger than 2147483647"
            }
            ApiError::InvalidId(IdError::Duplicate) => "id must be given exactly once",
            ApiError::InvalidBody => {
                "the body must be a JSON object or a form of the documented shape"
            }
            ApiError::TooManyIds => "at most 50 ids per request",
            ApiError::InvalidBatch(BatchProblem::Empty) => "cmd must hold at least one command",
            ApiError::InvalidBatch(BatchProblem::TooLong) => "a batch runs at most 50 commands",
            ApiError::InvalidBatch(BatchProblem::MethodNotAllowed) => {
                "only catalog.storeproduct.get may run in a batch here"
            }
            ApiError::InvalidBatch(BatchProblem::Reference) => {
                "references to other commands' results are not supported"
            }
            ApiError::InvalidBatch(BatchProblem::RepeatedId) => {
                "each command must give id exactly once"
            }
            ApiError::InvalidBatch(BatchProblem::Malformed) => {
                "cmd must map keys to commands like catalog.storeproduct.get?id=13"
            }
            ApiError::NotFound => "no stock record or product with this id",
            ApiError::RouteNotFound => "no such route",
            ApiError::InvalidParameter => {
                "format must be json or text, lang en or ru, qty a positive number (not with \
                 STOCK_EXPOSE=level) and near LAT,LON, each given at most once"
            }
            ApiError::WebhookCodeSent => {
                "this gateway takes no webhook code: use /rest/0/public/ on this host as the base \
                 URL, and revoke the webhook whose code was sent if it is a real one"
            }
            ApiError::MethodNotAllowed => "method not allowed on this route",
            ApiError::PayloadTooLarge => "request body too large",
            ApiError::UnsupportedMediaType => {
                "send application/json or application/x-www-form-urlencoded"
            }
            ApiError::RateLimited { .. } => "too many requests from this client; retry later",
            ApiError::UpstreamError => "the stock service could not read the inventory",
            ApiError::UpstreamBusy { .. } => "the inventory is busy; retry later",
            ApiError::UpstreamTimeout => "the inventory did not answer in time",
            ApiError::UpstreamUnavailable { .. } => {
                "the stock service cannot reach the inventory now; its operator has been told"
            }
        }
    }

    /// The portal failed or was unavailable: a stale answer may stand in.
    pub fn is_upstream_failure(self) -> bool {
        matches!(
            self,
            ApiError::UpstreamBusy { .. }
                | ApiError::UpstreamError
                | ApiError::UpstreamTimeout
                | ApiError::UpstreamUnavailable { .. }
        )
    }

    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            ApiError::UpstreamBusy { retry_after_secs }
            | ApiError::RateLimited { retry_after_secs }
            | ApiError::UpstreamUnavailable { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        }
    }
}
