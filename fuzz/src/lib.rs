//! How the fuzz targets cut one input into the parts of a caller's request. Kept readable so
//! seed files can be written by hand: `<media byte><query>\n<body>`.
//!
//! - media byte: `j` JSON, `J` JSON with parameters in odd case, `f` form, `t` text/plain,
//!   anything else no `Content-Type` at all;
//! - query: up to the first newline; empty means no query string;
//! - body: the rest; empty means no body.

use bytes::Bytes;

use b24_stock_gateway::core::api::request::InboundBody;

/// The parts of a caller's request that the parsers read.
pub struct CallerParts<'a> {
    pub content_type: Option<&'static str>,
    pub query: Option<&'a str>,
    pub body: InboundBody,
}

/// Cuts `data` as the module doc says; `None` when the query is not UTF-8 (no adapter hands
/// the core a query that is not text).
pub fn caller_parts(data: &[u8]) -> Option<CallerParts<'_>> {
    let (&media, rest) = data.split_first()?;
    let content_type = match media {
        b'j' => Some("application/json"),
        b'J' => Some("Application/JSON ; Charset=UTF-8"),
        b'f' => Some("application/x-www-form-urlencoded"),
        b't' => Some("text/plain"),
        _ => None,
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let query = std::str::from_utf8(query).ok()?;
    Some(CallerParts {
        content_type,
        query: (!query.is_empty()).then_some(query),
        body: InboundBody::from_bytes(Bytes::copy_from_slice(body)),
    })
}

/// The statuses a portal answer is tried with; a byte picks one (modulo the length).
pub const STATUSES: [u16; 12] = [200, 400, 401, 403, 404, 429, 500, 502, 503, 302, 204, 418];

/// A status from a selector byte.
pub fn status(selector: u8) -> u16 {
    STATUSES[usize::from(selector) % STATUSES.len()]
}
