//! The panel: one component that holds what the worker sent and the three views.

use std::collections::BTreeMap;

use gloo_timers::callback::{Interval, Timeout};
use protocol::panel::{Connection, PANEL_PORT, PanelSnapshot, PanelToWorker, WorkerToPanel};
use protocol::{CallRecord, ChatMessage, Millis};
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::chrome::{self, Port};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Status,
    Chat,
    CallerId,
}

pub enum Msg {
    FromWorker(JsValue),
    Disconnected,
    Reconnect,
    Tick,
    Show(Tab),
    /// Select a tab from the keyboard and move focus to it (WAI-ARIA tabs, roving tabindex).
    FocusTab(Tab),
    Search(String),
    Open(String),
    Close,
    Draft(String),
    Send,
    /// A failed message back into the composer (and forgotten by the worker).
    Edit(String),
    /// A failed message forgotten.
    Discard(String),
    Older,
    Transfer(String),
    PickQueue(String),
    Phone(String),
    Dial,
    /// Dial this number again through this queue.
    Redial(String, Option<String>),
    OlderCalls,
    /// The caller ID this agent chose last time, read from storage.
    Remembered(Option<String>),
    SignIn,
    SignOut,
}

/// A message typed here and not yet seen in the worker's outbox or as stored.
#[derive(Debug, Clone)]
pub struct Unconfirmed {
    pub to: String,
    pub text: String,
    pub client_id: String,
}

pub struct App {
    port: Option<Port>,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
    _tick: Interval,
    _retry: Option<Timeout>,
    pub state: PanelSnapshot,
    pub now: Millis,
    pub tab: Tab,
    pub search: String,
    pub open: Option<String>,
    /// Messages of the open conversation by sequence number.
    pub messages: BTreeMap<u64, ChatMessage>,
    pub more: bool,
    pub draft: String,
    pub unconfirmed: Vec<Unconfirmed>,
    pub queue: Option<String>,
    pub phone: String,
    pub result: Option<(bool, String)>,
    /// A chat request the relay refused, by peer: shown in that conversation until its history
    /// next arrives.
    pub refused: Option<(String, protocol::ErrorCode)>,
    /// Call history pages after the newest one, oldest last.
    pub older_calls: Vec<CallRecord>,
    pub more_calls: Option<i64>,
    /// Whether the agent chose a caller ID in this panel (it then wins over the remembered one).
    picked: bool,
    next_id: u64,
    sent: u64,
    /// The tab to focus after the next render (set by the tab list's keys).
    focus_tab: Option<Tab>,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Status, Tab::Chat, Tab::CallerId];

    /// The suffix of its element ids and `tab_<key>` message.
    pub fn key(self) -> &'static str {
        match self {
            Tab::Status => "status",
            Tab::Chat => "chat",
            Tab::CallerId => "caller",
        }
    }
}

