//! What isolates and the coordinator say to each other, as JSON: the ids an isolate missed in,
//! the coordinator's answers out (already rendered, as its own source keeps them, with their
//! age). Only validated integers travel toward the portal; the portal's text never travels.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::domain::caller::CallerKey;
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::reads::Urgency;
use crate::core::metrics::MirrorHealth;
use crate::core::portal::refusal::PROBLEM_CODES;
use crate::core::publish::cached::Cached;
use crate::core::publish::render::RenderedRecord;
use crate::core::source::batcher::Demand;
use crate::core::source::upstream::{Aged, Fetched};
use crate::core::source::Health;

/// An isolate's misses: records, or products (one kind per ask).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ask {
    #[serde(default)]
    pub records: Vec<u32>,
    #[serde(default)]
    pub products: Vec<u32>,
    /// A refresh: read past the coordinator's cache, at background urgency.
    #[serde(default)]
    pub background: bool,
    /// The caller the isolate served (`CallerKey`'s text), for fair places in batches and the
    /// per-caller work limit, which the coordinator holds for the whole deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Not ids: what the coordinator's source says of itself, for an isolate's `/healthz`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub health: bool,
}

/// One answer per id asked, records first, in the order asked; or the health asked for.
#[derive(Debug, Serialize, Deserialize)]
pub struct Told {
    pub answers: Vec<WireAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<WireHealth>,
}

/// The coordinator's [`Health`], in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireHealth {
    pub source: String,
    pub serving: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<WireMirror>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_accounting: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMirror {
    pub rows: u64,
    pub oldest_age_ms: Option<u64>,
    pub sweeps: u64,
    pub failures: u64,
    pub last_duration_ms: Option<u64>,
    pub last_requests: u32,
    pub last_finished_ms: Option<u64>,
    pub behind: bool,
}

impl WireHealth {
    pub fn of(health: &Health) -> Self {
        let ms = |d: Duration| d.as_millis() as u64;
        Self {
            source: health.source.to_string(),
            serving: health.serving.to_string(),
            mirror: health.mirror.as_ref().map(|m| WireMirror {
                rows: m.rows,
                oldest_age_ms: m.oldest_age.map(ms),
                sweeps: m.sweeps,
                failures: m.failures,
                last_duration_ms: m.last_duration.map(ms),
                last_requests: m.last_requests,
                last_finished_ms: m.last_finished.map(ms),
                behind: m.behind,
            }),
            problem: health.problem.map(str::to_string),
            inventory_accounting: health.inventory_accounting,
        }
    }

