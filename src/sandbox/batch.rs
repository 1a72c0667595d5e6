//! The portal's `batch` method: up to 50 commands `method?query` in one request. The batch takes
//! one slot of the leaky bucket; each command is charged its own operating time and gets its own
//! result or error. The answer is PHP-shaped (see `php_array`).
//!
//! A command may name a value of an earlier command's result as `$result[key][field]…`: the
//! reference is replaced by that value (a number or a string; anything else, or nothing there,
//! by an empty string) before the command runs, as the portal does. Nested batches are refused,
//! as on current portals.

use std::fmt;

use axum::body::Bytes;
use axum::response::Response;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{json, Value};

use super::command::{Call, Method};
use super::methods::{Done, Failure, Outcome};
use super::php_array::PhpArray;
use super::php_query::{self, PhpValue};
use super::state::{unix_now, SandboxState, RECENT_BATCHES};
use super::wire::{error, json_bytes, query_limit_exceeded, time_json};
use super::{play, ConnectionKill};

/// The portal's cap on commands per batch.
pub const MAX_COMMANDS: usize = 50;

/// `halt` and `cmd`, from a JSON body, a form body or the query string.
#[derive(Debug, Default, PartialEq)]
struct Request {
    halt: Option<Value>,
    cmd: Option<PhpArray<Value>>,
}

/// The `result` part of the answer; every map is keyed by command key.
#[derive(Default, Serialize)]
struct Results {
    result: PhpArray<Value>,
    result_error: PhpArray<Value>,
    result_total: PhpArray<Value>,
    result_next: PhpArray<Value>,
    result_time: PhpArray<Value>,
}

#[derive(Serialize)]
struct Answer {
    result: Results,
    time: Value,
}

/// Runs a batch request that passed authentication. `json` says how to read the body.
pub async fn run(
    state: &SandboxState,
    query: Option<&str>,
    body: &Bytes,
    json: bool,
    kill: ConnectionKill,
    started: std::time::Duration,
) -> Response {
    let from_body = if json {
        Request::from_json(body)
    } else {
        Request::from_php(body)
    };
    let request = from_body.or(Request::from_php(query.unwrap_or("").as_bytes()));
    let commands = request.cmd.unwrap_or_default();
    let halt = request.halt.as_ref().is_some_and(php_truthy);
    {
        let mut inner = state.lock();
        if !inner.admit_request() {
            return query_limit_exceeded();
        }
        *inner.stats.calls.entry("batch".into()).or_default() += 1;
        inner.stats.last_body = Some(String::from_utf8_lossy(body).into_owned());
        let texts: Vec<String> = commands.iter().map(|(_, c)| text(c)).collect();
        if inner.stats.recent_batches.len() == RECENT_BATCHES {
            inner.stats.recent_batches.pop_front();
        }
        inner.stats.recent_batches.push_back(texts.clone());
        inner.stats.last_batch_commands = Some(texts);
    }
    if commands.len() > MAX_COMMANDS {
        return error(
            400,
            json!("ERROR_BATCH_LENGTH_EXCEEDED"),
            "Max batch length exceeded",
            Some(batch_time(state, started, None)),
        );
    }

    let mut results = Results::default();
    let mut exchange = None;
    let mut played_reset = None;
    for (key, command) in commands.iter() {
        let command_started = unix_now();
        let failure = match prepare(state, command, &results.result) {
            Err(failure) => Some(failure),
            Ok(call) => {
                *state
                    .lock()
                    .stats
                    .commands
                    .entry(call.method.name().into())
                    .or_default() += 1;
                let ran = call.run(state, command_started);
                exchange = exchange.or(ran.exchange);
                match ran.outcome {
                    Outcome::Done(done) => {
                        results.add(key, done, ran.time);
                        None
                    }
                    Outcome::Failed(failure) => Some(failure),
                }
            }
        };
        if let Some(failure) = failure {
            played_reset = played_reset.or(failure.reset_at);
            results.result_error.insert(
                key.to_string(),
                json!({"error": failure.code, "error_description": failure.description}),
            );
            if halt {
                break;
            }
        }
    }
    let answer = Answer {
        result: results,
        time: batch_time(state, started, played_reset),
    };
    let bytes = serde_json::to_vec(&answer).unwrap_or_default();
    match exchange {
        Some(fault) => play::exchange(fault, bytes, kill).await,
        None => json_bytes(200, bytes),
    }
}

