//! What isolates and the coordinator say to each other: commands in, outcomes out, as JSON.
//! Only validated integers travel; the portal's text never does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::api::api_error::ApiError;
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Outcome, Read, Urgency};
use crate::core::portal::page::Page;
use crate::core::portal::record::StoreProduct;
use crate::core::stock::id::{ProductId, RecordId};

#[derive(Debug, Serialize, Deserialize)]
pub struct Ask {
    pub commands: Vec<WireCommand>,
    #[serde(default)]
    pub background: bool,
    /// Time left for the answer, in milliseconds.
    #[serde(rename = "deadlineMs")]
    pub deadline_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Told {
    pub outcomes: Vec<WireOutcome>,
    /// How old each answer is, in milliseconds (the coordinator may answer from its cache).
    #[serde(default, rename = "agesMs")]
    pub ages_ms: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireCommand {
    Record(u32),
    ProductPage { product: u32, start: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WireOutcome {
    /// The record, or `null` when there is none.
    Record(Option<Value>),
    Page {
        rows: Vec<Value>,
        total: Option<u32>,
        next: Option<u32>,
    },
    Busy {
        #[serde(rename = "retryAfterSecs")]
        retry_after_secs: u64,
    },
    Failed,
    TimedOut,
}

impl WireCommand {
    pub fn from_command(command: Command) -> Self {
        match command {
            Command::Record(id) => WireCommand::Record(id.get()),
            Command::ProductPage { product, start } => WireCommand::ProductPage {
                product: product.get(),
                start,
            },
        }
    }

    /// `None` for an id no caller could have sent (the coordinator re-validates everything).
    pub fn to_command(self) -> Option<Command> {
        Some(match self {
            WireCommand::Record(id) => Command::Record(RecordId::from_u64(id.into()).ok()?),
            WireCommand::ProductPage { product, start } => Command::ProductPage {
                product: ProductId::from_u64(product.into()).ok()?,
                start,
            },
        })
    }
}

impl WireOutcome {
    pub fn from_outcome(outcome: &Outcome) -> Self {
        match outcome {
            Ok(Read::Record(record)) => WireOutcome::Record(record.as_ref().map(record_json)),
            Ok(Read::Page(page)) => WireOutcome::Page {
                rows: page.rows.iter().map(record_json).collect(),
                total: page.total,
                next: page.next,
            },
            Err(ApiError::UpstreamBusy { retry_after_secs }) => WireOutcome::Busy {
                retry_after_secs: *retry_after_secs,
            },
            Err(ApiError::UpstreamTimeout) => WireOutcome::TimedOut,
            Err(_) => WireOutcome::Failed,
        }
    }

    /// Read back with the same bounds as the portal's own answers.
    pub fn to_outcome(&self, command: Command) -> Outcome {
        match (self, command) {
            (WireOutcome::Record(None), Command::Record(_)) => Ok(Read::Record(None)),
            (WireOutcome::Record(Some(value)), Command::Record(id)) => StoreProduct::read(value)
                .filter(|record| record.id == id)
                .map(|record| Read::Record(Some(record)))
                .ok_or(ApiError::UpstreamError),
            (WireOutcome::Page { rows, total, next }, Command::ProductPage { product, .. }) => rows
                .iter()
                .map(|row| StoreProduct::read(row).filter(|r| r.product_id == product))
                .collect::<Option<Vec<_>>>()
                .map(|rows| {
                    Read::Page(Page {
                        rows,
                        total: *total,
                        next: *next,
                    })
                })
                .ok_or(ApiError::UpstreamError),
            (WireOutcome::Busy { retry_after_secs }, _) => Err(ApiError::UpstreamBusy {
                retry_after_secs: (*retry_after_secs).clamp(1, 600),
            }),
            (WireOutcome::TimedOut, _) => Err(ApiError::UpstreamTimeout),
            _ => Err(ApiError::UpstreamError),
        }
    }
}

fn record_json(record: &StoreProduct) -> Value {
    serde_json::json!({
        "id": record.id.get(),
        "productId": record.product_id.get(),
        "storeId": record.store_id,
        "amount": record.amount,
        "quantityReserved": record.quantity_reserved,
    })
}

impl Ask {
    pub fn new(commands: &[Command], urgency: Urgency, deadline_ms: u64) -> Self {
        Self {
            commands: commands
                .iter()
                .map(|c| WireCommand::from_command(*c))
                .collect(),
            background: urgency == Urgency::Background,
            deadline_ms,
        }
    }

    pub fn urgency(&self) -> Urgency {
        if self.background {
            Urgency::Background
        } else {
            Urgency::Caller
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        let id = RecordId::from_u64(13).unwrap();
        let product = ProductId::from_u64(6973).unwrap();
        let record = StoreProduct {
            id,
            product_id: product,
            store_id: 11,
            amount: 2.5,
            quantity_reserved: Some(0.5),
        };
        let cases: Vec<(Command, Outcome)> = vec![
            (Command::Record(id), Ok(Read::Record(Some(record.clone())))),
            (Command::Record(id), Ok(Read::Record(None))),
            (
                Command::ProductPage { product, start: 0 },
                Ok(Read::Page(Page {
                    rows: vec![record],
                    total: Some(1),
                    next: None,
                })),
            ),
            (
                Command::Record(id),
                Err(ApiError::UpstreamBusy {
                    retry_after_secs: 7,
                }),
            ),
            (Command::Record(id), Err(ApiError::UpstreamTimeout)),
            (Command::Record(id), Err(ApiError::UpstreamError)),
        ];
        for (command, outcome) in cases {
            let wire = WireOutcome::from_outcome(&outcome);
            let text = serde_json::to_string(&wire).unwrap();
            let back: WireOutcome = serde_json::from_str(&text).unwrap();
            assert_eq!(back.to_outcome(command), outcome, "{text}");
        }
    }

    #[test]
    fn nothing_out_of_bounds_or_mismatched_passes() {
        let id = RecordId::from_u64(13).unwrap();
        let other = WireOutcome::Record(Some(
            serde_json::json!({"id":14,"productId":1,"storeId":1,"amount":1}),
        ));
        assert_eq!(
            other.to_outcome(Command::Record(id)),
            Err(ApiError::UpstreamError)
        );
        let absurd = WireOutcome::Record(Some(
            serde_json::json!({"id":13,"productId":1,"storeId":1,"amount":1e300}),
        ));
        assert_eq!(
            absurd.to_outcome(Command::Record(id)),
            Err(ApiError::UpstreamError)
        );
        assert_eq!(WireCommand::Record(0).to_command(), None);
    }
}