    /// Read back; an unknown word reads as on demand.
    pub fn to_health(&self) -> Health {
        let word = |w: &str| if w == "mirror" { "mirror" } else { "on_demand" };
        Health {
            source: word(&self.source),
            serving: word(&self.serving),
            mirror: self.mirror.as_ref().map(|m| MirrorHealth {
                rows: m.rows,
                oldest_age: m.oldest_age_ms.map(Duration::from_millis),
                sweeps: m.sweeps,
                failures: m.failures,
                last_duration: m.last_duration_ms.map(Duration::from_millis),
                last_requests: m.last_requests,
                last_finished: m.last_finished_ms.map(Duration::from_millis),
                behind: m.behind,
            }),
            // Only a code this build knows: nothing else is passed on to callers.
            problem: self
                .problem
                .as_deref()
                .and_then(|p| PROBLEM_CODES.iter().find(|code| **code == p).copied()),
            inventory_accounting: self.inventory_accounting,
            shared_state: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireAnswer {
    /// A record's two published renderings.
    Record {
        v1: String,
        bitrix: String,
        #[serde(rename = "productId")]
        product_id: u32,
        #[serde(rename = "storeId")]
        store_id: i64,
        #[serde(flatten)]
        time: Timing,
    },
    /// A product's published stock.
    Product {
        body: String,
        #[serde(flatten)]
        time: Timing,
    },
    /// No such record or product (or none the policy shows).
    Missing {
        #[serde(flatten)]
        time: Timing,
    },
    /// A product with more stock records than the gateway reads (answered 502).
    TooLarge {
        #[serde(flatten)]
        time: Timing,
    },
    Busy {
        #[serde(rename = "retryAfterSecs")]
        retry_after_secs: u64,
    },
    /// The portal refuses the gateway until its operator acts.
    Unavailable {
        #[serde(rename = "retryAfterSecs")]
        retry_after_secs: u64,
    },
    Failed,
    TimedOut,
}

/// How old an answer is, and (from a mirror) how long it stays good from now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    #[serde(rename = "ageMs")]
    pub age_ms: u64,
    #[serde(rename = "lifeMs", default, skip_serializing_if = "Option::is_none")]
    pub life_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// What is asked for, in the types the source takes.
pub enum Asked {
    Records(Vec<RecordId>),
    Products(Vec<ProductId>),
}

impl Ask {
    pub fn records(ids: &[RecordId], demand: Demand) -> Self {
        Self {
            records: ids.iter().map(|id| id.get()).collect(),
            ..Self::of(demand)
        }
    }

    pub fn product(id: ProductId, demand: Demand) -> Self {
        Self {
            products: vec![id.get()],
            ..Self::of(demand)
        }
    }

    fn of(demand: Demand) -> Self {
        Self {
            background: demand.urgency == Urgency::Background,
            caller: demand.lane.map(|key| key.to_string()),
            ..Self::default()
        }
    }

    /// Who asked; a caller key that does not read back shares the unnamed callers' lane.
    pub fn caller(&self) -> Option<CallerKey> {
        self.caller.as_deref().and_then(CallerKey::parse)
    }

    pub fn urgency(&self) -> Urgency {
        if self.background {
            Urgency::Background
        } else {
            Urgency::Caller
        }
    }

    /// An ask for the coordinator's health.
    pub fn health() -> Self {
        Self {
            health: true,
            ..Self::default()
        }
    }

    /// The ids, validated again (the coordinator trusts nothing it is sent); `None` for an id
    /// no caller could have sent, or an ask of both kinds.
    pub fn asked(&self) -> Option<Asked> {
        match (self.records.is_empty(), self.products.is_empty()) {
            (false, true) => self
                .records
                .iter()
                .map(|n| RecordId::from_u64((*n).into()).ok())
                .collect::<Option<_>>()
                .map(Asked::Records),
            (true, false) => self
                .products
                .iter()
                .map(|n| ProductId::from_u64((*n).into()).ok())
                .collect::<Option<_>>()
                .map(Asked::Products),
            _ => None,
        }
    }
}

impl WireAnswer {
    pub fn from_fetched(fetched: &Fetched) -> Self {
        match fetched {
            Ok(aged) => {
                let time = Timing {
                    age_ms: aged.age.as_millis() as u64,
                    life_ms: aged.life.map(|life| life.as_millis() as u64),
                    stale: aged.stale,
                };
                match &aged.value {
                    Cached::Record(record) => WireAnswer::Record {
                        v1: text(&record.v1),
                        bitrix: text(&record.bitrix),
                        product_id: record.product_id,
                        store_id: record.store_id,
                        time,
                    },
                    Cached::Product(body) => WireAnswer::Product {
                        body: text(body),
                        time,
                    },
                    Cached::Missing => WireAnswer::Missing { time },
                    Cached::TooLarge => WireAnswer::TooLarge { time },
                }
            }
            Err(ApiError::UpstreamBusy { retry_after_secs }) => WireAnswer::Busy {
                retry_after_secs: *retry_after_secs,
            },
            Err(ApiError::UpstreamTimeout) => WireAnswer::TimedOut,
            Err(ApiError::UpstreamUnavailable { retry_after_secs }) => WireAnswer::Unavailable {
                retry_after_secs: *retry_after_secs,
            },
            Err(_) => WireAnswer::Failed,
        }
    }

    /// Read back; an answer of another kind than asked (`product`: whether a product was) is a
    /// failure.
    pub fn to_fetched(&self, product: bool) -> Fetched {
        let aged = |value: Cached, time: &Timing| {
            Ok(Aged {
                value,
                age: Duration::from_millis(time.age_ms),
                life: time.life_ms.map(Duration::from_millis),
                stale: time.stale,
            })
        };
        match (self, product) {
            (
                WireAnswer::Record {
                    v1,
                    bitrix,
                    product_id,
                    store_id,
                    time,
                },
                false,
            ) => aged(
                Cached::Record(RenderedRecord {
                    v1: v1.clone().into(),
                    bitrix: bitrix.clone().into(),
                    product_id: *product_id,
                    store_id: *store_id,
                    hit_headers: Default::default(),
                }),
                time,
            ),
            (WireAnswer::Product { body, time }, true) => {
                aged(Cached::Product(body.clone().into()), time)
            }
            (WireAnswer::Missing { time }, _) => aged(Cached::Missing, time),
            (WireAnswer::TooLarge { time }, true) => aged(Cached::TooLarge, time),
            (WireAnswer::Busy { retry_after_secs }, _) => Err(ApiError::UpstreamBusy {
                retry_after_secs: (*retry_after_secs).clamp(1, 600),
            }),
            (WireAnswer::TimedOut, _) => Err(ApiError::UpstreamTimeout),
            (WireAnswer::Unavailable { retry_after_secs }, _) => {
                Err(ApiError::UpstreamUnavailable {
                    retry_after_secs: (*retry_after_secs).clamp(1, 600),
                })
            }
            _ => Err(ApiError::UpstreamError),
        }
    }
}

/// Published bodies are JSON, always UTF-8.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(value: Cached) -> Fetched {
        Ok(Aged {
            value,
            age: Duration::from_millis(1500),
            life: None,
            stale: false,
        })
    }

    #[test]
    fn answers_round_trip() {
        let record = aged(Cached::Record(RenderedRecord {
            v1: r#"{"id":13,"amount":2.5}"#.into(),
            bitrix: r#"{"storeProduct":{"id":13}}"#.into(),
            product_id: 6973,
            store_id: 11,
            hit_headers: Default::default(),
        }));
        let product = aged(Cached::Product(r#"{"productId":6973}"#.into()));
        let from_a_mirror = Ok(Aged {
            value: Cached::Missing,
            age: Duration::from_millis(10),
            life: Some(Duration::from_secs(42)),
            stale: true,
        });
        let cases = [
            (from_a_mirror, false),
            (record, false),
            (aged(Cached::Missing), false),
            (product, true),
            (aged(Cached::Missing), true),
            (
                Err(ApiError::UpstreamBusy {
                    retry_after_secs: 7,
                }),
                false,
            ),
            (Err(ApiError::UpstreamTimeout), true),
            (Err(ApiError::UpstreamError), false),
        ];
        for (fetched, is_product) in cases {
            let wire = WireAnswer::from_fetched(&fetched);
            let text = serde_json::to_string(&wire).unwrap();
            let back: WireAnswer = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_fetched(is_product), fetched, "{text}");
        }
    }

    #[test]
    fn nothing_mismatched_or_invalid_passes() {
        let time = Timing {
            age_ms: 0,
            life_ms: None,
            stale: false,
        };
        let record = WireAnswer::Record {
            v1: "{}".into(),
            bitrix: "{}".into(),
            product_id: 1,
            store_id: 1,
            time,
        };
        assert_eq!(record.to_fetched(true), Err(ApiError::UpstreamError));
        let product = WireAnswer::Product {
            body: "{}".into(),
            time,
        };
        assert_eq!(product.to_fetched(false), Err(ApiError::UpstreamError));
        let zero = Ask {
            records: vec![13, 0],
            ..Ask::default()
        };
        assert!(zero.asked().is_none());
        let both = Ask {
            records: vec![13],
            products: vec![6973],
            ..Ask::default()
        };
        assert!(both.asked().is_none());
        assert!(Ask::default().asked().is_none());
    }
}
