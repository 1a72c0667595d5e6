//! Every `STOCK_*` variable in one table: its name, how its text is read (bounds, choices),
//! its default, and which runtimes read it. [`Vars`] reads values through the table, so a
//! setting is one row here and one line where it is used, and every refusal is worded the
//! same way.

use super::error::ConfigError;

/// How a variable's text is read. Values are trimmed; an empty value counts as unset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number from `min` to `max`.
    Whole { min: u64, max: u64, default: u64 },
    /// A finite number above `min` (or at least `min` when `inclusive`), at most `max`.
    Number {
        min: f64,
        inclusive: bool,
        max: Option<f64>,
    },
    /// One of the words; `default` when unset (`None`: unset means something of its own).
    Choice {
        words: &'static [&'static str],
        default: Option<&'static str>,
    },
    /// Text its user parses (lists of origins or warehouses, a header name, an address).
    Text,
}

/// Which runtime reads a variable (all of them: `Core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Core,
    LocalServer,
    Worker,
    Lambda,
    /// The local server and the Lambda function.
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variable {
    pub name: &'static str,
    pub kind: Kind,
    pub reader: Reader,
}

const fn whole(name: &'static str, min: u64, max: u64, default: u64) -> Variable {
    Variable {
        name,
        kind: Kind::Whole { min, max, default },
        reader: Reader::Core,
    }
}

const fn choice(
    name: &'static str,
    words: &'static [&'static str],
    default: Option<&'static str>,
) -> Variable {
    Variable {
        name,
        kind: Kind::Choice { words, default },
        reader: Reader::Core,
    }
}

const fn number(name: &'static str, min: f64, inclusive: bool, max: Option<f64>) -> Variable {
    Variable {
        name,
        kind: Kind::Number {
            min,
            inclusive,
            max,
        },
        reader: Reader::Core,
    }
}

const fn text(name: &'static str, reader: Reader) -> Variable {
    Variable {
        name,
        kind: Kind::Text,
        reader,
    }
}

const fn by(reader: Reader, variable: Variable) -> Variable {
    Variable { reader, ..variable }
}

/// Every `STOCK_*` variable the gateway knows. Numeric defaults of `Number` rows live with
/// their users (they depend on the plan).
pub const VARIABLES: &[Variable] = &[
    // What is published, and to whom.
    text("STOCK_ALLOWED_ORIGINS", Reader::Core),
    text("STOCK_ALLOWED_STORES", Reader::Core),
    text("STOCK_STORES", Reader::Core),
    text("STOCK_STORES_FILE", Reader::LocalServer),
    text("STOCK_VARIATIONS", Reader::Core),
    text("STOCK_VARIATIONS_FILE", Reader::LocalServer),
    // `exact`, `level` or `capped:N`: read by config::parse_exposure.
    text("STOCK_EXPOSE", Reader::Core),
    number("STOCK_LOW_STOCK_THRESHOLD", 0.0, true, None),
    choice("STOCK_DEMO_PAGE", &["on", "off"], Some("off")),
    // Caches.
    whole("STOCK_CACHE_TTL_SECS", 0, 86_400, 30),
    whole("STOCK_NEGATIVE_TTL_SECS", 0, 86_400, 10),
    whole("STOCK_FLAGS_TTL_SECS", 0, 86_400, 300),
    whole("STOCK_STALE_IF_ERROR_SECS", 0, 604_800, 300),
    whole("STOCK_CACHE_MAX_ENTRIES", 0, 10_000_000, 10_000),
    // The portal and its budget.
    whole("STOCK_UPSTREAM_TIMEOUT_MS", 50, 60_000, 3_000),
    whole("STOCK_BATCH_WINDOW_MS", 0, 100, 5),
    choice(
        "STOCK_LIST_STORE_FILTER",
        &["portal", "gateway"],
        Some("portal"),
    ),
    choice(
        "STOCK_PORTAL_PLAN",
        &["standard", "enterprise"],
        Some("standard"),
    ),
    number("STOCK_PORTAL_RATE_PER_SEC", 0.0, false, Some(10_000.0)),
    number("STOCK_PORTAL_BURST", 0.0, false, Some(1_000_000.0)),
    number("STOCK_PORTAL_BUDGET_SHARE", 0.0, false, Some(1.0)),
    whole("STOCK_PORTAL_INSTANCES", 1, 100_000, 1),
    whole("STOCK_PORTAL_OPERATING_LIMIT_SECS", 1, 86_400, 480),
    choice(
        "STOCK_PORTAL_COORDINATOR",
        &["durable_object", "isolate"],
        None,
    ),
    number("STOCK_PORTAL_FALLBACK_SHARE", 0.0, false, Some(0.5)),
    // State shared by replicas (Redis or Valkey).
    text("STOCK_SHARED_STATE", Reader::Native),
    by(
        Reader::Native,
        whole("STOCK_SHARED_STATE_TIMEOUT_MS", 5, 5_000, 100),
    ),
    // Where answers come from.
    choice("STOCK_SOURCE", &["on_demand", "mirror"], Some("on_demand")),
    whole("STOCK_MIRROR_INTERVAL_SECS", 5, 86_400, 60),
    text("STOCK_MIRROR_BUCKET", Reader::Lambda),
    text("STOCK_MIRROR_KEY", Reader::Lambda),
    text("STOCK_MIRROR_S3_ENDPOINT", Reader::Lambda),
    text("STOCK_LAMBDA_ROLE", Reader::Lambda),
    by(
        Reader::Lambda,
        whole("STOCK_SECRET_MAX_AGE_SECS", 1, 86_400, 300),
    ),
    // Callers.
    whole("STOCK_RATE_LIMIT_PER_MIN", 0, 1_000_000, 600),
    whole("STOCK_CALLER_PORTAL_WORK_PER_MIN", 0, 1_000_000, 600),
    // Logs and metrics.
    choice("STOCK_LOG_FORMAT", &["pretty", "json"], None),
    text("STOCK_METRICS_LISTEN", Reader::LocalServer),
    by(
        Reader::Worker,
        whole("STOCK_METRICS_INTERVAL_SECS", 0, 86_400, 60),
    ),
    // The local server's connections.
    text("STOCK_TRUSTED_PROXY_HEADER", Reader::LocalServer),
    by(
        Reader::LocalServer,
        whole("STOCK_HEADER_TIMEOUT_MS", 100, 600_000, 10_000),
    ),
    by(
        Reader::LocalServer,
        whole("STOCK_BODY_TIMEOUT_MS", 100, 600_000, 10_000),
    ),
    by(
        Reader::LocalServer,
        whole("STOCK_MAX_CONNECTIONS", 1, 100_000, 512),
    ),
];