fn now() -> Millis {
    js_sys::Date::now() as Millis
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

    /// The worker took this panel's port (its first message is the snapshot): whatever it may not
    /// have stored before it stopped is handed over again (it and the relay both drop a client id
    /// they already have), and the open conversation is read again.
    fn on_attached(&mut self) {
        for u in self.unconfirmed.clone() {
            self.post(&PanelToWorker::SendChat { to: u.to, text: u.text, client_id: u.client_id });
        }
        if let Some(peer) = self.open.clone() {
            self.post(&PanelToWorker::History { peer, before: None });
        }
    }

    fn schedule_reconnect(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self._retry = Some(Timeout::new(200, move || link.send_message(Msg::Reconnect)));
    }

    pub fn post(&self, message: &PanelToWorker) {
        if let Some(port) = &self.port
            && let Ok(text) = serde_json::to_string(message)
            && let Ok(value) = js_sys::JSON::parse(&text)
        {
            let _ = port.post_message(&value);
        }
    }

    pub fn me(&self) -> &str {
        self.state.me.as_ref().map(|m| m.principal.as_str()).unwrap_or_default()
    }

    /// The chat text limit the relay announced, in characters.
    pub fn max_text_chars(&self) -> Option<u32> {
        self.state.me.as_ref().and_then(|m| m.limits.text_limit())
    }

    pub fn display_name(&self, principal: &str) -> String {
        self.state
            .roster
            .iter()
            .find(|p| p.principal == principal)
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| principal.to_owned())
    }

    pub fn unread(&self) -> u64 {
        self.state.conversations.iter().map(|c| c.unread).sum()
    }

    fn mark_read(&self) {
        let Some(peer) = &self.open else { return };
        if let Some(c) = self.state.conversations.iter().find(|c| &c.peer == peer)
            && c.unread > 0
            && self.tab == Tab::Chat
        {
            self.post(&PanelToWorker::MarkRead { peer: peer.clone(), seq: c.last_seq });
        }
    }

    fn on_worker(&mut self, ctx: &Context<Self>, mut message: WorkerToPanel) {
        clean_names(&mut message);
        match message {
            WorkerToPanel::Snapshot { snapshot } => {
                self.more_calls = snapshot.calls.as_ref().and_then(|c| c.next_before);
                let caller_ids = snapshot.caller_ids.clone();
                self.state = *snapshot;
                if let Some(caller_ids) = caller_ids {
                    self.on_worker(ctx, WorkerToPanel::CallerIds { caller_ids });
                }
                self.confirm();
                self.on_attached();
            }
            WorkerToPanel::Connection { connection } => {
                // The retry countdown starts from the moment it was announced, not the last tick.
                self.now = now();
                self.state.connection = connection;
            }
            WorkerToPanel::Me { me } => self.state.me = me,
            WorkerToPanel::Presence { presence } => {
                match self.state.roster.iter_mut().find(|p| p.principal == presence.principal) {
                    Some(p) => *p = presence,
                    None => self.state.roster.push(presence),
                }
            }
            WorkerToPanel::Roster { agents } => self.state.roster = agents,
            WorkerToPanel::Ccp { agent } => {
                // "Calling…" is over once the CCP has no contact; failures stay until the next try.
                if matches!(self.result, Some((true, _))) && agent.as_ref().is_some_and(|a| a.contact.is_none()) {
                    self.result = None;
                }
                if self.queue.is_none() {
                    self.queue = agent.as_ref().and_then(|a| a.default_queue.clone());
                }
                self.state.ccp = agent;
            }
            WorkerToPanel::Chat { message } => {
                self.unconfirmed.retain(|u| u.client_id != message.client_id);
                if self.open.as_deref() == Some(message.peer_of(self.me())) {
                    self.messages.insert(message.seq, message);
                }
            }
            WorkerToPanel::Outbox { pending } => {
                self.state.outbox = pending;
                self.confirm();
            }
            WorkerToPanel::Failed { failed } => {
                self.state.failed = failed;
                self.confirm();
            }
            WorkerToPanel::Conversations { conversations } => {
                self.state.conversations = conversations;
                self.mark_read();
            }
            WorkerToPanel::History { peer, messages, more } => {
                if self.refused.as_ref().is_some_and(|(p, _)| *p == peer) {
                    self.refused = None;
                }
                if self.open.as_deref() == Some(peer.as_str()) {
                    self.more = more;
                    for m in messages {
                        self.messages.insert(m.seq, m);
                    }
                    self.mark_read();
                }
            }
            WorkerToPanel::ChatRefused { peer, code, message } => {
                web_sys::console::warn_1(&JsValue::from_str(&format!("CCP Sidecar: chat request refused: {message}")));
                self.refused = Some((peer, code));
            }
            WorkerToPanel::Result { ok, error, code, .. } => {
                let text = if ok { crate::i18n::t("dial_ok") } else { crate::i18n::failure(code.as_deref(), error) };
                self.result = Some((ok, text));
            }
            WorkerToPanel::CallerIds { caller_ids } => {
                if !self.picked {
                    self.queue = caller_ids
                        .default_queue_arn
                        .clone()
                        .or_else(|| caller_ids.caller_ids.first().map(|c| c.queue_arn.clone()));
                }
                self.state.caller_ids = Some(caller_ids);
                let (link, me) = (ctx.link().clone(), self.me().to_owned());
                wasm_bindgen_futures::spawn_local(async move {
                    link.send_message(Msg::Remembered(crate::chrome::remembered_caller_id(&me).await));
                });
            }
            WorkerToPanel::Calls { before: None, page } => {
                self.older_calls.clear();
                self.more_calls = page.next_before;
                self.state.calls = Some(page);
            }
            WorkerToPanel::Calls { before: Some(_), page } => {
                self.more_calls = page.next_before;
                self.older_calls.extend(page.calls);
            }
        }
    }

    /// Forgets typed messages the worker now holds in its outbox, or has given up on.
    fn confirm(&mut self) {
        let (outbox, failed) = (&self.state.outbox, &self.state.failed);
        self.unconfirmed.retain(|u| {
            !outbox.iter().any(|e| e.client_id == u.client_id)
                && !failed.iter().any(|f| f.entry.client_id == u.client_id)
        });
    }

    fn client_id(&mut self) -> String {
        self.sent += 1;
        format!("{:x}-{:x}-{}", now(), (js_sys::Math::random() * 4_294_967_295.0) as u64, self.sent)
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let link = ctx.link().clone();
        let mut app = Self {
            port: None,
            _listeners: Vec::new(),
            _tick: Interval::new(1000, move || link.send_message(Msg::Tick)),
            _retry: None,
            state: PanelSnapshot::default(),
            now: now(),
            tab: Tab::Status,
            search: String::new(),
            open: None,
            messages: BTreeMap::new(),
            more: false,
            draft: String::new(),
            unconfirmed: Vec::new(),
            queue: None,
            phone: String::new(),
            result: None,
            refused: None,
            older_calls: Vec::new(),
            more_calls: None,
            picked: false,
            next_id: 1,
            sent: 0,
            focus_tab: None,
        };
        app.connect(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::FromWorker(value) => match js_sys::JSON::stringify(&value).ok().and_then(|t| decode(&String::from(t)))
            {
                Some(message) => self.on_worker(ctx, message),
                None => return false,
            },
            Msg::Disconnected => {
                self.port = None;
                self.schedule_reconnect(ctx);
                return false;
            }
            Msg::Reconnect => self.connect(ctx),
            Msg::Tick => self.now = now(),
            Msg::Show(tab) => {
                self.tab = tab;
                self.mark_read();
            }
            Msg::FocusTab(tab) => {
                self.tab = tab;
                self.focus_tab = Some(tab);
                self.mark_read();
            }
            Msg::Search(query) => self.search = query,
            Msg::Open(peer) => {
                self.tab = Tab::Chat;
                self.messages.clear();
                self.more = false;
                self.open = Some(peer.clone());
                self.post(&PanelToWorker::History { peer, before: None });
            }
            Msg::Close => {
                self.open = None;
                self.messages.clear();
            }
            Msg::Draft(text) => self.draft = text,
            Msg::Send => {
                let text = self.draft.trim_end().to_owned();
                let Some(to) = self.open.clone() else { return false };
                // Nothing over the relay's limit enters the outbox: the composer says so instead.
                if text.trim().is_empty() || crate::format::length(&text, self.max_text_chars()).over {
                    return false;
                }
                let client_id = self.client_id();
                self.unconfirmed.push(Unconfirmed { to: to.clone(), text: text.clone(), client_id: client_id.clone() });
                self.post(&PanelToWorker::SendChat { to, text, client_id });
                self.draft.clear();
            }
            Msg::Edit(client_id) => {
                let Some(failed) = self.state.failed.iter().find(|f| f.entry.client_id == client_id) else {
                    return false;
                };
                // The draft typed meanwhile is kept, after the returned text.
                self.draft = match self.draft.trim() {
                    "" => failed.entry.text.clone(),
                    draft => format!("{}\n{draft}", failed.entry.text),
                };
                self.state.failed.retain(|f| f.entry.client_id != client_id);
                self.post(&PanelToWorker::Dismiss { client_id });
            }
            Msg::Discard(client_id) => {
                self.state.failed.retain(|f| f.entry.client_id != client_id);
                self.post(&PanelToWorker::Dismiss { client_id });
            }
            Msg::Older => {
                let Some(peer) = self.open.clone() else { return false };
                let before = self.messages.keys().next().copied();
                self.post(&PanelToWorker::History { peer, before });
            }
            Msg::Transfer(username) => {
                self.next_id += 1;
                self.result = None;
                self.post(&PanelToWorker::Transfer { id: self.next_id, username });
            }
            Msg::PickQueue(arn) => {
                crate::chrome::remember_caller_id(self.me(), &arn);
                self.picked = true;
                self.queue = Some(arn);
            }
            Msg::Remembered(arn) => {
                let offered = |q: &String| {
                    self.state.caller_ids.as_ref().is_some_and(|c| c.caller_ids.iter().any(|c| &c.queue_arn == q))
                };
                match arn.filter(offered) {
                    Some(arn) if !self.picked => self.queue = Some(arn),
                    _ => return false,
                }
            }
            Msg::Redial(number, queue) => {
                if let Some(queue) = queue {
                    self.queue = Some(queue);
                }
                self.phone = number;
                return Component::update(self, ctx, Msg::Dial);
            }
            Msg::OlderCalls => {
                if let Some(before) = self.more_calls {
                    self.post(&PanelToWorker::Calls { before });
                }
            }
            Msg::Phone(phone) => self.phone = phone,
            Msg::Dial => {
                let phone: String = self.phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
                if !crate::format::plausible_phone(&phone) {
                    self.result = Some((false, crate::i18n::t("dial_invalid")));
                    return true;
                }
                self.next_id += 1;
                self.result = Some((true, crate::i18n::t("dial_pending")));
                self.post(&PanelToWorker::Dial { id: self.next_id, phone, queue_arn: self.queue.clone() });
            }
            Msg::SignIn => self.post(&PanelToWorker::SignIn),
            Msg::SignOut => self.post(&PanelToWorker::SignOut),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let tab = |t: Tab, key: &str, extra: Html| {
            let selected = self.tab == t;
            html! {
                <button role="tab" id={format!("tab-{key}")} aria-selected={selected.to_string()}
                    aria-controls={format!("view-{key}")} tabindex={if selected { "0" } else { "-1" }}
                    class={classes!("tab", selected.then_some("selected"))}
                    onclick={link.callback(move |_| Msg::Show(t))}>
                    {crate::i18n::t(&format!("tab_{key}"))}{extra}
                </button>
            }
        };
        let unread = self.unread();
        let unread_badge = if unread > 0 {
            html! { <span class="badge" aria-label={crate::i18n::t1("unread_count", &unread.to_string())}>{unread}</span> }
        } else {
            html! {}
        };
        let body = match self.tab {
            Tab::Status => self.status_view(ctx),
            Tab::Chat => self.chat_view(ctx),
            Tab::CallerId => self.caller_view(ctx),
        };
        let key = self.tab.key();
        let onkeydown = link.batch_callback(|e: KeyboardEvent| {
            let target = e.target_dyn_into::<web_sys::Element>()?;
            if target.get_attribute("role").as_deref() != Some("tab") {
                return None;
            }
            let current = Tab::ALL.iter().position(|t| format!("tab-{}", t.key()) == target.id()).unwrap_or(0);
            let next = crate::format::tab_key(&e.key(), current, Tab::ALL.len())?;
            e.prevent_default();
            Some(Msg::FocusTab(Tab::ALL[next]))
        });
        html! {
            <div class="panel" lang={crate::i18n::language()}>
                {self.header(ctx)}
                <div role="tablist" class="tabs" aria-label={crate::i18n::t("app_name")} {onkeydown}>
                    {tab(Tab::Status, "status", html! {})}
                    {tab(Tab::Chat, "chat", unread_badge)}
                    {tab(Tab::CallerId, "caller", html! {})}
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
            }
        }
    }
}

