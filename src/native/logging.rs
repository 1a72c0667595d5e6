//! `tracing` to stdout, pretty or JSON, filtered by `RUST_LOG`. Both settings are read and
//! checked before anything starts, like every other setting.
//!
//! Whatever the filter, the HTTP client's crates never log: at debug and trace they name the
//! portal's host and port and more of the outbound request, which is the webhook's territory.

use std::io::IsTerminal;

use tracing_subscriber::filter::{filter_fn, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::core::config::ConfigError;

pub const LOG_FORMAT_VAR: &str = "STOCK_LOG_FORMAT";
pub const FILTER_VAR: &str = "RUST_LOG";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    /// `STOCK_LOG_FORMAT=json` or `pretty`; unset or empty keeps `default`; anything else is
    /// a configuration error.
    pub fn from_value(value: Option<&str>, default: LogFormat) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None | Some("") => Ok(default),
            Some("json") => Ok(LogFormat::Json),
            Some("pretty") => Ok(LogFormat::Pretty),
            Some(_) => Err(ConfigError {
                variable: LOG_FORMAT_VAR,
                reason: "must be pretty or json".into(),
            }),
        }
    }
}

/// The crates of the outbound HTTP stack, kept out of every log.
pub const SILENCED_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tokio_rustls",
    "webpki",
];

/// True for events of the crates in [`SILENCED_CRATES`] (and their modules).
pub fn is_silenced(target: &str) -> bool {
    SILENCED_CRATES.iter().any(|name| {
        target
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// A filter that drops [`SILENCED_CRATES`]; it sits beside the user's filter, so no directive
/// (`hyper=trace`, `reqwest::connect=debug`) can turn them back on.
pub fn silence_http_client() -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    filter_fn(|metadata| !is_silenced(metadata.target()))
}

/// `RUST_LOG` as a filter: unset or empty means `info`; a value that does not parse is a
/// configuration error (the value is not repeated: it names the variable only).
pub fn filter_from(value: Option<&str>) -> Result<EnvFilter, ConfigError> {
    match value.map(str::trim) {
        None | Some("") => Ok(EnvFilter::new("info")),
        Some(directives) => EnvFilter::builder()
            .parse(directives)
            .map_err(|_| ConfigError {
                variable: FILTER_VAR,
                reason: "is not a log filter (a level such as info, or target=level directives)"
                    .into(),
            }),
    }
}

/// What the logger needs, read and checked up front.
#[derive(Debug)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: EnvFilter,
}

impl LogSettings {
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        default_format: LogFormat,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            format: LogFormat::from_value(lookup(LOG_FORMAT_VAR).as_deref(), default_format)?,
            filter: filter_from(lookup(FILTER_VAR).as_deref())?,
        })
    }
}

/// Installs the subscriber. Colour only when stdout is a terminal: files, pipes and journald
/// get plain text. A second init (tests) is harmless: the first subscriber stays.
pub fn init(settings: LogSettings) {
    let ansi = std::io::stdout().is_terminal();
    let registry = tracing_subscriber::registry()
        .with(settings.filter)
        .with(silence_http_client());
    let _ = match settings.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stdout),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(ansi)
                    .with_writer(std::io::stdout),
            )
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let json = LogFormat::from_value(Some("json"), LogFormat::Pretty);
        assert_eq!(json, Ok(LogFormat::Json));
        let unset = LogFormat::from_value(None, LogFormat::Json);
        assert_eq!(unset, Ok(LogFormat::Json));
        let empty = LogFormat::from_value(Some(" "), LogFormat::Pretty);
        assert_eq!(empty, Ok(LogFormat::Pretty));
        let xml = LogFormat::from_value(Some("xml"), LogFormat::Pretty).unwrap_err();
        assert_eq!(xml.variable, LOG_FORMAT_VAR);
    }

    #[test]
    fn filters() {
        assert!(filter_from(None).is_ok());
        assert!(filter_from(Some("warn,b24_stock_gateway=debug")).is_ok());
        for bad in ["info,x=loud", "x[{=debug", "debug,a=b=c"] {
            let error = filter_from(Some(bad)).unwrap_err();
            assert_eq!(error.variable, FILTER_VAR, "{bad}");
            assert!(!error.to_string().contains(bad), "{error}");
        }
    }

    #[test]
    fn the_http_client_crates_are_silenced_and_nothing_else() {
        for target in [
            "reqwest",
            "reqwest::connect",
            "hyper_util::client::legacy",
            "h2",
        ] {
            assert!(is_silenced(target), "{target}");
        }
        for target in [
            "b24_stock_gateway::native",
            "hyperloop",
            "tower",
            "lambda_runtime",
        ] {
            assert!(!is_silenced(target), "{target}");
        }
    }
}
