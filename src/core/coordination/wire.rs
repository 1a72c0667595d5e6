//! What isolates and the coordinator say to each other, as JSON: the ids an isolate missed in,
//! the coordinator's answers out (already rendered, as its own source keeps them, with their
//! age). Only validated integers travel toward the portal; the portal's text never travels.

use serde::{Deserialize, Serialize};

use crate::core::domain::caller::CallerKey;
use crate::core::domain::error::ApiError;
use crate::core::domain::id::{ProductId, RecordId};
use crate::core::domain::reads::Urgency;
use crate::core::publish::cached::Cached;
use crate::core::publish::render::RenderedRecord;
use crate::core::source::batcher::Demand;
use crate::core::source::upstream::{Aged, Fetched};

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
}

/// One answer per id asked, records first, in the order asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct Told {
    pub answers: Vec<WireAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireAnswer {
    /// A record's two published renderings.
    Record {
        v1: String,
        bitrix: String,
        #[serde(rename = "ageMs")]
        age_ms: u64,
    },
    /// A product's published stock.
    Product {
        body: String,
        #[serde(rename = "ageMs")]
        age_ms: u64,
    },
    /// No such record or product (or none the policy shows).
    Missing {
        #[serde(rename = "ageMs")]
        age_ms: u64,
    },
    Busy {
        #[serde(rename = "retryAfterSecs")]
        retry_after_secs: u64,
    },
    Failed,
    TimedOut,
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
                let age_ms = aged.age.as_millis() as u64;
                match &aged.value {
                    Cached::Record(record) => WireAnswer::Record {
                        v1: text(&record.v1),
                        bitrix: text(&record.bitrix),
                        age_ms,
                    },
                    Cached::Product(body) => WireAnswer::Product {
                        body: text(body),
                        age_ms,
                    },
                    Cached::Missing => WireAnswer::Missing { age_ms },
                }
            }
            Err(ApiError::UpstreamBusy { retry_after_secs }) => WireAnswer::Busy {
                retry_after_secs: *retry_after_secs,
            },
            Err(ApiError::UpstreamTimeout) => WireAnswer::TimedOut,
            Err(_) => WireAnswer::Failed,
        }
    }

    /// Read back; an answer of another kind than asked (`product`: whether a product was) is a
    /// failure.
    pub fn to_fetched(&self, product: bool) -> Fetched {
        let aged = |value: Cached, age_ms: u64| {
            Ok(Aged {
                value,
                age: std::time::Duration::from_millis(age_ms),
            })
        };
        match (self, product) {
            (WireAnswer::Record { v1, bitrix, age_ms }, false) => aged(
                Cached::Record(RenderedRecord {
                    v1: v1.clone().into(),
                    bitrix: bitrix.clone().into(),
                }),
                *age_ms,
            ),
            (WireAnswer::Product { body, age_ms }, true) => {
                aged(Cached::Product(body.clone().into()), *age_ms)
            }
            (WireAnswer::Missing { age_ms }, _) => aged(Cached::Missing, *age_ms),
            (WireAnswer::Busy { retry_after_secs }, _) => Err(ApiError::UpstreamBusy {
                retry_after_secs: (*retry_after_secs).clamp(1, 600),
            }),
            (WireAnswer::TimedOut, _) => Err(ApiError::UpstreamTimeout),
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
    use std::time::Duration;

    fn aged(value: Cached) -> Fetched {
        Ok(Aged {
            value,
            age: Duration::from_millis(1500),
        })
    }

    #[test]
    fn answers_round_trip() {
        let record = aged(Cached::Record(RenderedRecord {
            v1: r#"{"id":13,"amount":2.5}"#.into(),
            bitrix: r#"{"storeProduct":{"id":13}}"#.into(),
        }));
        let product = aged(Cached::Product(r#"{"productId":6973}"#.into()));
        let cases = [
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
        let record = WireAnswer::Record {
            v1: "{}".into(),
            bitrix: "{}".into(),
            age_ms: 0,
        };
        assert_eq!(record.to_fetched(true), Err(ApiError::UpstreamError));
        let product = WireAnswer::Product {
            body: "{}".into(),
            age_ms: 0,
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
