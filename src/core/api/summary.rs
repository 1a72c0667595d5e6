//! A product's stock as one short sentence, for a chatbot or a voice assistant: "In stock:
//! 14 pcs in 2 stores", "В наличии: 14 шт. в 2 магазинах", "Out of stock". The same sentence
//! is the `summary` of the JSON answer. It is made from the rendered answer, so it says no
//! more than the answer does (with `STOCK_EXPOSE=level`, no figures).

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::core::domain::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
}

/// How a product answer is asked for: `?format=json|text` (or `Accept: text/plain`) and
/// `?lang=en|ru`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub format: Format,
    pub lang: Lang,
}

/// Reads `format` and `lang` from the query (each at most once), and `Accept` when `format`
/// is not given. Anything else is a 400.
pub fn view(query: Option<&str>, accept: Option<&str>) -> Result<View, ApiError> {
    let (mut format, mut lang) = (None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match key.as_ref() {
            "format" => &mut format,
            "lang" => &mut lang,
            _ => continue,
        };
        if slot.is_some() {
            return Err(ApiError::InvalidParameter);
        }
        *slot = Some(value.into_owned());
    }
    let format = match format.as_deref() {
        None => accepted_format(accept.unwrap_or("")),
        Some("json") => Format::Json,
        Some("text") => Format::Text,
        Some(_) => return Err(ApiError::InvalidParameter),
    };
    let lang = match lang.as_deref() {
        None | Some("en") => Lang::En,
        Some("ru") => Lang::Ru,
        Some(_) => return Err(ApiError::InvalidParameter),
    };
    Ok(View { format, lang })
}

/// Text when `Accept` prefers `text/plain` to JSON (`*/*` and `application/*` count as JSON).
fn accepted_format(accept: &str) -> Format {
    let (mut json, mut text) = (0.0f32, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/plain" => text = text.max(q),
            "application/json" | "application/*" | "*/*" => json = json.max(q),
            _ => {}
        }
    }
    if text > json {
        Format::Text
    } else {
        Format::Json
    }
}

/// What the sentence needs from a rendered product answer (either exposure).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    available: Option<f64>,
    availability: Option<String>,
    in_stock: bool,
    stores: Vec<ListedStore>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedStore {
    in_stock: bool,
}

/// The sentence for a rendered product answer; `None` if it is not one.
pub fn sentence(body: &[u8], lang: Lang) -> Option<String> {
    let listed: Listed = serde_json::from_slice(body).ok()?;
    if !listed.in_stock {
        return Some(
            match lang {
                Lang::En => "Out of stock",
                Lang::Ru => "Нет в наличии",
            }
            .to_string(),
        );
    }
    let stores = listed.stores.iter().filter(|s| s.in_stock).count() as u64;
    let low = listed.availability.as_deref() == Some("low_stock");
    Some(match (lang, listed.available) {
        (Lang::En, Some(amount)) => format!(
            "In stock: {} {} in {stores} {}",
            number(amount, lang),
            if amount == 1.0 { "pc" } else { "pcs" },
            en_stores(stores)
        ),
        (Lang::Ru, Some(amount)) => format!(
            "В наличии: {} шт. в {stores} {}",
            number(amount, lang),
            ru_stores(stores)
        ),
        (Lang::En, None) if low => format!("Low stock, in {stores} {}", en_stores(stores)),
        (Lang::En, None) => format!("In stock in {stores} {}", en_stores(stores)),
        (Lang::Ru, None) if low => format!("Заканчивается, в {stores} {}", ru_stores(stores)),
        (Lang::Ru, None) => format!("В наличии в {stores} {}", ru_stores(stores)),
    })
}

fn en_stores(n: u64) -> &'static str {
    if n == 1 {
        "store"
    } else {
        "stores"
    }
}

/// "в 1 магазине", "в 2 магазинах", "в 21 магазине": the prepositional case after a number.
fn ru_stores(n: u64) -> &'static str {
    ru_plural(n, ["магазине", "магазинах", "магазинах"])
}