/// The row of `name`. Every name a reader asks for is in the table (a test checks the names
/// used in the code).
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Values read through the table from a lookup (the environment, the Worker's `[vars]`).
pub struct Vars<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The trimmed value; `None` when unset or empty.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A `Whole` row's value, or its default.
    pub fn whole(&self, name: &'static str) -> Result<u64, ConfigError> {
        let Some(Kind::Whole { min, max, default }) = variable(name).map(|v| v.kind) else {
            return Err(unknown(name));
        };
        match self.text(name) {
            None => Ok(default),
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(name, format!("must be a whole number from {min} to {max}"))
                }),
        }
    }

    /// A `Number` row's value, if set.
    pub fn number(&self, name: &'static str) -> Result<Option<f64>, ConfigError> {
        let Some(Kind::Number {
            min,
            inclusive,
            max,
        }) = variable(name).map(|v| v.kind)
        else {
            return Err(unknown(name));
        };
        let Some(value) = self.text(name) else {
            return Ok(None);
        };
        let fits = |n: &f64| {
            n.is_finite()
                && if inclusive { *n >= min } else { *n > min }
                && max.is_none_or(|max| *n <= max)
        };
        let message = match (inclusive, max) {
            (true, None) => format!("must be a number >= {min}"),
            (true, Some(max)) => format!("must be a number from {min} to {max}"),
            (false, None) => format!("must be a number above {min}"),
            (false, Some(max)) => format!("must be a number above {min}, at most {max}"),
        };
        value
            .parse::<f64>()
            .ok()
            .filter(fits)
            .map(Some)
            .ok_or_else(|| ConfigError::new(name, message))
    }

    /// A `Choice` row's word, or its default (`None`: unset, and no default).
    pub fn choice(&self, name: &'static str) -> Result<Option<&'static str>, ConfigError> {
        let Some(Kind::Choice { words, default }) = variable(name).map(|v| v.kind) else {
            return Err(unknown(name));
        };
        match self.text(name) {
            None => Ok(default),
            Some(value) => words
                .iter()
                .find(|w| **w == value)
                .copied()
                .map(Some)
                .ok_or_else(|| ConfigError::new(name, format!("must be {}", words.join(" or ")))),
        }
    }
}

