//! Stock: ids, the operator's publishing policy, the figures derived from records, and a
//! product's stock across warehouses.

pub mod id;
pub mod policy;
pub mod product;
