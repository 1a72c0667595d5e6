//! Settings read from environment-style variables: the same names in every adapter.

use std::sync::Arc;
use std::time::Duration;

use crate::core::domain::policy::{Exposure, Policy, MAX_CAP};
use crate::core::domain::stores::StoreDirectory;
use crate::core::domain::variations::Variations;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::http_url::HttpUrl;

pub mod error;
pub mod fingerprint;
pub mod log_settings;
pub mod stores;
pub mod variables;
pub mod variations;

pub use error::ConfigError;
use variables::Vars;

pub const WEBHOOK_VAR: &str = "B24_WEBHOOK_URL";

/// Everything but the secret. Adapters read the secret their own way (env var, Secrets Manager,
/// `env.secret`), through [`webhook_from`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub allowed_origins: AllowedOrigins,
    pub policy: Policy,
    pub cache_ttl: Duration,
    pub negative_ttl: Duration,
    /// How long a product's flags (what may be sold) are kept.
    pub flags_ttl: Duration,
    pub stale_if_error: Duration,
    pub cache_max_entries: usize,
    pub upstream_timeout: Duration,
    /// This instance's share of the portal's request budget.
    pub budget: BudgetLimits,
    /// The share of every instance together (`STOCK_PORTAL_BUDGET_SHARE` of the plan): what
    /// they spend through a budget they share (`STOCK_SHARED_STATE`).
    pub deployment_budget: BudgetLimits,
    /// Where the portal budget lives on the Worker: one Durable Object, or each isolate.
    pub coordinator: CoordinatorMode,
    /// What an isolate may spend on its own while the coordinator cannot be reached.
    pub fallback_budget: BudgetLimits,
    /// The portal's operating-time cap per method over ten minutes.
    pub operating_limit_secs: f64,
    /// Requests per minute per client address; 0 = no limit.
    pub rate_limit_per_min: u32,
    /// Cold commands (ids read from the portal) per minute one caller may cause; 0 = no limit.
    pub caller_work_per_min: u32,
    /// How long a miss waits for others to share a `batch` with, when others are about.
    pub batch_window: Duration,
    /// Whether product reads ask the portal for the public warehouses only (`@storeId`), or
    /// read them all and leave the filtering to the gateway (for portals that refuse `@`).
    pub list_store_filter: ListStoreFilter,
    /// Whether `/` answers the demo page (`STOCK_DEMO_PAGE`; `serve --demo` turns it on).
    pub demo_page: bool,
    /// Where answers come from: the portal on demand, or a mirror of the whole public stock.
    pub source: SourceMode,
    /// How often a mirror sweeps: its freshness promise.
    pub mirror_interval: Duration,
}

/// `STOCK_SOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceMode {
    OnDemand,
    Mirror,
}

/// A leaky bucket: the portal's (its plan), or a share of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetLimits {
    pub drain_per_sec: f64,
    pub burst: f64,
}

