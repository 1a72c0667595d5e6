//! The mirror's table in the Durable Object's own storage, so that an object that restarts
//! answers at once from the last sweep. Written in pieces of 128 KiB (storage values are
//! bounded) with a small record of the version and the number of pieces, all in one atomic
//! put: a reader never sees half a table.

use bytes::{Bytes, BytesMut};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use worker::Storage;

use crate::core::ports::TableStore;

const PIECE_BYTES: usize = 128 * 1024;
const META_KEY: &str = "mirror/meta";

pub struct ObjectStorage {
    storage: Storage,
}

impl ObjectStorage {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// `(version, pieces)` of the stored table.
    async fn meta(&self) -> Result<Option<(u64, usize)>, ()> {
        let meta: Option<String> = self.storage.get(META_KEY).await.map_err(|_| ())?;
        Ok(meta.and_then(|text| {
            let (version, pieces) = text.split_once(':')?;
            Some((version.parse().ok()?, pieces.parse().ok()?))
        }))
    }
}

fn piece_key(index: usize) -> String {
    format!("mirror/{index}")
}

impl TableStore for ObjectStorage {
    async fn load(&self, known: Option<&str>) -> Result<Option<(Bytes, String)>, ()> {
        let Some((version, pieces)) = self.meta().await? else {
            return Ok(None);
        };
        let version = version.to_string();
        if known == Some(version.as_str()) {
            return Ok(None);
        }
        let keys: Vec<String> = (0..pieces).map(piece_key).collect();
        let map = self
            .storage
            .get_multiple(keys.clone())
            .await
            .map_err(|_| ())?;
        let mut table = BytesMut::new();
        for key in keys {
            let value = map.get(&JsValue::from_str(&key));
            let piece = value.dyn_into::<Uint8Array>().map_err(|_| ())?;
            table.extend_from_slice(&piece.to_vec());
        }
        Ok(Some((table.freeze(), version)))
    }

    async fn save(&self, table: Bytes) -> Result<(), ()> {
        let version = self.meta().await?.map_or(1, |(version, _)| version + 1);
        let entries = Object::new();
        let mut pieces = 0;
        for (index, piece) in table.chunks(PIECE_BYTES).enumerate() {
            let value = Uint8Array::from(piece);
            Reflect::set(&entries, &JsValue::from_str(&piece_key(index)), &value)
                .map_err(|_| ())?;
            pieces += 1;
        }
        let meta = JsValue::from_str(&format!("{version}:{pieces}"));
        Reflect::set(&entries, &JsValue::from_str(META_KEY), &meta).map_err(|_| ())?;
        self.storage.put_multiple_raw(entries).await.map_err(|_| ())
    }
}
