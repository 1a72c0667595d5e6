//! The coordinator's logic natively, in front of the real sandbox portal: two "isolates" (two
//! gateways in one process) send their misses to one coordinator through an in-process link,
//! as Workers do through a Durable Object stub; `scripts/test-worker-coordinator.sh` runs the
//! same under `wrangler dev`.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use b24_stock_gateway::core::api::request::InboundBody;
use b24_stock_gateway::core::config::Settings;
use b24_stock_gateway::core::coordination::coordinator::Coordinator;
use b24_stock_gateway::core::coordination::upstream::CoordinatorUpstream;
use b24_stock_gateway::core::domain::webhook::WebhookUrl;
use b24_stock_gateway::core::gateway::Gateway;
use b24_stock_gateway::core::portal::exchange::PortalExecutor;
use b24_stock_gateway::core::ports::{CoordinatorLink, InProcessOnly};
use b24_stock_gateway::core::source::flights::Waiting;
use b24_stock_gateway::core::source::on_demand::OnDemand;
use b24_stock_gateway::core::source::upstream::PortalUpstream;
use b24_stock_gateway::native::clock::SystemClock;
use b24_stock_gateway::native::portal_http::WebhookPortal;
use bytes::Bytes;
use support::spawn_sandbox;

/// Calls the coordinator in process; can be cut to play an unreachable object.
struct InProcess<'a> {
    coordinator: &'a Local,
    cut: Cell<bool>,
}

impl CoordinatorLink for InProcess<'_> {
    fn ask(&self, body: Bytes, _deadline: Duration) -> impl Future<Output = Result<Bytes, ()>> {
        let cut = self.cut.get();
        async move {
            if cut {
                return Err(());
            }
            self.coordinator.answer(&body).await.ok_or(())
        }
    }
}

fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

type Local = Coordinator<WebhookPortal, SystemClock, InProcessOnly>;
type Upstream<'a> = CoordinatorUpstream<InProcess<'a>, PortalExecutor<WebhookPortal>>;
type Isolate<'a> = Gateway<OnDemand<Upstream<'a>, SystemClock>, SystemClock>;

/// A gateway whose misses go to `coordinator`, or, with `cut`, to its fallback share.
fn isolate<'a>(
    settings: &Settings,
    webhook: &WebhookUrl,
    coordinator: &'a Local,
    cut: bool,
) -> Isolate<'a> {
    let transport = WebhookPortal::new(webhook.clone());
    let fallback = PortalExecutor::from_settings(settings, transport, settings.fallback_budget);
    let link = InProcess {
        coordinator,
        cut: Cell::new(cut),
    };
    let upstream = CoordinatorUpstream::new(
        link,
        PortalUpstream::new(settings, fallback, Waiting::Woken),
    );
    let clock = SystemClock::default();
    let source = OnDemand::new(settings, upstream, clock, Waiting::Woken);
    Gateway::new(settings.clone(), source, clock, 7)
}

async fn status(gateway: &Isolate<'_>, path: &str) -> u16 {
    let request = http::Request::get(path).body(InboundBody::Empty).unwrap();
    let (response, _refresh) = gateway.handle(request).await.into_parts();
    response.status().as_u16()
}

#[tokio::test]
async fn isolates_share_one_budget_and_one_flight_per_id() {
    let sandbox = spawn_sandbox(2.0, 50.0);
    let webhook = WebhookUrl::parse(&sandbox.webhook()).unwrap();
    let settings = settings(&[("STOCK_RATE_LIMIT_PER_MIN", "0")]);
    let coordinator = Coordinator::new(
        &settings,
        WebhookPortal::new(webhook.clone()),
        SystemClock::default(),
        InProcessOnly,
    );
    let (a, b) = (
        isolate(&settings, &webhook, &coordinator, false),
        isolate(&settings, &webhook, &coordinator, false),
    );
    // 400 reads of one cold id, split across the two isolates.
    let reads: Vec<_> = (0..400)
        .map(|n| status(if n % 2 == 0 { &a } else { &b }, "/v1/store-products/42"))
        .collect();
    let statuses = b24_stock_gateway::core::kit::join::join_all(reads).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        sandbox.get_calls(42).await,
        1,
        "one portal call for both isolates"
    );

    // 300 distinct ids at once: batched by the one coordinator, within its budget.
    let reads: Vec<_> = (1..=300u32)
        .map(|id| {
            let path = format!("/v1/store-products/{}", 1000 + id);
            let gateway = if id % 2 == 0 { &a } else { &b };
            async move { status(gateway, &path).await }
        })
        .collect();
    let statuses = b24_stock_gateway::core::kit::join::join_all(reads).await;
    let answered = statuses.iter().filter(|s| [200, 404].contains(*s)).count();
    assert!(answered >= 297, "{answered} of 300 answered 200/404");
    let stats = sandbox.stats().await;
    assert_eq!(stats["queryLimitExceeded"], 0, "{stats}");
}

#[tokio::test]
async fn an_unreachable_coordinator_leaves_a_small_share() {
    let sandbox = spawn_sandbox(1000.0, 100_000.0);
    let webhook = WebhookUrl::parse(&sandbox.webhook()).unwrap();
    // Fallback share 0.1 of the standard plan: a burst of 5 portal requests, then 0.2/s.
    let settings = settings(&[
        ("STOCK_RATE_LIMIT_PER_MIN", "0"),
        ("STOCK_BATCH_WINDOW_MS", "0"),
    ]);
    let coordinator = Coordinator::new(
        &settings,
        WebhookPortal::new(webhook.clone()),
        SystemClock::default(),
        InProcessOnly,
    );
    let a = isolate(&settings, &webhook, &coordinator, true);
    let mut statuses = Vec::new();
    for id in 1..=12u32 {
        statuses.push(status(&a, &format!("/v1/store-products/{id}")).await);
    }
    // In fallback a record costs one exchange: its product's flags are not read after it.
    let served = statuses.iter().filter(|s| **s == 200 || **s == 404).count();
    assert!(
        (5..=6).contains(&served),
        "the fallback share serves its burst: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 404, 503].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(sandbox.stats().await["requests"], served as u64);
}
