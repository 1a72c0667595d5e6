//! What the gateway asks of the portal, and what it learns: the vocabulary shared by the
//! executor port and its implementations. How each is written on the wire is `portal`'s.

use super::error::ApiError;
use super::id::{ProductId, RecordId};
use super::record::StoreProduct;
use super::sellable::ProductFlags;

/// One read at the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `catalog.storeproduct.get?id=N`
    Record(RecordId),
    /// One page of `catalog.storeproduct.list` filtered by product, from row `start`.
    ProductPage { product: ProductId, start: u32 },
    /// The records with ids from `from` to `from + RANGE_IDS - 1` (a sweep's piece): ids are
    /// unique, so never more than one page, read without a count.
    Range { from: RecordId },
    /// The highest record id (one row, in descending order): where a sweep ends.
    Highest,
    /// The lowest record id from `from` up (one row, in ascending order): where a sweep's
    /// records go on after a gap, so empty stretches of ids cost nothing.
    NextId { from: RecordId },
    /// `catalog.product.get?id=N`: the product's flags (what may be sold).
    Flags(ProductId),
    /// The flags of the product record `N` belongs to, read in the record's own batch right
    /// behind [`Command::Record`] (`catalog.product.get?id=$result[…][storeProduct][productId]`),
    /// so a cold record costs one exchange. Never sent without its record.
    FlagsOfRecord(RecordId),
    /// The flags of the products of catalog `iblock` with ids from `from` to
    /// `from + RANGE_IDS - 1` (a sweep's piece; never more than one page).
    FlagsRange { iblock: u32, from: ProductId },
    /// `catalog.document.mode.status`: whether the portal keeps inventory accounting.
    InventoryMode,
    /// `catalog.catalog.list` (administrators only): which catalog holds the variations of
    /// which.
    Catalogs,
    /// `catalog.product.offer.list` (administrators only): the variations of `parent` in the
    /// variations catalog `iblock` (one page: up to 50).
    Offers { iblock: u32, parent: ProductId },
}

/// A catalog (information block) and, for a variations catalog, the catalog of its parents.
pub type Catalog = (u32, Option<u32>);

/// How many ids one [`Command::Range`] covers: a page's worth, so one answer holds them all.
pub const RANGE_IDS: u32 = 50;

/// The rows of one list page, and what the portal said about the rest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub rows: Vec<StoreProduct>,
    /// Rows matching the filter in all (absent when the portal skipped counting).
    pub total: Option<u32>,
    /// The `start` of the next page; absent on the last page.
    pub next: Option<u32>,
}

impl Command {
    /// What a command that only rides along answers when its batch has no room for it: the
    /// portal was not asked, and whoever wanted it reads it another way. `None` for every
    /// command that must go.
    pub fn unsent(&self) -> Option<Read> {
        match self {
            Command::FlagsOfRecord(_) => Some(Read::RecordFlags(None)),
            _ => None,
        }
    }
}

/// What the portal gave for one command.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// `None`: no such record.
    Record(Option<StoreProduct>),
    Page(Page),
    /// The records of a range, in id order.
    Rows(Vec<StoreProduct>),
    /// The id a [`Command::Highest`] or [`Command::NextId`] asked for; `None` when there is
    /// no such record.
    Id(Option<RecordId>),
    /// A product's flags; `None` when the portal has no such product or will not show it to
    /// the webhook (answers then carry the state the stock alone shows).
    Flags(Option<ProductFlags>),
    /// What a [`Command::FlagsOfRecord`] read: the product it named and its flags; `None` when
    /// it read nothing usable (the portal resolved no reference, or refused): the product's
    /// flags are then read on their own.
    RecordFlags(Option<(ProductId, ProductFlags)>),
    /// The products a [`Command::FlagsRange`] found, with their flags, in id order.
    FlagRows(Vec<(ProductId, ProductFlags)>),
    /// Whether inventory accounting is on; `None` when the portal would not say.
    Mode(Option<bool>),
    /// Each catalog and, for a variations catalog, the catalog of its parents; `None` when
    /// the webhook may not list them.
    Catalogs(Option<Vec<Catalog>>),
    /// A parent's variations, in id order; `None` when the webhook may not list them.
    Offers(Option<Vec<ProductId>>),
}

pub type Outcome = Result<Read, ApiError>;

/// Who is waiting for an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// A caller: may queue briefly for a budget slot and retry a rate-limit refusal.
    Caller,
    /// A background refresh: only a free slot, no retries; callers come first.
    Background,
}
