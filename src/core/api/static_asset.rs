//! A file embedded at build time and answered as it is, with a strong `ETag` from its bytes,
//! so that revalidating a kept copy costs a 304 without a body.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{Response, StatusCode};

pub struct StaticAsset {
    body: Bytes,
    content_type: &'static str,
    /// 16 hex digits of the body's hash: the ETag's value and the widget's `?v=`.
    version: String,
    etag: HeaderValue,
}

impl StaticAsset {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        let version = format!("{:016x}", fnv1a64(&body));
        let etag = HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        Self {
            body,
            content_type,
            version,
            etag,
        }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// 200 with the body, or 304 when the request's `If-None-Match` names this version.
    pub fn answer(&self, request: &HeaderMap, cache_control: HeaderValue) -> Response<Bytes> {
        let fresh = request
            .get_all(IF_NONE_MATCH)
            .iter()
            .any(|value| names(value, &self.version));
        let mut response = Response::new(if fresh {
            Bytes::new()
        } else {
            self.body.clone()
        });
        if fresh {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        }
        let headers = response.headers_mut();
        if !fresh {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        headers.insert(ETAG, self.etag.clone());
        headers.insert(CACHE_CONTROL, cache_control);
        response
    }
}

/// Whether an `If-None-Match` value (`*`, or a list of entity tags, weak or strong) names
/// `version`. RFC 9110 13.1.2 compares weakly here: `W/"v"` matches `"v"`.
fn names(value: &HeaderValue, version: &str) -> bool {
    let Ok(text) = value.to_str() else {
        return false;
    };
    text.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .trim_start_matches("W/")
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                == Some(version)
    })
}

/// FNV-1a, 64 bits: a version tag for our own files, not a defence against anyone.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset() -> StaticAsset {
        StaticAsset::new(&b"hello"[..], "text/plain")
    }

    fn request(if_none_match: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(if_none_match).unwrap());
        headers
    }

    #[test]
    fn version_is_the_hash_of_the_bytes() {
        // The published FNV-1a 64 test vector for "a", and a fixed one for our sample.
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(asset().version(), format!("{:016x}", fnv1a64(b"hello")));
        assert_ne!(
            asset().version(),
            StaticAsset::new(&b"hellp"[..], "text/plain").version()
        );
    }

    #[test]
    fn answers_the_body_with_its_etag() {
        let a = asset();
        let r = a.answer(&HeaderMap::new(), HeaderValue::from_static("no-cache"));
        assert_eq!(r.status(), 200);
        assert_eq!(r.body(), &b"hello"[..]);
        assert_eq!(r.headers()[ETAG], format!("\"{}\"", a.version()));
        assert_eq!(r.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    }

    #[test]
    fn a_current_validator_gets_304_without_a_body() {
        let a = asset();
        let v = a.version().to_string();
        for header in [
            format!("\"{v}\""),
            format!("W/\"{v}\""),
            format!("\"other\", \"{v}\""),
            "*".to_string(),
        ] {
            let r = a.answer(&request(&header), HeaderValue::from_static("no-cache"));
            assert_eq!(r.status(), 304, "{header}");
            assert!(r.body().is_empty());
            assert_eq!(r.headers()[ETAG], format!("\"{v}\""));
        }
        for header in ["\"other\"", &v, "\"\""] {
            let r = a.answer(&request(header), HeaderValue::from_static("no-cache"));
            assert_eq!(r.status(), 200, "{header}");
        }
    }
}
