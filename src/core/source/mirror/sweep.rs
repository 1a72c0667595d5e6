//! A sweep: the whole public stock read in id order, ranges of 50 ids to a `batch`, after one
//! exchange has told where the ids end (one descending row) and begin (one ascending row).
//! A batch holds 50 ranges (up to 2,500 records per portal request). When a batch's last range
//! came back empty, the ids may have reached a gap: the next batch holds 49 ranges and asks
//! where the next record past them is, and the batch after it starts there. So a sweep costs
//! about (highest id − lowest id) ÷ 2,500 requests on a dense catalogue, and a gap in the ids,
//! however wide (a portal whose ids jump to two billion), at most one more.
//!
//! Every exchange takes a steady-paced slot of the portal budget, like any partial batch, so a
//! sweep never spends the burst that callers' misses and the merchant's own integrations need;
//! it respects the operating-time pause of the list method, and retries a failed exchange
//! while the sweep's time allows. A sweep that cannot finish in its time fails whole: a table
//! is only ever replaced by a complete one.
//!
//! Then the products' flags (what may be sold), for the products whose flags are unknown or
//! older than `STOCK_FLAGS_TTL_SECS` (the others' are carried over from earlier sweeps):
//! `catalog.product.list` needs the catalog (information block), so one product's own
//! `catalog.product.get` names it, then windows of 50 product ids are listed in it, 50 to a
//! `batch` (up to 2,500 products a request). Products still not found name the next catalog
//! (variations live in one of their own). Flags that cannot be had leave a product to its
//! stock: they never fail the sweep.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::table::{Table, TableBuilder};
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::reads::{Command, Read, Urgency, RANGE_IDS};
use crate::core::domain::sellable::ProductFlags;
use crate::core::kit::lock::lock;
use crate::core::portal::command::{range_end, MAX_BATCH_COMMANDS};
use crate::core::ports::{Clock, Executor, Pace};

/// A batch of ranges from `from`, up to `highest`; when `seek`ing, one range fewer and, when ids
/// remain past them, where the next record is, so that the next batch starts there.
fn batch_from(from: RecordId, highest: u32, seek: bool) -> Vec<Command> {
    let ranges = MAX_BATCH_COMMANDS - usize::from(seek);
    let mut batch = Vec::with_capacity(MAX_BATCH_COMMANDS);
    let mut at = u64::from(from.get());
    while batch.len() < ranges && at <= u64::from(highest) {
        if let Ok(from) = RecordId::from_u64(at) {
            batch.push(Command::Range { from });
        }
        at += u64::from(RANGE_IDS);
    }
    if seek && at <= u64::from(highest) {
        if let Ok(from) = RecordId::from_u64(at) {
            batch.push(Command::NextId { from });
        }
    }
    batch
}

/// The first id of the range of [`RANGE_IDS`] that holds `id` (ranges start at 1, 51, 101, …).
fn range_start(id: RecordId) -> RecordId {
    let start = (id.get() - 1) / RANGE_IDS * RANGE_IDS + 1;
    RecordId::from_u64(start.into()).unwrap_or(id)
}

/// Pause before trying a failed exchange again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// A finished sweep.
#[derive(Debug)]
pub struct Swept {
    pub table: Table,
    /// Portal requests it took, retries included.
    pub requests: u32,
    pub duration: Duration,
}

/// Why a sweep did not finish, and the portal requests it took anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepFailed {
    pub error: ApiError,
    pub requests: u32,
}

pub struct Sweeper<X> {
    executor: X,
    /// The most one exchange may take.
    timeout: Duration,
    /// How long a product's flags are good for.
    flags_life: Duration,
    /// The flags read by earlier sweeps, and when (monotonic).
    known: Mutex<HashMap<ProductId, (Option<ProductFlags>, Duration)>>,
    /// The catalogs (information blocks) products were found in.
    catalogs: Mutex<Vec<u32>>,
    /// Products whose flags are read though they hold no stock (parents of variations).
    also: Vec<ProductId>,
    /// Whether the portal keeps inventory accounting, as the last sweep read it.
    mode: Mutex<Option<bool>>,
}

/// The most catalogs one sweep learns of (one product read on its own for each).
const MAX_CATALOGS: usize = 5;

/// Flags found in one sweep.
#[derive(Default)]
struct FlagsRead {
    found: Vec<(ProductId, Option<ProductFlags>)>,
}

impl FlagsRead {
    /// Keeps the rows of wanted products, which are then no longer wanted.
    fn take(&mut self, wanted: &mut Vec<ProductId>, rows: Vec<(ProductId, ProductFlags)>) {
        let mut taken: Vec<ProductId> = Vec::with_capacity(rows.len());
        for (product, flags) in rows {
            if wanted.binary_search(&product).is_ok() && !taken.contains(&product) {
                taken.push(product);
                self.found.push((product, Some(flags)));
            }
        }
        taken.sort_unstable();
        wanted.retain(|p| taken.binary_search(p).is_err());
    }
}

