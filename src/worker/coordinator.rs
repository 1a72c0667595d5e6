//! The portal coordinator as a Durable Object: one instance per portal for the whole
//! deployment, named from a digest of the portal host and user (never the webhook code). It is
//! the only caller of the portal: isolates send it their misses (`coordinator_link`), and the
//! core's `Coordinator` batches them within the full budget share.

use bytes::Bytes;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::clock::JsClock;
use super::transport::FetchPortal;
use super::{env_text, log_settings, logging, metrics};
use crate::core::config::{webhook_from, ConfigError, Settings, WEBHOOK_VAR};
use crate::core::coordination::coordinator::Coordinator;
use crate::core::domain::webhook::WebhookUrl;
use crate::core::kit::digest::fnv1a;
use crate::core::ports::Clock;

/// The binding's name in wrangler.toml.
pub const BINDING: &str = "PORTAL_COORDINATOR";

/// The object's name for a portal: the same in every isolate, and nothing secret in it.
pub fn object_name(webhook: &WebhookUrl) -> String {
    format!(
        "portal-{:016x}",
        fnv1a(webhook.portal_identity().as_bytes())
    )
}

#[durable_object(fetch)]
pub struct PortalCoordinator {
    coordinator: std::result::Result<Coordinator<FetchPortal, JsClock>, ConfigError>,
    clock: JsClock,
    metrics: metrics::MetricsLog,
}

impl DurableObject for PortalCoordinator {
    fn new(_state: State, env: Env) -> Self {
        // Invalid log settings are the isolates' to report (500 misconfigured).
        logging::init(|| log_settings(&env).unwrap_or_default());
        let coordinator = Settings::from_lookup(|name| env_text(&env, name)).and_then(|settings| {
            let secret = env.secret(WEBHOOK_VAR).ok().map(|s| s.to_string());
            let webhook = webhook_from(WEBHOOK_VAR, secret.as_deref())?;
            Ok(Coordinator::new(
                &settings,
                FetchPortal::new(webhook),
                JsClock::new(),
            ))
        });
        if let Err(error) = &coordinator {
            tracing::error!(
                variable = error.variable,
                reason = %error.reason,
                "portal coordinator misconfigured: fix the Worker's [vars] or secrets"
            );
        }
        Self {
            coordinator,
            clock: JsClock::new(),
            metrics: metrics::MetricsLog::new(metrics::interval_from(
                env_text(&env, "STOCK_METRICS_INTERVAL_SECS").as_deref(),
            )),
        }
    }

    async fn fetch(&self, mut request: Request) -> Result<Response> {
        let Ok(coordinator) = &self.coordinator else {
            // The isolate falls back to its own small share and logs it.
            return Response::error("misconfigured", 500);
        };
        let body = Bytes::from(request.bytes().await?);
        let answer = coordinator.answer(&body).await;
        self.metrics
            .maybe_log(self.clock.monotonic(), || coordinator.metrics());
        match answer {
            Some(told) => Response::from_bytes(told.to_vec()),
            None => Response::error("bad request", 400),
        }
    }
}
