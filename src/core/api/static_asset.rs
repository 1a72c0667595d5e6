//! A file embedded at build time and answered as it is, with a strong `ETag` from its bytes,
//! so that revalidating a kept copy costs a 304 without a body. A file may also carry its
//! Brotli and gzip forms (made by `build.rs`): a caller that accepts one gets it, with its own
//! strong `ETag` (a different representation) and `Vary: Accept-Encoding`.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG,
    VARY,
};
use http::{Response, StatusCode};

use super::validators::if_none_match;
use crate::core::kit::digest::fnv1a;

pub struct StaticAsset {
    body: Bytes,
    content_type: &'static str,
    /// 16 hex digits of the body's hash: the ETag's value and the widget's `?v=`.
    version: String,
    etag: HeaderValue,
    /// Brotli first: the one preferred when a caller accepts both.
    encoded: Vec<Encoded>,
}

/// The same file in one content coding.
struct Encoded {
    coding: &'static str,
    body: Bytes,
    etag: HeaderValue,
}

/// The codings `build.rs` makes, in the order they are preferred.
pub const CODINGS: [&str; 2] = ["br", "gzip"];

impl StaticAsset {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        let version = format!("{:016x}", fnv1a(&body));
        let etag = HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"0\""));
        Self {
            body,
            content_type,
            version,
            etag,
            encoded: Vec::new(),
        }
    }

    /// Adds the file's Brotli and gzip forms (in [`CODINGS`] order).
    pub fn with_encodings(mut self, brotli: &'static [u8], gzip: &'static [u8]) -> Self {
        self.encoded = CODINGS
            .iter()
            .zip([brotli, gzip])
            .map(|(coding, body)| Encoded {
                coding,
                body: Bytes::from_static(body),
                etag: HeaderValue::from_str(&format!("\"{}-{coding}\"", self.version))
                    .unwrap_or(HeaderValue::from_static("\"0\"")),
            })
            .collect();
        self
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether an entity tag's value names this version, in any coding.
    fn is_version(&self, tag: &str) -> bool {
        let plain = CODINGS
            .iter()
            .find_map(|coding| tag.strip_suffix(coding)?.strip_suffix('-'));
        tag == self.version || plain == Some(self.version.as_str())
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// 200 with the body (compressed when the caller accepts a coding it has), or 304 when
    /// the request's `If-None-Match` names this version in any coding.
    pub fn answer(&self, request: &HeaderMap, cache_control: HeaderValue) -> Response<Bytes> {
        let fresh = if_none_match(request, |tag| self.is_version(tag));
        let chosen = self
            .encoded
            .iter()
            .find(|encoded| accepts(request, encoded.coding));
        let (body, etag) = match chosen {
            Some(encoded) => (&encoded.body, &encoded.etag),
            None => (&self.body, &self.etag),
        };
        let mut response = Response::new(if fresh { Bytes::new() } else { body.clone() });
        if fresh {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        }
        let headers = response.headers_mut();
        if !fresh {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
            if let Some(encoded) = chosen {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoded.coding));
            }
        }
        if !self.encoded.is_empty() {
            headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        headers.insert(ETAG, etag.clone());
        headers.insert(CACHE_CONTROL, cache_control);
        response
    }
}

/// Whether `Accept-Encoding` accepts `coding` (by name or `*`, with a q-value above 0).
/// RFC 9110 12.5.3; a coding named explicitly wins over `*`.
fn accepts(request: &HeaderMap, coding: &str) -> bool {
    let mut named = None;
    let mut any = None;
    for value in request.get_all(ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(coding) {
                named = Some(weight > 0.0);
            } else if name == "*" {
                any = Some(weight > 0.0);
            }
        }
    }
    named.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::IF_NONE_MATCH;

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
        assert_eq!(asset().version(), format!("{:016x}", fnv1a(b"hello")));
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
        for header in ["\"other\"", &v, "\"\"", &format!("\"{v}-zstd\"")] {
            let r = a.answer(&request(header), HeaderValue::from_static("no-cache"));
            assert_eq!(r.status(), 200, "{header}");
        }
    }

    fn compressed() -> StaticAsset {
        StaticAsset::new(&b"hello"[..], "text/plain").with_encodings(b"BR", b"GZ")
    }

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_caller_gets_the_best_coding_it_accepts() {
        let a = compressed();
        let v = a.version().to_string();
        let cases = [
            ("gzip, deflate, br, zstd", Some("br"), &b"BR"[..]),
            ("gzip", Some("gzip"), b"GZ"),
            ("br;q=0, gzip;q=0.5", Some("gzip"), b"GZ"),
            ("GZIP", Some("gzip"), b"GZ"),
            ("*", Some("br"), b"BR"),
            ("*;q=0, gzip", Some("gzip"), b"GZ"),
            ("identity", None, b"hello"),
            ("gzip;q=0, br;q=0", None, b"hello"),
            ("deflate", None, b"hello"),
        ];
        for (accept, coding, body) in cases {
            let r = a.answer(&accepting(accept), HeaderValue::from_static("no-cache"));
            assert_eq!(r.status(), 200, "{accept}");
            assert_eq!(r.body(), body, "{accept}");
            assert_eq!(
                r.headers()
                    .get(CONTENT_ENCODING)
                    .map(|c| c.to_str().unwrap()),
                coding,
                "{accept}"
            );
            let etag = match coding {
                Some(c) => format!("\"{v}-{c}\""),
                None => format!("\"{v}\""),
            };
            assert_eq!(r.headers()[ETAG], etag, "{accept}");
            assert_eq!(r.headers()[VARY], "Accept-Encoding");
        }
        let plain = a.answer(&HeaderMap::new(), HeaderValue::from_static("no-cache"));
        assert_eq!(plain.body(), &b"hello"[..]);
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    }

    #[test]
    fn a_kept_copy_in_any_coding_revalidates() {
        let a = compressed();
        let v = a.version().to_string();
        for tag in [
            format!("\"{v}-br\""),
            format!("\"{v}-gzip\""),
            format!("\"{v}\""),
        ] {
            let mut headers = accepting("gzip");
            headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
            let r = a.answer(&headers, HeaderValue::from_static("no-cache"));
            assert_eq!(r.status(), 304, "{tag}");
            assert!(r.body().is_empty());
            assert_eq!(r.headers()[ETAG], format!("\"{v}-gzip\""));
            assert!(r.headers().get(CONTENT_ENCODING).is_none());
        }
    }
}
