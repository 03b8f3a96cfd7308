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

/// An HTTP answer: whether its status is 2xx, the status, and the body as text.
pub struct Answer {
    pub ok: bool,
    pub status: u16,
    pub text: String,
}

/// `fetch(url)` with a method, headers and an optional body; `Err` only when no answer came.
pub async fn fetch(url: &str, method: &str, headers: &[(&str, &str)], body: Option<&str>) -> Result<Answer, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let set = web_sys::Headers::new().js_err()?;
    for (name, value) in headers {
        set.set(name, value).js_err()?;
    }
    init.set_headers(&set);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let response = wasm_bindgen_futures::JsFuture::from(scope()?.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| format!("cannot reach {url}"))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not a response".to_owned())?;
    let text = wasm_bindgen_futures::JsFuture::from(response.text().js_err()?).await.js_err()?;
    Ok(Answer { ok: response.ok(), status: response.status(), text: text.as_string().unwrap_or_default() })
}

pub fn now() -> protocol::Millis {
    js_sys::Date::now() as protocol::Millis
}

pub fn log(message: &str) {
    web_sys::console::log_1(&JsValue::from_str(message));
}
