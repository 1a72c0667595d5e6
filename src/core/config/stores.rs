//! `STOCK_STORES`: the public warehouses as customers know them, as JSON:
//! `[{"id":1,"name":"…","address":"…","lat":55.75,"lon":37.61,"hours":"…"}]` (or the same
//! list under `"stores"`). Every field but `id` is optional; `lat` and `lon` go together. An
//! unknown field, a repeated id or a value out of range stops start-up, like any bad setting.
//! (`STOCK_STORES_FILE`, read by the native adapters, is the same list in a JSON or TOML file.)

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use crate::core::domain::stores::{StoreDirectory, StoreInfo};

const VAR: &str = "STOCK_STORES";
/// Texts longer than this are surely not a name, an address or opening hours.
const MAX_TEXT: usize = 300;

#[derive(Deserialize)]
#[serde(untagged)]
enum Listed {
    Bare(Vec<Entry>),
    Wrapped { stores: Vec<Entry> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: i64,
    name: Option<String>,
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    hours: Option<String>,
}

pub fn parse_stores(json: &str) -> Result<StoreDirectory, ConfigError> {
    let bad = |reason: String| ConfigError::new(VAR, reason);
    let listed: Listed = serde_json::from_str(json).map_err(|_| {
        bad(
            "must be a JSON list of {id, name, address, lat, lon, hours} (only those fields)"
                .into(),
        )
    })?;
    let entries = match listed {
        Listed::Bare(entries) | Listed::Wrapped { stores: entries } => entries,
    };
    let mut stores = BTreeMap::new();
    for entry in entries {
        let id = entry.id;
        if id <= 0 || id > i64::from(i32::MAX) {
            return Err(bad(format!("store id {id} is not a positive warehouse id")));
        }
        let location = match (entry.lat, entry.lon) {
            (None, None) => None,
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
            {
                Some((lat, lon))
            }
            _ => {
                return Err(bad(format!(
                    "store {id}: lat (-90..90) and lon (-180..180) go together"
                )))
            }
        };
        for text in [&entry.name, &entry.address, &entry.hours]
            .into_iter()
            .flatten()
        {
            if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
                return Err(bad(format!(
                    "store {id}: texts are one line of at most {MAX_TEXT} characters"
                )));
            }
        }
        let info = StoreInfo {
            name: entry.name,
            address: entry.address,
            location,
            hours: entry.hours,
        };
        if stores.insert(id, info).is_some() {
            return Err(bad(format!("store {id} is listed twice")));
        }
    }
    Ok(StoreDirectory::new(stores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_list_bare_or_wrapped() {
        let json = r#"[{"id":1,"name":"Main","address":"Tverskaya 1","lat":55.76,"lon":37.61,"hours":"10-20"},{"id":11}]"#;
        let stores = parse_stores(json).unwrap();
        let main = stores.get(1).unwrap();
        assert_eq!(main.name.as_deref(), Some("Main"));
        assert_eq!(main.location, Some((55.76, 37.61)));
        assert_eq!(stores.get(11), Some(&StoreInfo::default()));
        assert_eq!(stores.get(2), None);
        let wrapped = parse_stores(&format!(r#"{{"stores":{json}}}"#)).unwrap();
        assert_eq!(wrapped, stores);
    }

    #[test]
    fn refuses_what_would_mislead_customers() {
        for json in [
            "not json",
            r#"[{"id":1,"nmae":"typo"}]"#,
            r#"[{"id":0}]"#,
            r#"[{"id":1},{"id":1}]"#,
            r#"[{"id":1,"lat":55.7}]"#,
            r#"[{"id":1,"lat":91,"lon":0}]"#,
            r#"[{"id":1,"lon":181,"lat":0}]"#,
            r#"[{"id":1,"name":"a\nb"}]"#,
        ] {
            let error = parse_stores(json).unwrap_err();
            assert_eq!(error.variable, "STOCK_STORES", "{json}");
        }
    }
}
