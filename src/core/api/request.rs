//! Reading ids out of a caller's request: path segment, query string or Bitrix-style body.

use bytes::Bytes;
use serde::Deserialize;

use crate::core::domain::error::ApiError;
use crate::core::domain::id::{IdError, RecordId};

/// Every request header the core reads. An adapter that pays for each header it copies (the
/// Worker crosses into JavaScript for each) may hand over only these.
pub const HEADERS_READ: [http::header::HeaderName; 5] = [
    http::header::ORIGIN,
    http::header::CONTENT_TYPE,
    http::header::IF_NONE_MATCH,
    http::header::ACCEPT,
    http::header::ACCEPT_ENCODING,
];

/// The most body we accept on the Bitrix-compatible routes: a 50-command batch as SDKs write it
/// (with their bookkeeping parameters) fits with room to spare.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024;

/// A request body as an adapter read it: whole, or cut off because it passed the limit.
#[derive(Debug, Clone, Default)]
pub enum InboundBody {
    #[default]
    Empty,
    Complete(Bytes),
    TooLarge,
}

impl InboundBody {
    /// Adapters that hold the whole body call this; it applies the size limit.
    pub fn from_bytes(bytes: Bytes) -> Self {
        if bytes.is_empty() {
            InboundBody::Empty
        } else if bytes.len() > MAX_REQUEST_BODY_BYTES {
            InboundBody::TooLarge
        } else {
            InboundBody::Complete(bytes)
        }
    }
}

/// The most ids one request may ask for (a batch's worth).
pub const MAX_IDS: usize = 50;

/// `id` from a query string: exactly once; other parameters are ignored.
pub fn id_from_query(query: Option<&str>) -> Result<RecordId, ApiError> {
    id_from_pairs(query.unwrap_or(""), IdError::Missing)
}

/// What `/v1/store-products?…` asks for: one `id`, or a list in `ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    One(RecordId),
    Many(Vec<RecordId>),
}

/// `id=13` or `ids=13,14,15` (1–50 distinct ids, comma-separated, no empty items); not both.
pub fn ids_from_query(query: Option<&str>) -> Result<Wanted, ApiError> {
    let query = query.unwrap_or("");
    let mut lists = form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "ids");
    let Some((_, list)) = lists.next() else {
        return id_from_query(Some(query)).map(Wanted::One);
    };
    let has_id = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "id");
    if lists.next().is_some() || has_id {
        return Err(ApiError::InvalidId(IdError::Duplicate));
    }
    if list.is_empty() {
        return Err(ApiError::InvalidId(IdError::Missing));
    }
    if list.split(',').nth(MAX_IDS).is_some() {
        return Err(ApiError::TooManyIds);
    }
    let mut ids: Vec<RecordId> = Vec::new();
    for item in list.split(',') {
        let id = RecordId::parse(item).map_err(|e| match e {
            // An empty item (`13,,14`) is a malformed list, not a missing one.
            IdError::Missing => ApiError::InvalidId(IdError::Invalid),
            other => ApiError::InvalidId(other),
        })?;
        if ids.contains(&id) {
            return Err(ApiError::InvalidId(IdError::Duplicate));
        }
        ids.push(id);
    }
    Ok(Wanted::Many(ids))
}

fn id_from_pairs(encoded: &str, when_absent: IdError) -> Result<RecordId, ApiError> {
    let mut found = None;
    for (key, value) in form_urlencoded::parse(encoded.as_bytes()) {
        if key == "id" {
            if found.is_some() {
                return Err(ApiError::InvalidId(IdError::Duplicate));
            }
            found = Some(value);
        }
    }
    match found {
        None => Err(ApiError::InvalidId(when_absent)),
        Some(value) => RecordId::parse(&value).map_err(ApiError::InvalidId),
    }
}

