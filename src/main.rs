//! `b24-stock-gateway serve [--listen ADDR] [--demo]` and `b24-stock-gateway sandbox`.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;
use b24_stock_gateway::core::config::{webhook_from, ConfigError, Settings, WEBHOOK_VAR};
use b24_stock_gateway::core::domain::webhook::WebhookUrl;
use b24_stock_gateway::core::gateway::Gateway;
use b24_stock_gateway::native::clock::SystemClock;
use b24_stock_gateway::native::logging::{self, LogFormat, LogSettings};
use b24_stock_gateway::native::portal_http::WebhookPortal;
use b24_stock_gateway::native::shared::{SharedLink, SharedState};
use b24_stock_gateway::native::{entropy, environment, memory};
use b24_stock_gateway::sandbox::{self, SandboxConfig};
use b24_stock_gateway::server::reload::{Reading, Reloader};
use b24_stock_gateway::server::{local_source, spawn_sweeps, Served, ServerSettings};
use clap::{Parser, Subcommand};

// The allocator, when a feature asks for another than the system's: bench/soak.sh compares them
// by memory over time and throughput (docs/benchmarks.md, "Soak").
#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Public stock levels from a Bitrix24 portal, without the webhook"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the public API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// Start the embedded sandbox portal and use it instead of B24_WEBHOOK_URL, and
        /// answer the demo page at / (STOCK_DEMO_PAGE=on).
        #[arg(long)]
        demo: bool,
        /// Log as JSON lines (also STOCK_LOG_FORMAT=json).
        #[arg(long)]
        json_logs: bool,
        /// Serve Prometheus metrics at /metrics on this separate address (off by default; keep
        /// it private).
        #[arg(long, env = "STOCK_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Read settings and B24_WEBHOOK_URL from this file of NAME=VALUE lines (over the
        /// environment), and read it again on SIGHUP to rotate the webhook without a restart.
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Exit when standard input closes (lets a test harness own the process).
        #[arg(long, hide = true)]
        exit_with_stdin: bool,
    },
    /// Run only the sandbox portal (for tests and adapters under development).
    Sandbox {
        #[arg(long, default_value = "127.0.0.1:8788")]
        listen: SocketAddr,
        /// The webhook code the sandbox accepts (user 1).
        #[arg(long, env = "SANDBOX_WEBHOOK_CODE", hide_env_values = true)]
        code: Option<String>,
        /// Leaky bucket: drain per second and threshold (portal defaults 2 and 50).
        #[arg(long, default_value_t = 2.0)]
        drain_per_sec: f64,
        #[arg(long, default_value_t = 50.0)]
        burst: f64,
        /// Generated stock records on top of the fixed ones (a large catalogue: ids from 3001
        /// with gaps, three warehouses per product).
        #[arg(long, default_value_t = 0)]
        records: u32,
        #[arg(long, hide = true)]
        exit_with_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            demo,
            json_logs,
            metrics_listen,
            env_file,
            exit_with_stdin,
        } => {
            if exit_with_stdin {
                exit_when_stdin_closes();
            }
            let file = match env_file.as_deref().map(environment::read_env_file) {
                None => BTreeMap::new(),
                Some(Ok(file)) => file,
                Some(Err(error)) => return fail(&error.to_string()),
            };
            let metrics_listen = match metrics_listen {
                Some(at) => Some(at),
                None => match file.get("STOCK_METRICS_LISTEN").map(|v| v.parse()) {
                    None => None,
                    Some(Ok(at)) => Some(at),
                    Some(Err(_)) => {
                        return fail(
                            "STOCK_METRICS_LISTEN must be an address such as 127.0.0.1:9187",
                        )
                    }
                },
            };
            let default_format = if json_logs {
                LogFormat::Json
            } else {
                LogFormat::Pretty
            };
            // Every setting is read and checked before a socket is bound or a line logged.
            let config = match read_config(env_file.as_deref(), default_format, demo) {
                Ok(config) => config,
                Err(error) => return fail(&error.to_string()),
            };
            let reread = move || {
                read_config(env_file.as_deref(), default_format, demo)
                    .map(ServeConfig::into_reading)
            };
            let running = config.bound_at_start();
            let ServeConfig {
                log,
                settings,
                server,
                webhook,
                shared,
            } = config;
            logging::init(log);
            let reload = (reread, running);
            let config = (settings, server, webhook, shared);
            serve(listen, metrics_listen, config, reload).await
        }
        Command::Sandbox {
            listen,
            code,
            drain_per_sec,
            burst,
            records,
            exit_with_stdin,
        } => {
            if exit_with_stdin {
                exit_when_stdin_closes();
            }
            match LogSettings::from_lookup(env, LogFormat::Pretty) {
                Ok(log) => logging::init(log),
                Err(error) => return fail(&error.to_string()),
            }
            let config = SandboxConfig {
                code: code.unwrap_or_else(random_code),
                drain_per_sec,
                burst,
                catalogue: records,
                ..SandboxConfig::default()
            };
            match sandbox::spawn(listen, config).await {
                Ok(sandbox) => {
                    tracing::info!(address = %sandbox.addr, "sandbox portal listening");
                    // A test portal's code, printed so a random one can be used at all.
                    println!("webhook: {}", sandbox.webhook_url());
                    let _ = tokio::signal::ctrl_c().await;
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&format!("cannot listen on {listen}: {error}")),
            }
        }
    }
}