/// `STOCK_PORTAL_COORDINATOR`: who holds the portal budget on the Worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorMode {
    /// The Durable Object when its binding exists, else each isolate.
    Auto,
    DurableObject,
    Isolate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStoreFilter {
    Portal,
    Gateway,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

impl Default for Settings {
    /// Every variable unset: the table's defaults.
    fn default() -> Self {
        // Nothing set cannot be refused (a unit test reads the defaults).
        Self::from_lookup(|_| None).unwrap_or_else(|error| unreachable!("{error}"))
    }
}

impl Settings {
    /// Reads the `STOCK_*` variables through `lookup` and the table ([`variables`]); an empty
    /// value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars::new(lookup);
        let secs = |name| vars.whole(name).map(Duration::from_secs);
        let millis = |name| vars.whole(name).map(Duration::from_millis);
        let allowed_origins = match vars.text("STOCK_ALLOWED_ORIGINS") {
            None => AllowedOrigins::List(Vec::new()),
            Some(v) => parse_origins(&v)?,
        };
        let allowed_stores = match vars.text("STOCK_ALLOWED_STORES") {
            None => Vec::new(),
            Some(v) => parse_stores(&v)?,
        };
        let exposure = match vars.text("STOCK_EXPOSE") {
            None => Exposure::Exact,
            Some(text) => parse_exposure(&text)?,
        };
        let low_stock_threshold = vars
            .number("STOCK_LOW_STOCK_THRESHOLD")?
            .unwrap_or(Policy::default().low_stock_threshold);
        let (plan, share, instances) = read_budget(&vars)?;
        let fallback_share = vars
            .number("STOCK_PORTAL_FALLBACK_SHARE")?
            .unwrap_or(DEFAULT_FALLBACK_SHARE);
        let coordinator = match vars.choice("STOCK_PORTAL_COORDINATOR")? {
            Some("durable_object") => CoordinatorMode::DurableObject,
            Some(_) => CoordinatorMode::Isolate,
            None => CoordinatorMode::Auto,
        };
        let list_store_filter = match vars.choice("STOCK_LIST_STORE_FILTER")? {
            Some("gateway") => ListStoreFilter::Gateway,
            _ => ListStoreFilter::Portal,
        };
        Ok(Self {
            allowed_origins,
            policy: Policy {
                allowed_stores,
                exposure,
                low_stock_threshold,
                stores: Arc::new(match vars.text("STOCK_STORES") {
                    None => StoreDirectory::default(),
                    Some(json) => stores::parse_stores(&json)?,
                }),
                variations: Arc::new(match vars.text("STOCK_VARIATIONS") {
                    None => Variations::default(),
                    Some(json) => variations::parse_variations(&json)?,
                }),
            },
            cache_ttl: secs("STOCK_CACHE_TTL_SECS")?,
            negative_ttl: secs("STOCK_NEGATIVE_TTL_SECS")?,
            flags_ttl: secs("STOCK_FLAGS_TTL_SECS")?,
            stale_if_error: secs("STOCK_STALE_IF_ERROR_SECS")?,
            cache_max_entries: vars.whole("STOCK_CACHE_MAX_ENTRIES")? as usize,
            upstream_timeout: millis("STOCK_UPSTREAM_TIMEOUT_MS")?,
            budget: share_of(plan, share / instances as f64),
            deployment_budget: share_of(plan, share),
            coordinator,
            fallback_budget: share_of(plan, fallback_share),
            operating_limit_secs: vars.whole("STOCK_PORTAL_OPERATING_LIMIT_SECS")? as f64,
            rate_limit_per_min: vars.whole("STOCK_RATE_LIMIT_PER_MIN")? as u32,
            caller_work_per_min: vars.whole("STOCK_CALLER_PORTAL_WORK_PER_MIN")? as u32,
            batch_window: millis("STOCK_BATCH_WINDOW_MS")?,
            list_store_filter,
            demo_page: vars.choice("STOCK_DEMO_PAGE")? == Some("on"),
            source: match vars.choice("STOCK_SOURCE")? {
                Some("mirror") => SourceMode::Mirror,
                _ => SourceMode::OnDemand,
            },
            mirror_interval: secs("STOCK_MIRROR_INTERVAL_SECS")?,
        })
    }
}

/// Bitrix24's documented bucket: standard plans drain 2/s with a threshold of 50.
const STANDARD_PLAN: BudgetLimits = BudgetLimits {
    drain_per_sec: 2.0,
    burst: 50.0,
};
/// Enterprise plans: 5/s, 250.
const ENTERPRISE_PLAN: BudgetLimits = BudgetLimits {
    drain_per_sec: 5.0,
    burst: 250.0,
};
/// Leave a fifth of the portal's budget to other integrations and to timing differences.
const DEFAULT_SHARE: f64 = 0.8;
/// An isolate cut off from the coordinator spends at most this share on its own: several may be
/// cut off at once.
const DEFAULT_FALLBACK_SHARE: f64 = 0.1;

fn share_of(plan: BudgetLimits, share: f64) -> BudgetLimits {
    BudgetLimits {
        drain_per_sec: plan.drain_per_sec * share,
        burst: (plan.burst * share).max(1.0),
    }
}