/// The starts of the id windows ([`RANGE_IDS`] wide) that cover `products` (sorted), each
/// from a product's id: no window is spent on ids none is wanted from.
fn windows(products: &[ProductId]) -> Vec<ProductId> {
    let mut starts: Vec<ProductId> = Vec::new();
    for product in products {
        let covered = starts
            .last()
            .is_some_and(|s| u64::from(product.get()) < u64::from(s.get()) + u64::from(RANGE_IDS));
        if !covered {
            starts.push(*product);
        }
    }
    starts
}

impl<X> Sweeper<X> {
    /// Whether the portal keeps inventory accounting, as the last sweep read it.
    pub fn inventory_accounting(&self) -> Option<bool> {
        *lock(&self.mode)
    }
}

impl<X: Executor> Sweeper<X> {
    /// `also`: products whose flags are read though they hold no stock (parents).
    pub fn new(executor: X, timeout: Duration, flags_life: Duration, also: Vec<ProductId>) -> Self {
        Self {
            executor,
            timeout,
            flags_life,
            known: Mutex::new(HashMap::new()),
            catalogs: Mutex::new(Vec::new()),
            also,
            mode: Mutex::new(None),
        }
    }

    /// Reads everything within `within`; the table is built as ranges come back.
    pub async fn sweep<C: Clock>(&self, clock: &C, within: Duration) -> Result<Swept, SweepFailed> {
        let started = clock.monotonic();
        let end = started + within;
        let mut requests = 0u32;
        let failed = |error, requests| SweepFailed { error, requests };
        // Where the ids end, and where they begin; and whether the portal keeps inventory
        // accounting.
        let first = [
            Command::Highest,
            Command::NextId {
                from: RecordId::MIN,
            },
            Command::InventoryMode,
        ];
        let reads = self
            .exchange(clock, &first, end, &mut requests)
            .await
            .map_err(|error| failed(error, requests))?;
        let (highest, lowest) = match reads.as_slice() {
            [Read::Id(highest), Read::Id(lowest), Read::Mode(mode)] => {
                *lock(&self.mode) = *mode;
                (highest.map_or(0, |id| id.get()), *lowest)
            }
            _ => return Err(failed(ApiError::UpstreamError, requests)),
        };
        let mut builder = TableBuilder::new(highest);
        // Nothing below the lowest id, as of now.
        builder.add(RecordId::MIN, clock.unix_time(), &[]);
        let mut next = lowest.map(range_start);
        let mut seek = false;
        while let Some(from) = next.filter(|from| from.get() <= highest) {
            let batch = batch_from(from, highest, seek);
            let reads = self
                .exchange(clock, &batch, end, &mut requests)
                .await
                .map_err(|error| failed(error, requests))?;
            let read_at = clock.unix_time();
            next = None;
            for (command, read) in batch.iter().zip(reads) {
                match (command, read) {
                    (Command::Range { from }, Read::Rows(rows)) => {
                        builder.add(*from, read_at, &rows);
                        seek = rows.is_empty();
                        next = RecordId::from_u64(range_end(*from)).ok();
                    }
                    // At or above the batch's end (the exchange checked): always onwards.
                    (Command::NextId { .. }, Read::Id(id)) => next = id.map(range_start),
                    _ => return Err(failed(ApiError::UpstreamError, requests)),
                }
            }
        }
        self.read_flags(clock, &mut builder, end, &mut requests)
            .await;
        Ok(Swept {
            table: builder.finish(),
            requests,
            duration: clock.monotonic().saturating_sub(started),
        })
    }

