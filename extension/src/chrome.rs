//! The `chrome.*` APIs the panel uses: one port to the worker and `chrome.i18n`.

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
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = get, catch)]
    pub fn local_get(keys: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "local"], js_name = set, catch)]
    pub fn local_set(items: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["chrome", "storage", "managed"], js_name = get, catch)]
    pub fn managed_get(keys: &JsValue) -> Result<js_sys::Promise, JsValue>;
}
