//! Revalidation and purging for stock answers: a strong `ETag` from the answer's bytes, so a
//! browser or CDN that kept a copy asks with `If-None-Match` and gets a 304 without a body
//! (from the gateway's cache: no portal call), and `Cache-Tag`/`Surrogate-Key` values per
//! record, product and store, so an operator can purge them at a CDN.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{Response, StatusCode};

use crate::core::domain::id::RecordId;
use crate::core::kit::digest::fnv1a;
use crate::core::publish::render::{RecordHeaders, RenderedRecord};

/// Cloudflare's purge-by-tag header (comma-separated).
const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");
/// Fastly's and others' purge-by-key header (space-separated).
const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");

/// Whether an `If-None-Match` header names a tag `matches` accepts: `*`, or any listed entity
/// tag, weak or strong (RFC 9110 13.1.2: this header compares weakly).
pub fn if_none_match(request: &HeaderMap, matches: impl Fn(&str) -> bool) -> bool {
    request.get_all(IF_NONE_MATCH).iter().any(|value| {
        let Ok(text) = value.to_str() else {
            return false;
        };
        text.split(',').map(str::trim).any(|tag| {
            tag == "*"
                || tag
                    .trim_start_matches("W/")
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .is_some_and(&matches)
        })
    })
}

/// A body's strong entity tag, quoted: `"da1b2c5dcaf0f5fe"`.
fn entity_tag(body: &[u8]) -> HeaderValue {
    let mut quoted = [b'"'; 18];
    let hex = format!("{:016x}", fnv1a(body));
    quoted[1..17].copy_from_slice(hex.as_bytes());
    HeaderValue::from_bytes(&quoted).expect("hex digits and quotes are a valid header value")
}

/// Gives a 200 answer its `ETag` (unless it came with one made from its body:
/// [`record_headers`]), and turns it into a 304 without a body when the request's
/// `If-None-Match` names it. Other headers (`Cache-Control`, tags) stay, as RFC 9110 15.4.5
/// asks.
pub fn tag_and_revalidate(answer: &mut Response<Bytes>, request: &HeaderMap) {
    if answer.status() != StatusCode::OK {
        return;
    }
    let etag = match answer.headers().get(ETAG) {
        Some(made) => made.clone(),
        None => {
            let made = entity_tag(answer.body());
            answer.headers_mut().insert(ETAG, made.clone());
            made
        }
    };
    if request.contains_key(IF_NONE_MATCH)
        && if_none_match(request, |named| {
            etag.as_bytes().get(1..etag.len() - 1) == Some(named.as_bytes())
        })
    {
        *answer.status_mut() = StatusCode::NOT_MODIFIED;
        *answer.body_mut() = Bytes::new();
        answer.headers_mut().remove(CONTENT_TYPE);
    }
}

/// A record's v1 answer headers, made once per cached copy: its `ETag` and purge tags.
pub fn record_headers(id: RecordId, record: &RenderedRecord) -> RecordHeaders {
    let tags = [
        purge_tag("record", id),
        purge_tag("product", record.product_id),
        purge_tag("store", record.store_id),
    ];
    let value = |text: String| {
        HeaderValue::from_str(&text).expect("purge tags are ASCII letters, digits and '-'")
    };
    RecordHeaders {
        etag: entity_tag(&record.v1),
        cache_tag: value(tags.join(",")),
        surrogate_key: value(tags.join(" ")),
    }
}

/// Gives an answer a record's headers (from [`record_headers`]).
pub fn set_record_headers(answer: &mut Response<Bytes>, made: &RecordHeaders) {
    let headers = answer.headers_mut();
    headers.insert(ETAG, made.etag.clone());
    headers.insert(CACHE_TAG, made.cache_tag.clone());
    headers.insert(SURROGATE_KEY, made.surrogate_key.clone());
}

/// One purge tag: `record-13`, `product-6973`, `store-11`.
pub fn purge_tag(kind: &str, id: impl std::fmt::Display) -> String {
    format!("{kind}-{id}")
}

/// Sets `Cache-Tag` and `Surrogate-Key` to `tags` (in order, without repeats).
pub fn set_purge_tags(answer: &mut Response<Bytes>, tags: &[String]) {
    let mut unique: Vec<&str> = Vec::with_capacity(tags.len());
    for tag in tags {
        if !unique.contains(&tag.as_str()) {
            unique.push(tag);
        }
    }
    if unique.is_empty() {
        return;
    }
    let headers = answer.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&unique.join(",")) {
        headers.insert(CACHE_TAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&unique.join(" ")) {
        headers.insert(SURROGATE_KEY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &'static str) -> Response<Bytes> {
        let mut answer = Response::new(Bytes::from_static(body.as_bytes()));
        answer
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        answer
    }

    fn asking(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_200_gets_a_strong_etag_from_its_bytes() {
        let mut a = answer(r#"{"id":13}"#);
        tag_and_revalidate(&mut a, &HeaderMap::new());
        let tag = a.headers()[ETAG].to_str().unwrap().to_string();
        assert_eq!(tag, format!("\"{:016x}\"", fnv1a(br#"{"id":13}"#)));
        let mut b = answer(r#"{"id":14}"#);
        tag_and_revalidate(&mut b, &HeaderMap::new());
        assert_ne!(b.headers()[ETAG].to_str().unwrap(), tag);
        assert_eq!(a.status(), 200);
    }

    #[test]
    fn a_named_etag_gets_304_without_body_or_type() {
        let mut first = answer(r#"{"id":13}"#);
        tag_and_revalidate(&mut first, &HeaderMap::new());
        let tag = first.headers()[ETAG].to_str().unwrap().to_string();
        for value in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"x\", {tag}"),
            "*".into(),
        ] {
            let mut again = answer(r#"{"id":13}"#);
            tag_and_revalidate(&mut again, &asking(&value));
            assert_eq!(again.status(), 304, "{value}");
            assert!(again.body().is_empty());
            assert!(again.headers().get(CONTENT_TYPE).is_none());
            assert_eq!(again.headers()[ETAG].to_str().unwrap(), tag);
        }
        let mut changed = answer(r#"{"id":13,"amount":1}"#);
        tag_and_revalidate(&mut changed, &asking(&tag));
        assert_eq!(changed.status(), 200, "a changed answer is sent whole");
    }

    #[test]
    fn only_200_answers_are_tagged() {
        let mut missing = answer("{}");
        *missing.status_mut() = StatusCode::NOT_FOUND;
        tag_and_revalidate(&mut missing, &asking("*"));
        assert_eq!(missing.status(), 404);
        assert!(missing.headers().get(ETAG).is_none());
    }

    #[test]
    fn purge_tags_are_listed_once_in_both_headers() {
        let mut a = answer("{}");
        let tags = [
            purge_tag("record", 13),
            purge_tag("product", 6973),
            purge_tag("store", 11),
            purge_tag("product", 6973),
        ];
        set_purge_tags(&mut a, &tags);
        assert_eq!(a.headers()[CACHE_TAG], "record-13,product-6973,store-11");
        assert_eq!(
            a.headers()[SURROGATE_KEY],
            "record-13 product-6973 store-11"
        );
    }
}