/// `STOCK_PORTAL_PLAN`, overridden by `STOCK_PORTAL_RATE_PER_SEC` / `STOCK_PORTAL_BURST`, and
/// this instance's share: `STOCK_PORTAL_BUDGET_SHARE` split evenly over `STOCK_PORTAL_INSTANCES`.
fn read_budget<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<(BudgetLimits, f64, u64), ConfigError> {
    let mut plan = match vars.choice("STOCK_PORTAL_PLAN")? {
        Some("enterprise") => ENTERPRISE_PLAN,
        _ => STANDARD_PLAN,
    };
    if let Some(rate) = vars.number("STOCK_PORTAL_RATE_PER_SEC")? {
        plan.drain_per_sec = rate;
    }
    if let Some(burst) = vars.number("STOCK_PORTAL_BURST")? {
        plan.burst = burst;
    }
    let share = vars
        .number("STOCK_PORTAL_BUDGET_SHARE")?
        .unwrap_or(DEFAULT_SHARE);
    let instances = vars.whole(INSTANCES_VAR)?;
    // Each instance's bucket needs room for one request; below that, the floor of 1 in
    // `share_of` would let the instances together pass the share.
    // (The epsilon keeps 50 x 0.7 at 35 despite binary fractions.)
    let most = (plan.burst * share + 1e-9).floor().max(1.0) as u64;
    if instances > most {
        return Err(ConfigError::new(
            INSTANCES_VAR,
            format!("must be at most {most} for this plan and share (a burst of 1 each)"),
        ));
    }
    Ok((plan, share, instances))
}

/// How many instances (processes, Lambda execution environments) spend the share at once.
pub const INSTANCES_VAR: &str = "STOCK_PORTAL_INSTANCES";

/// Reads `B24_WEBHOOK_URL` (or another variable holding the same secret).
pub fn webhook_from(
    variable: &'static str,
    value: Option<&str>,
) -> Result<WebhookUrl, ConfigError> {
    let value = value.ok_or_else(|| ConfigError::new(variable, "is required"))?;
    WebhookUrl::parse(value).map_err(|e| ConfigError::new(variable, e.to_string()))
}

fn parse_origins(value: &str) -> Result<AllowedOrigins, ConfigError> {
    if value.trim() == "*" {
        return Ok(AllowedOrigins::Any);
    }
    let mut origins = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        // An origin is a scheme, a host and a port: no path (not even `/`), query or userinfo.
        let parsed = HttpUrl::parse(origin).filter(|u| {
            u.path == "/"
                && !origin.ends_with('/')
                && !u.has_query
                && !u.has_fragment
                && !u.has_userinfo
        });
        let Some(parsed) = parsed else {
            return Err(ConfigError::new(
                "STOCK_ALLOWED_ORIGINS",
                "must be * or a comma list of origins like https://shop.example",
            ));
        };
        origins.push(parsed.origin());
    }
    Ok(AllowedOrigins::List(origins))
}

fn parse_stores(value: &str) -> Result<Vec<i64>, ConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::new(
                    "STOCK_ALLOWED_STORES",
                    "must be a comma list of warehouse ids",
                )
            })
        })
        .collect()
}

