//! Where an on-demand source's misses go: the [`Upstream`] contract, and [`PortalUpstream`],
//! which reads the portal itself: records through the batcher (misses of concurrent requests
//! share one `batch`), a product page by page (the first page, then every other one in one
//! batch), each answer rendered under the publishing policy once, by whoever read it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::batcher::{Batcher, Demand};
use super::cache::TtlCache;
use super::flights::Waiting;
use super::Health;
use crate::core::config::Settings;
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::policy::Policy;
use crate::core::domain::product::product_stock;
use crate::core::domain::reads::{Catalog, Command, Outcome, Page, Read};
use crate::core::domain::record::StoreProduct;
use crate::core::domain::sellable::{ProductFlags, PARENT};
use crate::core::domain::variations::MAX_VARIATIONS;
use crate::core::kit::lock::lock;
use crate::core::metrics::Snapshot;
use crate::core::portal::command::{LIST_PAGE_ROWS, MAX_BATCH_COMMANDS};
use crate::core::ports::{Clock, Executor, PortalAccess};
use crate::core::publish::cached::Cached;
use crate::core::publish::render::{render_parent, render_product, render_record};

/// The most list pages read for one product (50 rows each: 500 warehouses). A portal that
/// claims more is answered with `upstream_error` rather than a partial sum.
pub const MAX_PRODUCT_PAGES: u32 = 10;

/// How long a record is taken to belong to the product it was last read with.
const OWNER_LIFE: Duration = Duration::from_secs(24 * 3600);

/// A flight whose leader vanished is taken over this long after its deadline.
pub const FLIGHT_MARGIN: Duration = Duration::from_secs(1);

/// An answer as an upstream gives it, and how old it already is (a coordinator may answer
/// from its own cache); its life is counted from when the portal gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Aged {
    pub value: Cached,
    pub age: Duration,
    /// How long it stays good from now, when the upstream knows (a coordinator's mirror: until
    /// its next sweep); otherwise the configured lifetimes apply.
    pub life: Option<Duration>,
    /// A stand-in past its promise (a coordinator's mirror whose sweeps fail): served as
    /// stale, never kept.
    pub stale: bool,
}

impl Aged {
    /// Straight from the portal: no age, the configured lifetime.
    pub fn new(value: Cached, age: Duration) -> Self {
        Self {
            value,
            age,
            life: None,
            stale: false,
        }
    }
}

pub type Fetched = Result<Aged, ApiError>;

/// Answers misses. Each id asked for is asked by one request at a time (the source coalesces
/// before calling); the upstream need not coalesce again.
pub trait Upstream {
    /// One answer per id, in order, by `deadline` (monotonic), for `demand` (who asks, and
    /// how urgently).
    fn records<C: Clock>(
        &self,
        clock: &C,
        ids: &[RecordId],
        demand: Demand,
        deadline: Duration,
    ) -> impl Future<Output = Vec<Fetched>>;

    /// One product's stock over the public warehouses, by `deadline`.
    fn product<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        demand: Demand,
        deadline: Duration,
    ) -> impl Future<Output = Fetched>;

    /// Adds the portal exchanges this upstream made and its budget level.
    fn report(&self, snapshot: &mut Snapshot, now: Duration);

    /// Whether the portal accepts the gateway, as this upstream's own exchanges showed.
    fn access(&self) -> PortalAccess {
        PortalAccess::default()
    }

    /// Whether the portal keeps inventory accounting, as this upstream last read it.
    fn inventory_accounting(&self) -> Option<bool> {
        None
    }

    /// What the upstream's own source says of itself, when it is one (a coordinator); `None`
    /// for the portal.
    fn health<C: Clock>(&self, _clock: &C) -> impl Future<Output = Option<Health>> {
        std::future::ready(None)
    }
}

/// What one command settled on in the batcher: a record (`None`: none in a public
/// warehouse), a page that waits for the rest of its product, or a product's flags; each with
/// its age. Answers are rendered once the product's flags are known.
#[derive(Debug, Clone, PartialEq)]
enum Settled {
    Record(Option<StoreProduct>, Duration),
    Page(Arc<Page>, Duration),
    Flags(Option<ProductFlags>),
    RecordFlags(Option<(ProductId, ProductFlags)>),
    Mode(Option<bool>),
    Catalogs(Option<Vec<Catalog>>),
    Offers(Option<Vec<ProductId>>),
}

