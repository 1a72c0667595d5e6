//! What a shop tells its customers about its public warehouses: a name, an address, where it is
//! and when it hands orders over. Bitrix24 keeps this behind `catalog.store.list`, which a
//! least-rights webhook may not call, so it comes from the operator (`STOCK_STORES`).

use std::collections::BTreeMap;

/// One warehouse as customers know it; every part is optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreInfo {
    pub name: Option<String>,
    pub address: Option<String>,
    /// Latitude and longitude in degrees.
    pub location: Option<(f64, f64)>,
    /// Pickup hours as the shop writes them (`Mo-Fr 10:00-20:00`).
    pub hours: Option<String>,
}

/// The known warehouses by id.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreDirectory(BTreeMap<i64, StoreInfo>);

impl StoreDirectory {
    pub fn new(stores: BTreeMap<i64, StoreInfo>) -> Self {
        Self(stores)
    }

    pub fn get(&self, store_id: i64) -> Option<&StoreInfo> {
        self.0.get(&store_id)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The great-circle distance between two points in kilometres (haversine, mean Earth radius).
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6_371.0;
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (dphi, dlambda) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_on_the_globe() {
        let moscow = (55.7558, 37.6173);
        let saint_petersburg = (59.9343, 30.3351);
        let d = distance_km(moscow, saint_petersburg);
        assert!((d - 634.0).abs() < 5.0, "{d}");
        assert_eq!(distance_km(moscow, moscow), 0.0);
        // Antipodes: half the circumference, no NaN.
        let far = distance_km((0.0, 0.0), (0.0, 180.0));
        assert!((far - 20_015.0).abs() < 5.0, "{far}");
    }
}
