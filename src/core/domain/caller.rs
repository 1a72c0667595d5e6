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

impl CallerKey {
    /// Reads [`CallerKey`]'s `Display` form back (the coordinator's wire carries it).
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_suffix("/64") {
            Some(prefix) => {
                let v6 = prefix.parse::<Ipv6Addr>().ok()?;
                Some(CallerKey::V6Prefix64((v6.to_bits() >> 64) as u64))
            }
            None => Some(CallerKey::V4(
                text.parse::<std::net::Ipv4Addr>().ok()?.octets(),
            )),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
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

    #[test]
    fn keys_read_back_from_their_text() {
        for ip in ["203.0.113.7", "2001:db8:1:2:3:4:5:6", "::ffff:198.51.100.4"] {
            let key = caller_key(ip.parse().unwrap());
            assert_eq!(CallerKey::parse(&key.to_string()), Some(key), "{ip}");
        }
        for bad in ["", "x", "2001:db8::", "1.2.3.4/64", "1.2.3"] {
            assert_eq!(CallerKey::parse(bad), None, "{bad}");
        }
    }
}
