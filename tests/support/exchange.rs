//! Requests to the contract target and what came back, shared by the contract suites.

use reqwest::header::HeaderMap;
use reqwest::Method;

use super::{client, contract_target, openapi};

pub const JSON: &str = "application/json; charset=utf-8";

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Every error is JSON, uncacheable (404 may be briefly cached), with our message.
    pub fn assert_v1_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.error_code(), code, "{}", self.body);
        assert_eq!(self.header("content-type"), Some(JSON));
        assert!(self.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        if status != 404 {
            assert_eq!(self.header("cache-control"), Some("no-store"));
        }
    }

    /// A Bitrix-shaped answer carries the portal's `time` object, from the gateway's clock.
    pub fn assert_bitrix_time(&self) {
        let time = &self.json()["time"];
        for field in ["start", "finish", "duration", "processing", "operating"] {
            assert!(time[field].is_number(), "time.{field} in {}", self.body);
        }
        for field in ["date_start", "date_finish"] {
            let date = time[field].as_str().unwrap_or_default();
            assert!(
                date.len() == 25 && date.ends_with("+00:00") && date.as_bytes()[10] == b'T',
                "time.{field} = {date:?}"
            );
        }
        assert!(time["operating_reset_at"].is_u64(), "{}", self.body);
    }
}

/// Most tests share the gateway; the ones that pause it or fail whole exchanges on purpose
/// (batched callers share an exchange's fate) run alone.
pub static GATEWAY_STATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub async fn send(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let _shared = GATEWAY_STATE.read().await;
    send_unlocked(method, path, headers, body).await
}

pub async fn send_unlocked(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let target = contract_target();
    let mut request = client().request(method.clone(), format!("{}{path}", target.base));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(body) = body {
        request = request.body(body.to_vec());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    // Every reply of the contract suites, on every runtime, is what the document says.
    openapi::check(&method, path, status, &headers, &body);
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(path: &str) -> Reply {
    send(Method::GET, path, &[], None).await
}

pub async fn post_json(path: &str, body: &str) -> Reply {
    send(
        Method::POST,
        path,
        &[("content-type", "application/json")],
        Some(body.as_bytes()),
    )
    .await
}

pub async fn post_form(path: &str, body: &str) -> Reply {
    send(
        Method::POST,
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
    .await
}
