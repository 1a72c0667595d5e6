//! The webhook from AWS Secrets Manager, read at run time through the AWS Parameters and Secrets
//! Lambda Extension's local HTTP endpoint:
//! `GET http://localhost:2773/secretsmanager/get?secretId=<ARN>` with the header
//! `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`; the answer is JSON with `SecretString`.
//!
//! The secret's value is the webhook URL itself, or a JSON object `{"B24_WEBHOOK_URL": "..."}`.
//! Nothing here prints the value: problems name what went wrong, never what was read.
//!
//! The request carries the function's session token, so it only ever goes to a loopback
//! address, and the answer is read in chunks and dropped once it passes [`MAX_ANSWER_BYTES`].

use std::net::{IpAddr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::core::config::ConfigError;
use crate::core::domain::webhook::{WebhookUrl, WebhookUrlError};

/// Names the Secrets Manager secret (ARN or name) that holds the webhook.
pub const SECRET_ARN_VAR: &str = "B24_WEBHOOK_SECRET_ARN";
/// The extension's own setting for its port (default 2773); we follow it.
pub const EXTENSION_PORT_VAR: &str = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT";
/// Host of the extension's endpoint (default `localhost`); for local stand-ins. Loopback only.
pub const EXTENSION_HOST_VAR: &str = "B24_SECRETS_EXTENSION_HOST";
/// The key read when the secret's value is a JSON object.
pub const JSON_KEY: &str = "B24_WEBHOOK_URL";

const DEFAULT_PORT: u16 = 2773;
const TOKEN_HEADER: &str = "X-Aws-Parameters-Secrets-Token";
/// Secrets Manager values are at most 64 KiB; the extension's JSON adds a little.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Why the secret could not be read. Never carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    #[error("the Parameters and Secrets extension is not reachable (is its layer attached?)")]
    Unreachable,
    #[error("the Parameters and Secrets extension did not answer in time")]
    Timeout,
    #[error("the Parameters and Secrets extension answered HTTP {0} (no such secret, no secretsmanager:GetSecretValue permission, or a bad session token)")]
    Refused(u16),
    #[error(
        "the extension's answer is not JSON with a SecretString (binary secrets are not supported)"
    )]
    BadAnswer,
    #[error("the extension's answer is larger than 256 KiB; it was not read further")]
    TooLarge,
    #[error("the secret's value is JSON without a string field B24_WEBHOOK_URL")]
    NoUrlField,
    #[error("the webhook in the secret {0}")]
    BadWebhook(WebhookUrlError),
}

/// Reads one secret through the extension. Cheap to create: the HTTP client is built on the
/// first read, so nothing of this runs at init.
pub struct SecretsExtension {
    secret_id: String,
    url: String,
    token: Option<SecretString>,
    client: OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for SecretsExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsExtension")
            .field("secret_id", &self.secret_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SecretsExtension {
    /// `secret_id` is the ARN (or name); `token` is `AWS_SESSION_TOKEN`.
    pub fn new(secret_id: &str, host: &str, port: u16, token: Option<String>) -> Self {
        let encoded: String = form_urlencoded::byte_serialize(secret_id.as_bytes()).collect();
        // An IPv6 literal goes in brackets in a URL.
        let host = match host.parse::<Ipv6Addr>() {
            Ok(v6) => format!("[{v6}]"),
            Err(_) => host.to_string(),
        };
        Self {
            secret_id: secret_id.to_string(),
            url: format!("http://{host}:{port}/secretsmanager/get?secretId={encoded}"),
            token: token.map(SecretString::from),
            client: OnceLock::new(),
        }
    }

    /// From the environment: the extension's port variable, our host override, the session
    /// token the Lambda service sets.
    pub fn from_lookup(
        secret_id: &str,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let port = match get(EXTENSION_PORT_VAR) {
            None => DEFAULT_PORT,
            Some(v) => v
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| ConfigError {
                    variable: EXTENSION_PORT_VAR,
                    reason: "must be a port number".into(),
                })?,
        };
        let host = get(EXTENSION_HOST_VAR).unwrap_or_else(|| "localhost".into());
        let host = host.trim();
        if !is_loopback_host(host) {
            return Err(ConfigError {
                variable: EXTENSION_HOST_VAR,
                reason: "must be a loopback host (localhost, 127.x.x.x or ::1): the request \
                         carries the function's session token"
                    .into(),
            });
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Self::new(
            secret_id.trim(),
            host,
            port,
            get("AWS_SESSION_TOKEN"),
        ))
    }

    /// The secret's id, for logs (an ARN is not a secret).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("the HTTP client could not start")
        })
    }

    /// One read, all within `deadline`.
    pub async fn read(&self, deadline: Duration) -> Result<WebhookUrl, SecretProblem> {
        let exchange = async {
            let mut request = self.client().get(&self.url).timeout(deadline);
            if let Some(token) = &self.token {
                request = request.header(TOKEN_HEADER, token.expose_secret());
            }
            let response = request.send().await.map_err(problem_of)?;
            let status = response.status().as_u16();
            if status != 200 {
                return Err(SecretProblem::Refused(status));
            }
            let body = read_capped(response).await?;
            webhook_from_answer(&body)
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or(Err(SecretProblem::Timeout))
    }
}

