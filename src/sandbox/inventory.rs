//! The sandbox portal's stock records as they stand: the fixed records of `data`, a large
//! generated catalogue when asked for (`--records N`), and whatever the control API changed
//! since (records set, records deleted), by id.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use super::data::{self, Flags, Record};

/// Where the generated catalogue starts: above every fixed record.
pub const CATALOGUE_FIRST_ID: u32 = 3001;

pub struct Inventory {
    records: BTreeMap<u32, Record>,
    /// Products whose flags the control API changed; the others have [`data::flags`].
    flags: HashMap<u32, Flags>,
    /// Record ids by product.
    by_product: BTreeMap<u32, BTreeSet<u32>>,
    /// Whether the portal keeps inventory accounting (`catalog.document.mode.status`).
    pub accounting: bool,
    /// Whether the webhook is an administrator's: may list catalogs and variations.
    pub admin: bool,
}

impl Inventory {
    /// The fixed records, and `catalogue` generated ones.
    pub fn new(catalogue: u32) -> Self {
        let mut inventory = Self {
            records: BTreeMap::new(),
            flags: HashMap::new(),
            by_product: BTreeMap::new(),
            accounting: true,
            admin: false,
        };
        for record in data::all_records().chain(generated(catalogue)) {
            inventory.set(record);
        }
        inventory
    }

    /// A product's `catalog.product.get` object, when any record holds it or its flags were
    /// set. `available` is worked out as the portal does: something to sell, a sale at zero
    /// allowed, or stock not kept.
    pub fn product(&self, product_id: u32) -> Option<serde_json::Value> {
        let set = self.flags.get(&product_id);
        let rows: Vec<&Record> = self
            .by_product
            .get(&product_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.records.get(id))
            .collect();
        if rows.is_empty() && set.is_none() && !data::PARENTS.contains(&product_id) {
            return None;
        }
        let flags = self.flags(product_id);
        let on_hand: f64 = rows
            .iter()
            .map(|r| r.amount - r.quantity_reserved.unwrap_or(0.0))
            .sum();
        let yes = |b: bool| if b { "Y" } else { "N" };
        let available = flags.available.clone().unwrap_or_else(|| {
            yes(on_hand > 0.0 || flags.can_buy_zero == "Y" || flags.quantity_trace == "N").into()
        });
        Some(serde_json::json!({
            "id": product_id,
            "iblockId": data::catalog_of(&flags),
            "name": format!("Product {product_id}"),
            "active": flags.active,
            "available": available,
            "canBuyZero": flags.can_buy_zero,
            "quantityTrace": flags.quantity_trace,
            "type": flags.kind,
            "measure": 5,
            "quantity": on_hand,
            "detailText": null,
        }))
    }

    /// The ids of products with records or flags in `from..to`, in order, of every catalog.
    pub fn product_ids(&self, from: Option<u32>, to: Option<u32>) -> Vec<u32> {
        let (from, to) = (from.unwrap_or(0), to.unwrap_or(u32::MAX));
        if from >= to {
            return Vec::new();
        }
        let mut ids: Vec<u32> = self
            .by_product
            .range(from..to)
            .filter(|(_, records)| !records.is_empty())
            .map(|(id, _)| *id)
            .chain(
                self.flags
                    .keys()
                    .copied()
                    .filter(|id| (from..to).contains(id)),
            )
            .chain(
                data::PARENTS
                    .into_iter()
                    .filter(|id| (from..to).contains(id)),
            )
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// A product's flags as they stand.
    pub fn flags(&self, product_id: u32) -> Flags {
        self.flags
            .get(&product_id)
            .cloned()
            .unwrap_or_else(|| data::flags(product_id))
    }

    /// Changes a product's flags (control API).
    pub fn set_flags(&mut self, product_id: u32, flags: Flags) {
        self.flags.insert(product_id, flags);
    }

    pub fn get(&self, id: u32) -> Option<&Record> {
        self.records.get(&id)
    }

    /// Records with ids in `from..to` (both optional), in id order.
    pub fn range(
        &self,
        from: Option<u32>,
        to: Option<u32>,
    ) -> impl DoubleEndedIterator<Item = &Record> {
        let low = from.map_or(Bound::Unbounded, Bound::Included);
        let high = to.map_or(Bound::Unbounded, Bound::Excluded);
        let empty = matches!((from, to), (Some(f), Some(t)) if f >= t);
        let range = if empty {
            self.records.range(0..0)
        } else {
            self.records.range((low, high))
        };
        range.map(|(_, record)| record)
    }

    pub fn set(&mut self, record: Record) {
        self.delete(record.id);
        self.by_product
            .entry(record.product_id)
            .or_default()
            .insert(record.id);
        self.records.insert(record.id, record);
    }

    pub fn delete(&mut self, id: u32) -> bool {
        let Some(record) = self.records.remove(&id) else {
            return false;
        };
        if let Some(ids) = self.by_product.get_mut(&record.product_id) {
            ids.remove(&id);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// `count` records from [`CATALOGUE_FIRST_ID`] up, every 25th id left out (a gap, as deleted
/// records leave), three records per product in warehouses 1, 2 and 11, with amounts and
/// reservations that vary from record to record.
fn generated(count: u32) -> impl Iterator<Item = Record> {
    (0..count).map(|k| {
        let id = CATALOGUE_FIRST_ID + k + k / 24;
        Record {
            id,
            product_id: 100_000 + k / 3,
            store_id: data::STORES[(k % 3) as usize],
            amount: f64::from((k * 37) % 101),
            quantity_reserved: (!k.is_multiple_of(7)).then(|| f64::from(k % 5)),
            quoted: false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_gaps_and_fits_the_id_range() {
        let inventory = Inventory::new(100_000);
        assert_eq!(inventory.len(), 300 + 2 + 90 + 6 + 5 + 100_000);
        let last = inventory.range(None, None).next_back().unwrap().id;
        // 100,000 records below id 107,200: a sweep of 50-id ranges takes 43 batches.
        assert!(last < 107_200, "{last}");
        assert!(inventory.get(CATALOGUE_FIRST_ID + 24).is_none(), "a gap");
        let ids: Vec<u32> = inventory
            .range(Some(3001), Some(3051))
            .map(|r| r.id)
            .collect();
        assert_eq!(ids.len(), 48);
        assert!(inventory.range(Some(5), Some(5)).next().is_none());
    }

    #[test]
    fn records_change_and_go() {
        let mut inventory = Inventory::new(0);
        let mut record = inventory.get(13).unwrap().clone();
        record.amount = 99.0;
        inventory.set(record);
        assert_eq!(inventory.get(13).unwrap().amount, 99.0);
        assert!(inventory.delete(13));
        assert!(inventory.get(13).is_none());
        assert!(!inventory.delete(13));
    }
}