impl App {
    fn header(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let t = crate::i18n::t;
        let (class, text) = match &self.state.connection {
            Connection::Online => ("online", t("conn_online")),
            Connection::Connecting => ("pending", t("conn_connecting")),
            Connection::SigningIn => ("pending", t("conn_signing_in")),
            Connection::SignedOut => ("offline", t("conn_signed_out")),
            Connection::Offline { .. } => ("offline", t("conn_offline")),
            Connection::Failed { .. } => ("error", t("conn_failed")),
        };
        // Why the link is down, in words, under the header: with the countdown to the next try,
        // or (when it will not retry by itself) the refusal's own words as a tooltip.
        let problem = match &self.state.connection {
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
        let me = self.state.me.as_ref();
        let mine = me.and_then(|m| self.state.roster.iter().find(|p| p.principal == m.principal));
        let own_state = match mine {
            Some(p) => html! {
                <span class={classes!("pill", crate::format::state_class(p))} aria-label={crate::i18n::t1("my_state", &crate::i18n::state_name(&p.state.name))}>
                    <bdi>{crate::i18n::state_name(&p.state.name)}</bdi>
                    if p.since > 0 { {" · "}{crate::format::elapsed(p.since, self.now)} }
                </span>
            },
            None => html! {},
        };
        let sign = match &self.state.connection {
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
        let mismatch = match (me, self.state.ccp.as_ref()) {
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

/// A message from the worker. The caller IDs and call pages in it are the relay's JSON, passed on
/// unread by the worker (`protocol::Relayed`): one this panel cannot read costs only itself,
/// never the rest of a snapshot (the connection, the roster, the chat).
fn decode(text: &str) -> Option<WorkerToPanel> {
    serde_json::from_str::<WorkerToPanel>(text).ok().or_else(|| {
        let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
        let snapshot = value.get_mut("snapshot")?.as_object_mut()?;
        snapshot.remove("caller_ids");
        snapshot.remove("calls");
        serde_json::from_value(value).ok()
    })
}

/// Cleans bidi controls out of every name in a message from the worker, once, where it enters the
/// panel: display and state names, queue and caller-ID names (see [`crate::format::clean_name`]).
fn clean_names(message: &mut WorkerToPanel) {
    use crate::format::{clean_name, clean_presence};
    fn clean(s: &mut String) {
        if let std::borrow::Cow::Owned(c) = clean_name(s) {
            *s = c;
        }
    }
    let clean_ids = |ids: &mut protocol::CallerIds| {
        for c in &mut ids.caller_ids {
            clean(&mut c.queue_name);
            if let Some(name) = &mut c.name {
                clean(name);
            }
        }
    };
    let clean_ccp = |agent: &mut protocol::hook::CcpAgent| {
        clean(&mut agent.name);
        for q in &mut agent.queues {
            clean(&mut q.name);
        }
    };
    match message {
        WorkerToPanel::Snapshot { snapshot } => {
            snapshot.roster.iter_mut().for_each(clean_presence);
            if let Some(me) = &mut snapshot.me {
                clean(&mut me.display_name);
            }
            if let Some(ids) = &mut snapshot.caller_ids {
                clean_ids(ids);
            }
            if let Some(agent) = &mut snapshot.ccp {
                clean_ccp(agent);
            }
        }
        WorkerToPanel::Me { me: Some(me) } => clean(&mut me.display_name),
        WorkerToPanel::Presence { presence } => clean_presence(presence),
        WorkerToPanel::Roster { agents } => agents.iter_mut().for_each(clean_presence),
        WorkerToPanel::CallerIds { caller_ids } => clean_ids(caller_ids),
        WorkerToPanel::Ccp { agent: Some(agent) } => clean_ccp(agent),
        _ => {}
    }
}