    /// One exchange, every command answered, on a steady slot; tried again after a failure
    /// while `end` allows.
    async fn exchange<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        end: Duration,
        requests: &mut u32,
    ) -> Result<Vec<Read>, ApiError> {
        loop {
            let now = clock.monotonic();
            let left = end.saturating_sub(now);
            if let Some(retry_after_secs) = commands
                .iter()
                .find_map(|c| self.executor.paused(clock, *c))
            {
                let pause = Duration::from_secs(retry_after_secs);
                if pause >= left {
                    return Err(ApiError::UpstreamBusy { retry_after_secs });
                }
                clock.sleep(pause).await;
                continue;
            }
            let outcomes = self
                .on_a_slot(clock, commands, end, requests)
                .await
                .map_err(|wait| ApiError::UpstreamBusy {
                    retry_after_secs: wait.as_secs().max(1),
                })?;
            let reads: Result<Vec<Read>, ApiError> = outcomes.into_iter().collect();
            match reads {
                Ok(reads) => return Ok(reads),
                Err(error) if error.is_upstream_failure() => {
                    let left = end.saturating_sub(clock.monotonic());
                    if left <= RETRY_PAUSE + self.timeout {
                        return Err(error);
                    }
                    tracing::warn!(code = error.code(), "sweep exchange failed; trying again");
                    clock.sleep(RETRY_PAUSE).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The flags of the table's products: carried over while good, listed for the others by
    /// catalog (50 ids a command, 50 commands an exchange, on steady slots), each catalog
    /// learnt from one product's own answer; what cannot be read is left unknown.
    async fn read_flags<C: Clock>(
        &self,
        clock: &C,
        builder: &mut TableBuilder,
        end: Duration,
        requests: &mut u32,
    ) {
        let mut products = builder.products();
        products.extend_from_slice(&self.also);
        products.sort_unstable();
        products.dedup();
        let now = clock.monotonic();
        let mut wanted = Vec::new();
        {
            let mut known = lock(&self.known);
            known.retain(|product, _| products.binary_search(product).is_ok());
            for &product in &products {
                match known.get(&product) {
                    Some((_, at)) if now < *at + self.flags_life => {}
                    _ => wanted.push(product),
                }
            }
        }
        let mut read = FlagsRead::default();
        let finished = self
            .list_flags(clock, &mut wanted, &mut read, end, requests)
            .await;
        let read_at = clock.monotonic();
        let mut known = lock(&self.known);
        for (product, flags) in read.found {
            known.insert(product, (flags, read_at));
        }
        if finished {
            // Listed in every catalog the portal named, and still not found: no flags, until
            // they are due again.
            for product in wanted {
                known.insert(product, (None, read_at));
            }
        }
        for product in products {
            if let Some((Some(flags), _)) = known.get(&product) {
                builder.flags(product, flags);
            }
        }
    }

    /// Lists the `wanted` products' flags in each catalog known, learning another from one
    /// product's own answer while some remain (at most [`MAX_CATALOGS`] a sweep). Leaves in
    /// `wanted` those not found; `false` when an exchange failed or no slot came.
    async fn list_flags<C: Clock>(
        &self,
        clock: &C,
        wanted: &mut Vec<ProductId>,
        read: &mut FlagsRead,
        end: Duration,
        requests: &mut u32,
    ) -> bool {
        let mut listed: Vec<u32> = Vec::new();
        let mut learnt = 0;
        loop {
            let catalogs: Vec<u32> = lock(&self.catalogs)
                .iter()
                .copied()
                .filter(|c| !listed.contains(c))
                .collect();
            for catalog in catalogs {
                listed.push(catalog);
                let windows = windows(wanted);
                for chunk in windows.chunks(MAX_BATCH_COMMANDS) {
                    let commands: Vec<Command> = chunk
                        .iter()
                        .map(|from| Command::FlagsRange {
                            iblock: catalog,
                            from: *from,
                        })
                        .collect();
                    let Some(outcomes) = self.once(clock, &commands, end, requests).await else {
                        return false;
                    };
                    for outcome in outcomes {
                        let Ok(Read::FlagRows(rows)) = outcome else {
                            return false;
                        };
                        read.take(wanted, rows);
                    }
                }
            }
            let Some(&first) = wanted.first() else {
                return true;
            };
            if learnt >= MAX_CATALOGS {
                return true;
            }
            learnt += 1;
            // Which catalog holds it: its own answer says.
            let Some(outcomes) = self
                .once(clock, &[Command::Flags(first)], end, requests)
                .await
            else {
                return false;
            };
            match outcomes.into_iter().next() {
                Some(Ok(Read::Flags(flags))) => {
                    let catalog = flags.map_or(0, |f| f.iblock);
                    read.take(wanted, flags.map(|f| (first, f)).into_iter().collect());
                    wanted.retain(|p| *p != first);
                    let mut catalogs = lock(&self.catalogs);
                    if catalog != 0 && !catalogs.contains(&catalog) {
                        catalogs.push(catalog);
                    }
                }
                _ => return false,
            }
        }
    }

    /// One exchange on a steady slot, no retry; `None` when no slot or pause allows it in time.
    async fn once<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        end: Duration,
        requests: &mut u32,
    ) -> Option<Vec<Result<Read, ApiError>>> {
        if commands
            .iter()
            .any(|c| self.executor.paused(clock, *c).is_some())
        {
            return None;
        }
        self.on_a_slot(clock, commands, end, requests).await.ok()
    }

    /// Takes the next steady-paced budget slot that comes before `end` and runs `commands` on
    /// it; `Err` (how long until a slot) when none comes in time.
    async fn on_a_slot<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        end: Duration,
        requests: &mut u32,
    ) -> Result<Vec<Result<Read, ApiError>>, Duration> {
        let left = end.saturating_sub(clock.monotonic());
        let wait = self
            .executor
            .reserve(clock, left.saturating_sub(self.timeout), Pace::Steady)?;
        clock.sleep(wait).await;
        let deadline = end.min(clock.monotonic() + self.timeout);
        let executed = self
            .executor
            .execute(clock, commands, Urgency::Background, deadline)
            .await;
        *requests += executed.calls;
        Ok(executed.outcomes)
    }

    pub fn executor(&self) -> &X {
        &self.executor
    }
}