/// The portal behind an executor: the batcher in front of it, the policy answers are rendered
/// under, and the products' flags it has read (kept for `STOCK_FLAGS_TTL_SECS`: they change
/// far less often than stock, and a record's answer needs its product's).
pub struct PortalUpstream<X> {
    executor: X,
    batcher: Batcher<Result<Settled, ApiError>>,
    policy: Policy,
    flags: TtlCache<ProductId, Option<ProductFlags>>,
    flags_life: Duration,
    /// The inventory mode as last read (with a product's flags), and when (monotonic).
    mode: Mutex<Option<(Option<bool>, Duration)>>,
    /// Parents' variations as the portal lists them to an administrator's webhook (`None`:
    /// none listed), for products not in `STOCK_VARIATIONS`; kept like flags.
    learnt: TtlCache<ProductId, Option<Arc<[ProductId]>>>,
    /// Which product each record read belongs to, so that its flags can ride with the record
    /// next time.
    owners: TtlCache<RecordId, ProductId>,
    /// The catalogs and their parents' catalogs, and when they were read; `None` inside: the
    /// webhook may not list them.
    catalogs: Mutex<Option<(Option<Vec<Catalog>>, Duration)>>,
}

impl<X: Executor> PortalUpstream<X> {
    /// `waiting`: how requests waiting for another's exchange learn its result.
    pub fn new(settings: &Settings, executor: X, waiting: Waiting) -> Self {
        Self {
            executor,
            batcher: Batcher::new(
                settings.batch_window,
                settings.upstream_timeout,
                FLIGHT_MARGIN,
                waiting,
            ),
            policy: settings.policy.clone(),
            flags: TtlCache::new(settings.cache_max_entries, settings.stale_if_error),
            flags_life: settings.flags_ttl,
            mode: Mutex::new(None),
            learnt: TtlCache::new(settings.cache_max_entries, Duration::ZERO),
            owners: TtlCache::new(settings.cache_max_entries, Duration::ZERO),
            catalogs: Mutex::new(None),
        }
    }

    /// Runs commands through the batcher; each settles (renders) once, in the request that
    /// sent it.
    async fn read<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<Result<Settled, ApiError>> {
        let settle = |command: Command, outcome: Outcome, age: Duration| {
            settle(&self.policy, command, outcome, age)
        };
        self.batcher
            .read(&self.executor, clock, commands, demand, deadline, &settle)
            .await
            .into_iter()
            .map(|g| g.unwrap_or(Err(ApiError::UpstreamTimeout)))
            .collect()
    }

    async fn page<C: Clock>(
        &self,
        clock: &C,
        product: ProductId,
        start: u32,
        demand: Demand,
        deadline: Duration,
    ) -> Result<(Arc<Page>, Duration), ApiError> {
        let command = Command::ProductPage { product, start };
        let read = self.read(clock, &[command], demand, deadline).await;
        page_of(
            read.into_iter()
                .next()
                .unwrap_or(Err(ApiError::UpstreamError)),
        )
    }

    /// The inventory-mode command, when it is due: it rides along with flags reads, once per
    /// flags lifetime.
    fn mode_due(&self, now: Duration) -> Option<Command> {
        let mode = lock(&self.mode);
        let due = mode.is_none_or(|(_, at)| now >= at + self.flags_life);
        due.then_some(Command::InventoryMode)
    }

    fn keep_mode(&self, settled: Option<Result<Settled, ApiError>>, now: Duration) {
        if let Some(Ok(Settled::Mode(mode))) = settled {
            *lock(&self.mode) = Some((mode, now));
        }
    }

    /// The flags kept for `product` while fresh; `Err` when they must be read.
    fn kept_flags(&self, product: ProductId, now: Duration) -> Result<Option<ProductFlags>, ()> {
        self.flags
            .fresh(product, now)
            .map(|hit| hit.value)
            .ok_or(())
    }

    /// Keeps what a flags command settled on; a failed read stands in with the last flags
    /// inside the stale window, else unknown flags (the stock speaks alone this time).
    fn settle_flags(
        &self,
        product: ProductId,
        settled: Result<Settled, ApiError>,
        now: Duration,
    ) -> Option<ProductFlags> {
        match settled {
            Ok(Settled::Flags(flags)) => {
                self.flags.store(product, flags, now, self.flags_life);
                flags
            }
            _ => self.flags.stale(product, now).and_then(|(flags, _)| flags),
        }
    }

