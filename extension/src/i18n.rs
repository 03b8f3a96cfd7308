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

/// The message `key` with `$1`, `$2`, ... replaced.
pub fn tn(key: &str, args: &[&str]) -> String {
    let subs: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    let text = chrome::get_message(key, &subs);
    if text.is_empty() { format!("{key} {}", args.join(" ")) } else { text }
}

/// A state's name as agents know it: system states translated, custom names as the admin wrote them.
pub fn state_name(name: &str) -> String {
    let key = format!("state_{name}");
    let text = chrome::get_message(&key, &JsValue::UNDEFINED);
    if text.is_empty() { name.to_owned() } else { text }
}

/// A failed dial or transfer in words: the catalogue's `failure_<code>` for a reason it knows
/// (the relay's `invalid_number`, Streams' `AccessDeniedException`, ...), else the relay's
/// `error_<code>`, else a general failure; never the English text that came with it, which
/// goes to the console for whoever investigates.
pub fn failure(code: Option<&str>) -> String {
    let message = |key: String| Some(chrome::get_message(&key, &JsValue::UNDEFINED)).filter(|text| !text.is_empty());
    code.filter(|c| c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .and_then(|c| message(format!("failure_{c}")).or_else(|| message(format!("error_{c}"))))
        .unwrap_or_else(|| t("failure_unknown"))
}

pub fn language() -> String {
    chrome::ui_language()
}
