//! `tracing` to the Workers console, one line per event: `LEVEL message key=value ...`, with
//! the fields of the enclosing spans (the request id) first, or with `STOCK_LOG_FORMAT=json`
//! one JSON object (`{"level":"INFO","message":"request","request_id":...}`). `wrangler dev` prints these lines;
//! deployed, they land in Workers Logs (`[observability]` in wrangler.toml). Errors and
//! warnings go to `console.error` / `console.warn`, the rest to `console.log`.
//!
//! Hand-written instead of `tracing-subscriber` to keep regex and friends out of the bundle.

use std::collections::HashMap;
use std::fmt::{self, Write};
use std::sync::{Mutex, Once};

use serde_json::{Map, Value};

use crate::core::config::log_settings::LogSettings;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

type Pairs = Vec<(&'static str, Value)>;

struct SpanData {
    fields: Pairs,
    refs: usize,
}

#[derive(Default)]
struct Spans {
    next_id: u64,
    live: HashMap<u64, SpanData>,
    /// Entered spans, innermost last. Wasm is single-threaded: one stack is the truth.
    entered: Vec<u64>,
}

pub struct ConsoleSubscriber {
    max_level: LevelFilter,
    json: bool,
    spans: Mutex<Spans>,
}

impl ConsoleSubscriber {
    pub fn new(max_level: LevelFilter, json: bool) -> Self {
        Self {
            max_level,
            json,
            spans: Mutex::new(Spans::default()),
        }
    }

    fn spans(&self) -> std::sync::MutexGuard<'_, Spans> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fields of the entered spans, outermost first (the request id).
    fn context(&self) -> Pairs {
        // try_lock: a panic while the lock is held must still be reported.
        let Ok(spans) = self.spans.try_lock() else {
            return Pairs::new();
        };
        spans
            .entered
            .iter()
            .filter_map(|id| spans.live.get(id))
            .flat_map(|s| s.fields.iter().cloned())
            .collect()
    }

    fn render(&self, level: Level, message: &str, pairs: Pairs) -> String {
        if self.json {
            let mut object = Map::new();
            object.insert("level".into(), Value::from(level.as_str()));
            object.insert("message".into(), Value::from(message));
            for (key, value) in pairs {
                object.insert(key.into(), value);
            }
            return Value::Object(object).to_string();
        }
        let mut text = format!("{level} {message}");
        let mut written: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            // A field both of the span and of the event (the request id) is written once.
            if written.contains(&key) {
                continue;
            }
            written.push(key);
            match value {
                Value::String(v) if v.is_empty() || v.contains([' ', '"', '=']) => {
                    let _ = write!(text, " {key}={v:?}");
                }
                Value::String(v) => {
                    let _ = write!(text, " {key}={v}");
                }
                other => {
                    let _ = write!(text, " {key}={other}");
                }
            }
        }
        text
    }
}

/// An event's or span's fields; the `message` field is kept apart.
#[derive(Default)]
struct Line {
    message: String,
    pairs: Pairs,
}

impl Visit for Line {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.pairs.push((field.name(), Value::from(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pairs.push((field.name(), Value::from(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pairs.push((field.name(), Value::from(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pairs.push((field.name(), Value::from(value)));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.pairs.push((field.name(), Value::from(value)));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.pairs
                .push((field.name(), Value::String(format!("{value:?}"))));
        }
    }
}

impl Subscriber for ConsoleSubscriber {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= &self.max_level
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max_level)
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut line = Line::default();
        attributes.record(&mut line);
        let mut spans = self.spans();
        spans.next_id += 1;
        let id = spans.next_id;
        spans.live.insert(
            id,
            SpanData {
                fields: line.pairs,
                refs: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut line = Line::default();
        values.record(&mut line);
        if let Some(data) = self.spans().live.get_mut(&span.into_u64()) {
            data.fields.extend(line.pairs);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        let level = *event.metadata().level();
        let mut pairs = self.context();
        pairs.extend(line.pairs);
        emit(level, &self.render(level, &line.message, pairs));
    }

    fn enter(&self, span: &Id) {
        self.spans().entered.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut spans = self.spans();
        let id = span.into_u64();
        if let Some(at) = spans.entered.iter().rposition(|s| *s == id) {
            spans.entered.remove(at);
        }
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(data) = self.spans().live.get_mut(&span.into_u64()) {
            data.refs += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut spans = self.spans();
        let id = span.into_u64();
        let closed = match spans.live.get_mut(&id) {
            Some(data) if data.refs > 1 => {
                data.refs -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if closed {
            spans.live.remove(&id);
        }
        closed
    }
}

fn emit(level: Level, text: &str) {
    if level == Level::ERROR {
        worker::console_error!("{text}");
    } else if level == Level::WARN {
        worker::console_warn!("{text}");
    } else {
        worker::console_log!("{text}");
    }
}

static INIT: Once = Once::new();

/// Installs the console subscriber once per isolate; `json` for one JSON object per line
/// (`STOCK_LOG_FORMAT=json`), which Workers Logs indexes field by field.
/// `settings` is read only on the first call.
pub fn init(settings: impl FnOnce() -> LogSettings) {
    INIT.call_once(|| {
        let LogSettings { max_level, json } = settings();
        let _ = tracing::subscriber::set_global_default(ConsoleSubscriber::new(max_level, json));
    });
}

/// The panic hook: one error-level line with the panic's message and place (never a secret:
/// nothing in this crate formats the webhook), so a panic does not go unnoticed. The runtime
/// then fails the request with a 500 and the worker-build shim re-creates the Wasm instance.
pub fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let text = info.to_string().replace('\n', " ");
    worker::console_error!("ERROR panic: {text}");
}