/// Refuses the first `STOCK_*` name among `names` that the table does not have, naming the
/// closest known one: a misspelt variable would otherwise leave its setting at the default
/// without a word (`STOCK_ALLOWED_STORE=1` served every warehouse).
pub fn refuse_unknown<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let Some(name) = names
        .into_iter()
        .find(|name| name.starts_with("STOCK_") && variable(name).is_none())
    else {
        return Ok(());
    };
    let closest = VARIABLES
        .iter()
        .map(|v| (strsim::levenshtein(name, v.name), v.name))
        .min()
        .map(|(_, known)| known)
        .unwrap_or("none");
    // Leaked once: the refusal ends the start-up, and errors name their variable statically.
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    Err(ConfigError::new(
        name,
        format!("is not a known variable (did you mean {closest}?)"),
    ))
}

/// A reader asked for a name the table lacks: a bug, reported as a refusal naming it.
fn unknown(name: &'static str) -> ConfigError {
    ConfigError::new(name, "is not a known variable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_refused_with_the_closest_known_one() {
        let error = refuse_unknown(["PATH", "STOCK_ALLOWED_STORE", "STOCK_EXPOSE"]).unwrap_err();
        assert_eq!(error.variable, "STOCK_ALLOWED_STORE");
        assert!(
            error.reason.contains("did you mean STOCK_ALLOWED_STORES?"),
            "{error}"
        );
        let error = refuse_unknown(["STOCK_CACHE_TTL"]).unwrap_err();
        assert!(error.reason.contains("STOCK_CACHE_TTL_SECS"), "{error}");
        assert_eq!(
            refuse_unknown(["STOCK_EXPOSE", "HOME", "B24_WEBHOOK_URL"]),
            Ok(())
        );
        assert_eq!(refuse_unknown(VARIABLES.iter().map(|v| v.name)), Ok(()));
    }

    fn vars(
        pairs: &'static [(&'static str, &'static str)],
    ) -> Vars<impl Fn(&str) -> Option<String>> {
        Vars::new(move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn names_are_unique_and_all_stock_variables() {
        for (i, v) in VARIABLES.iter().enumerate() {
            assert!(v.name.starts_with("STOCK_"), "{}", v.name);
            assert!(
                VARIABLES[i + 1..].iter().all(|w| w.name != v.name),
                "{} twice",
                v.name
            );
        }
    }

    #[test]
    fn reads_through_the_table_with_its_words() {
        let v = vars(&[
            ("STOCK_CACHE_TTL_SECS", " 7 "),
            ("STOCK_BATCH_WINDOW_MS", ""),
            ("STOCK_SOURCE", "mirror"),
            ("STOCK_PORTAL_BURST", "12.5"),
        ]);
        assert_eq!(v.whole("STOCK_CACHE_TTL_SECS"), Ok(7));
        assert_eq!(v.whole("STOCK_BATCH_WINDOW_MS"), Ok(5), "empty is unset");
        assert_eq!(v.choice("STOCK_SOURCE"), Ok(Some("mirror")));
        assert_eq!(v.choice("STOCK_PORTAL_COORDINATOR"), Ok(None));
        assert_eq!(v.number("STOCK_PORTAL_BURST"), Ok(Some(12.5)));
        assert_eq!(v.number("STOCK_PORTAL_RATE_PER_SEC"), Ok(None));
        let bad = vars(&[
            ("STOCK_CACHE_TTL_SECS", "30s"),
            ("STOCK_SOURCE", "some"),
            ("STOCK_PORTAL_BURST", "0"),
            ("STOCK_LOW_STOCK_THRESHOLD", "-1"),
        ]);
        assert_eq!(
            bad.whole("STOCK_CACHE_TTL_SECS").unwrap_err().reason,
            "must be a whole number from 0 to 86400"
        );
        assert_eq!(
            bad.choice("STOCK_SOURCE").unwrap_err().reason,
            "must be on_demand or mirror"
        );
        assert_eq!(
            bad.number("STOCK_PORTAL_BURST").unwrap_err().reason,
            "must be a number above 0, at most 1000000"
        );
        assert_eq!(
            bad.number("STOCK_LOW_STOCK_THRESHOLD").unwrap_err().reason,
            "must be a number >= 0"
        );
        assert_eq!(
            bad.whole("STOCK_SOURCE").unwrap_err().reason,
            "is not a known variable",
            "a row of another kind"
        );
    }
}
