//! Playing a fault instead of answering normally.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use serde_json::{json, Value};

use super::data;
use super::faults::Fault;
use super::state::unix_now;
use super::wire::{error, json_body, ok};
use super::ConnectionKill;

pub async fn play(fault: Fault, id: u32, kill: ConnectionKill, mut time: Value) -> Response {
    if fault == Fault::OperationTimeLimit {
        // A played block is short, so tests can watch the gateway pause and resume.
        time["operating_reset_at"] = json!(unix_now().as_secs() + 2);
    }
    if let Some((status, code, description)) = fault.bitrix_error() {
        return error(status, code, description, Some(time));
    }
    let record = data::record(13).map(|r| r.to_json()).unwrap_or_default();
    let mut good = json!({"result": {"storeProduct": record}, "time": time});
    good["result"]["storeProduct"]["id"] = json!(id);
    let good_bytes = serde_json::to_vec(&good).unwrap_or_default();
    match fault {
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            ok(good)
        }
        Fault::Trickle => {
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = good_bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((
                        Ok::<_, std::io::Error>(Bytes::copy_from_slice(&bytes[i..=i])),
                        i + 1,
                    ))
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
            let half = Bytes::copy_from_slice(&good_bytes[..good_bytes.len() / 2]);
            let full_len = good_bytes.len();
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
        Fault::WrongShape => {
            good["result"]["storeProduct"]["amount"] = json!("plenty");
            ok(good)
        }
        Fault::WrongRecord => {
            good["result"]["storeProduct"]["id"] = json!(id + 1);
            ok(good)
        }
        _ => ok(good),
    }
}
