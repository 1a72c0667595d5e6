//! The mirror's table: every public stock record a finished sweep read, compact (32 bytes a
//! record and 8 more for the product index), with when each stretch of ids was read (one entry
//! per exchange, not per id: a table's size follows its records, never its highest id), and
//! the products' flags (what may be sold; 8 bytes a product). It has a byte form so that a
//! table can be kept where other instances read it (a Durable Object's storage, an S3 object,
//! Redis).

use std::time::Duration;

use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::record::StoreProduct;
use crate::core::domain::sellable::ProductFlags;

/// One record, as small as it can be kept.
#[derive(Debug, Clone, Copy)]
struct Row {
    id: u32,
    product: u32,
    store: u32,
    amount: f64,
    /// `quantityReserved`; NaN for null.
    reserved: f64,
}

const ROW_BYTES: usize = 28;
const MAGIC: &[u8; 4] = b"B24M";
const VERSION: u8 = 3;
const SPAN_BYTES: usize = 12;
const FLAGS_BYTES: usize = 6;

/// A product's flags in two bytes: four yes/no/unsaid pairs of bits, and the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    product: u32,
    bits: u8,
    kind: u8,
}

impl Packed {
    fn of(product: u32, flags: &ProductFlags) -> Self {
        let two = |flag: Option<bool>| match flag {
            None => 0u8,
            Some(false) => 1,
            Some(true) => 2,
        };
        Self {
            product,
            bits: two(flags.active)
                | two(flags.available) << 2
                | two(flags.can_buy_zero) << 4
                | two(flags.quantity_trace) << 6,
            kind: flags.kind,
        }
    }

    /// `None` for bits no packing makes (`11`).
    fn flags(self) -> Option<ProductFlags> {
        let flag = |shift: u8| match (self.bits >> shift) & 3 {
            0 => Some(None),
            1 => Some(Some(false)),
            2 => Some(Some(true)),
            _ => None,
        };
        Some(ProductFlags {
            active: flag(0)?,
            available: flag(2)?,
            can_buy_zero: flag(4)?,
            quantity_trace: flag(6)?,
            kind: self.kind,
            iblock: 0,
        })
    }
}

/// When the ids from `from` on (up to the next span) were read: Unix time, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    from: u32,
    read_at_ms: u64,
}

/// A finished sweep: the records in id order, a product index, and when each stretch of ids
/// was read.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Row>,
    /// `(product, row index)`, sorted.
    by_product: Vec<(u32, u32)>,
    /// In id order; the first from id 1.
    spans: Vec<Span>,
    /// The highest id the sweep looked at: every id above it answers "not found".
    highest: u32,
    /// Products' flags, sorted by product; a product without is unknown (its stock speaks).
    flags: Vec<Packed>,
}

/// What a sweep read, stretch by stretch, as it goes.
#[derive(Debug, Default)]
pub struct TableBuilder {
    rows: Vec<Row>,
    spans: Vec<Span>,
    highest: u32,
    flags: Vec<Packed>,
}

impl TableBuilder {
    /// A sweep of ids 1 to `highest`.
    pub fn new(highest: u32) -> Self {
        Self {
            highest,
            ..Self::default()
        }
    }

    /// The ids from `from` up to the next stretch added were read at `read_at` (Unix time),
    /// and these are their records (none: a gap, known as of then).
    pub fn add(&mut self, from: RecordId, read_at: Duration, records: &[StoreProduct]) {
        let read_at_ms = read_at.as_millis() as u64;
        // Ranges read in one exchange share one span.
        if self
            .spans
            .last()
            .is_none_or(|last| last.read_at_ms != read_at_ms || last.from > from.get())
        {
            self.spans.push(Span {
                from: from.get(),
                read_at_ms,
            });
        }
        self.rows.extend(records.iter().filter_map(|r| {
            Some(Row {
                id: r.id.get(),
                product: r.product_id.get(),
                store: u32::try_from(r.store_id).ok()?,
                amount: r.amount,
                reserved: r.quantity_reserved.unwrap_or(f64::NAN),
            })
        }));
    }

