//! How a product answer is asked for: `?format=json|text` (or `Accept: text/plain`),
//! `?lang=en|ru` for its sentence, and `?qty=N` to ask whether N can be sold. Each at most
//! once; anything else is a 400 `invalid_parameter`.

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

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    pub format: Format,
    pub lang: Lang,
    /// `?qty=N`: a quantity to check, positive and at most [`MAX_QTY`].
    pub qty: Option<f64>,
    /// `?near=LAT,LON`: where the customer is, to sort warehouses by distance.
    pub near: Option<(f64, f64)>,
}

/// The largest quantity a caller may ask about.
pub const MAX_QTY: f64 = 1_000_000_000.0;

/// Reads `format`, `lang` and `qty` from the query (each at most once), and `Accept` when
/// `format` is not given.
pub fn view(query: Option<&str>, accept: Option<&str>) -> Result<View, ApiError> {
    let (mut format, mut lang, mut qty, mut near) = (None, None, None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match key.as_ref() {
            "format" => &mut format,
            "lang" => &mut lang,
            "qty" => &mut qty,
            "near" => &mut near,
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
    let qty = match qty.as_deref() {
        None => None,
        Some(text) => Some(quantity(text).ok_or(ApiError::InvalidParameter)?),
    };
    let near = match near.as_deref() {
        None => None,
        Some(text) => Some(place(text).ok_or(ApiError::InvalidParameter)?),
    };
    Ok(View {
        format,
        lang,
        qty,
        near,
    })
}

/// `LAT,LON` in degrees: decimal numbers, latitude within ±90, longitude within ±180.
fn place(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    let degrees = |part: &str| -> Option<f64> {
        let digits = part.strip_prefix('-').unwrap_or(part);
        quantity_text(digits).then(|| part.parse().ok())?
    };
    let (lat, lon) = (degrees(lat)?, degrees(lon)?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// Digits with at most one inner decimal point.
fn quantity_text(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.')
}

/// A positive decimal number (`3`, `2.5`) up to [`MAX_QTY`]: no sign, exponent or spaces.
fn quantity(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok().filter(|_| quantity_text(text))?;
    (value > 0.0 && value <= MAX_QTY).then_some(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_comes_from_the_query_or_accept() {
        let v = |q: &str, a: Option<&str>| view(Some(q), a);
        let json_en = View {
            format: Format::Json,
            lang: Lang::En,
            qty: None,
            near: None,
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
    fn near_is_a_place_on_the_globe() {
        let near = |q: &str| view(Some(q), None).map(|v| v.near);
        assert_eq!(near("near=55.75,37.61"), Ok(Some((55.75, 37.61))));
        assert_eq!(near("near=-33.9,-70"), Ok(Some((-33.9, -70.0))));
        for bad in [
            "near=91,0",
            "near=0,181",
            "near=55.75",
            "near=a,b",
            "near=1e1,0",
            "near=",
            "near=1,2,3",
            "near=--1,2",
            "near=1,2&near=1,2",
        ] {
            assert_eq!(near(bad), Err(ApiError::InvalidParameter), "{bad}");
        }
    }

    #[test]
    fn qty_is_a_positive_plain_number() {
        let qty = |q: &str| view(Some(q), None).map(|v| v.qty);
        assert_eq!(qty("qty=3"), Ok(Some(3.0)));
        assert_eq!(qty("qty=2.5"), Ok(Some(2.5)));
        assert_eq!(qty("qty=1000000000"), Ok(Some(MAX_QTY)));
        for bad in [
            "qty=0",
            "qty=-1",
            "qty=1e3",
            "qty=",
            "qty=.5",
            "qty=5.",
            "qty=1.2.3",
            "qty=NaN",
            "qty=inf",
            "qty=%201",
            "qty=1000000001",
            "qty=1&qty=2",
        ] {
            assert_eq!(qty(bad), Err(ApiError::InvalidParameter), "{bad}");
        }
    }
}
