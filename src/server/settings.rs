//! The local server's own settings (the core's are in `core::config`): where the client address
//! comes from, and how long and how many connections a caller may hold.

use std::time::Duration;

use axum::http::HeaderName;

use crate::core::config::ConfigError;

pub const TRUSTED_PROXY_HEADER_VAR: &str = "STOCK_TRUSTED_PROXY_HEADER";
pub const HEADER_TIMEOUT_VAR: &str = "STOCK_HEADER_TIMEOUT_MS";
pub const BODY_TIMEOUT_VAR: &str = "STOCK_BODY_TIMEOUT_MS";
pub const MAX_CONNECTIONS_VAR: &str = "STOCK_MAX_CONNECTIONS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// A header set by a trusted reverse proxy to read the client address from; otherwise the
    /// peer address is the client.
    pub trusted_proxy_header: Option<HeaderName>,
    pub limits: ConnectionLimits,
}

/// What keeps slow or numerous connections from tying the server up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the first byte a request head is awaited (also on an idle keep-alive connection)
    /// until its last header line: past it the connection is closed.
    pub header_timeout: Duration,
    /// For the whole request body, once the head has arrived: past it the caller gets a 408
    /// and the connection is closed.
    pub body_timeout: Duration,
    /// Open connections at most; further ones wait, unaccepted, until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            // Under the common 1024 open-file limit, with room for the portal connections.
            max_connections: 512,
        }
    }
}

impl ServerSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let trusted_proxy_header = match get(TRUSTED_PROXY_HEADER_VAR) {
            None => None,
            Some(name) => Some(HeaderName::try_from(name.trim()).map_err(|_| ConfigError {
                variable: TRUSTED_PROXY_HEADER_VAR,
                reason: "must be a header name".into(),
            })?),
        };
        let defaults = ConnectionLimits::default();
        let millis = |name: &'static str, default: Duration| match get(name) {
            None => Ok(default),
            Some(v) => number_in(name, &v, 100, 600_000).map(Duration::from_millis),
        };
        let limits = ConnectionLimits {
            header_timeout: millis(HEADER_TIMEOUT_VAR, defaults.header_timeout)?,
            body_timeout: millis(BODY_TIMEOUT_VAR, defaults.body_timeout)?,
            max_connections: match get(MAX_CONNECTIONS_VAR) {
                None => defaults.max_connections,
                Some(v) => number_in(MAX_CONNECTIONS_VAR, &v, 1, 100_000)? as usize,
            },
        };
        Ok(Self {
            trusted_proxy_header,
            limits,
        })
    }
}

fn number_in(variable: &'static str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ConfigError {
            variable,
            reason: format!("must be a whole number from {min} to {max}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<ServerSettings, ConfigError> {
        ServerSettings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_are_bounded() {
        let s = read(&[]).unwrap();
        assert_eq!(s.trusted_proxy_header, None);
        assert_eq!(s.limits, ConnectionLimits::default());
    }

    #[test]
    fn reads_every_variable() {
        let s = read(&[
            (TRUSTED_PROXY_HEADER_VAR, " X-Forwarded-For "),
            (HEADER_TIMEOUT_VAR, "2500"),
            (BODY_TIMEOUT_VAR, "4000"),
            (MAX_CONNECTIONS_VAR, "64"),
        ])
        .unwrap();
        assert_eq!(s.trusted_proxy_header.unwrap().as_str(), "x-forwarded-for");
        assert_eq!(s.limits.header_timeout, Duration::from_millis(2500));
        assert_eq!(s.limits.body_timeout, Duration::from_millis(4000));
        assert_eq!(s.limits.max_connections, 64);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            (TRUSTED_PROXY_HEADER_VAR, "not a header"),
            (HEADER_TIMEOUT_VAR, "0"),
            (HEADER_TIMEOUT_VAR, "soon"),
            (BODY_TIMEOUT_VAR, "600001"),
            (MAX_CONNECTIONS_VAR, "0"),
            (MAX_CONNECTIONS_VAR, "-1"),
        ] {
            assert_eq!(read(&[(var, value)]).unwrap_err().variable, var, "{value}");
        }
    }
}
