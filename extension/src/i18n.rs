//! Text in the extension's UI language, from `_locales/{en,ja}/messages.json`: the browser's
//! through `chrome.i18n`, or, when a policy or the options page chose another (`ui_language`),
//! the chosen one's catalogue read by [`load`] before the page renders
//! ([`protocol::locale::Catalogue`], read as Chrome reads it).

use std::cell::RefCell;

use protocol::config::Settings;
use protocol::locale::{self, Catalogue};
use wasm_bindgen::JsValue;

use crate::chrome;

thread_local! {
    /// The language chosen over the browser's and its catalogue, once [`load`] has read it.
    static CHOSEN: RefCell<Option<(&'static str, Catalogue)>> = const { RefCell::new(None) };
}

/// The language the settings choose over the browser's (`None`: Chrome's own is right).
pub async fn wanted() -> Option<&'static str> {
    let (managed, options) = chrome::settings().await;
    wanted_in(&managed, &options)
}

/// [`wanted`], from settings already read.
pub fn wanted_in(managed: &Settings, options: &Settings) -> Option<&'static str> {
    let setting = managed.ui_language.as_deref().or(options.ui_language.as_deref());
    locale::override_for(setting, &chrome::ui_language())
}

/// The language in use over the browser's, if any.
pub fn chosen() -> Option<&'static str> {
    CHOSEN.with(|c| c.borrow().as_ref().map(|(lang, _)| *lang))
}

/// Reads the catalogue of the language the settings choose, if it is not the browser's; a
/// catalogue that cannot be read leaves the browser's language (and says so on the console).
pub async fn load() {
    let Some(lang) = wanted().await else { return };
    match chrome::fetch_text(&chrome::extension_url(&format!("_locales/{lang}/messages.json"))).await {
        Some(text) => match Catalogue::parse(&text) {
            Ok(catalogue) => CHOSEN.with(|c| *c.borrow_mut() = Some((lang, catalogue))),
            Err(e) => web_sys::console::warn_1(&format!("the {lang} catalogue: {e}").into()),
        },
        None => web_sys::console::warn_1(&format!("the {lang} catalogue could not be read").into()),
    }
}

/// The message `name` with `$1`.. replaced, or empty if the catalogue lacks it (as Chrome).
fn message(name: &str, subs: &[&str]) -> String {
    let chosen = CHOSEN.with(|c| c.borrow().as_ref().map(|(_, catalogue)| catalogue.get(name, subs)));
    match chosen {
        Some(text) => text.unwrap_or_default(),
        None if subs.is_empty() => chrome::get_message(name, &JsValue::UNDEFINED),
        None => {
            let subs: js_sys::Array = subs.iter().map(|a| JsValue::from_str(a)).collect();
            chrome::get_message(name, &subs)
        }
    }
}

/// The message `key`, or the key itself if the catalogue lacks it (so a gap shows, not a blank).
pub fn t(key: &str) -> String {
    let text = message(key, &[]);
    if text.is_empty() { key.to_owned() } else { text }
}

/// The message `key` with `$1` replaced.
pub fn t1(key: &str, arg: &str) -> String {
    let text = message(key, &[arg]);
    if text.is_empty() { format!("{key} {arg}") } else { text }
}

/// The message `key` with `$1`, `$2`, ... replaced.
pub fn tn(key: &str, args: &[&str]) -> String {
    let text = message(key, args);
    if text.is_empty() { format!("{key} {}", args.join(" ")) } else { text }
}

/// A state's name as agents know it: system states translated, custom names as the admin wrote them.
pub fn state_name(name: &str) -> String {
    let text = message(&format!("state_{name}"), &[]);
    if text.is_empty() { name.to_owned() } else { text }
}

/// A failed dial or transfer in words: the catalogue's `failure_<code>` for a reason it knows
/// (the relay's `invalid_number`, Streams' `AccessDeniedException`, ...), else the relay's
/// `error_<code>`, else a general failure; never the English text that came with it, which
/// goes to the console for whoever investigates.
pub fn failure(code: Option<&str>) -> String {
    let message = |key: String| Some(message(&key, &[])).filter(|text| !text.is_empty());
    code.filter(|c| c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        .and_then(|c| message(format!("failure_{c}")).or_else(|| message(format!("error_{c}"))))
        .unwrap_or_else(|| t("failure_unknown"))
}

/// The UI language as a BCP 47 tag (for `lang` and dates): the one chosen, else the browser's.
pub fn language() -> String {
    chosen().map(str::to_owned).unwrap_or_else(chrome::ui_language)
}
