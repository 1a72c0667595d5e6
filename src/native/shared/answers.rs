//! The answer cache replicas share, and the claims that make one portal read (and one
//! refresh) per id for all of them.

use std::time::Duration;

use bytes::Bytes;

use super::SharedState;
use crate::core::domain::shared_state::SharedStateHealth;
use crate::core::ports::{CacheKey, SharedCache};

/// An answer's stored form: its life (ms, little-endian u64), then the core's bytes.
const LIFE_BYTES: usize = 8;

impl SharedState {
    /// An answer, how old, and whether still inside its life.
    async fn answer(&self, key: CacheKey) -> Option<(Bytes, Duration, bool)> {
        let store = self.0.as_ref()?;
        let name = store.id_key(key, "answer");
        let (value, left): (Option<Vec<u8>>, i64) = store
            .link
            .ask(false, |mut c| async move {
                redis::pipe()
                    .atomic()
                    .get(&name)
                    .pttl(&name)
                    .query_async(&mut c)
                    .await
            })
            .await
            .ok()?;
        let value = value?;
        let life = u64::from_le_bytes(value.get(..LIFE_BYTES)?.try_into().ok()?);
        // Kept for its life and the stale window: what is left of both.
        let kept = life.saturating_add(store.stale_for.as_millis() as u64);
        let left = u64::try_from(left).ok().filter(|l| *l > 0 && *l <= kept)?;
        let age = Duration::from_millis(kept - left);
        let fresh = kept - left < life;
        Some((Bytes::copy_from_slice(&value[LIFE_BYTES..]), age, fresh))
    }
}

impl SharedCache for SharedState {
    async fn get(&self, key: CacheKey) -> Option<(Bytes, Duration)> {
        let (bytes, age, fresh) = self.answer(key).await?;
        fresh.then_some((bytes, age))
    }

    async fn get_stale(&self, key: CacheKey) -> Option<(Bytes, Duration)> {
        let (bytes, age, _) = self.answer(key).await?;
        Some((bytes, age))
    }

    async fn put(&self, key: CacheKey, value: Bytes, ttl: Duration) {
        let Some(store) = &self.0 else { return };
        let life = ttl.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let mut stored = Vec::with_capacity(LIFE_BYTES + value.len());
        stored.extend_from_slice(&life.to_le_bytes());
        stored.extend_from_slice(&value);
        let kept = life.saturating_add(store.stale_for.as_millis() as u64);
        let mut set = redis::cmd("SET");
        set.arg(store.id_key(key, "answer"))
            .arg(stored)
            .arg("PX")
            .arg(kept);
        let _ = store.query::<()>(set).await;
    }

    async fn claim(&self, key: CacheKey, hold: Duration) -> bool {
        let Some(store) = &self.0 else { return true };
        let mut call = store.claim.prepare_invoke();
        call.key(store.id_key(key, "flight"))
            .key(store.id_key(key, "answer"))
            .arg(&store.instance)
            .arg(hold.as_millis().max(1) as u64)
            .arg(store.stale_for.as_millis() as u64);
        let claimed = store.invoke::<i64>(false, call).await;
        // Claimed, or the store cannot say: read it here.
        claimed != Ok(0)
    }

    async fn claim_refresh(&self, key: CacheKey, hold: Duration) -> bool {
        let Some(store) = &self.0 else { return true };
        let mut set = redis::cmd("SET");
        set.arg(store.id_key(key, "refresh"))
            .arg(&store.instance)
            .arg("NX")
            .arg("PX")
            .arg(hold.as_millis().max(1) as u64);
        let claimed = store.query::<Option<String>>(set).await;
        !matches!(claimed, Ok(None))
    }

    fn release_soon(&self, key: CacheKey) {
        let (Some(_), Ok(runtime)) = (&self.0, tokio::runtime::Handle::try_current()) else {
            return;
        };
        let shared = self.clone();
        runtime.spawn(async move { shared.release(key).await });
    }

    fn joined(&self) {
        if let Some(store) = &self.0 {
            store.link.count_flight_joined();
        }
    }

    async fn release(&self, key: CacheKey) {
        let Some(store) = &self.0 else { return };
        let mut call = store.release.prepare_invoke();
        call.key(store.id_key(key, "flight")).arg(&store.instance);
        let _ = store.invoke::<i64>(false, call).await;
    }

    fn status(&self) -> Option<SharedStateHealth> {
        self.0.as_ref().map(|store| store.link.health())
    }
}