    /// The flags of `products` (distinct), read in one round for those not kept.
    async fn flags_of<C: Clock>(
        &self,
        clock: &C,
        products: &[ProductId],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<(ProductId, Option<ProductFlags>)> {
        let now = clock.monotonic();
        let mut known = Vec::with_capacity(products.len());
        let mut missing = Vec::new();
        for &product in products {
            match self.kept_flags(product, now) {
                Ok(flags) => known.push((product, flags)),
                Err(()) => missing.push(product),
            }
        }
        if !missing.is_empty() {
            let mut commands: Vec<Command> = missing.iter().map(|p| Command::Flags(*p)).collect();
            commands.extend(self.mode_due(now));
            let mut read = self.read(clock, &commands, demand, deadline).await;
            let now = clock.monotonic();
            let mode = (read.len() > missing.len()).then(|| read.pop()).flatten();
            self.keep_mode(mode, now);
            for (product, settled) in missing.into_iter().zip(read) {
                known.push((product, self.settle_flags(product, settled, now)));
            }
        }
        known
    }
}

impl<X: Executor> Upstream for PortalUpstream<X> {
    async fn records<C: Clock>(
        &self,
        clock: &C,
        ids: &[RecordId],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<Fetched> {
        self.read_records(clock, ids, demand, deadline, true).await
    }

    /// Reads every page and adds up the public warehouses; a parent with variations
    /// (`STOCK_VARIATIONS`) adds up its variations. The answer's age is its oldest page's.
    async fn product<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        demand: Demand,
        deadline: Duration,
    ) -> Fetched {
        if let Some(variations) = self.policy.variations.of(id) {
            return self.parent(clock, id, variations, demand, deadline).await;
        }
        let first = self.first_pages(clock, &[id], demand, deadline).await;
        let (page, age, flags) = first
            .into_iter()
            .next()
            .unwrap_or(Err(ApiError::UpstreamError))?;
        if flags.is_some_and(|f| f.kind == PARENT) {
            let iblock = flags.map_or(0, |f| f.iblock);
            if let Some(variations) = self.learn(clock, id, iblock, demand, deadline).await {
                return self.parent(clock, id, &variations, demand, deadline).await;
            }
        }
        let Some((rows, age)) = self
            .rest_of(clock, id, &page, age, demand, deadline)
            .await?
        else {
            return Ok(too_large(id, age));
        };
        let value = match product_stock(id, &rows, &self.policy) {
            Some(stock) => Cached::Product(render_product(&self.policy, &stock, flags.as_ref())),
            None => Cached::Missing,
        };
        Ok(Aged::new(value, age))
    }

    fn report(&self, snapshot: &mut Snapshot, now: Duration) {
        snapshot.add_exchanges(self.batcher.stats());
        snapshot.budget_level = self.executor.budget_level(now);
        snapshot.credential_failures += self.executor.access().credential_failures;
    }

    fn access(&self) -> PortalAccess {
        self.executor.access()
    }

