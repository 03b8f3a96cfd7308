//! The extension's service worker, in Rust compiled to WebAssembly.
//!
//! # Layout
//! - [`core`]: the state and every decision (plain Rust, unit-tested on the host); `core/session`
//!   its sign-in, renewal, socket, reconnect and timer decisions.
//! - [`storage`]: every `chrome.storage` key and what is kept under it (plain Rust).
//! - [`link`]: backoff, what a close code means, what follows a failed sign-in (plain Rust).
//! - `map`: `VecMap`, the small sorted map the worker keeps its state in.
//! - [`auth`]: PKCE, the authorization URL, the redirect and the ID token's claims (plain Rust).
//! - `runtime`: performs the core's effects (ports, the relay WebSocket, timers, storage,
//!   badge, notifications, sign-in, REST) and feeds their results back.
//! - `text`: the worker's notifications in the UI language (the browser's, or the one chosen).
//! - `signin`: discovery, `chrome.identity.launchWebAuthFlow`, the code exchange.
//! - `chrome`: the `chrome.*` bindings; `js`: `JsValue` helpers.
//!
//! `worker.js` (the loader) registers Chrome's listeners synchronously and hands ports to
//! [`connect_port`] once the module is instantiated.

pub mod auth;
mod base64url;
pub mod core;
pub mod link;
mod map;
pub mod storage;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
pub mod signin;
#[cfg(target_arch = "wasm32")]
mod text;

#[cfg(target_arch = "wasm32")]
mod exports {
    use wasm_bindgen::prelude::*;

    /// Reads storage and connects; called once by the loader.
    #[wasm_bindgen]
    pub fn start() {
        wasm_bindgen_futures::spawn_local(crate::runtime::start());
    }

    /// A port from a content script or panel, with the messages it sent before the module ran.
    #[wasm_bindgen]
    pub fn connect_port(port: crate::chrome::Port, early: js_sys::Array) {
        crate::runtime::connect_port(port, early);
    }

    /// A keyboard shortcut from the manifest's `commands` was pressed.
    #[wasm_bindgen]
    pub fn command(name: String) {
        crate::runtime::command(&name);
    }

    /// The options page or the managed policy changed.
    #[wasm_bindgen]
    pub fn reconfigure() {
        wasm_bindgen_futures::spawn_local(crate::runtime::reconfigure());
    }

    /// The toolbar action was clicked.
    #[wasm_bindgen]
    pub fn action() {
        crate::runtime::action();
    }

    /// A notification was clicked.
    #[wasm_bindgen]
    pub fn notification_clicked(id: String) {
        crate::runtime::notification_clicked(&id);
    }

    /// Chrome has a new version of the extension ready (`runtime.onUpdateAvailable`).
    #[wasm_bindgen]
    pub fn update_available() {
        crate::runtime::update_available();
    }
}

/// Talc instead of the default dlmalloc: the same behaviour in a smaller module (see
/// docs/benchmarks.md).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