impl Results {
    fn add(&mut self, key: &str, done: Done, time: Value) {
        self.result.insert(key.into(), done.result);
        if let Some(total) = done.total {
            self.result_total.insert(key.into(), json!(total));
        }
        if let Some(next) = done.next {
            self.result_next.insert(key.into(), json!(next));
        }
        self.result_time.insert(key.into(), time);
    }
}

/// The batch's own `time`: the accounting after its commands. A command that played an
/// operating-time fault lends the batch its `operating_reset_at` (the first one does), since
/// a `result_error` entry has no `time` of its own.
fn batch_time(state: &SandboxState, started: std::time::Duration, reset: Option<Value>) -> Value {
    let reading = state.lock().operating_reading(None);
    let mut time = time_json(started, reading.used, reading.reset_at);
    if let Some(reset) = reset {
        time["operating_reset_at"] = reset;
    }
    time
}

/// One command, `method?query`, its references to earlier results resolved, checked and
/// ready to run, or its per-command error.
fn prepare(
    state: &SandboxState,
    command: &Value,
    earlier: &PhpArray<Value>,
) -> Result<Call, Failure> {
    let refuse = |status, code: &str, description| Failure {
        status,
        code: json!(code),
        description,
        reset_at: None,
    };
    let not_found = refuse(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    let Some(command) = command.as_str() else {
        return Err(not_found);
    };
    let command = if state.lock().batch_references {
        resolve_references(command, earlier)
    } else {
        command.to_string()
    };
    let (name, query) = command.split_once('?').unwrap_or((&command, ""));
    if name.strip_suffix(".json").unwrap_or(name) == "batch" {
        return Err(refuse(
            400,
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            "Method is not allowed for batch usage",
        ));
    }
    let Some(method) = Method::from_name(name) else {
        return Err(not_found);
    };
    let params = php_query::parse(query.as_bytes());
    Ok(Call::new(state, method, php_query::params(&params)))
}

/// `text` with every `$result[key][field]…` replaced by that value of the earlier results.
fn resolve_references(text: &str, earlier: &PhpArray<Value>) -> String {
    const MARK: &str = "$result";
    let mut resolved = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        resolved.push_str(&rest[..at]);
        rest = &rest[at + MARK.len()..];
        let mut path = Vec::new();
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            path.push(&inner[..end]);
            rest = &inner[end + 1..];
        }
        let value = path.split_first().and_then(|(key, fields)| {
            fields
                .iter()
                .try_fold(earlier.get(key)?, |value, field| match value {
                    Value::Object(map) => map.get(*field),
                    Value::Array(list) => list.get(field.parse::<usize>().ok()?),
                    _ => None,
                })
        });
        match value {
            Some(Value::String(text)) => resolved.push_str(text),
            Some(Value::Number(number)) => resolved.push_str(&number.to_string()),
            Some(Value::Bool(true)) => resolved.push('1'),
            _ => {}
        }
    }
    resolved.push_str(rest);
    resolved
}

/// A command as the stats show it: the string, or the JSON of whatever else was sent.
fn text(command: &Value) -> String {
    match command {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// PHP's `(bool)` cast.
fn php_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s == "0"),
        Value::Array(list) => !list.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

impl Request {
    /// A JSON body; anything unreadable is an empty request, as PHP's `json_decode` failing is.
    fn from_json(body: &[u8]) -> Self {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Body {
            halt: Option<Value>,
            cmd: Option<Commands>,
        }
        let body: Body = serde_json::from_slice(body).unwrap_or_default();
        Self {
            halt: body.halt,
            cmd: body.cmd.map(|c| c.0),
        }
    }

    /// A PHP-style form body or query string: `halt=0&cmd[a]=...` or `cmd[]=...`.
    fn from_php(bytes: &[u8]) -> Self {
        let top = php_query::parse(bytes);
        let cmd = top.get("cmd").map(|cmd| match cmd {
            PhpValue::Array(list) => list.map(PhpValue::to_json),
            // `cmd=text` is no list of commands.
            PhpValue::Str(_) => PhpArray::new(),
        });
        Self {
            halt: top.get("halt").map(PhpValue::to_json),
            cmd,
        }
    }

    /// This request's fields, else `other`'s (the body wins over the query string).
    fn or(self, other: Request) -> Request {
        Request {
            halt: self.halt.or(other.halt),
            cmd: self.cmd.or(other.cmd),
        }
    }
}

/// `cmd` in a JSON body, in the order sent: an object's keys, or 0..n-1 for an array.
/// (A `serde_json::Map` would sort the keys; order decides `halt` and which fault plays.)
struct Commands(PhpArray<Value>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CommandsVisitor)
    }
}

