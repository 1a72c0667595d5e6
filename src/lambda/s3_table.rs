//! The mirror's table as one S3 object: the sweeper function puts it after every sweep, and
//! every execution environment gets it conditionally (`If-None-Match` with the ETag it holds),
//! at most every few seconds. Requests are signed with `rusty-s3` (signing only) and sent with
//! reqwest; the credentials are the function's own (`AWS_ACCESS_KEY_ID`, …, as Lambda sets
//! them).

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::core::config::ConfigError;
use crate::core::ports::TableStore;

pub const BUCKET_VAR: &str = "STOCK_MIRROR_BUCKET";
pub const KEY_VAR: &str = "STOCK_MIRROR_KEY";
/// A path-style endpoint instead of AWS's (an S3-speaking server of one's own; the tests').
pub const ENDPOINT_VAR: &str = "STOCK_MIRROR_S3_ENDPOINT";

/// How long a signed request stays valid: it is sent at once.
const SIGNED_FOR: Duration = Duration::from_secs(60);
/// One exchange with S3 at most this long.
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct S3Table {
    bucket: Bucket,
    key: String,
    credentials: Credentials,
    http: reqwest::Client,
}

impl std::fmt::Debug for S3Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials stay out of every log line.
        f.debug_struct("S3Table").field("key", &self.key).finish()
    }
}

impl S3Table {
    /// From `STOCK_MIRROR_BUCKET` (required), `STOCK_MIRROR_KEY` (default `stock-table.bin`),
    /// `STOCK_MIRROR_S3_ENDPOINT` (default AWS's in `AWS_REGION`), and the function's
    /// credentials.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let name = get(BUCKET_VAR).ok_or_else(|| ConfigError {
            variable: BUCKET_VAR,
            reason: "is required when STOCK_SOURCE is mirror".into(),
        })?;
        let key = get(KEY_VAR).unwrap_or_else(|| "stock-table.bin".into());
        let region = get("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
        let (endpoint, style) = match get(ENDPOINT_VAR) {
            Some(endpoint) => (endpoint, UrlStyle::Path),
            None => (
                format!("https://s3.{region}.amazonaws.com"),
                UrlStyle::VirtualHost,
            ),
        };
        let endpoint = endpoint.parse().map_err(|_| ConfigError {
            variable: ENDPOINT_VAR,
            reason: "must be a URL like http://127.0.0.1:5000".into(),
        })?;
        let bucket = Bucket::new(endpoint, style, name, region).map_err(|_| ConfigError {
            variable: BUCKET_VAR,
            reason: "must name a bucket the endpoint can address".into(),
        })?;
        let credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => match get("AWS_SESSION_TOKEN") {
                Some(token) => Credentials::new_with_token(key, secret, token),
                None => Credentials::new(key, secret),
            },
            _ => {
                return Err(ConfigError {
                    variable: "AWS_ACCESS_KEY_ID",
                    reason: "and AWS_SECRET_ACCESS_KEY are required to reach the mirror's bucket"
                        .into(),
                })
            }
        };
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| ConfigError {
                variable: BUCKET_VAR,
                reason: "no HTTP client could be built".into(),
            })?;
        Ok(Self {
            bucket,
            key,
            credentials,
            http,
        })
    }
}

impl TableStore for S3Table {
    async fn load(&self, known: Option<&str>) -> Result<Option<(Bytes, String)>, ()> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), &self.key)
            .sign(SIGNED_FOR);
        let mut request = self.http.get(url);
        if let Some(etag) = known {
            request = request.header(IF_NONE_MATCH, etag);
        }
        // No error text: it would hold the signed URL.
        let reply = request.send().await.map_err(|_| ())?;
        match reply.status() {
            StatusCode::NOT_MODIFIED | StatusCode::NOT_FOUND => Ok(None),
            StatusCode::OK => {
                let etag = reply
                    .headers()
                    .get(ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .ok_or(())?;
                let table = reply.bytes().await.map_err(|_| ())?;
                Ok(Some((table, etag)))
            }
            _ => Err(()),
        }
    }

    async fn save(&self, table: Bytes) -> Result<(), ()> {
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &self.key)
            .sign(SIGNED_FOR);
        let reply = self
            .http
            .put(url)
            .body(table)
            .send()
            .await
            .map_err(|_| ())?;
        reply.status().is_success().then_some(()).ok_or(())
    }
}