    fn inventory_accounting(&self) -> Option<bool> {
        lock(&self.mode).and_then(|(mode, _)| mode)
    }
}

impl<X: Executor> PortalUpstream<X> {
    /// Records by id, with their products' flags: those kept, those that ride in the records'
    /// own batch, and (with `second_round`) the rest read after. Without it (an isolate cut off
    /// from its coordinator, whose every exchange counts against a small allowance), records
    /// whose products' flags are not at hand answer with the state their stock shows.
    pub async fn read_records<C: Clock>(
        &self,
        clock: &C,
        ids: &[RecordId],
        demand: Demand,
        deadline: Duration,
        second_round: bool,
    ) -> Vec<Fetched> {
        let now = clock.monotonic();
        let mut commands: Vec<Command> = ids.iter().map(|id| Command::Record(*id)).collect();
        // Records read before say their product: its flags, when due, ride along.
        let mut riding: Vec<ProductId> = Vec::new();
        for id in ids {
            if let Some(owner) = self.owners.fresh(*id, now).map(|hit| hit.value) {
                if self.kept_flags(owner, now).is_err() && !riding.contains(&owner) {
                    riding.push(owner);
                }
            }
        }
        commands.extend(riding.iter().map(|p| Command::Flags(*p)));
        // Records read the first time: their product's flags follow each of them in the same
        // batch, named by reference, while one batch has room for all (a cold record then
        // costs one exchange, not two). The inventory mode rides along when due.
        let chained: Vec<RecordId> = if ids.len() * 2 + riding.len() < MAX_BATCH_COMMANDS {
            ids.iter()
                .filter(|id| self.owners.fresh(**id, now).is_none())
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        commands.extend(chained.iter().map(|id| Command::FlagsOfRecord(*id)));
        let mode = self.mode_due(now).filter(|_| !chained.is_empty());
        commands.extend(mode);
        let mut read = self
            .read(clock, &commands, demand, deadline)
            .await
            .into_iter();
        let rows: Vec<Result<(Option<StoreProduct>, Duration), ApiError>> = read
            .by_ref()
            .take(ids.len())
            .map(|settled| match settled? {
                Settled::Record(row, age) => Ok((row, age)),
                _ => Err(ApiError::UpstreamError),
            })
            .collect();
        let now = clock.monotonic();
        let mut flags: Vec<(ProductId, Option<ProductFlags>)> = riding
            .iter()
            .zip(read.by_ref())
            .map(|(product, settled)| (*product, self.settle_flags(*product, settled, now)))
            .collect();
        // Chained flags count only for the product their record turned out to have; the
        // others' are read on their own below.
        for (id, settled) in chained.iter().zip(read.by_ref()) {
            let Ok(Settled::RecordFlags(Some((product, named)))) = settled else {
                continue;
            };
            let owner = rows.iter().flatten().find_map(|(row, _)| {
                row.as_ref()
                    .filter(|record| record.id == *id)
                    .map(|record| record.product_id)
            });
            if owner == Some(product) && !flags.iter().any(|(p, _)| *p == product) {
                self.flags.store(product, Some(named), now, self.flags_life);
                flags.push((product, Some(named)));
            }
        }
        if mode.is_some() {
            self.keep_mode(read.next(), now);
        }
        // The others' (a record read the first time, or that changed product) after.
        let mut products: Vec<ProductId> = Vec::new();
        for (row, _) in rows.iter().flatten() {
            let Some(record) = row else { continue };
            self.owners
                .store(record.id, record.product_id, now, OWNER_LIFE);
            let product = record.product_id;
            if !products.contains(&product) && !flags.iter().any(|(p, _)| *p == product) {
                products.push(product);
            }
        }
        if second_round {
            flags.extend(self.flags_of(clock, &products, demand, deadline).await);
        } else {
            flags.extend(
                products
                    .iter()
                    .map(|p| (*p, self.kept_flags(*p, now).ok().flatten())),
            );
        }
        rows.into_iter()
            .map(|row| {
                let (row, age) = row?;
                let value = match row {
                    Some(record) => {
                        let of_product = flags
                            .iter()
                            .find(|(p, _)| *p == record.product_id)
                            .and_then(|(_, f)| f.as_ref());
                        Cached::Record(render_record(&self.policy, &record, of_product))
                    }
                    None => Cached::Missing,
                };
                Ok(Aged::new(value, age))
            })
            .collect()
    }
}

impl<X: Executor> PortalUpstream<X> {
    /// A parent's variations as the portal lists them, when the webhook may list them (an
    /// administrator's): the variations catalog of the parent's catalog (`catalog.catalog.list`,
    /// read once per flags lifetime), then the parent's variations in it. `None`: not listed,
    /// not allowed, or not readable now; the parent is then answered like any product.
    async fn learn<C: Clock>(
        &self,
        clock: &C,
        parent: ProductId,
        iblock: u32,
        demand: Demand,
        deadline: Duration,
    ) -> Option<Vec<ProductId>> {
        let now = clock.monotonic();
        if let Some(hit) = self.learnt.fresh(parent, now) {
            return hit.value.map(|v| v.to_vec());
        }
        let Some(offers_iblock) = self
            .variations_catalog(clock, iblock, demand, deadline)
            .await
        else {
            self.learnt.store(parent, None, now, self.flags_life);
            return None;
        };
        let command = Command::Offers {
            iblock: offers_iblock,
            parent,
        };
        let read = self.read(clock, &[command], demand, deadline).await;
        let learnt = match read.into_iter().next() {
            Some(Ok(Settled::Offers(offers))) => offers.filter(|o| !o.is_empty()).map(|mut o| {
                o.truncate(MAX_VARIATIONS);
                o
            }),
            // Not readable now: ask again next time.
            _ => return None,
        };
        let kept: Option<Arc<[ProductId]>> = learnt.as_deref().map(Arc::from);
        self.learnt
            .store(parent, kept, clock.monotonic(), self.flags_life);
        learnt
    }

