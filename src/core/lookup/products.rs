//! Product lookups: one product across the public warehouses, read from
//! `catalog.storeproduct.list` page by page (the first page, then all the others in one batch),
//! coalesced per product and cached like records.

use std::sync::Arc;
use std::time::Duration;

use super::cached::Cached;
use super::records::found;
use super::{Fetched, Looked, Settled};
use crate::core::api::api_error::ApiError;
use crate::core::api::render::render_product;
use crate::core::gateway::{Gateway, Trace};
use crate::core::portal::command::{Command, LIST_PAGE_ROWS};
use crate::core::portal::exchange::{Executor, Urgency};
use crate::core::portal::page::Page;
use crate::core::ports::Clock;
use crate::core::protection::cache::CacheStatus;
use crate::core::protection::flights::Joined;
use crate::core::protection::shared_cache::{CacheKey, SharedCache};
use crate::core::stock::id::ProductId;
use crate::core::stock::product::product_stock;

/// The most list pages read for one product (50 rows each: 500 warehouses). A portal that
/// claims more is answered with `upstream_error` rather than a partial sum.
pub const MAX_PRODUCT_PAGES: u32 = 10;

impl<E: Executor, C: Clock, L, S: SharedCache> Gateway<E, C, L, S> {
    pub(crate) async fn lookup_product(&self, id: ProductId, trace: &mut Trace) -> Looked {
        if let Some(hit) = self.products.fresh(id, self.clock.monotonic()) {
            if hit.refresh {
                trace.refresh.products.push(id);
            }
            trace.saw(CacheStatus::Hit, Some(hit.age));
            return Ok(found(hit.value, CacheStatus::Hit, Some(hit.age)));
        }
        if let Some((bytes, age)) = self.shared_cache.get(CacheKey::Product(id)).await {
            if let Some(value) = Cached::from_bytes(&bytes) {
                let stored_at = self.clock.monotonic().saturating_sub(age);
                self.products
                    .store(id, value.clone(), stored_at, self.ttl_of(&value));
                trace.saw(CacheStatus::Hit, Some(age));
                return Ok(found(value, CacheStatus::Hit, Some(age)));
            }
        }
        trace.saw(CacheStatus::Miss, None);
        let started = self.clock.monotonic();
        let result = self.coalesced_product(id, Urgency::Caller).await;
        trace.upstream = Some(self.clock.monotonic().saturating_sub(started));
        match result {
            Ok(value) => Ok(found(value, CacheStatus::Miss, None)),
            Err(error) if error.is_upstream_failure() => {
                match self.products.stale(id, self.clock.monotonic()) {
                    Some((value, age)) => {
                        trace.saw(CacheStatus::Stale, Some(age));
                        Ok(found(value, CacheStatus::Stale, Some(age)))
                    }
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// One product read under way per product: the first caller reads, the others wait.
    pub(crate) async fn coalesced_product(
        &self,
        id: ProductId,
        urgency: Urgency,
    ) -> Result<Cached, ApiError> {
        let deadline = self.clock.monotonic() + self.settings.upstream_timeout * 2;
        while self.clock.monotonic() < deadline {
            match self.product_flights.join(id, self.clock.monotonic()) {
                Joined::Lead(lead) => {
                    let result = self.read_product(id, urgency).await;
                    lead.land(result.clone());
                    return result;
                }
                Joined::Follow(flight) => {
                    if let Some(result) = flight.wait(self.waiting, deadline, &self.clock).await {
                        return result;
                    }
                }
            }
        }
        Err(ApiError::UpstreamTimeout)
    }

    /// Reads every page, adds up the public warehouses, renders and caches the answer.
    async fn read_product(&self, id: ProductId, urgency: Urgency) -> Result<Cached, ApiError> {
        let (first, mut age) = self.page(id, 0, urgency).await?;
        let mut rows = first.rows.clone();
        match (first.total, first.next) {
            (Some(total), _) => {
                let pages = total.div_ceil(LIST_PAGE_ROWS);
                if pages > MAX_PRODUCT_PAGES {
                    tracing::warn!(
                        product = %id,
                        pages_cap = MAX_PRODUCT_PAGES,
                        "product has more stock records than the page cap; not answered"
                    );
                    return Err(ApiError::UpstreamError);
                }
                // Every other page at once: one batch.
                let commands: Vec<Command> = (1..pages)
                    .map(|page| Command::ProductPage {
                        product: id,
                        start: page * LIST_PAGE_ROWS,
                    })
                    .collect();
                if !commands.is_empty() {
                    for fetched in self.read(&commands, urgency).await {
                        let (page, page_age) = page_of(fetched)?;
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
                        return Err(ApiError::UpstreamError);
                    }
                    let (page, page_age) = self.page(id, start, urgency).await?;
                    rows.extend(page.rows.iter().cloned());
                    age = age.max(page_age);
                    next = page.next.filter(|n| *n > start);
                }
            }
            (None, None) => {}
        }
        let value = match product_stock(id, &rows, &self.settings.policy) {
            Some(stock) => Cached::Product(render_product(&self.settings.policy, &stock)),
            None => Cached::Missing,
        };
        // Its life counts from the oldest page (a coordinator may answer from its cache).
        let ttl = self.ttl_of(&value);
        let stored_at = self.clock.monotonic().saturating_sub(age);
        self.products.store(id, value.clone(), stored_at, ttl);
        let life_left = ttl.saturating_sub(age);
        if !life_left.is_zero() {
            self.shared_cache
                .put(CacheKey::Product(id), value.to_bytes(), life_left)
                .await;
        }
        Ok(value)
    }

    async fn page(
        &self,
        id: ProductId,
        start: u32,
        urgency: Urgency,
    ) -> Result<(Arc<Page>, Duration), ApiError> {
        let command = Command::ProductPage { product: id, start };
        let fetched = self.read(&[command], urgency).await;
        page_of(
            fetched
                .into_iter()
                .next()
                .unwrap_or(Err(ApiError::UpstreamError)),
        )
    }

    fn ttl_of(&self, value: &Cached) -> Duration {
        match value {
            Cached::Missing => self.settings.negative_ttl,
            _ => self.settings.cache_ttl,
        }
    }
}

fn page_of(fetched: Fetched) -> Result<(Arc<Page>, Duration), ApiError> {
    match fetched? {
        Settled::Page(page, age) => Ok((page, age)),
        Settled::Record(_) => Err(ApiError::UpstreamError),
    }
}