    /// The products the records read so far belong to, each once, in product order.
    pub fn products(&self) -> Vec<ProductId> {
        let mut products: Vec<u32> = self.rows.iter().map(|r| r.product).collect();
        products.sort_unstable();
        products.dedup();
        products
            .into_iter()
            .filter_map(|p| ProductId::from_u64(p.into()).ok())
            .collect()
    }

    /// A product's flags, as read.
    pub fn flags(&mut self, product: ProductId, flags: &ProductFlags) {
        self.flags.push(Packed::of(product.get(), flags));
    }

    pub fn finish(mut self) -> Table {
        self.rows.sort_by_key(|r| r.id);
        self.rows.dedup_by_key(|r| r.id);
        self.rows.shrink_to_fit();
        self.spans.sort_unstable();
        self.spans.dedup_by_key(|s| s.from);
        self.spans.shrink_to_fit();
        self.flags.sort_by_key(|f| f.product);
        self.flags.dedup_by_key(|f| f.product);
        self.flags.shrink_to_fit();
        let mut table = Table::indexed(self.rows, self.spans, self.highest);
        table.flags = self.flags;
        table
    }
}

impl Table {
    fn indexed(rows: Vec<Row>, spans: Vec<Span>, highest: u32) -> Self {
        let mut by_product: Vec<(u32, u32)> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| (row.product, index as u32))
            .collect();
        by_product.sort_unstable();
        Self {
            rows,
            by_product,
            spans,
            highest,
            flags: Vec::new(),
        }
    }

    /// A product's flags, when the sweep read them.
    pub fn flags(&self, id: ProductId) -> Option<ProductFlags> {
        let at = self
            .flags
            .binary_search_by_key(&id.get(), |f| f.product)
            .ok()?;
        self.flags.get(at)?.flags()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn highest(&self) -> u32 {
        self.highest
    }

    /// The record `id`, if the sweep found it.
    pub fn record(&self, id: RecordId) -> Option<StoreProduct> {
        let at = self.rows.binary_search_by_key(&id.get(), |r| r.id).ok()?;
        self.rows.get(at).and_then(|row| row.record())
    }

    /// A product's records, in id order.
    pub fn product(&self, id: ProductId) -> Vec<StoreProduct> {
        let product = id.get();
        let start = self.by_product.partition_point(|(p, _)| *p < product);
        self.by_product[start..]
            .iter()
            .take_while(|(p, _)| *p == product)
            .filter_map(|(_, index)| self.rows.get(*index as usize)?.record())
            .collect()
    }

    /// When the stretch holding `id` was read (Unix time); for an id above the highest, when
    /// the last stretch was.
    pub fn read_at(&self, id: RecordId) -> Duration {
        let after = self.spans.partition_point(|s| s.from <= id.get());
        let span = self.spans.get(after.saturating_sub(1));
        Duration::from_millis(span.map_or(0, |s| s.read_at_ms))
    }

    /// The oldest stretch read (Unix time): about when its sweep began.
    pub fn oldest(&self) -> Duration {
        Duration::from_millis(self.spans.iter().map(|s| s.read_at_ms).min().unwrap_or(0))
    }

    /// The newest stretch read (Unix time): about when its sweep ended.
    pub fn newest(&self) -> Duration {
        Duration::from_millis(self.spans.iter().map(|s| s.read_at_ms).max().unwrap_or(0))
    }

    /// `B24M`, a version, the highest id, the counts, the spans, the rows, then the flags, all
    /// little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            21 + self.spans.len() * SPAN_BYTES
                + self.rows.len() * ROW_BYTES
                + self.flags.len() * FLAGS_BYTES,
        );
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.highest.to_le_bytes());
        out.extend_from_slice(&(self.spans.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.rows.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.flags.len() as u32).to_le_bytes());
        for span in &self.spans {
            out.extend_from_slice(&span.from.to_le_bytes());
            out.extend_from_slice(&span.read_at_ms.to_le_bytes());
        }
        for row in &self.rows {
            out.extend_from_slice(&row.id.to_le_bytes());
            out.extend_from_slice(&row.product.to_le_bytes());
            out.extend_from_slice(&row.store.to_le_bytes());
            out.extend_from_slice(&row.amount.to_le_bytes());
            out.extend_from_slice(&row.reserved.to_le_bytes());
        }
        for packed in &self.flags {
            out.extend_from_slice(&packed.product.to_le_bytes());
            out.push(packed.bits);
            out.push(packed.kind);
        }
        out
    }

    /// Reads [`Table::to_bytes`] back; anything else (damaged, foreign, another version, rows
    /// or spans out of order, rows out of bounds) is `None`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut input = Reader(bytes);
        if input.take(4)? != MAGIC || input.take(1)? != [VERSION] {
            return None;
        }
        let highest = input.u32()?;
        let spans = input.u32()? as usize;
        let rows = input.u32()? as usize;
        let flags = input.u32()? as usize;
        if Some(input.0.len())
            != spans
                .checked_mul(SPAN_BYTES)?
                .checked_add(rows.checked_mul(ROW_BYTES)?)?
                .checked_add(flags.checked_mul(FLAGS_BYTES)?)
        {
            return None;
        }
        let spans = (0..spans)
            .map(|_| {
                Some(Span {
                    from: input.u32()?,
                    read_at_ms: input.u64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if !spans.windows(2).all(|w| w[0].from < w[1].from) {
            return None;
        }
        let rows = (0..rows)
            .map(|_| {
                let row = Row {
                    id: input.u32()?,
                    product: input.u32()?,
                    store: input.u32()?,
                    amount: input.f64()?,
                    reserved: input.f64()?,
                };
                row.record().map(|_| row)
            })
            .collect::<Option<Vec<_>>>()?;
        let flags = (0..flags)
            .map(|_| {
                let packed = Packed {
                    product: input.u32()?,
                    bits: input.take(1)?[0],
                    kind: input.take(1)?[0],
                };
                packed.flags().map(|_| packed)
            })
            .collect::<Option<Vec<_>>>()?;
        let ordered = rows.windows(2).all(|w| w[0].id < w[1].id)
            && flags.windows(2).all(|w| w[0].product < w[1].product);
        let bounded = rows.last().is_none_or(|r| r.id <= highest);
        let mut table = (ordered && bounded).then(|| Table::indexed(rows, spans, highest))?;
        table.flags = flags;
        Some(table)
    }

    /// Bytes held in memory for the table (its vectors' room).
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.by_product.capacity() * 8
            + self.spans.capacity() * std::mem::size_of::<Span>()
            + self.flags.capacity() * std::mem::size_of::<Packed>()
    }
}

impl Row {
    /// The record, as the domain has it; `None` for values no portal answer could have given.
    fn record(&self) -> Option<StoreProduct> {
        let reserved = (!self.reserved.is_nan()).then_some(self.reserved);
        let bounded = self.amount.is_finite()
            && self.amount.abs() < 1e15
            && reserved.is_none_or(|r| r.is_finite() && (0.0..1e15).contains(&r))
            && self.store > 0;
        if !bounded {
            return None;
        }
        Some(StoreProduct {
            id: RecordId::from_u64(self.id.into()).ok()?,
            product_id: ProductId::from_u64(self.product.into()).ok()?,
            store_id: self.store.into(),
            amount: self.amount,
            quantity_reserved: reserved,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::reads::RANGE_IDS;
    use proptest::prelude::*;

    fn record(id: u32, product: u32, store: i64, reserved: Option<f64>) -> StoreProduct {
        StoreProduct {
            id: RecordId::from_u64(id.into()).unwrap(),
            product_id: ProductId::from_u64(product.into()).unwrap(),
            store_id: store,
            amount: f64::from(id) / 2.0,
            quantity_reserved: reserved,
        }
    }

    fn id(n: u32) -> RecordId {
        RecordId::from_u64(n.into()).unwrap()
    }

    fn sample() -> Table {
        let mut builder = TableBuilder::new(120);
        builder.add(
            id(1),
            Duration::from_secs(100),
            &[record(13, 7, 11, None), record(2, 7, 1, Some(1.0))],
        );
        builder.add(id(51), Duration::from_secs(101), &[]);
        builder.add(
            id(101),
            Duration::from_secs(102),
            &[record(120, 9, 2, Some(0.5))],
        );
        assert_eq!(
            builder.products(),
            [7, 9].map(|p| ProductId::from_u64(p).unwrap())
        );
        builder.flags(ProductId::from_u64(9).unwrap(), &backorder());
        builder.finish()
    }

    fn backorder() -> ProductFlags {
        ProductFlags {
            active: Some(true),
            can_buy_zero: Some(true),
            quantity_trace: None,
            available: Some(false),
            kind: 4,
            iblock: 0,
        }
    }

    #[test]
    fn finds_records_products_and_when_they_were_read() {
        let table = sample();
        assert_eq!(table.len(), 3);
        assert_eq!(table.record(id(13)), Some(record(13, 7, 11, None)));
        assert_eq!(table.record(id(14)), None);
        assert_eq!(table.record(id(121)), None, "above the highest");
        let product: Vec<u32> = table
            .product(ProductId::from_u64(7).unwrap())
            .iter()
            .map(|r| r.id.get())
            .collect();
        assert_eq!(product, vec![2, 13]);
        assert!(table.product(ProductId::from_u64(8).unwrap()).is_empty());
        assert_eq!(table.read_at(id(60)), Duration::from_secs(101));
        assert_eq!(table.read_at(id(5000)), Duration::from_secs(102));
        assert_eq!(table.oldest(), Duration::from_secs(100));
        assert_eq!(table.newest(), Duration::from_secs(102));
        assert_eq!(
            table.flags(ProductId::from_u64(9).unwrap()),
            Some(backorder())
        );
        assert_eq!(table.flags(ProductId::from_u64(7).unwrap()), None);
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let table = sample();
        let bytes = table.to_bytes();
        // (Compared as bytes: a null reservation is NaN, never equal to itself.)
        let back = Table::from_bytes(&bytes).expect("read back");
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.record(id(13)), table.record(id(13)));
        assert_eq!(
            back.flags(ProductId::from_u64(9).unwrap()),
            Some(backorder())
        );
        assert!(Table::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        let mut foreign = bytes.clone();
        foreign[0] = b'X';
        assert!(Table::from_bytes(&foreign).is_none());
        let mut unordered = bytes.clone();
        let first_row = bytes.len() - FLAGS_BYTES - 3 * ROW_BYTES;
        unordered[first_row..first_row + 4].copy_from_slice(&500u32.to_le_bytes());
        assert!(Table::from_bytes(&unordered).is_none());
        let mut odd_flags = bytes.clone();
        let last = odd_flags.len() - 2;
        odd_flags[last] = 0xFF;
        assert!(Table::from_bytes(&odd_flags).is_none());
    }

    #[test]
    fn a_hundred_thousand_records_take_under_fifty_bytes_each() {
        let mut builder = TableBuilder::new(105_000);
        for k in 0..2100u32 {
            let from = k * RANGE_IDS + 1;
            let rows: Vec<StoreProduct> = (from..from + 48)
                .map(|n| record(n, 1000 + n / 3, 1, Some(1.0)))
                .collect();
            builder.add(id(from), Duration::from_secs(1), &rows);
        }
        let table = builder.finish();
        assert_eq!(table.len(), 100_800);
        assert!(
            table.heap_bytes() / table.len() < 50,
            "{}",
            table.heap_bytes() / table.len()
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_foreign_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Table::from_bytes(&bytes);
            let mut with_header = b"B24M\x03".to_vec();
            with_header.extend_from_slice(&bytes);
            let _ = Table::from_bytes(&with_header);
        }
    }
}
