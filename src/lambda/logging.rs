//! Logs for CloudWatch: one JSON object per line on stdout (the template's `LogFormat: JSON`).
//!
//! Same output as `native::logging` in JSON mode, but filtered with `Targets` instead of
//! `EnvFilter`: that keeps the regex engine out of the function (about 0.5 MB of the deployable
//! binary). The filter accepts `RUST_LOG`'s level and `target=level` directives
//! (`info`, `warn,b24_stock_gateway=debug`); without `RUST_LOG`, Lambda's own
//! `AWS_LAMBDA_LOG_LEVEL` (set by the function's logging configuration), else `info`. A
//! `RUST_LOG` that does not parse stops init (exit code 2), as every invalid setting does.
//! The HTTP client's crates never log, whatever the filter (`native::logging::SILENCED_CRATES`).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::core::config::ConfigError;
use crate::native::logging::{silence_http_client, FILTER_VAR};

/// The filter from `RUST_LOG`, or `AWS_LAMBDA_LOG_LEVEL`, or `info`.
pub fn filter(lookup: impl Fn(&str) -> Option<String>) -> Result<Targets, ConfigError> {
    if let Some(directives) = lookup(FILTER_VAR).filter(|v| !v.trim().is_empty()) {
        return directives
            .trim()
            .parse::<Targets>()
            .map_err(|_| ConfigError {
                variable: FILTER_VAR,
                reason: "is not a log filter (a level such as info, or target=level directives)"
                    .into(),
            });
    }
    let level = lookup("AWS_LAMBDA_LOG_LEVEL")
        .and_then(|v| v.trim().to_ascii_lowercase().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    Ok(Targets::new().with_default(level))
}

/// Installs the JSON subscriber (a second call is harmless).
pub fn init(filter: Targets) {
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_writer(std::io::stdout);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .with(silence_http_client())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn with(vars: &[(&str, &str)]) -> Targets {
        try_with(vars).unwrap()
    }

    fn try_with(vars: &[(&str, &str)]) -> Result<Targets, ConfigError> {
        filter(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn rust_log_then_lambda_level_then_info() {
        assert!(with(&[]).would_enable("b24_stock_gateway", &Level::INFO));
        assert!(!with(&[]).would_enable("b24_stock_gateway", &Level::DEBUG));
        let warn = with(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
        assert!(!warn.would_enable("x", &Level::INFO));
        let directives = with(&[
            ("RUST_LOG", "warn,b24_stock_gateway=debug"),
            ("AWS_LAMBDA_LOG_LEVEL", "ERROR"),
        ]);
        assert!(directives.would_enable("b24_stock_gateway::core", &Level::DEBUG));
        assert!(!directives.would_enable("hyper", &Level::INFO));
    }

    #[test]
    fn a_malformed_rust_log_is_refused() {
        let error = try_with(&[("RUST_LOG", "info,x=loud")]).unwrap_err();
        assert_eq!(error.variable, "RUST_LOG");
    }
}
