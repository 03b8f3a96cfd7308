//! The worker's browser side: ports, the relay WebSocket, timers, storage, badge and
//! notifications. It feeds events to [`Core`] and performs the [`Effect`]s it returns.
//!
//! Chrome may stop the worker at any time. Everything that must survive (the outbox, the chat
//! cursors, the session, a sign-out) is in `chrome.storage`; ports and the socket are re-made
//! when a tab or panel reconnects, which also wakes the worker.
//!
//! Sign-in: silent at start-up and on renewal; a window only when the person asks. After they
//! sign out, nothing signs them in again by itself (not a worker restart, not new settings), and
//! their next sign-in makes the issuer authenticate again (`prompt=login`).

use std::cell::RefCell;

use gloo_timers::callback::{Interval, Timeout};
use js_sys::{Array, Promise};
use protocol::config::{Config, OPTIONS_KEY, Settings};
use protocol::panel::{Connection, OutboxEntry, PANEL_PORT, PanelToWorker, Problem};
use protocol::tab::{TAB_PORT, TabToWorker};
use protocol::{ClientFrame, CloseCode, Cursor, PROTOCOL_VERSION, ServerFrame};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::auth::{Prompt, Session};
use crate::chrome::{self, Port};
use crate::core::{Core, Effect, PanelId, TabId};
use crate::js::{log, now};
use crate::link;
use crate::map::VecMap;
use crate::signin;

const OUTBOX_KEY: &str = "outbox";
const FAILED_KEY: &str = "failed_chats";
const CURSORS_KEY: &str = "cursors";
const CALLS_KEY: &str = "pending_calls";
const SESSION_KEY: &str = "session";
/// Set (in `chrome.storage.local`) when the person signs out; cleared by their next sign-in.
const SIGNED_OUT_KEY: &str = "signed_out";
/// Pings keep the relay's idle timer and Chrome's worker lifetime both fed.
const PING_MS: u32 = 20_000;
/// A renewal that failed is tried again after this long, while the token lasts.
const RENEW_RETRY_MS: i64 = 30_000;

struct Socket {
    ws: WebSocket,
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

struct Runtime {
    core: Core,
    config: Config,
    session: Option<Session>,
    socket: Option<Socket>,
    generation: u32,
    attempt: u32,
    panels: VecMap<PanelId, Port>,
    tabs: VecMap<TabId, Port>,
    next_panel: PanelId,
    retry: Option<Timeout>,
    /// A sign-in tried again after the issuer could not be reached.
    sign_in_retry: Option<Timeout>,
    /// Sign-ins in a row that could not reach the issuer.
    sign_in_failures: u32,
    renew: Option<Timeout>,
    _ping: Option<Interval>,
    next_frame: u64,
    signed_in_again: bool,
    sign_ins: u32,
    /// The person signed out: only they sign in again, by asking.
    signed_out: bool,
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
    let text: String = js_sys::JSON::stringify(value).map(String::from).map_err(|_| "not JSON".to_owned())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn perform(effects: Vec<Effect>) {
    if effects.is_empty() {
        return;
    }
    RUNTIME.with(|r| {
        let r = r.borrow();
        let Some(rt) = r.as_ref() else { return };
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
                Effect::Notify { peer, title, body } => notify(&peer, &title, &body),
                Effect::SaveOutbox(outbox) => save(OUTBOX_KEY, to_js(&outbox), false),
                Effect::SaveFailed(failed) => save(FAILED_KEY, to_js(&failed), false),
                Effect::SaveCalls(calls) => save(CALLS_KEY, to_js(&calls), false),
                Effect::SaveCursors { owner, cursors } => {
                    save(&format!("{CURSORS_KEY}:{owner}"), to_js(&cursors), false)
                }
                Effect::Api(api) => {
                    let Some(session) = &rt.session else { continue };
                    let (base, token) = (rt.config.api_base(), session.id_token.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let reply = crate::api::call(&base, &token, api).await;
                        with(|rt| rt.core.on_api(reply));
                    });
                }
            }
        }
    });
}