    /// The catalog that holds the variations of catalog `iblock` (0: the only variations
    /// catalog there is).
    async fn variations_catalog<C: Clock>(
        &self,
        clock: &C,
        iblock: u32,
        demand: Demand,
        deadline: Duration,
    ) -> Option<u32> {
        let now = clock.monotonic();
        let known = lock(&self.catalogs)
            .clone()
            .filter(|(_, at)| now < *at + self.flags_life);
        let catalogs = match known {
            Some((catalogs, _)) => catalogs,
            None => {
                let read = self
                    .read(clock, &[Command::Catalogs], demand, deadline)
                    .await;
                let Some(Ok(Settled::Catalogs(catalogs))) = read.into_iter().next() else {
                    return None;
                };
                *lock(&self.catalogs) = Some((catalogs.clone(), clock.monotonic()));
                catalogs
            }
        }?;
        let offers: Vec<(u32, u32)> = catalogs
            .iter()
            .filter_map(|(catalog, parents)| Some((*catalog, (*parents)?)))
            .collect();
        match offers.as_slice() {
            [(only, _)] if iblock == 0 => Some(*only),
            _ => offers
                .iter()
                .find(|(_, parents)| *parents == iblock)
                .map(|(catalog, _)| *catalog),
        }
    }
}

/// A product's first list page, its age, and its flags.
type FirstPage = Result<(Arc<Page>, Duration, Option<ProductFlags>), ApiError>;

impl<X: Executor> PortalUpstream<X> {
    /// The products' first pages with their flags (and the inventory mode when due), all in
    /// one read: flags ride in the same batch as the stock, so a product's answer is never
    /// older in its flags than in its stock, at no extra portal request.
    async fn first_pages<C: Clock>(
        &self,
        clock: &C,
        ids: &[ProductId],
        demand: Demand,
        deadline: Duration,
    ) -> Vec<FirstPage> {
        let now = clock.monotonic();
        let mut commands: Vec<Command> = ids
            .iter()
            .map(|id| Command::ProductPage {
                product: *id,
                start: 0,
            })
            .collect();
        commands.extend(ids.iter().map(|id| Command::Flags(*id)));
        commands.extend(self.mode_due(now));
        let mut read = self
            .read(clock, &commands, demand, deadline)
            .await
            .into_iter();
        let pages: Vec<Result<Settled, ApiError>> = read.by_ref().take(ids.len()).collect();
        let now = clock.monotonic();
        let flags: Vec<Option<ProductFlags>> = ids
            .iter()
            .zip(read.by_ref())
            .map(|(id, settled)| self.settle_flags(*id, settled, now))
            .collect();
        self.keep_mode(read.next(), now);
        pages
            .into_iter()
            .zip(flags)
            .map(|(page, flags)| {
                let (page, age) = page_of(page)?;
                Ok((page, age, flags))
            })
            .collect()
    }

