//! The reads the gateway sends the portal, and how each is written on the wire: as a single
//! call's JSON body, or as one command of a `batch`. Only validated integers (ids, offsets and
//! the operator's warehouse list) are ever written into them.

use std::fmt::Write as _;

use crate::core::domain::id::RecordId;
use crate::core::domain::reads::{Command, RANGE_IDS};

pub const GET_METHOD: &str = "catalog.storeproduct.get";
pub const LIST_METHOD: &str = "catalog.storeproduct.list";
pub const BATCH_METHOD: &str = "batch";
/// A product's flags (what may be sold).
pub const PRODUCT_METHOD: &str = "catalog.product.get";
/// Whether the portal keeps inventory accounting.
pub const MODE_METHOD: &str = "catalog.document.mode.status";
/// The catalogs, and which holds whose variations (administrators only).
pub const CATALOGS_METHOD: &str = "catalog.catalog.list";
/// A parent's variations (administrators only).
pub const OFFERS_METHOD: &str = "catalog.product.offer.list";
/// Many products' flags, by catalog.
pub const PRODUCT_LIST_METHOD: &str = "catalog.product.list";
/// The product fields a flags read needs (`iblockId` the portal requires in `select`).
const FLAG_FIELDS: [&str; 7] = [
    "id",
    "iblockId",
    "active",
    "available",
    "canBuyZero",
    "quantityTrace",
    "type",
];
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

/// Every method the gateway calls, for names read back from elsewhere (another instance's
/// operating-time pauses).
const METHODS: [&str; 7] = [
    GET_METHOD,
    LIST_METHOD,
    PRODUCT_METHOD,
    MODE_METHOD,
    CATALOGS_METHOD,
    OFFERS_METHOD,
    PRODUCT_LIST_METHOD,
];

/// The method called `name`, if the gateway calls it.
pub fn known_method(name: &str) -> Option<&'static str> {
    METHODS.into_iter().find(|m| *m == name)
}

/// The REST method that runs `command`.
pub fn method(command: Command) -> &'static str {
    match command {
        Command::Record(_) => GET_METHOD,
        Command::Flags(_) | Command::FlagsOfRecord(_) => PRODUCT_METHOD,
        Command::FlagsRange { .. } => PRODUCT_LIST_METHOD,
        Command::InventoryMode => MODE_METHOD,
        Command::Catalogs => CATALOGS_METHOD,
        Command::Offers { .. } => OFFERS_METHOD,
        Command::ProductPage { .. }
        | Command::Range { .. }
        | Command::Highest
        | Command::NextId { .. } => LIST_METHOD,
    }
}

/// The ids a range covers: `from` up to, not including, the returned end.
pub fn range_end(from: RecordId) -> u64 {
    u64::from(from.get()) + u64::from(RANGE_IDS)
}

/// `{"filter":{…},"select":[…],"order":{"id":…},"start":…}`: `conditions` first, then the
/// public warehouses when the portal filters them.
fn json_list(
    conditions: &[(&str, u64)],
    filter: &StoreFilter,
    fields: &[&str],
    order: &str,
    start: i64,
) -> String {
    let mut body = String::from("{\"filter\":{");
    let mut first = true;
    let mut comma = |body: &mut String| {
        if !std::mem::take(&mut first) {
            body.push(',');
        }
    };
    for (key, value) in conditions {
        comma(&mut body);
        let _ = write!(body, "\"{key}\":{value}");
    }
    if !filter.stores.is_empty() {
        comma(&mut body);
        body.push_str("\"@storeId\":[");
        for (i, store) in filter.stores.iter().enumerate() {
            let _ = write!(body, "{}{store}", if i > 0 { "," } else { "" });
        }
        body.push(']');
    }
    body.push_str("},\"select\":[");
    for (i, field) in fields.iter().enumerate() {
        let _ = write!(body, "{}\"{field}\"", if i > 0 { "," } else { "" });
    }
    let _ = write!(
        body,
        "],\"order\":{{\"id\":\"{order}\"}},\"start\":{start}}}"
    );
    body
}

