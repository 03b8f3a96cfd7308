//! Small helpers for `JsValue` errors and the service worker's global scope.

use wasm_bindgen::{JsCast, JsValue};

/// Turns a JavaScript exception into a message.
pub trait JsResultExt<T> {
    fn js_err(self) -> Result<T, String>;
}

impl<T> JsResultExt<T> for Result<T, JsValue> {
    fn js_err(self) -> Result<T, String> {
        self.map_err(|e| describe(&e))
    }
}

/// The message of an `Error`, or the value as text.
pub fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

pub fn scope() -> Result<web_sys::ServiceWorkerGlobalScope, String> {
    js_sys::global().dyn_into().map_err(|_| "not running in a service worker".to_owned())
}

pub fn now() -> protocol::Millis {
    js_sys::Date::now() as protocol::Millis
}

pub fn log(message: &str) {
    web_sys::console::log_1(&JsValue::from_str(message));
}
