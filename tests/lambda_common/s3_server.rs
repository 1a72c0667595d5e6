//! The S3-speaking server of the mirror tests (moto's server mode, started by
//! `scripts/test-lambda.sh`, which names it in `MIRROR_S3_ENDPOINT`), and fresh buckets on it.

use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::support;

pub fn endpoint() -> Option<String> {
    match std::env::var("MIRROR_S3_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) if std::env::var_os("LAMBDA_E2E_REQUIRED").is_some() => {
            panic!("LAMBDA_E2E_REQUIRED: MIRROR_S3_ENDPOINT must name the S3 server")
        }
        Err(_) => {
            eprintln!("skipped: MIRROR_S3_ENDPOINT is set by scripts/test-lambda.sh");
            None
        }
    }
}

/// A fresh bucket on the server.
pub async fn bucket(endpoint: &str) -> String {
    let name = format!("mirror-{}-{}", std::process::id(), support::free_port());
    let bucket = Bucket::new(
        endpoint.parse().unwrap(),
        UrlStyle::Path,
        name.clone(),
        "us-east-1",
    )
    .expect("bucket");
    let credentials = Credentials::new("test", "test");
    let url = bucket
        .create_bucket(&credentials)
        .sign(Duration::from_secs(60));
    let reply = support::client()
        .put(url)
        .header("content-length", "0")
        .send()
        .await
        .expect("create bucket");
    assert!(
        reply.status().is_success(),
        "create bucket: {}",
        reply.status()
    );
    name
}
