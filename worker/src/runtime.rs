//! The worker's browser side: ports, the relay WebSocket, timers, storage, badge, notifications,
//! sign-in and REST calls. It feeds events to [`Core`] and performs the [`Effect`]s it returns;
//! every decision (when to sign in, reconnect or renew, which storage key holds what) is the
//! core's.
//!
//! Chrome may stop the worker at any time. Everything that must survive (the outbox, the chat
//! cursors, the session, a sign-out) is in `chrome.storage`; ports and the socket are re-made
//! when a tab or panel reconnects, which also wakes the worker.

use std::cell::RefCell;

use floor::Thresholds;
use gloo_timers::callback::Timeout;
use js_sys::{Array, Promise};
use protocol::config::{Config, OPTIONS_KEY, Settings};
use protocol::panel::PanelToWorker;
use protocol::tab::TabToWorker;
use protocol::{ClientFrame, Cursor};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::chrome::{self, Port};
use crate::core::{
    Core, Effect, PanelId, PortOf, TabId, Timer, accept_port, alert_notification_id, help_notification_id,
};
use crate::js::{log, now};
use crate::map::VecMap;
use crate::storage::{Area, Key, Record, Stored};
use crate::{signin, text};

struct Socket {
    ws: WebSocket,
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

struct Runtime {
    core: Core,
    config: Config,
    socket: Option<Socket>,
    panels: VecMap<PanelId, Port>,
    tabs: VecMap<TabId, Port>,
    /// One of each of the core's [`Timer`]s, by `Timer as usize`.
    timers: [Option<Timeout>; Timer::ALL.len()],
}

thread_local! {
    static RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
    /// Ports that connected before storage was read, with the messages they already sent.
    static EARLY: RefCell<Vec<(Port, Array)>> = const { RefCell::new(Vec::new()) };
    /// Settings changed while `start` was still reading them.
    static STALE_CONFIG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on the runtime (if started) and then performs the effects it returned.
fn with<F: FnOnce(&mut Runtime) -> Vec<Effect>>(f: F) {
    let effects = RUNTIME.with(|r| r.borrow_mut().as_mut().map(f)).unwrap_or_default();
    perform(effects);
}

/// Values cross to JavaScript through JSON text: one serde backend (serde_json) for every
/// boundary keeps the module small.
fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_json::to_string(value).ok().and_then(|text| js_sys::JSON::parse(&text).ok()).unwrap_or(JsValue::NULL)
}

fn decode<T: for<'de> serde::Deserialize<'de>>(value: &JsValue) -> Result<T, String> {
    // `undefined` (a key never stored) has no JSON text: an error, not a panic.
    let text = js_sys::JSON::stringify(value).ok().and_then(|t| t.as_string()).ok_or_else(|| "not JSON".to_owned())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Performs the core's effects. What comes back (a socket's events, a sign-in's answer, a
/// timer, a read) comes later, through [`with`], never while the runtime is borrowed here.
fn perform(effects: Vec<Effect>) {
    if effects.is_empty() {
        return;
    }
    RUNTIME.with(|r| {
        let mut r = r.borrow_mut();
        let Some(rt) = r.as_mut() else { return };
        for effect in effects {
            match effect {
                Effect::Relay(frame) => rt.send(&frame),
                Effect::Panels(message) => {
                    let message = to_js(&message);
                    for port in rt.panels.values() {
                        let _ = port.post_message(&message);
                    }
                }
                Effect::Panel(panel, message) => {
                    if let Some(port) = rt.panels.get(&panel) {
                        let _ = port.post_message(&to_js(&message));
                    }
                }
                Effect::Tab(tab, message) => {
                    if let Some(port) = rt.tabs.get(&tab) {
                        let _ = port.post_message(&to_js(&message));
                    }
                }
                Effect::Tabs(message) => {
                    let message = to_js(&message);
                    for port in rt.tabs.values() {
                        let _ = port.post_message(&message);
                    }
                }
                Effect::Badge(count) => badge(count),
                Effect::Notify { peer, title, body } => notify(&format!("chat:{peer}"), &title, &body),
                Effect::NotifyAlert(alert) => {
                    let rule = &alert.key.rule;
                    let state = match rule {
                        protocol::Rule::NotRoutable { state } => state.as_str(),
                        _ => "",
                    };
                    let text = text::message(&format!("rule_{}", rule.as_str()), &[state]);
                    notify(&alert_notification_id(&alert), &alert.name, &text);
                }
                Effect::NotifyHelp(request) => {
                    // "Help: Aiko Tanaka" / "Customer complaint · the customer wants a refund".
                    let title = text::message("help_notify_title", &[&request.display_name]);
                    // The default reasons are keys, translated; a policy's own are shown as written.
                    let reason = if protocol::help::DEFAULT_HELP_REASONS.contains(&request.reason.as_str()) {
                        text::message(&format!("help_reason_{}", request.reason), &[])
                    } else {
                        request.reason.clone()
                    };
                    let body = if request.note.is_empty() { reason } else { format!("{reason} · {}", request.note) };
                    notify(&help_notification_id(&request), &title, &body);
                }
                Effect::Reload => chrome::reload(),
                Effect::OpenPage(page) => {
                    let _ = chrome::tabs_create(&chrome::object(&[("url", chrome::extension_url(page).into())]));
                }
                Effect::FocusTab(tab) => {
                    let _ = chrome::tabs_update(tab, &chrome::object(&[("active", JsValue::TRUE)]));
                }
                Effect::Save(record) => save(&record),
                Effect::Remove(key) => {
                    let name = JsValue::from_str(&key.name());
                    forget(match key.area() {
                        Area::Local => chrome::local_remove(&name),
                        Area::Session => chrome::session_remove(&name),
                    });
                }
                Effect::Load(key) => spawn_local(async move {
                    let value = load(&key).await;
                    if let Key::Cursors(owner) = key {
                        let cursors: Vec<Cursor> = from_js(value);
                        with(|rt| rt.core.cursors_loaded(&owner, cursors));
                    }
                }),
                Effect::OpenSocket { socket } => rt.open(socket),
                Effect::CloseSocket { code } => {
                    if let Some(socket) = rt.socket.take() {
                        let _ = socket.ws.close_with_code(code);
                    }
                }
                Effect::SignIn { attempt, prompt } => {
                    let config = rt.config.clone();
                    spawn_local(async move {
                        let result = signin::sign_in(&config, prompt).await;
                        match &result {
                            Ok(_) => log(&format!("sign-in {attempt} with {}: ok", config.issuer)),
                            Err(e) => log(&format!("sign-in {attempt} with {}: {}", config.issuer, e.detail())),
                        }
                        with(|rt| rt.core.signed_in(attempt, result, now(), js_sys::Math::random()));
                    });
                }
                Effect::SetTimer { timer, ms } => {
                    rt.timers[timer as usize] =
                        Some(Timeout::new(ms, move || with(|rt| rt.core.timer_fired(timer, now()))));
                }
                Effect::CancelTimer(timer) => rt.timers[timer as usize] = None,
                Effect::Api(api) => {
                    let Some(token) = rt.core.token() else { continue };
                    let (base, token) = (rt.config.api_base(), token.to_owned());
                    let country = rt.config.default_country.clone();
                    spawn_local(async move {
                        let reply = crate::api::call(&base, &token, country, api).await;
                        with(|rt| rt.core.on_api(reply));
                    });
                }
            }
        }
    });
}

/// Writes a record under its key.
fn save(record: &Record) {
    let value = match record {
        Record::Outbox(outbox) => to_js(outbox),
        Record::FailedChats(failed) => to_js(failed),
        Record::PendingCalls(calls) => to_js(calls),
        Record::Cursors { cursors, .. } => to_js(cursors),
        Record::Session(session) => to_js(session),
        Record::SignedOut => JsValue::TRUE,
        Record::Watch(rosters) => to_js(rosters),
        Record::AlertsSeen(seen) => to_js(seen),
    };
    let key = record.key();
    let items = chrome::object(&[(&key.name(), value)]);
    let promise = match key.area() {
        Area::Local => chrome::local_set(&items),
        Area::Session => chrome::session_set(&items),
    };
    if let Ok(promise) = promise {
        spawn_local(async move {
            if let Err(e) = JsFuture::from(promise).await {
                log(&format!("could not save: {}", crate::js::describe(&e)));
            }
        });
    }
}

/// Reads a key (`undefined` when absent or unreadable).
async fn load(key: &Key) -> JsValue {
    let name = key.name();
    let promise = match key.area() {
        Area::Local => chrome::local_get(&JsValue::from_str(&name)),
        Area::Session => chrome::session_get(&JsValue::from_str(&name)),
    };
    read(promise, &name).await
}

fn badge(count: u64) {
    let text = match count {
        0 => String::new(),
        1..=99 => count.to_string(),
        _ => "99+".into(),
    };
    let _ = chrome::set_badge_text(&chrome::object(&[("text", text.into())]).into());
    let _ = chrome::set_badge_background_color(&chrome::object(&[("color", "#d13212".into())]).into());
}

/// A notification under `id` (one per chat peer, one per agent's alerts: a new one replaces it).
fn notify(id: &str, title: &str, body: &str) {
    let body: String = body.chars().take(200).collect();
    let options = chrome::object(&[
        ("type", "basic".into()),
        ("iconUrl", chrome::extension_url("icons/icon128.png").into()),
        ("title", title.into()),
        ("message", body.into()),
    ]);
    if let Ok(promise) = chrome::notify(id, &options.into()) {
        spawn_local(async move {
            let _ = JsFuture::from(promise).await;
        });
    }
}

async fn read(promise: Result<Promise, JsValue>, key: &str) -> JsValue {
    match promise {
        Ok(p) => JsFuture::from(p).await.map(|items| chrome::get(&items, key)).unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    }
}

fn from_js<T: for<'de> serde::Deserialize<'de> + Default>(value: JsValue) -> T {
    if value.is_undefined() || value.is_null() {
        return T::default();
    }
    decode(&value).unwrap_or_default()
}

/// The settings in force: the link's, and the alert thresholds (policy over the options page).
async fn load_config() -> (Config, Thresholds) {
    let managed: Settings = match chrome::managed_get(&JsValue::NULL) {
        Ok(p) => JsFuture::from(p).await.ok().map(from_js).unwrap_or_default(),
        Err(_) => Settings::default(),
    };
    let options: Settings = from_js(read(chrome::local_get(&OPTIONS_KEY.into()), OPTIONS_KEY).await);
    let config = Config::merge(&managed, &options);
    text::follow(config.ui_language.as_deref()).await;
    (config, Thresholds::from_settings(&managed, &options))
}

/// Reads storage, builds the runtime, adopts the ports that arrived meanwhile, and starts.
pub async fn start() {
    let (mut config, thresholds) = load_config().await;
    let mut stored = Stored {
        outbox: from_js(load(&Key::Outbox).await),
        failed: from_js(load(&Key::FailedChats).await),
        calls: from_js(load(&Key::PendingCalls).await),
        session: from_js(load(&Key::Session).await),
        signed_out: load(&Key::SignedOut).await.as_bool() == Some(true),
        watch: from_js(load(&Key::Watch).await),
        seen: from_js(load(&Key::AlertsSeen).await),
        thresholds,
        scope: None,
    };
    // Settings changed meanwhile: the new ones, and a sign-in with them rather than the session
    // kept from the old ones.
    while STALE_CONFIG.with(|s| s.replace(false)) {
        (config, stored.thresholds) = load_config().await;
        stored.session = None;
    }
    stored.scope = config.roster.clone();
    // The core is made from storage before any port is heard (`Core::start`).
    let (core, effects) = Core::start(stored, now());
    RUNTIME.with(|r| {
        *r.borrow_mut() = Some(Runtime {
            core,
            config,
            socket: None,
            panels: VecMap::new(),
            tabs: VecMap::new(),
            timers: Default::default(),
        })
    });
    perform(effects);
    for (port, early) in EARLY.with(|e| std::mem::take(&mut *e.borrow_mut())) {
        adopt(port, early);
    }
}

/// A port from a content script or a panel; `early` holds messages it sent before this call.
pub fn connect_port(port: Port, early: Array) {
    let started = RUNTIME.with(|r| r.borrow().is_some());
    if started {
        adopt(port, early);
    } else {
        EARLY.with(|e| e.borrow_mut().push((port, early)));
    }
}

fn adopt(port: Port, early: Array) {
    // A page that closed or navigated away while the worker was starting left a dead port, whose
    // events cannot even be read: forget it (the exception would end the worker's start-up).
    let (Ok(messages), Ok(disconnects)) = (port.on_message(), port.on_disconnect()) else { return };
    let sender = port.sender();
    let tab = chrome::get(&chrome::get(&sender, "tab"), "id").as_f64().map(|t| t as TabId);
    let frame = chrome::get(&sender, "frameId").as_f64().map(|f| f as i64);
    let url = chrome::get(&sender, "url").as_string().unwrap_or_default();
    match accept_port(&port.name(), tab, frame, &url, &chrome::extension_url("")) {
        Some(PortOf::Tab(tab)) => {
            let on_message = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| on_tab_message(tab, m));
            messages.add_listener(on_message.as_ref().unchecked_ref());
            on_message.forget();
            // A reloaded page's new port may connect before the old one's disconnect arrives:
            // only the port still registered for the tab closes it.
            let this = port.clone();
            let on_disconnect = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                with(|rt| {
                    let current = rt.tabs.get(&tab).is_some_and(|p| {
                        let (p, this): (&JsValue, &JsValue) = (p.as_ref(), this.as_ref());
                        p == this
                    });
                    if !current {
                        return Vec::new();
                    }
                    rt.tabs.remove(&tab);
                    rt.core.tab_closed(tab)
                })
            });
            disconnects.add_listener(on_disconnect.as_ref().unchecked_ref());
            on_disconnect.forget();
            with(|rt| {
                rt.tabs.insert(tab, port.clone());
                rt.core.tab_opened(tab)
            });
            for m in early.iter() {
                on_tab_message(tab, m);
            }
        }
        Some(of @ (PortOf::Panel(tab) | PortOf::Floor(tab))) => {
            let panel = RUNTIME.with(|r| r.borrow_mut().as_mut().map(|rt| rt.core.new_panel()));
            let Some(panel) = panel else { return };
            let on_message = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| on_panel_message(panel, m));
            messages.add_listener(on_message.as_ref().unchecked_ref());
            on_message.forget();
            let on_disconnect = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                with(|rt| {
                    rt.panels.remove(&panel);
                    rt.core.panel_closed(panel);
                    Vec::new()
                })
            });
            disconnects.add_listener(on_disconnect.as_ref().unchecked_ref());
            on_disconnect.forget();
            with(|rt| {
                rt.panels.insert(panel, port.clone());
                match of {
                    PortOf::Floor(_) => rt.core.floor_opened(panel, tab),
                    _ => rt.core.panel_opened(panel, tab),
                }
            });
            for m in early.iter() {
                on_panel_message(panel, m);
            }
        }
        None => port.disconnect(),
    }
}

