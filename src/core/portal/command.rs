//! The reads the gateway sends the portal, and how each is written on the wire: as a single
//! call's JSON body, or as one command of a `batch`. Only validated integers (ids, offsets and
//! the operator's warehouse list) are ever written into them.

use std::fmt::Write as _;

use crate::core::domain::reads::Command;

pub const GET_METHOD: &str = "catalog.storeproduct.get";
pub const LIST_METHOD: &str = "catalog.storeproduct.list";
pub const BATCH_METHOD: &str = "batch";
/// The portal runs at most this many commands in one `batch`.
pub const MAX_BATCH_COMMANDS: usize = 50;
/// `catalog.storeproduct.list` answers pages of this many rows.
pub const LIST_PAGE_ROWS: u32 = 50;
/// The fields a product read needs, and no more.
const LIST_FIELDS: [&str; 5] = ["id", "productId", "storeId", "amount", "quantityReserved"];

/// How product reads narrow the warehouses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFilter {
    /// Sent as `@storeId` (IN); empty reads every warehouse and leaves filtering to the policy.
    pub stores: Vec<i64>,
}

/// The REST method that runs `command`.
pub fn method(command: Command) -> &'static str {
    match command {
        Command::Record(_) => GET_METHOD,
        Command::ProductPage { .. } => LIST_METHOD,
    }
}

/// The JSON body of a single call.
pub fn json_body(command: Command, filter: &StoreFilter) -> String {
    match command {
        Command::Record(id) => format!("{{\"id\":{id}}}"),
        Command::ProductPage { product, start } => {
            let mut body = format!("{{\"filter\":{{\"productId\":{product}");
            if !filter.stores.is_empty() {
                body.push_str(",\"@storeId\":[");
                for (i, store) in filter.stores.iter().enumerate() {
                    let _ = write!(body, "{}{store}", if i > 0 { "," } else { "" });
                }
                body.push(']');
            }
            body.push_str("},\"select\":[");
            for (i, field) in LIST_FIELDS.iter().enumerate() {
                let _ = write!(body, "{}\"{field}\"", if i > 0 { "," } else { "" });
            }
            let _ = write!(body, "],\"order\":{{\"id\":\"ASC\"}},\"start\":{start}}}");
            body
        }
    }
}

/// The command as one entry of a `batch`: `method?query`, parameters in PHP form.
pub fn batch_text(command: Command, filter: &StoreFilter) -> String {
    match command {
        Command::Record(id) => format!("{GET_METHOD}?id={id}"),
        Command::ProductPage { product, start } => {
            let mut text = format!("{LIST_METHOD}?filter[productId]={product}");
            for store in &filter.stores {
                let _ = write!(text, "&filter[@storeId][]={store}");
            }
            for field in LIST_FIELDS {
                let _ = write!(text, "&select[]={field}");
            }
            let _ = write!(text, "&order[id]=ASC&start={start}");
            text
        }
    }
}

/// The key of the `index`-th command in a batch. Never numeric: PHP would turn keys 0..n into
/// a JSON array.
pub fn batch_key(index: usize) -> String {
    format!("c{index}")
}

/// The body of a `batch` call running `commands` (at most [`MAX_BATCH_COMMANDS`]).
pub fn batch_body(commands: &[Command], filter: &StoreFilter) -> String {
    let mut body = String::from("{\"halt\":0,\"cmd\":{");
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        // The texts hold only ASCII letters, digits and `?=&[]@.`: nothing JSON must escape.
        let _ = write!(
            body,
            "\"{}\":\"{}\"",
            batch_key(i),
            batch_text(*command, filter)
        );
    }
    body.push_str("}}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::id::{ProductId, RecordId};

    fn product_page(start: u32) -> Command {
        Command::ProductPage {
            product: ProductId::from_u64(6973).unwrap(),
            start,
        }
    }

    #[test]
    fn single_bodies() {
        let filter = StoreFilter {
            stores: vec![1, 11],
        };
        assert_eq!(
            json_body(Command::Record(RecordId::from_u64(13).unwrap()), &filter),
            r#"{"id":13}"#
        );
        let body = json_body(product_page(50), &filter);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "filter": {"productId": 6973, "@storeId": [1, 11]},
                "select": ["id", "productId", "storeId", "amount", "quantityReserved"],
                "order": {"id": "ASC"},
                "start": 50
            })
        );
        let open: serde_json::Value =
            serde_json::from_str(&json_body(product_page(0), &StoreFilter::default())).unwrap();
        assert_eq!(open["filter"], serde_json::json!({"productId": 6973}));
    }

    #[test]
    fn batch_texts_and_body() {
        let filter = StoreFilter {
            stores: vec![1, 11],
        };
        assert_eq!(
            batch_text(product_page(100), &filter),
            "catalog.storeproduct.list?filter[productId]=6973&filter[@storeId][]=1&filter[@storeId][]=11\
             &select[]=id&select[]=productId&select[]=storeId&select[]=amount&select[]=quantityReserved\
             &order[id]=ASC&start=100"
        );
        let body = batch_body(
            &[
                Command::Record(RecordId::from_u64(13).unwrap()),
                product_page(0),
            ],
            &StoreFilter::default(),
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["halt"], 0);
        assert_eq!(parsed["cmd"]["c0"], "catalog.storeproduct.get?id=13");
        assert!(parsed["cmd"]["c1"]
            .as_str()
            .unwrap()
            .starts_with("catalog.storeproduct.list?filter[productId]=6973&select[]=id"));
    }
}
