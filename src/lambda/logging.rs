//! Logs for CloudWatch: one JSON object per line on stdout (the template's `LogFormat: JSON`).
//!
//! Same output as `native::logging` in JSON mode, but filtered with `Targets` instead of
//! `EnvFilter`: that keeps the regex engine out of the function (about 0.5 MB of the deployable
//! binary). The filter accepts `RUST_LOG`'s level and `target=level` directives
//! (`info`, `warn,b24_stock_gateway=debug`); without `RUST_LOG`, Lambda's own
//! `AWS_LAMBDA_LOG_LEVEL` (set by the function's logging configuration), else `info`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter from `RUST_LOG`, or `AWS_LAMBDA_LOG_LEVEL`, or `info`.
pub fn filter(lookup: impl Fn(&str) -> Option<String>) -> Targets {
    let from_rust_log = lookup("RUST_LOG")
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| v.trim().parse::<Targets>().ok());
    from_rust_log.unwrap_or_else(|| {
        let level = lookup("AWS_LAMBDA_LOG_LEVEL")
            .and_then(|v| v.trim().to_ascii_lowercase().parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::INFO);
        Targets::new().with_default(level)
    })
}

/// Installs the JSON subscriber (a second call is harmless).
pub fn init() {
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_writer(std::io::stdout);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter(|name| std::env::var(name).ok()))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn with(vars: &[(&str, &str)]) -> Targets {
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
}
