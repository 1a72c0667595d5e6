//! Whether a product can be sold, not only whether it is on a shelf: the portal's product flags
//! (`catalog.product.get`) read together with the stock figures.
//!
//! The order of the rules matters and is the one a shop expects:
//! 1. an inactive product, or one the portal marks unavailable while stock is there to sell
//!    (so the mark is not the portal's own "sold out" bookkeeping), is `discontinued`;
//! 2. a product whose stock is not kept (`quantityTrace` N) or a service (type 7) is
//!    `untracked`: always sellable;
//! 3. stock to sell is `in_stock`, or `low_stock` at or below the operator's threshold;
//! 4. nothing to sell but the product may be sold at zero (`canBuyZero` Y) is `backorder`;
//! 5. otherwise `out_of_stock`.
//!
//! Without flags (the portal would not say, or has no such product) rules 3 and 5 apply: the
//! state the stock alone shows.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    InStock,
    LowStock,
    OutOfStock,
    /// Nothing to sell, but the product may be sold at zero.
    Backorder,
    /// Stock is not kept for it: always sellable.
    Untracked,
    /// Inactive, or marked unavailable by the portal.
    Discontinued,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::InStock => "in_stock",
            Availability::LowStock => "low_stock",
            Availability::OutOfStock => "out_of_stock",
            Availability::Backorder => "backorder",
            Availability::Untracked => "untracked",
            Availability::Discontinued => "discontinued",
        }
    }

    /// The schema.org `ItemAvailability` name (an untracked product is always in stock).
    pub fn schema_org(self) -> &'static str {
        match self {
            Availability::InStock | Availability::Untracked => "InStock",
            Availability::LowStock => "LimitedAvailability",
            Availability::OutOfStock => "OutOfStock",
            Availability::Backorder => "BackOrder",
            Availability::Discontinued => "Discontinued",
        }
    }
}

/// A product's flags as the portal keeps them. `None`: the portal sent `D` (the catalog's
/// default) or nothing, read as the catalog defaults (stock tracked, no sales at zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProductFlags {
    pub active: Option<bool>,
    pub available: Option<bool>,
    pub can_buy_zero: Option<bool>,
    pub quantity_trace: Option<bool>,
    /// 1 simple, 3 parent of variations, 4 variation, 7 service (0 when not said).
    pub kind: u8,
    /// The catalog (information block) that holds it, where a list of products is read;
    /// 0 when not said. Not part of what may be sold.
    pub iblock: u32,
}

/// Bitrix's product type of a service: it has no stock.
pub const SERVICE: u8 = 7;
/// Bitrix's product type of a parent of variations.
pub const PARENT: u8 = 3;

/// A state and whether it may be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sellable {
    pub availability: Availability,
    pub sellable: bool,
}

/// The state of a product with `available` to sell (after reservations), `low_at` the
/// low-stock threshold.
pub fn sellable(flags: Option<&ProductFlags>, available: f64, low_at: f64) -> Sellable {
    let by_stock = if available <= 0.0 {
        Availability::OutOfStock
    } else if available <= low_at {
        Availability::LowStock
    } else {
        Availability::InStock
    };
    let state = |availability: Availability| Sellable {
        availability,
        sellable: !matches!(
            availability,
            Availability::OutOfStock | Availability::Discontinued
        ),
    };
    let Some(flags) = flags else {
        return state(by_stock);
    };
    let unavailable_with_stock = flags.available == Some(false) && available > 0.0;
    if flags.active == Some(false) || unavailable_with_stock {
        return state(Availability::Discontinued);
    }
    if flags.quantity_trace == Some(false) || flags.kind == SERVICE {
        return state(Availability::Untracked);
    }
    if by_stock == Availability::OutOfStock && flags.can_buy_zero == Some(true) {
        return state(Availability::Backorder);
    }
    state(by_stock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(active: bool, available: bool, zero: bool, trace: bool, kind: u8) -> ProductFlags {
        ProductFlags {
            active: Some(active),
            available: Some(available),
            can_buy_zero: Some(zero),
            quantity_trace: Some(trace),
            kind,
            iblock: 0,
        }
    }

    #[test]
    fn every_state_from_its_flags() {
        use Availability::*;
        let plain = flags(true, true, false, true, 1);
        let cases = [
            (None, 10.0, InStock, true),
            (None, 3.0, LowStock, true),
            (None, 0.0, OutOfStock, false),
            (Some(plain), 0.0, OutOfStock, false),
            (
                Some(flags(true, false, false, true, 1)),
                0.0,
                OutOfStock,
                false,
            ),
            (Some(flags(true, true, true, true, 1)), 0.0, Backorder, true),
            (Some(flags(true, true, true, true, 1)), 9.0, InStock, true),
            (
                Some(flags(true, true, false, false, 1)),
                0.0,
                Untracked,
                true,
            ),
            (
                Some(flags(true, true, false, true, SERVICE)),
                0.0,
                Untracked,
                true,
            ),
            (
                Some(flags(false, true, true, false, 1)),
                10.0,
                Discontinued,
                false,
            ),
            (
                Some(flags(true, false, false, true, 1)),
                10.0,
                Discontinued,
                false,
            ),
            (Some(ProductFlags::default()), 0.0, OutOfStock, false),
            (None, 5.0, LowStock, true),
            (None, 5.5, InStock, true),
            (None, 0.5, LowStock, true),
        ];
        for (flags, available, availability, can) in cases {
            assert_eq!(
                sellable(flags.as_ref(), available, 5.0),
                Sellable {
                    availability,
                    sellable: can
                },
                "{flags:?} {available}"
            );
        }
    }
}
