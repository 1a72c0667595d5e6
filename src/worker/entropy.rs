//! Randomness from the Workers runtime (`crypto.getRandomValues`), for seeds that must not be
//! guessed.

use wasm_bindgen::{JsCast, JsValue};

/// 128 random bits; `None` if the runtime has no `crypto` (it always has).
pub fn seed() -> Option<u128> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?;
    let fill = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let bytes = js_sys::Uint8Array::new_with_length(16);
    fill.call1(&crypto, &bytes).ok()?;
    let mut seed = [0u8; 16];
    bytes.copy_to(&mut seed);
    Some(u128::from_le_bytes(seed))
}