/// `exact`, `level` or `capped:N` (N from 1 to [`MAX_CAP`]).
fn parse_exposure(text: &str) -> Result<Exposure, ConfigError> {
    let capped = |n: &str| {
        n.parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_CAP).contains(n))
            .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))
    };
    match text {
        "exact" => Ok(Exposure::Exact),
        "level" => Ok(Exposure::Level),
        other => other
            .strip_prefix("capped:")
            .and_then(capped)
            .map(Exposure::Capped)
            .ok_or_else(|| {
                ConfigError::new(
                    "STOCK_EXPOSE",
                    format!("must be exact, level or capped:N with N from 1 to {MAX_CAP}"),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.cache_ttl, Duration::from_secs(30));
        assert_eq!(s.upstream_timeout, Duration::from_millis(3000));
        assert_eq!(s.policy.exposure, Exposure::Exact);
        assert_eq!(s.policy.low_stock_threshold, 5.0);
        assert_eq!(s.allowed_origins, AllowedOrigins::List(vec![]));
        assert_eq!(s.batch_window, Duration::from_millis(5));
        assert_eq!(s.list_store_filter, ListStoreFilter::Portal);
        assert!(!s.demo_page, "/ is an unknown path unless asked for");
        assert!(settings(&[("STOCK_DEMO_PAGE", "on")]).unwrap().demo_page);
        let tuned = settings(&[
            ("STOCK_BATCH_WINDOW_MS", "0"),
            ("STOCK_LIST_STORE_FILTER", "gateway"),
        ])
        .unwrap();
        assert_eq!(tuned.batch_window, Duration::ZERO);
        assert_eq!(tuned.list_store_filter, ListStoreFilter::Gateway);
        assert_eq!(
            s.rate_limit_per_min, 600,
            "a public endpoint is limited by default"
        );
        assert_eq!(
            settings(&[("STOCK_RATE_LIMIT_PER_MIN", "0")])
                .unwrap()
                .rate_limit_per_min,
            0
        );
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            (
                "STOCK_ALLOWED_ORIGINS",
                "https://shop.example, http://localhost:3000",
            ),
            ("STOCK_ALLOWED_STORES", "1, 11"),
            ("STOCK_EXPOSE", "level"),
            ("STOCK_LOW_STOCK_THRESHOLD", "2.5"),
            ("STOCK_CACHE_TTL_SECS", "0"),
            ("STOCK_UPSTREAM_TIMEOUT_MS", "800"),
        ])
        .unwrap();
        assert_eq!(
            s.allowed_origins,
            AllowedOrigins::List(vec![
                "https://shop.example".into(),
                "http://localhost:3000".into()
            ])
        );
        assert_eq!(s.policy.allowed_stores, vec![1, 11]);
        assert_eq!(s.policy.exposure, Exposure::Level);
        for (text, exposure) in [
            ("exact", Some(Exposure::Exact)),
            ("capped:10", Some(Exposure::Capped(10))),
            ("capped:1000000", Some(Exposure::Capped(MAX_CAP))),
            ("capped:0", None),
            ("capped:+5", None),
            ("capped:1000001", None),
            ("capped:", None),
            ("capped", None),
            ("Level", None),
        ] {
            assert_eq!(parse_exposure(text).ok(), exposure, "{text}");
        }
        assert_eq!(s.policy.low_stock_threshold, 2.5);
        assert_eq!(s.cache_ttl, Duration::ZERO);
        assert_eq!(s.upstream_timeout, Duration::from_millis(800));
        assert_eq!(
            settings(&[("STOCK_ALLOWED_ORIGINS", "*")])
                .unwrap()
                .allowed_origins,
            AllowedOrigins::Any
        );
    }

    #[test]
    fn portal_budget() {
        let standard = settings(&[]).unwrap().budget;
        assert_eq!(
            standard,
            BudgetLimits {
                drain_per_sec: 1.6,
                burst: 40.0
            }
        );
        let enterprise = settings(&[
            ("STOCK_PORTAL_PLAN", "enterprise"),
            ("STOCK_PORTAL_BUDGET_SHARE", "0.5"),
        ])
        .unwrap()
        .budget;
        assert_eq!(
            enterprise,
            BudgetLimits {
                drain_per_sec: 2.5,
                burst: 125.0
            }
        );
        let explicit = settings(&[
            ("STOCK_PORTAL_RATE_PER_SEC", "10"),
            ("STOCK_PORTAL_BURST", "100"),
            ("STOCK_PORTAL_BUDGET_SHARE", "1"),
        ])
        .unwrap()
        .budget;
        assert_eq!(
            explicit,
            BudgetLimits {
                drain_per_sec: 10.0,
                burst: 100.0
            }
        );
        let coordinated = settings(&[
            ("STOCK_PORTAL_COORDINATOR", "durable_object"),
            ("STOCK_PORTAL_FALLBACK_SHARE", "0.05"),
        ])
        .unwrap();
        assert_eq!(coordinated.coordinator, CoordinatorMode::DurableObject);
        assert_eq!(
            coordinated.fallback_budget,
            BudgetLimits {
                drain_per_sec: 0.1,
                burst: 2.5
            }
        );
        assert_eq!(settings(&[]).unwrap().coordinator, CoordinatorMode::Auto);
    }

    #[test]
    fn instances_split_the_share() {
        let budget = |vars: &[(&str, &str)]| settings(vars).map(|s| s.budget);
        let close = |a: BudgetLimits, rate: f64, burst: f64| {
            assert!((a.drain_per_sec - rate).abs() < 1e-9, "{a:?}");
            assert!((a.burst - burst).abs() < 1e-9, "{a:?}");
        };
        // Unset or 1: the whole share, as before.
        close(budget(&[(INSTANCES_VAR, "1")]).unwrap(), 1.6, 40.0);
        // The template's default: 2 environments of a standard plan at 0.8.
        close(budget(&[(INSTANCES_VAR, "2")]).unwrap(), 0.8, 20.0);
        close(
            budget(&[("STOCK_PORTAL_PLAN", "enterprise"), (INSTANCES_VAR, "4")]).unwrap(),
            1.0,
            50.0,
        );
        // Summed over every instance, never more than the share, whatever the count.
        for plan in ["standard", "enterprise"] {
            for share in ["0.1", "0.5", "0.7", "0.8", "1"] {
                for n in 1..=250u32 {
                    let n_text = n.to_string();
                    let vars = [
                        ("STOCK_PORTAL_PLAN", plan),
                        ("STOCK_PORTAL_BUDGET_SHARE", share),
                        (INSTANCES_VAR, n_text.as_str()),
                    ];
                    let Ok(each) = budget(&vars) else { continue };
                    let whole = budget(&vars[..2]).unwrap();
                    assert!(each.burst >= 1.0, "{vars:?}");
                    assert!(each.drain_per_sec * n as f64 <= whole.drain_per_sec + 1e-9);
                    assert!(each.burst * n as f64 <= whole.burst + 1e-9, "{vars:?}");
                }
            }
        }
        // More instances than the burst share has whole requests: refused, not rounded up.
        assert!(budget(&[(INSTANCES_VAR, "40")]).is_ok());
        assert!(budget(&[("STOCK_PORTAL_BUDGET_SHARE", "0.7"), (INSTANCES_VAR, "35")]).is_ok());
        let err = budget(&[(INSTANCES_VAR, "41")]).unwrap_err();
        assert_eq!(err.variable, INSTANCES_VAR);
        assert!(err.reason.contains("at most 40"), "{err}");
        for bad in ["0", "-1", "2.5", "two", "100001"] {
            let err = budget(&[(INSTANCES_VAR, bad)]).unwrap_err();
            assert_eq!(err.variable, INSTANCES_VAR, "{bad}");
            assert!(err.reason.contains("whole number"), "{bad}: {err}");
        }
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value) in [
            ("STOCK_ALLOWED_ORIGINS", "shop.example"),
            ("STOCK_ALLOWED_ORIGINS", "https://shop.example/path"),
            ("STOCK_ALLOWED_STORES", "1,x"),
            ("STOCK_EXPOSE", "some"),
            ("STOCK_LOW_STOCK_THRESHOLD", "-1"),
            ("STOCK_NEGATIVE_TTL_SECS", "x"),
            ("STOCK_STALE_IF_ERROR_SECS", "-1"),
            ("STOCK_PORTAL_PLAN", "gold"),
            ("STOCK_PORTAL_BUDGET_SHARE", "1.5"),
            ("STOCK_PORTAL_RATE_PER_SEC", "0"),
            ("STOCK_RATE_LIMIT_PER_MIN", "many"),
            ("STOCK_CACHE_TTL_SECS", "30s"),
            ("STOCK_UPSTREAM_TIMEOUT_MS", "0"),
            ("STOCK_BATCH_WINDOW_MS", "101"),
            ("STOCK_PORTAL_COORDINATOR", "object"),
            ("STOCK_PORTAL_FALLBACK_SHARE", "0.8"),
            ("STOCK_LIST_STORE_FILTER", "client"),
            ("STOCK_DEMO_PAGE", "yes"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
        }
    }

    #[test]
    fn webhook_errors_never_print_the_value() {
        let err = webhook_from(
            WEBHOOK_VAR,
            Some("http://portal.example/rest/1/s3cr3tcode/"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("B24_WEBHOOK_URL:"));
        assert!(!err.to_string().contains("s3cr3tcode"));
        assert_eq!(
            webhook_from(WEBHOOK_VAR, None).unwrap_err().to_string(),
            "B24_WEBHOOK_URL: is required"
        );
    }
}
