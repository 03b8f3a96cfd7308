//! The panel's root component: the port to the worker, the header, the tab list and the routing
//! to the view of the selected tab. The state is a `PanelState` shared with the views, which
//! change it through its methods and hand the [`Effect`]s back here to perform.
//!
//! Messages from the worker are queued and applied together once per animation frame (or after
//! [`FLUSH_MS`] in a hidden page, where frames stop), with one render: a floor of thousands of
//! agents takes a burst of pushes without a render each. The same root runs the full-tab floor
//! (`floor.html`, [`AppProps::floor_page`]).

use gloo_timers::callback::{Interval, Timeout};
use protocol::Millis;
use protocol::panel::{Connection, PANEL_PORT, PanelToWorker, WorkerToPanel};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::chrome::{self, Port};
use crate::state::{Dialing, Effect, Tab};
use crate::view::{Page, Shared, ViewProps};
use crate::{caller, chat, floor, status};

/// The longest a message from the worker waits to be applied when no animation frame comes (a
/// hidden page).
const FLUSH_MS: u32 = 500;

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// The full-tab floor page: the floor first, full width.
    #[prop_or_default]
    pub floor_page: bool,
}

pub enum Msg {
    FromWorker(JsValue),
    /// Apply what the worker sent since the last frame.
    Flush,
    /// The alert thresholds and help reasons in force (read at start, and again when storage
    /// changes).
    Settings(::floor::Thresholds, Vec<String>),
    /// Settings changed in storage: read the thresholds and help reasons again.
    SettingsChanged,
    /// The page became visible and focused, or stopped being either.
    PageFocus,
    Disconnected,
    Reconnect,
    Tick,
    Show(Tab),
    /// Select a tab from the keyboard and move focus to it (WAI-ARIA tabs, roving tabindex).
    FocusTab(Tab),
    /// A view changed the state; these are what the change asks for.
    Effects(Vec<Effect>),
    /// The caller ID this agent chose last time, read from storage.
    Remembered(Option<String>),
    SignIn,
    SignOut,
}

pub struct App {
    port: Option<Port>,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
    _tick: Interval,
    _retry: Option<Timeout>,
    state: Shared,
    version: u64,
    now: Millis,
    effects: Callback<Vec<Effect>>,
    /// The tab to focus after the next render (set by the tab list's keys).
    focus_tab: Option<Tab>,
    /// Messages from the worker not applied yet, and the fallback flush for a hidden page.
    queue: Vec<WorkerToPanel>,
    _flush: Option<Timeout>,
    /// Listeners for the page's focus and visibility, and for settings changes.
    _page: Option<Closure<dyn FnMut(JsValue)>>,
    _storage: Option<Closure<dyn FnMut(JsValue, JsValue)>>,
}

pub fn now() -> Millis {
    js_sys::Date::now() as Millis
}

/// The start of today in the browser's time zone.
fn local_midnight() -> Millis {
    let d = js_sys::Date::new_0();
    d.set_hours(0);
    d.set_minutes(0);
    d.set_seconds(0);
    d.set_milliseconds(0);
    d.get_time() as Millis
}

