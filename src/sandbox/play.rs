//! Playing a fault instead of answering normally: as one call's outcome, and, for the faults
//! that break the exchange, over the whole HTTP answer (a direct call's or a batch's).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use serde_json::{json, Value};

use super::data;
use super::faults::Fault;
use super::methods::{Failure, Outcome};
use super::state::unix_now;
use super::wire::{json_body, json_bytes};
use super::ConnectionKill;

/// A played operating-time block is short, so tests can watch a gateway pause and resume.
const PLAYED_BLOCK: Duration = Duration::from_secs(2);
const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600 + 2 * 24 * 3600);

/// What `fault` makes of a `get` for `id`. An exchange-breaking fault answers the good record
/// here; `exchange` then spoils the answer it ends up in.
pub fn outcome(fault: Fault, id: u32) -> Outcome {
    if let Some((status, code, description)) = fault.bitrix_error() {
        return Outcome::Failed(Failure {
            status,
            code,
            description,
            reset_at: reset_at(fault),
        });
    }
    let mut record = data::record(13).map(|r| r.to_json()).unwrap_or_default();
    record["id"] = json!(id);
    match fault {
        Fault::WrongShape => record["amount"] = json!("plenty"),
        Fault::WrongRecord => record["id"] = json!(id.saturating_add(1)),
        Fault::NegativeReserved => {
            record["amount"] = json!(5.0);
            record["quantityReserved"] = json!(-3.0);
        }
        Fault::HugeAmount => record["amount"] = json!(1e305),
        Fault::StringNumbers => {
            record = json!({
                "amount": "7.5",
                "id": id.to_string(),
                "productId": "6973",
                "quantityReserved": "2.5",
                "storeId": "11",
            });
        }
        _ => {}
    }
    Outcome::done(json!({"storeProduct": record}))
}

/// The `operating_reset_at` an operating-time fault announces.
fn reset_at(fault: Fault) -> Option<Value> {
    let soon = unix_now() + PLAYED_BLOCK;
    match fault {
        Fault::OperationTimeLimit => Some(json!(soon.as_secs())),
        Fault::FarFutureReset => Some(json!((unix_now() + TEN_YEARS).as_secs())),
        Fault::MillisReset => Some(json!(u64::try_from(soon.as_millis()).unwrap_or(u64::MAX))),
        _ => None,
    }
}

/// Plays an exchange-breaking fault over an answer whose body would have been `good`.
pub async fn exchange(fault: Fault, good: Vec<u8>, kill: ConnectionKill) -> Response {
    match fault {
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            json_bytes(200, good)
        }
        Fault::Trickle => {
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let byte = good.get(i).copied();
                async move {
                    let byte = byte?;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((Ok::<_, std::io::Error>(Bytes::from(vec![byte])), i + 1))
                }
            });
            json_body(200, Body::from_stream(stream))
        }
        Fault::HtmlError => Response::builder()
            .status(502)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ))
            .unwrap_or_default(),
        Fault::BrokenJson => json_body(200, Body::from("{\"result\": {\"storeProduct\": oops")),
        Fault::Truncated => {
            let full_len = good.len();
            let half = Bytes::copy_from_slice(&good[..full_len / 2]);
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("cut"))];
            Response::builder()
                .status(200)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, full_len)
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap_or_default()
        }
        Fault::Reset => {
            kill.0.notify_one();
            std::future::pending::<Response>().await
        }
        Fault::DroppedConnection => {
            static PLAYED: AtomicU64 = AtomicU64::new(0);
            if PLAYED.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                kill.0.notify_one();
                std::future::pending::<Response>().await
            } else {
                json_bytes(200, good)
            }
        }
        Fault::Redirect => Response::builder()
            .status(302)
            .header(
                header::LOCATION,
                "https://moved-portal.example/rest/1/x/catalog.storeproduct.get",
            )
            .body(Body::empty())
            .unwrap_or_default(),
        Fault::Huge => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let chunks = (0..32).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
            json_body(200, Body::from_stream(futures_util::stream::iter(chunks)))
        }
        Fault::EmptyBody200 => json_body(200, Body::empty()),
        _ => json_bytes(200, good),
    }
}
