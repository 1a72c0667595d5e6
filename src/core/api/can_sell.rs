//! `?qty=N` on a product answer: whether N can be sold from the public warehouses together,
//! and which warehouses hold N on their own (where N can be picked up). Made from the rendered
//! answer's figures and state: an untracked product or a backorder can always be sold, a
//! discontinued or sold-out one never; otherwise the figures decide, and with
//! `STOCK_EXPOSE=level` there are none to check against.

use serde::Serialize;

use super::rendered_product::RenderedProduct;
use crate::core::publish::render::Quantity;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checked {
    asked: Quantity,
    can_sell: bool,
    /// Warehouses that hold the quantity on their own, in the answer's order.
    stores: Vec<i64>,
}

/// The `qty` member for a rendered product answer, as JSON; `None` when the answer cannot
/// tell without giving away what it hides: no figures (levels), or a quantity above the cap
/// of capped figures (`"10+"` says nothing about 11).
pub fn check(body: &[u8], qty: f64) -> Option<Vec<u8>> {
    let listed = RenderedProduct::read(body)?;
    let by_state = match listed.availability.as_deref() {
        Some("untracked" | "backorder") => Some(true),
        // Nothing to sell and no sale at zero: no quantity, whatever the figures hide.
        Some("discontinued" | "out_of_stock") => Some(false),
        _ => None,
    };
    if let Some(can_sell) = by_state {
        return serde_json::to_vec(&Checked {
            asked: Quantity(qty),
            can_sell,
            stores: holding(&listed, qty).unwrap_or_default(),
        })
        .ok();
    }
    let (total, floor) = listed.available.as_ref()?.value()?;
    if floor && qty > total {
        return None;
    }
    serde_json::to_vec(&Checked {
        asked: Quantity(qty),
        can_sell: total >= qty,
        stores: holding(&listed, qty)?,
    })
    .ok()
}

/// The warehouses that hold `qty` on their own; `None` when a figure cannot tell.
fn holding(listed: &RenderedProduct, qty: f64) -> Option<Vec<i64>> {
    let mut stores = Vec::new();
    for store in &listed.stores {
        let (held, floor) = store.available.as_ref()?.value()?;
        if floor && qty > held {
            return None;
        }
        if held >= qty {
            stores.push(store.store_id);
        }
    }
    Some(stores)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT: &str = r#"{"productId":6973,"amount":20,"reserved":1,"available":19,"inStock":true,"stores":[{"storeId":1,"amount":6,"reserved":1,"available":5,"inStock":true},{"storeId":11,"amount":14,"reserved":0,"available":14,"inStock":true}]}"#;

    fn checked(qty: f64) -> String {
        String::from_utf8(check(EXACT.as_bytes(), qty).unwrap()).unwrap()
    }

    #[test]
    fn total_and_single_warehouses() {
        assert_eq!(
            checked(5.0),
            r#"{"asked":5,"canSell":true,"stores":[1,11]}"#
        );
        assert_eq!(
            checked(14.0),
            r#"{"asked":14,"canSell":true,"stores":[11]}"#
        );
        assert_eq!(checked(19.0), r#"{"asked":19,"canSell":true,"stores":[]}"#);
        assert_eq!(
            checked(19.5),
            r#"{"asked":19.5,"canSell":false,"stores":[]}"#
        );
    }

    #[test]
    fn the_state_decides_before_the_figures() {
        let backorder = r#"{"productId":7101,"amount":0,"reserved":0,"available":0,"inStock":false,"availability":"backorder","sellable":true,"stores":[{"storeId":1,"available":0,"inStock":false}]}"#;
        assert_eq!(
            String::from_utf8(check(backorder.as_bytes(), 3.0).unwrap()).unwrap(),
            r#"{"asked":3,"canSell":true,"stores":[]}"#
        );
        let untracked_level = r#"{"productId":7102,"availability":"untracked","inStock":false,"sellable":true,"stores":[]}"#;
        assert_eq!(
            String::from_utf8(check(untracked_level.as_bytes(), 2.0).unwrap()).unwrap(),
            r#"{"asked":2,"canSell":true,"stores":[]}"#
        );
        let gone = r#"{"productId":7103,"available":8,"inStock":true,"availability":"discontinued","sellable":false,"stores":[{"storeId":1,"available":8,"inStock":true}]}"#;
        assert_eq!(
            String::from_utf8(check(gone.as_bytes(), 1.0).unwrap()).unwrap(),
            r#"{"asked":1,"canSell":false,"stores":[1]}"#
        );
    }

    #[test]
    fn capped_figures_answer_up_to_the_cap() {
        let capped = r#"{"productId":1,"available":"10+","inStock":true,"stores":[{"storeId":1,"available":4,"inStock":true},{"storeId":2,"available":"10+","inStock":true}]}"#;
        let answer = |qty| check(capped.as_bytes(), qty).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            answer(4.0).unwrap(),
            r#"{"asked":4,"canSell":true,"stores":[1,2]}"#
        );
        assert_eq!(
            answer(10.0).unwrap(),
            r#"{"asked":10,"canSell":true,"stores":[2]}"#
        );
        assert_eq!(answer(11.0), None, "above the cap: not told");
    }

    #[test]
    fn levels_have_nothing_to_check() {
        let level = r#"{"productId":1,"availability":"in_stock","inStock":true,"stores":[{"storeId":1,"availability":"in_stock","inStock":true}]}"#;
        assert_eq!(check(level.as_bytes(), 1.0), None);
        let sold_out = r#"{"productId":1,"availability":"out_of_stock","inStock":false,"sellable":false,"stores":[]}"#;
        assert_eq!(
            String::from_utf8(check(sold_out.as_bytes(), 1.0).unwrap()).unwrap(),
            r#"{"asked":1,"canSell":false,"stores":[]}"#
        );
    }
}
