//! A mirror for replicas: one sweeper at a time (a lease), its table kept in the store.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use super::SharedState;
use crate::core::ports::{SweepLease, TableStore};

impl TableStore for SharedState {
    async fn load(&self, known: Option<&str>) -> Result<Option<(Bytes, String)>, ()> {
        let Some(store) = &self.0 else {
            return Ok(None);
        };
        let mut call = store.load_table.prepare_invoke();
        call.key(store.key("table"))
            .key(store.key("table:version"))
            .arg(known.unwrap_or(""));
        let mut answer: Vec<Vec<u8>> = store.invoke(true, call).await?;
        if answer.len() < 2 {
            return Ok(None);
        }
        let table = answer.pop().unwrap_or_default();
        let version = String::from_utf8_lossy(&answer[0]).into_owned();
        Ok(Some((Bytes::from(table), version)))
    }

    async fn save(&self, table: Bytes) -> Result<(), ()> {
        let Some(store) = &self.0 else { return Ok(()) };
        let n = store.saves.fetch_add(1, Ordering::Relaxed);
        let mut call = store.save_table.prepare_invoke();
        call.key(store.key("table"))
            .key(store.key("table:version"))
            .arg(table.as_ref())
            .arg(format!("{}-{n}", store.instance));
        store.invoke::<i64>(true, call).await.map(|_| ())
    }

    fn keeps(&self) -> bool {
        self.0.is_some()
    }
}

impl SweepLease for SharedState {
    async fn hold(&self, hold: Duration) -> Result<bool, ()> {
        let Some(store) = &self.0 else {
            return Ok(true);
        };
        let mut call = store.hold.prepare_invoke();
        call.key(store.key("lease"))
            .arg(&store.instance)
            .arg(hold.as_millis() as u64);
        let held: i64 = store.invoke(false, call).await?;
        Ok(held == 1)
    }
}