impl App {
    fn connect(&mut self, ctx: &Context<Self>) {
        let Ok(port) =
            chrome::connect(&js_sys::JSON::parse(&format!(r#"{{"name":"{PANEL_PORT}"}}"#)).unwrap_or_default())
        else {
            return self.schedule_reconnect(ctx);
        };
        let link = ctx.link().clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |m| link.send_message(Msg::FromWorker(m)));
        let link = ctx.link().clone();
        let on_disconnect = Closure::<dyn FnMut(JsValue)>::new(move |_| link.send_message(Msg::Disconnected));
        port.on_message().add_listener(on_message.as_ref().unchecked_ref());
        port.on_disconnect().add_listener(on_disconnect.as_ref().unchecked_ref());
        self._listeners = vec![on_message, on_disconnect];
        self.port = Some(port);
    }

    fn schedule_reconnect(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self._retry = Some(Timeout::new(200, move || link.send_message(Msg::Reconnect)));
    }

    fn post(&self, message: &PanelToWorker) {
        if let Some(port) = &self.port
            && let Ok(text) = serde_json::to_string(message)
            && let Ok(value) = js_sys::JSON::parse(&text)
        {
            let _ = port.post_message(&value);
        }
    }

    /// Queues a message from the worker; the next animation frame applies the queue.
    fn enqueue(&mut self, ctx: &Context<Self>, message: WorkerToPanel) {
        self.queue.push(message);
        if self._flush.is_some() {
            return;
        }
        let link = ctx.link().clone();
        self._flush = Some(Timeout::new(FLUSH_MS, move || link.send_message(Msg::Flush)));
        let link = ctx.link().clone();
        let frame = Closure::once_into_js(move || link.send_message(Msg::Flush));
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(frame.unchecked_ref());
        }
    }

    /// Listens for the page's focus and visibility (the worker does not notify while the floor
    /// is looked at) and for settings changes (the alert thresholds).
    fn listen(&mut self, ctx: &Context<Self>) {
        let Some(w) = web_sys::window() else { return };
        let link = ctx.link().clone();
        let focus = Closure::<dyn FnMut(JsValue)>::new(move |_| link.send_message(Msg::PageFocus));
        for event in ["focus", "blur"] {
            let _ = w.add_event_listener_with_callback(event, focus.as_ref().unchecked_ref());
        }
        if let Some(d) = w.document() {
            let _ = d.add_event_listener_with_callback("visibilitychange", focus.as_ref().unchecked_ref());
        }
        let link = ctx.link().clone();
        let changed = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |changes: JsValue, area: JsValue| {
            let options = js_sys::Reflect::has(&changes, &protocol::config::OPTIONS_KEY.into()).unwrap_or(false);
            if options || area.as_string().as_deref() == Some("managed") {
                link.send_message(Msg::SettingsChanged);
            }
        });
        chrome::on_storage_changed(changed.as_ref().unchecked_ref());
        self._page = Some(focus);
        self._storage = Some(changed);
        ctx.link().send_message(Msg::SettingsChanged);
        ctx.link().send_message(Msg::PageFocus);
    }

