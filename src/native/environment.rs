//! The process environment as the settings see it.

use crate::core::config::variables::refuse_unknown;
use crate::core::config::ConfigError;

/// Refuses a `STOCK_*` variable of this process that the gateway does not know (a typo would
/// leave its setting at the default), naming the closest known one.
pub fn refuse_unknown_variables() -> Result<(), ConfigError> {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    refuse_unknown(names.iter().map(String::as_str))
}
