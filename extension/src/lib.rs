//! The CCP Sidecar panel: a yew app in the dock's iframe, talking only to the worker.
//!
//! # Layout
//! - [`format`]: pure helpers (time in state, search, the Enter key, phone checks), host-tested.
//! - [`state`]: `PanelState`, what the worker sent and what the agent did here, and the values
//!   the views derive; `apply` takes each message from the worker (host-tested).
//! - [`virtual_list`]: a list that renders only the rows in view (the roster).
//! - `app`: the root component (the port, the header, the tab list, routing to a view).
//! - `view`: what every view gets (the shared state, its version, the clock) and `Page`, the
//!   component of a `View`; `status`, `chat`, `caller`, `floor`: the views, each with its own
//!   messages (`floor`, a supervisor's, over the `floor` crate's board and alerts); `help`: help
//!   requests as the status, floor and chat views show them; `supervise`: a supervisor's listen-in,
//!   barge-in and status change through Amazon Connect, and how each went.
//! - `options`: the options page.
//! - `chrome`: the port to the worker and `chrome.i18n`; `i18n`: text in the UI language (the
//!   browser's, or the one a policy or the options page chose).

pub mod format;
pub mod state;
pub mod virtual_list;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod caller;
#[cfg(target_arch = "wasm32")]
mod chat;
#[cfg(target_arch = "wasm32")]
mod chrome;
#[cfg(target_arch = "wasm32")]
mod floor;
#[cfg(target_arch = "wasm32")]
mod help;
#[cfg(target_arch = "wasm32")]
mod i18n;
#[cfg(target_arch = "wasm32")]
mod options;
#[cfg(target_arch = "wasm32")]
mod status;
#[cfg(target_arch = "wasm32")]
mod supervise;
#[cfg(target_arch = "wasm32")]
mod view;

/// The page's `#app`, once the UI language's catalogue is read (the first render is already in it).
#[cfg(target_arch = "wasm32")]
async fn root() -> Option<web_sys::Element> {
    i18n::load().await;
    web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("app"))
}

/// Mounts the panel into `#app`; called by `panel.js`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run() {
    wasm_bindgen_futures::spawn_local(async {
        if let Some(root) = root().await {
            yew::Renderer::<app::App>::with_root(root).render();
        }
    });
}

/// Mounts the full-tab floor into `#app`; called by `floor.js` (`floor.html`).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run_floor() {
    wasm_bindgen_futures::spawn_local(async {
        if let Some(root) = root().await {
            yew::Renderer::<app::App>::with_root_and_props(root, app::AppProps { floor_page: true }).render();
        }
    });
}

/// Mounts the options page into `#app`; called by `options.js`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn run_options() {
    wasm_bindgen_futures::spawn_local(async {
        if let Some(root) = root().await {
            yew::Renderer::<options::Options>::with_root(root).render();
        }
    });
}