/// Everything `serve` needs from the environment, read and validated in one go.
struct ServeConfig {
    log: LogSettings,
    settings: Settings,
    server: ServerSettings,
    /// `None` in demo mode: the embedded sandbox's webhook is used.
    webhook: Option<WebhookUrl>,
    /// The store replicas share (`STOCK_SHARED_STATE`), read at start.
    shared: SharedLink,
}

impl ServeConfig {
    fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        read: impl Fn(&Path) -> std::io::Result<Option<String>>,
        default_format: LogFormat,
        demo: bool,
    ) -> Result<Self, ConfigError> {
        let mut settings = Settings::from_lookup(&lookup)?;
        settings.demo_page |= demo;
        Ok(Self {
            log: LogSettings::from_lookup(&lookup, default_format)?,
            settings,
            server: ServerSettings::from_lookup(&lookup)?,
            shared: SharedLink::from_lookup(&lookup)?,
            webhook: if demo {
                None
            } else {
                Some(webhook(&lookup, read)?)
            },
        })
    }
}

impl ServeConfig {
    /// What a reload compares and takes.
    fn into_reading(self) -> Reading {
        Reading {
            bound_at_start: self.bound_at_start(),
            settings: self.settings,
            webhook: self.webhook,
        }
    }

    /// The server's own settings, which a reload cannot change.
    fn bound_at_start(&self) -> String {
        format!("{:?} {:?}", self.server, self.log)
    }
}

/// The configuration as `serve` reads it: `--env-file` (if any) over the environment, and the
/// webhook from `$CREDENTIALS_DIRECTORY` or `B24_WEBHOOK_URL`; every `STOCK_*` name checked.
fn read_config(
    env_file: Option<&Path>,
    default_format: LogFormat,
    demo: bool,
) -> Result<ServeConfig, ConfigError> {
    let file = match env_file {
        None => BTreeMap::new(),
        Some(path) => environment::read_env_file(path)?,
    };
    environment::refuse_unknown_variables(&file)?;
    let lookup = |name: &str| file.get(name).cloned().or_else(|| env(name));
    let lookup = environment::with_stores_file(lookup)?;
    ServeConfig::from_lookup(lookup, read_credential, default_format, demo)
}

/// The credential name for systemd's `LoadCredential=b24_webhook_url:PATH`, read from
/// `$CREDENTIALS_DIRECTORY` (any folder of secret files works, e.g. `/run/secrets`). Unlike the
/// environment, the file is not inherited, not in `/proc/PID/environ`, and only the service reads it.
const WEBHOOK_CREDENTIAL: &str = "b24_webhook_url";
const WEBHOOK_CREDENTIAL_LABEL: &str = "credential b24_webhook_url";
/// A webhook URL is ~80 bytes; anything much longer is the wrong file.
const MAX_CREDENTIAL_BYTES: u64 = 4096;

