//! The portal's incoming-webhook URL: a credential that must never be printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::core::kit::http_url::HttpUrl;

/// `https://PORTAL/rest/USER/CODE/`. Whoever sees it owns the portal, so `Debug` and
/// `Display` print `[redacted]`, and the only way to the text is [`WebhookUrl::method_url`],
/// used by the code that sends the outbound request.
#[derive(Clone)]
pub struct WebhookUrl {
    base: SecretString,
    /// `host[:port]/USER_ID`: which portal and user, without the code.
    identity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("is empty")]
    Empty,
    #[error("is not a valid URL")]
    NotAUrl,
    #[error("must use https:// (http:// is accepted only for a loopback host)")]
    InsecureScheme,
    #[error("must have the form https://PORTAL/rest/USER_ID/WEBHOOK_CODE/")]
    BadShape,
    #[error("must not carry credentials, a query or a fragment")]
    ExtraParts,
}

impl WebhookUrl {
    /// Validates the shape; the error never contains the input.
    pub fn parse(raw: &str) -> Result<Self, WebhookUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(WebhookUrlError::Empty);
        }
        let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
        if scheme
            .is_some_and(|s| !s.eq_ignore_ascii_case("https") && !s.eq_ignore_ascii_case("http"))
        {
            return Err(WebhookUrlError::InsecureScheme);
        }
        let url = HttpUrl::parse(raw).ok_or(WebhookUrlError::NotAUrl)?;
        if !url.https && !url.is_loopback() {
            return Err(WebhookUrlError::InsecureScheme);
        }
        if url.has_userinfo || url.has_query || url.has_fragment {
            return Err(WebhookUrlError::ExtraParts);
        }
        let segments: Vec<&str> = url
            .path
            .split('/')
            .filter(|part| !part.is_empty())
            .collect();
        let user = match segments.as_slice() {
            [.., "rest", user, code]
                if !user.is_empty()
                    && user.bytes().all(|b| b.is_ascii_digit())
                    && !code.is_empty()
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                *user
            }
            _ => return Err(WebhookUrlError::BadShape),
        };
        let origin = url.origin();
        let identity = format!(
            "{}/{user}",
            origin.split_once("://").map_or("", |(_, rest)| rest)
        );
        let mut base = format!("{origin}{}", url.path);
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            base: SecretString::from(base),
            identity,
        })
    }

    /// Which portal and user this webhook acts for, `host[:port]/USER_ID` (host in lower case),
    /// without the code: safe to log, hash or use in cache keys.
    pub fn portal_identity(&self) -> String {
        self.identity.clone()
    }

    /// The full URL of one REST method. Only the outbound HTTP client should call this.
    pub fn method_url(&self, method: &str) -> SecretString {
        SecretString::from(format!("{}{}", self.base.expose_secret(), method))
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl([redacted])")
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "s3cr3tc0de9x";

    #[test]
    fn accepts_the_documented_shape_and_builds_method_urls() {
        let hook = WebhookUrl::parse(&format!("https://portal.example/rest/1/{CODE}/")).unwrap();
        assert_eq!(
            hook.method_url("catalog.storeproduct.get").expose_secret(),
            format!("https://portal.example/rest/1/{CODE}/catalog.storeproduct.get")
        );
        let no_slash = WebhookUrl::parse(&format!("https://portal.example/rest/1/{CODE}")).unwrap();
        assert!(no_slash
            .method_url("m")
            .expose_secret()
            .ends_with(&format!("{CODE}/m")));
    }

    #[test]
    fn never_prints_the_code() {
        let hook = WebhookUrl::parse(&format!("https://portal.example/rest/7/{CODE}/")).unwrap();
        assert!(!format!("{hook:?} {hook}").contains(CODE));
        assert!(!format!("{:?}", hook.method_url("x")).contains(CODE));
    }

    #[test]
    fn portal_identity_names_host_and_user_but_never_the_code() {
        let hook = WebhookUrl::parse(&format!("https://Portal.Example/rest/7/{CODE}/")).unwrap();
        assert_eq!(hook.portal_identity(), "portal.example/7");
        assert!(!hook.portal_identity().contains(CODE));
        let local = WebhookUrl::parse(&format!("http://127.0.0.1:8788/rest/1/{CODE}")).unwrap();
        assert_eq!(local.portal_identity(), "127.0.0.1:8788/1");
        let v6 = WebhookUrl::parse(&format!("http://[::1]:9/rest/12/{CODE}/")).unwrap();
        assert_eq!(v6.portal_identity(), "[::1]:9/12");
        // The default port is not spelt out: the same portal, the same identity.
        let default_port =
            WebhookUrl::parse(&format!("https://portal.example:443/rest/7/{CODE}/")).unwrap();
        assert_eq!(default_port.portal_identity(), hook.portal_identity());
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(WebhookUrl::parse("http://127.0.0.1:9/rest/1/abc/").is_ok());
        assert!(WebhookUrl::parse("http://localhost:9/rest/1/abc/").is_ok());
        assert!(WebhookUrl::parse("http://[::1]:9/rest/1/abc/").is_ok());
        assert_eq!(
            WebhookUrl::parse("http://portal.example/rest/1/abc/").unwrap_err(),
            WebhookUrlError::InsecureScheme
        );
        assert_eq!(
            WebhookUrl::parse("ftp://portal.example/rest/1/abc/").unwrap_err(),
            WebhookUrlError::InsecureScheme
        );
    }

    #[test]
    fn host_names_are_ascii_or_punycode() {
        assert!(WebhookUrl::parse("https://xn--80aswg.xn--p1ai/rest/1/abc/").is_ok());
        assert_eq!(
            WebhookUrl::parse("https://сайт.рф/rest/1/abc/").unwrap_err(),
            WebhookUrlError::NotAUrl
        );
    }

    #[test]
    fn rejects_other_shapes_without_echoing_them() {
        for bad in [
            "",
            "not a url",
            "https://portal.example/",
            "https://portal.example/rest/x/abc/",
            "https://portal.example/rest/1/",
            "https://portal.example/rest/1/abc/?x=1",
            "https://u:p@portal.example/rest/1/abc/",
            "https://portal.example/rest/1/ab%2Fc/",
        ] {
            let err = WebhookUrl::parse(bad).unwrap_err();
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
    }
}
