//! Turning lookups into answers, route by route: one record, a list of records, a product's
//! stock, and the Bitrix-compatible single call and batch.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, VARY};
use http::{Response, StatusCode};

use super::Gateway;
use crate::core::api::bitrix::{self, Entry};
use crate::core::api::bitrix_batch::{CallerBatch, Requested};
use crate::core::api::can_sell;
use crate::core::api::nearest::nearest_first;
use crate::core::api::product_view::{Format, View};
use crate::core::api::render::render_id_lists;
use crate::core::api::response::{self, fresh_for, ErrorStyle};
use crate::core::api::summary;
use crate::core::api::validators::{purge_tag, record_headers, set_purge_tags, set_record_headers};

const TEXT: &str = "text/plain; charset=utf-8";
use crate::core::domain::error::ApiError;
use crate::core::domain::freshness::CacheStatus;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::ports::Clock;
use crate::core::publish::cached::Cached;
use crate::core::publish::render::RenderedRecord;
use crate::core::source::{Found, StockSource, Trace};

type Answer = Result<Response<Bytes>, ApiError>;

impl<Src: StockSource, C: Clock, L> Gateway<Src, C, L> {
    /// `Cache-Control` of an answer served from `found`: a stale stand-in must not be kept; a
    /// source that knows how long its answer stays good (a mirror) says so.
    fn cache_control(&self, found: &Found) -> HeaderValue {
        match (found.status, found.fresh_for) {
            (CacheStatus::Stale, _) => HeaderValue::from_static("no-store"),
            (_, Some(promised)) => fresh_for(promised.as_secs(), self.revalidation),
            _ => self.fresh_cache_control.clone(),
        }
    }

    pub(super) async fn one_record(&self, id: RecordId, trace: &mut Trace) -> Answer {
        let found = self.one(id, trace).await?;
        match &found.value {
            Cached::Record(record) => {
                let mut answer = response::json(
                    StatusCode::OK,
                    record.v1.clone(),
                    self.cache_control(&found),
                );
                let made = record
                    .hit_headers
                    .get_or_init(|| record_headers(id, record));
                set_record_headers(&mut answer, made);
                Ok(answer)
            }
            _ => self.not_found(&found),
        }
    }

    /// 404, cacheable for the negative TTL (or as long as the source says) unless it is a
    /// stale stand-in.
    fn not_found(&self, found: &Found) -> Answer {
        let not_found_max_age = match (found.status, found.fresh_for) {
            (CacheStatus::Stale, _) => 0,
            (_, Some(fresh_for)) => fresh_for.as_secs(),
            _ => return Err(ApiError::NotFound),
        };
        Ok(response::error(
            ApiError::NotFound,
            ErrorStyle::V1 { not_found_max_age },
        ))
    }

    async fn one(&self, id: RecordId, trace: &mut Trace) -> Result<Found, ApiError> {
        self.source
            .records(&[id], trace)
            .await
            .pop()
            .unwrap_or(Err(ApiError::UpstreamError))
    }

    /// `{"items","notFound","unavailable"}`: every id in exactly one list. `Cache-Control` is
    /// the most restrictive of the parts: `no-store` when a part failed or is stale.
    pub(super) async fn many_records(&self, ids: &[RecordId], trace: &mut Trace) -> Answer {
        let looked = self.source.records(ids, trace).await;
        // A caller past its portal-work limit is told so, whatever else it asked for.
        if let Some(limited) = looked.iter().find_map(|l| match l {
            Err(error @ ApiError::RateLimited { .. }) => Some(*error),
            _ => None,
        }) {
            return Err(limited);
        }
        let (mut items, mut not_found, mut unavailable) = (Vec::new(), Vec::new(), Vec::new());
        let mut tags = Vec::new();
        let mut max_age_secs = u64::MAX;
        let mut keep = true;
        for (id, result) in ids.iter().zip(looked) {
            match result {
                Ok(found) => {
                    keep &= found.status != CacheStatus::Stale;
                    let promised = found.fresh_for;
                    let lifetime = match found.value {
                        Cached::Record(record) => {
                            tags.extend(record_tags(*id, &record));
                            items.push(record.v1);
                            self.settings.cache_ttl
                        }
                        _ => {
                            not_found.push(*id);
                            self.settings.negative_ttl
                        }
                    };
                    let lifetime = promised.unwrap_or(lifetime);
                    max_age_secs = max_age_secs.min(lifetime.as_secs());
                }
                Err(_) => {
                    unavailable.push(*id);
                    keep = false;
                }
            }
        }
        let cache_control = if keep {
            fresh_for(max_age_secs, self.revalidation)
        } else {
            HeaderValue::from_static("no-store")
        };
        let mut answer = response::json(
            StatusCode::OK,
            render_id_lists(&items, &not_found, &unavailable),
            cache_control,
        );
        set_purge_tags(&mut answer, &tags);
        Ok(answer)
    }

