//! The `chrome.*` APIs the panel uses: one port to the worker, `chrome.i18n`, the extension's
//! own files, and `chrome.storage` (options and policy, the caller ID each agent last chose).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[derive(Debug, Clone)]
    pub type Port;
    #[wasm_bindgen(method, js_name = postMessage, catch)]
    pub fn post_message(this: &Port, message: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, getter, js_name = onMessage)]
    pub fn on_message(this: &Port) -> Event;
    #[wasm_bindgen(method, getter, js_name = onDisconnect)]
    pub fn on_disconnect(this: &Port) -> Event;

    pub type Event;
    #[wasm_bindgen(method, js_name = addListener)]
    pub fn add_listener(this: &Event, f: &js_sys::Function);

    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = connect, catch)]
    pub fn connect(info: &JsValue) -> Result<Port, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "i18n"], js_name = getMessage)]
    pub fn get_message(name: &str, substitutions: &JsValue) -> String;
    #[wasm_bindgen(js_namespace = ["chrome", "i18n"], js_name = getUILanguage)]
    pub fn ui_language() -> String;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getManifest, catch)]
    fn manifest() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "runtime"], js_name = getURL, catch)]
    fn get_url(path: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch(url: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The URL of one of the extension's files (the path itself where the page is not the extension's).
pub fn extension_url(path: &str) -> String {
    get_url(path).unwrap_or_else(|_| path.to_owned())
}

/// The text at `url`, if it could be read.
pub async fn fetch_text(url: &str) -> Option<String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let response: web_sys::Response = JsFuture::from(fetch(url).ok()?).await.ok()?.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.text().ok()?).await.ok()?.as_string()
}

/// The extension's version, as its manifest says (the package an organisation rolled out); empty
/// where the page has no manifest to ask (the panel shown outside the extension).
pub fn version() -> String {
    let manifest = manifest().unwrap_or_default();
    js_sys::Reflect::get(&manifest, &"version".into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get, catch)]
    pub fn local_get(keys: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set, catch)]
    pub fn local_set(items: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "managed"], js_name = get, catch)]
    pub fn managed_get(keys: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "onChanged"], js_name = addListener)]
    pub fn on_storage_changed(f: &js_sys::Function);
}

/// Reads `key` of an area's items (all of them for `None`) as `T`, or its default.
async fn read<T: serde::de::DeserializeOwned + Default>(
    promise: Result<js_sys::Promise, JsValue>,
    key: Option<&str>,
) -> T {
    let Ok(promise) = promise else { return T::default() };
    let Ok(items) = wasm_bindgen_futures::JsFuture::from(promise).await else { return T::default() };
    let value = match key {
        Some(key) => js_sys::Reflect::get(&items, &key.into()).unwrap_or(JsValue::UNDEFINED),
        None => items,
    };
    // Nothing stored under the key is `undefined`, which JSON.stringify does not make a string of.
    js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|t| t.as_string())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The settings managed policy sets, and the options page's.
pub async fn settings() -> (protocol::config::Settings, protocol::config::Settings) {
    use protocol::config::OPTIONS_KEY;
    let managed = read(managed_get(&JsValue::NULL), None).await;
    let options = read(local_get(&OPTIONS_KEY.into()), Some(OPTIONS_KEY)).await;
    (managed, options)
}

/// The alert thresholds in force (policy over the options page over the defaults), and the help
/// reasons policy sets (none: the defaults), from the settings read.
pub fn floor_settings(
    managed: &protocol::config::Settings,
    options: &protocol::config::Settings,
) -> (::floor::Thresholds, Vec<String>) {
    let reasons = managed.help_reasons.clone().or(options.help_reasons.clone()).unwrap_or_default();
    (::floor::Thresholds::from_settings(managed, options), reasons)
}

/// The key under which `principal`'s chosen caller ID is kept in `chrome.storage.local`.
fn caller_id_key(principal: &str) -> String {
    format!("caller-id:{principal}")
}

/// The caller ID (queue ARN) `principal` last chose.
pub async fn remembered_caller_id(principal: &str) -> Option<String> {
    let key = caller_id_key(principal);
    let items = wasm_bindgen_futures::JsFuture::from(local_get(&JsValue::from_str(&key)).ok()?).await.ok()?;
    js_sys::Reflect::get(&items, &JsValue::from_str(&key)).ok()?.as_string()
}

pub fn remember_caller_id(principal: &str, queue_arn: &str) {
    let items = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&items, &JsValue::from_str(&caller_id_key(principal)), &JsValue::from_str(queue_arn));
    let _ = local_set(&items);
}
