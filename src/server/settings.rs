//! The local server's own settings (the core's are in `core::config`): where the client address
//! comes from, and how long and how many connections a caller may hold.

use std::time::Duration;

use axum::http::HeaderName;

use crate::core::config::variables::Vars;
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
    /// The table's defaults: 10 s for a head and for a body, and 512 connections (under the
    /// common 1024 open-file limit, with room for the portal connections).
    fn default() -> Self {
        ServerSettings::from_lookup(|_| None)
            .map(|settings| settings.limits)
            .unwrap_or_else(|error| unreachable!("{error}"))
    }
}

impl ServerSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(lookup);
        let trusted_proxy_header = match vars.text(TRUSTED_PROXY_HEADER_VAR) {
            None => None,
            Some(name) => Some(HeaderName::try_from(name).map_err(|_| ConfigError {
                variable: TRUSTED_PROXY_HEADER_VAR,
                reason: "must be a header name".into(),
            })?),
        };
        let millis = |name| vars.whole(name).map(Duration::from_millis);
        let limits = ConnectionLimits {
            header_timeout: millis(HEADER_TIMEOUT_VAR)?,
            body_timeout: millis(BODY_TIMEOUT_VAR)?,
            max_connections: vars.whole(MAX_CONNECTIONS_VAR)? as usize,
        };
        Ok(Self {
            trusted_proxy_header,
            limits,
        })
    }
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
