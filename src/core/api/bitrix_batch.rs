//! Reading a caller's Bitrix `batch`: `{"halt":0|1,"cmd":{key:"catalog.storeproduct.get?id=N"}}`
//! (or `cmd` as an array), as JSON, as a PHP-style form (`cmd[key]=…`), or in the query.
//!
//! The gateway parses each command itself and forwards nothing of the caller's text: only the
//! method and `id` count; other parameters (SDK bookkeeping such as `__order`) and empty pieces
//! are ignored. Another method, a nested batch, a `$result[...]` reference or a repeated `id`
//! refuses the whole batch before anything reaches the portal.

use serde_json::Value;

use super::request::InboundBody;
use crate::core::domain::error::{ApiError, BatchProblem};
use crate::core::domain::id::{IdError, RecordId};
use crate::core::portal::command::MAX_BATCH_COMMANDS;

/// The longest command key we echo back.
const MAX_KEY_CHARS: usize = 64;
/// The longest key read as an integer index (`cmd[7]`); longer digit strings are names.
const MAX_INDEX_DIGITS: usize = 9;

/// A caller's batch: its commands in order, each under the caller's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerBatch {
    pub halt: bool,
    pub commands: Vec<(String, Requested)>,
}

/// One command: a record to read, or what is wrong with its id (answered under its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Record(RecordId),
    Refused(ApiError),
}

pub fn parse_batch(
    content_type: Option<&str>,
    body: &InboundBody,
    query: Option<&str>,
) -> Result<CallerBatch, ApiError> {
    let (halt, raw) = match body {
        InboundBody::TooLarge => return Err(ApiError::PayloadTooLarge),
        InboundBody::Empty => from_pairs(query.unwrap_or(""))?,
        InboundBody::Complete(bytes) => {
            let media = content_type
                .and_then(|ct| ct.split(';').next())
                .map(|m| m.trim().to_ascii_lowercase());
            match media.as_deref() {
                Some("application/json") => from_json(bytes)?,
                Some("application/x-www-form-urlencoded") => {
                    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::InvalidBody)?;
                    from_pairs(text)?
                }
                _ => return Err(ApiError::UnsupportedMediaType),
            }
        }
    };
    if raw.is_empty() {
        return Err(ApiError::InvalidBatch(BatchProblem::Empty));
    }
    if raw.len() > MAX_BATCH_COMMANDS {
        return Err(ApiError::InvalidBatch(BatchProblem::TooLong));
    }
    let commands = raw
        .into_iter()
        .map(|(key, text)| {
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(ApiError::InvalidBatch(BatchProblem::Malformed));
            }
            Ok((key, parse_command(&text)?))
        })
        .collect::<Result<_, _>>()?;
    Ok(CallerBatch { halt, commands })
}

type Raw = (bool, Vec<(String, String)>);

fn from_json(bytes: &[u8]) -> Result<Raw, ApiError> {
    let root: BatchJson = serde_json::from_slice(bytes).map_err(|_| ApiError::InvalidBody)?;
    let halt = root.halt.as_ref().is_some_and(truthy);
    let text = |value: Value| match value {
        Value::String(s) => Ok(s),
        _ => Err(ApiError::InvalidBatch(BatchProblem::Malformed)),
    };
    let commands = match root.cmd {
        Cmd::Missing => Vec::new(),
        Cmd::Keyed(entries) => entries
            .into_iter()
            .map(|(key, value)| Ok((key, text(value)?)))
            .collect::<Result<_, ApiError>>()?,
        Cmd::Listed(values) => values
            .into_iter()
            .enumerate()
            .map(|(index, value)| Ok((index.to_string(), text(value)?)))
            .collect::<Result<_, ApiError>>()?,
        Cmd::Other => return Err(ApiError::InvalidBatch(BatchProblem::Malformed)),
    };
    Ok((halt, commands))
}

