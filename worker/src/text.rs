//! The worker's own words (its notifications) in the UI language: `chrome.i18n` when that is the
//! browser's, else the chosen language's catalogue ([`protocol::locale::Catalogue`]), read again
//! whenever the settings change ([`follow`]).

use std::cell::RefCell;

use js_sys::Array;
use protocol::locale::{self, Catalogue};
use wasm_bindgen::JsValue;

use crate::chrome;
use crate::js::log;

thread_local! {
    /// The language chosen over the browser's, and its catalogue.
    static CHOSEN: RefCell<Option<(&'static str, Catalogue)>> = const { RefCell::new(None) };
}

/// Follows the UI language `setting` (`None`: the browser's): reads its catalogue if it is not
/// the browser's and not read yet. A catalogue that cannot be read leaves the browser's language.
pub async fn follow(setting: Option<&str>) {
    let wanted = locale::override_for(setting, &chrome::ui_language());
    if CHOSEN.with(|c| c.borrow().as_ref().map(|(lang, _)| *lang)) == wanted {
        return;
    }
    let catalogue = match wanted {
        None => None,
        Some(lang) => {
            let url = chrome::extension_url(&format!("_locales/{lang}/messages.json"));
            match crate::js::fetch(&url, "GET", &[], None).await.map(|a| Catalogue::parse(&a.text)) {
                Ok(Ok(catalogue)) => Some((lang, catalogue)),
                Ok(Err(e)) => {
                    log(&format!("the {lang} catalogue: {e}"));
                    None
                }
                Err(e) => {
                    log(&format!("the {lang} catalogue: {e}"));
                    None
                }
            }
        }
    };
    CHOSEN.with(|c| *c.borrow_mut() = catalogue);
}

/// The message `name` with `$1`.. replaced by `subs`, in the UI language.
pub fn message(name: &str, subs: &[&str]) -> String {
    let chosen = CHOSEN.with(|c| c.borrow().as_ref().map(|(_, catalogue)| catalogue.get(name, subs)));
    match chosen {
        Some(text) => text.unwrap_or_default(),
        None => {
            let subs: Array = subs.iter().map(|s| JsValue::from_str(s)).collect();
            chrome::message_with(name, &subs)
        }
    }
}
