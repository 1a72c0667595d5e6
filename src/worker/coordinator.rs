//! The portal coordinator as a Durable Object: one instance per portal for the whole
//! deployment, named from a digest of the portal host and user (never the webhook code). It is
//! the only caller of the portal: isolates send it their misses (`coordinator_link`), and the
//! core's `Coordinator` batches them within the full budget share.

use bytes::Bytes;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use std::rc::Rc;

use super::clock::JsClock;
use super::table_store::ObjectStorage;
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

type ObjectCoordinator = Coordinator<FetchPortal, JsClock, ObjectStorage>;

/// In mirror mode the object also sweeps, on its alarm: the first as soon as it starts, then
/// one interval after the last one started. Its table is kept in its storage, so a restarted
/// object answers at once.
#[durable_object(alarm)]
pub struct PortalCoordinator {
    coordinator: Rc<std::result::Result<ObjectCoordinator, ConfigError>>,
    state: State,
    clock: JsClock,
    metrics: metrics::MetricsLog,
}

impl DurableObject for PortalCoordinator {
    fn new(state: State, env: Env) -> Self {
        // Invalid log settings are the isolates' to report (500 misconfigured).
        logging::init(|| log_settings(&env).unwrap_or_default());
        let coordinator = Settings::from_lookup(|name| env_text(&env, name)).and_then(|settings| {
            let secret = env.secret(WEBHOOK_VAR).ok().map(|s| s.to_string());
            let webhook = webhook_from(WEBHOOK_VAR, secret.as_deref())?;
            Ok(Coordinator::new(
                &settings,
                FetchPortal::new(webhook),
                JsClock::new(),
                ObjectStorage::new(state.storage()),
            ))
        });
        if let Err(error) = &coordinator {
            tracing::error!(
                variable = error.variable,
                reason = %error.reason,
                "portal coordinator misconfigured: fix the Worker's [vars] or secrets"
            );
        }
        let coordinator = Rc::new(coordinator);
        if matches!(&*coordinator, Ok(c) if c.mirror().is_some()) {
            // Before any request: the stored table into service, and a sweep due.
            let (starting, storage) = (coordinator.clone(), state.storage());
            let _start = state.block_concurrency_while(async move {
                if let Ok(Some(mirror)) = starting.as_ref().as_ref().map(|c| c.mirror()) {
                    mirror.load().await;
                    if storage.get_alarm().await.ok().flatten().is_none() {
                        let _ = storage.set_alarm(0i64).await;
                    }
                }
                Ok(())
            });
        }
        Self {
            coordinator,
            state,
            clock: JsClock::new(),
            metrics: metrics::MetricsLog::new(metrics::interval_from(
                env_text(&env, "STOCK_METRICS_INTERVAL_SECS").as_deref(),
            )),
        }
    }

    async fn fetch(&self, mut request: Request) -> Result<Response> {
        let Ok(coordinator) = self.coordinator.as_ref() else {
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

    async fn alarm(&self) -> Result<Response> {
        let Ok(Some(mirror)) = self.coordinator.as_ref().as_ref().map(|c| c.mirror()) else {
            return Response::ok("");
        };
        let started = self.clock.monotonic();
        let _ = mirror.sweep().await;
        let next = mirror
            .interval()
            .saturating_sub(self.clock.monotonic().saturating_sub(started));
        self.state
            .storage()
            .set_alarm(next.as_millis() as i64)
            .await?;
        Response::ok("")
    }
}
