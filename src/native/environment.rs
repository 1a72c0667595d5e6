//! The process environment as the settings see it, and the environment file a reload reads
//! again (`serve --env-file`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::core::config::variables::refuse_unknown;
use crate::core::config::ConfigError;

const ENV_FILE_LABEL: &str = "--env-file";
/// An environment file is a few kilobytes; anything much longer is the wrong file.
const MAX_ENV_FILE_BYTES: u64 = 64 * 1024;

/// Refuses a `STOCK_*` variable of this process or of its environment file that the gateway
/// does not know (a typo would leave its setting at the default), naming the closest known one.
pub fn refuse_unknown_variables(file: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .chain(file.keys().cloned())
        .collect();
    refuse_unknown(names.iter().map(String::as_str))
}

/// The `NAME=VALUE` lines of an environment file, read the way systemd's `EnvironmentFile=`
/// reads the simple cases: blank lines and `#` comments skipped, an optional `export `, one
/// pair of matching quotes around a value removed. Errors name the line, never its text (it
/// may hold the webhook).
pub fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let unreadable = |reason: String| ConfigError::new(ENV_FILE_LABEL, reason);
    let metadata = std::fs::metadata(path)
        .map_err(|error| unreadable(format!("cannot be read: {}", error.kind())))?;
    if metadata.len() > MAX_ENV_FILE_BYTES {
        return Err(unreadable(format!(
            "is longer than {MAX_ENV_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| unreadable(format!("cannot be read: {}", error.kind())))?;
    parse_env_file(&text)
}

fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut pairs = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let named = line
            .split_once('=')
            .map(|(name, value)| (name.trim(), value))
            .filter(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        let Some((name, value)) = named else {
            return Err(ConfigError::new(
                ENV_FILE_LABEL,
                format!("line {} is not NAME=VALUE", index + 1),
            ));
        };
        let value = value.trim();
        // The double quote written by its code point: a bare one would throw off
        // tests/settings_table.rs, which finds names between double quotes.
        let unquoted = ['\u{22}', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
            .unwrap_or(value);
        pairs.insert(name.to_string(), unquoted.to_string());
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs_comments_quotes_and_export() {
        let text = "# a comment\n\nB24_WEBHOOK_URL=https://p.example/rest/1/abc/\n\
                    export STOCK_CACHE_TTL_SECS = 30\nSTOCK_ALLOWED_ORIGINS=\"https://shop.example\"\n\
                    STOCK_LOG_FORMAT='json'\nEMPTY=\n";
        let pairs = parse_env_file(text).unwrap();
        assert_eq!(pairs["B24_WEBHOOK_URL"], "https://p.example/rest/1/abc/");
        assert_eq!(pairs["STOCK_CACHE_TTL_SECS"], "30");
        assert_eq!(pairs["STOCK_ALLOWED_ORIGINS"], "https://shop.example");
        assert_eq!(pairs["STOCK_LOG_FORMAT"], "json");
        assert_eq!(pairs["EMPTY"], "");
        assert_eq!(pairs.len(), 5);
    }

    #[test]
    fn a_line_that_is_not_a_pair_is_named_by_number_not_text() {
        for text in [
            "A=1\nhttps://p.example/rest/1/secret/\n",
            "A=1\n=x\n",
            "A=1\nB C=1\n",
        ] {
            let error = parse_env_file(text).unwrap_err();
            assert_eq!(error.reason, "line 2 is not NAME=VALUE", "{text}");
            assert!(!error.to_string().contains("secret"));
        }
    }
}

/// Settings that may come from a file: the variable naming the file, the variable it stands
/// for, and what its TOML form holds.
const FILE_SETTINGS: [(&str, &str, &str); 2] = [
    ("STOCK_STORES_FILE", "STOCK_STORES", "[[stores]] tables"),
    (
        "STOCK_VARIATIONS_FILE",
        "STOCK_VARIATIONS",
        "[[parents]] tables",
    ),
];

/// `STOCK_STORES_FILE`: the warehouse list of `STOCK_STORES` in a file (JSON, or TOML when the
/// name ends in `.toml`: `[[stores]]` tables), read once at start-up and handed to the core as
/// `STOCK_STORES`. Setting both is refused: one of them would be ignored.
pub fn stores_from_file(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    setting_from_file(lookup, FILE_SETTINGS[0])
}

/// One of [`FILE_SETTINGS`]: the file's content as the JSON its variable takes.
fn setting_from_file(
    lookup: &impl Fn(&str) -> Option<String>,
    (var, inline, tables): (&'static str, &'static str, &'static str),
) -> Result<Option<String>, ConfigError> {
    const MAX_BYTES: u64 = 1024 * 1024;
    let Some(path) = lookup(var).filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    if lookup(inline).is_some_and(|v| !v.trim().is_empty()) {
        return Err(ConfigError::new(
            var,
            format!("is set and so is {inline}: keep only one"),
        ));
    }
    let path = Path::new(path.trim());
    let unreadable = |reason: String| ConfigError::new(var, reason);
    let size = std::fs::metadata(path)
        .map_err(|error| unreadable(format!("cannot be read: {}", error.kind())))?
        .len();
    if size > MAX_BYTES {
        return Err(unreadable(format!("is longer than {MAX_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| unreadable(format!("cannot be read: {}", error.kind())))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        let value: serde_json::Value = toml::from_str(&text)
            .map_err(|_| unreadable(format!("is not valid TOML ({tables})")))?;
        Ok(Some(value.to_string()))
    } else {
        Ok(Some(text))
    }
}

/// `lookup`, with `STOCK_STORES` and `STOCK_VARIATIONS` answered from `STOCK_STORES_FILE` and
/// `STOCK_VARIATIONS_FILE` when those are set.
pub fn with_stores_file(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<impl Fn(&str) -> Option<String>, ConfigError> {
    let mut from_files: Vec<(&'static str, String)> = Vec::new();
    for setting in FILE_SETTINGS {
        if let Some(json) = setting_from_file(&lookup, setting)? {
            from_files.push((setting.1, json));
        }
    }
    Ok(
        move |name: &str| match from_files.iter().find(|(inline, _)| *inline == name) {
            Some((_, json)) => Some(json.clone()),
            None => lookup(name),
        },
    )
}

#[cfg(test)]
mod stores_file_tests {
    use super::*;

    fn lookup_with(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_toml_file_becomes_the_json_list() {
        let dir = std::env::temp_dir().join(format!("b24-stores-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("stores.toml");
        std::fs::write(
            &file,
            "[[stores]]\nid = 1\nname = \"Main\"\nlat = 55.76\nlon = 37.61\n\n[[stores]]\nid = 11\n",
        )
        .unwrap();
        let lookup = lookup_with(vec![("STOCK_STORES_FILE", file.display().to_string())]);
        let json = stores_from_file(&lookup).unwrap().unwrap();
        let stores = crate::core::config::stores::parse_stores(&json).unwrap();
        assert_eq!(stores.get(1).unwrap().name.as_deref(), Some("Main"));
        assert!(stores.get(11).is_some());

        let both = lookup_with(vec![
            ("STOCK_STORES_FILE", file.display().to_string()),
            ("STOCK_STORES", "[]".into()),
        ]);
        assert!(stores_from_file(&both).is_err());
        let missing = lookup_with(vec![(
            "STOCK_STORES_FILE",
            "/nonexistent/stores.json".into(),
        )]);
        assert_eq!(
            stores_from_file(&missing).unwrap_err().variable,
            "STOCK_STORES_FILE"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[cfg(test)]
mod variations_file_tests {
    use super::*;

    #[test]
    fn a_toml_file_of_parents_becomes_the_json_list() {
        let dir = std::env::temp_dir().join(format!("b24-variations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("variations.toml");
        std::fs::write(
            &file,
            "[[parents]]\nparent = 7200\nvariations = [7201, 7202, 7203]\n",
        )
        .unwrap();
        let path = file.display().to_string();
        let lookup = with_stores_file(move |name: &str| {
            (name == "STOCK_VARIATIONS_FILE").then(|| path.clone())
        })
        .unwrap();
        let json = lookup("STOCK_VARIATIONS").unwrap();
        let map = crate::core::config::variations::parse_variations(&json).unwrap();
        let parent = crate::core::domain::id::ProductId::from_u64(7200).unwrap();
        assert_eq!(map.of(parent).map(<[_]>::len), Some(3));
        let both = with_stores_file(|name: &str| match name {
            "STOCK_VARIATIONS_FILE" => Some("/nonexistent".into()),
            "STOCK_VARIATIONS" => Some("1:2".into()),
            _ => None,
        });
        assert_eq!(both.err().unwrap().variable, "STOCK_VARIATIONS_FILE");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
