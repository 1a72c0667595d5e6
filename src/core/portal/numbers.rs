//! Numbers from the portal, read leniently (SDK authors report quoted numbers) and bounded, so
//! an absurd value is refused instead of turning into an absurd answer.

use serde_json::Value;

/// The largest stock quantity believed. Beyond it sums and rounding lose meaning.
pub const MAX_QUANTITY: f64 = 1.0e12;
/// Bitrix24 ids are signed 32-bit integers.
pub const MAX_ID: i64 = i32::MAX as i64;

/// A JSON number, or a string holding a plain decimal number; finite only.
pub fn lenient_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            let plain = !s.is_empty()
                && s.len() <= 40
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            if !plain {
                return None;
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Like [`lenient_number`], but a whole number that fits an `i64` exactly.
pub fn lenient_integer(value: &Value) -> Option<i64> {
    if let Value::Number(n) = value {
        if let Some(i) = n.as_i64() {
            return Some(i);
        }
    }
    let n = lenient_number(value)?;
    let whole = n.fract() == 0.0 && n.abs() < 9.0e15;
    whole.then_some(n as i64)
}

/// A positive id (`id`, `productId`, `storeId`).
pub fn positive_id(value: &Value) -> Option<u32> {
    lenient_integer(value)
        .filter(|n| (1..=MAX_ID).contains(n))
        .map(|n| n as u32)
}

/// A stock amount: may be negative (portals that allow selling below zero), never absurd.
pub fn amount(value: &Value) -> Option<f64> {
    lenient_number(value).filter(|n| n.abs() <= MAX_QUANTITY)
}

/// A reserved quantity: never negative (it would make `available` exceed `amount`).
pub fn reserved(value: &Value) -> Option<f64> {
    lenient_number(value).filter(|n| (0.0..=MAX_QUANTITY).contains(n))
}

/// A non-negative count (`total`, `next`), bounded by what a page cap can ever need.
pub fn count(value: &Value) -> Option<u32> {
    lenient_integer(value)
        .filter(|n| (0..=MAX_ID).contains(n))
        .map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn bounds() {
        assert_eq!(amount(&json!(14)), Some(14.0));
        assert_eq!(amount(&json!("-2.5")), Some(-2.5));
        assert_eq!(amount(&json!(1e305)), None);
        assert_eq!(amount(&json!("1e305")), None);
        assert_eq!(reserved(&json!(-3)), None);
        assert_eq!(reserved(&json!("0.5")), Some(0.5));
        assert_eq!(positive_id(&json!("13")), Some(13));
        assert_eq!(positive_id(&json!(0)), None);
        assert_eq!(positive_id(&json!(2147483648u64)), None);
        assert_eq!(positive_id(&json!(1.5)), None);
        assert_eq!(count(&json!("50")), Some(50));
        assert_eq!(count(&json!(-1)), None);
    }

    proptest! {
        #[test]
        fn non_numeric_strings_are_rejected(s in "[a-zA-Z ]{1,8}") {
            prop_assert_eq!(lenient_number(&Value::String(s)), None);
        }

        #[test]
        fn numbers_and_their_quoted_forms_read_alike(n in -1.0e9f64..1.0e9) {
            prop_assert_eq!(lenient_number(&json!(n)), lenient_number(&json!(n.to_string())));
        }
    }
}
