//! Stock records: ids, the operator's publishing policy, and the figures derived from records.

pub mod id;
pub mod policy;