/// The JSON body of a single call.
pub fn json_body(command: Command, filter: &StoreFilter) -> String {
    match command {
        Command::Record(id) => format!("{{\"id\":{id}}}"),
        Command::Flags(product) => format!("{{\"id\":{product}}}"),
        // Never sent alone: without its record it is settled unsent (`exchange.rs`).
        Command::FlagsOfRecord(_) => "{\"id\":0}".to_string(),
        Command::InventoryMode => "{}".to_string(),
        Command::Catalogs => {
            "{\"select\":[\"id\",\"iblockId\",\"productIblockId\"],\"start\":-1}".to_string()
        }
        Command::Offers { iblock, parent } => format!(
            "{{\"filter\":{{\"iblockId\":{iblock},\"parentId\":{parent}}},\
             \"select\":[\"id\",\"iblockId\",\"parentId\"],\"order\":{{\"id\":\"ASC\"}},\"start\":-1}}"
        ),
        Command::FlagsRange { iblock, from } => json_list(
            &[
                ("iblockId", iblock.into()),
                (">=id", from.get().into()),
                ("<id", u64::from(from.get()) + u64::from(RANGE_IDS)),
            ],
            &StoreFilter::default(),
            &FLAG_FIELDS,
            "ASC",
            -1,
        ),
        Command::ProductPage { product, start } => json_list(
            &[("productId", product.get().into())],
            filter,
            &LIST_FIELDS,
            "ASC",
            start.into(),
        ),
        Command::Range { from } => json_list(
            &[(">=id", from.get().into()), ("<id", range_end(from))],
            filter,
            &LIST_FIELDS,
            "ASC",
            -1,
        ),
        Command::Highest => json_list(&[], filter, &["id"], "DESC", -1),
        Command::NextId { from } => {
            json_list(&[(">=id", from.get().into())], filter, &["id"], "ASC", -1)
        }
    }
}

/// The command as one entry of a `batch`: `method?query`, parameters in PHP form (operators in
/// filter keys percent-encoded: a bare `=` would end the key).
pub fn batch_text(command: Command, filter: &StoreFilter) -> String {
    let stores = |text: &mut String| {
        for store in &filter.stores {
            let _ = write!(text, "&filter[@storeId][]={store}");
        }
    };
    let select = |text: &mut String, fields: &[&str]| {
        for field in fields {
            let _ = write!(text, "&select[]={field}");
        }
    };
    match command {
        Command::Record(id) => format!("{GET_METHOD}?id={id}"),
        Command::Flags(product) => format!("{PRODUCT_METHOD}?id={product}"),
        // Written by `batch_body`, which knows where its record is.
        Command::FlagsOfRecord(_) => format!("{PRODUCT_METHOD}?id=0"),
        Command::InventoryMode => MODE_METHOD.to_string(),
        Command::Catalogs => format!(
            "{CATALOGS_METHOD}?select[]=id&select[]=iblockId&select[]=productIblockId&start=-1"
        ),
        Command::Offers { iblock, parent } => format!(
            "{OFFERS_METHOD}?filter[iblockId]={iblock}&filter[parentId]={parent}\
             &select[]=id&select[]=iblockId&select[]=parentId&order[id]=ASC&start=-1"
        ),
        Command::FlagsRange { iblock, from } => {
            let to = u64::from(from.get()) + u64::from(RANGE_IDS);
            let mut text = format!(
                "{PRODUCT_LIST_METHOD}?filter[iblockId]={iblock}&filter[%3E%3Did]={from}&filter[%3Cid]={to}"
            );
            select(&mut text, &FLAG_FIELDS);
            text.push_str("&order[id]=ASC&start=-1");
            text
        }
        Command::ProductPage { product, start } => {
            let mut text = format!("{LIST_METHOD}?filter[productId]={product}");
            stores(&mut text);
            select(&mut text, &LIST_FIELDS);
            let _ = write!(text, "&order[id]=ASC&start={start}");
            text
        }
        Command::Range { from } => {
            let to = range_end(from);
            let mut text = format!("{LIST_METHOD}?filter[%3E%3Did]={from}&filter[%3Cid]={to}");
            stores(&mut text);
            select(&mut text, &LIST_FIELDS);
            text.push_str("&order[id]=ASC&start=-1");
            text
        }
        Command::Highest => {
            let mut text = format!("{LIST_METHOD}?select[]=id");
            stores(&mut text);
            text.push_str("&order[id]=DESC&start=-1");
            text
        }
        Command::NextId { from } => {
            let mut text = format!("{LIST_METHOD}?filter[%3E%3Did]={from}&select[]=id");
            stores(&mut text);
            text.push_str("&order[id]=ASC&start=-1");
            text
        }
    }
}

/// The key of the `index`-th command in a batch. Never numeric: PHP would turn keys 0..n into
/// a JSON array.
pub fn batch_key(index: usize) -> String {
    format!("c{index}")
}

