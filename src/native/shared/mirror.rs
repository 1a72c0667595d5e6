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
        let keys = [store.key("table"), store.key("table:version")];
        let known = known.unwrap_or("").to_string();
        let mut answer: Vec<Vec<u8>> = store
            .link
            .ask(true, |mut c| async move {
                store
                    .load_table
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(known)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if answer.len() < 2 {
            return Ok(None);
        }
        let table = answer.pop().unwrap_or_default();
        let version = String::from_utf8_lossy(&answer[0]).into_owned();
        Ok(Some((Bytes::from(table), version)))
    }

    async fn save(&self, table: Bytes) -> Result<(), ()> {
        let Some(store) = &self.0 else { return Ok(()) };
        let keys = [store.key("table"), store.key("table:version")];
        let n = store.saves.fetch_add(1, Ordering::Relaxed);
        let version = format!("{}-{n}", store.instance);
        store
            .link
            .ask(true, |mut c| async move {
                store
                    .save_table
                    .key(&keys[0])
                    .key(&keys[1])
                    .arg(table.as_ref())
                    .arg(version)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await
            .map(|_| ())
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
        let key = store.key("lease");
        let held: i64 = store
            .link
            .ask(false, |mut c| async move {
                store
                    .hold
                    .key(key)
                    .arg(&store.instance)
                    .arg(hold.as_millis() as u64)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(held == 1)
    }
}
