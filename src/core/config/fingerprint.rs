//! The part of a shared cache's keys that separates one deployment's entries from another's.
//! A shared cache (the Worker's Cache API) may be shared by several deployments (a zone with
//! two Workers, staging and production): entries are only ever read by a gateway that would
//! have stored the same bytes for the same portal.

use super::Settings;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::digest::fnv1a;

/// A short hex digest of everything that decides what an entry holds: the crate version (a
/// release may render differently), the policy (it shapes the bytes), both TTLs (an entry's
/// life), and which portal and user answered ([`WebhookUrl::portal_identity`]; never the code).
pub fn deployment_fingerprint(settings: &Settings, webhook: &WebhookUrl) -> String {
    fingerprint_of(settings, &webhook.portal_identity())
}

/// The same for a portal known by another name than its webhook (a Lambda function's secret,
/// whose webhook is read at run time).
pub fn fingerprint_of(settings: &Settings, portal_identity: &str) -> String {
    let portal = fnv1a(portal_identity.as_bytes());
    let shape = format!(
        "{}|{:?}|ttl={}ms|negative={}ms|portal={portal:016x}",
        env!("CARGO_PKG_VERSION"),
        settings.policy,
        settings.cache_ttl.as_millis(),
        settings.negative_ttl.as_millis(),
    );
    format!("{:016x}", fnv1a(shape.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::domain::policy::Exposure;

    fn hook(url: &str) -> WebhookUrl {
        WebhookUrl::parse(url).unwrap()
    }

    #[test]
    fn separates_portals_users_ttls_and_policies() {
        let settings = Settings::default();
        let base = deployment_fingerprint(&settings, &hook("https://a.example/rest/1/code1/"));
        assert_eq!(base.len(), 16);
        assert_eq!(
            base,
            deployment_fingerprint(&settings, &hook("https://A.example/rest/1/code1/")),
            "stable"
        );
        for other in [
            "https://b.example/rest/1/code1/",
            "https://a.example/rest/2/code1/",
            "https://a.example:8443/rest/1/code1/",
        ] {
            assert_ne!(
                base,
                deployment_fingerprint(&settings, &hook(other)),
                "{other}"
            );
        }
        let hook = hook("https://a.example/rest/1/code1/");
        let longer = Settings {
            cache_ttl: Duration::from_secs(31),
            ..Settings::default()
        };
        let negative = Settings {
            negative_ttl: Duration::from_secs(11),
            ..Settings::default()
        };
        let mut level = Settings::default();
        level.policy.exposure = Exposure::Level;
        for changed in [longer, negative, level] {
            assert_ne!(base, deployment_fingerprint(&changed, &hook));
        }
    }

    #[test]
    fn the_code_is_not_part_of_it() {
        // A rotated code still reads the same portal's entries, and the code never goes near
        // a key.
        let settings = Settings::default();
        assert_eq!(
            deployment_fingerprint(&settings, &hook("https://a.example/rest/1/oldcode/")),
            deployment_fingerprint(&settings, &hook("https://a.example/rest/1/newcode/"))
        );
    }
}
