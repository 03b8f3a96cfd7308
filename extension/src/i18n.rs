//! Text in the browser's language, from `_locales/{en,ja}/messages.json`.

use wasm_bindgen::JsValue;

use crate::chrome;

/// The message `key`, or the key itself if the catalogue lacks it (so a gap shows, not a blank).
pub fn t(key: &str) -> String {
    let text = chrome::get_message(key, &JsValue::UNDEFINED);
    if text.is_empty() { key.to_owned() } else { text }
}

/// The message `key` with `$1` replaced.
pub fn t1(key: &str, arg: &str) -> String {
    let text = chrome::get_message(key, &JsValue::from_str(arg));
    if text.is_empty() { format!("{key} {arg}") } else { text }
}

/// A state's name as agents know it: system states translated, custom names as the admin wrote them.
pub fn state_name(name: &str) -> String {
    let key = format!("state_{name}");
    let text = chrome::get_message(&key, &JsValue::UNDEFINED);
    if text.is_empty() { name.to_owned() } else { text }
}

pub fn language() -> String {
    chrome::ui_language()
}
