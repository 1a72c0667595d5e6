//! A product's stock as one short sentence, for a chatbot or a voice assistant: "In stock:
//! 14 pcs in 2 stores", "В наличии: 14 шт. в 2 магазинах", "Out of stock". The same sentence
//! is the `summary` of the JSON answer. It is made from the rendered answer, so it says no
//! more than the answer does (with `STOCK_EXPOSE=level`, no figures).

use bytes::{Bytes, BytesMut};

use super::product_view::Lang;
use super::rendered_product::RenderedProduct;

/// The sentence for a rendered product answer; `None` if it is not one.
pub fn sentence(body: &[u8], lang: Lang) -> Option<String> {
    let listed = RenderedProduct::read(body)?;
    let said = |en: &str, ru: &str| {
        Some(match lang {
            Lang::En => en.to_string(),
            Lang::Ru => ru.to_string(),
        })
    };
    match listed.availability.as_deref() {
        Some("discontinued") => return said("No longer sold", "Снят с продажи"),
        Some("backorder") => {
            return said(
                "Out of stock, can be ordered",
                "Нет в наличии, можно заказать",
            )
        }
        Some("untracked") => return said("Available to order", "Доступен к заказу"),
        _ => {}
    }
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
    let figure = listed.available.as_ref().and_then(|f| f.value());
    Some(match (lang, figure) {
        (Lang::En, Some((amount, floor))) => format!(
            "In stock: {} {} in {stores} {}",
            shown(amount, floor, lang),
            if amount == 1.0 && !floor { "pc" } else { "pcs" },
            en_stores(stores)
        ),
        (Lang::Ru, Some((amount, floor))) => format!(
            "В наличии: {} шт. в {stores} {}",
            shown(amount, floor, lang),
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

/// A figure as people write it: no trailing zeros, a decimal comma in Russian, `10+` above a
/// cap.
fn shown(value: f64, floor: bool, lang: Lang) -> String {
    let text = format!("{value}{}", if floor { "+" } else { "" });
    match lang {
        Lang::En => text,
        Lang::Ru => text.replace('.', ","),
    }
}

/// The JSON object `body` with `"name": value` added as its last member (`value` is JSON).
pub fn with_member(body: &Bytes, name: &str, value: &[u8]) -> Bytes {
    let Some(open) = body.strip_suffix(b"}") else {
        return body.clone();
    };
    let mut out = BytesMut::with_capacity(body.len() + name.len() + value.len() + 4);
    out.extend_from_slice(open);
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(value);
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
        let capped = r#"{"productId":1,"available":"10+","inStock":true,"stores":[{"storeId":1,"available":"10+","inStock":true}]}"#;
        assert_eq!(
            sentence(capped.as_bytes(), Lang::En).unwrap(),
            "In stock: 10+ pcs in 1 store"
        );
        assert_eq!(
            sentence(capped.as_bytes(), Lang::Ru).unwrap(),
            "В наличии: 10+ шт. в 1 магазине"
        );
    }

    #[test]
    fn what_may_be_sold_comes_before_the_figures() {
        for (state, en, ru) in [
            (
                "backorder",
                "Out of stock, can be ordered",
                "Нет в наличии, можно заказать",
            ),
            ("untracked", "Available to order", "Доступен к заказу"),
            ("discontinued", "No longer sold", "Снят с продажи"),
        ] {
            let body = format!(
                r#"{{"productId":1,"available":4,"inStock":true,"availability":"{state}","sellable":true,"stores":[]}}"#
            );
            assert_eq!(sentence(body.as_bytes(), Lang::En).unwrap(), en);
            assert_eq!(sentence(body.as_bytes(), Lang::Ru).unwrap(), ru);
        }
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
    fn the_summary_is_the_last_member() {
        let body = Bytes::from_static(br#"{"productId":1}"#);
        let quoted = serde_json::to_vec("Нет в наличии \"x\"").unwrap();
        assert_eq!(
            with_member(&body, "summary", &quoted),
            Bytes::from(r#"{"productId":1,"summary":"Нет в наличии \"x\""}"#)
        );
    }
}