/// Where the record a [`Command::FlagsOfRecord`] at `index` names is read, earlier in the same
/// batch; `None`: it is not (the flags cannot be sent).
pub fn record_before(commands: &[Command], index: usize) -> Option<usize> {
    let Command::FlagsOfRecord(id) = commands.get(index)? else {
        return None;
    };
    commands[..index]
        .iter()
        .position(|c| *c == Command::Record(*id))
}

/// The body of a `batch` call running `commands` (at most [`MAX_BATCH_COMMANDS`]).
pub fn batch_body(commands: &[Command], filter: &StoreFilter) -> String {
    let mut body = String::from("{\"halt\":0,\"cmd\":{");
    for (i, command) in commands.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        // The texts hold only ASCII letters, digits and `?=&[]@.$`: nothing JSON must escape.
        let text = match record_before(commands, i) {
            Some(record) => format!(
                "{PRODUCT_METHOD}?id=$result[{}][storeProduct][productId]",
                batch_key(record)
            ),
            None => batch_text(*command, filter),
        };
        let _ = write!(body, "\"{}\":\"{text}\"", batch_key(i));
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
    fn chained_flags_name_their_record_in_the_same_batch() {
        let record = |n| Command::Record(RecordId::from_u64(n).unwrap());
        let chained = |n| Command::FlagsOfRecord(RecordId::from_u64(n).unwrap());
        let commands = [
            record(13),
            record(14),
            chained(14),
            chained(13),
            chained(15),
        ];
        assert_eq!(record_before(&commands, 2), Some(1));
        assert_eq!(record_before(&commands, 3), Some(0));
        assert_eq!(
            record_before(&commands, 4),
            None,
            "its record is not in this batch"
        );
        assert_eq!(record_before(&commands, 0), None, "a record names nothing");
        assert_eq!(
            record_before(&[chained(13), record(13)], 0),
            None,
            "only earlier ones"
        );
        let body = batch_body(&commands[..4], &StoreFilter::default());
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed["cmd"]["c2"],
            "catalog.product.get?id=$result[c1][storeProduct][productId]"
        );
        assert_eq!(
            parsed["cmd"]["c3"],
            "catalog.product.get?id=$result[c0][storeProduct][productId]"
        );
        assert_eq!(method(chained(13)), PRODUCT_METHOD);
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
        let flags = Command::Flags(ProductId::from_u64(6973).unwrap());
        assert_eq!(batch_text(flags, &filter), "catalog.product.get?id=6973");
        assert_eq!(json_body(flags, &filter), r#"{"id":6973}"#);
        assert_eq!(method(flags), "catalog.product.get");
        let range = Command::FlagsRange {
            iblock: 23,
            from: ProductId::from_u64(101).unwrap(),
        };
        assert_eq!(
            batch_text(range, &filter),
            "catalog.product.list?filter[iblockId]=23&filter[%3E%3Did]=101&filter[%3Cid]=151\
             &select[]=id&select[]=iblockId&select[]=active&select[]=available&select[]=canBuyZero\
             &select[]=quantityTrace&select[]=type&order[id]=ASC&start=-1"
        );
        let body: serde_json::Value = serde_json::from_str(&json_body(range, &filter)).unwrap();
        assert_eq!(
            body["filter"],
            serde_json::json!({"iblockId": 23, ">=id": 101, "<id": 151})
        );
    }

    #[test]
    fn sweep_commands() {
        let filter = StoreFilter { stores: vec![1] };
        let from = RecordId::from_u64(51).unwrap();
        assert_eq!(
            batch_text(Command::Range { from }, &filter),
            "catalog.storeproduct.list?filter[%3E%3Did]=51&filter[%3Cid]=101&filter[@storeId][]=1\
             &select[]=id&select[]=productId&select[]=storeId&select[]=amount&select[]=quantityReserved\
             &order[id]=ASC&start=-1"
        );
        assert_eq!(
            batch_text(Command::Highest, &filter),
            "catalog.storeproduct.list?select[]=id&filter[@storeId][]=1&order[id]=DESC&start=-1"
        );
        assert_eq!(
            batch_text(Command::NextId { from }, &filter),
            "catalog.storeproduct.list?filter[%3E%3Did]=51&select[]=id&filter[@storeId][]=1\
             &order[id]=ASC&start=-1"
        );
        let next: serde_json::Value =
            serde_json::from_str(&json_body(Command::NextId { from }, &filter)).unwrap();
        assert_eq!(
            next,
            serde_json::json!({
                "filter": {">=id": 51, "@storeId": [1]},
                "select": ["id"],
                "order": {"id": "ASC"},
                "start": -1
            })
        );
    }
}