fn save(key: &str, value: JsValue, session: bool) {
    let items = chrome::object(&[(key, value)]);
    let promise = if session { chrome::session_set(&items) } else { chrome::local_set(&items) };
    if let Ok(promise) = promise {
        spawn_local(async move {
            if let Err(e) = JsFuture::from(promise).await {
                log(&format!("could not save: {}", crate::js::describe(&e)));
            }
        });
    }
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

fn notify(peer: &str, title: &str, body: &str) {
    let body: String = body.chars().take(200).collect();
    let options = chrome::object(&[
        ("type", "basic".into()),
        ("iconUrl", chrome::extension_url("icons/icon128.png").into()),
        ("title", title.into()),
        ("message", body.into()),
    ]);
    if let Ok(promise) = chrome::notify(&format!("chat:{peer}"), &options.into()) {
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

async fn load_config() -> Config {
    let managed: Settings = match chrome::managed_get(&JsValue::NULL) {
        Ok(p) => JsFuture::from(p).await.ok().map(from_js).unwrap_or_default(),
        Err(_) => Settings::default(),
    };
    let options: Settings = from_js(read(chrome::local_get(&OPTIONS_KEY.into()), OPTIONS_KEY).await);
    Config::merge(&managed, &options)
}

/// Reads storage, builds the runtime, and adopts the ports that arrived meanwhile.
pub async fn start() {
    let config = load_config().await;
    let outbox: Vec<OutboxEntry> = from_js(read(chrome::local_get(&OUTBOX_KEY.into()), OUTBOX_KEY).await);
    let calls: Vec<crate::core::PendingCall> = from_js(read(chrome::local_get(&CALLS_KEY.into()), CALLS_KEY).await);
    let failed: Vec<protocol::panel::FailedChat> =
        from_js(read(chrome::local_get(&FAILED_KEY.into()), FAILED_KEY).await);
    let session: Option<Session> = from_js(read(chrome::session_get(&SESSION_KEY.into()), SESSION_KEY).await);
    let signed_out = read(chrome::local_get(&SIGNED_OUT_KEY.into()), SIGNED_OUT_KEY).await.as_bool() == Some(true);
    let session = session.filter(|s| !signed_out && s.expires_at > now() + 60_000);
    RUNTIME.with(|r| {
        *r.borrow_mut() = Some(Runtime {
            core: Core::new(outbox, Vec::new()).with_pending_calls(calls).with_failed(failed),
            config,
            session,
            socket: None,
            generation: 0,
            attempt: 0,
            panels: VecMap::new(),
            tabs: VecMap::new(),
            next_panel: 1,
            retry: None,
            sign_in_retry: None,
            sign_in_failures: 0,
            renew: None,
            _ping: Some(Interval::new(PING_MS, || with(|rt| rt.ping()))),
            next_frame: 1 << 40,
            signed_in_again: false,
            sign_ins: 0,
            signed_out,
        })
    });
    for (port, early) in EARLY.with(|e| std::mem::take(&mut *e.borrow_mut())) {
        adopt(port, early);
    }
    if STALE_CONFIG.with(|s| s.replace(false)) {
        return reconfigure().await;
    }
    let has_session = RUNTIME.with(|r| r.borrow().as_ref().is_some_and(|rt| rt.session.is_some()));
    if has_session {
        connect().await;
    } else {
        sign_in(Prompt::Silent).await;
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
    let url = chrome::get(&sender, "url").as_string().unwrap_or_default();
    match port.name().as_str() {
        TAB_PORT => {
            let frame = chrome::get(&sender, "frameId").as_f64();
            let Some(tab) = tab.filter(|_| frame == Some(0.0)) else { return port.disconnect() };
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
        PANEL_PORT if url.starts_with(&chrome::extension_url("panel.html")) => {
            let panel = RUNTIME.with(|r| {
                r.borrow_mut().as_mut().map(|rt| {
                    rt.next_panel += 1;
                    rt.next_panel
                })
            });
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
                rt.core.panel_opened(panel, tab)
            });
            for m in early.iter() {
                on_panel_message(panel, m);
            }
        }
        _ => port.disconnect(),
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
        Ok(PanelToWorker::SignIn) => spawn_local(sign_in(Prompt::Interactive)),
        Ok(PanelToWorker::SignOut) => sign_out(),
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

/// Settings changed on the options page or by policy: sign in again with the new ones.
pub async fn reconfigure() {
    if RUNTIME.with(|r| r.borrow().is_none()) {
        STALE_CONFIG.with(|s| s.set(true));
        return;
    }
    let config = load_config().await;
    with(|rt| {
        rt.config = config;
        rt.session = None;
        rt.close(1000);
        Vec::new()
    });
    sign_in(Prompt::Silent).await;
}

fn forget(promise: Result<Promise, JsValue>) {
    if let Ok(p) = promise {
        spawn_local(async move {
            let _ = JsFuture::from(p).await;
        });
    }
}

/// The person signed out: the session is forgotten, the mark that they did is kept across
/// worker restarts, and a sign-in in flight is ignored when it ends.
fn sign_out() {
    save(SIGNED_OUT_KEY, JsValue::TRUE, false);
    forget(chrome::session_remove(&SESSION_KEY.into()));
    with(|rt| {
        rt.signed_out = true;
        rt.sign_ins += 1;
        rt.sign_in_retry = None;
        rt.session = None;
        rt.close(1000);
        rt.core.sign_out()
    });
}

/// Signs in with the current settings. A newer attempt (new settings, a click, a sign-out)
/// supersedes this one: whatever this one finds out later is ignored. After a sign-out only an
/// interactive attempt runs, and it asks the issuer to authenticate again.
async fn sign_in(prompt: Prompt) {
    let started = RUNTIME.with(|r| {
        let mut r = r.borrow_mut();
        let rt = r.as_mut()?;
        if rt.signed_out && !prompt.interactive() {
            return None;
        }
        rt.sign_ins += 1;
        rt.sign_in_retry = None;
        let prompt = if rt.signed_out { Prompt::Login } else { prompt };
        Some((rt.config.clone(), rt.sign_ins, prompt))
    });
    let Some((config, attempt, prompt)) = started else {
        return with(|rt| rt.core.set_connection(Connection::SignedOut));
    };
    with(|rt| rt.core.set_connection(Connection::SigningIn));
    let result = signin::sign_in(&config, prompt).await;
    log(&format!("sign-in attempt {attempt} with {}: {}", config.issuer, if result.is_ok() { "ok" } else { "failed" }));
    if RUNTIME.with(|r| r.borrow().as_ref().map(|rt| rt.sign_ins)) != Some(attempt) {
        return;
    }
    match result {
        Ok(session) => {
            save(SESSION_KEY, to_js(&session), true);
            forget(chrome::local_remove(&SIGNED_OUT_KEY.into()));
            with(|rt| {
                rt.signed_out = false;
                rt.sign_in_failures = 0;
                rt.session = Some(session);
                Vec::new()
            });
            connect().await;
        }
        Err(error) => {
            log(&format!("sign-in: {}", error.detail()));
            with(|rt| {
                let failures =
                    if matches!(error, link::SignInError::Unreachable(_)) { rt.sign_in_failures + 1 } else { 0 };
                rt.sign_in_failures = failures.min(16);
                let jitter = js_sys::Math::random();
                let (connection, retry) = link::after_sign_in_failure(&error, prompt, failures, now(), jitter);
                // Tried again (with this attempt's prompt) while it is the newest; a click, a
                // sign-out or new settings in the meantime make it moot.
                rt.sign_in_retry = retry.map(|retry| {
                    Timeout::new(retry.wait_ms, move || {
                        let current = RUNTIME.with(|r| r.borrow().as_ref().map(|rt| rt.sign_ins)) == Some(attempt);
                        if current {
                            spawn_local(sign_in(retry.prompt));
                        }
                    })
                });
                rt.core.set_connection(connection)
            });
        }
    }
}

/// Opens the relay socket, after reading the cursors of the signed-in principal.
async fn connect() {
    let owner = RUNTIME.with(|r| {
        r.borrow().as_ref().and_then(|rt| rt.session.as_ref().map(|s| crate::auth::account_key(&s.id_token)))
    });
    let Some(owner) = owner else { return };
    let key = format!("{CURSORS_KEY}:{owner}");
    let cursors: Vec<Cursor> = from_js(read(chrome::local_get(&key.clone().into()), &key).await);
    with(|rt| {
        rt.core.restore_cursors(&owner, cursors);
        rt.open()
    });
}

impl Runtime {
    /// Renews the ID token in `wait_ms`.
    fn renew_after(&mut self, wait_ms: i64) {
        let wait = wait_ms.clamp(0, i64::from(i32::MAX)) as u32;
        self.renew = Some(Timeout::new(wait, || spawn_local(renew())));
    }

    fn send(&self, frame: &ClientFrame) {
        if let Some(socket) = &self.socket
            && socket.ws.ready_state() == WebSocket::OPEN
            && let Ok(text) = serde_json::to_string(frame)
        {
            let _ = socket.ws.send_with_str(&text);
        }
    }

    fn ping(&mut self) -> Vec<Effect> {
        self.next_frame += 1;
        self.send(&ClientFrame::Ping { id: self.next_frame });
        self.core.tick()
    }

    fn close(&mut self, code: u16) {
        self.generation += 1;
        self.retry = None;
        self.renew = None;
        if let Some(socket) = self.socket.take() {
            let _ = socket.ws.close_with_code(code);
        }
    }

    fn open(&mut self) -> Vec<Effect> {
        self.close(1000);
        let Some(session) = self.session.clone() else { return self.core.set_connection(Connection::SignedOut) };
        let ws = match WebSocket::new(&self.config.relay_url) {
            Ok(ws) => ws,
            Err(e) => {
                let detail = format!("the relay address is not valid: {}", crate::js::describe(&e));
                return self.core.set_connection(Connection::Failed { problem: Problem::BadSettings, detail });
            }
        };
        let generation = self.generation;
        let token = session.id_token.clone();
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            with(|rt| {
                if rt.generation == generation {
                    let client = Some(format!("ccp-sidecar-extension/{}", env!("CARGO_PKG_VERSION")));
                    rt.send(&ClientFrame::Hello {
                        protocol: PROTOCOL_VERSION,
                        token: Some(token.clone()),
                        ticket: None,
                        client,
                    });
                }
                Vec::new()
            })
        });
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string()) else { return };
            match protocol::decode_server(&text) {
                Ok(frame) => with(|rt| rt.on_frame(generation, frame)),
                Err(e) => log(&format!("relay sent a frame this version does not know: {}", e.0)),
            }
        });
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let (code, reason) =
                event.dyn_ref::<CloseEvent>().map(|e| (e.code(), e.reason())).unwrap_or((1006, String::new()));
            with(|rt| if rt.generation == generation { rt.on_close(code, reason) } else { Vec::new() })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socket = Some(Socket { ws, _callbacks: vec![on_open, on_message, on_close] });
        self.core.set_connection(Connection::Connecting)
    }

    fn on_frame(&mut self, generation: u32, frame: ServerFrame) -> Vec<Effect> {
        if generation != self.generation {
            return Vec::new();
        }
        if let ServerFrame::Error { error, .. } = &frame {
            log(&format!("relay: {} ({})", error.message, error.code.as_str()));
        }
        if let ServerFrame::Welcome { expires_at, .. } = &frame {
            self.attempt = 0;
            self.signed_in_again = false;
            self.renew_after(crate::auth::renew_in(now(), *expires_at));
        }
        self.core.on_frame(frame)
    }

    fn on_close(&mut self, code: u16, reason: String) -> Vec<Effect> {
        self.socket = None;
        let close = CloseCode::from_code(code);
        // An expired token, or one the issuer no longer vouches for (its keys changed): sign in
        // again without asking, once; a second refusal in a row is shown.
        let refused = close == Some(CloseCode::Unauthenticated) && !self.signed_in_again;
        if close == Some(CloseCode::TokenExpired) || refused {
            self.signed_in_again = refused;
            self.session = None;
            spawn_local(sign_in(Prompt::Silent));
            return self.core.set_connection(Connection::SigningIn);
        }
        let (problem, retry) = link::after_close(code);
        if !retry {
            let detail = if reason.is_empty() { format!("the relay closed the connection ({code})") } else { reason };
            return self.core.set_connection(Connection::Failed { problem, detail });
        }
        self.attempt = (self.attempt + 1).min(16);
        let delay = link::backoff_ms(self.attempt, js_sys::Math::random());
        let generation = self.generation;
        self.retry = Some(Timeout::new(delay, move || {
            with(|rt| if rt.generation == generation { rt.open() } else { Vec::new() })
        }));
        self.core.set_connection(Connection::Offline { retry_at: now() + i64::from(delay), problem })
    }
}