fn on_tab_message(tab: TabId, message: JsValue) {
    match decode::<TabToWorker>(&message) {
        Ok(message) => with(|rt| rt.core.on_tab(tab, message)),
        Err(e) => log(&format!("refused a message from tab {tab}: {e}")),
    }
}

fn on_panel_message(panel: PanelId, message: JsValue) {
    match decode::<PanelToWorker>(&message) {
        Ok(request) => with(|rt| rt.core.on_panel(panel, request, now())),
        Err(e) => log(&format!("refused a message from a panel: {e}")),
    }
}

/// The name of the dock's keyboard shortcut in the manifest's `commands`.
const TOGGLE_DOCK: &str = "toggle-dock";

/// A keyboard shortcut (`chrome.commands.onCommand`): `toggle-dock` toggles the dock of the focused CCP tab.
pub fn command(name: &str) {
    if name == TOGGLE_DOCK {
        with(|rt| rt.core.toggle_dock());
    }
}

/// Settings changed on the options page or by policy: the core decides what follows.
pub async fn reconfigure() {
    if RUNTIME.with(|r| r.borrow().is_none()) {
        STALE_CONFIG.with(|s| s.set(true));
        return;
    }
    let (config, thresholds) = load_config().await;
    with(|rt| {
        let before = std::mem::replace(&mut rt.config, config);
        rt.core.settings_changed(&before, &rt.config, thresholds, now())
    });
}