/// The webhook from `$CREDENTIALS_DIRECTORY/b24_webhook_url` when that file exists, otherwise from
/// `B24_WEBHOOK_URL`. Both at once is refused: after a rotation one of them would be stale.
fn webhook(
    lookup: &impl Fn(&str) -> Option<String>,
    read: impl Fn(&Path) -> std::io::Result<Option<String>>,
) -> Result<WebhookUrl, ConfigError> {
    let from_env = lookup(WEBHOOK_VAR);
    let credential = match lookup("CREDENTIALS_DIRECTORY").filter(|d| !d.trim().is_empty()) {
        None => None,
        Some(dir) => read(&Path::new(&dir).join(WEBHOOK_CREDENTIAL)).map_err(|error| {
            ConfigError {
                variable: WEBHOOK_CREDENTIAL_LABEL,
                // An I/O error's text has no path and no content.
                reason: format!("cannot be read: {error}"),
            }
        })?,
    };
    match credential {
        None => webhook_from(WEBHOOK_VAR, from_env.as_deref()),
        Some(_) if from_env.is_some_and(|v| !v.trim().is_empty()) => Err(ConfigError {
            variable: WEBHOOK_VAR,
            reason: format!("is set and so is the {WEBHOOK_CREDENTIAL_LABEL}: keep only one"),
        }),
        Some(text) => webhook_from(WEBHOOK_CREDENTIAL_LABEL, Some(&text)),
    }
}

/// The file's text, `None` when there is no such file.
fn read_credential(path: &Path) -> std::io::Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut text = String::new();
    file.take(MAX_CREDENTIAL_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CREDENTIAL_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("longer than {MAX_CREDENTIAL_BYTES} bytes"),
        ));
    }
    Ok(Some(text))
}

async fn serve(
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    (settings, server, webhook, link): (Settings, ServerSettings, Option<WebhookUrl>, SharedLink),
    (reread, bound_at_start): (
        impl Fn() -> Result<Reading, ConfigError> + Send + 'static,
        String,
    ),
) -> ExitCode {
    let demo = webhook.is_none();
    let webhook = match webhook {
        Some(webhook) => webhook,
        None => {
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            let sandbox = match sandbox::spawn(
                loopback,
                SandboxConfig {
                    code: random_code(),
                    ..SandboxConfig::default()
                },
            )
            .await
            {
                Ok(sandbox) => sandbox,
                Err(error) => return fail(&format!("cannot start the sandbox portal: {error}")),
            };
            tracing::info!(portal = %sandbox.addr, "demo mode: using the embedded sandbox portal, not a real Bitrix24");
            match webhook_from(WEBHOOK_VAR, Some(&sandbox.webhook_url())) {
                Ok(webhook) => webhook,
                Err(error) => return fail(&error.to_string()),
            }
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {listen}: {error}")),
    };
    let address = listener.local_addr().unwrap_or(listen);
    let metrics_listener = match metrics_listen {
        None => None,
        Some(at) => match tokio::net::TcpListener::bind(at).await {
            Ok(listener) => Some(listener),
            Err(error) => return fail(&format!("cannot listen on {at} for metrics: {error}")),
        },
    };
    let transport = WebhookPortal::new(webhook);
    let running = Reading {
        settings: settings.clone(),
        bound_at_start,
        webhook: None,
    };
    let shared = SharedState::new(&link, &settings, &transport.webhook());
    if link.is_configured() {
        tracing::info!("replicas share budget, cache and mirror through STOCK_SHARED_STATE");
    }
    let source = local_source(&settings, transport.clone(), &shared);
    let gateway = Arc::new(Gateway::new(
        settings,
        source,
        SystemClock::default(),
        entropy::seed(),
    ));
    let sweeps = spawn_sweeps(&gateway, &shared);
    tokio::spawn(memory::keep_trimmed(memory::TRIM_EVERY));
    let served = Served {
        gateway: Arc::new(ArcSwap::new(gateway)),
        trusted_proxy_header: server.trusted_proxy_header.clone(),
        body_timeout: server.limits.body_timeout,
    };
    let reloader = Reloader::new(
        reread,
        served.gateway.clone(),
        transport,
        &running,
        sweeps,
        link,
    );
    #[cfg(unix)]
    reloader.spawn();
    #[cfg(not(unix))]
    drop(reloader);
    if let Some(listener) = metrics_listener {
        if let Ok(metrics_address) = listener.local_addr() {
            tracing::info!(address = %metrics_address, "metrics at /metrics");
        }
        let gateway = served.gateway.clone();
        tokio::spawn(async move {
            if let Err(error) = b24_stock_gateway::server::metrics::serve(listener, gateway).await {
                tracing::error!(%error, "metrics listener stopped");
            }
        });
    }
    tracing::info!(%address, "gateway listening");
    if demo {
        println!("open: http://{address}/");
        println!("try: curl -s http://{address}/v1/store-products/13");
    }
    match b24_stock_gateway::server::serve(listener, served, server.limits).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("server stopped: {error}")),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
}

