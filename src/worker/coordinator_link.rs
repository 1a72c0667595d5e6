//! An isolate's way to the portal coordinator: a Durable Object stub, asked with one POST per
//! exchange and a deadline kept by a JS timer.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{select, Either};
use worker::{Delay, Method, ObjectNamespace, Request, RequestInit};

use crate::core::ports::CoordinatorLink;

/// Any URL will do: the stub routes by object, not by host.
const ASK_URL: &str = "https://portal-coordinator.invalid/ask";

/// The namespace binding and the object's name. A stub is an I/O object of the request that
/// made it: each ask makes its own (cheap), so no request uses another's.
pub struct DurableObjectLink {
    namespace: ObjectNamespace,
    name: String,
}

impl DurableObjectLink {
    pub fn new(namespace: ObjectNamespace, name: String) -> Self {
        Self { namespace, name }
    }

    async fn send(&self, body: Bytes, deadline: Duration) -> Result<Bytes, ()> {
        let payload = js_sys::Uint8Array::from(body.as_ref());
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(payload.into()));
        let request = Request::new_with_init(ASK_URL, &init)
            .map_err(|e| tracing::debug!(error = %e, "portal coordinator request failed"))?;
        let stub = self
            .namespace
            .get_by_name(&self.name)
            .map_err(|e| tracing::debug!(error = %e, "portal coordinator stub failed"))?;
        let exchange = pin!(async {
            let mut response = stub
                .fetch_with_request(request)
                .await
                .map_err(|e| tracing::debug!(error = %e, "portal coordinator fetch failed"))?;
            if response.status_code() != 200 {
                tracing::debug!(
                    status = response.status_code(),
                    "portal coordinator refused"
                );
                return Err(());
            }
            response
                .bytes()
                .await
                .map(Bytes::from)
                .map_err(|e| tracing::debug!(error = %e, "portal coordinator body failed"))
        });
        // The timer is cleared when `select` drops it.
        let timer = pin!(Delay::from(deadline));
        match select(exchange, timer).await {
            Either::Left((answer, _)) => answer,
            Either::Right(((), _)) => {
                tracing::debug!("portal coordinator did not answer in time");
                Err(())
            }
        }
    }
}

impl CoordinatorLink for DurableObjectLink {
    fn ask(&self, body: Bytes, deadline: Duration) -> impl Future<Output = Result<Bytes, ()>> {
        self.send(body, deadline)
    }
}
