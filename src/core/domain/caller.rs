//! The caller's address, as the platform's trusted source reports it, and what per-caller
//! limits count by.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// Put in the request's extensions by the adapter (peer address, request context,
/// `CF-Connecting-IP`); never read from a header the caller controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// What a per-caller limit counts requests by: an IPv4 address, or the /64 an IPv6 address
/// belongs to. One subscriber usually holds a whole /64 and can rotate freely inside it, so
/// counting single IPv6 addresses would let one caller walk past any limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallerKey {
    V4([u8; 4]),
    /// The first 64 bits.
    V6Prefix64(u64),
}

/// The key for `ip`; the one function every limiter (in-process and platform bindings) uses.
/// An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as dual-stack sockets report IPv4
/// peers) is that IPv4 address.
pub fn caller_key(ip: IpAddr) -> CallerKey {
    match ip {
        IpAddr::V4(v4) => CallerKey::V4(v4.octets()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => CallerKey::V4(v4.octets()),
            None => CallerKey::V6Prefix64((v6.to_bits() >> 64) as u64),
        },
    }
}

/// `203.0.113.7`, or `2001:db8:1:2::/64`: usable as a platform rate-limit key.
impl fmt::Display for CallerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallerKey::V4(octets) => IpAddr::from(*octets).fmt(f),
            CallerKey::V6Prefix64(prefix) => {
                write!(f, "{}/64", Ipv6Addr::from_bits(u128::from(*prefix) << 64))
            }
        }
    }
}

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

    #[test]
    fn ipv6_callers_are_counted_by_their_slash_64() {
        let a = caller_key(ip("2001:db8:1:2:aaaa::1"));
        let b = caller_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let other = caller_key(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(caller_key(ip("::1")).to_string(), "::/64");
    }

    #[test]
    fn ipv4_and_ipv4_mapped_ipv6_are_the_same_caller() {
        let v4 = caller_key(ip("203.0.113.7"));
        assert_eq!(caller_key(ip("::ffff:203.0.113.7")), v4);
        assert_ne!(caller_key(ip("203.0.113.8")), v4);
        assert_eq!(v4.to_string(), "203.0.113.7");
    }
}