fn fail(message: &str) -> ExitCode {
    eprintln!("b24-stock-gateway: {message}");
    ExitCode::from(2)
}

/// A webhook code for the sandbox; randomness from std's hasher keys is plenty here.
fn random_code() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut code = String::new();
    while code.len() < 20 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(code.len());
        code.push_str(&format!("{:x}", hasher.finish()));
    }
    code.truncate(20);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "credcode4242";

    fn hook(host: &str) -> String {
        format!("https://{host}/rest/1/{CODE}/")
    }

    /// `webhook()` with these variables and, when `file` is given, a credentials folder holding
    /// `b24_webhook_url` with that text.
    fn pick(vars: &[(&str, &str)], file: Option<&str>) -> Result<WebhookUrl, ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if file.is_some() {
            vars.push(("CREDENTIALS_DIRECTORY".into(), "/run/credentials/x".into()));
        }
        let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        webhook(&lookup, |path: &Path| {
            assert_eq!(path, Path::new("/run/credentials/x/b24_webhook_url"));
            Ok(file.map(str::to_string))
        })
    }

    fn identity(result: Result<WebhookUrl, ConfigError>) -> String {
        result.expect("a webhook").portal_identity()
    }

    #[test]
    fn the_credential_or_the_variable() {
        let from_file = pick(&[], Some(&format!("{}\n", hook("file.example"))));
        assert_eq!(identity(from_file), "file.example/1");
        let from_env = pick(&[(WEBHOOK_VAR, &hook("env.example"))], None);
        assert_eq!(identity(from_env), "env.example/1");
        // A credentials folder without this credential (the service has others).
        let lookup = |name: &str| match name {
            "CREDENTIALS_DIRECTORY" => Some("/nonexistent-credentials".to_string()),
            WEBHOOK_VAR => Some(hook("env.example")),
            _ => None,
        };
        assert_eq!(identity(webhook(&lookup, read_credential)), "env.example/1");
        assert_eq!(
            pick(&[], None).unwrap_err().to_string(),
            "B24_WEBHOOK_URL: is required"
        );
    }

    #[test]
    fn both_at_once_is_refused_without_printing_either() {
        let error = pick(
            &[(WEBHOOK_VAR, &hook("env.example"))],
            Some(&hook("file.example")),
        )
        .unwrap_err();
        assert_eq!(error.variable, WEBHOOK_VAR);
        assert!(!error.to_string().contains(CODE), "{error}");
        // An empty variable (an EnvironmentFile line left blank) does not count.
        let chosen = pick(&[(WEBHOOK_VAR, " ")], Some(&hook("file.example")));
        assert_eq!(identity(chosen), "file.example/1");
    }

    #[test]
    fn a_bad_credential_names_the_credential_not_its_text() {
        for text in [
            format!("http://portal.example/rest/1/{CODE}/"),
            format!("https://portal.example/{CODE}"),
            String::new(),
        ] {
            let error = pick(&[], Some(&text)).unwrap_err();
            assert_eq!(error.variable, WEBHOOK_CREDENTIAL_LABEL, "{text}");
            assert!(!error.to_string().contains(CODE), "{error}");
        }
    }

    #[test]
    fn credential_files_are_read_bounded() {
        let dir = std::env::temp_dir().join(format!("b24-credential-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(WEBHOOK_CREDENTIAL);
        assert_eq!(read_credential(&path).unwrap(), None);
        std::fs::write(&path, hook("file.example")).unwrap();
        assert_eq!(read_credential(&path).unwrap(), Some(hook("file.example")));
        std::fs::write(&path, "x".repeat(5000)).unwrap();
        let error = read_credential(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(read_credential(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
