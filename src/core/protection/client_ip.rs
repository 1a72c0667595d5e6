//! The caller's address, as the platform's trusted source reports it.

use std::net::IpAddr;

/// Put in the request's extensions by the adapter (peer address, request context,
/// `CF-Connecting-IP`); never read from a header the caller controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The client address from a header a trusted reverse proxy sets (`X-Forwarded-For`,
/// `X-Real-IP`, …): the last entry, the one the nearest proxy appended. Only meaningful when
/// that proxy is the sole way in; otherwise callers can forge it.
pub fn from_proxy_header(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