struct CommandsVisitor;

impl<'de> Visitor<'de> for CommandsVisitor {
    type Value = Commands;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or an array of commands")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Commands, A::Error> {
        let mut commands = PhpArray::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            commands.insert(key, value);
        }
        Ok(Commands(commands))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Commands, A::Error> {
        let mut commands = PhpArray::new();
        while let Some(value) = seq.next_element::<Value>()? {
            commands.push(value);
        }
        Ok(Commands(commands))
    }

    // Any other JSON is no list of commands.
    fn visit_bool<E>(self, _: bool) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
    fn visit_unit<E>(self) -> Result<Commands, E> {
        Ok(Commands(PhpArray::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(request: &Request) -> Vec<String> {
        request
            .cmd
            .as_ref()
            .map(|c| c.iter().map(|(k, _)| k.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn json_commands_keep_their_order() {
        let request =
            Request::from_json(br#"{"halt":1,"cmd":{"z":"a?id=1","b":"b","m":"c","b":"d"}}"#);
        assert_eq!(keys(&request), ["z", "b", "m"]);
        assert_eq!(
            request.cmd.as_ref().and_then(|c| c.get("b")),
            Some(&json!("d"))
        );
        assert_eq!(request.halt, Some(json!(1)));
        let request = Request::from_json(br#"{"cmd":["x","y"]}"#);
        assert_eq!(keys(&request), ["0", "1"]);
        for odd in [&br#"{"cmd":"x"}"#[..], br#"{"cmd":7}"#, b"[1]", b"{oops"] {
            assert!(keys(&Request::from_json(odd)).is_empty());
        }
        assert_eq!(Request::from_json(br#"{"cmd":null}"#).cmd, None);
    }

    #[test]
    fn form_commands_keep_their_order_and_the_body_wins() {
        let body = Request::from_php(b"halt=0&cmd[z]=a%3Fid%3D1&cmd[b]=b");
        assert_eq!(keys(&body), ["z", "b"]);
        assert_eq!(body.halt, Some(json!("0")));
        let query = Request::from_php(b"halt=1&cmd[]=q");
        let merged = body.or(query);
        assert_eq!(keys(&merged), ["z", "b"]);
        assert_eq!(merged.halt, Some(json!("0")));
        let merged = Request::from_php(b"").or(Request::from_php(b"halt=1&cmd[]=q"));
        assert_eq!(keys(&merged), ["0"]);
    }

    #[test]
    fn halt_is_php_truthy() {
        for yes in [json!(1), json!("1"), json!(true), json!("true")] {
            assert!(php_truthy(&yes), "{yes}");
        }
        for no in [json!(0), json!("0"), json!(""), json!(false), json!(null)] {
            assert!(!php_truthy(&no), "{no}");
        }
    }

    #[test]
    fn references_take_earlier_values() {
        let mut earlier = PhpArray::new();
        earlier.insert(
            "c0".into(),
            json!({"storeProduct": {"productId": 6973, "code": "x7"}, "rows": [4, 5]}),
        );
        let resolve = |text| resolve_references(text, &earlier);
        assert_eq!(
            resolve("catalog.product.get?id=$result[c0][storeProduct][productId]"),
            "catalog.product.get?id=6973"
        );
        assert_eq!(
            resolve("m?a=$result[c0][storeProduct][code]&b=$result[c0][rows][1]"),
            "m?a=x7&b=5"
        );
        assert_eq!(
            resolve("m?id=$result[c9][storeProduct][productId]"),
            "m?id="
        );
        assert_eq!(
            resolve("m?id=$result[c0][storeProduct]"),
            "m?id=",
            "not a value"
        );
        assert_eq!(resolve("m?id=13"), "m?id=13");
    }
}
