//! Absolute `http(s)://` URLs, read the strict way the gateway needs them (the webhook, allowed
//! origins): a scheme, a lower-case ASCII host (a name, IPv4, or a bracketed IPv6 literal), an
//! optional port, a path and nothing else the caller did not ask for. A small checked parser
//! over `http::Uri`, instead of a general URL crate (and its Unicode tables) in the Worker.

use std::net::{IpAddr, Ipv6Addr};

/// An `http(s)` URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub https: bool,
    /// Lower case; an IPv6 literal keeps its brackets.
    pub host: String,
    /// `None` when absent or the scheme's default.
    pub port: Option<u16>,
    pub path: String,
    pub has_userinfo: bool,
    pub has_query: bool,
    pub has_fragment: bool,
}

impl HttpUrl {
    /// `None` for anything that is not an absolute `http`/`https` URL with a valid host.
    pub fn parse(text: &str) -> Option<Self> {
        let has_fragment = text.contains('#');
        let uri: http::Uri = text.parse().ok()?;
        let https = match uri.scheme_str()? {
            s if s.eq_ignore_ascii_case("https") => true,
            s if s.eq_ignore_ascii_case("http") => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let host = authority.host().to_ascii_lowercase();
        if !valid_host(&host) {
            return None;
        }
        // After the host, nothing, or `:` and a port number in 1..=65535.
        let host_and_port = authority.as_str().rsplit('@').next().unwrap_or_default();
        let after_host = host_and_port.get(authority.host().len()..)?;
        let port = match after_host.strip_prefix(':') {
            None if after_host.is_empty() => None,
            None => return None,
            Some(digits) => {
                let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                let port = digits
                    .parse::<u16>()
                    .ok()
                    .filter(|p| all_digits && *p > 0)?;
                Some(port).filter(|p| *p != if https { 443 } else { 80 })
            }
        };
        Some(Self {
            https,
            host,
            port,
            path: uri.path().to_string(),
            has_userinfo: authority.as_str().contains('@'),
            has_query: uri.query().is_some(),
            has_fragment,
        })
    }

    /// `scheme://host[:port]`: the origin, as browsers send it.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}", self.host),
            None => format!("{scheme}://{}", self.host),
        }
    }

    pub fn is_loopback(&self) -> bool {
        if self.host == "localhost" {
            return true;
        }
        let literal = self.host.trim_start_matches('[').trim_end_matches(']');
        literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// A DNS name (ASCII letters, digits, hyphens, dots; punycode for internationalised names), an
/// IPv4 address, or a bracketed IPv6 literal.
fn valid_host(host: &str) -> bool {
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return literal.parse::<Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_parts() {
        let url = HttpUrl::parse("HTTPS://Portal.Example:443/rest/1/Code/").unwrap();
        assert!(url.https);
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("portal.example", None, "/rest/1/Code/")
        );
        assert_eq!(url.origin(), "https://portal.example");
        let local = HttpUrl::parse("http://[::1]:9/rest/1/abc/").unwrap();
        assert_eq!((local.host.as_str(), local.port), ("[::1]", Some(9)));
        assert!(local.is_loopback());
        assert!(HttpUrl::parse("http://127.0.0.2:8080/")
            .unwrap()
            .is_loopback());
        assert!(HttpUrl::parse("http://localhost:3000")
            .unwrap()
            .is_loopback());
        assert!(!HttpUrl::parse("http://portal.example/")
            .unwrap()
            .is_loopback());
        let odd = HttpUrl::parse("https://u:p@a.example/x?q=1#f").unwrap();
        assert!(odd.has_userinfo && odd.has_query && odd.has_fragment);
        assert_eq!(
            HttpUrl::parse("https://xn--80aswg.xn--p1ai/").unwrap().host,
            "xn--80aswg.xn--p1ai"
        );
    }

    #[test]
    fn refuses_what_is_not_an_http_url() {
        for bad in [
            "",
            "not a url",
            "portal.example/rest/1/x",
            "ftp://portal.example/",
            "https://сайт.рф/",
            "https://a b/",
            "https://-a.example/",
            "https://a..example/",
            "https://a_b.example/",
            "https://[::zz]/",
            "https://a.example:/",
            "https://a.example:99999/",
            "//a.example/",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,60}") {
            let _ = HttpUrl::parse(&text);
        }

        #[test]
        fn hosts_come_back_lower_case(host in "[a-zA-Z][a-zA-Z0-9]{0,10}(\\.[a-zA-Z][a-zA-Z0-9]{0,10}){0,3}") {
            let url = HttpUrl::parse(&format!("https://{host}/")).unwrap();
            prop_assert_eq!(url.host, host.to_ascii_lowercase());
        }
    }
}
