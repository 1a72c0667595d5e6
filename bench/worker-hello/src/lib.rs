//! Hello world: GET answers a small JSON object, POST echoes a JSON body back re-serialized.

use serde::Serialize;
use worker::{event, Context, Env, Method, Request, Response, Result};

#[derive(Serialize)]
struct Hello<'a> {
    hello: &'a str,
    path: String,
}

#[event(fetch)]
async fn fetch(mut req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    if req.method() == Method::Post {
        let value: serde_json::Value = match serde_json::from_slice(&req.bytes().await?) {
            Ok(value) => value,
            Err(_) => return Response::error("bad JSON", 400),
        };
        return Response::from_bytes(serde_json::to_vec(&value)?);
    }
    let body = serde_json::to_vec(&Hello {
        hello: "world",
        path: req.path(),
    })?;
    Response::from_bytes(body)
}
