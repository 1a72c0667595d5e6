//! Where an isolate's misses go: to the portal on the isolate's own budget share, or to the
//! portal coordinator (a Durable Object) that holds the deployment's one budget.

use std::time::Duration;

use super::coordinator_link::DurableObjectLink;
use super::transport::FetchPortal;
use crate::core::coordination::client::CoordinatedExecutor;
use crate::core::portal::command::Command;
use crate::core::portal::exchange::{Executed, Executor, PortalExecutor, Urgency};
use crate::core::ports::Clock;

pub enum IsolateExecutor {
    /// `STOCK_PORTAL_COORDINATOR=isolate`: this isolate calls the portal on its own share.
    Isolate(PortalExecutor<FetchPortal>),
    /// `durable_object`: the coordinator calls the portal; a small share stands by.
    Coordinated(CoordinatedExecutor<DurableObjectLink, FetchPortal>),
}

impl IsolateExecutor {
    pub fn describe(&self) -> &'static str {
        match self {
            IsolateExecutor::Isolate(_) => "isolate",
            IsolateExecutor::Coordinated(_) => "durable_object",
        }
    }
}

impl Executor for IsolateExecutor {
    async fn execute<C: Clock>(
        &self,
        clock: &C,
        commands: &[Command],
        urgency: Urgency,
        deadline: Duration,
    ) -> Executed {
        match self {
            IsolateExecutor::Isolate(portal) => {
                portal.execute(clock, commands, urgency, deadline).await
            }
            IsolateExecutor::Coordinated(coordinated) => {
                coordinated
                    .execute(clock, commands, urgency, deadline)
                    .await
            }
        }
    }

    fn budget_level(&self, now: Duration) -> Option<f64> {
        match self {
            IsolateExecutor::Isolate(portal) => portal.budget_level(now),
            IsolateExecutor::Coordinated(_) => None,
        }
    }
}
