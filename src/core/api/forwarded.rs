//! The caller's address from a header a trusted reverse proxy sets, for adapters whose peer is
//! that proxy (`STOCK_TRUSTED_PROXY_HEADER` on the local server, `X-Forwarded-For` behind API
//! Gateway's REST stage).

use std::net::IpAddr;

/// The client address from a header a trusted reverse proxy sets (`X-Forwarded-For`,
/// `X-Real-IP`, …): the last entry, the one the nearest proxy appended. Only meaningful when
/// that proxy is the sole way in; otherwise callers can forge it.
pub fn from_proxy_header(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// The same over every line of the header, in the order received. Several lines mean one
/// comma list (RFC 9110, 5.3), and a proxy may append its own line after the caller's: the
/// last entry of the last line is the one the nearest proxy wrote. A line that is not text
/// gives no address rather than an earlier, caller-written one.
pub fn from_proxy_header_lines<'a>(
    lines: impl DoubleEndedIterator<Item = &'a http::HeaderValue>,
) -> Option<IpAddr> {
    let last = lines.into_iter().next_back()?;
    from_proxy_header(last.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn takes_the_entry_the_nearest_proxy_added() {
        assert_eq!(from_proxy_header("203.0.113.9"), "203.0.113.9".parse().ok());
        assert_eq!(
            from_proxy_header("1.1.1.1, 203.0.113.9"),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(
            from_proxy_header("203.0.113.9:4711"),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(from_proxy_header("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(from_proxy_header("unknown"), None);
        assert_eq!(from_proxy_header(""), None);
    }

    #[test]
    fn a_line_the_proxy_appended_wins_over_the_callers_line() {
        let forged = HeaderValue::from_static("198.51.100.1");
        let appended = HeaderValue::from_static("203.0.113.9");
        assert_eq!(
            from_proxy_header_lines([&forged, &appended].into_iter()),
            Some(ip("203.0.113.9"))
        );
        let list = HeaderValue::from_static("198.51.100.1, 198.51.100.2");
        let appended = HeaderValue::from_static("10.0.0.1, 203.0.113.9");
        assert_eq!(
            from_proxy_header_lines([&list, &appended].into_iter()),
            Some(ip("203.0.113.9"))
        );
        // An unreadable last line never falls back to the caller's own line.
        let garbage = HeaderValue::from_bytes(b"\xff").unwrap();
        assert_eq!(
            from_proxy_header_lines([&forged, &garbage].into_iter()),
            None
        );
        assert_eq!(from_proxy_header_lines(std::iter::empty()), None);
    }
}