/// The Russian form for `n`: one (1, 21, 101), few (2–4, 22–24), or many (0, 5–20, 25, 111).
pub fn ru_plural(n: u64, [one, few, many]: [&'static str; 3]) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// A figure as people write it: no trailing zeros; a decimal comma in Russian.
fn number(value: f64, lang: Lang) -> String {
    let text = format!("{value}");
    match lang {
        Lang::En => text,
        Lang::Ru => text.replace('.', ","),
    }
}

/// The JSON answer with `"summary"` added as its last member.
pub fn with_summary(body: &Bytes, summary: &str) -> Bytes {
    let Some(open) = body.strip_suffix(b"}") else {
        return body.clone();
    };
    let quoted = serde_json::to_string(summary).unwrap_or_else(|_| "\"\"".into());
    let mut out = BytesMut::with_capacity(body.len() + quoted.len() + 12);
    out.extend_from_slice(open);
    out.extend_from_slice(b",\"summary\":");
    out.extend_from_slice(quoted.as_bytes());
    out.extend_from_slice(b"}");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT: &str = r#"{"productId":6973,"amount":20,"reserved":1,"available":19,"inStock":true,"stores":[{"storeId":1,"amount":6,"reserved":1,"available":5,"inStock":true},{"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true}]}"#;

    #[test]
    fn russian_plural_forms() {
        let forms = ["магазин", "магазина", "магазинов"];
        let cases = [
            (0, "магазинов"),
            (1, "магазин"),
            (2, "магазина"),
            (5, "магазинов"),
            (11, "магазинов"),
            (21, "магазин"),
            (22, "магазина"),
            (25, "магазинов"),
            (101, "магазин"),
            (111, "магазинов"),
            (112, "магазинов"),
            (1004, "магазина"),
        ];
        for (n, form) in cases {
            assert_eq!(ru_plural(n, forms), form, "{n}");
        }
    }

    #[test]
    fn sentences_in_both_languages() {
        assert_eq!(
            sentence(EXACT.as_bytes(), Lang::En).unwrap(),
            "In stock: 19 pcs in 2 stores"
        );
        assert_eq!(
            sentence(EXACT.as_bytes(), Lang::Ru).unwrap(),
            "В наличии: 19 шт. в 2 магазинах"
        );
        let one = r#"{"productId":1,"available":2.5,"inStock":true,"stores":[{"storeId":1,"inStock":true},{"storeId":2,"inStock":false}]}"#;
        assert_eq!(
            sentence(one.as_bytes(), Lang::En).unwrap(),
            "In stock: 2.5 pcs in 1 store"
        );
        assert_eq!(
            sentence(one.as_bytes(), Lang::Ru).unwrap(),
            "В наличии: 2,5 шт. в 1 магазине"
        );
        let none = r#"{"productId":1,"available":0,"inStock":false,"stores":[]}"#;
        assert_eq!(sentence(none.as_bytes(), Lang::En).unwrap(), "Out of stock");
        assert_eq!(
            sentence(none.as_bytes(), Lang::Ru).unwrap(),
            "Нет в наличии"
        );
        let level = r#"{"productId":1,"availability":"low_stock","inStock":true,"stores":[{"storeId":1,"availability":"low_stock","inStock":true}]}"#;
        assert_eq!(
            sentence(level.as_bytes(), Lang::En).unwrap(),
            "Low stock, in 1 store"
        );
        assert_eq!(
            sentence(level.as_bytes(), Lang::Ru).unwrap(),
            "Заканчивается, в 1 магазине"
        );
        assert_eq!(sentence(b"[]", Lang::En), None);
    }

    #[test]
    fn store_counts_take_the_right_russian_form() {
        for (n, form) in [
            (1, "магазине"),
            (2, "магазинах"),
            (5, "магазинах"),
            (11, "магазинах"),
            (21, "магазине"),
            (22, "магазинах"),
        ] {
            let stores = vec![r#"{"storeId":1,"inStock":true}"#; n].join(",");
            let body =
                format!(r#"{{"productId":1,"available":3,"inStock":true,"stores":[{stores}]}}"#);
            assert_eq!(
                sentence(body.as_bytes(), Lang::Ru).unwrap(),
                format!("В наличии: 3 шт. в {n} {form}")
            );
        }
    }

    #[test]
    fn the_view_comes_from_the_query_or_accept() {
        let v = |q: &str, a: Option<&str>| view(Some(q), a);
        let json_en = View {
            format: Format::Json,
            lang: Lang::En,
        };
        assert_eq!(v("", None), Ok(json_en));
        assert_eq!(v("lang=ru", None).unwrap().lang, Lang::Ru);
        assert_eq!(v("format=text", None).unwrap().format, Format::Text);
        assert_eq!(v("", Some("text/plain")).unwrap().format, Format::Text);
        assert_eq!(
            v("", Some("text/plain;q=0.5, application/json"))
                .unwrap()
                .format,
            Format::Json
        );
        assert_eq!(v("", Some("*/*")).unwrap().format, Format::Json);
        assert_eq!(
            v("format=json", Some("text/plain")).unwrap().format,
            Format::Json
        );
        for bad in [
            "lang=de",
            "format=xml",
            "lang=",
            "lang=en&lang=ru",
            "format=text&format=text",
        ] {
            assert_eq!(v(bad, None), Err(ApiError::InvalidParameter), "{bad}");
        }
    }

    #[test]
    fn the_summary_is_the_last_member() {
        let body = Bytes::from_static(br#"{"productId":1}"#);
        assert_eq!(
            with_summary(&body, "Нет в наличии \"x\""),
            Bytes::from(r#"{"productId":1,"summary":"Нет в наличии \"x\""}"#)
        );
    }
}