    /// A product's stock as JSON with its `summary`, or the summary alone as text.
    pub(super) async fn product_stock(
        &self,
        id: ProductId,
        view: View,
        trace: &mut Trace,
    ) -> Answer {
        let found = self.source.product(id, trace).await?;
        match &found.value {
            Cached::Product(body) => {
                let sorted;
                let body = match view.near {
                    Some(from) => {
                        sorted = nearest_first(body, from).unwrap_or_else(|| body.clone());
                        &sorted
                    }
                    None => body,
                };
                let said = summary::sentence(body, view.lang).unwrap_or_default();
                let sent = match view.format {
                    Format::Json => {
                        let mut json = body.clone();
                        if let Some(qty) = view.qty {
                            // Levels only: no figures to answer a quantity with.
                            let checked =
                                can_sell::check(body, qty).ok_or(ApiError::InvalidParameter)?;
                            json = summary::with_member(&json, "qty", &checked);
                        }
                        let quoted = serde_json::to_vec(&said).unwrap_or_default();
                        summary::with_member(&json, "summary", &quoted)
                    }
                    Format::Text => Bytes::from(said + "\n"),
                };
                let mut answer = response::json(StatusCode::OK, sent, self.cache_control(&found));
                let headers = answer.headers_mut();
                if view.format == Format::Text {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
                }
                // The answer depends on Accept when no `format` is given.
                headers.append(VARY, HeaderValue::from_static("Accept"));
                set_purge_tags(&mut answer, &product_tags(id, body));
                Ok(answer)
            }
            Cached::TooLarge => Err(ApiError::UpstreamError),
            _ => self.not_found(&found),
        }
    }

    pub(super) async fn bitrix_record(&self, id: RecordId, trace: &mut Trace) -> Answer {
        let found = self.one(id, trace).await?;
        match &found.value {
            Cached::Record(record) => Ok(response::json(
                StatusCode::OK,
                bitrix::single(&record.bitrix, self.timing(trace)),
                // A POST answer: nothing for shared caches to keep.
                HeaderValue::from_static("no-store"),
            )),
            _ => Err(ApiError::NotFound),
        }
    }

    /// The portal's batch answer for a caller's batch. Each distinct id is looked up once; with
    /// `halt`, commands after the first failing one are left out, as the portal does.
    pub(super) async fn bitrix_batch(
        &self,
        batch: CallerBatch,
        trace: &mut Trace,
    ) -> Response<Bytes> {
        let asked = if batch.halt {
            let first_refused = batch
                .commands
                .iter()
                .position(|(_, r)| matches!(r, Requested::Refused(_)));
            first_refused.map_or(batch.commands.len(), |i| i + 1)
        } else {
            batch.commands.len()
        };
        let mut ids: Vec<RecordId> = Vec::new();
        for (_, requested) in &batch.commands[..asked] {
            if let Requested::Record(id) = requested {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
        }
        let looked: HashMap<RecordId, Result<Found, ApiError>> = ids
            .iter()
            .copied()
            .zip(self.source.records(&ids, trace).await)
            .collect();
        let mut entries = Vec::with_capacity(asked);
        for (key, requested) in batch.commands.into_iter().take(asked) {
            let entry = match requested {
                Requested::Refused(error) => Entry::Error(error),
                Requested::Record(id) => match looked.get(&id) {
                    Some(Ok(Found {
                        value: Cached::Record(record),
                        ..
                    })) => Entry::Result(record.bitrix.clone()),
                    Some(Ok(_)) => Entry::Error(ApiError::NotFound),
                    Some(Err(error)) => Entry::Error(*error),
                    None => Entry::Error(ApiError::UpstreamError),
                },
            };
            let failed = matches!(entry, Entry::Error(_));
            entries.push((key, entry));
            if batch.halt && failed {
                break;
            }
        }
        response::json(
            StatusCode::OK,
            bitrix::batch(&entries, self.timing(trace)),
            HeaderValue::from_static("no-store"),
        )
    }
}

/// A record answer's purge tags: the record, its product and its warehouse.
fn record_tags(id: RecordId, record: &RenderedRecord) -> [String; 3] {
    [
        purge_tag("record", id),
        purge_tag("product", record.product_id),
        purge_tag("store", record.store_id),
    ]
}

/// A product answer's purge tags: the product and each warehouse it lists (read back from the
/// rendered answer, which is kept as bytes).
fn product_tags(id: ProductId, body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default)]
        stores: Vec<Store>,
    }
    #[derive(serde::Deserialize)]
    struct Store {
        #[serde(rename = "storeId")]
        store_id: i64,
    }
    let stores = serde_json::from_slice::<Listed>(body).map_or(Vec::new(), |l| l.stores);
    std::iter::once(purge_tag("product", id))
        .chain(stores.iter().map(|s| purge_tag("store", s.store_id)))
        .collect()
}
