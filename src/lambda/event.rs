//! Lambda events <-> core requests: the path without an API Gateway stage, the caller's address
//! from the request context, the (already base64-decoded) body, and the answer as text.
//!
//! `lambda_http` has parsed the event (API Gateway REST v1, HTTP API v2, ALB, Function URL) into
//! an `http::Request<lambda_http::Body>` by the time these functions run.

use std::net::IpAddr;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

use crate::core::api::forwarded::from_proxy_header_lines;
use crate::core::api::request::InboundBody;
use crate::core::domain::caller::ClientIp;

/// The core's view of a Lambda request.
pub fn to_core(request: lambda_http::Request) -> http::Request<InboundBody> {
    let context = request.request_context_ref().cloned();
    let client = context
        .as_ref()
        .and_then(|context| client_ip(context, request.headers()));
    let stage = context.as_ref().and_then(stage_of);
    let (mut parts, body) = request.into_parts();
    if let Some(stage) = stage {
        if let Some(uri) = without_stage(&parts.uri, stage) {
            parts.uri = uri;
        }
    }
    if let Some(ip) = client {
        parts.extensions.insert(ClientIp(ip));
    }
    // lambda_http has already decoded a base64 body (`isBase64Encoded`).
    let body = match body {
        Body::Empty => InboundBody::Empty,
        Body::Text(text) => InboundBody::from_bytes(Bytes::from(text)),
        Body::Binary(bytes) => InboundBody::from_bytes(Bytes::from(bytes)),
        _ => InboundBody::Empty,
    };
    http::Request::from_parts(parts, body)
}

/// The core's answer as a Lambda response. Our bodies are UTF-8 JSON: sent as text, so API
/// Gateway REST needs no binary media types. The answer to a `HEAD` (the core renders the GET's
/// body) goes out without its body but with the GET's `Content-Length` (RFC 9110, 9.3.2).
pub fn from_core(response: http::Response<Bytes>, head: bool) -> lambda_http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    if head {
        parts.headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(body.len()),
        );
    }
    let body = if head || body.is_empty() {
        Body::Empty
    } else if parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        // Compressed bytes go base64-encoded, whatever they happen to look like.
        Body::Binary(body.to_vec())
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(not_text) => Body::Binary(not_text.into_bytes()),
        }
    };
    lambda_http::Response::from_parts(parts, body)
}

/// The caller's address as the platform saw it. API Gateway and Function URLs put it in the
/// request context; an ALB does not, but appends the peer to `X-Forwarded-For` (last entry).
fn client_ip(context: &RequestContext, headers: &http::HeaderMap) -> Option<IpAddr> {
    match context {
        RequestContext::ApiGatewayV1(context) => {
            context.identity.source_ip.as_deref()?.parse().ok()
        }
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref()?.parse().ok(),
        RequestContext::Alb(_) => {
            from_proxy_header_lines(headers.get_all("x-forwarded-for").iter())
        }
        _ => None,
    }
}

/// The API Gateway stage, unless it is `$default` (which never appears in paths).
fn stage_of(context: &RequestContext) -> Option<&str> {
    let stage = match context {
        RequestContext::ApiGatewayV1(context) => context.stage.as_deref(),
        RequestContext::ApiGatewayV2(context) => context.stage.as_deref(),
        _ => None,
    }?;
    (!stage.is_empty() && stage != "$default").then_some(stage)
}

/// `/prod/v1/store-products/13` -> `/v1/store-products/13` for stage `prod`; `None` when the
/// path does not start with the stage. `lambda_http` adds the stage to REST API paths (unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set) and HTTP APIs send it in `rawPath` for a
/// named stage, so both spellings reach this point; the core's routes start after it.
pub fn without_stage(uri: &http::Uri, stage: &str) -> Option<http::Uri> {
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    let path = match rest {
        "" => "/",
        rest if rest.starts_with('/') => rest,
        _ => return None, // `/production/...` is not stage `prod`
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    http::Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(uri: &str, stage: &str) -> Option<String> {
        without_stage(&uri.parse().unwrap(), stage).map(|u| u.to_string())
    }

    #[test]
    fn strips_only_a_whole_leading_stage_segment() {
        assert_eq!(
            strip("https://h.example/prod/v1/store-products/13?id=1", "prod").as_deref(),
            Some("https://h.example/v1/store-products/13?id=1")
        );
        assert_eq!(strip("/prod/healthz", "prod").as_deref(), Some("/healthz"));
        assert_eq!(strip("/prod", "prod").as_deref(), Some("/"));
        assert_eq!(strip("/production/healthz", "prod"), None);
        assert_eq!(strip("/v1/store-products/13", "prod"), None);
    }
}
