//! Products with variations: a parent (Bitrix type 3) has no stock of its own; its variations
//! (type 4) do. The map from parent to variations needs rights a least-privilege webhook lacks
//! (`catalog.product.offer.list` is admin-only), so the operator gives it
//! (`STOCK_VARIATIONS`); a parent not in the map is answered like any product.
//!
//! What a parent may be sold as comes from its variations' states and the stock they add up to
//! (see [`combined`]).

use std::collections::BTreeMap;

use super::id::ProductId;
use super::sellable::{sellable, Availability, ProductFlags, Sellable};

/// The most variations one parent may list: they are read together, page and flags each.
pub const MAX_VARIATIONS: usize = 100;

/// Parents and their variations, by parent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variations {
    parents: BTreeMap<ProductId, Vec<ProductId>>,
}

impl Variations {
    /// From pairs already checked (no parent twice, no parent that is also a variation).
    pub fn new(parents: BTreeMap<ProductId, Vec<ProductId>>) -> Self {
        Self { parents }
    }

    /// The variations of `parent`, when it is one.
    pub fn of(&self, parent: ProductId) -> Option<&[ProductId]> {
        self.parents.get(&parent).map(Vec::as_slice)
    }

    /// Every parent, in id order.
    pub fn parents(&self) -> Vec<ProductId> {
        self.parents.keys().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }
}

/// A parent's state (or one warehouse's, over the variations there) from its variations'
/// states `parts`, what they have `available` together, and the parent's own flags: an
/// inactive parent, or one whose every variation is discontinued, is `discontinued`; any
/// untracked variation makes it `untracked`; then the stock decides (in or low); then any
/// backorder makes it `backorder`; else `out_of_stock`.
pub fn combined(
    parent: Option<&ProductFlags>,
    parts: &[Sellable],
    available: f64,
    low_at: f64,
) -> Sellable {
    let any = |state: Availability| parts.iter().any(|p| p.availability == state);
    let all_gone = !parts.is_empty()
        && parts
            .iter()
            .all(|p| p.availability == Availability::Discontinued);
    let state = |availability| Sellable {
        availability,
        sellable: !matches!(
            availability,
            Availability::OutOfStock | Availability::Discontinued
        ),
    };
    if parent.is_some_and(|f| f.active == Some(false)) || all_gone {
        return state(Availability::Discontinued);
    }
    if any(Availability::Untracked) {
        return state(Availability::Untracked);
    }
    let by_stock = sellable(None, available, low_at);
    if by_stock.availability == Availability::OutOfStock && any(Availability::Backorder) {
        return state(Availability::Backorder);
    }
    by_stock
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(availability: Availability) -> Sellable {
        Sellable {
            availability,
            sellable: true,
        }
    }

    #[test]
    fn a_parent_is_what_its_variations_make_it() {
        use Availability::*;
        let inactive = ProductFlags {
            active: Some(false),
            ..ProductFlags::default()
        };
        let cases = [
            (None, vec![InStock, OutOfStock], 12.0, InStock),
            (None, vec![LowStock, OutOfStock], 3.0, LowStock),
            (None, vec![OutOfStock, Backorder], 0.0, Backorder),
            (None, vec![OutOfStock, Untracked], 0.0, Untracked),
            (None, vec![Discontinued, Discontinued], 0.0, Discontinued),
            (None, vec![Discontinued, InStock], 8.0, InStock),
            (Some(inactive), vec![InStock], 8.0, Discontinued),
            (None, vec![], 0.0, OutOfStock),
        ];
        for (parent, parts, available, want) in cases {
            let parts: Vec<Sellable> = parts.into_iter().map(part).collect();
            assert_eq!(
                combined(parent.as_ref(), &parts, available, 5.0).availability,
                want,
                "{parts:?} {available}"
            );
        }
        assert!(!combined(None, &[part(OutOfStock)], 0.0, 5.0).sellable);
    }
}