/// The answer's body, chunk by chunk, refused as soon as it passes [`MAX_ANSWER_BYTES`] (a
/// declared length says so before anything is read).
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, SecretProblem> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
    {
        return Err(SecretProblem::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(problem_of)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SecretProblem::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `localhost`, or an IPv4 or IPv6 loopback address (IPv6 with or without brackets).
fn is_loopback_host(host: &str) -> bool {
    let loopback_address = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
        None => host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
    };
    host.eq_ignore_ascii_case("localhost") || loopback_address
}

fn problem_of(error: reqwest::Error) -> SecretProblem {
    if error.is_timeout() {
        SecretProblem::Timeout
    } else {
        SecretProblem::Unreachable
    }
}

/// The extension's JSON (`GetSecretValue`'s answer) -> the webhook.
pub fn webhook_from_answer(body: &[u8]) -> Result<WebhookUrl, SecretProblem> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|_| SecretProblem::BadAnswer)?;
    let value = SecretString::from(answer.secret_string.ok_or(SecretProblem::BadAnswer)?);
    webhook_from_secret_value(value.expose_secret())
}

/// The secret's value: the webhook URL, or `{"B24_WEBHOOK_URL": "..."}`.
pub fn webhook_from_secret_value(value: &str) -> Result<WebhookUrl, SecretProblem> {
    let value = value.trim();
    if value.starts_with('{') {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(rename = "B24_WEBHOOK_URL")]
            webhook: Option<String>,
        }
        let fields: Fields = serde_json::from_str(value).map_err(|_| SecretProblem::NoUrlField)?;
        let webhook = SecretString::from(fields.webhook.ok_or(SecretProblem::NoUrlField)?);
        return WebhookUrl::parse(webhook.expose_secret()).map_err(SecretProblem::BadWebhook);
    }
    WebhookUrl::parse(value).map_err(SecretProblem::BadWebhook)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const HOOK: &str = "https://portal.example/rest/1/abcdefgh12345678/";

    /// An extension stand-in on loopback that reads one request, hands its head to `seen`, and
    /// answers `answer` (nothing at all for `None`, holding the connection open).
    async fn extension(
        answer: Option<&'static str>,
    ) -> (u16, tokio::sync::oneshot::Receiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (seen, head) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = vec![0u8; 4096];
            let read = stream.read(&mut buffer).await.unwrap_or(0);
            let _ = seen.send(String::from_utf8_lossy(&buffer[..read]).into_owned());
            match answer {
                Some(answer) => {
                    let _ = stream.write_all(answer.as_bytes()).await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                None => tokio::time::sleep(Duration::from_secs(30)).await,
            }
        });
        (port, head)
    }

    #[tokio::test]
    async fn an_extension_that_never_answers_is_a_timeout_within_the_deadline() {
        let (port, _) = extension(None).await;
        let reader = SecretsExtension::new("arn:x", "127.0.0.1", port, Some("t".into()));
        let started = std::time::Instant::now();
        let result = reader.read(Duration::from_millis(300)).await;
        assert!(matches!(result, Err(SecretProblem::Timeout)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_declared_length_past_the_cap_is_refused_before_the_body() {
        // Only the head arrives: were the body waited for, this would be a timeout.
        let (port, _) =
            extension(Some("HTTP/1.1 200 OK\r\ncontent-length: 10000000\r\n\r\n")).await;
        let reader = SecretsExtension::new("arn:x", "127.0.0.1", port, Some("t".into()));
        let result = reader.read(Duration::from_secs(3)).await;
        assert!(matches!(result, Err(SecretProblem::TooLarge)), "{result:?}");
    }

    #[tokio::test]
    async fn without_a_session_token_no_token_header_is_sent_and_a_refusal_is_named() {
        let (port, head) = extension(Some(
            "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n",
        ))
        .await;
        let lookup = |name: &str| (name == EXTENSION_PORT_VAR).then(|| port.to_string());
        let reader = SecretsExtension::from_lookup("arn:x", &lookup).expect("configured");
        let result = reader.read(Duration::from_secs(3)).await;
        assert!(
            matches!(result, Err(SecretProblem::Refused(401))),
            "{result:?}"
        );
        let head = head.await.unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("get /secretsmanager/get?secretid=arn%3ax"),
            "{head}"
        );
        assert!(!head.contains("x-aws-parameters-secrets-token"), "{head}");
    }

    #[test]
    fn an_invalid_extension_port_is_refused_naming_it() {
        for bad in ["0", "65536", "http", "-1", "2773x"] {
            let lookup = |name: &str| (name == EXTENSION_PORT_VAR).then(|| bad.to_string());
            let error = SecretsExtension::from_lookup("arn:x", &lookup).unwrap_err();
            assert_eq!(error.variable, EXTENSION_PORT_VAR, "{bad}");
        }
    }

    #[test]
    fn reads_a_plain_url_or_a_json_object() {
        assert!(webhook_from_secret_value(HOOK).is_ok());
        assert!(webhook_from_secret_value(&format!(" {HOOK}\n")).is_ok());
        assert!(webhook_from_secret_value(&format!(r#"{{"B24_WEBHOOK_URL":"{HOOK}"}}"#)).is_ok());
        assert_eq!(
            webhook_from_secret_value(r#"{"url":"x"}"#).err(),
            Some(SecretProblem::NoUrlField)
        );
        assert_eq!(
            webhook_from_secret_value(r#"{"B24_WEBHOOK_URL":1}"#).err(),
            Some(SecretProblem::NoUrlField)
        );
        assert!(matches!(
            webhook_from_secret_value("http://portal.example/rest/1/abcdefgh12345678/"),
            Err(SecretProblem::BadWebhook(_))
        ));
    }

    #[test]
    fn reads_the_extension_answer() {
        let answer =
            format!(r#"{{"ARN":"arn:x","Name":"n","SecretString":"{HOOK}","VersionId":"v"}}"#);
        assert!(webhook_from_answer(answer.as_bytes()).is_ok());
        assert_eq!(
            webhook_from_answer(br#"{"ARN":"arn:x","SecretBinary":"AAEC"}"#).err(),
            Some(SecretProblem::BadAnswer)
        );
        assert_eq!(
            webhook_from_answer(b"<html>").err(),
            Some(SecretProblem::BadAnswer)
        );
    }

    #[test]
    fn problems_never_show_the_value() {
        let secret = "https://portal.example/rest/1/abcdefgh12345678/?x=1";
        let problem = webhook_from_secret_value(secret).unwrap_err();
        assert!(!problem.to_string().contains("abcdefgh12345678"));
        let debug = format!(
            "{:?}",
            SecretsExtension::new("arn:s", "localhost", 2773, Some("tok3n".into()))
        );
        assert!(!debug.contains("tok3n"));
    }

    #[test]
    fn only_loopback_hosts_may_receive_the_session_token() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "169.254.169.254",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "example.com",
            "localhost.example.com",
            "127.0.0.1.nip.io",
            "[127.0.0.1]",
            "localhost:80",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        let lookup = |host: &'static str| {
            move |name: &str| (name == EXTENSION_HOST_VAR).then(|| host.to_string())
        };
        let refused = SecretsExtension::from_lookup("arn:s", &lookup("10.1.1.1")).unwrap_err();
        assert_eq!(refused.variable, EXTENSION_HOST_VAR);
        let v6 = SecretsExtension::from_lookup("arn:s", &lookup("::1")).unwrap();
        assert!(v6.url.starts_with("http://[::1]:2773/"), "{}", v6.url);
        let default = SecretsExtension::from_lookup("arn:s", &|_: &str| None).unwrap();
        assert!(default.url.starts_with("http://localhost:2773/"));
    }

    #[test]
    fn encodes_the_secret_id_in_the_query() {
        let reader = SecretsExtension::new(
            "arn:aws:secretsmanager:us-east-1:1:secret:b24/webhook-AbC",
            "localhost",
            2773,
            None,
        );
        assert_eq!(
            reader.url,
            "http://localhost:2773/secretsmanager/get?secretId=arn%3Aaws%3Asecretsmanager%3Aus-east-1%3A1%3Asecret%3Ab24%2Fwebhook-AbC"
        );
    }
}