/// The toolbar action was clicked.
pub fn action() {
    with(|rt| rt.core.action_clicked());
}

/// A notification was clicked.
pub fn notification_clicked(id: &str) {
    with(|rt| rt.core.notification_clicked(id));
}

/// Chrome has a new version of the extension ready.
pub fn update_available() {
    with(|rt| rt.core.update_available());
}

fn forget(promise: Result<Promise, JsValue>) {
    if let Ok(p) = promise {
        spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

impl Runtime {
    /// Sends a frame on the current socket, if it is open.
    fn send(&self, frame: &ClientFrame) {
        if let Some(socket) = &self.socket
            && socket.ws.ready_state() == WebSocket::OPEN
            && let Ok(text) = serde_json::to_string(frame)
        {
            let _ = socket.ws.send_with_str(&text);
        }
    }

    /// Opens the core's socket `id` to the configured relay; its events go back to the core with
    /// that number.
    fn open(&mut self, id: u64) {
        if let Some(old) = self.socket.take() {
            let _ = old.ws.close_with_code(1000);
        }
        let ws = match WebSocket::new(&self.config.relay_url) {
            Ok(ws) => ws,
            Err(e) => {
                let detail = format!("the relay address is not valid: {}", crate::js::describe(&e));
                return spawn_local(async move { with(|rt| rt.core.socket_failed(id, detail)) });
            }
        };
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| with(|rt| rt.core.socket_opened(id)));
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string()) else { return };
            match protocol::decode_server(&text) {
                Ok(frame) => {
                    if let protocol::ServerFrame::Error { error, .. } = &frame {
                        log(&format!("relay: {} ({})", error.message, error.code.as_str()));
                    }
                    with(|rt| rt.core.socket_frame(id, frame, now()))
                }
                Err(e) => log(&format!("relay sent a frame this version does not know: {}", e.0)),
            }
        });
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let (code, reason) =
                event.dyn_ref::<CloseEvent>().map(|e| (e.code(), e.reason())).unwrap_or((1006, String::new()));
            with(|rt| rt.core.socket_closed(id, code, reason, now(), js_sys::Math::random()))
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket = Some(Socket { ws, _callbacks: vec![on_open, on_message, on_close] });
    }
}
