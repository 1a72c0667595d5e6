//! Cross-origin access for browser widgets: listed origins only.

use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, VARY,
};

use crate::core::config::AllowedOrigins;

const ALLOW_HEADERS: &str = "Accept, Content-Type";
const EXPOSE_HEADERS: &str = "Retry-After, Age, X-Cache, X-Request-Id, ETag";
const MAX_AGE_SECS: &str = "600";

/// Adds the CORS headers that an actual (non-preflight) response needs.
pub fn decorate(allowed: &AllowedOrigins, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    match allowed {
        AllowedOrigins::Any => {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        AllowedOrigins::List(list) => {
            if list.is_empty() {
                return;
            }
            // The answer differs by Origin, so shared caches must key on it.
            headers.append(VARY, HeaderValue::from_static("Origin"));
            let Some(origin) = origin else { return };
            let listed = origin
                .to_str()
                .is_ok_and(|o| list.iter().any(|allowed| allowed == o));
            if !listed {
                return;
            }
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
    }
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

/// Completes a preflight answer after [`decorate`]; nothing is allowed for an unlisted origin.
pub fn allow_preflight(allow_methods: &'static str, headers: &mut HeaderMap) {
    if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(allow_methods),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE_SECS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> AllowedOrigins {
        AllowedOrigins::List(vec!["https://shop.example".into()])
    }

    #[test]
    fn echoes_only_listed_origins() {
        let mut h = HeaderMap::new();
        decorate(
            &list(),
            Some(&HeaderValue::from_static("https://shop.example")),
            &mut h,
        );
        assert_eq!(h["access-control-allow-origin"], "https://shop.example");
        assert_eq!(h["vary"], "Origin");

        let mut h = HeaderMap::new();
        decorate(
            &list(),
            Some(&HeaderValue::from_static("https://evil.example")),
            &mut h,
        );
        assert!(!h.contains_key("access-control-allow-origin"));
        assert_eq!(h["vary"], "Origin");
    }

    #[test]
    fn wildcard_and_none() {
        let mut h = HeaderMap::new();
        decorate(&AllowedOrigins::Any, None, &mut h);
        assert_eq!(h["access-control-allow-origin"], "*");
        let mut h = HeaderMap::new();
        decorate(
            &AllowedOrigins::List(vec![]),
            Some(&HeaderValue::from_static("https://a.example")),
            &mut h,
        );
        assert!(h.is_empty());
    }

    #[test]
    fn preflight_only_for_listed() {
        let mut h = HeaderMap::new();
        decorate(
            &list(),
            Some(&HeaderValue::from_static("https://shop.example")),
            &mut h,
        );
        allow_preflight("GET", &mut h);
        assert_eq!(h["access-control-allow-methods"], "GET");
        let mut h = HeaderMap::new();
        decorate(
            &list(),
            Some(&HeaderValue::from_static("https://x.example")),
            &mut h,
        );
        allow_preflight("GET", &mut h);
        assert!(!h.contains_key("access-control-allow-methods"));
    }
}
