//! `STOCK_VARIATIONS`: which products are parents and which products are their variations, as
//! JSON: `[{"parent":6100,"variations":[6101,6102,6103]}]` (or the same list under
//! `"parents"`), or, easier to write in an environment file, `6100:6101,6102,6103;6200:6201`. A parent listed twice, a parent that is also a variation, an empty or
//! oversized list, or an id out of range stops start-up, like any bad setting.
//! (`STOCK_VARIATIONS_FILE`, read by the native adapters, is the same list in a JSON or TOML
//! file: `[[parents]]` tables.)

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::ConfigError;
use crate::core::domain::id::ProductId;
use crate::core::domain::variations::{Variations, MAX_VARIATIONS};

const VAR: &str = "STOCK_VARIATIONS";

#[derive(Deserialize)]
#[serde(untagged)]
enum Listed {
    Bare(Vec<Entry>),
    Wrapped { parents: Vec<Entry> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    parent: u64,
    variations: Vec<u64>,
}

pub fn parse_variations(text: &str) -> Result<Variations, ConfigError> {
    let bad = |reason: String| ConfigError::new(VAR, reason);
    let text = text.trim();
    let entries = if text.starts_with(['[', '{']) {
        let listed: Listed = serde_json::from_str(text).map_err(|_| {
            bad("must be a JSON list of {parent, variations: [ids]} (only those fields)".into())
        })?;
        match listed {
            Listed::Bare(entries) | Listed::Wrapped { parents: entries } => entries,
        }
    } else {
        compact(text).ok_or_else(|| {
            bad("must be PARENT:VARIATION,VARIATION;PARENT:… or a JSON list".into())
        })?
    };
    let id = |n: u64| {
        ProductId::from_u64(n).map_err(|_| bad(format!("{n} is not a product id (1..2147483647)")))
    };
    let mut parents: BTreeMap<ProductId, Vec<ProductId>> = BTreeMap::new();
    let mut children: BTreeSet<ProductId> = BTreeSet::new();
    for entry in entries {
        let parent = id(entry.parent)?;
        if entry.variations.is_empty() || entry.variations.len() > MAX_VARIATIONS {
            return Err(bad(format!(
                "product {parent}: 1 to {MAX_VARIATIONS} variations"
            )));
        }
        let mut variations = Vec::with_capacity(entry.variations.len());
        for n in entry.variations {
            let variation = id(n)?;
            if variation == parent || variations.contains(&variation) {
                return Err(bad(format!(
                    "product {parent}: variation {variation} listed twice or as its own"
                )));
            }
            variations.push(variation);
            children.insert(variation);
        }
        if parents.insert(parent, variations).is_some() {
            return Err(bad(format!("product {parent} is listed twice")));
        }
    }
    if let Some(both) = parents.keys().find(|p| children.contains(p)) {
        return Err(bad(format!(
            "product {both} is a parent and a variation: one level only"
        )));
    }
    Ok(Variations::new(parents))
}

/// `6100:6101,6102;6200:6201`: plain decimal ids only.
fn compact(text: &str) -> Option<Vec<Entry>> {
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (parent, variations) = part.split_once(':')?;
            Some(Entry {
                parent: number(parent)?,
                variations: variations.split(',').map(number).collect::<Option<_>>()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parents_and_refuses_what_cannot_be() {
        let map = parse_variations(r#"[{"parent":6100,"variations":[6101,6102]}]"#).unwrap();
        let of = |n| map.of(ProductId::from_u64(n).unwrap()).map(|v| v.len());
        assert_eq!(of(6100), Some(2));
        assert_eq!(of(6101), None);
        let wrapped = parse_variations(r#"{"parents":[{"parent":1,"variations":[2]}]}"#).unwrap();
        assert!(!wrapped.is_empty());
        let compact = parse_variations(" 6100:6101,6102; 7200:7201 ;").unwrap();
        assert_eq!(compact, {
            let json =
                r#"[{"parent":6100,"variations":[6101,6102]},{"parent":7200,"variations":[7201]}]"#;
            parse_variations(json).unwrap()
        });
        for bad in [
            r#"[{"parent":1,"variations":[]}]"#,
            r#"[{"parent":1,"variations":[1]}]"#,
            r#"[{"parent":1,"variations":[2,2]}]"#,
            r#"[{"parent":1,"variations":[2]},{"parent":1,"variations":[3]}]"#,
            r#"[{"parent":1,"variations":[2]},{"parent":2,"variations":[3]}]"#,
            r#"[{"parent":0,"variations":[2]}]"#,
            r#"[{"parent":1,"variations":[2],"name":"x"}]"#,
            r#"{"parent":1}"#,
            "1:2,x",
            "1:",
            "1;2",
            "1:+2",
        ] {
            let error = parse_variations(bad).unwrap_err();
            assert_eq!(error.variable, VAR, "{bad}");
        }
    }
}