    /// Every row of a product from its first page on: the rest of the pages in one batch when
    /// the portal counted them, else one by one along `next`. `None` past the page cap.
    async fn rest_of<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        first: &Page,
        mut age: Duration,
        demand: Demand,
        deadline: Duration,
    ) -> Result<Option<(Vec<StoreProduct>, Duration)>, ApiError> {
        let mut rows = first.rows.clone();
        match (first.total, first.next) {
            (Some(total), _) => {
                let pages = total.div_ceil(LIST_PAGE_ROWS);
                if pages > MAX_PRODUCT_PAGES {
                    return Ok(None);
                }
                let commands: Vec<Command> = (1..pages)
                    .map(|page| Command::ProductPage {
                        product: id,
                        start: page * LIST_PAGE_ROWS,
                    })
                    .collect();
                if !commands.is_empty() {
                    for settled in self.read(clock, &commands, demand, deadline).await {
                        let (page, page_age) = page_of(settled)?;
                        rows.extend(page.rows.iter().cloned());
                        age = age.max(page_age);
                    }
                }
            }
            // No count (the portal skipped it) but a next page: follow `next`, one by one.
            (None, Some(_)) => {
                let mut next = first.next;
                let mut pages = 1;
                while let Some(start) = next {
                    pages += 1;
                    if pages > MAX_PRODUCT_PAGES {
                        return Ok(None);
                    }
                    let (page, page_age) = self.page(clock, id, start, demand, deadline).await?;
                    rows.extend(page.rows.iter().cloned());
                    age = age.max(page_age);
                    next = page.next.filter(|n| *n > start);
                }
            }
            (None, None) => {}
        }
        Ok(Some((rows, age)))
    }

    /// A parent's answer: the first pages of the parent (for its flags) and of every variation
    /// in one read, then any further pages, added up by [`render_parent`].
    async fn parent<C: Clock>(
        &self,
        clock: &C,
        id: ProductId,
        variations: &[ProductId],
        demand: Demand,
        deadline: Duration,
    ) -> Fetched {
        let mut ids = Vec::with_capacity(variations.len() + 1);
        ids.push(id);
        ids.extend_from_slice(variations);
        let mut firsts = self
            .first_pages(clock, &ids, demand, deadline)
            .await
            .into_iter();
        let (_, mut age, parent_flags) = firsts.next().unwrap_or(Err(ApiError::UpstreamError))?;
        let mut stocks = Vec::with_capacity(variations.len());
        for (variation, first) in variations.iter().zip(firsts) {
            let (page, page_age, flags) = first?;
            let Some((rows, page_age)) = self
                .rest_of(clock, *variation, &page, page_age, demand, deadline)
                .await?
            else {
                return Ok(too_large(id, age.max(page_age)));
            };
            age = age.max(page_age);
            if let Some(stock) = product_stock(*variation, &rows, &self.policy) {
                stocks.push((stock, flags));
            }
        }
        let value = match render_parent(&self.policy, id, parent_flags.as_ref(), &stocks) {
            Some(body) => Cached::Product(body),
            None => Cached::Missing,
        };
        Ok(Aged::new(value, age))
    }
}

/// A product past the page cap: an answer in its own right (502 to callers), kept for the
/// negative lifetime so that asking again does not read its first page again.
fn too_large(id: ProductId, age: Duration) -> Aged {
    tracing::warn!(
        product = %id,
        pages_cap = MAX_PRODUCT_PAGES,
        "product has more stock records than the page cap; not answered"
    );
    Aged::new(Cached::TooLarge, age)
}

/// A command's outcome as its flight keeps it: records rendered (a record outside the public
/// warehouses is the same answer as no record), pages as read.
fn settle(
    policy: &Policy,
    command: Command,
    outcome: Outcome,
    age: Duration,
) -> Result<Settled, ApiError> {
    Ok(match (command, outcome?) {
        (Command::Record(_), Read::Record(Some(record))) if policy.admits(&record) => {
            Settled::Record(Some(record), age)
        }
        (Command::Record(_), Read::Record(_)) => Settled::Record(None, age),
        (Command::ProductPage { .. }, Read::Page(page)) => Settled::Page(page.into(), age),
        (Command::Flags(_), Read::Flags(flags)) => Settled::Flags(flags),
        (Command::FlagsOfRecord(_), Read::RecordFlags(named)) => Settled::RecordFlags(named),
        (Command::InventoryMode, Read::Mode(mode)) => Settled::Mode(mode),
        (Command::Catalogs, Read::Catalogs(catalogs)) => Settled::Catalogs(catalogs),
        (Command::Offers { .. }, Read::Offers(offers)) => Settled::Offers(offers),
        // What an on-demand read never asks for, or an answer of another kind.
        _ => return Err(ApiError::UpstreamError),
    })
}

fn page_of(settled: Result<Settled, ApiError>) -> Result<(Arc<Page>, Duration), ApiError> {
    match settled? {
        Settled::Page(page, age) => Ok((page, age)),
        _ => Err(ApiError::UpstreamError),
    }
}
