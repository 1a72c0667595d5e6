//! `RUST_LOG` and `STOCK_LOG_FORMAT` for adapters without `tracing-subscriber` (the Worker):
//! one level for everything, and pretty or JSON lines. Values that the native adapters would
//! refuse are refused here too, so a typo never passes silently on one runtime only.

use tracing::level_filters::LevelFilter;

use super::error::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// The last level `RUST_LOG` names (`info` when it names none).
    pub max_level: LevelFilter,
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            max_level: LevelFilter::INFO,
            json: false,
        }
    }
}

impl LogSettings {
    /// Reads `RUST_LOG` (a level, or `target=level` and bare target directives) and
    /// `STOCK_LOG_FORMAT` (`pretty` or `json`); unset or empty keeps the default.
    pub fn from_values(filter: Option<&str>, format: Option<&str>) -> Result<Self, ConfigError> {
        let json = match format.map(str::trim) {
            None | Some("") | Some("pretty") => false,
            Some("json") => true,
            Some(_) => {
                return Err(ConfigError::new(
                    "STOCK_LOG_FORMAT",
                    "must be pretty or json",
                ))
            }
        };
        let mut max_level = LevelFilter::INFO;
        for directive in filter.unwrap_or("").split(',').map(str::trim) {
            if directive.is_empty() {
                continue;
            }
            let (target, level) = match directive.rsplit_once('=') {
                Some((target, level)) => (target, Some(level)),
                None => match directive.parse::<LevelFilter>() {
                    Ok(level) => {
                        max_level = level;
                        continue;
                    }
                    Err(_) => (directive, None),
                },
            };
            // `target=` names no level (the native filter reads it as every level of target).
            let level = level
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::parse::<LevelFilter>);
            if target.trim().is_empty() || matches!(level, Some(Err(_))) {
                return Err(ConfigError::new(
                    "RUST_LOG",
                    "is not a log filter (a level such as info, or target=level directives)",
                ));
            }
            if let Some(Ok(level)) = level {
                max_level = level;
            }
        }
        Ok(Self { max_level, json })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(filter: &str, format: &str) -> Result<LogSettings, &'static str> {
        LogSettings::from_values(Some(filter), Some(format)).map_err(|e| e.variable)
    }

    #[test]
    fn defaults_when_unset_or_empty() {
        assert_eq!(
            LogSettings::from_values(None, None),
            Ok(LogSettings::default())
        );
        assert_eq!(read("", ""), Ok(LogSettings::default()));
    }

    #[test]
    fn the_last_level_named_wins() {
        let levels = |filter| read(filter, "json").map(|s| (s.max_level, s.json));
        assert_eq!(levels("debug"), Ok((LevelFilter::DEBUG, true)));
        assert_eq!(levels("WARN"), Ok((LevelFilter::WARN, true)));
        assert_eq!(levels("off"), Ok((LevelFilter::OFF, true)));
        assert_eq!(
            levels("info,b24_stock_gateway::core=trace"),
            Ok((LevelFilter::TRACE, true))
        );
        // A bare word is a target, as for the native adapters' filter.
        assert_eq!(levels("b24_stock_gateway"), Ok((LevelFilter::INFO, true)));
        assert_eq!(levels("loud"), Ok((LevelFilter::INFO, true)));
    }

    #[test]
    fn refuses_what_the_native_adapters_refuse() {
        assert_eq!(read("info", "xml"), Err("STOCK_LOG_FORMAT"));
        assert_eq!(read("info,x=loud", "pretty"), Err("RUST_LOG"));
        assert_eq!(read("debug,x=verbose", "pretty"), Err("RUST_LOG"));
        assert_eq!(read("=info", "pretty"), Err("RUST_LOG"));
    }
}
