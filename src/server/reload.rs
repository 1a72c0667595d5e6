//! Reloads on SIGHUP: the configuration is read again and checked as at start-up, and only
//! a valid one is taken.
//!
//! - Anything invalid: nothing changes, and an error line names the variable (never a value).
//! - Same settings, webhook read again: the transport takes the new webhook for portal calls
//!   that start afterwards; caches, flights and the budget are kept.
//! - New settings: a new gateway built from them (with the new webhook) goes into service.
//!   Requests in flight finish on the old one, which is dropped after them; its mirror sweeps
//!   stop. Caches and the budget start afresh, as after a restart, but no connection drops.
//! - The server's own settings (listener limits, proxy header, logging) are bound at start:
//!   a change is reported and waits for a restart.

use std::sync::Arc;

use crate::core::config::{ConfigError, Settings};
use crate::core::domain::webhook::WebhookUrl;
use crate::core::gateway::Gateway;
use crate::native::clock::SystemClock;
use crate::native::entropy;
use crate::native::portal_http::WebhookPortal;
use crate::native::shared::{SharedLink, SharedState};

use super::{local_source, spawn_sweeps, InService};

/// A configuration as read again.
pub struct Reading {
    pub settings: Settings,
    /// The server's own settings, in a form that tells whether they changed.
    pub bound_at_start: String,
    /// `None` when there is no webhook to read (demo mode's embedded sandbox).
    pub webhook: Option<WebhookUrl>,
}

pub struct Reloader<R> {
    read: R,
    in_service: InService,
    transport: WebhookPortal,
    settings: String,
    bound_at_start: String,
    sweeps: Option<tokio::task::JoinHandle<()>>,
    /// The store replicas share, read at start.
    link: SharedLink,
}

impl<R> Reloader<R>
where
    R: Fn() -> Result<Reading, ConfigError> + Send + 'static,
{
    /// `running` is what the gateway in service was built from, over `transport`.
    pub fn new(
        read: R,
        in_service: InService,
        transport: WebhookPortal,
        running: &Reading,
        sweeps: Option<tokio::task::JoinHandle<()>>,
        link: SharedLink,
    ) -> Self {
        Self {
            read,
            in_service,
            transport,
            settings: format!("{:?}", running.settings),
            bound_at_start: running.bound_at_start.clone(),
            sweeps,
            link,
        }
    }

    pub fn apply(&mut self) {
        let reading = match (self.read)() {
            Ok(reading) => reading,
            Err(error) => {
                tracing::error!(
                    variable = error.variable,
                    reason = %error.reason,
                    "reload refused: the running webhook and settings stay"
                );
                return;
            }
        };
        if reading.bound_at_start != self.bound_at_start {
            tracing::warn!(
                "the server's own settings (connections, proxy header, logging) changed: \
                 they take effect at the next restart"
            );
        }
        if let Some(webhook) = reading.webhook {
            self.transport.rotation().replace(webhook);
        }
        let settings = format!("{:?}", reading.settings);
        if settings == self.settings {
            tracing::info!("reloaded: webhook read again, settings unchanged, caches kept");
            return;
        }
        let shared = SharedState::new(&self.link, &reading.settings, &self.transport.webhook());
        let source = local_source(&reading.settings, self.transport.clone(), &shared);
        let gateway = Arc::new(Gateway::new(
            reading.settings,
            source,
            SystemClock::default(),
            entropy::seed(),
        ));
        if let Some(old) = self.sweeps.take() {
            old.abort();
        }
        self.sweeps = spawn_sweeps(&gateway, &shared);
        self.in_service.store(gateway);
        self.settings = settings;
        tracing::info!("reloaded: new settings in service; caches and the budget start afresh");
    }

    /// Applies a reload on every SIGHUP for as long as the server runs.
    #[cfg(unix)]
    pub fn spawn(mut self) {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("SIGHUP cannot be received: reloads need a restart");
            return;
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                self.apply();
            }
        });
    }
}