/// The id of `catalog.storeproduct.get` from a JSON or form body, or from the query when the
/// body is empty. Other fields (`auth`, `select`, …) are ignored and never forwarded.
pub fn id_from_bitrix_call(
    content_type: Option<&str>,
    body: &InboundBody,
    query: Option<&str>,
) -> Result<RecordId, ApiError> {
    let from_query =
        query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "id"));
    let bytes = match body {
        InboundBody::TooLarge => return Err(ApiError::PayloadTooLarge),
        InboundBody::Empty => return id_from_query(query),
        InboundBody::Complete(bytes) => bytes,
    };
    let media = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    let id = match media.as_deref() {
        Some("application/json") => id_from_json(bytes)?,
        Some("application/x-www-form-urlencoded") => {
            let text = std::str::from_utf8(bytes).map_err(|_| ApiError::InvalidBody)?;
            id_from_pairs(text, IdError::Missing)?
        }
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    if from_query {
        return Err(ApiError::InvalidId(IdError::Duplicate));
    }
    Ok(id)
}

/// `{"id": 13}` or `{"id": "13"}`. Serde's derive rejects a repeated `id` key.
fn id_from_json(bytes: &[u8]) -> Result<RecordId, ApiError> {
    #[derive(Deserialize)]
    struct Call {
        id: Option<serde_json::Value>,
    }
    // Serde would also read a struct from an array (`[13]`); only an object is a call.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::InvalidBody);
    }
    let call: Call = serde_json::from_slice(bytes).map_err(|e| {
        if e.to_string().starts_with("duplicate field `id`") {
            ApiError::InvalidId(IdError::Duplicate)
        } else {
            ApiError::InvalidBody
        }
    })?;
    match call.id {
        None | Some(serde_json::Value::Null) => Err(ApiError::InvalidId(IdError::Missing)),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .ok_or(IdError::Invalid)
            .and_then(RecordId::from_u64)
            .map_err(ApiError::InvalidId),
        Some(serde_json::Value::String(s)) => RecordId::parse(&s).map_err(|e| match e {
            IdError::Missing => ApiError::InvalidId(IdError::Invalid),
            other => ApiError::InvalidId(other),
        }),
        Some(_) => Err(ApiError::InvalidId(IdError::Invalid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json(body: &str) -> Result<RecordId, ApiError> {
        id_from_bitrix_call(
            Some("application/json; charset=utf-8"),
            &InboundBody::from_bytes(Bytes::copy_from_slice(body.as_bytes())),
            None,
        )
    }

    #[test]
    fn query() {
        assert_eq!(id_from_query(Some("id=13")).unwrap().get(), 13);
        assert_eq!(id_from_query(Some("x=1&id=13&_=99")).unwrap().get(), 13);
        assert_eq!(id_from_query(Some("id=%31%33")).unwrap().get(), 13);
        assert_eq!(
            id_from_query(None),
            Err(ApiError::InvalidId(IdError::Missing))
        );
        assert_eq!(
            id_from_query(Some("id=")),
            Err(ApiError::InvalidId(IdError::Missing))
        );
        assert_eq!(
            id_from_query(Some("id=1&id=1")),
            Err(ApiError::InvalidId(IdError::Duplicate))
        );
        assert_eq!(
            id_from_query(Some("id=1%00")),
            Err(ApiError::InvalidId(IdError::Invalid))
        );
        assert_eq!(
            id_from_query(Some("id=+1")),
            Err(ApiError::InvalidId(IdError::Invalid))
        );
    }

    #[test]
    fn json_bodies() {
        assert_eq!(json(r#"{"id":13}"#).unwrap().get(), 13);
        assert_eq!(
            json(r#"{"id":"13","auth":"x","select":["*"]}"#)
                .unwrap()
                .get(),
            13
        );
        assert_eq!(json(r#"{}"#), Err(ApiError::InvalidId(IdError::Missing)));
        assert_eq!(
            json(r#"{"id":null}"#),
            Err(ApiError::InvalidId(IdError::Missing))
        );
        assert_eq!(
            json(r#"{"id":""}"#),
            Err(ApiError::InvalidId(IdError::Invalid))
        );
        for bad in [
            r#"{"id":13.0}"#,
            r#"{"id":1e1}"#,
            r#"{"id":-1}"#,
            r#"{"id":0}"#,
            r#"{"id":[13]}"#,
            r#"{"id":2147483648}"#,
        ] {
            assert_eq!(
                json(bad),
                Err(ApiError::InvalidId(IdError::Invalid)),
                "{bad}"
            );
        }
        assert_eq!(
            json(r#"{"id":1,"id":2}"#),
            Err(ApiError::InvalidId(IdError::Duplicate))
        );
        assert_eq!(json(r#"[13]"#), Err(ApiError::InvalidBody));
        assert_eq!(json(r#"{"id":13"#), Err(ApiError::InvalidBody));
    }

    #[test]
    fn form_bodies_and_media_types() {
        let form = |b: &str, ct: Option<&str>| {
            id_from_bitrix_call(
                ct,
                &InboundBody::from_bytes(Bytes::copy_from_slice(b.as_bytes())),
                None,
            )
        };
        assert_eq!(
            form("id=13&auth=x", Some("application/x-www-form-urlencoded"))
                .unwrap()
                .get(),
            13
        );
        assert_eq!(
            form("id=13", Some("text/plain")),
            Err(ApiError::UnsupportedMediaType)
        );
        assert_eq!(form("id=13", None), Err(ApiError::UnsupportedMediaType));
        assert_eq!(
            id_from_bitrix_call(None, &InboundBody::Empty, Some("id=13"))
                .unwrap()
                .get(),
            13
        );
        assert_eq!(
            id_from_bitrix_call(
                Some("application/json"),
                &InboundBody::from_bytes(Bytes::from_static(b"{\"id\":1}")),
                Some("id=1")
            ),
            Err(ApiError::InvalidId(IdError::Duplicate))
        );
        let big = Bytes::from(vec![b' '; MAX_REQUEST_BODY_BYTES + 1]);
        assert_eq!(
            id_from_bitrix_call(
                Some("application/json"),
                &InboundBody::from_bytes(big),
                None
            ),
            Err(ApiError::PayloadTooLarge)
        );
    }

    #[test]
    fn id_lists() {
        let many = |q: &str| ids_from_query(Some(q));
        let ids =
            |ns: &[u64]| Wanted::Many(ns.iter().map(|n| RecordId::from_u64(*n).unwrap()).collect());
        assert_eq!(many("ids=13,14,15"), Ok(ids(&[13, 14, 15])));
        assert_eq!(many("ids=13%2C14&utm=x"), Ok(ids(&[13, 14])));
        assert_eq!(many("ids=7"), Ok(ids(&[7])));
        assert_eq!(
            many("id=7"),
            Ok(Wanted::One(RecordId::from_u64(7).unwrap()))
        );
        let fifty: Vec<String> = (1..=50).map(|n| n.to_string()).collect();
        assert!(many(&format!("ids={}", fifty.join(","))).is_ok());
        let fifty_one: Vec<String> = (1..=51).map(|n| n.to_string()).collect();
        assert_eq!(
            many(&format!("ids={}", fifty_one.join(","))),
            Err(ApiError::TooManyIds)
        );
        for (query, error) in [
            ("ids=", IdError::Missing),
            ("ids=13,,14", IdError::Invalid),
            ("ids=13,", IdError::Invalid),
            ("ids=13, 14", IdError::Invalid),
            ("ids=13,x", IdError::Invalid),
            ("ids=0", IdError::Invalid),
            ("ids=13,13", IdError::Duplicate),
            ("ids=13&ids=14", IdError::Duplicate),
            ("ids=13&id=14", IdError::Duplicate),
        ] {
            assert_eq!(many(query), Err(ApiError::InvalidId(error)), "{query}");
        }
    }

    proptest! {
        #[test]
        fn id_lists_hold_only_canonical_distinct_ids(raw in "[0-9,]{0,40}") {
            if let Ok(Wanted::Many(ids)) = ids_from_query(Some(&format!("ids={raw}"))) {
                let printed: Vec<String> = ids.iter().map(ToString::to_string).collect();
                prop_assert_eq!(printed.join(","), raw);
                let mut sorted = ids.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), ids.len());
            }
        }

        #[test]
        fn query_never_accepts_a_non_canonical_id(raw in "\\PC{0,16}") {
            let encoded: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            if let Ok(id) = id_from_query(Some(&format!("id={encoded}"))) {
                prop_assert_eq!(id.to_string(), raw);
            }
        }
    }
}
