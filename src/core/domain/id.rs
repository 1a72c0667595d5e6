//! The ids callers send: stock record ids and product ids. Validated integers are the only
//! caller-supplied values that ever reach the portal.

use std::fmt;

/// A validated `catalog.storeproduct.get` id: a positive decimal integer up to `i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(u32);

pub const MAX_RECORD_ID: u32 = i32::MAX as u32;
/// `2147483647` has ten digits; anything longer is rejected before parsing.
const MAX_DIGITS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is required")]
    Missing,
    #[error("id must be a positive decimal integer no larger than 2147483647")]
    Invalid,
    #[error("id must be given once")]
    Duplicate,
}

impl RecordId {
    /// The lowest id there can be.
    pub const MIN: RecordId = RecordId(1);

    /// Strict: ASCII digits only, no sign, no leading zero, no spaces, at most `i32::MAX`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(IdError::Missing);
        }
        if bytes.len() > MAX_DIGITS || bytes[0] == b'0' || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(IdError::Invalid);
        }
        let value: u64 = text.parse().map_err(|_| IdError::Invalid)?;
        Self::from_u64(value)
    }

    pub fn from_u64(value: u64) -> Result<Self, IdError> {
        if value == 0 || value > u64::from(MAX_RECORD_ID) {
            return Err(IdError::Invalid);
        }
        Ok(Self(value as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A product id (`productId` of a stock record), validated exactly like a record id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductId(u32);

impl ProductId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        RecordId::parse(text).map(|id| Self(id.get()))
    }

    pub fn from_u64(value: u64) -> Result<Self, IdError> {
        RecordId::from_u64(value).map(|id| Self(id.get()))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_plain_positive_integers() {
        assert_eq!(RecordId::parse("13").unwrap().get(), 13);
        assert_eq!(RecordId::parse("1").unwrap().get(), 1);
        assert_eq!(RecordId::parse("2147483647").unwrap().get(), 2_147_483_647);
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(RecordId::parse(""), Err(IdError::Missing));
        for bad in [
            "0",
            "00",
            "013",
            "-1",
            "+1",
            "1.0",
            "1e3",
            "0x1f",
            " 1",
            "1 ",
            "1_000",
            "1,000",
            "1\0",
            "١٢",
            "2147483648",
            "99999999999",
            "4294967296",
            "１",
        ] {
            assert_eq!(RecordId::parse(bad), Err(IdError::Invalid), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_valid_id_round_trips(n in 1u32..=MAX_RECORD_ID) {
            prop_assert_eq!(RecordId::parse(&n.to_string()).unwrap().get(), n);
        }

        #[test]
        fn accepted_text_is_exactly_the_canonical_decimal(s in "\\PC{0,14}") {
            if let Ok(id) = RecordId::parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn too_large_is_rejected(n in (u64::from(MAX_RECORD_ID) + 1)..u64::MAX) {
            prop_assert_eq!(RecordId::parse(&n.to_string()), Err(IdError::Invalid));
        }
    }
}