/// A JSON batch, read with `cmd`'s entries in the caller's order: `halt` stops at the first
/// failure in that order, and `serde_json`'s own map would sort the keys.
struct BatchJson {
    halt: Option<Value>,
    cmd: Cmd,
}

enum Cmd {
    Missing,
    Keyed(Vec<(String, Value)>),
    Listed(Vec<Value>),
    Other,
}

impl<'de> serde::Deserialize<'de> for BatchJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Root;
        impl<'de> serde::de::Visitor<'de> for Root {
            type Value = BatchJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<BatchJson, A::Error> {
                let mut batch = BatchJson {
                    halt: None,
                    cmd: Cmd::Missing,
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "halt" => batch.halt = Some(map.next_value()?),
                        "cmd" => batch.cmd = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(batch)
            }
        }
        deserializer.deserialize_map(Root)
    }
}

impl<'de> serde::Deserialize<'de> for Cmd {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Commands;
        impl<'de> serde::de::Visitor<'de> for Commands {
            type Value = Cmd;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object or a list of commands")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Cmd, A::Error> {
                let mut entries: Vec<(String, Value)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    // A repeated key replaces the earlier command, as PHP does.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(existing) => existing.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Cmd::Keyed(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Cmd, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<Value>()? {
                    values.push(value);
                }
                Ok(Cmd::Listed(values))
            }
            fn visit_unit<E>(self) -> Result<Cmd, E> {
                Ok(Cmd::Missing)
            }
            fn visit_none<E>(self) -> Result<Cmd, E> {
                Ok(Cmd::Missing)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Cmd, E> {
                Ok(Cmd::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Cmd, E> {
                Ok(Cmd::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Cmd, E> {
                Ok(Cmd::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Cmd, E> {
                Ok(Cmd::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Cmd, E> {
                Ok(Cmd::Other)
            }
        }
        deserializer.deserialize_any(Commands)
    }
}

/// `halt=1&cmd[a]=…&cmd[]=…`, PHP style: `cmd[]` takes the next free integer key.
fn from_pairs(encoded: &str) -> Result<Raw, ApiError> {
    let mut halt = false;
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut next_index = 0usize;
    for (name, value) in form_urlencoded::parse(encoded.as_bytes()) {
        if name == "halt" {
            halt = truthy(&Value::String(value.into_owned()));
            continue;
        }
        let Some(inner) = name.strip_prefix("cmd[").and_then(|n| n.strip_suffix(']')) else {
            if name == "cmd" {
                return Err(ApiError::InvalidBatch(BatchProblem::Malformed));
            }
            continue;
        };
        if commands.len() > MAX_BATCH_COMMANDS {
            return Err(ApiError::InvalidBatch(BatchProblem::TooLong));
        }
        let key = if inner.is_empty() {
            while commands.iter().any(|(k, _)| *k == next_index.to_string()) {
                next_index = next_index.saturating_add(1);
            }
            next_index.to_string()
        } else if inner.contains(['[', ']']) {
            return Err(ApiError::InvalidBatch(BatchProblem::Malformed));
        } else {
            inner.to_string()
        };
        // An integer key moves the next free one past it, as PHP's do; a key too long to be a
        // small integer is a name (and never overflows the count).
        if let Some(n) = (key.len() <= MAX_INDEX_DIGITS)
            .then(|| key.parse::<usize>().ok())
            .flatten()
        {
            next_index = next_index.max(n + 1);
        }
        // A repeated key replaces the earlier command, as PHP does.
        match commands.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value.into_owned(),
            None => commands.push((key, value.into_owned())),
        }
    }
    Ok((halt, commands))
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => matches!(s.trim(), "1" | "true" | "Y" | "y"),
        _ => false,
    }
}

/// `catalog.storeproduct.get?…id=N…`: the method and `id`, nothing else.
fn parse_command(text: &str) -> Result<Requested, ApiError> {
    let (method, query) = text.split_once('?').unwrap_or((text, ""));
    match method.trim() {
        "catalog.storeproduct.get" | "catalog.storeproduct.get.json" => {}
        _ => return Err(ApiError::InvalidBatch(BatchProblem::MethodNotAllowed)),
    }
    let mut id = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name.contains("$result") || value.contains("$result") {
            return Err(ApiError::InvalidBatch(BatchProblem::Reference));
        }
        if name == "id" {
            if id.is_some() {
                return Err(ApiError::InvalidBatch(BatchProblem::RepeatedId));
            }
            id = Some(value);
        }
    }
    Ok(match id {
        None => Requested::Refused(ApiError::InvalidId(IdError::Missing)),
        Some(value) => match RecordId::parse(&value) {
            Ok(id) => Requested::Record(id),
            Err(IdError::Missing) => Requested::Refused(ApiError::InvalidId(IdError::Missing)),
            Err(e) => Requested::Refused(ApiError::InvalidId(e)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn json(body: &str) -> Result<CallerBatch, ApiError> {
        parse_batch(
            Some("application/json"),
            &InboundBody::from_bytes(Bytes::copy_from_slice(body.as_bytes())),
            Some("bx24_request_id=abc&bx24_sdk_ver=1"),
        )
    }

    fn form(body: &str) -> Result<CallerBatch, ApiError> {
        parse_batch(
            Some("application/x-www-form-urlencoded"),
            &InboundBody::from_bytes(Bytes::copy_from_slice(body.as_bytes())),
            None,
        )
    }

    fn record(n: u64) -> Requested {
        Requested::Record(RecordId::from_u64(n).unwrap())
    }

    #[test]
    fn reads_sdk_shaped_batches() {
        let batch = json(
            r#"{"halt":1,"cmd":{"a":"catalog.storeproduct.get?__order=order0000000000&id=13&","b":"catalog.storeproduct.get?id=14"},"auth":"x"}"#,
        )
        .unwrap();
        assert!(batch.halt);
        assert_eq!(
            batch.commands,
            vec![("a".into(), record(13)), ("b".into(), record(14))]
        );
        let list = json(
            r#"{"cmd":["catalog.storeproduct.get?id=13","catalog.storeproduct.get.json?id=15"]}"#,
        )
        .unwrap();
        assert!(!list.halt);
        assert_eq!(
            list.commands,
            vec![("0".into(), record(13)), ("1".into(), record(15))]
        );
        let form = form("halt=0&cmd%5Bx%5D=catalog.storeproduct.get%3Fid%3D13&cmd[]=catalog.storeproduct.get%3Fid%3D14").unwrap();
        assert_eq!(
            form.commands,
            vec![("x".into(), record(13)), ("0".into(), record(14))]
        );
        let query = parse_batch(
            None,
            &InboundBody::Empty,
            Some("cmd[a]=catalog.storeproduct.get%3Fid%3D9"),
        )
        .unwrap();
        assert_eq!(query.commands, vec![("a".into(), record(9))]);
    }

    #[test]
    fn keys_keep_the_callers_order() {
        let batch = json(
            r#"{"halt":1,"cmd":{"zeta":"catalog.storeproduct.get?id=1","alpha":"catalog.storeproduct.get?id=2","mid":"catalog.storeproduct.get?id=3"}}"#,
        )
        .unwrap();
        let keys: Vec<&str> = batch.commands.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha", "mid"]);
        let repeated =
            json(r#"{"cmd":{"b":"catalog.storeproduct.get?id=1","a":"catalog.storeproduct.get?id=2","b":"catalog.storeproduct.get?id=3"}}"#)
                .unwrap();
        assert_eq!(
            repeated.commands,
            vec![("b".into(), record(3)), ("a".into(), record(2))]
        );
    }

    #[test]
    fn huge_form_indexes_are_names_not_overflows() {
        let batch = form(
            "cmd[18446744073709551615]=catalog.storeproduct.get%3Fid%3D1&cmd[]=catalog.storeproduct.get%3Fid%3D2&cmd[999999999]=catalog.storeproduct.get%3Fid%3D3&cmd[]=catalog.storeproduct.get%3Fid%3D4",
        )
        .unwrap();
        let keys: Vec<&str> = batch.commands.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["18446744073709551615", "0", "999999999", "1000000000"]
        );
    }

    #[test]
    fn id_problems_are_answered_per_key() {
        let batch = json(r#"{"cmd":{"a":"catalog.storeproduct.get","b":"catalog.storeproduct.get?id=0","c":"catalog.storeproduct.get?id="}}"#).unwrap();
        assert_eq!(
            batch.commands.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
            vec![
                Requested::Refused(ApiError::InvalidId(IdError::Missing)),
                Requested::Refused(ApiError::InvalidId(IdError::Invalid)),
                Requested::Refused(ApiError::InvalidId(IdError::Missing)),
            ]
        );
    }

    #[test]
    fn refuses_whole_batches_that_are_not_plain_reads() {
        let refused = |body: &str, problem| {
            assert_eq!(json(body), Err(ApiError::InvalidBatch(problem)), "{body}")
        };
        refused(
            r#"{"cmd":{"a":"crm.deal.list"}}"#,
            BatchProblem::MethodNotAllowed,
        );
        refused(
            r#"{"cmd":{"a":"catalog.storeproduct.list?filter[productId]=1"}}"#,
            BatchProblem::MethodNotAllowed,
        );
        refused(
            r#"{"cmd":{"a":"batch?cmd[b]=catalog.storeproduct.get%3Fid%3D1"}}"#,
            BatchProblem::MethodNotAllowed,
        );
        refused(
            r#"{"cmd":{"a":"catalog.storeproduct.get?id=1","b":"catalog.storeproduct.get?id=$result[a][id]"}}"#,
            BatchProblem::Reference,
        );
        refused(
            r#"{"cmd":{"b":"catalog.storeproduct.get?id=%24result%5Ba%5D"}}"#,
            BatchProblem::Reference,
        );
        refused(
            r#"{"cmd":{"a":"catalog.storeproduct.get?id=1&id=2"}}"#,
            BatchProblem::RepeatedId,
        );
        refused(r#"{"cmd":{}}"#, BatchProblem::Empty);
        refused(r#"{"halt":0}"#, BatchProblem::Empty);
        refused(r#"{"cmd":{"a":13}}"#, BatchProblem::Malformed);
        refused(
            r#"{"cmd":"catalog.storeproduct.get?id=1"}"#,
            BatchProblem::Malformed,
        );
        let long: Vec<String> = (1..=51)
            .map(|n| format!("\"catalog.storeproduct.get?id={n}\""))
            .collect();
        refused(
            &format!(r#"{{"cmd":[{}]}}"#, long.join(",")),
            BatchProblem::TooLong,
        );
        assert_eq!(json("[1]"), Err(ApiError::InvalidBody));
        assert_eq!(json("{"), Err(ApiError::InvalidBody));
        assert_eq!(
            parse_batch(
                Some("text/plain"),
                &InboundBody::from_bytes(Bytes::from_static(b"x")),
                None
            ),
            Err(ApiError::UnsupportedMediaType)
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_only_plain_ids_pass(body in "\\PC{0,120}") {
            if let Ok(batch) = json(&body) {
                prop_assert!(batch.commands.len() <= MAX_BATCH_COMMANDS);
            }
            let _ = form(&body);
        }

        #[test]
        fn every_valid_id_round_trips(ids in proptest::collection::vec(1u32..=i32::MAX as u32, 1..50)) {
            let cmd: Vec<String> = ids.iter().map(|n| format!("\"catalog.storeproduct.get?x=1&id={n}\"")).collect();
            let batch = json(&format!(r#"{{"cmd":[{}]}}"#, cmd.join(","))).unwrap();
            for ((_, requested), n) in batch.commands.iter().zip(&ids) {
                prop_assert_eq!(*requested, record(u64::from(*n)));
            }
        }
    }
}