    /// Does what a change of the state asked for; the views then show the new state.
    fn perform(&mut self, ctx: &Context<Self>, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Post(message) => self.post(&message),
                Effect::ReadRememberedCallerId => {
                    let (link, me) = (ctx.link().clone(), self.state.borrow().me().to_owned());
                    wasm_bindgen_futures::spawn_local(async move {
                        link.send_message(Msg::Remembered(chrome::remembered_caller_id(&me).await));
                    });
                }
                Effect::Warn(text) => web_sys::console::warn_1(&JsValue::from_str(&text)),
            }
        }
        self.version += 1;
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = AppProps;

    fn create(ctx: &Context<Self>) -> Self {
        let link = ctx.link().clone();
        let state = Shared::default();
        if ctx.props().floor_page {
            let mut s = state.borrow_mut();
            s.floor_page = true;
            s.tab = Tab::Floor;
        }
        let mut app = Self {
            port: None,
            _listeners: Vec::new(),
            _tick: Interval::new(1000, move || link.send_message(Msg::Tick)),
            _retry: None,
            state,
            version: 0,
            now: now(),
            effects: ctx.link().callback(Msg::Effects),
            focus_tab: None,
            queue: Vec::new(),
            _flush: None,
            _page: None,
            _storage: None,
        };
        app.connect(ctx);
        app.listen(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        let effects = match msg {
            Msg::FromWorker(value) => {
                let text = js_sys::JSON::stringify(&value).ok().and_then(|t| t.as_string());
                let Some(message) = text.as_deref().and_then(crate::state::decode) else { return false };
                self.enqueue(ctx, message);
                return false;
            }
            Msg::Flush => {
                self._flush = None;
                if self.queue.is_empty() {
                    return false;
                }
                // The retry countdown starts from the moment it was announced, not the last tick;
                // the floor measures what arrived now.
                self.now = now();
                let mut state = self.state.borrow_mut();
                let mut effects = Vec::new();
                for message in std::mem::take(&mut self.queue) {
                    effects.extend(state.apply(message, self.now));
                }
                effects
            }
            Msg::Settings(thresholds, reasons) => {
                let mut state = self.state.borrow_mut();
                state.set_thresholds(thresholds, now());
                state.set_help_reasons(reasons);
                Vec::new()
            }
            Msg::SettingsChanged => {
                ctx.link().send_future(async {
                    // A new UI language: the page again, in it (the worker keeps everything).
                    let (managed, options) = chrome::settings().await;
                    if crate::i18n::wanted_in(&managed, &options) != crate::i18n::chosen()
                        && let Some(w) = web_sys::window()
                    {
                        let _ = w.location().reload();
                    }
                    let (thresholds, reasons) = chrome::floor_settings(&managed, &options);
                    Msg::Settings(thresholds, reasons)
                });
                return false;
            }
            Msg::PageFocus => {
                let focused = web_sys::window()
                    .and_then(|w| w.document())
                    .is_some_and(|d| !d.hidden() && d.has_focus().unwrap_or(false));
                self.state.borrow_mut().focus(focused)
            }
            Msg::Disconnected => {
                self.port = None;
                self.schedule_reconnect(ctx);
                return false;
            }
            Msg::Reconnect => {
                self.connect(ctx);
                return true;
            }
            Msg::Tick => {
                self.now = now();
                let mut state = self.state.borrow_mut();
                state.tick(self.now);
                // The day's help figures count from local midnight (a new day, a new count).
                let effects = state.day_started(local_midnight());
                drop(state);
                if !effects.is_empty() {
                    self.perform(ctx, effects);
                }
                return true;
            }
            Msg::Show(tab) => self.state.borrow_mut().show(tab),
            Msg::FocusTab(tab) => {
                self.focus_tab = Some(tab);
                self.state.borrow_mut().show(tab)
            }
            Msg::Effects(effects) => effects,
            Msg::Remembered(arn) => {
                if !self.state.borrow_mut().remembered(arn) {
                    return false;
                }
                Vec::new()
            }
            Msg::SignIn => vec![Effect::Post(PanelToWorker::SignIn)],
            Msg::SignOut => vec![Effect::Post(PanelToWorker::SignOut)],
        };
        self.perform(ctx, effects);
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let (selected, unread, alerts, tabs, floor_page) = {
            let state = self.state.borrow();
            // The floor's badge: what needs someone now, alerts and open help requests.
            let waiting = state.floor_help().iter().filter(|r| r.status == protocol::HelpStatus::Open).count();
            (state.tab, state.unread(), state.floor.active().count() + waiting, state.tabs(), state.floor_page)
        };
        let tab = |t: Tab| {
            let (key, is_selected) = (t.key(), selected == t);
            let badge = match t {
                Tab::Chat if unread > 0 => html! {
                    <span class="badge" aria-label={crate::i18n::t1("unread_count", &unread.to_string())}>{unread}</span>
                },
                Tab::Floor if alerts > 0 => html! {
                    <span class="badge" aria-label={crate::i18n::t1("floor_needs_count", &alerts.to_string())}>{alerts}</span>
                },
                _ => html! {},
            };
            html! {
                <button role="tab" id={format!("tab-{key}")} aria-selected={is_selected.to_string()}
                    aria-controls={format!("view-{key}")} tabindex={if is_selected { "0" } else { "-1" }}
                    class={classes!("tab", is_selected.then_some("selected"))}
                    onclick={link.callback(move |_| Msg::Show(t))}>
                    {crate::i18n::t(&format!("tab_{key}"))}{badge}
                </button>
            }
        };
        let props = ViewProps {
            state: self.state.clone(),
            version: self.version,
            now: self.now,
            effects: self.effects.clone(),
        };
        let body = match selected {
            Tab::Status => html! { <Page<status::Status> ..props /> },
            Tab::Chat => html! { <Page<chat::Chat> ..props /> },
            Tab::CallerId => html! { <Page<caller::Caller> ..props /> },
            Tab::Floor => html! { <Page<floor::Floor> ..props /> },
        };
        let key = selected.key();
        let keys = tabs.clone();
        let onkeydown = link.batch_callback(move |e: KeyboardEvent| {
            let target = e.target_dyn_into::<web_sys::Element>()?;
            if target.get_attribute("role").as_deref() != Some("tab") {
                return None;
            }
            let current = keys.iter().position(|t| format!("tab-{}", t.key()) == target.id()).unwrap_or(0);
            let next = crate::format::tab_key(&e.key(), current, keys.len())?;
            e.prevent_default();
            Some(Msg::FocusTab(keys[next]))
        });
        html! {
            <div class={classes!("panel", floor_page.then_some("floor-page"))} lang={crate::i18n::language()}>
                {self.header(ctx)}
                <div role="tablist" class="tabs" aria-label={crate::i18n::t("app_name")} {onkeydown}>
                    {for tabs.into_iter().map(tab)}
                </div>
                <section role="tabpanel" id={format!("view-{key}")} aria-labelledby={format!("tab-{key}")} class="view">
                    {body}
                </section>
            </div>
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if let Some(tab) = self.focus_tab.take()
            && let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&format!("tab-{}", tab.key())))
            && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = el.focus();
        }
        if first_render {
            // The benchmark and tests read this mark: the panel's first render.
            if let Some(doc) = web_sys::window().and_then(|w| w.document())
                && let Some(root) = doc.document_element()
            {
                let _ = root.set_attribute("data-ready", &now().to_string());
                // Which version this is (after an update, the new one's).
                let _ = root.set_attribute("data-version", &chrome::version());
            }
        }
    }
}

