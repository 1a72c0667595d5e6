//! The JSON bodies the API adds around published records: lists of records, and errors.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use crate::core::domain::error::ApiError;
use crate::core::domain::id::RecordId;
use crate::core::publish::render::to_bytes;

/// `{"items":[…],"notFound":[…],"unavailable":[…]}` from already rendered records.
pub fn render_id_lists(items: &[Bytes], not_found: &[RecordId], unavailable: &[RecordId]) -> Bytes {
    let size = items.iter().map(Bytes::len).sum::<usize>()
        + 12 * (not_found.len() + unavailable.len())
        + 48;
    let mut out = BytesMut::with_capacity(size);
    out.put_slice(b"{\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(item);
    }
    out.put_slice(b"],\"notFound\":");
    put_ids(&mut out, not_found);
    out.put_slice(b",\"unavailable\":");
    put_ids(&mut out, unavailable);
    out.put_u8(b'}');
    out.freeze()
}

fn put_ids(out: &mut BytesMut, ids: &[RecordId]) {
    out.put_u8(b'[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(id.get().to_string().as_bytes());
    }
    out.put_u8(b']');
}

#[derive(Serialize)]
struct V1Error {
    error: V1ErrorBody,
}

#[derive(Serialize)]
struct V1ErrorBody {
    code: &'static str,
    message: &'static str,
}

pub fn render_v1_error(error: ApiError) -> Bytes {
    to_bytes(&V1Error {
        error: V1ErrorBody {
            code: error.code(),
            message: error.message(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let id = |n| RecordId::from_u64(n).unwrap();
        assert_eq!(
            render_id_lists(
                &[
                    Bytes::from_static(b"{\"id\":1}"),
                    Bytes::from_static(b"{\"id\":2}")
                ],
                &[id(3)],
                &[]
            ),
            r#"{"items":[{"id":1},{"id":2}],"notFound":[3],"unavailable":[]}"#
        );
        assert_eq!(
            render_id_lists(&[], &[], &[id(4), id(5)]),
            r#"{"items":[],"notFound":[],"unavailable":[4,5]}"#
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            render_v1_error(ApiError::TooManyIds),
            r#"{"error":{"code":"too_many_ids","message":"at most 50 ids per request"}}"#
        );
    }
}