/// Renews the ID token silently, hands it to the open connection with `reauth`, and plans the
/// next renewal. A sign-out or a new sign-in meanwhile makes the answer moot.
async fn renew() {
    let started = RUNTIME.with(|r| {
        r.borrow()
            .as_ref()
            .filter(|rt| rt.session.is_some() && !rt.signed_out)
            .map(|rt| (rt.config.clone(), rt.sign_ins))
    });
    let Some((config, attempt)) = started else { return };
    let result = signin::sign_in(&config, Prompt::Silent).await;
    with(|rt| {
        let current = rt.sign_ins == attempt && !rt.signed_out;
        let Some(expires_at) = rt.session.as_ref().filter(|_| current).map(|s| s.expires_at) else {
            return Vec::new();
        };
        match result {
            Ok(session) => {
                save(SESSION_KEY, to_js(&session), true);
                rt.next_frame += 1;
                rt.send(&ClientFrame::Reauth { id: rt.next_frame, token: session.id_token.clone() });
                rt.renew_after(crate::auth::renew_in(now(), session.expires_at));
                rt.session = Some(session);
            }
            Err(reason) => {
                log(&format!("renewal: {}", reason.detail()));
                // While the token lasts, try again; after that the relay's close signs in again.
                if expires_at - now() > RENEW_RETRY_MS {
                    rt.renew_after(RENEW_RETRY_MS);
                }
            }
        }
        Vec::new()
    });
}
