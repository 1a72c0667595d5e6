//! A stock record as the portal sends it (`catalog.storeproduct.get`'s `storeProduct`, and each
//! row of `catalog.storeproduct.list`), read leniently and bounded.

use serde_json::Value;

use super::numbers::{amount, positive_id, reserved};
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::record::StoreProduct;

/// Reads one record object; `None` when a field is missing, not a number, or out of bounds.
pub fn read_record(value: &Value) -> Option<StoreProduct> {
    let obj = value.as_object()?;
    let quantity_reserved = match obj.get("quantityReserved") {
        None | Some(Value::Null) => None,
        Some(v) => Some(reserved(v)?),
    };
    Some(StoreProduct {
        id: RecordId::from_u64(positive_id(obj.get("id")?)?.into()).ok()?,
        product_id: ProductId::from_u64(positive_id(obj.get("productId")?)?.into()).ok()?,
        store_id: positive_id(obj.get("storeId")?)?.into(),
        amount: amount(obj.get("amount")?)?,
        quantity_reserved,
    })
}

/// The record in a `catalog.storeproduct.get` result (`{"storeProduct": {...}}`); a record with
/// another id than the one asked for is not an answer.
pub fn read_get_result(result: &Value, expected: RecordId) -> Option<StoreProduct> {
    read_record(result.get("storeProduct")?).filter(|r| r.id == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(n: u64) -> RecordId {
        RecordId::from_u64(n).unwrap()
    }

    #[test]
    fn reads_the_documented_record_and_quoted_numbers() {
        let documented = json!({"storeProduct":{"amount":14,"id":13,"productId":6973,"quantityReserved":null,"storeId":11}});
        assert_eq!(
            read_get_result(&documented, id(13)),
            Some(StoreProduct {
                id: id(13),
                product_id: ProductId::from_u64(6973).unwrap(),
                store_id: 11,
                amount: 14.0,
                quantity_reserved: None
            })
        );
        let quoted = json!({"storeProduct":{"amount":"2.5","id":"13","productId":"6973","quantityReserved":"0.5","storeId":"11"}});
        let record = read_get_result(&quoted, id(13)).unwrap();
        assert_eq!((record.amount, record.quantity_reserved), (2.5, Some(0.5)));
    }

    #[test]
    fn refuses_odd_records() {
        for record in [
            json!("x"),
            json!(null),
            json!({"amount":"lots","id":13,"productId":1,"storeId":1}),
            json!({"amount":true,"id":13,"productId":1,"storeId":1}),
            json!({"amount":"NaN","id":13,"productId":1,"storeId":1}),
            json!({"amount":1e305,"id":13,"productId":1,"storeId":1}),
            json!({"amount":5,"quantityReserved":-3,"id":13,"productId":1,"storeId":1}),
            json!({"amount":5,"id":13,"productId":0,"storeId":1}),
            json!({"amount":5,"id":13,"productId":1,"storeId":-1}),
            json!({"amount":5,"id":13,"productId":1}),
            json!({"amount":1,"id":14,"productId":1,"storeId":1}),
        ] {
            assert_eq!(
                read_get_result(&json!({ "storeProduct": record }), id(13)),
                None,
                "{record}"
            );
        }
    }
}
