//! One product's stock across the public warehouses, from its `catalog.storeproduct.list` rows.

use std::collections::BTreeMap;

use super::id::ProductId;
use super::policy::{Figures, Policy};
use crate::core::domain::record::StoreProduct;

/// A product's figures per public warehouse (sorted by warehouse id) and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductStock {
    pub product_id: ProductId,
    pub total: Figures,
    pub stores: Vec<(i64, Figures)>,
}

/// Adds up the rows the policy admits; `None` when no public warehouse holds the product.
/// A record read twice (pages that overlapped while stock moved) counts once.
pub fn product_stock(
    product_id: ProductId,
    rows: &[StoreProduct],
    policy: &Policy,
) -> Option<ProductStock> {
    let mut seen = Vec::with_capacity(rows.len());
    let mut by_store: BTreeMap<i64, Vec<Figures>> = BTreeMap::new();
    for row in rows {
        if row.product_id != product_id || !policy.admits(row) || seen.contains(&row.id) {
            continue;
        }
        seen.push(row.id);
        by_store
            .entry(row.store_id)
            .or_default()
            .push(Figures::of(row));
    }
    if by_store.is_empty() {
        return None;
    }
    let stores: Vec<(i64, Figures)> = by_store
        .into_iter()
        .map(|(store, parts)| (store, Figures::sum(parts)))
        .collect();
    Some(ProductStock {
        product_id,
        total: Figures::sum(stores.iter().map(|(_, f)| *f)),
        stores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::id::RecordId;

    fn row(id: u64, store_id: i64, amount: f64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(id).unwrap(),
            product_id: ProductId::from_u64(6973).unwrap(),
            store_id,
            amount,
            quantity_reserved: reserved,
        }
    }

    #[test]
    fn sums_public_warehouses_sorted_by_id() {
        let policy = Policy {
            allowed_stores: vec![1, 11],
            ..Policy::default()
        };
        let rows = [
            row(13, 11, 14.0, None),
            row(302, 2, 100.0, None),
            row(301, 1, 6.0, Some(1.0)),
            row(301, 1, 6.0, Some(1.0)),
        ];
        let stock = product_stock(ProductId::from_u64(6973).unwrap(), &rows, &policy).unwrap();
        assert_eq!(
            stock.stores.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![1, 11]
        );
        assert_eq!(
            (
                stock.total.amount,
                stock.total.reserved,
                stock.total.available
            ),
            (20.0, 1.0, 19.0)
        );
    }

    #[test]
    fn a_product_only_in_hidden_warehouses_is_missing() {
        let policy = Policy {
            allowed_stores: vec![1],
            ..Policy::default()
        };
        assert_eq!(
            product_stock(
                ProductId::from_u64(6973).unwrap(),
                &[row(302, 2, 5.0, None)],
                &policy
            ),
            None
        );
        assert_eq!(
            product_stock(ProductId::from_u64(6973).unwrap(), &[], &Policy::default()),
            None
        );
    }
}