/// The result of the last dial or transfer, under the roster and the dial form.
pub fn result_line(dialing: Option<&Dialing>) -> Html {
    let Some(dialing) = dialing else { return html! {} };
    let text = match dialing {
        Dialing::Pending => crate::i18n::t("dial_pending"),
        Dialing::Ok => crate::i18n::t("dial_ok"),
        Dialing::Invalid => crate::i18n::t("dial_invalid"),
        Dialing::Failed(code) => crate::i18n::failure(code.as_deref()),
    };
    html! {
        <p class={classes!("result", (!dialing.ok()).then_some("error"))} role="status" aria-live="polite">{text}</p>
    }
}

impl App {
    fn header(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let t = crate::i18n::t;
        let state = self.state.borrow();
        let w = &state.worker;
        let (class, text) = match &w.connection {
            Connection::Online => ("online", t("conn_online")),
            Connection::Connecting => ("pending", t("conn_connecting")),
            Connection::SigningIn => ("pending", t("conn_signing_in")),
            Connection::SignedOut => ("offline", t("conn_signed_out")),
            Connection::Offline { .. } => ("offline", t("conn_offline")),
            Connection::Failed { .. } => ("error", t("conn_failed")),
        };
        // Why the link is down, in words, under the header: with the countdown to the next try,
        // or (when it will not retry by itself) the refusal's own words as a tooltip.
        let problem = match &w.connection {
            Connection::Offline { retry_at, problem } => {
                let problem = t(&format!("problem_{}", problem.as_str()));
                let text = match crate::format::retry_in_s(*retry_at, self.now) {
                    0 => crate::i18n::t1("conn_retrying_now", &problem),
                    s => crate::i18n::tn("conn_retrying_in", &[&problem, &s.to_string()]),
                };
                // Not a live region: the countdown changes every second (the header's status says
                // "Offline, retrying" once).
                html! { <p class="result error conn-problem">{text}</p> }
            }
            Connection::Failed { problem, detail } => html! {
                <p class="result error conn-problem" role="status" title={detail.clone()}>
                    {t(&format!("problem_{}", problem.as_str()))}
                </p>
            },
            _ => html! {},
        };
        let me = w.me.as_ref();
        let mine = me.and_then(|m| w.roster.iter().find(|p| p.principal == m.principal));
        let own_state = match mine {
            Some(p) => html! {
                <span class={classes!("pill", crate::format::state_class(p))} aria-label={crate::i18n::t1("my_state", &crate::i18n::state_name(&p.state.name))}>
                    <bdi>{crate::i18n::state_name(&p.state.name)}</bdi>
                    if p.since > 0 { {" · "}{crate::format::elapsed(p.since, self.now)} }
                </span>
            },
            None => html! {},
        };
        let sign = match &w.connection {
            Connection::SignedOut | Connection::Failed { .. } => {
                html! { <button class="link" onclick={link.callback(|_| Msg::SignIn)}>{t("sign_in")}</button> }
            }
            Connection::Online => {
                html! { <button class="link quiet" onclick={link.callback(|_| Msg::SignOut)}>{t("sign_out")}</button> }
            }
            _ => html! {},
        };
        // The CCP logged in as another Connect user than the one signed in: said plainly (the
        // worker publishes nothing until it is resolved, and the relay would refuse it).
        let mismatch = match (me, w.ccp.as_ref()) {
            (Some(me), Some(ccp)) if !me.is_agent(&ccp.username) => html! {
                <p class="result error mismatch" role="alert">
                    {crate::i18n::tn("identity_mismatch", &[&me.principal, &ccp.username])}
                </p>
            },
            _ => html! {},
        };
        html! {
            <>
            <header class="header">
                <div class="who">
                    if let Some(me) = me {
                        // Cut with an ellipsis when long; the whole name in the tooltip.
                        <span class="name" dir="auto" title={me.display_name.clone()}>{me.display_name.clone()}</span>
                    }
                    {own_state}
                </div>
                <div class="conn">
                    <span class={classes!("conn-dot", class)} role="status" aria-live="polite" title={text.clone()}>{text}</span>
                    {sign}
                </div>
            </header>
            {mismatch}
            {problem}
            </>
        }
    }
}
