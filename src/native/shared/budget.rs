//! The portal budget replicas share: a leaky bucket on the store's clock, and the methods
//! every replica leaves alone for operating time.

use std::time::Duration;

use super::SharedState;
use crate::core::ports::{SharedBudget, SharedSlot};

impl SharedBudget for SharedState {
    async fn take(&self, max_wait: Duration) -> Result<SharedSlot, ()> {
        let store = self.0.as_ref().ok_or(())?;
        let mut call = store.take.prepare_invoke();
        call.key(store.portal_key("budget"))
            .key(store.portal_key("pauses"))
            .arg(store.limits.drain_per_sec)
            .arg(store.limits.burst)
            .arg(max_wait.as_millis() as u64);
        let answer: Vec<String> = store.invoke(false, call).await?;
        let mut fields = answer.iter();
        let wait_ms: i64 = fields.next().and_then(|w| w.parse().ok()).ok_or(())?;
        let level: f64 = fields.next().and_then(|l| l.parse().ok()).ok_or(())?;
        let mut pauses = Vec::new();
        while let (Some(method), Some(until)) = (fields.next(), fields.next()) {
            if let Ok(until) = until.parse::<u64>() {
                pauses.push((method.clone(), Duration::from_secs(until)));
            }
        }
        if wait_ms != 0 {
            store.link.count_budget_wait();
        }
        let slot = if wait_ms >= 0 {
            Ok(Duration::from_millis(wait_ms as u64))
        } else {
            Err(Duration::from_millis(wait_ms.unsigned_abs()))
        };
        Ok(SharedSlot {
            slot,
            level,
            pauses,
        })
    }

    async fn pause(&self, method: &'static str, until: Duration) {
        let Some(store) = &self.0 else { return };
        let mut call = store.pause.prepare_invoke();
        call.key(store.portal_key("pauses"))
            .arg(method)
            .arg(until.as_secs());
        let _ = store.invoke::<i64>(false, call).await;
    }

    fn in_use(&self) -> bool {
        self.0.as_ref().is_some_and(|store| store.link.in_use())
    }
}
